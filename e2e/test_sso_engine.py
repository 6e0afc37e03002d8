"""IAM Identity Center and credential_process profiles, standard library
only: config as botocore reads it, the AWS CLI's token cache, refresh,
sign-in by device code and by PKCE through the service, role credentials,
the account/role list, and the faults (401, 403, 429 storms, the portal
down, a dead refresh token, an expired registration, processes that hang,
fail or print garbage).  Against our fake IAM Identity Center
(e2e/fake_sso.py, proven with botocore in e2e/test_sso_fake_botocore.py)
and the suite's fake STS; the clock is injected."""

import datetime as dt
import errno
import hashlib
import json
import os
import shutil
import ssl
import stat
import subprocess
import sys
import textwrap
import unittest
import urllib.parse
import urllib.request

from e2e.fake_sso import FakeSSO

import runas_meta as rm
import test_runas_meta as t

START = "https://d-1234567890.awsapps.com/start"
SSO_CONFIG = """\
[profile legacy]
sso_start_url = %(start)s
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = ReadOnly
region = eu-west-1

[profile modern]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin
region = eu-west-1

[sso-session corp]
sso_start_url = %(start)s
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile onsso]
role_arn = %(role)s
source_profile = modern
role_session_name = chained

[profile deeper]
role_arn = %(role2)s
source_profile = onsso

[profile noaccess]
sso_session = corp
sso_account_id = 444455556666
sso_role_name = Admin

[profile proc]
credential_process = "%(python)s" "%(script)s" ok
region = eu-west-1

[profile static-proc]
credential_process = "%(python)s" "%(script)s" static

[profile onproc]
role_arn = %(role)s
source_profile = proc
role_session_name = onproc
"""

PROCESS = textwrap.dedent("""\
    import json, os, sys, time
    mode = sys.argv[1]
    count = os.path.join(os.path.dirname(os.path.abspath(__file__)), "runs-" + mode)
    with open(count, "a") as handle:
        handle.write("x")
    sys.stderr.write("procStderrSecret\\n")
    if mode == "hang":
        time.sleep(60)
    if mode == "fail":
        print(json.dumps({"Version": 1, "AccessKeyId": "AKIAPROC", "SecretAccessKey": "procSecret"}))
        sys.exit(1)
    if mode == "garbage":
        print("procSecret not json")
        sys.exit(0)
    doc = {"Version": 1, "AccessKeyId": "ASIAPROC", "SecretAccessKey": "procSecret", "SessionToken": "procToken"}
    if mode == "ok":
        doc["Expiration"] = sys.argv[2] if len(sys.argv) > 2 else "2026-11-27T14:00:00Z"
    if mode == "noversion":
        del doc["Version"]
    if mode == "nosecret":
        del doc["SecretAccessKey"]
    print(json.dumps(doc))
""")


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


class SSOCase(t.ServiceCase):
    """The service in process with an SSO config, the fake IAM Identity
    Center on the injected clock, and a token cache in the temporary home."""

    def setUp(self):
        t.FakeSTSCase.setUp(self)
        self.fake = FakeSSO(clock=self.clock.monotonic, now=lambda: self.clock.now.timestamp())
        self.addCleanup(self.fake.close)
        self.environ.update(AWS_ENDPOINT_URL_SSO=self.fake.url, AWS_ENDPOINT_URL_SSO_OIDC=self.fake.url)
        self.script = os.path.join(self.home, "proc.py")
        t.write(self.script, PROCESS)
        self.files(SSO_CONFIG % {"start": START, "role": t.ROLE, "role2": t.ROLE2, "python": sys.executable,
                                 "script": self.script}, t.STANDARD_CREDENTIALS)
        self.cache = os.path.join(self.home, ".aws", "sso", "cache")
        self.sleeps = []
        self.tick = [1000.0]
        self.make()

    def make(self, **kwargs):
        config = self.config()
        self.sso = rm.IdentityCenter(self.environ, clock=self.clock, monotonic=self.clock.monotonic,
                                     sleep=self._sleep, api=rm.AwsJson(self.environ, sleep=self.sleeps.append,
                                                                       timeout=2),
                                     spawn=self.spawned.append)
        self.engine_ = self.engine(config, sso=self.sso, process_timeout=kwargs.pop("process_timeout", 10))
        self.service = rm.Service(self.engine_, config, tokens=rm.ImdsTokens(clock=lambda: self.tick[0]), **kwargs)
        self.service.set_address("127.0.0.1", self.PORT)

    def _sleep(self, seconds):
        self.sleeps.append(seconds)
        self.clock.advance(seconds)

    def z(self, seconds):
        return rm.format_time(self.clock.now + dt.timedelta(seconds=seconds))

    def cli_token(self, key, lifetime=3600, refresh=False, **extra):
        """A token file as `aws sso login` leaves it."""
        issued = self.fake.add_token(lifetime=lifetime, with_refresh=refresh)
        doc = {"startUrl": START, "region": "us-east-1", "accessToken": issued["accessToken"],
               "expiresAt": self.z(lifetime)}
        if refresh:
            doc.update(refreshToken=issued["refreshToken"], clientId=issued["clientId"],
                       clientSecret=issued["clientSecret"], registrationExpiresAt=self.z(86400))
        doc.update(extra)
        t.write(os.path.join(self.cache, sha1(key) + ".json"), json.dumps(doc))
        return doc

    def token_file(self, key):
        path = os.path.join(self.cache, sha1(key) + ".json")
        with open(path) as handle:
            return json.load(handle), stat.S_IMODE(os.stat(path).st_mode)

    def assert_sso_dialog(self, response):
        self.assertEqual(response.status, 401, response.body)
        self.assertEqual(dict(response.headers)[rm.AUTH_TYPE_HEADER], "SSO")
        return json.loads(response.body)


