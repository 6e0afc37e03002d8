"""Okta Identity Engine profiles (okta_oidc_client_id) against
e2e/fake_okta_oie.py and our fake STS: the device sign-in, the token
exchange for the AWS app's web SSO token and its SAML response from
/login/token/sso, renewals with no user while the Okta tokens (or a refresh
token) last, each missing admin set-up as one configuration error, and
botocore getting the role through the running service."""

import json
import unittest
import urllib.request

from e2e.fake_okta_oie import FakeOktaOIE
from e2e.test_clients import botocore_credentials

import runas_meta as rm
import test_runas_meta as t

CONFIG = """\
[profile oie]
saml_auth_url = %(app)s
okta_oidc_client_id = 0oaOIDCNATIVE01
role_arn = %(role)s
region = eu-west-1
%(extra)s
"""


class OktaCase(t.FakeSTSCase):
    def setUp(self):
        super().setUp()
        self.okta = FakeOktaOIE(saml=lambda: t.saml_response([t.ROLE]), clock=lambda: self.clock().timestamp())
        self.addCleanup(self.okta.close)
        self.use()

    def use(self, extra=""):
        self.files(CONFIG % {"app": self.okta.aws_app_url, "role": t.ROLE, "extra": extra})

    def make_engine(self):
        self.engine_ = self.engine(federation=rm.Federation(self.config(), self.environ, clock=self.clock,
                                                            sleep=lambda s: None))
        return self.engine_

    def signed_in(self, engine):
        """The device sign-in, approved at the fake as the user would."""
        federation = engine.federation
        fed = engine.config.federated("oie")
        done = []
        view = federation.okta.start_device(federation.client(fed), fed, "oie", done.append)
        self.assertTrue(self.okta.approve(view["user_code"]))
        self.assertTrue(t.wait_for(lambda: done, 10))
        return view


