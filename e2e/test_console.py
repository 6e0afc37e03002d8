"""The AWS console in one click, standard library only: POST /console turns
the active role's credentials into a federated console sign-in against our
fake federation endpoint (e2e/fake_console.py), which checks the session
JSON against the credentials the service serves.  Credentials that cannot
federate get a clear answer; the endpoint down or answering garbage, a
clear 502/503.  (The page's button in Chromium: e2e/test_page_chromium.py.)"""

import json
import urllib.parse
import urllib.request

from e2e.fake_console import FakeConsole

import runas_meta as rm
import test_runas_meta as t


def served_by(service):
    """The fake's check: the session JSON holds exactly the served credentials."""
    def accept(session):
        creds = service.engine.cached(service.active)
        return creds is not None and session == {"sessionId": creds.access_key_id,
                                                 "sessionKey": creds.secret_access_key,
                                                 "sessionToken": creds.session_token}
    return accept


class ConsoleTests(t.ServiceCase):
    def setUp(self):
        super().setUp()
        self.fake = FakeConsole(lambda session: served_by(self.service)(session))
        self.addCleanup(self.fake.close)
        self.environ["RUNAS_META_FEDERATION_URL"] = self.fake.url
        self.make()

    def test_a_role_opens_the_console_of_its_region(self):
        self.doc(self.call("GET", "/credentials"))
        location = self.doc(self.call("POST", "/console"))["url"]
        base, _, query = location.partition("?")
        self.assertEqual(base, self.fake.url)
        fields = dict(urllib.parse.parse_qsl(query))
        self.assertEqual((fields["Action"], fields["Issuer"]), ("login", "runas-meta"))
        self.assertEqual(fields["Destination"], "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1")
        self.assertTrue(fields["SigninToken"].startswith("signintoken-"))
        with urllib.request.urlopen(location, timeout=5) as page:  # the browser follows it
            text = page.read().decode()
        self.assertIn(self.service.engine.cached("nomfa").access_key_id, text)
        self.assertIn("region=eu-west-1", text)

    def test_credentials_that_cannot_federate_say_why(self):
        for name in ("base", "withtoken"):
            self.service.activate(name)
            response = self.call("POST", "/console")
            self.assertEqual(response.status, 400, response.body)
            doc = json.loads(response.body)
            self.assertEqual(doc["Code"], "CannotFederate")
            self.assertIn("does not accept", doc["Message"])
        self.assertEqual(self.fake.requests, [])

    def test_a_link_mints_no_sign_in_token(self):
        """GET /console is a link any site can make: it opens the page and
        asks the federation endpoint for nothing."""
        self.doc(self.call("GET", "/credentials"))
        for headers in ({}, {"Sec-Fetch-Mode": "navigate"}, {"Accept-Language": "en"}):
            response = self.call("GET", "/console", headers)
            self.assertEqual((response.status, dict(response.headers)["Location"]), (302, "/"))
        self.assertEqual(self.fake.requests, [])
        forged = self.call("POST", "/console", {"Origin": "http://127.0.0.2:8000"})  # another site's form
        self.assertEqual(forged.status, 403)
        page = self.call("POST", "/console", {"Origin": "http://127.0.0.1:%d" % self.PORT, "Sec-Fetch-Site": "same-origin"})
        self.assertEqual(page.status, 403)  # the page itself without its CSRF token
        self.assertEqual(self.fake.requests, [])
        page = self.call("POST", "/console", {"Origin": "http://127.0.0.1:%d" % self.PORT,
                                              "X-CSRF-Token": self.service.csrf_token})
        self.assertTrue(self.doc(page)["url"].startswith(self.fake.url))
        self.assertEqual(len(self.fake.requests), 1)

    def test_the_endpoint_refusing_down_or_garbage(self):
        self.fake.accept = lambda session: False  # it answers 400 with a text body
        response = self.call("POST", "/console")
        self.assertEqual(response.status, 502)
        self.assertIn("the AWS federation endpoint: HTTP 400 with an answer that is not JSON",
                      json.loads(response.body)["Message"])
        self.environ["RUNAS_META_FEDERATION_URL"] = "http://127.0.0.1:9/federation"
        self.make()
        response = self.call("POST", "/console")
        self.assertEqual(response.status, 503)
        self.assertIn("unreachable", json.loads(response.body)["Message"])
        self.assertEqual(self.call("GET", "/credentials").status, 200)  # and the service keeps serving

    def test_partitions(self):
        cases = {"eu-west-1": ("https://signin.aws.amazon.com/federation",
                               "https://eu-west-1.console.aws.amazon.com/console/home?region=eu-west-1"),
                 "cn-north-1": ("https://signin.amazonaws.cn/federation",
                                "https://console.amazonaws.cn/console/home?region=cn-north-1"),
                 "us-gov-west-1": ("https://signin.amazonaws-us-gov.com/federation",
                                   "https://console.amazonaws-us-gov.com/console/home?region=us-gov-west-1"),
                 "": ("https://signin.aws.amazon.com/federation",
                      "https://us-east-1.console.aws.amazon.com/console/home?region=us-east-1")}
        for region, expected in cases.items():
            self.assertEqual(rm.console_endpoints(region, {}), expected)
