"""IAM Identity Center and credential_process profiles with real clients:
botocore and the AWS CLI get credentials through the running service (ecs
and ec2 modes, started from the command line) for a legacy SSO profile, an
sso_session profile, a role chained on an SSO profile and a
credential_process profile; and the token cache is shared both ways (a
sign-in by runas-meta serves botocore and the CLI with no sign-in; a token
botocore refreshed serves runas-meta).  Our fake IAM Identity Center
(e2e/fake_sso.py) and moto's STS stand behind them."""

import datetime as dt
import json
import os
import subprocess
import sys
import threading
import unittest
import urllib.request

from e2e._peers import MotoSTS, empty_file, need, need_command
from e2e.fake_sso import FakeSSO
from e2e.test_clients import botocore_credentials
from e2e.test_sso_engine import PROCESS, START, sha1
from e2e.test_sso_fake_botocore import CHILD

import runas_meta as rm
import test_runas_meta as t

need("botocore.session")
need("boto3")

CONFIG = """\
[profile legacy]
sso_start_url = %(start)s
sso_region = us-east-1
sso_account_id = 111122223333
sso_role_name = ReadOnly
region = us-east-1

[profile modern]
sso_session = corp
sso_account_id = 111122223333
sso_role_name = Admin
region = us-east-1

[sso-session corp]
sso_start_url = %(start)s
sso_region = us-east-1
sso_registration_scopes = sso:account:access

[profile onsso]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = modern
role_session_name = chained
region = us-east-1

[profile proc]
credential_process = "%(python)s" "%(script)s" ok %(expires)s
region = us-east-1

[profile onproc]
role_arn = arn:aws:iam::123456789012:role/ops
source_profile = proc
role_session_name = onproc
region = us-east-1
"""
ASSUMED = "arn:aws:sts::123456789012:assumed-role/%s/%s"


def z(seconds):
    return rm.format_time(rm.utcnow() + dt.timedelta(seconds=seconds))


class SSOClientCase(t.TempHome):
    def setUp(self):
        super().setUp()
        self.fake = FakeSSO()
        self.addCleanup(self.fake.close)
        self.moto = MotoSTS()
        self.addCleanup(self.moto.stop)
        script = os.path.join(self.home, "proc.py")
        t.write(script, PROCESS)
        self.files(CONFIG % {"start": START, "python": sys.executable, "script": script, "expires": z(7200)})
        self.cache = os.path.join(self.home, ".aws", "sso", "cache")
        self.environ.update(AWS_ENDPOINT_URL_SSO=self.fake.url, AWS_ENDPOINT_URL_SSO_OIDC=self.fake.url,
                            AWS_ENDPOINT_URL_STS=self.moto.url, PATH=os.environ.get("PATH", ""))
        self.empty = empty_file(self)

    def cli_token(self, key, lifetime=3600, refresh=False):
        issued = self.fake.add_token(lifetime=lifetime, with_refresh=refresh)
        doc = {"startUrl": START, "region": "us-east-1", "accessToken": issued["accessToken"],
               "expiresAt": z(lifetime)}
        if refresh:
            doc.update(refreshToken=issued["refreshToken"], clientId=issued["clientId"],
                       clientSecret=issued["clientSecret"], registrationExpiresAt=z(86400))
        t.write(os.path.join(self.cache, sha1(key) + ".json"), json.dumps(doc))
        return doc

    def read_token(self, key):
        with open(os.path.join(self.cache, sha1(key) + ".json")) as handle:
            return json.load(handle)

    def client_env(self, **variables):
        """What a client process sees: no config, no keys, just the endpoint."""
        env = {"AWS_CONFIG_FILE": self.empty, "AWS_SHARED_CREDENTIALS_FILE": self.empty,
               "AWS_DEFAULT_REGION": "us-east-1", "AWS_ENDPOINT_URL_STS": self.moto.url,
               "HOME": self.home, "PATH": os.environ.get("PATH", "")}
        env.update(variables)
        return env

    def aws_cli(self, env, *args):
        aws = need_command("aws")
        done = subprocess.run([aws, "sts", "get-caller-identity", "--output", "json"] + list(args), env=env,
                              capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)["Arn"]

    def botocore_direct(self, profile):
        """botocore's own SSO provider, reading the shared cache (no service)."""
        env = dict(self.environ, AWS_EC2_METADATA_DISABLED="true", AWS_MAX_ATTEMPTS="1")
        done = subprocess.run([sys.executable, "-c", CHILD, profile], env=env, capture_output=True,
                              text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        return json.loads(done.stdout)

    def identity(self, creds):
        return self.moto.identity(creds.access_key, creds.secret_key, creds.token)["Arn"]


class ClientsThroughTheService(SSOClientCase):
    def start(self, *args):
        service = t.ServiceProcess(list(args), dict(self.environ))
        self.addCleanup(service.stop)
        return service

    def test_ecs_mode_every_kind(self):
        self.cli_token(START)
        self.cli_token("corp")
        service = self.start("ecs", "-p", "0", "onsso")
        url = service.url + "/credentials"
        self.assertTrue(self.aws_cli(self.client_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=url)).startswith(
            ASSUMED % ("dev", "chained")))
        for name in ("legacy", "modern"):
            method, creds = botocore_credentials(self.client_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=url + "/" + name))
            self.assertEqual(method, "container-role")
            self.assertIn(creds.access_key, self.fake.issued_keys, name)
        method, creds = botocore_credentials(self.client_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=url + "/proc"))
        self.assertEqual((creds.access_key, creds.token), ("ASIAPROC", "procToken"))
        method, creds = botocore_credentials(self.client_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=url + "/onproc"))
        self.assertTrue(self.identity(creds).startswith(ASSUMED % ("ops", "onproc")))
        arn = self.aws_cli(self.client_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=url + "/onproc"))
        self.assertTrue(arn.startswith(ASSUMED % ("ops", "onproc")), arn)
        self.assertEqual(service.stop(), 0)
        for secret in ("ssoaccess-", "ssoSecret", "ssoSession", "procSecret", "procToken"):
            self.assertNotIn(secret, service.stderr)

    def test_profiles_write_covers_every_discovered_role(self):
        """Each IAM Identity Center role the service found gets a generated
        credential_process profile, which botocore reads with nothing else set."""
        self.cli_token("corp")
        service = self.start("ecs", "-p", "0", "modern")
        with urllib.request.urlopen(service.url + "/sso/roles?profile=modern", timeout=30) as answer:
            found = [role["name"] for role in json.loads(answer.read())]  # the discovery, waited for
        self.assertTrue(found)
        done = subprocess.run([sys.executable, os.path.join(t.HERE, "runas_meta.py"), "profiles", "--write",
                               "--prefix", "gen"], env=dict(self.environ), capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, done.stderr)
        with open(self.config_path) as handle:
            text = handle.read()
        for name in found:
            self.assertIn("[profile gen-%s]" % name, text)
        method, creds = botocore_credentials(dict(self.client_env(AWS_PROFILE="gen-" + found[0]),
                                                  AWS_CONFIG_FILE=self.config_path))
        self.assertEqual(method, "custom-process")
        self.assertEqual(creds.access_key, self.fake.issued_keys[-1])

    def test_ec2_mode(self):
        self.cli_token(START)
        self.cli_token("corp")
        service = self.start("ec2", "-p", "0", "onsso")
        arn = self.aws_cli(self.client_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=service.url + "/"))
        self.assertTrue(arn.startswith(ASSUMED % ("dev", "chained")), arn)
        legacy = self.start("ec2", "-p", "0", "legacy")
        method, creds = botocore_credentials(self.client_env(AWS_EC2_METADATA_SERVICE_ENDPOINT=legacy.url + "/"))
        self.assertEqual(method, "iam-role")
        self.assertEqual(creds.access_key, self.fake.issued_keys[-1])

    def test_headless_device_sign_in_on_the_terminal(self):
        service = t.ServiceProcess(["ecs", "-p", "0", "--headless", "modern"], dict(self.environ),
                                   stdin=None, before_banner=self._approve_from_output)
        self.addCleanup(service.stop)
        self.assertIn("enter the code", service.output)
        method, creds = botocore_credentials(self.client_env(AWS_CONTAINER_CREDENTIALS_FULL_URI=service.url
                                                             + "/credentials"))
        self.assertIn(creds.access_key, self.fake.issued_keys)
        self.assertTrue(self.read_token("corp")["refreshToken"])

    def _approve_from_output(self, line):
        if "enter the code" in line:
            self.assertTrue(self.fake.approve(line.rsplit(" ", 1)[-1].strip()))


