"""e2e/fake_signin.py proven with botocore's own LoginProvider: botocore with
its native extension (awscrt, test-only) reads an aws login cache, refreshes
it through the fake with real DPoP proofs, writes the rotated token back, and
meets the errors the signin model names.  Only then does the fake judge
runas-meta (e2e/test_login_sessions.py)."""

import datetime as dt
import json
import os
import shutil
import tempfile
import time
import unittest

from e2e._peers import need

need("botocore")
need("awscrt")
need("cryptography")
import botocore.exceptions  # noqa: E402
import botocore.session  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric import ec  # noqa: E402

from e2e.fake_signin import SESSION, FakeSignIn  # noqa: E402
import runas_meta as rm  # noqa: E402


def sec1_pem():
    key = ec.generate_private_key(ec.SECP256R1())
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                             serialization.NoEncryption()).decode()


def cache_document(refresh_token, seconds_left, pem=None, client="arn:aws:signin:::devtools/same-device"):
    """A cache file as the AWS CLI's login command writes it."""
    expires = dt.datetime.now(dt.timezone.utc) + dt.timedelta(seconds=seconds_left)
    return {"accessToken": {"accessKeyId": "ASIAOLDKEY0000001", "secretAccessKey": "oldSecret",
                            "sessionToken": "oldToken", "accountId": "123456789012",
                            "expiresAt": expires.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "tokenType": "aws_sigv4", "clientId": client, "refreshToken": refresh_token,
            "idToken": "e30.e30.x", "dpopKey": pem or sec1_pem()}


class LoginHome:
    """A config with a login_session profile, a login cache folder, and the
    environment botocore reads them from (Sign-In at the fake)."""

    def __init__(self, signin, session=SESSION):
        self.root = tempfile.mkdtemp(prefix="runas-meta-login-")
        self.cache = os.path.join(self.root, "login-cache")
        self.config = os.path.join(self.root, "config")
        with open(self.config, "w") as handle:
            handle.write("[profile dev]\nlogin_session = %s\nregion = us-east-1\n" % session)
        self.env = {"AWS_CONFIG_FILE": self.config, "AWS_SHARED_CREDENTIALS_FILE": os.path.join(self.root, "none"),
                    "AWS_LOGIN_CACHE_DIRECTORY": self.cache, "AWS_ENDPOINT_URL_SIGNIN": signin.url,
                    "HOME": self.root}
        self.session = session

    def path(self):
        return os.path.join(self.cache, rm.hashlib.sha256(self.session.encode()).hexdigest() + ".json")

    def write(self, doc):
        os.makedirs(self.cache, exist_ok=True)
        with open(self.path(), "w") as handle:
            json.dump(doc, handle)

    def read(self):
        with open(self.path()) as handle:
            return json.load(handle)

    def close(self):
        shutil.rmtree(self.root, ignore_errors=True)


class BotocoreCase(unittest.TestCase):
    def setUp(self):
        self.signin = FakeSignIn()
        self.addCleanup(self.signin.close)
        self.home = LoginHome(self.signin)
        self.addCleanup(self.home.close)
        saved = {k: os.environ.get(k) for k in self.home.env}
        os.environ.update(self.home.env)
        self.addCleanup(lambda: [os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
                                 for k, v in saved.items()])

    def botocore_credentials(self):
        return botocore.session.Session(profile="dev").get_credentials()


class FakeSignInWithBotocore(BotocoreCase):
    def test_botocore_refreshes_through_the_fake_and_writes_the_rotated_token(self):
        first = self.signin.seed()
        self.home.write(cache_document(first, 60))  # a minute left: botocore must refresh
        credentials = self.botocore_credentials()
        self.assertEqual(credentials.method, "login")
        frozen = credentials.get_frozen_credentials()
        self.assertEqual(frozen.access_key, "ASIALOGIN0000001")
        self.assertEqual(len(self.signin.proofs), 1)  # botocore's proof passed every check
        proof = self.signin.proofs[0]
        self.assertEqual((proof["htm"], proof["htu"]), ("POST", self.signin.url + "/v1/token"))
        self.assertLess(abs(proof["iat"] - time.time()), 5)
        self.assertEqual(self.signin.calls[0], {"clientId": "arn:aws:signin:::devtools/same-device",
                                                "grantType": "refresh_token", "refreshToken": first})
        doc = self.home.read()
        self.assertNotEqual(doc["refreshToken"], first)
        self.assertEqual(doc["accessToken"]["accessKeyId"], "ASIALOGIN0000001")
        self.assertEqual(doc["accessToken"]["accountId"], "123456789012")

    def test_a_spent_refresh_token_and_an_ended_session_are_refused_as_the_model_says(self):
        first = self.signin.seed()
        document = cache_document(first, 60)
        self.home.write(document)
        self.botocore_credentials().get_frozen_credentials()
        self.home.write(document)  # the spent token again
        with self.assertRaises(botocore.exceptions.LoginRefreshRequired):
            self.botocore_credentials().get_frozen_credentials()
        self.assertEqual(self.signin.refused[-1]["error"], "TOKEN_EXPIRED")
        self.home.write(cache_document(self.signin.seed(), 60))
        self.signin.ended.add(SESSION)
        with self.assertRaises(botocore.exceptions.LoginRefreshRequired):
            self.botocore_credentials().get_frozen_credentials()
        self.assertEqual(self.signin.refused[-1]["error"], "USER_CREDENTIALS_CHANGED")

    def test_a_proof_from_another_key_is_refused(self):
        token = self.signin.seed()
        self.home.write(cache_document(token, 60))
        self.botocore_credentials().get_frozen_credentials()  # bound now to that key
        rotated = self.home.read()["refreshToken"]
        self.home.write(cache_document(rotated, 60))  # the same token, a new key
        with self.assertRaises(botocore.exceptions.ClientError):
            self.botocore_credentials().get_frozen_credentials()
        self.assertIn("bound", self.signin.refused[-1]["message"])


if __name__ == "__main__":
    unittest.main()
