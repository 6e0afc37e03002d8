"""Federation against real identity providers run locally by the test:
a SAML IdP built on samlp + express (password form, TOTP step, signed SAML
responses) and npm's oidc-provider (our own login and OTP pages), both
installed from e2e/idp's lock file.  A SAML user and an OIDC user sign in
through the page in headless Chromium and their credentials reach botocore,
with moto's STS behind the service; role selection from a several-role
assertion is checked against our fake STS (moto fails on such assertions)."""

import hashlib
import hmac
import json
import os
import re
import select
import shutil
import struct
import subprocess
import tempfile
import time
import unittest
import urllib.parse
import urllib.request
import io

from e2e._peers import FULL, MotoSTS, empty_file, need
from e2e.test_clients import botocore_credentials
from e2e.test_page_chromium import SHOTS, start_browser

import runas_meta as rm
import test_runas_meta as t

sync_api = need("playwright.sync_api")
IDP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "idp")
NODE = shutil.which("node")
if NODE is None or not os.path.isdir(os.path.join(IDP_DIR, "node_modules", "samlp")):
    message = "the test identity providers need node and `npm ci --prefix e2e/idp`"
    if FULL:
        raise AssertionError(message)
    raise unittest.SkipTest(message)

ACCOUNT = t.ACCOUNT
PRINCIPAL = "arn:aws:iam::%s:saml-provider/test-idp" % ACCOUNT
SAML_ROLE = "arn:aws:iam::%s:role/saml-dev" % ACCOUNT
OTHER_ROLE = "arn:aws:iam::%s:role/saml-admin" % ACCOUNT
WEB_ROLE = "arn:aws:iam::%s:role/web-dev" % ACCOUNT
TOTP_SECRET = "runas-meta-test-totp-secret"
USERS = {
    "alice": {"password": "alice-idp-password", "totp": TOTP_SECRET, "roles": ["%s,%s" % (SAML_ROLE, PRINCIPAL)]},
    "bob": {"password": "bob-idp-password", "totp": "",
            "roles": ["%s,%s" % (PRINCIPAL, SAML_ROLE), "%s,%s" % (OTHER_ROLE, PRINCIPAL)]},
}


ID_TOKEN_TTL = 60
assert ID_TOKEN_TTL < rm.TOKEN_MARGIN