class OktaIdentityEngineTests(OktaCase):
    def test_a_device_sign_in_then_the_role(self):
        engine = self.make_engine()
        with self.assertRaises(rm.OktaSignInRequired) as caught:
            engine.credentials("oie")
        self.assertEqual(caught.exception.extra["device_url"], "/okta/device")
        self.assertEqual(caught.exception.extra["provider"], "Okta")
        view = self.signed_in(engine)
        self.assertTrue(view["verification_uri_complete"].endswith("/activate?user_code=" + view["user_code"]))
        creds = engine.credentials("oie")
        self.assertTrue(creds.access_key_id.startswith("ASIAFAKE"))
        self.assertEqual(self.sts_server.actions(), ["AssumeRoleWithSAML"])
        exchange = [form for method, path, form in self.okta.calls if form.get("grant_type", "").endswith(
            "token-exchange")][0]
        self.assertEqual((exchange["audience"], exchange["requested_token_type"], exchange["actor_token_type"],
                          exchange["subject_token_type"]), (
            "urn:okta:apps:0oaAWSFEDAPP01", "urn:okta:oauth:token-type:web_sso_token",
            "urn:ietf:params:oauth:token-type:access_token", "urn:ietf:params:oauth:token-type:id_token"))
        authorize = [form for method, path, form in self.okta.calls if path == "/oauth2/v1/device/authorize"][0]
        self.assertEqual(authorize, {"client_id": "0oaOIDCNATIVE01", "scope": "openid okta.apps.sso"})
        self.assertTrue(engine.status("oie")["next_prompt"]["note"].startswith("renewed without asking"))

    def test_renewals_repeat_the_exchange_with_no_user_while_the_tokens_last(self):
        self.use("okta_oidc_scopes = openid okta.apps.sso offline_access")
        engine = self.make_engine()
        self.signed_in(engine)
        first = engine.credentials("oie")
        for _ in range(3):  # three hours: the Okta access token (one hour) is refreshed, then exchanged again
            self.clock.advance(3600)
            engine.federation.clients[self.okta.aws_app_url].assertion = None  # the SAML response is spent
            renewed = engine.credentials("oie")
            self.assertNotEqual(renewed.access_key_id, first.access_key_id)
            first = renewed
        paths = [(path, form.get("grant_type")) for method, path, form in self.okta.calls]
        self.assertEqual(paths.count(("/oauth2/v1/device/authorize", None)), 1)  # one sign-in for it all
        self.assertEqual(paths.count(("/oauth2/v1/token", "refresh_token")), 3)
        self.assertEqual(paths.count(("/login/token/sso", None)), 4)

    def test_without_a_refresh_token_the_end_of_the_tokens_asks_again(self):
        engine = self.make_engine()
        self.signed_in(engine)
        engine.credentials("oie")
        self.clock.advance(3600)
        engine.federation.clients[self.okta.aws_app_url].assertion = None
        with self.assertRaises(rm.OktaSignInRequired):
            engine.credentials("oie")

    def test_each_missing_admin_setup_is_one_clear_error(self):
        cases = (("device authorization", lambda: self.okta.scopes.discard("okta.apps.sso"), "invalid_scope"),
                 ("device authorization", lambda: self.okta.grants.discard("device"), "unauthorized_client"),
                 ("token exchange", lambda: self.okta.grants.discard("exchange"), "unauthorized_client"),
                 ("token exchange", lambda: setattr(self.okta, "web_sso_client", "0oaSOMEONEELSE"), "invalid_target"))
        for step, breaks, error in cases:
            self.okta.grants, self.okta.scopes = set(rm_grants()), {"openid", "okta.apps.sso", "offline_access"}
            self.okta.web_sso_client = self.okta.client_id
            engine = self.make_engine()
            if step == "token exchange":
                self.signed_in(engine)
            breaks()
            with self.assertRaises(rm.ConfigError) as caught:
                if step == "token exchange":
                    engine.credentials("oie")
                else:
                    self.signed_in(engine)
            text = str(caught.exception)
            self.assertIn("failed at the %s (%s:" % (step, error), text)
            self.assertIn("The Okta admin must enable, on OIDC native app 0oaOIDCNATIVE01, the grant types "
                          "Authorization Code, Device Authorization and Token Exchange and the okta.apps.sso scope, "
                          "and set 0oaOIDCNATIVE01 as the Allowed Web SSO Client", text)
            self.assertIn("AWS Account Federation app 0oaAWSFEDAPP01", text)


def rm_grants():
    from e2e.fake_okta_oie import GRANTS
    return GRANTS


class OktaThroughTheService(OktaCase):
    def test_device_sign_in_on_the_api_then_botocore(self):
        service = self.start_service("ecs", "-p", "0", "oie")
        with self.assertRaises(urllib.error.HTTPError) as caught:
            service.get("/credentials")
        doc = json.loads(caught.exception.read())
        self.assertEqual(caught.exception.code, 401)
        self.assertEqual((doc["Code"], doc["provider"], doc["device_url"]),
                         ("OktaSignInRequired", "Okta", service.url + "/okta/device"))
        request = urllib.request.Request(service.url + "/okta/device", data=b"profile=oie")
        with urllib.request.urlopen(request, timeout=10) as answer:
            view = json.loads(answer.read())
        self.assertTrue(self.okta.approve(view["user_code"]))
        self.assertTrue(t.wait_for(lambda: service.get("/okta/device?profile=oie")["status"] == "done", 20))
        method, creds = botocore_credentials({"AWS_CONTAINER_CREDENTIALS_FULL_URI": service.url + "/credentials",
                                              "AWS_CONFIG_FILE": "/dev/null", "AWS_SHARED_CREDENTIALS_FILE": "/dev/null"})
        self.assertEqual(method, "container-role")
        self.assertTrue(creds.access_key.startswith("ASIAFAKE"))
        self.assertEqual(service.stop(), 0)
        for secret in ("oktaAccess-", "oktaId-", "oktaWebSso-"):
            self.assertNotIn(secret, service.stderr)


if __name__ == "__main__":
    unittest.main()
