"""OneLogin, Azure AD (Entra ID) and ForgeRock, standard library only: the
same scenarios against each provider's fake (e2e/fake_onelogin.py,
fake_azuread.py, fake_forgerock.py) through the service in process, with
the suite's fake STS: SAML and OIDC success, a wrong password, a wrong code
then the right one, push approved, rejected and timed out, several roles
granted and the configured one picked, a role not granted, the IdP found by
its answer to one HEAD, mfa_type none and a factor the user lacks, the IdP
down or answering garbage while the service keeps what is valid.  Azure AD
also signs in a guest whose home tenant federates to another IdP."""

import base64
import json
import urllib.parse

from e2e.fake_azuread import FakeAzureAD
from e2e.fake_forgerock import FakeForgeRock
from e2e.fake_onelogin import FakeOneLogin

import runas_meta as rm
import test_runas_meta as t

NOT_GRANTED = "arn:aws:iam::%s:role/not-granted" % t.ACCOUNT
CONFIG = """\
[profile {p}-saml]
saml_auth_url = {saml}
saml_provider = {p}
saml_username = plain
role_arn = {role}
region = us-east-1

[profile {p}-multi]
saml_auth_url = {saml}
saml_provider = {p}
role_arn = {role2}

[profile {p}-ungranted]
saml_auth_url = {saml}
saml_provider = {p}
role_arn = {not_granted}

[profile {p}-oidc]
web_identity_auth_url = {oidc}
web_identity_provider = {p}
web_identity_client_id = aws-cli
web_identity_redirect_uri = http://127.0.0.1/oidc/callback
web_identity_username = plain
role_arn = {role}
role_session_name = web

[profile {p}-probe]
saml_auth_url = {saml}
saml_username = plain
role_arn = {role}

[profile {p}-none]
saml_auth_url = {saml}
saml_provider = {p}
mfa_type = none
role_arn = {role}

[profile {p}-code]
saml_auth_url = {saml}
saml_provider = {p}
mfa_type = code
role_arn = {role}
"""
USERS = {"plain": {"password": "{pw}"}, "coder": {"password": "{pw}", "mfa": "code", "otp": "112233"},
         "pusher": {"password": "{pw}", "mfa": "push", "otp": "112233", "push": "approve"}}


def users(password):
    return {name: {k: v.replace("{pw}", password) if isinstance(v, str) else v for k, v in user.items()}
            for name, user in USERS.items()}