def totp_now(secret=TOTP_SECRET):
    """RFC 6238 (HMAC-SHA1, 30 s, 6 digits), as the IdPs check it."""
    mac = hmac.new(secret.encode(), struct.pack(">Q", int(time.time()) // 30), hashlib.sha1).digest()
    offset = mac[-1] & 15
    return "%06d" % ((struct.unpack(">I", mac[offset:offset + 4])[0] & 0x7FFFFFFF) % 1000000)


class NodeIdP:
    """`node SCRIPT` on 127.0.0.1; reads {"port": N} from its first line."""

    def __init__(self, script, env):
        self.proc = subprocess.Popen([NODE, os.path.join(IDP_DIR, script)], cwd=IDP_DIR,
                                     env=dict(os.environ, **env), stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL, text=True)
        ready, _, _ = select.select([self.proc.stdout], [], [], 60)  # a hang fails, with its name
        line = self.proc.stdout.readline() if ready else ""
        if not line:
            self.stop()
            raise AssertionError("%s did not start" % script)
        self.url = "http://127.0.0.1:%d" % json.loads(line)["port"]

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.proc.stdout.close()


class RealIdPs(t.TempHome):
    @classmethod
    def setUpClass(cls):
        cls.folder = tempfile.mkdtemp(prefix="runas-meta-idp-")
        cert, key = os.path.join(cls.folder, "idp.crt"), os.path.join(cls.folder, "idp.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=runas-meta-test-idp", "-keyout", key, "-out", cert],
                       check=True, capture_output=True)
        users = json.dumps(USERS)
        cls.saml = NodeIdP("saml-idp.js", {"IDP_CERT": cert, "IDP_KEY": key, "IDP_USERS": users})
        # id_tokens shorter than runas-meta's reuse margin: every renewal needs a new one
        cls.oidc = NodeIdP("oidc-idp.mjs", {"IDP_USERS": users, "IDP_ID_TOKEN_TTL": str(ID_TOKEN_TTL)})
        cls.moto = MotoSTS()
        cls.playwright, cls.browser = start_browser()

    @classmethod
    def tearDownClass(cls):
        cls.browser.close()
        cls.playwright.stop()
        cls.saml.stop()
        cls.oidc.stop()
        cls.moto.stop()
        shutil.rmtree(cls.folder, ignore_errors=True)

    def setUp(self):
        super().setUp()
        saml_url = self.saml.url + "/realms/test/protocol/saml/clients/aws"
        self.files("""\
[profile saml-one]
saml_auth_url = {saml}
saml_provider = keycloak
saml_username = alice
role_arn = {saml_role}
region = us-east-1

[profile saml-multi]
saml_auth_url = {saml}
saml_provider = keycloak
saml_username = bob
role_arn = {other_role}

[profile saml-ungranted]
saml_auth_url = {saml}
saml_provider = keycloak
saml_username = bob
role_arn = arn:aws:iam::{account}:role/not-granted

[profile oidc-browser]
web_identity_auth_url = {oidc}
web_identity_provider = browser
web_identity_client_id = aws-cli
web_identity_redirect_uri = http://127.0.0.1/oidc/callback
role_arn = {web_role}
role_session_name = alice-web
region = us-east-1
""".format(saml=saml_url, saml_role=SAML_ROLE, other_role=OTHER_ROLE, account=ACCOUNT, oidc=self.oidc.url,
           web_role=WEB_ROLE))
        self.log = io.StringIO()
        rm.configure_logging(True, self.log)  # the highest verbosity, scanned for secrets below
        self.addCleanup(t.quiet_logs)

    def start_service(self, sts_url):
        self.environ["AWS_ENDPOINT_URL_STS"] = sts_url
        config = self.config()
        self.service = rm.Service(rm.Engine(config, rm.STS(self.environ, timeout=10), environ=self.environ), config)
        t.serve(self, self.service)
        return self.service.base_url

    def open_page(self, url):
        context = self.browser.new_context(viewport={"width": 900, "height": 700})
        self.addCleanup(context.close)
        page = context.new_page()
        page.goto(url + "/")
        sync_api.expect(page.locator("#role option")).to_have_count(len(self.service.config.roles()) + 1)
        return page

    def assert_no_secrets(self, *extra):
        text = self.log.getvalue()
        self.assertIn("new credentials", text)
        for secret in [USERS["alice"]["password"], USERS["bob"]["password"], TOTP_SECRET] + list(extra):
            self.assertNotIn(secret, text)

    def botocore_identity(self, url):
        method, creds = botocore_credentials({"AWS_CONTAINER_CREDENTIALS_FULL_URI": url + "/credentials",
                                              "AWS_CONFIG_FILE": empty_file(self),
                                              "AWS_SHARED_CREDENTIALS_FILE": empty_file(self)})
        self.assertEqual(method, "container-role")
        return self.moto.identity(creds.access_key, creds.secret_key, creds.token)["Arn"]

    def test_saml_user_signs_in_through_the_page(self):
        url = self.start_service(self.moto.url)
        page = self.open_page(url)
        page.select_option("#role", "saml-one")
        page.wait_for_selector("#auth-dialog[open]")
        sync_api.expect(page.locator("#auth-username")).to_have_value("alice")
        self.assertEqual(page.evaluate("document.activeElement.id"), "auth-password")
        page.fill("#auth-password", "not-the-password")
        page.keyboard.press("Enter")
        sync_api.expect(page.locator("#auth-message")).to_contain_text("Invalid username or password", timeout=15000)
        page.screenshot(path=os.path.join(SHOTS, "10-saml-wrong-password.png"))
        page.fill("#auth-password", USERS["alice"]["password"])
        page.keyboard.press("Enter")
        page.wait_for_selector("#mfa-dialog[open]", timeout=15000)
        page.screenshot(path=os.path.join(SHOTS, "11-saml-otp.png"))
        code = totp_now()
        page.fill("#mfa-code", code)
        page.keyboard.press("Enter")
        page.wait_for_selector("#mfa-dialog", state="hidden", timeout=15000)
        sync_api.expect(page.locator("#identity")).to_contain_text("assumed-role/saml-dev/alice", timeout=15000)
        page.screenshot(path=os.path.join(SHOTS, "12-saml-signed-in.png"))
        self.assertEqual(self.botocore_identity(url), "arn:aws:sts::%s:assumed-role/saml-dev/alice" % ACCOUNT)
        assertion = self.service.engine.federation.clients[self.service.config.federated("saml-one").saml_auth_url].assertion
        self.assertIn(b"SignatureValue", rm.base64.b64decode(assertion.raw))  # samlp signed it
        self.assert_no_secrets(code, assertion.raw[:60])

    def test_oidc_renews_silently_until_the_refresh_token_is_revoked(self):
        url = self.start_service(self.moto.url)
        page = self.open_page(url)
        self.oidc_sign_in(page, url)
        client = self.service.engine.federation.clients[self.oidc.url]
        id_tokens, refresh_tokens = [client.tokens["aws-cli"]], [client.refresh_tokens["aws-cli"]]
        served = [self.service.engine.cached("oidc-browser").access_key_id]
        sync_api.expect(page.locator("#next-prompt")).to_contain_text("renewed without asking", timeout=10000)
        engine = self.service.engine
        for _ in range(3):  # background renewals, as the renewal thread runs them: nobody is asked
            engine._renew(engine.plan("oidc-browser")[-1])  # each needs a new id_token (they live 60 s)
            id_tokens.append(client.tokens["aws-cli"])
            refresh_tokens.append(client.refresh_tokens["aws-cli"])
            served.append(engine.cached("oidc-browser").access_key_id)
        self.assertIsNone(engine.status("oidc-browser")["auth_needed"])
        self.assertFalse(page.is_visible("#auth-soon"))
        # a refresh grant each time: oidc-provider rotates the refresh token on every use (the
        # id_tokens can be byte-identical when issued within the same second)
        self.assertEqual(len(set(refresh_tokens)), 4)
        self.assertEqual(len(set(served)), 4)  # and the role was assumed anew with each
        self.assertEqual(self.botocore_identity(url), "arn:aws:sts::%s:assumed-role/web-dev/alice-web" % ACCOUNT)
        revoke = urllib.request.Request(self.oidc.url + "/token/revocation", data=urllib.parse.urlencode(
            {"token": refresh_tokens[-1], "client_id": "aws-cli"}).encode())
        with urllib.request.urlopen(revoke, timeout=10) as answer:
            self.assertEqual(answer.status, 200)
        engine._renew(engine.plan("oidc-browser")[-1])  # the IdP refuses the revoked token: now the page asks
        self.assertEqual(engine.status("oidc-browser")["auth_needed"]["type"], "BROWSER")
        sync_api.expect(page.locator("#auth-soon")).to_be_visible(timeout=10000)
        sync_api.expect(page.locator("#auth-soon-text")).to_contain_text("sign in again")
        page.click("#auth-soon-button")
        page.wait_for_selector("#browser-dialog[open]", timeout=10000)
        page.screenshot(path=os.path.join(SHOTS, "28-oidc-refresh-revoked.png"))
        self.assertNotIn("aws-cli", client.refresh_tokens and {k for k, v in client.refresh_tokens.items() if v})
        self.assert_no_secrets(*[token[-24:] for token in refresh_tokens + id_tokens])

    def test_oidc_user_signs_in_through_the_browser(self):
        url = self.start_service(self.moto.url)
        page = self.open_page(url)
        self.oidc_sign_in(page, url)
        page.screenshot(path=os.path.join(SHOTS, "14-oidc-signed-in.png"))
        self.assertEqual(self.botocore_identity(url), "arn:aws:sts::%s:assumed-role/web-dev/alice-web" % ACCOUNT)
        client = self.service.engine.federation.clients[self.oidc.url]
        token = client.tokens["aws-cli"]
        self.assertEqual(len(token.split(".")), 3)  # a real signed JWT from oidc-provider
        self.assert_no_secrets(token[:60], token[-40:])

    def oidc_sign_in(self, page, url):
        page.select_option("#role", "oidc-browser")
        page.wait_for_selector("#browser-dialog[open]")
        page.click("#browser-link")
        page.wait_for_url(re.compile(re.escape(self.oidc.url) + "/interaction/"))
        page.fill("#username", "alice")
        page.fill("#password", USERS["alice"]["password"])
        page.screenshot(path=os.path.join(SHOTS, "13-oidc-idp-login.png"))
        page.click("#submit")
        page.wait_for_selector("#otp")
        page.fill("#otp", totp_now())
        page.click("#submit")
        page.wait_for_url(url + "/", timeout=15000)  # back from /oidc/callback
        sync_api.expect(page.locator("#identity")).to_contain_text("assumed-role/web-dev/alice-web", timeout=15000)

    def test_several_roles_pick_the_configured_one(self):
        fake = t.FakeSTS()
        self.addCleanup(fake.close)
        url = self.start_service(fake.url)
        self.service.activate("saml-multi")
        request = rm.Request("POST", "/auth", [("Host", url[len("http://"):])],
                             b"username=bob&password=" + USERS["bob"]["password"].encode())
        response = self.service.handle(request)
        self.assertEqual(response.status, 200, response.body)
        call = fake.calls[-1]
        self.assertEqual((call["Action"], call["RoleArn"], call["PrincipalArn"]),
                         ("AssumeRoleWithSAML", OTHER_ROLE, PRINCIPAL))
        self.service.activate("saml-ungranted")
        response = self.service.handle(rm.Request("POST", "/refresh", [("Host", url[len("http://"):])]))
        doc = json.loads(response.body)
        self.assertEqual((response.status, doc["Code"]), (403, "RoleNotGranted"))
        self.assertIn(SAML_ROLE, doc["Message"])
        self.assertIn(OTHER_ROLE, doc["Message"])
        self.assert_no_secrets()


if __name__ == "__main__":
    unittest.main()
