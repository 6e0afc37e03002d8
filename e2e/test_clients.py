"""Real clients against the running service, backed by moto's STS:
botocore over IMDSv2, IMDSv1 and with v1 disabled, over the ECS endpoint
(with and without the authorization token and its file), another profile
through /credentials/<name>, the MFA flow through the API, and the AWS CLI
against the service started from the command line."""

import json
import os
import subprocess
import threading
import unittest
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from e2e._peers import MOTO_CREDENTIALS, MotoSTS, empty_file, need, need_command

import runas_meta as rm
import test_runas_meta as t

botocore_session = need("botocore.session")
need("boto3")

CONFIG = """\
[profile base]
region = us-east-1

[profile dev]
role_arn = arn:aws:iam::123456789012:role/dev
source_profile = base
mfa_serial = arn:aws:iam::123456789012:mfa/alice

[profile nomfa]
role_arn = arn:aws:iam::123456789012:role/nomfa
source_profile = base
role_session_name = e2e

[profile deeper]
role_arn = arn:aws:iam::123456789012:role/deeper
source_profile = nomfa
"""
CREDENTIALS = MOTO_CREDENTIALS
ROLE_ARN = "arn:aws:sts::123456789012:assumed-role/%s/"


def botocore_credentials(env):
    """What botocore's default chain finds with exactly these variables."""
    with mock.patch.dict(os.environ, dict(env, PATH=os.environ.get("PATH", "")), clear=True):
        creds = botocore_session.Session().get_credentials()
        if creds is None:
            return None, None
        return creds.method, creds.get_frozen_credentials()


class TokenRefusingFront:
    """An IMDS front whose token PUT answers 403 (as behind a proxy), so
    clients fall back to IMDSv1; GETs are passed to the service."""

    def __init__(self, target):
        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):
                self.send_response(403)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self):
                headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
                request = urllib.request.Request(target + self.path, headers=headers)
                try:
                    with urllib.request.urlopen(request, timeout=5) as response:
                        status, body = response.status, response.read()
                except urllib.error.HTTPError as exc:
                    status, body = exc.code, exc.read()
                self.send_response(status)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


class ClientsAgainstService(t.TempHome):
    def setUp(self):
        super().setUp()
        self.moto = MotoSTS()
        self.addCleanup(self.moto.stop)
        self.files(CONFIG, CREDENTIALS)
        self.environ["AWS_ENDPOINT_URL_STS"] = self.moto.url
        config = self.config()
        self.service = rm.Service(rm.Engine(config, rm.STS(self.environ), environ=self.environ), config)
        self.service.activate("nomfa")
        self.seen = []
        handle = self.service.handle
        self.service.handle = lambda request: self.seen.append(request) or handle(request)
        self.server = t.serve(self, self.service)
        self.url = self.service.base_url
        self.empty = empty_file(self)
        self.base_env = {"AWS_CONFIG_FILE": self.empty, "AWS_SHARED_CREDENTIALS_FILE": self.empty}

    def env(self, **extra):
        return dict(self.base_env, **extra)

    def assert_role(self, found, role, method):
        got_method, creds = found
        self.assertEqual(got_method, method)
        arn = self.moto.identity(creds.access_key, creds.secret_key, creds.token)["Arn"]
        self.assertTrue(arn.startswith(ROLE_ARN % role), arn)

    def test_imds_v2(self):
        self.service.policy.imds_v2_only = True
        found = botocore_credentials(self.env(AWS_EC2_METADATA_SERVICE_ENDPOINT=self.url + "/"))
        self.assert_role(found, "nomfa", "iam-role")
        self.assertIn("PUT", [r.method for r in self.seen])

    def test_imds_v1_disabled_in_the_client(self):
        found = botocore_credentials(self.env(AWS_EC2_METADATA_SERVICE_ENDPOINT=self.url + "/",
                                              AWS_EC2_METADATA_V1_DISABLED="true"))
        self.assert_role(found, "nomfa", "iam-role")
        gets = [r for r in self.seen if r.method == "GET"]
        self.assertTrue(gets and all(r.header("x-aws-ec2-metadata-token") for r in gets))

    def test_imds_v1(self):
        front = TokenRefusingFront(self.url)
        self.addCleanup(front.close)
        found = botocore_credentials(self.env(AWS_EC2_METADATA_SERVICE_ENDPOINT=front.url + "/"))
        self.assert_role(found, "nomfa", "iam-role")
        gets = [r for r in self.seen if r.method == "GET"]
        self.assertTrue(gets and not any(r.header("x-aws-ec2-metadata-token") for r in gets))

    def test_ecs(self):
        found = botocore_credentials(self.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.url + "/credentials"))
        self.assert_role(found, "nomfa", "container-role")

    def test_ecs_other_profile(self):
        found = botocore_credentials(self.env(
            AWS_CONTAINER_CREDENTIALS_FULL_URI=self.url + "/credentials/deeper"))
        self.assert_role(found, "deeper", "container-role")
        self.assertEqual(self.service.active, "nomfa")

    def test_ecs_authorization_token_and_file(self):
        self.service.policy.auth_token = "e2e-token-value"
        uri = self.url + "/credentials"
        found = botocore_credentials(self.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=uri,
                                              AWS_CONTAINER_AUTHORIZATION_TOKEN="e2e-token-value"))
        self.assert_role(found, "nomfa", "container-role")
        token_file = empty_file(self)
        with open(token_file, "w") as handle:
            handle.write("e2e-token-value")
        found = botocore_credentials(self.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=uri,
                                              AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=token_file))
        self.assert_role(found, "nomfa", "container-role")
        with self.assertRaises(Exception) as caught:
            botocore_credentials(self.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=uri,
                                          AWS_CONTAINER_AUTHORIZATION_TOKEN="wrong"))
        self.assertIn("401", str(caught.exception))

    def test_mfa_flow_through_the_api(self):
        request = urllib.request.Request(self.url + "/profile", data=b"dev", method="POST")
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(request, timeout=10)
        self.assertEqual(caught.exception.code, 401)
        self.assertEqual(caught.exception.headers[rm.AUTH_TYPE_HEADER], "MFA")
        request = urllib.request.Request(self.url + "/mfa", data=b"mfa=123456", method="POST")
        with urllib.request.urlopen(request, timeout=10) as response:
            self.assertEqual(json.loads(response.read())["profile"], "dev")
        found = botocore_credentials(self.env(AWS_CONTAINER_CREDENTIALS_FULL_URI=self.url + "/credentials"))
        self.assert_role(found, "dev", "container-role")


