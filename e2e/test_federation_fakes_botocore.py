"""For each identity provider (Keycloak's pages, Okta's API with TOTP and
with push, OIDC with both, the browser sign-in, a token file): the service
signs in through the API and botocore gets the role's credentials."""

import json
import unittest
import urllib.parse

from e2e._peers import empty_file, need
from e2e.test_clients import botocore_credentials

import runas_meta as rm
import test_runas_meta as t

need("botocore")


class LiveService:
    """A mixin for a FederationCase: the real server on port 0 serves
    `self.service` (rebuilt services too), and botocore asks it."""

    def setUp(self):
        super().setUp()
        self.server = t.serve(self, self.service)
        self.PORT = self.server.server_address[1]

    def build(self, **federation):
        super().build(**federation)
        if hasattr(self, "server"):
            self.server.attach(self.service)

    def botocore_identity(self, profile):
        """The fake STS's identity of what botocore got from /credentials/<profile>."""
        method, creds = botocore_credentials({
            "AWS_CONTAINER_CREDENTIALS_FULL_URI": "%s/credentials/%s" % (self.service.base_url, profile),
            "AWS_CONFIG_FILE": empty_file(self), "AWS_SHARED_CREDENTIALS_FILE": empty_file(self)})
        self.assertEqual(method, "container-role")
        return self.sts_server.identities[creds.access_key]


class EveryProviderReachesBotocore(LiveService, t.FederationCase):

    def test_each_provider(self):
        role = "arn:aws:sts::%s:assumed-role/dev/" % t.ACCOUNT
        cases = [("kc-saml", "kc-password", "654321"), ("kc-oidc", "kc-password", "654321"),
                 ("okta-saml", "okta-password", "112233"), ("okta-oidc", "okta-password", "112233"),
                 ("okta-push", "push-password", None)]
        for profile, password, code in cases:
            with self.subTest(profile=profile):
                self.keycloak.sessions.clear()
                self.okta.sessions.clear()
                response, doc = self.sign_in(profile, password, code)
                self.assertEqual(response.status, 200, doc)
                self.assertTrue(self.botocore_identity(profile).startswith(role))

    def test_browser_and_token_file(self):
        self.assertTrue(self.botocore_identity("token-file").endswith("/dev/from-file"))
        browser = rm.IdpHttp(self.service.base_url, self.environ)  # one browser: its cookies go along
        started = browser.send("POST", self.service.base_url + "/oidc/login?profile=kc-browser")
        location = json.loads(started.body)["url"]
        redirect = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["redirect_uri"]
        page = browser.send("GET", location)
        login = rm.parse_forms(page.body, page.url)[0]
        page = browser.send("POST", login.action, form=dict(login.fields, username="alice", password="kc-password"))
        otp = rm.parse_forms(page.body, page.url)[0]
        page = browser.send("POST", otp.action, form={"otp": "654321"}, stop_at=redirect)
        back = browser.send("GET", page.location)  # our callback, then its redirect to the page
        self.assertEqual((back.status, back.url), (200, self.service.base_url + "/#signin-result"))
        outcome = browser.send("GET", self.service.base_url + "/signin-result")
        self.assertEqual(json.loads(outcome.body), {"signed_in": "kc-browser"})
        self.assertIn("Refresh Now", back.body)
        self.assertTrue(self.botocore_identity("kc-browser").startswith("arn:aws:sts::%s:assumed-role/dev/" % t.ACCOUNT))


if __name__ == "__main__":
    unittest.main()
