"""The page in real headless Chromium (Debian's /usr/bin/chromium, driven by
Playwright's Python package; nothing downloads a browser), against the
running service and our fake STS, which demands MFA codes.

Screenshots of each state go to ci-artifacts/screenshots/."""

import json
import os
import re
import subprocess
import sys
import threading
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from e2e._peers import FULL, empty_file, need
from e2e.fake_console import FakeConsole
from e2e.test_clients import botocore_credentials
from e2e.test_console import served_by

import runas_meta as rm
import test_runas_meta as t

sync_api = need("playwright.sync_api")
CHROMIUM = os.environ.get("RUNAS_META_CHROMIUM", "/usr/bin/chromium")
if not os.path.exists(CHROMIUM):
    if FULL:
        raise AssertionError("Chromium is not installed at %s (apt-get install chromium)" % CHROMIUM)
    raise unittest.SkipTest("Chromium is not installed at %s" % CHROMIUM)

SHOTS = os.path.join(t.HERE, "ci-artifacts", "screenshots")
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run", "--disable-quic"]
DEV_IDENTITY = "arn:aws:sts::%s:assumed-role/dev/alice" % t.ACCOUNT


class AttackerSite:
    """A page on another loopback port that tries to switch the role and to
    read credentials from the service."""

    def __init__(self, target):
        html = ATTACK_PAGE.replace("TARGET", target).encode()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(html)))
                self.end_headers()
                self.wfile.write(html)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d/" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


ATTACK_PAGE = """<!doctype html><html><body>
<iframe name="sink" title="sink"></iframe>
<form id="f" method="POST" action="TARGET/profile" enctype="text/plain" target="sink"><input name="base" value=""></form>
<script>
(async () => {
  const out = {};
  try { const r = await fetch("TARGET/credentials"); out.read = r.status; }
  catch (e) { out.read = "blocked"; }
  try { await fetch("TARGET/profile", {method: "POST", body: "base", mode: "no-cors"}); out.post = "sent"; }
  catch (e) { out.post = "blocked"; }
  document.title = JSON.stringify(out);
  document.getElementById("f").submit();
})();
</script></body></html>"""


def start_browser():
    """Playwright driving Debian's Chromium, headless; (playwright, browser)."""
    os.makedirs(SHOTS, exist_ok=True)
    playwright = sync_api.sync_playwright().start()
    return playwright, playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)


class BrowserClass:
    """A mixin: Playwright and Chromium, started once for the test class."""

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.playwright, cls.browser = start_browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        super().tearDownClass()

    def new_page(self, height):
        """A fresh browser context and page for this test: `self.page`."""
        self.context = self.browser.new_context(viewport={"width": 900, "height": height})
        self.addCleanup(self.context.close)
        self.page = self.context.new_page()

    def expect(self, selector):
        return sync_api.expect(self.page.locator(selector))

    def shot(self, name):
        self.page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=True)