class SSOConfigTests(SSOCase):
    def test_both_forms_read_as_botocore_reads_them(self):
        config = self.config()
        legacy, modern = config.profile("legacy"), config.profile("modern")
        self.assertEqual((legacy.sso_start_url, legacy.sso_region, legacy.sso_session), (START, "us-east-1", ""))
        self.assertEqual((modern.sso_start_url, modern.sso_region, modern.sso_registration_scopes),
                         (START, "us-east-1", "sso:account:access"))
        self.assertEqual(rm.sso_scopes(modern), ["sso:account:access"])
        self.assertIsNone(rm.sso_scopes(legacy))
        self.assertIn("legacy", config.sources())
        self.assertIn("proc", config.sources())
        self.assertEqual([p.name for p in config.chain("deeper")], ["deeper", "onsso", "modern"])

    def test_errors_name_the_profile_and_key(self):
        cases = [
            ("[profile x]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = R\n"
             "sso_region = eu-west-1\n[sso-session corp]\nsso_start_url = %s\nsso_region = us-east-1\n" % START,
             r"sso_region is inconsistent between profile 'x' \(eu-west-1\) and sso-session 'corp' \(us-east-1\)"),
            ("[profile x]\nsso_session = nope\nsso_account_id = 111122223333\nsso_role_name = R\n",
             r"config:2: profile 'x': sso_session 'nope' does not exist"),
            ("[profile x]\nsso_account_id = 111122223333\n",
             r"'x' is configured to use SSO but is missing required configuration: sso_start_url, "
             r"sso_region, sso_role_name"),
            ("[profile x]\nsso_account_id = 1234\n", r"config:2: sso_account_id '1234' is not a valid 12-digit"),
        ]
        for text, pattern in cases:
            with self.subTest(pattern):
                self.files(text)
                with self.assertRaisesRegex(rm.ConfigError, pattern):
                    self.config().chain("x")

    def test_discovered_names(self):
        config = self.config()
        found = config.profile("sso:corp:444455556666:ReadOnly")
        self.assertEqual((found.sso_start_url, found.sso_account_id, found.sso_role_name, found.region),
                         (START, "444455556666", "ReadOnly", "us-east-1"))
        self.assertEqual(config.profile("sso:legacy:111122223333:Admin").sso_start_url, START)
        self.assertTrue(config.known("sso:corp:111122223333:Admin"))
        for bad in ("sso:nope:111122223333:Admin", "sso:corp:12:Admin", "sso:corp"):
            self.assertFalse(config.known(bad), bad)

    def test_endpoints_in_botocore_order(self):
        profile = rm.Profile("p", sso_region="eu-west-1", sso_endpoint_url="http://services-sso",
                             endpoint_url="http://profile")
        cases = [({}, "http://services-sso"),
                 ({"AWS_ENDPOINT_URL": "http://global/"}, "http://global"),
                 ({"AWS_ENDPOINT_URL": "http://global", "AWS_ENDPOINT_URL_SSO": "http://env"}, "http://env"),
                 ({"AWS_ENDPOINT_URL_SSO": "http://env", "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS": "true"},
                  "https://portal.sso.eu-west-1.amazonaws.com")]
        for environ, expected in cases:
            self.assertEqual(rm.sso_portal_endpoint(profile, environ), expected)
        self.assertEqual(rm.sso_oidc_endpoint(rm.Profile("p", sso_region="cn-north-1"), {}),
                         "https://oidc.cn-north-1.amazonaws.com.cn")
        self.files(SSO_CONFIG % {"start": START, "role": t.ROLE, "role2": t.ROLE2, "python": "p", "script": "s"}
                   + "[profile svc]\nsso_session = corp\nsso_account_id = 111122223333\nsso_role_name = R\n"
                   "services = mine\n[services mine]\nsso_oidc =\n  endpoint_url = http://nested-oidc\n")
        self.assertEqual(rm.sso_oidc_endpoint(self.config().profile("svc"), {}), "http://nested-oidc")

    def test_token_times_as_found_in_the_wild(self):
        expected = dt.datetime(2026, 11, 27, 12, 0, tzinfo=dt.timezone.utc)
        for text in ("2026-11-27T12:00:00Z", "2026-11-27T12:00:00UTC", "2026-11-27T12:00:00+00:00",
                     "2026-11-27T07:00:00-05:00", "2026-11-27T12:00:00.000Z", "2026-11-27T12:00:00",
                     "2026-11-27 12:00:00UTC"):
            self.assertEqual(rm.parse_sso_time(text), expected, text)


