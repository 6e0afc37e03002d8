"""IAM Identity Center on the page, in real headless Chromium: sign-in with
PKCE (the fake's authorize page sends the browser back to the service's
callback), sign-in with a device code (the page shows the code, the user
approves it on the fake's verification page), and the list of every account
and role: choosing a discovered role serves it, and botocore gets its
credentials.  Screenshots go to ci-artifacts/screenshots/."""

import re

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
        self.expect(SSO_OPTIONS).to_have_count(3, timeout=10000)
        self.shot("21-sso-roles")
        self.page.fill("#find", "prod read")  # every word must match
        self.expect("#find-count").to_have_text("1 match")
        self.page.press("#find", "Enter")
        self.expect("#signed-in").to_be_hidden()  # "Signed in as" was the last profile's
        self.expect("#active").to_have_text("sso:corp:444455556666:ReadOnly", timeout=10000)
        self.expect("#role-arn").to_have_text("IAM Identity Center role ReadOnly in account 444455556666")
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
        tops = [self.page.locator(button).bounding_box()["y"] for button in ("#sso-cancel", "#sso-device-button",
                                                                           "#sso-link")]
        self.assertEqual(len(set(tops)), 1, tops)  # the main button on the buttons' line, not on one of its own
        url = self.page.locator("#sso-start .url")
        self.assertEqual(url.text_content(), "https://d-1234567890.awsapps.com/start")
        self.assertLess(url.bounding_box()["height"], 30)  # one line: no break after "d-"
        self.shot("23b-sso-dialog")
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
            self.expect("#switching").to_have_text(re.compile("until onsso has credentials"))  # status loaded
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


    def test_six_hundred_roles_searched_and_chosen_by_keyboard(self):
        """300 accounts of 2 roles: the progress line moves while the list
        is found, the search narrows it, the arrow keys and Enter serve one,
        and it comes first (recently used) on the next visit."""
        accounts = {"%012d" % (100000000000 + n): {"name": "team-%03d-%s" % (n, ("dev", "prod")[n % 2]),
                                                    "roles": ["Admin", "ReadOnly"]} for n in range(300)}
        accounts["111122223333"] = {"name": "dev", "roles": ["ReadOnly", "Admin"]}  # modern's own
        self.fake.assignments = accounts
        self.fake.roles_gate, self.fake.roles_free = rm.threading.Event(), 120
        self.addCleanup(self.fake.roles_gate.set)
        self.cli_token("corp")
        self.service.activate("modern")
        self.page.goto(self.url + "/")
        self.expect("#role").to_have_value("modern")  # an SSO profile, served directly, shown selected
        self.expect("#sso-progress").to_have_text("Finding roles: 120 of 301 accounts", timeout=15000)
        self.expect(SSO_OPTIONS).to_have_count(240, timeout=10000)  # roles reach the page as they arrive
        self.shot("40-sso-discovery-progress")
        self.fake.roles_gate.set()
        self.expect("#sso-progress").to_have_text("", timeout=20000)
        self.expect(SSO_OPTIONS).to_have_count(602, timeout=10000)
        self.page.focus("#find")
        self.page.keyboard.type("team-123")
        self.expect("#find-count").to_have_text("2 matches")
        self.expect("#role option:not([hidden])").to_have_text(
            ["team-123-prod (100000000123) \u2013 Admin", "team-123-prod (100000000123) \u2013 ReadOnly"])
        self.shot("41-sso-search")
        self.page.keyboard.press("ArrowDown")
        self.assertEqual(self.service.active, "modern")  # moving through the list serves nothing yet
        self.page.keyboard.press("Enter")
        self.expect("#active").to_have_text("sso:corp:100000000123:ReadOnly", timeout=10000)
        self.expect("#role").to_have_value("sso:corp:100000000123:ReadOnly")
        self.assertEqual(self.served().access_key, self.fake.issued_keys[-1])
        self.assertEqual(self.fake.calls("/federation/credentials")[-1]["query"],
                         {"role_name": "ReadOnly", "account_id": "100000000123"})
        self.page.reload()
        self.expect("#role optgroup >> nth=0").to_have_attribute("label", "Recently used")
        self.expect("#role optgroup >> nth=0 >> option").to_have_text(["team-123-prod (100000000123) \u2013 ReadOnly"])
        self.shot("42-sso-recent-first")


SSO_OPTIONS = '#role optgroup[label="IAM Identity Center"] option'
START_TEXT = "d-1234567890.awsapps.com"
