"""`runas-meta doctor` judged by botocore: for shells with each kind of
variable that shadows the service set, the source doctor names is the one
botocore's default chain uses in that same environment, and only the clean
shell reaches the running service.  The banner's unset lines make the
shadowed shell clean again."""

import json
import os
import subprocess
import sys
import unittest

from e2e._peers import empty_file, need
from e2e.test_clients import botocore_credentials

import test_runas_meta as t

need("botocore")

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class DoctorAgainstBotocore(t.FakeSTSCase):
    def setUp(self):
        super().setUp()
        self.files(t.STANDARD_CONFIG, t.STANDARD_CREDENTIALS)
        self.service = self.start_service()
        self.token = os.path.join(self.home, "token")
        t.write(self.token, t.fake_jwt("alice", "sts.amazonaws.com"))
        self.clean = {"HOME": self.home, "AWS_CONTAINER_CREDENTIALS_FULL_URI": self.service.url + "/credentials",
                      "AWS_SHARED_CREDENTIALS_FILE": empty_file(self), "AWS_CONFIG_FILE": empty_file(self),
                      "AWS_ENDPOINT_URL_STS": self.sts_server.url, "AWS_EC2_METADATA_DISABLED": "true",
                      "AWS_DEFAULT_REGION": "eu-west-1"}

    def doctor(self, env):
        result = subprocess.run([sys.executable, os.path.join(HERE, "runas_meta.py"), "doctor", "--json"],
                                env=dict(env, PATH=os.environ["PATH"]), capture_output=True, text=True, timeout=30)
        self.assertIn(result.returncode, (0, 1), result.stderr)
        return json.loads(result.stdout)

    def test_the_source_doctor_names_is_the_one_botocore_uses(self):
        files = {"AWS_CONFIG_FILE": self.config_path, "AWS_SHARED_CREDENTIALS_FILE": self.credentials_path}
        cases = {
            "clean": {},
            "static keys": {"AWS_ACCESS_KEY_ID": "AKIASHADOW", "AWS_SECRET_ACCESS_KEY": "shadowSecret"},
            "a profile with keys": dict(files, AWS_PROFILE="base"),
            "a profile with a role": dict(files, AWS_PROFILE="nomfa"),
            "the default profile's keys": dict(files, AWS_CONFIG_FILE=self.clean["AWS_CONFIG_FILE"],
                                               AWS_SHARED_CREDENTIALS_FILE=self.with_default_keys()),
            "web identity": {"AWS_WEB_IDENTITY_TOKEN_FILE": self.token, "AWS_ROLE_ARN": t.ROLE},
        }
        seen = {}
        for case, extra in cases.items():
            with self.subTest(case=case):
                env = dict(self.clean, **extra)
                report = self.doctor(env)
                method, creds = botocore_credentials(env)
                self.assertEqual(report["source"], method, report)
                self.assertEqual(report["reaches_service"], case == "clean", report)
                served = method == "container-role" and creds.access_key == self.service.get("/credentials")["AccessKeyId"]
                self.assertEqual(served, case == "clean")
                seen[case] = report
        self.assertEqual(seen["clean"]["served_profile"], "nomfa")
        self.assertIn("unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY", seen["static keys"]["fix"])
        self.assertIn("unset AWS_PROFILE", seen["a profile with a role"]["fix"])
        self.assertTrue(any(line.startswith("export AWS_SHARED_CREDENTIALS_FILE=")
                            for line in seen["the default profile's keys"]["fix"]))
        self.assertIn("unset AWS_WEB_IDENTITY_TOKEN_FILE", seen["web identity"]["fix"])

    def with_default_keys(self):
        path = os.path.join(self.home, "default-credentials")
        t.write(path, "[default]\naws_access_key_id = AKIADEFAULT\naws_secret_access_key = defaultSecret\n")
        return path

    def test_the_fix_lines_make_the_shell_reach_the_service(self):
        env = dict(self.clean, AWS_ACCESS_KEY_ID="AKIASHADOW", AWS_SECRET_ACCESS_KEY="shadowSecret",
                   AWS_PROFILE="nomfa", AWS_WEB_IDENTITY_TOKEN_FILE=self.token)
        report = self.doctor(env)
        self.assertFalse(report["reaches_service"])
        for line in report["fix"]:  # what a user pastes
            if line.startswith("unset "):
                for name in line.split()[1:]:
                    env.pop(name)
        self.assertTrue(self.doctor(env)["reaches_service"])
        self.assertEqual(botocore_credentials(env)[0], "container-role")


if __name__ == "__main__":
    unittest.main()