class SharedTokenCache(SSOClientCase):
    def engine(self):
        config = rm.Config(environ=self.environ, check_interval=0).load()
        return rm.Engine(config, rm.STS(self.environ), environ=self.environ)

    def test_runas_meta_sign_in_serves_botocore_and_the_cli(self):
        engine = self.engine()
        done = threading.Event()
        base = engine.sso_base("modern")
        view = engine.sso.sign_ins.start_device(base, "modern", lambda name: done.set())
        self.assertTrue(self.fake.approve(view["user_code"]))
        self.assertTrue(done.wait(30), engine.sso.sign_ins.device_view(base))
        registered = len(self.fake.calls("/client/register"))
        got = self.botocore_direct("modern")
        self.assertIn(got.get("access_key"), self.fake.issued_keys, got)
        cli_env = dict(self.environ, AWS_SHARED_CREDENTIALS_FILE=self.empty)
        arn = self.aws_cli(cli_env, "--profile", "onsso")
        self.assertTrue(arn.startswith(ASSUMED % ("dev", "chained")), arn)
        self.assertEqual(len(self.fake.calls("/client/register")), registered)  # no sign-in by them
        self.assertEqual(self.fake.calls("/device_authorization").__len__(), 1)

    def test_token_refreshed_by_botocore_serves_runas_meta(self):
        old = self.cli_token("corp", lifetime=300, refresh=True)
        self.assertIn("access_key", self.botocore_direct("modern"))
        new = self.read_token("corp")
        self.assertNotEqual(new["accessToken"], old["accessToken"])
        self.fake.tokens[old["accessToken"]]["revoked"] = True
        refreshes = len(self.fake.calls("/token"))
        creds = self.engine().credentials("modern")
        self.assertEqual(creds.access_key_id, self.fake.issued_keys[-1])
        self.assertEqual(len(self.fake.calls("/token")), refreshes)
        bearer = self.fake.calls("/federation/credentials")[-1]["headers"]["x-amz-sso_bearer_token"]
        self.assertEqual(bearer, new["accessToken"])


if __name__ == "__main__":
    unittest.main()
