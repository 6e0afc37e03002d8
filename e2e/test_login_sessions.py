"""runas-meta's aws login sessions against e2e/fake_signin.py (proven with
botocore first): served from the AWS CLI's cache, refreshed with our own
DPoP proofs for hours of simulated time, written back where botocore (with
its native extension) reads them, consistent when botocore refreshes too,
kept through a disk that refuses the write, and signed in from the page's
flows (same-device PKCE with our callback, cross-device with a pasted code)
into a cache botocore accepts."""

import errno
import json
import os
import unittest
import urllib.error
import urllib.request

from e2e._peers import need

need("botocore")
need("awscrt")
need("cryptography")
import botocore.session  # noqa: E402

from e2e.fake_signin import SESSION, FakeSignIn  # noqa: E402
from e2e.test_login_fake_botocore import LoginHome, cache_document  # noqa: E402
import runas_meta as rm  # noqa: E402
import test_runas_meta as t  # noqa: E402


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def location(url):
    """Where the fake's authorize endpoint sends the browser."""
    opener = urllib.request.build_opener(NoRedirect)
    try:
        opener.open(url, timeout=10)
    except urllib.error.HTTPError as exc:
        if exc.code == 302:
            return exc.headers["Location"]
        raise
    raise AssertionError("no redirect")


class LoginCase(unittest.TestCase):
    def setUp(self):
        self.clock = t.Clock(rm.utcnow().replace(microsecond=0))
        self.signin = FakeSignIn(clock=lambda: self.clock().timestamp())
        self.addCleanup(self.signin.close)
        self.home = LoginHome(self.signin)
        self.addCleanup(self.home.close)
        self.environ = dict(self.home.env)
        self.spawned = []

    def engine(self, writer=rm.write_private_file):
        config = rm.Config(environ=self.environ, check_interval=0).load()
        login = rm.LoginSessions(self.environ, self.clock, rm.SignInJson(self.environ, sleep=lambda s: None), writer)
        return rm.Engine(config, rm.STS(self.environ, clock=self.clock), clock=self.clock, environ=self.environ,
                         spawn=self.spawned.append, login=login)

    def seeded(self, seconds_left):
        """The cache as `aws login` left it, with `seconds_left` on its keys."""
        doc = cache_document(self.signin.seed(), seconds_left)
        doc["accessToken"]["expiresAt"] = rm.format_time(self.clock() + rm.dt.timedelta(seconds=seconds_left))
        self.home.write(doc)
        return doc

    def with_botocore(self):
        saved = {k: os.environ.get(k) for k in self.home.env}
        os.environ.update(self.home.env)
        try:
            return botocore.session.Session(profile="dev").get_credentials().get_frozen_credentials()
        finally:
            for name, value in saved.items():
                os.environ.pop(name, None) if value is None else os.environ.__setitem__(name, value)


