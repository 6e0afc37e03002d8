"""Hardening that needs root: each scenario in a namespace this test creates.

- A full, then read-only, IAM Identity Center cache on a small tmpfs, in a
  private mount namespace (`unshare -m`): e2e/full_cache_inner.py.
- Cross-site GETs against legacy mode's 169.254.169.254 from a hostile page
  on 127.0.0.2, in real Chromium, in a private network namespace
  (`unshare -n`): e2e/hardening_netns_inner.py.
- Another local user (nobody) listening on [::1]:PORT before the service starts.
Nothing outside the namespaces is touched; the inner scripts refuse to run
outside them."""

import os
import pwd
import socket
import unittest
import urllib.error
import urllib.request

from e2e import _netns
from e2e._peers import need

import runas_meta as rm
import test_runas_meta as t

_netns.require_namespaces("the hardening tests", ["-n"])
_netns.require_namespaces("the hardening tests", ["-m"])


def run_inner(command, script):
    env = dict(os.environ, RUNAS_META_PARENT_MNT_NS=os.readlink("/proc/self/ns/mnt"))
    return _netns.run_inner(command, script, timeout=240, env=env)


class FullCache(unittest.TestCase):
    """Issue 18.1: a refresh on a full disk loses no token; a sign-in on a
    read-only cache is a clear 503."""

    @classmethod
    def setUpClass(cls):
        cls.report = run_inner(["unshare", "-m", "--propagation", "private"], "full_cache_inner.py")

    def test_the_refreshed_token_is_served_then_written(self):
        r = self.report
        self.assertEqual(r["file_after_refresh"], r["old_access"])  # the disk was full
        self.assertEqual(r["credentials"], 200)
        self.assertEqual(r["token_calls"], 1)
        self.assertEqual(len(r["bearers"]), 1)
        self.assertNotEqual(r["bearers"][0], r["old_access"])  # served with the new token
        self.assertEqual(r["status"], 200)
        self.assertEqual(r["written_access"], r["bearers"][0])  # written once there was room
        self.assertNotEqual(r["written_refresh"], r["old_refresh"])
        self.assertTrue(r["written_refresh_alive"])  # the AWS CLI can refresh with what the file holds
        self.assertEqual(r["mode"], "0o600")
        self.assertIn("No space left on device: the new token is kept in memory", r["log"])
        self.assertIn("kept in memory is written to the cache again", r["log"])

    def test_a_sign_in_on_a_read_only_cache_says_why(self):
        for key in ("device_on_read_only", "login_on_read_only"):
            status, doc = self.report[key]
            self.assertEqual(status, 503)
            self.assertEqual(doc["Code"], "TokenCacheUnwritable")
            self.assertIn("Read-only file system", doc["Message"])
        self.assertEqual(self.report["still_serving"], 200)
        self.assertEqual(self.report["exit"], 0)
        self.assertNotIn("Traceback", self.report["log"])
        self.assertEqual(t.secrets_in(self.report["log"]), [])


class CrossSiteInLegacyMode(unittest.TestCase):
    """Issue 18.2 and 18.7 in real Chromium, which sends no Sec-Fetch-* to
    http://169.254.169.254; the hostile page asks for no Referer."""

    @classmethod
    def setUpClass(cls):
        need("playwright.sync_api")
        cls.report = run_inner(["unshare", "-n"], "hardening_netns_inner.py")

    def test_a_blind_credential_fetch_is_refused(self):
        (answer,) = self.report["blind_fetch"]
        self.assertNotIn("sec-fetch-site", answer["headers"])  # the premise: nothing else tells a browser
        self.assertNotIn("referer", answer["headers"])
        self.assertIn("accept-language", answer["headers"])
        self.assertEqual(answer["status"], 403)
        self.assertEqual(self.report["blind_fetch_sts_calls"], 0)

    def test_links_start_nothing(self):
        r = self.report
        self.assertEqual(r["console-nav"], "http://%s/" % rm.LEGACY_ADDRESS)
        self.assertEqual(r["oidc-nav"], "http://%s/" % rm.LEGACY_ADDRESS)
        self.assertEqual([(a["status"], a["location"]) for a in r["console_get"] + r["oidc_get"]],
                         [(302, "/"), (302, "/")])
        self.assertEqual(r["federation_requests_before_click"], 0)  # no sign-in token was minted

    def test_another_sites_form_is_refused(self):
        self.assertEqual(self.report["console-form"]["Code"], "ForbiddenOrigin")
        self.assertEqual([a["status"] for a in self.report["console_post"]], [403])

    def test_no_foreign_words_on_the_page(self):
        self.assertEqual(self.report["words-fragment"], "")
        self.assertEqual(self.report["words-callback"], "")

    def test_the_pages_own_button_still_opens_the_console(self):
        own = self.report["own_button"]
        self.assertEqual(own["title"], "AWS Management Console")
        self.assertIn("Action=login", own["url"])
        self.assertGreater(own["federation_requests"], 0)


class SquattedIPv6Loopback(unittest.TestCase):
    """Issue 18.5: another local user listens on [::1]:PORT first, where the
    browser's http://localhost:PORT/ may lead; the service refuses the name."""

    def test_localhost_refused_while_another_user_holds_ipv6(self):
        nobody = pwd.getpwnam("nobody")
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        ready_read, ready_write = os.pipe()  # the squatter listens
        hold_read, hold_write = os.pipe()  # until the test closes this
        pid = os.fork()
        if pid == 0:  # the other user
            try:
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                squatter = socket.socket(socket.AF_INET6)
                squatter.bind(("::1", port))
                squatter.listen()
                os.write(ready_write, b"1")
                os.close(hold_write)
                os.read(hold_read, 1)
            finally:
                os._exit(0)
        os.close(ready_write)
        os.close(hold_read)
        self.addCleanup(os.waitpid, pid, 0)
        self.addCleanup(os.close, hold_write)
        self.assertEqual(os.read(ready_read, 1), b"1")
        os.close(ready_read)
        folder = t.tempfile.mkdtemp()
        self.addCleanup(t._rmtree, folder)
        t.write(os.path.join(folder, ".aws", "config"), t.STANDARD_CONFIG)
        env = dict(os.environ, HOME=folder, AWS_CONFIG_FILE=os.path.join(folder, ".aws", "config"),
                   AWS_SHARED_CREDENTIALS_FILE=os.devnull)
        service = t.ServiceProcess(["ecs", "-p", str(port)], env)
        try:
            for host, status in (("localhost:%d" % port, 403), ("127.0.0.1:%d" % port, 200)):
                request = urllib.request.Request("http://127.0.0.1:%d/status" % port, headers={"Host": host})
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        self.assertEqual(response.status, status)
                except urllib.error.HTTPError as exc:
                    self.assertEqual(exc.code, status)
        finally:
            service.stop()
        self.assertIn("another process listens on [::1]:%d" % port, service.stderr)


if __name__ == "__main__":
    unittest.main()