class ProviderScenarios:
    """The scenarios (a mixin); a subclass names the provider and builds its fake."""

    NAME = PASSWORD = None

    def setUp(self):
        t.FakeSTSCase.setUp(self)
        self.sts_server.clock = rm.utcnow
        self.idp = self.make_fake(users(self.PASSWORD), [t.ROLE, t.ROLE2])
        self.addCleanup(self.idp.close)
        self.files(CONFIG.format(p=self.NAME, saml=self.saml_url(), oidc=self.oidc_url(), role=t.ROLE,
                                 role2=t.ROLE2, not_granted=NOT_GRANTED))
        self.monotonic = [0.0]
        self.build()

    def auth(self, profile, username, password=None):
        self.service.activate(profile)
        body = urllib.parse.urlencode({"username": username, "password": password or self.PASSWORD})
        return self.call("POST", "/auth", body)

    def assume_calls(self, action):
        return [c for c in self.sts_server.calls if c["Action"] == action]

    def test_saml_success_and_the_configured_role_of_several(self):
        response, doc = self.auth(self.NAME + "-saml", "plain")
        self.assertEqual(response.status, 200, doc)
        call = self.assume_calls("AssumeRoleWithSAML")[-1]
        self.assertEqual((call["RoleArn"], call["PrincipalArn"]), (t.ROLE, t.SAML_PRINCIPAL))
        self.assertEqual(self.call("GET", "/credentials")[1]["RoleArn"], t.ROLE)
        response, doc = self.auth(self.NAME + "-multi", "plain")
        self.assertEqual(response.status, 200, doc)
        self.assertEqual(self.assume_calls("AssumeRoleWithSAML")[-1]["RoleArn"], t.ROLE2)
        self.service.activate(self.NAME + "-ungranted")
        response, doc = self.call("POST", "/refresh")
        self.assertEqual((response.status, doc["Code"]), (403, "RoleNotGranted"))
        self.assertIn(NOT_GRANTED, doc["Message"])
        self.assertIn(t.ROLE2, doc["Message"])

    def test_wrong_password_then_right(self):
        response, doc = self.auth(self.NAME + "-saml", "plain", "not-the-password")
        self.assertEqual((response.status, doc["Code"]), (401, "AuthFailed"), doc)
        self.assertIn((rm.AUTH_TYPE_HEADER, "AUTH"), response.headers)
        self.assertIn("refused the username or password", doc["Message"])
        self.assertEqual(self.auth(self.NAME + "-saml", "plain")[0].status, 200)

    def test_code_wrong_then_right(self):
        response, doc = self.auth(self.NAME + "-saml", "coder")
        self.assertEqual(response.status, 401, doc)
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
        response, doc = self.call("POST", "/mfa", "mfa=999999")
        self.assertEqual(doc["Code"], "MFAInvalid", doc)
        response, doc = self.call("POST", "/mfa", "mfa=112233")
        self.assertEqual(response.status, 200, doc)
        self.assertEqual(self.assume_calls("AssumeRoleWithSAML")[-1]["RoleArn"], t.ROLE)

    def test_push_approved_rejected_and_timed_out(self):
        response, doc = self.auth(self.NAME + "-saml", "pusher")
        self.assertEqual(response.status, 200, doc)
        self.assertGreater(self.monotonic[0], 0)  # it waited for the phone
        for mode, text in (("reject", "rejected"), ("never", "not approved within 60 seconds")):
            self.idp.users["pusher"]["push"] = mode
            self.build()  # a new run: no session, no cached assertion
            self.idp.sessions.clear()
            before = self.monotonic[0]
            response, doc = self.auth(self.NAME + "-saml", "pusher")
            self.assertEqual((response.status, doc["Code"]), (401, "AuthFailed"), doc)
            self.assertIn(text, doc["Message"])
            if mode == "never":
                self.assertAlmostEqual(self.monotonic[0] - before, rm.PUSH_WAIT, delta=2 * rm.PUSH_INTERVAL)

    def test_no_push_but_for_a_sign_in(self):
        """After a rejected push, credential requests answer at once with
        the reason and the IdP sees no new push (push fatigue)."""
        self.idp.users["pusher"]["push"] = "reject"
        response, doc = self.auth(self.NAME + "-saml", "pusher")
        self.assertEqual((response.status, doc["Code"]), (401, "AuthFailed"), doc)
        self.assertTrue(doc["Message"].startswith("the %s push was rejected" % self.TITLE), doc["Message"])
        status = self.call("GET", "/status")[1]
        self.assertEqual((status["push"]["state"], status["error"]), ("rejected", doc["Message"]))
        pushes, waited = self.idp.pushes, self.monotonic[0]
        self.idp.users["pusher"]["push"] = "approve"  # even a phone that would approve gets nothing
        for _ in range(3):
            response, doc = self.call("GET", "/credentials")
            self.assertEqual((response.status, doc["Code"]), (401, "AuthRequired"), doc)
            self.assertIn("sign in on the page", doc["Message"])
        self.assertEqual((self.idp.pushes, self.monotonic[0]), (pushes, waited))
        response, doc = self.auth(self.NAME + "-saml", "pusher")  # the user signs in: one push
        self.assertEqual(response.status, 200, doc)
        self.assertEqual(self.idp.pushes, pushes + 1)

    def test_oidc_with_a_code(self):
        response, doc = self.auth(self.NAME + "-oidc", "coder")
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
        response, doc = self.call("POST", "/mfa", "mfa=112233")
        self.assertEqual(response.status, 200, doc)
        call = self.assume_calls("AssumeRoleWithWebIdentity")[-1]
        self.assertEqual((call["RoleArn"], call["RoleSessionName"]), (t.ROLE, "web"))
        payload = call["WebIdentityToken"].split(".")[1]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        self.assertEqual((claims["sub"], claims["aud"]), ("coder", "aws-cli"))

    def test_the_provider_found_by_its_answer(self):
        self.assertEqual(self.service.engine.federation.client(
            self.service.config.federated(self.NAME + "-probe")).provider.name, self.NAME)
        self.assertEqual(self.auth(self.NAME + "-probe", "plain")[0].status, 200)

    def test_mfa_type_none_and_a_factor_the_user_lacks(self):
        response, doc = self.auth(self.NAME + "-none", "coder")
        self.assertEqual(response.status, 502, doc)
        self.assertIn("mfa_type = none", doc["Message"])
        self.build()
        response, doc = self.auth(self.NAME + "-code", "pusher")
        if self.NAME == "forgerock":  # the push user has no OATH tree in this realm
            self.assertEqual((response.status, doc["Code"]), (401, "AuthFailed"), doc)
        else:  # a push device that also shows codes takes one
            self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)

    def test_idp_down_or_garbage_keeps_what_is_valid(self):
        self.assertEqual(self.auth(self.NAME + "-saml", "plain")[0].status, 200)
        served = self.call("GET", "/credentials")[1]["AccessKeyId"]
        self.idp.route = lambda *args: (200, [("Content-Type", "application/json")], "{not json")
        self.build()
        self.service.activate(self.NAME + "-saml")
        response, doc = self.call("POST", "/auth", "username=plain&password=" + self.PASSWORD)
        self.assertEqual(response.status, 502, doc)
        self.idp.close()
        self.build()
        self.service.activate(self.NAME + "-saml")
        response, doc = self.call("POST", "/auth", "username=plain&password=" + self.PASSWORD)
        self.assertEqual((response.status, doc["Code"]), (503, "IdPUnavailable"), doc)
        self.assertIn("unreachable", doc["Message"])
        response, doc = self.call("GET", "/credentials")  # what is still valid keeps being served
        self.assertEqual((response.status, doc.get("AccessKeyId")), (200, served))