class ServedAndRenewed(LoginCase):
    def test_served_from_the_cache_without_a_call(self):
        self.seeded(14 * 60)
        creds = self.engine().credentials("dev")
        self.assertEqual((creds.access_key_id, creds.account_id), ("ASIAOLDKEY0000001", "123456789012"))
        self.assertEqual(self.signin.calls, [])

    def test_hours_of_renewals_with_no_prompt_and_the_cache_written_back(self):
        self.seeded(14 * 60)
        engine, served = self.engine(), set()
        for _ in range(4 * 60 // 5):  # four hours, a request every five minutes
            self.clock.advance(300)
            creds = engine.credentials("dev")
            self.assertGreater(creds.remaining(self.clock()), rm.MIN_SERVE)
            served.add(creds.access_key_id)
            while self.spawned:
                self.spawned.pop(0)()
        refreshes = [call for call in self.signin.calls if call["grantType"] == "refresh_token"]
        self.assertGreaterEqual(len(refreshes), 20)  # 15-minute keys
        self.assertEqual(self.signin.refused, [])  # every proof good, no token spent twice
        self.assertEqual(len(self.signin.proofs), len(refreshes))
        doc = self.home.read()
        self.assertFalse(self.signin.refresh[doc["refreshToken"]]["spent"])  # the file holds the live token
        self.assertEqual(doc["accessToken"]["accessKeyId"], engine.credentials("dev").access_key_id)
        self.assertGreaterEqual(len(served), 20)
        self.assertEqual(oct(os.stat(self.home.path()).st_mode & 0o777), "0o600")
        self.assertEqual(set(doc), {"accessToken", "tokenType", "clientId", "refreshToken", "idToken", "dpopKey"})

    def test_botocore_reads_what_we_wrote_and_we_read_what_botocore_wrote(self):
        self.seeded(60)
        engine = self.engine()
        ours = engine.credentials("dev")  # refreshed by us
        self.assertEqual(self.with_botocore().access_key, ours.access_key_id)  # botocore: the same keys, no call
        self.assertEqual(len(self.signin.calls), 1)
        doc = self.home.read()
        doc["accessToken"]["expiresAt"] = rm.format_time(rm.utcnow() + rm.dt.timedelta(seconds=60))
        self.home.write(doc)  # as if time passed for botocore: it refreshes with the rotated token
        theirs = self.with_botocore()
        self.assertEqual(len(self.signin.calls), 2)
        self.assertEqual(self.signin.refused, [])
        engine = self.engine()
        self.assertEqual(engine.credentials("dev").access_key_id, theirs.access_key)  # read back, no call
        self.clock.advance(15 * 60)  # our turn: botocore's rotated token works for us
        self.assertEqual(engine.credentials("dev").access_key_id, "ASIALOGIN0000003")
        self.assertEqual(self.signin.refused, [])

    def test_an_ended_session_asks_for_a_sign_in(self):
        self.seeded(60)
        self.signin.ended.add(SESSION)
        with self.assertRaises(rm.LoginRequired) as caught:
            self.engine().credentials("dev")
        self.assertIn("USER_CREDENTIALS_CHANGED", str(caught.exception))
        self.assertEqual(caught.exception.extra["login_url"], "/login/start?profile=dev")
        self.home.write(dict(self.home.read(), refreshToken="spent-or-unknown"))
        self.signin.ended.clear()
        with self.assertRaisesRegex(rm.LoginRequired, "TOKEN_EXPIRED"):
            self.engine().credentials("dev")

    def test_a_disk_that_refuses_the_write_keeps_the_session(self):
        self.seeded(60)
        refuse = [True]

        def writer(path, data):
            if refuse[0]:
                raise OSError(errno.ENOSPC, "No space left on device")
            rm.write_private_file(path, data)
        engine = self.engine(writer)
        first = engine.credentials("dev")
        self.assertEqual(self.home.read()["accessToken"]["accessKeyId"], "ASIAOLDKEY0000001")  # the file lags
        self.clock.advance(14 * 60)
        second = engine.credentials("dev")  # the rotated token from memory: not the spent one on disk
        self.assertNotEqual(first.access_key_id, second.access_key_id)
        self.assertEqual(self.signin.refused, [])
        refuse[0] = False
        self.assertTrue(engine.login.retry_unwritten())  # the renewal loop's job
        self.assertEqual(self.home.read()["accessToken"]["accessKeyId"], second.access_key_id)  # written now
        self.assertEqual(self.with_botocore().access_key, second.access_key_id)


class SignInFromThePage(LoginCase):
    def test_same_device_writes_a_cache_botocore_refreshes(self):
        engine = self.engine()
        profile = engine.login_base("dev")
        url = engine.login_sign_ins.start(profile, "dev", "http://127.0.0.1:12319" + rm.LOGIN_CALLBACK_PATH)
        self.assertIn("code_challenge_method=SHA-256", url)
        self.assertIn("client_id=arn%3Aaws%3Asignin%3A%3A%3Adevtools%2Fsame-device", url)
        back = urllib.parse.urlsplit(location(url))
        self.assertEqual(back.path, rm.LOGIN_CALLBACK_PATH)
        query = dict(urllib.parse.parse_qsl(back.query))
        self.assertEqual(engine.login_sign_ins.finish(query["state"], query["code"]), "dev")
        doc = self.home.read()
        self.assertTrue(doc["dpopKey"].startswith("-----BEGIN EC PRIVATE KEY-----\n"))
        self.assertEqual(doc["accessToken"]["accountId"], "123456789012")
        self.assertEqual(engine.credentials("dev").access_key_id, "ASIALOGIN0000001")
        doc["accessToken"]["expiresAt"] = rm.format_time(rm.utcnow() + rm.dt.timedelta(seconds=60))
        self.home.write(doc)
        self.assertEqual(self.with_botocore().access_key, "ASIALOGIN0000002")  # awscrt loaded our key, its proof bound
        self.assertEqual(self.signin.refused, [])

    def test_cross_device_takes_the_pasted_code(self):
        engine = self.engine()
        url = engine.login_sign_ins.start(engine.login_base("dev"), "dev")
        self.assertIn("devtools%2Fcross-device", url)
        page = urllib.request.urlopen(location(url), timeout=10).read().decode()
        code = page.split('id="verification-code">')[1].split("<")[0]
        self.assertEqual(engine.login_sign_ins.finish_pasted(code), "dev")
        self.assertEqual(engine.credentials("dev").access_key_id, "ASIALOGIN0000001")
        with self.assertRaises(rm.HTTPError):
            engine.login_sign_ins.finish_pasted(code)  # a state is good once

    def test_a_missing_session_is_a_401_that_offers_the_sign_in(self):
        engine = self.engine()
        config = engine.config
        service = rm.Service(engine, config)
        service.set_address("127.0.0.1", 12319)
        response = service.handle(rm.Request("GET", "/credentials/dev", [("Host", "127.0.0.1:12319")]))
        self.assertEqual(response.status, 401)
        doc = json.loads(response.body)
        self.assertEqual((doc["Code"], doc["login_url"], doc["remote_url"]), (
            "LoginRequired", "http://127.0.0.1:12319/login/start?profile=dev",
            "http://127.0.0.1:12319/login/remote?profile=dev"))


if __name__ == "__main__":
    unittest.main()
