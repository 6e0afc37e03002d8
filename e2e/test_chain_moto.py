"""The whole credential chain against moto's STS server: static keys ->
MFA session token -> role -> chained role, then GetCallerIdentity with the
served credentials."""

import os
import unittest

from e2e._peers import MOTO_CREDENTIALS, MotoSTS, need

import runas_meta as rm
import test_runas_meta as t

need("boto3")

CONFIG = """\
[profile base]
region = us-east-1

[profile dev]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/alice

[profile deeper]
role_arn = arn:aws:iam::123456789012:role/deeper
source_profile = dev
role_session_name = chained-session
"""
CREDENTIALS = MOTO_CREDENTIALS


class ChainAgainstMoto(t.TempHome):
    def setUp(self):
        super().setUp()
        self.moto = MotoSTS()
        self.addCleanup(self.moto.stop)
        self.files(CONFIG, CREDENTIALS)
        self.environ["AWS_ENDPOINT_URL_STS"] = self.moto.url
        self.sts = rm.STS(self.environ)
        self.engine = rm.Engine(self.config(), self.sts, environ=self.environ)

    def identity(self, creds):
        return self.moto.identity(creds.access_key_id, creds.secret_access_key, creds.session_token)

    def test_chain_ends_in_the_assumed_role(self):
        with self.assertRaises(rm.MFARequired):
            self.engine.credentials("deeper")
        creds = self.engine.credentials("deeper", mfa_code="123456")
        arn = self.identity(creds)["Arn"]
        self.assertEqual(arn, "arn:aws:sts::123456789012:assumed-role/deeper/chained-session")
        self.assertGreater(creds.remaining(rm.utcnow()), 30 * 60)
        # GetSessionToken, GetCallerIdentity (dev's session name), AssumeRole dev, AssumeRole deeper
        self.assertEqual(self.sts.calls, 4)
        dev = self.engine.credentials("dev")  # the middle layer is shared: no code, no call
        self.assertEqual(self.identity(dev)["Arn"],
                         "arn:aws:sts::123456789012:assumed-role/dev/moto")  # moto's user name
        self.assertEqual(self.sts.calls, 4)
        folder = os.path.dirname(self.config_path)
        caches = [f for f in os.listdir(folder) if f.startswith((".aws_session_token_base", ".aws_assume_role_"))]
        self.assertEqual(len(caches), 3)  # base's MFA session, dev's role, deeper's role
        for name in caches:
            self.assertEqual(os.stat(os.path.join(folder, name)).st_mode & 0o777, 0o600)

    def test_refresh_after_a_restart_uses_the_cache_files(self):
        self.engine.credentials("deeper", mfa_code="123456")
        restarted = rm.Engine(self.config(), rm.STS(self.environ), environ=self.environ)
        creds = restarted.credentials("deeper")  # no MFA code needed: the session came from disk
        self.assertEqual(restarted.sts.calls, 0)
        self.assertIn("assumed-role/deeper/", self.identity(creds)["Arn"])


if __name__ == "__main__":
    unittest.main()