class PageInChromium(BrowserClass, t.FakeSTSCase):

    def setUp(self):
        super().setUp()
        self.sts_server.clock = lambda: rm.utcnow()  # the browser lives in real time
        self.files(t.STANDARD_CONFIG, t.STANDARD_CREDENTIALS)
        config = self.config()
        engine = rm.Engine(config, rm.STS(self.environ, timeout=5), environ=self.environ)
        self.service = rm.Service(engine, config)
        self.service.activate("nomfa")
        engine.credentials("nomfa")  # as the command line does at start-up
        self.answers = []
        self.answered = threading.Condition()
        handle = self.service.handle

        def recording(request):
            response = handle(request)
            with self.answered:
                self.answers.append((request, response))
                self.answered.notify_all()
            return response
        self.service.handle = recording
        self.server = t.serve(self, self.service)
        self.url = self.service.base_url
        self.new_page(700)
        self.console = []
        self.page.on("console", lambda message: self.console.append(message.text))


    def text(self, selector):
        return self.page.text_content(selector).strip()

    def wait_text(self, selector, pattern):
        # Playwright's expect() runs in its own world: the page's CSP (no eval) stays on.
        sync_api.expect(self.page.locator(selector)).to_have_text(re.compile(pattern), timeout=10000)

    def open_page(self):
        self.page.goto(self.url + "/")
        sync_api.expect(self.page.locator("#role option")).to_have_count(len(self.service.config.roles()) + 1)

    def sts_count(self, action):
        return self.sts_server.actions().count(action)

    def enter_code(self, code):
        self.page.fill("#mfa-code", code)
        self.page.keyboard.press("Enter")

    def test_switch_mfa_identity_countdown_refresh(self):
        self.open_page()
        options = self.page.eval_on_selector_all("#role option", "os => os.map(o => o.value)")
        self.assertEqual(options, [""] + self.service.config.roles())
        sync_api.expect(self.page.locator("#role")).to_have_value("nomfa")
        self.wait_text("#identity", "assumed-role/dev/fixed-name")
        self.assertEqual(self.text("#source"), "base")
        self.assertEqual(self.text("#region"), "eu-west-1")
        first = self.text("#countdown")
        self.assertRegex(first, r"^(59|60|1:00):\d\d$")
        sync_api.expect(self.page.locator("#countdown")).not_to_have_text(first, timeout=5000)  # live
        self.shot("01-status")

        self.page.select_option("#role", "dev")  # switches at once: no submit button
        self.page.wait_for_selector("#mfa-dialog[open]")
        self.assertEqual(self.page.evaluate("document.activeElement.id"), "mfa-code")
        self.wait_text("#mfa-for", "^Profile dev, MFA device %s\\.$" % re.escape(t.SERIAL))
        self.assertEqual(self.service.active, "nomfa")  # served until dev has credentials
        self.wait_text("#switching", "^Still serving nomfa until dev has credentials\\.$")
        self.shot("02-mfa-dialog")

        self.enter_code("000000")
        self.wait_text("#mfa-message", "not accepted")
        self.assertTrue(self.page.is_visible("#mfa-dialog"))
        self.shot("03-wrong-code")

        self.enter_code(t.GOOD_CODE)
        self.page.wait_for_selector("#mfa-dialog", state="hidden")
        self.wait_text("#identity", re.escape(DEV_IDENTITY))
        self.assertEqual(self.text("#active"), "dev")
        self.assertEqual(self.text("#error"), "")
        self.shot("04-dev-active")

        method, creds = botocore_credentials({
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": self.url + "/credentials",
            "AWS_CONFIG_FILE": empty_file(self), "AWS_SHARED_CREDENTIALS_FILE": empty_file(self)})
        self.assertEqual(method, "container-role")
        self.assertEqual(self.sts_server.identities[creds.access_key], DEV_IDENTITY)

        roles_before, sessions_before = self.sts_count("AssumeRole"), self.sts_count("GetSessionToken")
        served_before = creds.access_key
        with self.page.expect_response(lambda r: r.url.endswith("/refresh")) as refreshed:
            self.page.click("#refresh")  # the MFA session token is still valid: one AssumeRole, no dialog
        self.assertEqual(refreshed.value.status, 200)
        session_ends = rm.format_time(self.service.engine.plan("dev")[0].creds.expiration)
        shown = self.page.evaluate("iso => new Date(iso).toLocaleString()", session_ends)  # the user's local time
        self.wait_text("#next-prompt", r"^MFA code at %s \(in 1[12]:\d\d:\d\d\)$" % re.escape(shown))
        expires = self.page.get_attribute("#expires", "title")  # the ISO form as its tooltip
        self.assertRegex(expires, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(self.text("#expires"), self.page.evaluate("iso => new Date(iso).toLocaleString()", expires))
        self.wait_text("#identity", "assumed-role/dev/alice")
        self.assertFalse(self.page.is_visible("#mfa-dialog"))
        self.assertEqual(self.sts_count("AssumeRole"), roles_before + 1)
        self.assertEqual(self.sts_count("GetSessionToken"), sessions_before)
        self.assertNotEqual(self.service.engine.cached("dev").access_key_id, served_before)
        self.assertEqual(self.service.active, "dev")
        self.assertEqual(self.page.eval_on_selector("#role", "s => s.value"), "dev")
        self.wait_text("#active", "^dev$")
        self.shot("05-refreshed")
        self.assertFalse([line for line in self.console if "Content Security Policy" in line], self.console)

    def test_mfa_needed_soon_is_offered(self):
        self.sts_server.lifetime_cap = 20 * 60  # every layer ends within 30 minutes
        self.service.activate("dev")
        request = urllib.request.Request(self.url + "/mfa", data=("mfa=" + t.GOOD_CODE).encode())
        self.assertEqual(json.loads(urllib.request.urlopen(request, timeout=10).read())["profile"], "dev")
        status = json.loads(urllib.request.urlopen(self.url + "/status", timeout=10).read())
        self.assertTrue(status["mfa_needed"], status)
        self.open_page()
        self.page.wait_for_selector("#mfa-soon", state="visible")
        self.assertFalse(self.page.is_visible("#mfa-dialog"))
        self.shot("06-mfa-soon")
        self.page.click("#mfa-soon-button")
        self.page.wait_for_selector("#mfa-dialog[open]")
        sessions = self.sts_count("GetSessionToken")
        self.enter_code(t.GOOD_CODE)
        self.page.wait_for_selector("#mfa-dialog", state="hidden")
        self.assertEqual(self.sts_count("GetSessionToken"), sessions + 1)  # the code renewed the session

    def test_narrow_and_keyboard_only(self):
        self.page.set_viewport_size({"width": 400, "height": 700})
        self.open_page()
        self.wait_text("#identity", "assumed-role")
        self.assertLessEqual(self.page.evaluate("document.documentElement.scrollWidth"), 400)
        labels = self.page.eval_on_selector_all(
            "select, input", "els => els.map(e => !!document.querySelector('label[for=\"' + e.id + '\"]'))")
        self.assertTrue(labels and all(labels))
        self.page.keyboard.press("Tab")
        self.assertEqual(self.page.evaluate("document.activeElement.id"), "find")
        self.page.keyboard.press("Tab")
        self.assertEqual(self.page.evaluate("document.activeElement.id"), "role")
        self.page.keyboard.press("Tab")
        self.assertEqual(self.page.evaluate("document.activeElement.id"), "refresh")
        self.page.keyboard.press("Shift+Tab")
        self.page.keyboard.press("Shift+Tab")
        self.page.keyboard.type("lo")  # nomfa -> long, with the keyboard alone: search, then Enter
        self.wait_text("#find-count", "^1 match$")
        self.assertEqual(self.service.active, "nomfa")
        self.page.keyboard.press("Enter")
        self.page.wait_for_selector("#mfa-dialog[open]")  # long needs a code
        self.wait_text("#switching", "until long has credentials")
        self.page.keyboard.type(t.GOOD_CODE)
        self.page.keyboard.press("Enter")
        self.page.wait_for_selector("#mfa-dialog", state="hidden")
        self.shot("07-narrow-keyboard")
        self.assertEqual(self.service.active, "long")

    def test_grants_created_listed_and_revoked_on_the_page(self):
        self.service.grants = rm.Grants(os.path.join(self.home, ".aws", "runas-meta", "grants.json"))
        self.open_page()
        self.wait_text("#identity", "assumed-role")
        self.expect("#grants").to_be_hidden()  # without --containers and with no grant: nothing to show
        self.service.containers = True  # as ecs --containers
        self.page.reload()
        self.expect("#grants").to_be_visible()
        self.wait_text("#grants-note", "169.254.170.2")
        self.wait_text("#grants-body", "No grants yet")
        self.page.fill("#grant-label", "web")
        self.page.select_option("#grant-profile", "nomfa")
        self.page.fill("#grant-ttl", "12h")
        self.page.click("#grant-form button[type=submit]")
        self.wait_text("#grant-uri", r"^AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=/v2/credentials/[\w-]{43}$")
        grant_id = self.text("#grant-uri").rsplit("/", 1)[1]
        t.GRANT_IDS.append(grant_id)
        self.wait_text("#grants-body tr:nth-child(1) td:nth-child(1)", "^web$")
        self.wait_text("#grants-body tr:nth-child(1) td:nth-child(2)", "^nomfa$")
        self.shot("50-grants")
        served = "http://127.0.0.1:%d/v2/credentials/%s" % (self.service.port, grant_id)
        with urllib.request.urlopen(served, timeout=10) as response:  # --network host: a peer of this namespace
            self.assertEqual(json.loads(response.read())["AccessKeyId"],
                             self.service.engine.cached("nomfa").access_key_id)
        self.page.reload()
        self.wait_text("#grants-body tr:nth-child(1) td:nth-child(4)", r"\d")  # last use, in local time ...
        used = self.page.get_attribute("#grants-body tr:nth-child(1) td:nth-child(4)", "title")
        self.assertRegex(used, r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")  # ... with the ISO form as its tooltip
        self.expect("#grant-uri").to_be_hidden()  # the id is shown once, never again
        self.assertNotIn(grant_id, self.page.content())
        # a container's first use binds the grant; what it is not told of a failure, the page shows
        t.write(self.config_path, t.STANDARD_CONFIG.replace("[profile nomfa]", "[profile renamed]"))
        answer = self.service.handle(rm.Request("GET", "/v2/credentials/" + grant_id, [("Host", rm.ECS_ADDRESS)], b"",
                                                ("172.17.0.2", 40000), "container"))
        self.assertEqual(json.loads(answer.body)["message"], rm.CONTAINER_UNAVAILABLE)
        t.write(self.config_path, t.STANDARD_CONFIG)
        self.page.reload()
        self.wait_text("#grants-body tr:nth-child(1) td:nth-child(6)", "^bound to 172.17.0.2$")
        self.wait_text("#grants-body tr:nth-child(2) td", "^Last failure for web: .*nomfa")
        self.shot("51-grant-failure")
        self.page.click("button[aria-label='Revoke web']")
        self.wait_text("#grants-body", "No grants yet")
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(served, timeout=10)
        self.assertEqual(caught.exception.code, 404)

    def test_console_button_opens_the_console(self):
        fake = FakeConsole(served_by(self.service))
        self.addCleanup(fake.close)
        self.environ["RUNAS_META_FEDERATION_URL"] = fake.url
        self.open_page()
        self.wait_text("#identity", "assumed-role/dev/fixed-name")
        with self.context.expect_page() as opened:
            self.page.click("#console")
        console = opened.value
        sync_api.expect(console.locator("h1")).to_have_text("AWS Management Console")
        sync_api.expect(console.locator("#session")).to_have_text(self.service.engine.cached("nomfa").access_key_id)
        sync_api.expect(console.locator("#destination")).to_have_text(
            "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1")
        console.screenshot(path=os.path.join(SHOTS, "26-console.png"))
        console.close()
        self.service.activate("withtoken")  # a session token cannot federate: the page says why
        self.page.click("#console")
        self.expect("#error").to_contain_text(
            "Cannot open the AWS console: profile 'withtoken' serves keys or a session token")
        self.assertEqual(len(self.context.pages), 1)
        self.shot("27-console-refused")

    def test_errors_show_and_clear(self):
        self.open_page()
        self.wait_text("#identity", "assumed-role/dev/fixed-name")
        self.sts_server.fail = 100  # STS answers 500 to everything
        self.page.click("#refresh")
        self.wait_text("#error", "STS AssumeRole failed: InternalFailure")
        self.shot("09-sts-error")
        self.assertEqual(self.service.active, "nomfa")
        self.sts_server.fail = 0  # STS is back
        self.page.click("#refresh")
        self.wait_text("#error", "^$")
        self.wait_text("#identity", "assumed-role/dev/fixed-name")

    def test_okta_push_shows_a_waiting_state(self):
        okta = t.FakeOkta({"pat": {"password": "push-password", "push": "gate"}}, [t.ROLE])
        self.addCleanup(okta.close)
        self.addCleanup(okta.approved.set)
        t.write(self.config_path, t.STANDARD_CONFIG + "[profile okta]\nsaml_auth_url = %s\n"
                "saml_username = pat\nrole_arn = %s\n" % (okta.saml_url, t.ROLE))
        self.service.engine.federation.providers["okta"].sleep = lambda seconds: okta.approved.wait(0.05)
        self.open_page()
        self.page.select_option("#role", "okta")
        self.page.wait_for_selector("#auth-dialog[open]")
        self.page.fill("#auth-password", "push-password")
        self.page.keyboard.press("Enter")
        self.wait_text("#auth-message", "approve it on your phone")
        self.assertTrue(self.page.is_disabled("#auth-submit"))
        self.shot("15-okta-push-waiting")
        okta.approved.set()  # the user taps "approve"
        self.page.wait_for_selector("#auth-dialog", state="hidden", timeout=15000)
        self.wait_text("#identity", "assumed-role/dev/saml-user")

    def test_use_it_panel_at_every_width_and_zoom(self):
        """The lines that point a shell at the service, for bash, PowerShell
        and fish, with copy buttons; no sideways scroll at 1280 px, 400 px and
        200 % zoom (a 640 px viewport at twice the pixels)."""
        for width, scale, name in ((1280, 1, "60-use-1280"), (400, 1, "61-use-400"), (640, 2, "62-use-zoom-200")):
            with self.subTest(width=width, scale=scale):
                context = self.browser.new_context(viewport={"width": width, "height": 900}, device_scale_factor=scale)
                self.addCleanup(context.close)
                context.grant_permissions(["clipboard-read", "clipboard-write"], origin=self.url)
                page = context.new_page()
                page.goto(self.url + "/")
                sync_api.expect(page.locator("#use")).to_be_visible()
                sync_api.expect(page.locator("#use-fish")).to_have_text(re.compile(
                    "^set -gx AWS_CONTAINER_CREDENTIALS_FULL_URI %s/credentials\n" % re.escape(self.url)))
                self.assertIn("$env:AWS_SHARED_CREDENTIALS_FILE = ", page.text_content("#use-powershell"))
                page.click("#copy-bash")
                sync_api.expect(page.locator("#copy-bash")).to_have_text("Copied")
                self.assertEqual(page.evaluate("navigator.clipboard.readText()"), page.text_content("#use-bash") + "\n")
                self.assertLessEqual(page.evaluate("document.documentElement.scrollWidth"), width)
                sync_api.expect(page.locator("#grants")).to_be_hidden()
                page.screenshot(path=os.path.join(SHOTS, name + ".png"), full_page=True)

    def test_switching_keeps_the_working_profile_and_cancel_goes_back(self):
        """While the code for the new profile is asked, SDKs keep the working
        one; Cancel goes back to it."""
        self.open_page()
        self.wait_text("#identity", "assumed-role/dev/fixed-name")
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.url + "/credentials",
               "AWS_CONFIG_FILE": empty_file(self), "AWS_SHARED_CREDENTIALS_FILE": empty_file(self)}
        _, before = botocore_credentials(env)
        self.page.select_option("#role", "long")
        self.page.wait_for_selector("#mfa-dialog[open]")
        method, during = botocore_credentials(env)  # the dialog is open: an SDK still gets nomfa
        self.assertEqual((method, during.access_key), ("container-role", before.access_key))
        self.wait_text("#switching", "^Still serving nomfa until long has credentials\\.$")
        self.shot("02b-switching")
        self.page.click("#mfa-cancel")
        self.page.wait_for_selector("#mfa-dialog", state="hidden")
        sync_api.expect(self.page.locator("#role")).to_have_value("nomfa")
        self.expect("#switching").to_be_hidden()
        self.assertEqual((self.service.active, self.service.selected.pending), ("nomfa", None))

    def test_a_program_waiting_for_a_code_is_answered_on_the_page(self):
        """`runas-meta process dev` waits; the page offers the code for dev and
        the served profile stays nomfa."""
        proc = subprocess.Popen([sys.executable, os.path.join(t.HERE, "runas_meta.py"), "process", "dev", "--wait",
                                 "60", "--endpoint", self.url], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        self.assertIn("profile 'dev' needs an MFA code", proc.stderr.readline())
        self.open_page()
        self.wait_text("#waiting-text", "^A program waits for an MFA code for profile dev\\.$")
        self.shot("16-waiting-program")
        self.page.click("#waiting-button")
        self.page.wait_for_selector("#mfa-dialog[open]")
        self.wait_text("#mfa-for", "^Profile dev\\.$")
        self.enter_code(t.GOOD_CODE)
        self.page.wait_for_selector("#mfa-dialog", state="hidden")
        out, _ = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(json.loads(out)["AccessKeyId"], self.service.engine.cached("dev").access_key_id)
        self.assertEqual(self.service.active, "nomfa")
        self.expect("#waiting").to_be_hidden(timeout=10000)

    def test_okta_number_matching_in_the_dialog(self):
        """Okta Verify's number challenge: the dialog shows the number; only
        choosing it on the "phone" approves."""
        okta = t.FakeOkta({"pat": {"password": "push-password", "push": "number"}}, [t.ROLE])
        self.addCleanup(okta.close)
        t.write(self.config_path, t.STANDARD_CONFIG + "[profile okta]\nsaml_auth_url = %s\n"
                "saml_username = pat\nrole_arn = %s\n" % (okta.saml_url, t.ROLE))
        chosen = threading.Event()
        self.service.engine.federation.providers["okta"].sleep = lambda seconds: chosen.wait(0.05)
        self.open_page()
        self.page.select_option("#role", "okta")
        self.page.wait_for_selector("#auth-dialog[open]")
        self.page.fill("#auth-password", "push-password")
        self.page.keyboard.press("Enter")
        self.expect("#push-number").to_be_visible(timeout=15000)
        self.wait_text("#auth-message", "Approve the Okta push on your phone: choose this number.")
        shown = self.page.text_content("#push-number")
        self.assertEqual([shown], list(okta.numbers.values()))
        self.shot("15b-okta-number-matching")
        okta.chosen = shown  # the user taps the number the page shows
        chosen.set()
        self.page.wait_for_selector("#auth-dialog", state="hidden", timeout=15000)
        self.wait_text("#identity", "assumed-role/dev/saml-user")
        self.assertEqual(okta.pushes, 1)

    def test_another_site_cannot_switch_or_read(self):
        attacker = AttackerSite(self.url)
        self.addCleanup(attacker.close)
        self.page.goto(attacker.url)
        sync_api.expect(self.page).to_have_title(re.compile(r"^\{"), timeout=10000)
        outcome = json.loads(self.page.title())
        self.assertEqual(outcome["read"], "blocked")  # no CORS: the page cannot read the answer
        with self.answered:  # the fetch and the form both reached the service
            self.assertTrue(self.answered.wait_for(lambda: len(
                [r for r, _ in self.answers if (r.method, r.path) == ("POST", "/profile")]) >= 2, 10))
        self.shot("08-cross-site-refused")
        self.assertEqual(self.service.active, "nomfa")
        tried = [(req.method, req.path, resp.status) for req, resp in self.answers]
        self.assertIn(("GET", "/credentials", 403), tried)
        posts = [status for method, path, status in tried if (method, path) == ("POST", "/profile")]
        self.assertEqual(posts, [403, 403])  # the fetch and the form, both refused
        self.assertFalse(any(status == 200 for method, path, status in tried if path != "/"))


if __name__ == "__main__":
    unittest.main()