class SSOTokenCacheTests(SSOCase):
    def test_the_cli_token_serves_the_role_once_from_the_portal(self):
        token = self.cli_token(START)
        creds = self.engine_.credentials("legacy")
        self.assertEqual(creds.access_key_id, self.fake.issued_keys[-1])
        self.assertEqual(creds.account_id, "111122223333")
        self.engine_.credentials("legacy")
        calls = self.fake.calls("/federation/credentials")
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["headers"]["x-amz-sso_bearer_token"], token["accessToken"])
        self.assertEqual(calls[0]["query"], {"role_name": "ReadOnly", "account_id": "111122223333"})

    def test_session_token_refreshed_and_written_back_as_the_cli_does(self):
        old = self.cli_token("corp", lifetime=600, refresh=True)
        self.engine_.credentials("modern")
        body = json.loads(self.fake.calls("/token")[0]["body"])
        self.assertEqual(body["grantType"], "refresh_token")
        written, mode = self.token_file("corp")
        self.assertEqual(mode, 0o600)
        self.assertNotEqual(written["accessToken"], old["accessToken"])
        self.assertNotEqual(written["refreshToken"], old["refreshToken"])
        self.assertEqual(written["expiresAt"], self.z(3600))
        self.assertEqual(written["registrationExpiresAt"], old["registrationExpiresAt"])
        bearer = self.fake.calls("/federation/credentials")[0]["headers"]["x-amz-sso_bearer_token"]
        self.assertEqual(bearer, written["accessToken"])

    def test_a_full_cache_loses_no_token(self):
        """The refresh succeeds but the cache cannot take the new token: it is
        served from memory (the old refresh token is spent at the portal) and
        written once the cache takes it again, for the AWS CLI to use."""
        old = self.cli_token("corp", lifetime=600, refresh=True)
        full = [True]

        def writer(path, data):
            if full[0]:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            rm.write_private_file(path, data)
        self.sso.tokens.writer = writer
        with self.assertLogs("runas_meta", "WARNING") as logs:
            self.assertIn("AccessKeyId", self.doc(self.call("GET", "/credentials/modern")))
        self.assertIn("cannot write the IAM Identity Center cache %s: No space left on device" % self.cache,
                      "\n".join(logs.output))
        self.assertIn("kept in memory", "\n".join(logs.output))
        self.assertEqual(self.token_file("corp")[0]["accessToken"], old["accessToken"])  # the file lags
        kept = self.sso.tokens.unwritten[rm.sso_token_key(self.config().profile("modern"))]
        bearer = self.fake.calls("/federation/credentials")[0]["headers"]["x-amz-sso_bearer_token"]
        self.assertEqual(bearer, kept["accessToken"])
        self.assertEqual(self.sso.tokens.access_token(self.config().profile("modern")), kept["accessToken"])
        self.assertEqual(len(self.fake.calls("/token")), 1)  # no second refresh: the kept token serves
        full[0] = False  # space again: the next use writes it
        self.sso.tokens.access_token(self.config().profile("modern"))
        written, mode = self.token_file("corp")
        self.assertEqual((written["accessToken"], written["refreshToken"], mode),
                         (kept["accessToken"], kept["refreshToken"], 0o600))
        self.assertEqual(self.sso.tokens.unwritten, {})
        self.assertIn(written["refreshToken"], self.fake.refresh_tokens)  # the one the portal still honours
        self.assertFalse(self.fake.refresh_tokens[written["refreshToken"]]["dead"])

    def test_a_sign_in_on_a_read_only_cache_is_a_clear_error(self):
        self.sso.tokens.writer = lambda path, data: (_ for _ in ()).throw(OSError(errno.EROFS, os.strerror(errno.EROFS)))
        for method, path in (("POST", "/sso/device"), ("POST", "/sso/login")):
            response = self.call(method, path + "?profile=onsso")
            self.assertEqual(response.status, 503, response.body)
            doc = json.loads(response.body)
            self.assertEqual(doc["Code"], "TokenCacheUnwritable")
            self.assertEqual(doc["Message"], "cannot write the IAM Identity Center cache %s: Read-only file system"
                             % self.cache)

    def test_status_says_when_the_next_sign_in_is_needed(self):
        self.cli_token(START, lifetime=5000)
        self.cli_token("corp", lifetime=3000, refresh=True)
        self.engine_.credentials("legacy")
        self.engine_.credentials("onsso")
        self.assertEqual(self.engine_.status("legacy")["next_prompt"],
                         {"at": self.z(5000), "what": "IAM Identity Center sign-in", "seconds": 5000})
        prompt = self.engine_.status("onsso")["next_prompt"]
        self.assertEqual((prompt["at"], prompt["note"]),
                         (None, "renewed without asking while your IAM Identity Center session lasts"))
        self.service.activate("legacy")
        self.assertEqual(self.doc(self.call("GET", "/status"))["next_prompt"]["at"], self.z(5000))

    def test_legacy_token_is_never_refreshed(self):
        self.cli_token(START, lifetime=600, refresh=True)
        self.engine_.credentials("legacy")
        self.assertEqual(self.fake.calls("/token"), [])
        self.clock.advance(700)
        self.engine_.plan("legacy")[0].creds = None
        with self.assertRaises(rm.SSOLoginRequired):
            self.engine_.credentials("legacy")
        self.assertEqual(self.fake.calls("/token"), [])

    def test_expired_token_with_a_dead_refresh_token_asks_for_sign_in(self):
        self.cli_token("corp", lifetime=-60, refresh=True)
        self.fake.end_session()
        body = self.assert_sso_dialog(self.call("GET", "/credentials/modern"))
        self.assertEqual(body["Code"], "SSOLoginRequired")
        self.assertEqual(body["start_url"], START)
        self.assertEqual(body["login_url"], "http://127.0.0.1:9999/sso/login?profile=modern")
        self.assertEqual(body["device_url"], "http://127.0.0.1:9999/sso/device")
        self.assertEqual(len(self.fake.calls("/token")), 1)

    def test_files_without_access_token_and_missing_files_mean_sign_in(self):
        t.write(os.path.join(self.cache, sha1(START) + ".json"), json.dumps({"clientId": "x", "expiresAt": "y"}))
        body = self.assert_sso_dialog(self.call("GET", "/credentials/legacy"))
        self.assertNotIn("login_url", body)  # the legacy form signs in by device code, as the CLI does
        self.assert_sso_dialog(self.call("GET", "/credentials/modern"))
        self.assertEqual(self.fake.requests, [])

    def test_role_chained_on_an_sso_profile_and_deeper(self):
        self.cli_token("corp")
        creds = self.engine_.credentials("deeper")
        calls = [c for c in self.sts_server.calls if c["Action"] == "AssumeRole"]
        self.assertEqual([c["RoleArn"] for c in calls], [t.ROLE, t.ROLE2])
        self.assertEqual(calls[0]["_token"][:10], "ssoSession")  # signed with the SSO credentials
        self.assertEqual(calls[0]["DurationSeconds"], "3600")
        self.assertEqual(calls[0]["RoleSessionName"], "chained")
        self.assertTrue(creds.access_key_id.startswith("ASIAFAKE"))


