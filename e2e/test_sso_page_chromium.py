"""IAM Identity Center on the page, in real headless Chromium: sign-in with
PKCE (the fake's authorize page sends the browser back to the service's
callback), sign-in with a device code (the page shows the code, the user
approves it on the fake's verification page), and the list of every account
and role: choosing a discovered role serves it, and botocore gets its
credentials.  Screenshots go to ci-artifacts/screenshots/."""


from e2e.test_clients import botocore_credentials
from e2e.test_page_chromium import BrowserClass, sync_api
from e2e.test_sso_clients import ASSUMED, SSOClientCase

import runas_meta as rm
import test_runas_meta as t


class SSOPageInChromium(BrowserClass, SSOClientCase):

    def setUp(self):
        super().setUp()
        config = rm.Config(environ=self.environ, check_interval=0).load()
        self.engine = rm.Engine(config, rm.STS(self.environ, timeout=5), environ=self.environ)
        self.service = rm.Service(self.engine, config)
        self.server = t.serve(self, self.service)
        self.url = self.service.base_url
        self.new_page(760)

    def served(self, path="/credentials"):
        return botocore_credentials(self.client_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.url + path))[1]

    def test_pkce_sign_in_then_every_role_of_the_session(self):
        self.page.goto(self.url + "/")
        self.page.select_option("#role", "onsso")
        self.expect("#sso-dialog").to_be_visible()
        self.expect("#sso-start").to_contain_text(START_TEXT)
        self.shot("20-sso-dialog")
        self.page.click("#sso-link")  # to the fake's authorize page, back through /oauth/callback
        self.page.wait_for_url(self.url + "/")  # the outcome's fragment is read and cleared
        self.expect("#identity").to_contain_text(ASSUMED % ("dev", "chained"), timeout=15000)
        self.expect("#signed-in").to_have_text("Signed in as %s." % self.page.text_content("#identity"))
        self.assertEqual(self.page.text_content("#error"), "")
        self.assertTrue(self.identity(self.served()).startswith(ASSUMED % ("dev", "chained")))
        self.assertTrue(self.read_token("corp")["refreshToken"])
        self.assertEqual(len(self.fake.calls("/authorize")), 1)

        self.expect("#sso-box").to_be_visible(timeout=10000)
        self.expect("#sso-role option").to_have_count(4)
        self.shot("21-sso-roles")
        self.page.select_option("#sso-role", label="prod (444455556666) \u2013 ReadOnly")
        self.expect("#active").to_have_text("sso:corp:444455556666:ReadOnly", timeout=10000)
        creds = self.served()
        self.assertEqual(creds.access_key, self.fake.issued_keys[-1])
        call = self.fake.calls("/federation/credentials")[-1]
        self.assertEqual(call["query"], {"role_name": "ReadOnly", "account_id": "444455556666"})
        self.shot("22-sso-discovered-role")

    def test_device_code_sign_in(self):
        self.service.activate("legacy")
        with self.assertRaises(rm.SSOLoginRequired):
            self.engine.credentials("legacy")  # as at start-up: the page will ask
        self.page.goto(self.url + "/")
        self.expect("#auth-soon").to_be_visible()
        self.expect("#auth-soon-text").to_have_text("Sign in to get these credentials.")  # the first sign-in
        self.page.click("#auth-soon-button")
        self.expect("#sso-dialog").to_be_visible()
        self.expect("#sso-link").to_be_hidden()  # the legacy form: device code only, as the CLI
        self.page.click("#sso-device-button")
        self.expect("#sso-code").to_have_text(rm.re.compile(r"^[0-9A-F]{4}-[0-9A-F]{4}$"))
        self.shot("23-sso-device-code")
        code = self.page.text_content("#sso-code")
        approval = self.context.new_page()
        approval.goto(self.page.get_attribute("#sso-verify", "href"))
        sync_api.expect(approval.locator("#code")).to_have_text(code)
        approval.click("text=Approve")
        sync_api.expect(approval.locator("#result")).to_have_text("Request approved")
        self.expect("#sso-dialog").to_be_hidden(timeout=20000)
        self.expect("#expires").not_to_have_text("\u2014", timeout=10000)
        self.assertEqual(self.served().access_key, self.fake.issued_keys[-1])
        self.shot("24-sso-device-done")

    def test_refused_and_stale_sign_ins_end_on_the_page(self):
        self.fake.deny_authorize = True  # the user pressed Cancel at IAM Identity Center
        self.page.goto(self.url + "/")
        self.page.select_option("#role", "onsso")
        self.expect("#sso-dialog").to_be_visible()
        self.page.click("#sso-link")
        self.page.wait_for_url(self.url + "/")
        self.expect("#error").to_have_text(
            "Sign-in failed: IAM Identity Center refused the sign-in: access_denied")
        self.shot("25-sso-sign-in-refused")
        # an old tab, a replayed link, another site's link with its own words: the page shows none of it
        for link in ("/oidc/callback?state=stale&code=x",
                     "/oauth/callback?state=stale&error=x&error_description=Re-enter+your+password+at+https://evil",
                     "/#signin-error=Re-enter%20your%20password%20at%20https://evil",
                     "/#console-error=Re-enter%20your%20password%20at%20https://evil"):
            self.page.goto("about:blank")  # a fresh load each time (a fragment alone would not reload)
            self.page.goto(self.url + link)
            self.page.wait_for_url(self.url + "/")
            self.expect("#active").to_have_text("onsso")  # the page has loaded its status
            self.expect("#error").to_be_empty()
            self.expect("#signed-in").to_be_hidden()
        self.shot("25b-foreign-callback-ignored")

    def test_denied_device_sign_in_says_so(self):
        self.service.activate("modern")
        self.page.goto(self.url + "/")
        self.page.evaluate("1")  # the page is up
        self.page.select_option("#role", "onsso")
        self.expect("#sso-dialog").to_be_visible()
        self.page.click("#sso-device-button")
        self.expect("#sso-code").not_to_be_empty()
        self.assertTrue(self.fake.deny(self.page.text_content("#sso-code")))
        self.expect("#sso-message").to_have_text("the sign-in was denied in the browser", timeout=20000)


START_TEXT = "d-1234567890.awsapps.com"