class OneLoginTests(ProviderScenarios, t.FederationCase):
    NAME, PASSWORD, TITLE = "onelogin", "ol-password", "OneLogin"
    # a secret with ':' (aws-runas truncates it) whose base64 holds '+' (aws-runas turns it into a space)
    SECRET = "olApiSecret:with:colons>>?"

    def make_fake(self, users, roles):
        fake = FakeOneLogin(users, roles, "olClientId", self.SECRET)
        self.assertIn("+", fake.token)
        return fake

    def saml_url(self):
        return self.idp.saml_url

    def oidc_url(self):
        return self.idp.oidc_url

    def test_a_device_name_as_the_user_wrote_it(self):
        response, doc = self.auth(self.NAME + "-saml", "coder")
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
        self.assertIn("OneLogin asks for the code from Bob's iPhone", doc["Message"])

    def test_url_settings_and_the_api_token(self):
        settings = rm.OneLogin.settings(self.idp.saml_url)
        self.assertEqual((settings["client_id"], settings["secret"], settings["app_id"], settings["subdomain"]),
                         ("olClientId", self.SECRET, "98765", "127"))
        real = rm.OneLogin.settings("https://corp.onelogin.com/trust/saml2/launch/1?app_id=2&region=eu&token="
                                    + base64.b64encode(b"a:b").decode())
        self.assertEqual((real["api"], real["portal"]), ("https://api.eu.onelogin.com", "https://corp.onelogin.com"))
        with self.assertRaisesRegex(rm.ConfigError, "needs token="):
            rm.OneLogin.settings("https://corp.onelogin.com/trust/saml2/launch/1?app_id=2")
        self.auth(self.NAME + "-saml", "plain")
        self.auth(self.NAME + "-multi", "plain")
        self.assertEqual(self.idp.count("POST", "/auth/oauth2/v2/token"), 1)  # the API token is reused
        self.auth(self.NAME + "-saml", "plain", "wrong")  # errors and logs never hold the URL's token
        self.assertEqual([line for line in t.CAPTURED.lines if self.idp.token in line], [])
        self.service.activate(self.NAME + "-saml")  # nor /profile and /status: the API secret shows as "set"
        for path in ("/profile", "/status"):
            response, doc = self.call("GET", path)
            self.assertNotIn(self.idp.token, response.body.decode())
            self.assertNotIn(urllib.parse.quote(self.idp.token), response.body.decode())
        self.assertIn("token=set", self.call("GET", "/profile")[1]["auth_url"])