class SSOFaultTests(SSOCase):
    def test_401_mid_run_keeps_valid_credentials_then_asks(self):
        self.cli_token("corp")
        first = self.engine_.credentials("modern")
        self.fake.revoke_tokens()
        self.clock.advance(3600 - 20 * 60)  # inside the refresh window
        self.assertIs(self.engine_.credentials("modern"), first)
        self.run_background()
        self.assertEqual(self.engine_.status("modern")["auth_needed"]["type"], "SSO")
        self.assertIs(self.engine_.credentials("modern"), first)
        self.clock.advance(19 * 60 + 30)  # 30 s left: still valid, so still served (issue 26.7)
        self.assertIs(self.engine_.credentials("modern"), first)
        self.clock.advance(31)  # nothing valid left: the sign-in dialog
        self.assert_sso_dialog(self.call("GET", "/credentials/modern"))

    def test_403_names_account_and_role(self):
        self.cli_token("corp")
        response = self.call("GET", "/credentials/noaccess")
        self.assertEqual(response.status, 403)
        self.assertIn("no access to role Admin in account 444455556666", json.loads(response.body)["Message"])

    def test_429_storm_is_retried_then_reported(self):
        self.cli_token("corp")
        self.fake.throttle_portal = 3
        self.assertTrue(self.engine_.credentials("modern").access_key_id)
        self.assertEqual(len(self.sleeps), 3)
        self.fake.throttle_portal = 50
        response = self.call("GET", "/credentials/noaccess")
        self.assertEqual(response.status, 503, response.body)
        self.assertIn("TooManyRequestsException", json.loads(response.body)["Message"])

    def test_portal_down_keeps_serving_then_recovers(self):
        self.cli_token("corp")
        first = self.engine_.credentials("modern")
        self.fake.portal_down = True
        self.clock.advance(3600 - 20 * 60)
        self.assertIs(self.engine_.credentials("modern"), first)
        self.run_background()
        self.assertIn("ServiceUnavailableException: Service unavailable", self.engine_.status("modern")["error"] or "")
        self.assertIs(self.engine_.credentials("modern"), first)
        self.fake.portal_down = False
        self.clock.advance(rm.RETRY_RENEWAL)
        self.engine_.credentials("modern")
        self.run_background()
        self.assertIsNot(self.engine_.credentials("modern"), first)
        self.assertIsNone(self.engine_.status("modern")["error"])

    def test_garbage_from_the_portal_is_a_clear_502(self):
        self.cli_token("corp")
        xml_server = t.FakeSTS(self.clock)  # answers XML, not JSON
        self.addCleanup(xml_server.close)
        self.environ["AWS_ENDPOINT_URL_SSO"] = xml_server.url
        self.make()
        response = self.call("GET", "/credentials/modern")
        self.assertIn(response.status, (502, 503))
        self.assertIn("GetRoleCredentials", json.loads(response.body)["Message"])


