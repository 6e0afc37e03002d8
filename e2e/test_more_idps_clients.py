"""OneLogin, Azure AD and ForgeRock with real clients: for each provider, a
SAML and an OIDC sign-in through the service's API, then botocore gets the
role's credentials through the running service (ECS endpoint); and in
headless Chromium, one SAML and one OIDC sign-in per provider through the
page: the sign-in dialog, the MFA dialog for a code, the waiting state for a
push, then the identity.  Against our fakes (e2e/fake_onelogin.py,
fake_azuread.py, fake_forgerock.py) and the suite's fake STS."""

from e2e._peers import need
from e2e import test_more_idps as scenarios
from e2e.test_federation_fakes_botocore import LiveService

import runas_meta as rm
import test_runas_meta as t

need("botocore")
ROLE_ARN = "arn:aws:sts::%s:assumed-role/dev/" % t.ACCOUNT


class BotocoreMixin(LiveService):
    def test_saml_and_oidc_reach_botocore(self):
        for profile, user in ((self.NAME + "-saml", "coder"), (self.NAME + "-oidc", "coder")):
            with self.subTest(profile=profile):
                response, doc = self.auth(profile, user)
                self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
                response, doc = self.call("POST", "/mfa", "mfa=112233")
                self.assertEqual(response.status, 200, doc)
                self.assertTrue(self.botocore_identity(profile).startswith(ROLE_ARN))


class OneLoginBotocore(BotocoreMixin, scenarios.OneLoginTests):
    pass


class AzureADBotocore(BotocoreMixin, scenarios.AzureADTests):
    pass


class ForgeRockBotocore(BotocoreMixin, scenarios.ForgeRockTests):
    pass


for case in (OneLoginBotocore, AzureADBotocore, ForgeRockBotocore):  # only the client test runs here
    for name in [n for n in dir(case) if n.startswith("test_") and n != "test_saml_and_oidc_reach_botocore"]:
        setattr(case, name, None)
del case, name