class AzureADTests(ProviderScenarios, t.FederationCase):
    NAME, PASSWORD, TITLE = "azuread", "aad-password", "Azure AD"

    def make_fake(self, users, roles):
        users["guest"] = {"password": "unused", "guest_of": ("guest@fabrikam.example", "home-password")}
        return FakeAzureAD(users, roles)

    def saml_url(self):
        return self.idp.app_url

    def oidc_url(self):
        return "%s/%s" % (self.idp.base, "contoso-tenant")

    def test_a_guest_signs_in_at_the_home_tenant(self):
        with open(self.config_path) as handle:
            text = handle.read()
        self.files(text + "[profile guest]\nsaml_auth_url = %s\nsaml_provider = azuread\nrole_arn = %s\n"
                   "federated_username = guest@fabrikam.example\n" % (self.idp.app_url, t.ROLE))
        self.build()
        response, doc = self.auth("guest", "guest", "home-password")
        self.assertEqual(response.status, 200, doc)
        self.assertEqual(self.idp.count("POST", "/fabrikam/login"), 1)
        self.build()
        self.idp.sessions.clear()
        response, doc = self.auth("guest", "guest", "wrong")
        self.assertEqual((response.status, doc["Code"]), (401, "AuthFailed"), doc)

    def test_number_matching(self):
        """Authenticator shows three numbers; the one to choose is BeginAuth's
        Entropy, which /status carries while the push waits."""
        self.idp.users["pusher"]["push"] = "number"
        seen = []

        def phone(seconds):  # the user reads the number on the page and chooses it on the phone
            self.monotonic[0] += seconds
            push = self.call("GET", "/status")[1].get("push") or {}
            seen.append(push)
            if push.get("number"):
                self.idp.entered = push["number"]
        self.build(sleep=phone)
        response, doc = self.auth(self.NAME + "-saml", "pusher")
        self.assertEqual(response.status, 200, doc)
        numbers = {p["number"] for p in seen if p.get("state") == "waiting"}
        self.assertEqual(len(numbers), 1)
        self.assertEqual(str(self.idp.entered), numbers.pop())
        self.assertEqual(self.idp.pushes, 1)
        engine = self.service.engine  # nothing valid left: credential requests would need a push
        for layer in engine.plan(self.NAME + "-saml"):
            engine._drop(layer)
        self.idp.sessions.clear()
        self.federation.clients[self.idp.app_url].assertion = None
        response, doc = self.call("GET", "/credentials")
        self.assertEqual((response.status, doc["Code"]), (401, "AuthRequired"), doc)
        self.assertEqual(self.idp.pushes, 1)  # no second push

    def test_a_tenant_without_stay_signed_in(self):
        """The answer to the password (or the MFA step) is already the end."""
        self.idp.stay_signed_in = False
        response, doc = self.auth(self.NAME + "-saml", "plain")
        self.assertEqual(response.status, 200, doc)
        response, doc = self.auth(self.NAME + "-oidc", "coder")
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
        response, doc = self.call("POST", "/mfa", "mfa=112233")
        self.assertEqual(response.status, 200, doc)
        self.assertEqual(self.assume_calls("AssumeRoleWithWebIdentity")[-1]["RoleArn"], t.ROLE)
        self.build()
        self.idp.sessions.clear()
        response, doc = self.auth(self.NAME + "-saml", "pusher")  # a push, then the end at once
        self.assertEqual(response.status, 200, doc)
        self.assertEqual(self.idp.count("POST", "/kmsi"), 0)

    def test_more_information_required_and_the_my_apps_page(self):
        self.idp.proofup = True
        response, doc = self.auth(self.NAME + "-saml", "coder")
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
        self.assertEqual(doc["Message"].split(": ")[0], "profile 'azuread-saml'")
        self.assertIn("Azure AD asks for the code from +X XXXXXXXX12", doc["Message"])  # the name as written
        response, doc = self.call("POST", "/mfa", "mfa=112233")
        self.assertEqual(response.status, 200, doc)
        self.assertEqual(self.idp.count("GET", "/proofup/skip"), 1)  # "More information required": skipped
        self.assertEqual(self.idp.count("POST", "/myapps/continue"), 0)  # its window.location, read at once

    def test_error_codes_become_messages(self):
        self.idp.users["plain"]["locked"] = True
        response, doc = self.auth(self.NAME + "-saml", "plain")
        self.assertEqual(response.status, 502, doc)
        self.assertIn("Azure AD: the account is locked after too many sign-in attempts", doc["Message"])
        self.assertIn("(error 50053)", doc["Message"])

    def test_issuers(self):
        for url, issuer in (("https://login.microsoftonline.com/contoso/v2.0", "https://login.microsoftonline.com/contoso/v2.0"),
                            ("https://login.microsoftonline.com/contoso/oauth2/v2.0/authorize",
                             "https://login.microsoftonline.com/contoso/v2.0"),
                            ("https://myapps.microsoft.com/signin/aws/1?tenantId=t1", "https://login.microsoftonline.com/t1/v2.0")):
            self.assertEqual(rm.AzureAD.issuer(url), issuer)
        with self.assertRaisesRegex(rm.ConfigError, "needs the tenant"):
            rm.AzureAD.issuer("https://login.microsoftonline.com/oauth2/v2.0")
        self.assertEqual(rm.detect_provider("https://login.microsoftonline.com/contoso/v2.0", ""), "azuread")


