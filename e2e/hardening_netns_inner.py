"""Cross-site GETs against legacy mode, run inside a private network namespace ONLY.

test_hardening_root.py starts this file as `unshare -n python3 e2e/hardening_netns_inner.py`.
It refuses to run anywhere else: on a cloud machine the metadata address
(runas_meta.LEGACY_ADDRESS) is the real instance metadata service.

Chromium sends no Sec-Fetch-* headers to http://169.254.169.254 (not a
potentially trustworthy origin), and a hostile page can ask for no Referer.
A page on another loopback address (127.0.0.2) tries what such a page can:
a blind credential fetch, a navigation to /console and to /oidc/login, a form
POST to /console, and links that put its own words in the page's error area.
Then the page's own console button, which must still work.  One JSON report
on stdout; the outer test asserts on it."""

import json
import os
import subprocess
import sys
import tempfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, HERE)

import runas_meta as rm  # noqa: E402
import test_runas_meta as t  # noqa: E402
from e2e.fake_console import FakeConsole  # noqa: E402
from e2e._netns import only_loopback_here  # noqa: E402
from e2e.test_page_chromium import CHROMIUM, FLAGS, sync_api  # noqa: E402

ADDRESS = rm.LEGACY_ADDRESS  # only ever used inside this namespace
TARGET = "http://" + ADDRESS
HOSTILE = ("127.0.0.2", 8000)
WORDS = "Re-enter your password at https://evil.example"

PAGES = {
    "/fetch": """<script>
fetch("%s/latest/meta-data/iam/security-credentials/nomfa", {mode: "no-cors", cache: "no-store"})
  .then(() => { document.title = "sent"; }, () => { document.title = "blocked"; });
</script>""" % TARGET,
    "/console-nav": '<script>location.href = "%s/console";</script>' % TARGET,
    "/oidc-nav": '<script>location.href = "%s/oidc/login?profile=nomfa";</script>' % TARGET,
    "/console-form": """<form id="f" method="POST" action="%s/console"></form>
<script>document.getElementById("f").submit();</script>""" % TARGET,
    "/words-fragment": '<script>location.href = "%s/#signin-error=%s";</script>' % (TARGET, WORDS),
    "/words-callback": ('<script>location.href = "%s/oidc/callback?state=x&error=access_denied&error_description=%s";'
                        '</script>' % (TARGET, WORDS)),
}


class HostileSite:
    def __init__(self):
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                body = ("<!doctype html><html><body>%s</body></html>" % PAGES.get(self.path, "")).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Referrer-Policy", "no-referrer")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass
        self.server = ThreadingHTTPServer(HOSTILE, Handler)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def url(self, path):
        return "http://%s:%d%s" % (HOSTILE + (path,))


def start_service(federation_url):
    sts = t.FakeSTS()
    home = tempfile.mkdtemp(prefix="runas-meta-hardening-")
    environ = {"HOME": home, "AWS_CONFIG_FILE": os.path.join(home, "config"),
               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(home, "credentials"),
               "AWS_ENDPOINT_URL_STS": sts.url, "RUNAS_META_FEDERATION_URL": federation_url}
    t.write(environ["AWS_CONFIG_FILE"], t.STANDARD_CONFIG)
    t.write(environ["AWS_SHARED_CREDENTIALS_FILE"], t.STANDARD_CREDENTIALS)
    config = rm.Config(environ=environ).load()
    service = rm.Service(rm.Engine(config, rm.STS(environ, timeout=5), environ=environ), config, mode="ec2")
    service.activate("nomfa")
    seen = []
    handle = service.handle

    def recording(request):
        response = handle(request)
        seen.append({"method": request.method, "path": request.path, "status": response.status,
                     "headers": sorted(request.headers), "location": dict(response.headers).get("Location")})
        return response
    service.handle = recording
    server = rm.Server((ADDRESS, 80), service, ttl=1)
    threading.Thread(target=server.serve_forever, args=(0.1,), daemon=True).start()
    return service, seen, sts


def answers(seen, method, path):
    return [entry for entry in seen if (entry["method"], entry["path"]) == (method, path)]


def main():
    if not only_loopback_here() or os.geteuid() != 0:
        print(json.dumps({"refused": "not root inside a fresh network namespace (unshare -n)"}))
        return 3
    subprocess.run(["ip", "link", "set", "lo", "up"], check=True)
    subprocess.run(["ip", "addr", "add", ADDRESS + "/32", "dev", "lo"], check=True)
    console = FakeConsole(lambda session: True)
    service, seen, sts = start_service(console.url)
    service.engine.credentials("nomfa")  # as at start-up
    site = HostileSite()
    report = {}
    playwright = sync_api.sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
    try:
        page = browser.new_page()
        sts_calls = len(sts.calls)
        page.goto(site.url("/fetch"))
        page.wait_for_function("document.title !== ''")
        report["blind_fetch"] = answers(seen, "GET", "/latest/meta-data/iam/security-credentials/nomfa")
        report["blind_fetch_sts_calls"] = len(sts.calls) - sts_calls
        for name in ("console-nav", "oidc-nav"):  # a link only opens the page
            page.goto(site.url("/" + name))
            page.wait_for_url(TARGET + "/")
            sync_api.expect(page.locator("#active")).to_have_text("nomfa")  # not eval: the page's CSP forbids it
            report[name] = page.url
        page.goto(site.url("/console-form"))  # another site's form: refused
        page.wait_for_url(TARGET + "/console")
        report["console-form"] = json.loads(page.text_content("body"))
        report["console_get"] = answers(seen, "GET", "/console")
        report["oidc_get"] = answers(seen, "GET", "/oidc/login")
        report["console_post"] = answers(seen, "POST", "/console")
        report["federation_requests_before_click"] = len(console.requests)
        for name in ("words-fragment", "words-callback"):
            page.goto(site.url("/" + name))
            page.wait_for_url(TARGET + "/")
            sync_api.expect(page.locator("#active")).to_have_text("nomfa")  # not eval: the page's CSP forbids it
            report[name] = page.text_content("#error")
        page.goto(TARGET + "/")  # the user's own click on the page's button
        sync_api.expect(page.locator("#identity")).to_contain_text("assumed-role")
        with page.context.expect_page() as opened:
            page.click("#console")
        opened.value.wait_for_load_state()
        report["own_button"] = {"url": opened.value.url, "title": opened.value.text_content("h1"),
                                "federation_requests": len(console.requests)}
    finally:
        browser.close()
        playwright.stop()
        console.close()
        sts.close()
    print(json.dumps(report))
    return 0


if __name__ == "__main__":
    sys.exit(main())
