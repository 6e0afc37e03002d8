"""Our fake IAM Identity Center (e2e/fake_sso.py), proven with botocore's own
SSO provider and clients before it judges runas-meta (research §6.3, cases
a-g).  Each credential case runs botocore in a subprocess whose HOME is set
before botocore is imported (its cache directories are fixed at import)."""

import datetime as dt
import hashlib
import json
import os
import stat
import subprocess
import sys
import tempfile
import unittest

from e2e._peers import MotoSTS, need
from e2e.fake_sso import FakeSSO

import test_runas_meta as t

boto3 = need("boto3")
botocore_exceptions = need("botocore.exceptions")
from botocore import UNSIGNED  # noqa: E402  (after the peer check)
from botocore.config import Config as BotoConfig  # noqa: E402

START = "https://d-1234567890.awsapps.com/start"
CHILD = r"""
import json, sys
import botocore.session
out = {}
try:
    creds = botocore.session.Session(profile=sys.argv[1]).get_credentials().get_frozen_credentials()
    out = {"access_key": creds.access_key, "secret_key": creds.secret_key, "token": creds.token}
except Exception as exc:
    out = {"error": type(exc).__name__, "message": str(exc)}
print(json.dumps(out))
"""


def z(seconds):
    return (dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def sha1(text):
    return hashlib.sha1(text.encode()).hexdigest()


class FakeSSOWithBotocore(unittest.TestCase):
    def setUp(self):
        self.fake = FakeSSO()
        self.addCleanup(self.fake.close)
        self.home = tempfile.mkdtemp(prefix="runas-meta-sso-")
        self.addCleanup(t._rmtree, self.home)
        self.cache = os.path.join(self.home, ".aws", "sso", "cache")
        os.makedirs(self.cache)
        t.write(os.path.join(self.home, ".aws", "config"), """\
[profile legacy]
sso_start_url = %s
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = ReadOnly

[profile modern]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin

[sso-session corp]
sso_start_url = %s
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile chained]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = modern
role_session_name = chained
region = us-east-1
""" % (START, START))

    def botocore(self, profile, **extra):
        env = {"HOME": self.home, "PATH": os.environ.get("PATH", ""),
               "AWS_CONFIG_FILE": os.path.join(self.home, ".aws", "config"),
               "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.home, "none"),
               "AWS_ENDPOINT_URL_SSO": self.fake.url, "AWS_ENDPOINT_URL_SSO_OIDC": self.fake.url,
               "AWS_EC2_METADATA_DISABLED": "true", "AWS_MAX_ATTEMPTS": "1"}
        env.update(extra)
        done = subprocess.run([sys.executable, "-c", CHILD, profile], env=env, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def token_file(self, key, doc):
        path = os.path.join(self.cache, sha1(key) + ".json")
        with open(path, "w") as handle:
            json.dump(doc, handle)
        return path

    def test_a_legacy_cached_token(self):
        token = self.fake.add_token()
        self.token_file(START, {"startUrl": START, "region": "us-east-1", "accessToken": token["accessToken"],
                                "expiresAt": z(3600)})
        got = self.botocore("legacy")
        self.assertEqual(got.get("access_key"), self.fake.issued_keys[-1], got)
        calls = self.fake.calls("/federation/credentials")
        self.assertEqual(len(calls), 1)
        self.assertEqual(calls[0]["query"], {"role_name": "ReadOnly", "account_id": "111122223333"})
        self.assertEqual(calls[0]["headers"]["x-amz-sso_bearer_token"], token["accessToken"])

    def test_b_sso_session_refresh(self):
        token = self.fake.add_token(with_refresh=True)
        path = self.token_file("corp", {
            "startUrl": START, "region": "us-east-1", "accessToken": token["accessToken"], "expiresAt": z(300),
            "refreshToken": token["refreshToken"], "clientId": token["clientId"],
            "clientSecret": token["clientSecret"],
            "registrationExpiresAt": z(86400)})
        got = self.botocore("modern")
        self.assertIn("access_key", got, got)
        self.assertEqual(self.fake.paths(), ["/token", "/federation/credentials"])
        body = json.loads(self.fake.calls("/token")[0]["body"])
        self.assertEqual(set(body), {"grantType", "clientId", "clientSecret", "refreshToken"})
        self.assertEqual(body["grantType"], "refresh_token")
        with open(path) as handle:
            written = json.load(handle)
        self.assertNotEqual(written["accessToken"], token["accessToken"])
        self.assertNotEqual(written["refreshToken"], token["refreshToken"])
        self.assertRegex(written["expiresAt"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)

    def test_c_unauthorized_token(self):
        self.token_file(START, {"startUrl": START, "region": "us-east-1", "accessToken": "not-a-token",
                                "expiresAt": z(3600)})
        self.assertEqual(self.botocore("legacy").get("error"), "UnauthorizedSSOTokenError")

    def test_d_expired_legacy_token_sends_nothing(self):
        token = self.fake.add_token()
        self.token_file(START, {"startUrl": START, "region": "us-east-1", "accessToken": token["accessToken"],
                                "expiresAt": z(-60)})
        self.assertEqual(self.botocore("legacy").get("error"), "UnauthorizedSSOTokenError")
        self.assertEqual(self.fake.calls("/federation/credentials"), [])

    def test_e_refresh_rejected(self):
        token = self.fake.add_token(with_refresh=True)
        self.fake.end_session()
        self.token_file("corp", {
            "startUrl": START, "region": "us-east-1", "accessToken": token["accessToken"], "expiresAt": z(-60),
            "refreshToken": token["refreshToken"], "clientId": token["clientId"],
            "clientSecret": token["clientSecret"], "registrationExpiresAt": z(86400)})
        self.assertEqual(self.botocore("modern").get("error"), "TokenRetrievalError")

    def test_f_login_flows_and_wire_shapes(self):
        oidc = boto3.client("sso-oidc", region_name="us-east-1", endpoint_url=self.fake.url,
                            config=BotoConfig(signature_version=UNSIGNED, retries={"max_attempts": 1}))
        client = oidc.register_client(clientName="test", clientType="public", scopes=["sso:account:access"])
        start = oidc.start_device_authorization(clientId=client["clientId"], clientSecret=client["clientSecret"],
                                                startUrl=START)
        self.assertRegex(start["userCode"], r"^[0-9A-F]{4}-[0-9A-F]{4}$")
        grant = dict(clientId=client["clientId"], clientSecret=client["clientSecret"],
                     grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=start["deviceCode"])
        with self.assertRaises(oidc.exceptions.AuthorizationPendingException):
            oidc.create_token(**grant)
        with self.assertRaises(oidc.exceptions.SlowDownException):
            oidc.create_token(**grant)  # at once: faster than the interval
        self.fake.devices[start["deviceCode"]]["last"] = None
        self.fake.deny(start["userCode"])
        with self.assertRaises(oidc.exceptions.AccessDeniedException):
            oidc.create_token(**grant)
        self.fake.device_lifetime = 0
        late = oidc.start_device_authorization(clientId=client["clientId"], clientSecret=client["clientSecret"],
                                               startUrl=START)
        with self.assertRaises(oidc.exceptions.ExpiredTokenException):
            oidc.create_token(**dict(grant, deviceCode=late["deviceCode"]))
        self.fake.device_lifetime = 600
        ok = oidc.start_device_authorization(clientId=client["clientId"], clientSecret=client["clientSecret"],
                                             startUrl=START)
        self.fake.approve(ok["userCode"])
        token = oidc.create_token(**dict(grant, deviceCode=ok["deviceCode"]))
        self.assertTrue(token["refreshToken"])
        with self.assertRaises(oidc.exceptions.InvalidClientException):
            oidc.create_token(**dict(grant, clientSecret="wrong"))

        sso = boto3.client("sso", region_name="us-east-1", endpoint_url=self.fake.url,
                           config=BotoConfig(signature_version=UNSIGNED, retries={"max_attempts": 1}))
        pages = sso.get_paginator("list_accounts").paginate(accessToken=token["accessToken"],
                                                            PaginationConfig={"PageSize": 1})
        accounts = [a["accountId"] for page in pages for a in page["accountList"]]
        self.assertEqual(accounts, ["111122223333", "444455556666"])
        roles = [r["roleName"] for page in sso.get_paginator("list_account_roles").paginate(
            accessToken=token["accessToken"], accountId="111122223333", PaginationConfig={"PageSize": 1})
            for r in page["roleList"]]
        self.assertEqual(roles, ["ReadOnly", "Admin"])
        with self.assertRaises(botocore_exceptions.ClientError) as caught:
            sso.get_role_credentials(accessToken=token["accessToken"], accountId="444455556666", roleName="Admin")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ForbiddenException")
        with self.assertRaises(sso.exceptions.UnauthorizedException):
            sso.get_role_credentials(accessToken="nope", accountId="111122223333", roleName="Admin")

    def test_g_role_chained_on_sso(self):
        moto = MotoSTS()
        self.addCleanup(moto.stop)
        token = self.fake.add_token()
        self.token_file("corp", {"startUrl": START, "region": "us-east-1", "accessToken": token["accessToken"],
                                 "expiresAt": z(3600)})
        got = self.botocore("chained", AWS_ENDPOINT_URL_STS=moto.url)
        self.assertIn("access_key", got, got)
        self.assertEqual(len(self.fake.calls("/federation/credentials")), 1)
        arn = moto.identity(got["access_key"], got["secret_key"], got["token"])["Arn"]
        self.assertTrue(arn.startswith("arn:aws:sts::123456789012:assumed-role/dev/chained"), arn)


if __name__ == "__main__":
    unittest.main()
