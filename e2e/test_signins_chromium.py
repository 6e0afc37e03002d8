"""aws login and Okta Identity Engine on the page, in real headless
Chromium: the sign-in dialog, the browser sign-in through the fakes'
authorize endpoints back to the service's callbacks, aws login's
cross-device code pasted into the page, Okta's device code approved on the
fake's activation page; each time botocore then gets the credentials from
the service.  Screenshots go to ci-artifacts/screenshots/."""

import json
import os

from e2e.fake_okta_oie import FakeOktaOIE
from e2e.fake_signin import FakeSignIn
from e2e.test_clients import botocore_credentials
from e2e.test_page_chromium import BrowserClass, sync_api

import runas_meta as rm
import test_runas_meta as t

CONFIG = """\
[profile awslogin]
login_session = arn:aws:iam::123456789012:user/alice
region = us-east-1

[profile oie]
saml_auth_url = %(app)s
okta_oidc_client_id = 0oaOIDCNATIVE01
role_arn = %(role)s
region = eu-west-1
"""


class SignInsInChromium(BrowserClass, t.FakeSTSCase):
    def setUp(self):
        super().setUp()
        self.sts_server.clock = lambda: rm.utcnow()  # the browser lives in real time
        self.signin = FakeSignIn()
        self.addCleanup(self.signin.close)
        self.okta = FakeOktaOIE(saml=lambda: t.saml_response([t.ROLE]))
        self.addCleanup(self.okta.close)
        self.files(CONFIG % {"app": self.okta.aws_app_url, "role": t.ROLE})
        self.cache = os.path.join(self.home, "login-cache")
        self.environ.update(AWS_ENDPOINT_URL_SIGNIN=self.signin.url, AWS_LOGIN_CACHE_DIRECTORY=self.cache)
        config = self.config()
        self.engine = rm.Engine(config, rm.STS(self.environ, timeout=5), environ=self.environ)
        self.service = rm.Service(self.engine, config)
        self.server = t.serve(self, self.service)
        self.url = self.service.base_url
        self.new_page(760)

    def served(self, name):
        env = {"AWS_CONTAINER_CREDENTIALS_FULL_URI": self.url + "/credentials/" + name,
               "AWS_CONFIG_FILE": os.devnull, "AWS_SHARED_CREDENTIALS_FILE": os.devnull}
        return botocore_credentials(env)[1]

    def open_sign_in(self, name, dialog):
        self.service.activate(name)
        with self.assertRaises(rm.AuthRequired):
            self.engine.credentials(name)  # as at start-up: the page will ask
        self.page.goto(self.url + "/")
        self.page.click("#auth-soon-button")
        self.expect(dialog).to_be_visible()

    def test_aws_login_in_this_browser(self):
        self.open_sign_in("awslogin", "#browser-dialog")
        self.expect("#browser-title").to_have_text("Sign in to AWS (aws login)")
        self.shot("70-aws-login-dialog")
        self.page.click("#browser-link")  # to Sign-In's authorize, back through /oauth/callback
        self.page.wait_for_url(self.url + "/")
        self.expect("#expires").not_to_have_text("\u2014", timeout=15000)
        self.assertEqual(self.page.text_content("#error"), "")
        self.assertEqual(self.served("awslogin").access_key, "ASIALOGIN0000001")
        with open(os.path.join(self.cache, rm.hashlib.sha256(b"arn:aws:iam::123456789012:user/alice")
                               .hexdigest() + ".json")) as handle:
            doc = json.load(handle)  # the AWS CLI's file: the key that made the proofs, the session's token
        self.assertEqual(doc["clientId"], "arn:aws:signin:::devtools/same-device")
        self.assertIn(doc["refreshToken"], self.signin.refresh)
        self.shot("71-aws-login-signed-in")

    def test_aws_login_from_another_device(self):
        self.open_sign_in("awslogin", "#browser-dialog")
        self.page.click("#browser-remote-button")
        self.expect("#browser-remote-step").to_be_visible()
        other = self.context.new_page()  # "another device": it shows the code to paste
        other.goto(self.page.get_attribute("#browser-remote-link", "href"))
        code = other.text_content("#verification-code")
        self.page.fill("#browser-remote-code", code)
        self.shot("72-aws-login-cross-device")
        self.page.click("#browser-remote-submit")
        self.expect("#browser-dialog").to_be_hidden(timeout=15000)
        self.assertEqual(self.served("awslogin").access_key, "ASIALOGIN0000001")
        self.assertEqual(self.signin.calls[-1]["clientId"], "arn:aws:signin:::devtools/cross-device")

    def test_okta_identity_engine_by_device_code(self):
        self.open_sign_in("oie", "#sso-dialog")
        self.expect("#sso-title").to_have_text("Sign in to Okta")
        self.page.click("#sso-device-button")
        self.expect("#sso-code").not_to_be_empty()
        self.shot("73-okta-device-code")
        approval = self.context.new_page()
        approval.goto(self.page.get_attribute("#sso-verify", "href"))
        approval.click("#approve")
        sync_api.expect(approval.locator("#done")).to_have_text("Device activated")
        self.expect("#sso-dialog").to_be_hidden(timeout=20000)
        self.expect("#expires").not_to_have_text("\u2014", timeout=10000)
        self.assertTrue(self.served("oie").access_key.startswith("ASIAFAKE"))

    def test_okta_identity_engine_in_this_browser(self):
        self.open_sign_in("oie", "#sso-dialog")
        self.page.click("#sso-link")  # Okta's authorize (signed in there already), back through /okta/callback
        self.page.wait_for_url(self.url + "/")
        self.expect("#expires").not_to_have_text("\u2014", timeout=15000)
        self.assertEqual(self.page.text_content("#error"), "")
        self.assertTrue(self.served("oie").access_key.startswith("ASIAFAKE"))
        self.assertEqual([path for _, path, _ in self.okta.calls].count("/login/token/sso"), 1)
        self.shot("74-okta-browser-signed-in")