class AwsCliAgainstTheCommand(t.TempHome):
    """The README's path: start the service from the command line, paste the
    variables, run the AWS CLI."""

    def setUp(self):
        super().setUp()
        self.aws = need_command("aws")
        self.moto = MotoSTS()
        self.addCleanup(self.moto.stop)
        self.files(CONFIG, CREDENTIALS)
        self.env = dict(os.environ, **self.environ)
        self.env["AWS_ENDPOINT_URL_STS"] = self.moto.url
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            self.env.pop(name, None)
        self.empty = empty_file(self)

    def cli_identity(self, variables):
        env = {"PATH": os.environ["PATH"], "HOME": self.home, "AWS_CONFIG_FILE": self.empty,
               "AWS_SHARED_CREDENTIALS_FILE": self.empty, "AWS_DEFAULT_REGION": "us-east-1",
               "AWS_ENDPOINT_URL_STS": self.moto.url}
        env.update(variables)
        result = subprocess.run([self.aws, "sts", "get-caller-identity", "--output", "json"], env=env,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)["Arn"]

    def start(self, *args):
        service = t.ServiceProcess(list(args), self.env)
        self.addCleanup(service.stop)
        return service

    def test_ecs_mode(self):
        service = self.start("ecs", "-v", "-p", "0", "nomfa")
        arn = self.cli_identity({"AWS_CONTAINER_CREDENTIALS_FULL_URI": service.url + "/credentials"})
        self.assertTrue(arn.startswith(ROLE_ARN % "nomfa"), arn)
        served = service.get("/credentials")
        self.assert_refusals(service)
        self.assertEqual(service.stop(), 0)
        for secret in (served["SecretAccessKey"], served["Token"], "moto/secret"):
            self.assertNotIn(secret, service.stderr)
        self.assertIn("GET /credentials 200", service.stderr)

    def test_ec2_mode(self):
        service = self.start("ec2", "-p", "0", "deeper")
        arn = self.cli_identity({"AWS_EC2_METADATA_SERVICE_ENDPOINT": service.url + "/"})
        self.assertTrue(arn.startswith(ROLE_ARN % "deeper"), arn)

    def assert_refusals(self, service):
        rebound = urllib.request.Request(service.url + "/credentials",
                                         headers={"Host": "rebind.example:%d" % service.port})
        cross_site = urllib.request.Request(service.url + "/profile", data=b"base", method="POST",
                                            headers={"Origin": "http://evil.example"})
        for request in (rebound, cross_site):
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(request, timeout=10)
            self.assertEqual(caught.exception.code, 403)
        self.assertEqual(service.get("/profile")["name"], "nomfa")


if __name__ == "__main__":
    unittest.main()