class ForgeRockTests(ProviderScenarios, t.FederationCase):
    NAME, PASSWORD, TITLE = "forgerock", "fr-password", "ForgeRock"

    def make_fake(self, users, roles):
        return FakeForgeRock(users, roles)

    def saml_url(self):
        return self.idp.saml_url

    def oidc_url(self):
        return self.idp.issuer

    def test_nested_realms(self):
        settings = rm.ForgeRock.settings("https://am.example.com/am/json/realms/root/realms/alpha/authenticate")
        self.assertEqual(settings, {"base": "https://am.example.com/am",
                                    "authenticate": "https://am.example.com/am/json/realms/root/realms/alpha/authenticate",
                                    "issuer": "https://am.example.com/am/oauth2/realms/root/realms/alpha",
                                    "meta_alias": "/alpha/saml-idp"})
        with self.assertRaisesRegex(rm.ConfigError, "must name its realm"):
            rm.ForgeRock.settings("https://am.example.com/am/json/authenticate")


class MfaTypeTable(t.FederationCase):
    """mfa_type means the same for every provider (README's table)."""

    def test_pick_factor(self):
        factors = [("push", "p", False), ("code", "c", True)]
        self.assertEqual(rm.pick_factor("auto", factors, "X"), ("code", "c"))  # the IdP's default
        self.assertEqual(rm.pick_factor("auto", factors[:1], "X"), ("push", "p"))  # else its first
        self.assertEqual(rm.pick_factor("push", factors, "X"), ("push", "p"))
        self.assertEqual(rm.pick_factor("code", factors, "X"), ("code", "c"))
        with self.assertRaisesRegex(rm.IdPError, "mfa_type = none"):
            rm.pick_factor("none", factors, "X")
        with self.assertRaisesRegex(rm.IdPError, "offers no push factor"):
            rm.pick_factor("push", factors[1:], "X")

    def test_keycloak_and_okta_follow_it(self):
        with open(self.config_path) as handle:
            text = handle.read()
        self.files(text + "\n[profile kc-push]\nsaml_auth_url = %s\nsaml_provider = keycloak\nsaml_username = alice\n"
                   "mfa_type = push\nrole_arn = %s\n\n[profile okta-none]\nsaml_auth_url = %s\nsaml_provider = okta\n"
                   "saml_username = olga\nmfa_type = none\nrole_arn = %s\n"
                   % (self.keycloak.saml_url, t.ROLE, self.okta.saml_url, t.ROLE))
        self.build()
        response, doc = self.sign_in("kc-push", "kc-password")
        self.assertEqual(response.status, 502, doc)
        self.assertIn("Keycloak offers no push factor", doc["Message"])
        response, doc = self.sign_in("okta-none", "okta-password")
        self.assertEqual(response.status, 502, doc)
        self.assertIn("Okta asks for MFA, but mfa_type = none", doc["Message"])