class SSOTransportTests(SSOCase):
    def test_proxy_from_the_environment(self):
        self.cli_token("corp")
        # 127.0.0.2 is not on the loopback bypass list: the request goes through the
        # proxy, which is the fake itself (it answers a forward-proxy request).
        self.environ.update(AWS_ENDPOINT_URL_SSO="http://127.0.0.2:9", HTTP_PROXY=self.fake.url)
        self.make()
        self.assertTrue(self.engine_.credentials("modern").access_key_id)
        proxied = self.fake.calls("/federation/credentials")[0]["headers"]["x-test-proxied"]
        self.assertTrue(proxied.startswith("http://127.0.0.2:9/federation/credentials?"), proxied)
        self.environ["no_proxy"] = "127.0.0.2"
        self.make()
        self.assertEqual(self.call("GET", "/credentials/modern").status, 503)

    @unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
    def test_ca_bundle(self):
        cert, key = os.path.join(self.home, "cert.pem"), os.path.join(self.home, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        secure = FakeSSO(clock=self.clock.monotonic, now=lambda: self.clock.now.timestamp(), tls=context)
        self.addCleanup(secure.close)
        self.fake = secure
        self.cli_token("corp")
        self.environ.update(AWS_ENDPOINT_URL_SSO=secure.url)
        self.make()
        response = self.call("GET", "/credentials/modern")
        self.assertEqual(response.status, 503)
        self.assertRegex(json.loads(response.body)["Message"], "CERTIFICATE_VERIFY_FAILED|certificate verify")
        self.environ["AWS_CA_BUNDLE"] = cert
        self.make()
        self.assertEqual(self.call("GET", "/credentials/modern").status, 200)


class SSODeviceTests(SSOCase):
    def start(self, profile="modern"):
        response = self.call("POST", "/sso/device", {}, "profile=" + profile)
        return self.doc(response)

    def test_device_sign_in_honours_interval_and_slow_down(self):
        view = self.start()
        self.assertEqual(view["status"], "pending")
        self.assertRegex(view["user_code"], r"^[0-9A-F]{4}-[0-9A-F]{4}$")
        self.assertTrue(view["verification_uri_complete"].endswith("user_code=" + view["user_code"]))
        self.assertEqual(json.loads(self.fake.calls("/client/register")[0]["body"])["scopes"],
                         ["sso:account:access"])
        poll = self.spawned.pop()
        self.fake.interval = 1
        device = next(iter(self.fake.devices.values()))
        device["interval"] = 3  # the second poll, 1 s after the first, gets slow_down; then 1 + 5 s
        original = self.fake.create_token

        def approve_on_third(query, headers, body):
            if len(self.fake.calls("/token")) == 3:
                device["state"] = "approved" if device["state"] == "pending" else device["state"]
            return original(query, headers, body)
        self.fake.create_token = approve_on_third
        poll()
        self.assertEqual(self.sleeps, [1, 1, 6])
        status = self.doc(self.call("GET", "/sso/device?profile=modern"))
        self.assertEqual(status["status"], "done")
        written, mode = self.token_file("corp")
        self.assertEqual(mode, 0o600)
        self.assertTrue(written["refreshToken"] and written["clientSecret"])
        self.assertRegex(written["registrationExpiresAt"], r"Z$")
        self.assertTrue(self.engine_.cached("modern"))  # fetched before the page heard "done"

    def test_denied_and_expired_end_with_a_message(self):
        self.start()
        poll = self.spawned.pop()
        self.fake.deny(next(iter(self.fake.devices.values()))["user_code"])
        poll()
        self.assertEqual(self.doc(self.call("GET", "/sso/device?profile=modern"))["message"],
                         "the sign-in was denied in the browser")
        self.fake.device_lifetime = 4
        self.start()
        self.spawned.pop()()
        view = self.doc(self.call("GET", "/sso/device?profile=modern"))
        self.assertEqual(view["status"], "error")
        self.assertIn("expired", view["message"])

    def test_the_services_expired_token_ends_the_poll(self):
        self.start()
        poll = self.spawned.pop()
        next(iter(self.fake.devices.values()))["expires"] = self.clock.monotonic()  # expired on its side
        poll()
        view = self.doc(self.call("GET", "/sso/device?profile=modern"))
        self.assertEqual((view["status"], len(self.fake.calls("/token"))), ("error", 1))
        self.assertIn("expired", view["message"])

    def test_legacy_device_sign_in_and_registration_reuse(self):
        self.start("legacy")
        device = next(iter(self.fake.devices.values()))
        self.fake.approve(device["user_code"])
        self.spawned.pop()()
        written, _ = self.token_file(START)
        self.assertEqual(set(written), {"startUrl", "region", "accessToken", "expiresAt"})
        self.assertNotIn("scopes", json.loads(self.fake.calls("/client/register")[0]["body"]))
        registrations = [name for name in os.listdir(self.cache) if name != sha1(START) + ".json"]
        self.assertEqual(len(registrations), 1)
        os.unlink(os.path.join(self.cache, sha1(START) + ".json"))
        self.start("legacy")
        self.assertEqual(len(self.fake.calls("/client/register")), 1)  # reused from the cache

    def test_expired_registration_registers_again(self):
        self.start()
        path = [os.path.join(self.cache, n) for n in os.listdir(self.cache)][0]
        with open(path) as handle:
            doc = json.load(handle)
        t.write(path, json.dumps(dict(doc, expiresAt=self.z(60))))
        self.sso.sign_ins.devices.clear()
        self.start()
        self.assertEqual(len(self.fake.calls("/client/register")), 2)
        self.fake.clients.clear()  # revoked: StartDeviceAuthorization says InvalidClientException
        self.sso.sign_ins.devices.clear()
        self.start()
        self.assertEqual(len(self.fake.calls("/client/register")), 3)

    def test_headless_terminal_shows_code_and_waits(self):
        import io
        out = io.StringIO()
        self.sso.sign_ins.spawn = lambda function: (self.fake.approve(next(iter(self.fake.devices.values()))["user_code"]),
                                           function())
        creds = rm.first_fetch(self.engine_, "modern", io.StringIO(), out, headless=True)
        self.assertIn("enter the code", out.getvalue())
        self.assertIn(next(iter(self.fake.devices.values()))["user_code"], out.getvalue())
        self.assertTrue(creds.access_key_id)


class SSOPkceTests(SSOCase):
    def follow(self, url):
        """The browser at the fake's authorize page: its redirect target."""
        opener = urllib.request.build_opener(NoRedirect)
        try:
            opener.open(url, timeout=5)
        except urllib.error.HTTPError as exc:
            return exc.headers["Location"]
        raise AssertionError("no redirect")

    def start(self, profile):
        """The page's button: POST /sso/login; the authorize URL and this browser's cookie."""
        response = self.call("POST", "/sso/login?profile=" + profile)
        self.assertEqual(response.status, 200, response.body)
        return json.loads(response.body)["url"], {"Cookie": dict(response.headers)["Set-Cookie"].split(";")[0]}

    def test_pkce_sign_in_through_the_callback(self):
        response = self.call("GET", "/sso/login?profile=onsso")  # a link: the page, nothing started
        self.assertEqual((response.status, dict(response.headers)["Location"]), (302, "/"))
        self.assertEqual(self.fake.calls("/client/register"), [])
        location, mine = self.start("onsso")
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        self.assertEqual(query["redirect_uri"], "http://127.0.0.1:9999/oauth/callback")
        self.assertEqual(query["scopes"], "sso:account:access")
        register = json.loads(self.fake.calls("/client/register")[0]["body"])
        self.assertEqual(register["grantTypes"], ["authorization_code", "refresh_token"])
        self.assertEqual(register["redirectUris"], ["http://127.0.0.1/oauth/callback"])
        back = self.follow(location)
        target = back[len("http://127.0.0.1:9999"):]
        self.assert_ignored(target.replace("state=", "state=x"), mine)
        self.assert_ignored(target, {})  # another browser cannot use this code
        done = self.call("GET", target, mine)
        self.assertEqual((done.status, dict(done.headers)["Location"]), (302, "/#signin-result"))
        self.assertEqual(self.doc(self.call("GET", "/signin-result", mine)), {"signed_in": "onsso"})
        written, _ = self.token_file("corp")
        self.assertTrue(written["refreshToken"])
        self.assertTrue(self.engine_.cached("onsso"))
        self.assert_ignored(target, mine)  # a state is used once

    def assert_ignored(self, target, headers):
        tokens = len(self.fake.calls("/token"))
        response = self.call("GET", target, headers)
        self.assertEqual((response.status, dict(response.headers)["Location"]), (302, "/"))
        self.assertEqual(self.doc(self.call("GET", "/signin-result", headers)), {})
        self.assertEqual(len(self.fake.calls("/token")), tokens)

    def test_refused_sign_in_and_legacy_profiles(self):
        self.fake.deny_authorize = True
        location, mine = self.start("modern")
        back = self.follow(location)
        response = self.call("GET", back[len("http://127.0.0.1:9999"):], mine)
        self.assertEqual(dict(response.headers)["Location"], "/#signin-result")
        self.assertIn("IAM Identity Center refused the sign-in: access_denied",
                      self.doc(self.call("GET", "/signin-result", mine))["error"])
        self.assertEqual(self.call("POST", "/sso/login?profile=legacy").status, 400)
        self.assertEqual(self.call("POST", "/sso/login?profile=onproc").status, 400)


class SSORoleListTests(SSOCase):
    def test_every_account_and_role_listed_and_served(self):
        self.cli_token("corp")
        self.fake.page_cap = 1
        roles = self.doc(self.call("GET", "/sso/roles?profile=modern"))
        self.assertEqual([r["name"] for r in roles], ["sso:corp:111122223333:ReadOnly", "sso:corp:111122223333:Admin",
                                                      "sso:corp:444455556666:ReadOnly"])
        self.assertEqual(roles[2]["accountName"], "prod")
        listed = len(self.fake.requests)
        self.doc(self.call("GET", "/sso/roles?profile=modern"))
        self.assertEqual(len(self.fake.requests), listed)  # cached for the run
        self.doc(self.call("POST", "/profile", {}, "sso:corp:444455556666:ReadOnly"))
        creds = self.call("GET", "/credentials")
        self.assertEqual(json.loads(creds.body)["AccountId"], "444455556666")
        self.assertEqual(self.call("GET", "/credentials/sso:corp:111122223333:Admin").status, 200)
        status = self.doc(self.call("GET", "/status"))
        self.assertEqual(status["sso"]["session"], "corp")
        self.assertTrue(status["sso"]["signed_in"])

    def many_accounts(self, count):
        self.fake.assignments = {"%012d" % (100000000000 + n): {"name": "acct-%03d" % n, "roles": ["Admin", "ReadOnly"]}
                                 for n in range(count)}

    def discovery_calls(self):
        return len(self.fake.calls("/assignment/roles")) + len(self.fake.calls("/assignment/accounts"))

    def test_discovery_in_parallel_and_kept_on_disk(self):
        self.cli_token("corp", lifetime=7200, refresh=True)
        self.many_accounts(40)
        self.fake.latency = 0.05
        base = self.config().profile("modern")
        roles = self.sso.roles.list_roles(base)
        self.assertEqual(len(roles), 80)
        self.assertGreaterEqual(self.fake.most_in_flight, 5)  # ListAccountRoles for several accounts at once
        self.assertEqual(self.sso.roles.discovery_view(base)["accounts_done"], 40)
        folder = os.path.join(self.home, ".aws", "runas-meta")
        (name,) = os.listdir(folder)  # one file, no temporary left
        self.assertEqual(stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode), 0o600)
        calls = self.discovery_calls()
        self.make()  # a restart: the list is there at once, with no portal call
        restarted = self.sso.roles.list_roles(self.config().profile("modern"), wait=False)
        self.assertEqual(restarted, roles)
        self.assertEqual(self.discovery_calls(), calls)
        with open(os.path.join(folder, name), "w") as handle:  # a corrupt file is found anew, never a crash
            handle.write("{not json")
        self.make()
        self.assertEqual(len(self.sso.roles.list_roles(self.config().profile("modern"))), 80)
        self.assertGreater(self.discovery_calls(), calls)
        self.sso.roles.forget_roles(base)  # what a sign-in (perhaps as another user) does
        self.assertEqual(os.listdir(folder), [])
        self.assertEqual(self.sso.roles.discovery_view(base), None)

    def test_a_throttled_portal_slows_the_list_but_never_fails_it(self):
        self.cli_token("corp", lifetime=7200, refresh=True)
        self.many_accounts(30)
        self.fake.rate = 12  # calls a second; more answer 429 with Retry-After: 1
        roles = self.sso.roles.list_roles(self.config().profile("modern"))
        self.assertEqual(len(roles), 60)
        self.assertEqual(self.sso.roles.discovery_view(self.config().profile("modern"))["state"], "done")
        self.assertGreater(len(self.fake.calls("/assignment/roles")), 30)  # some were refused, and asked again

    def test_the_page_sees_progress_and_can_refresh(self):
        self.cli_token("corp", lifetime=7200, refresh=True)
        self.service.activate("modern")
        self.assertEqual(len(self.doc(self.call("GET", "/sso/roles?profile=modern"))), 3)
        discovery = self.doc(self.call("GET", "/status"))["sso"]["discovery"]
        self.assertEqual((discovery["state"], discovery["accounts_done"], discovery["accounts_total"]), ("done", 2, 2))
        before = self.discovery_calls()
        self.assertEqual(self.doc(self.call("POST", "/sso/roles/refresh?profile=modern"))["state"], "running")
        self.sso.roles.list_roles(self.config().profile("modern"))  # wait for it
        self.assertGreater(self.discovery_calls(), before)

    def test_a_sign_in_as_another_user_replaces_the_list(self):
        self.cli_token("corp", lifetime=7200, refresh=True)
        self.many_accounts(3)
        first = [r["name"] for r in self.doc(self.call("GET", "/sso/roles?profile=modern"))]
        self.assertEqual(len(first), 6)
        folder = os.path.join(self.home, ".aws", "runas-meta")
        self.assertEqual(len(os.listdir(folder)), 1)
        self.fake.assignments = {"999988887777": {"name": "other-user", "roles": ["Auditor"]}}  # what they may use
        device = self.doc(self.call("POST", "/sso/device", {}, "profile=modern"))  # the page's device sign-in
        self.fake.approve(device["user_code"])
        self.spawned.pop()()
        self.assertEqual(self.doc(self.call("GET", "/sso/device?profile=modern"))["status"], "done")
        self.assertEqual(os.listdir(folder), [])  # the old user's list is gone at once, not shown meanwhile
        again = [r["name"] for r in self.doc(self.call("GET", "/sso/roles?profile=modern"))]
        self.assertEqual(again, ["sso:corp:999988887777:Auditor"])
        with open(os.path.join(folder, os.listdir(folder)[0])) as handle:
            self.assertEqual([r["name"] for r in json.load(handle)["roles"]], again)

    def test_role_list_needs_a_sign_in(self):
        self.assert_sso_dialog(self.call("GET", "/sso/roles?profile=modern"))


