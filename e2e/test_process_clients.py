"""`runas-meta process` as a credential_process, judged by the real clients:
botocore and the AWS CLI read a profile whose credential_process is the
command, with nothing else set, and get the running service's credentials."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from e2e._peers import FULL, empty_file, need, need_command
from e2e.test_clients import botocore_credentials

import test_runas_meta as t

need("botocore")
need_command("aws")

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class ProcessProfileInClients(t.FakeSTSCase):
    def setUp(self):
        super().setUp()
        command = "%s %s process nomfa" % (sys.executable, os.path.join(HERE, "runas_meta.py"))
        self.files(t.STANDARD_CONFIG + "[profile via-runas]\ncredential_process = %s\nregion = eu-west-1\n" % command,
                   t.STANDARD_CREDENTIALS)
        self.service = self.start_service()
        self.client = {"HOME": self.home, "AWS_CONFIG_FILE": self.config_path, "AWS_PROFILE": "via-runas",
                       "AWS_SHARED_CREDENTIALS_FILE": empty_file(self), "AWS_EC2_METADATA_DISABLED": "true"}

    def test_botocore_reads_the_profile(self):
        method, creds = botocore_credentials(self.client)
        self.assertEqual(method, "custom-process")
        served = self.service.get("/credentials/nomfa")
        self.assertEqual((creds.access_key, creds.secret_key, creds.token),
                         (served["AccessKeyId"], served["SecretAccessKey"], served["Token"]))

    def test_the_aws_cli_calls_sts_with_it(self):
        env = dict(self.client, PATH=os.environ["PATH"], AWS_ENDPOINT_URL_STS=self.sts_server.url)
        result = subprocess.run(["aws", "sts", "get-caller-identity", "--output", "json"], env=env,
                                capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        served = self.service.get("/credentials/nomfa")
        self.assertEqual(self.sts_server.calls[-1]["_key"], served["AccessKeyId"])  # signed with the served keys
        self.assertEqual(json.loads(result.stdout)["Arn"], self.sts_server.identities[served["AccessKeyId"]])

    def test_a_generated_profile_works_with_nothing_set(self):
        """profiles --write, then botocore with only AWS_PROFILE naming the generated profile."""
        env = dict(self.client, PATH=os.environ["PATH"])
        del env["AWS_PROFILE"]
        result = subprocess.run([sys.executable, os.path.join(HERE, "runas_meta.py"), "profiles", "--write",
                                 "--prefix", "gen"], env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        method, creds = botocore_credentials(dict(self.client, AWS_PROFILE="gen-nomfa"))
        self.assertEqual(method, "custom-process")
        self.assertEqual(creds.access_key, self.service.get("/credentials/nomfa")["AccessKeyId"])
        method, creds = botocore_credentials(dict(self.client, AWS_PROFILE="gen-deeper"))  # a role chain: the
        self.assertEqual(creds.access_key, self.service.get("/credentials/deeper")["AccessKeyId"])  # service's own

    def test_the_js_sdk_reads_a_generated_profile(self):
        """The JavaScript SDK v3's fromIni runs the generated credential_process."""
        node = need_command("node")
        script = os.path.join(HERE, "e2e", "sdk-js", "from-ini.mjs")
        if not os.path.isdir(os.path.join(HERE, "e2e", "sdk-js", "node_modules")):
            message = "npm ci --prefix e2e/sdk-js has not run"
            if FULL:
                raise AssertionError(message)
            raise unittest.SkipTest(message)
        env = dict(self.client, PATH=os.environ["PATH"])
        del env["AWS_PROFILE"]
        subprocess.run([sys.executable, os.path.join(HERE, "runas_meta.py"), "profiles", "--write", "--prefix", "js"],
                       env=env, check=True, capture_output=True, timeout=60)
        result = subprocess.run([node, script], env=dict(env, AWS_PROFILE="js-nomfa"), capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        seen = json.loads(result.stdout)
        served = self.service.get("/credentials/nomfa")
        self.assertEqual(seen["accessKeyId"], served["AccessKeyId"])
        self.assertEqual(seen["expiration"][:19], served["Expiration"][:19])

    def test_the_go_sdk_reads_a_generated_profile(self):
        """The Go SDK v2's shared config (Debian's package, built in GOPATH mode) runs the generated process."""
        go = need_command("go")
        source = "/usr/share/gocode/src/github.com/aws/aws-sdk-go-v2/config"
        if not os.path.isdir(source):
            message = "the Go SDK v2 is not installed (Debian's golang-github-aws-aws-sdk-go-v2-dev)"
            if FULL:
                raise AssertionError(message)
            raise unittest.SkipTest(message)
        build = tempfile.mkdtemp(prefix="runas-meta-go-")
        self.addCleanup(shutil.rmtree, build, True)
        binary = os.path.join(build, "from-config")
        subprocess.run([go, "build", "-o", binary, os.path.join(HERE, "e2e", "sdk-go", "main.go")], check=True,
                       capture_output=True, timeout=300, env=dict(os.environ, GO111MODULE="off", GOFLAGS="",
                                                                  GOPATH="/usr/share/gocode",
                                                                  GOCACHE=os.path.join(build, "cache")))
        env = dict(self.client, PATH=os.environ["PATH"])
        del env["AWS_PROFILE"]
        subprocess.run([sys.executable, os.path.join(HERE, "runas_meta.py"), "profiles", "--write", "--prefix", "go"],
                       env=env, check=True, capture_output=True, timeout=60)
        result = subprocess.run([binary], env=dict(env, AWS_PROFILE="go-nomfa"), capture_output=True, text=True,
                                timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        seen = json.loads(result.stdout)
        self.assertEqual(seen["accessKeyId"], self.service.get("/credentials/nomfa")["AccessKeyId"])
        self.assertEqual(seen["source"], "ProcessProvider")


if __name__ == "__main__":
    unittest.main()
