"""OneLogin, Azure AD and ForgeRock on the page, in real headless Chromium:
per provider one SAML sign-in (the sign-in dialog, a wrong password said in
it, then the MFA dialog for a code) and one OIDC sign-in with a push (the
dialog's waiting state until the phone approves), each ending with the
identity on the page.  Screenshots go to ci-artifacts/screenshots/."""

import re
import time

from e2e import test_more_idps as scenarios
from e2e.test_federation_fakes_botocore import LiveService
from e2e.test_page_chromium import BrowserClass, sync_api


class PageMixin(BrowserClass, LiveService):

    def setUp(self):
        super().setUp()
        self.build(sleep=time.sleep, monotonic=time.monotonic)  # the browser lives in real time
        self.new_page(760)
        self.page.goto(self.service.base_url + "/")
        sync_api.expect(self.page.locator("#role option")).to_have_count(len(self.service.config.roles()) + 1)

    def sign_in_dialog(self, profile, username, password):
        self.page.select_option("#role", profile)
        self.page.wait_for_selector("#auth-dialog[open]")
        self.page.fill("#auth-username", username)
        self.page.fill("#auth-password", password)
        self.page.keyboard.press("Enter")

    def test_saml_with_a_code_on_the_page(self):
        self.sign_in_dialog(self.NAME + "-saml", "coder", "not-the-password")
        self.expect("#auth-message").to_contain_text("refused the username or password", timeout=15000)
        self.page.fill("#auth-password", self.PASSWORD)
        self.page.keyboard.press("Enter")
        self.page.wait_for_selector("#mfa-dialog[open]", timeout=15000)
        self.page.fill("#mfa-code", "999999")
        self.page.keyboard.press("Enter")
        self.expect("#mfa-message").to_contain_text("not accepted", timeout=15000)
        self.page.fill("#mfa-code", "112233")
        self.page.keyboard.press("Enter")
        self.page.wait_for_selector("#mfa-dialog", state="hidden", timeout=15000)
        self.expect("#identity").to_contain_text("assumed-role/dev/", timeout=15000)
        self.shot("30-%s-saml" % self.NAME)

    def test_oidc_with_a_push_on_the_page(self):
        self.sign_in_dialog(self.NAME + "-oidc", "pusher", self.PASSWORD)
        self.expect("#auth-message").to_contain_text("approve it on your phone")  # the waiting state
        self.shot("31-%s-push-waiting" % self.NAME)
        self.page.wait_for_selector("#auth-dialog", state="hidden", timeout=30000)
        self.expect("#identity").to_contain_text(re.compile(r"assumed-role/dev/web$"), timeout=15000)
        self.assertGreaterEqual(self.idp_polls(), 3)  # it polled until the phone said yes

    def idp_polls(self):
        return max(self.idp.polls.values()) if self.idp.polls else 0


class OneLoginPage(PageMixin, scenarios.OneLoginTests):
    pass


class AzureADPage(PageMixin, scenarios.AzureADTests):
    pass


class ForgeRockPage(PageMixin, scenarios.ForgeRockTests):
    pass


for case in (OneLoginPage, AzureADPage, ForgeRockPage):  # only the page's tests run here
    for name in [n for n in dir(case) if n.startswith("test_") and not n.endswith("_on_the_page")]:
        setattr(case, name, None)
del case, name