class CredentialProcessTests(SSOCase):
    def runs(self, mode):
        try:
            with open(os.path.join(self.home, "runs-" + mode)) as handle:
                return len(handle.read())
        except FileNotFoundError:
            return 0

    def use(self, mode, *extra):
        command = '"%s" "%s" %s' % (sys.executable, self.script, " ".join((mode,) + extra))
        self.files("[profile p]\ncredential_process = %s\n[profile r]\nrole_arn = %s\nsource_profile = p\n"
                   % (command, t.ROLE), t.STANDARD_CREDENTIALS)

    def test_expiration_honoured_and_renewed_ahead(self):
        creds = self.engine_.credentials("proc")
        self.assertEqual((creds.access_key_id, creds.session_token), ("ASIAPROC", "procToken"))
        self.assertEqual(rm.format_time(creds.expiration), "2026-11-27T14:00:00Z")
        self.engine_.credentials("proc")
        self.assertEqual(self.runs("ok"), 1)
        self.clock.advance(2 * 3600 - 30 * 60)
        self.engine_.credentials("proc")
        self.run_background()
        self.assertEqual(self.runs("ok"), 2)

    def test_static_keys_run_once(self):
        first = self.engine_.credentials("static-proc")
        self.clock.advance(2 * 3600)
        again = self.engine_.credentials("static-proc")
        self.assertEqual(self.runs("static"), 1)
        self.assertEqual(again.access_key_id, first.access_key_id)
        self.assertGreater(again.remaining(self.clock()), 30 * 60)

    def test_role_on_a_process_profile(self):
        self.engine_.credentials("onproc")
        call = [c for c in self.sts_server.calls if c["Action"] == "AssumeRole"][0]
        self.assertEqual((call["_token"], call["RoleSessionName"]), ("procToken", "onproc"))

    def test_failures_are_clear_and_carry_no_output(self):
        cases = [("fail", 502, "exited with status 1"), ("garbage", 502, "not JSON"),
                 ("noversion", 502, 'no "Version": 1'), ("nosecret", 502, "printed no SecretAccessKey"),
                 ("hang", 502, "did not finish within 1 seconds")]
        for mode, status, text in cases:
            with self.subTest(mode):
                self.use(mode)
                self.make(process_timeout=1)
                for name in ("p", "r"):
                    response = self.call("GET", "/credentials/" + name)
                    self.assertEqual(response.status, status, response.body)
                    self.assertIn(text, json.loads(response.body)["Message"])
                    self.assertIn("profile 'p'", json.loads(response.body)["Message"])

    def test_unbalanced_quotes_and_missing_program(self):
        self.files('[profile p]\ncredential_process = "unbalanced\n[profile q]\ncredential_process = '
                   '/nonexistent/runas-meta-helper --x\n')
        self.make()
        self.assertIn("cannot be split", json.loads(self.call("GET", "/credentials/p").body)["Message"])
        response = self.call("GET", "/credentials/q")
        self.assertEqual(response.status, 502)
        self.assertIn("could not start runas-meta-helper", json.loads(response.body)["Message"])

    def test_splitting_like_botocore(self):
        self.assertEqual(rm.shell_split('"/path with space/tool" --profile "a b" c\\ d'),
                         ["/path with space/tool", "--profile", "a b", "c d"])


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args):
        return None
