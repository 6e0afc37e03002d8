"""The AWS config as botocore reads it: a differential test.

Each case is a config and a credentials file, written to a temporary HOME
and read by both sides: the installed botocore (the judge) and runas-meta.
Both get their credentials from the same recording fake STS of ours (and
our fake IAM Identity Center, a fake container endpoint and a fake IMDS for
credential_source), on 127.0.0.1.  The suite compares:

- whether the files are refused (runas-meta: one clear line, no traceback);
- the set of profiles;
- each profile's settings that matter (role, source, credential_source, MFA
  device, region, duration, session name, external id, SSO keys, process);
- the chain of calls each profile resolves to (AssumeRole and
  AssumeRoleWithWebIdentity with their role, external id, configured
  session name and MFA device), the MFA devices used on the way and, where
  no call is made, the keys served; or that both refuse it.

Deliberate differences (also in README, "Configuration"), normalised here:
- runas-meta turns long-term keys into a session token first
  (GetSessionToken, with the MFA code when the keys' profile or the first
  role has mfa_serial: one code a 12-hour session, as aws-runas); botocore
  uses the keys directly and sends the code with the first AssumeRole.  So
  GetSessionToken calls signed with long-term keys are left out of
  runas-meta's list, and their MFA device counts as used.
- A RoleSessionName that the config does not set is each side's own default
  (botocore-session-<time>; runas-meta the IAM user or OS user), and
  DurationSeconds is runas-meta's default 1 h where botocore sends none:
  neither is compared unless configured (session names).
- GetCallerIdentity (runas-meta's session name and identity line) is left out.
"""

import hashlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
import unittest
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from unittest import mock

from e2e._peers import need
from e2e.fake_sso import FakeSSO

import runas_meta as rm
import test_runas_meta as t

botocore_session = need("botocore.session")
botocore_exceptions = need("botocore.exceptions")
botocore_credentials = need("botocore.credentials")
botocore_tokens = need("botocore.tokens")

ACCOUNT = t.ACCOUNT
START = "https://d-1234567890.awsapps.com/start"
FIELDS = {  # botocore's key -> runas-meta's Profile field
    "role_arn": "role_arn", "source_profile": "source_profile", "credential_source": "credential_source",
    "mfa_serial": "mfa_serial", "region": "region", "duration_seconds": "role_duration",
    "role_session_name": "role_session_name", "external_id": "external_id", "sso_session": "sso_session",
    "sso_account_id": "sso_account_id", "sso_role_name": "sso_role_name",
    "credential_process": "credential_process", "web_identity_token_file": "web_identity_token_file",
}
PROCESS = ('import json; print(json.dumps({"Version": 1, "AccessKeyId": "AKIAPROCESS", '
           '"SecretAccessKey": "procSecret"}))')


def role(name):
    return "arn:aws:iam::%s:role/%s" % (ACCOUNT, name)


SERIAL = "arn:aws:iam::%s:mfa/alice" % ACCOUNT
SERIAL2 = "arn:aws:iam::%s:mfa/bob" % ACCOUNT
KEYS = "aws_access_key_id = AKIA{0}\naws_secret_access_key = secret{0}\n"


def keys(tag):
    return KEYS.format(tag)


class Case:
    def __init__(self, name, config="", credentials="", env=None, raw=False):
        self.name, self.env, self.raw = name, env or {}, raw
        values = {"r1": role("one"), "r2": role("two"), "r3": role("three"), "serial": SERIAL,
                  "serial2": SERIAL2, "start": START, "account": "111122223333",
                  "token_file": "{token_file}", "python": "{python}", "process": "{process}"}  # filled per run
        self.config = config if raw else config.format(**values)
        self.credentials = credentials if raw else credentials.format(**values)


# ---- the corpus ----------------------------------------------------------
# At least three cases for each rule of the issue; the comment names it.

CASES = [
    # plain keys, tokens (rule 7)
    Case("keys in the credentials file", "[profile a]\nregion = eu-west-1\n", "[a]\n" + keys("A")),
    Case("keys in the config file", "[profile a]\n" + keys("A")),
    Case("keys in both files: the credentials file wins", "[profile a]\n" + keys("CFG"), "[a]\n" + keys("CRED")),
    Case("session token", "", "[a]\n" + keys("A").replace("AKIA", "ASIA") + "aws_session_token = tokA\n"),
    Case("aws_security_token (saml2aws)", "", "[a]\n" + keys("A").replace("AKIA", "ASIA") + "aws_security_token = tokB\n"),
    Case("both token names", "", "[a]\n" + keys("A").replace("AKIA", "ASIA")
         + "aws_session_token = new\naws_security_token = old\n"),
    Case("role over a source with a session token",
         "[profile r]\nrole_arn = {r1}\nsource_profile = t\n",
         "[t]\n" + keys("T").replace("AKIA", "ASIA") + "aws_session_token = tokT\n"),
    Case("half a key pair", "", "[a]\naws_access_key_id = AKIAHALF\n"),
    # section names (rule 1)
    Case("quoted profile name", '[profile "my name"]\n' + keys("Q")),
    Case("spaces inside the brackets", "[profile  dev]\n" + keys("D") + "[profile ops ]\n" + keys("O")),
    Case("an unquoted space is not a profile", "[profile my profile]\n" + keys("X") + "[profile ok]\n" + keys("K")),
    Case("quoted sso-session name", '[profile s]\nsso_session = my corp\nsso_account_id = {account}\n'
         'sso_role_name = Admin\n[sso-session "my corp"]\nsso_start_url = {start}\nsso_region = us-east-1\n'),
    Case("profile prefix without a space", "[profilex]\n" + keys("Y") + "[profile]\n" + keys("Z")),
    Case("a tab between the words", "[profile\ttabbed]\n" + keys("T")),
    Case("unbalanced quote", '[profile "open]\n' + keys("U") + "[profile fine]\n" + keys("F")),
    Case("credentials file: section names as written", "", "[profile p]\n" + keys("P") + "[plain]\n" + keys("L")),
    Case("other sections are not profiles", "[preview]\ncloudfront = true\n[plugins]\nx = y\n[default]\n" + keys("D")),
    # the parser (rule 2)
    Case("duplicate section", "[profile a]\nregion = us-east-1\n[profile a]\nregion = eu-west-1\n"),
    Case("duplicate key", "[profile a]\nregion = us-east-1\nregion = eu-west-1\n"),
    Case("duplicate section in the credentials file", "", "[a]\n" + keys("A") + "[a]\n" + keys("B")),
    Case("duplicate key in the credentials file", "", "[a]\n" + keys("A") + "aws_access_key_id = AKIAB\n"),
    Case("DEFAULT flows into every section", "[DEFAULT]\nregion = ap-south-1\n[profile a]\n" + keys("A")
         + "[profile b]\nregion = eu-west-1\n" + keys("B")),
    Case("DEFAULT in the credentials file", "", "[DEFAULT]\naws_secret_access_key = shared\n"
         "[a]\naws_access_key_id = AKIAA\n"),
    Case("default, then profile default", "[default]\nregion = us-east-1\n" + keys("D1")
         + "[profile default]\nregion = eu-west-1\n"),
    Case("profile default, then default", "[profile default]\nregion = eu-west-1\n" + keys("D2")
         + "[default]\nregion = us-east-1\n"),
    Case("default with keys in the credentials file", "[default]\nregion = eu-central-1\n", "[default]\n" + keys("D")),
    Case("nested sub-section", "[profile a]\n" + keys("A") + "s3 =\n  addressing_style = path\n"
         "  signature_version = s3v4\n"),
    Case("malformed nested sub-section", "[profile a]\n" + keys("A") + "s3 =\n  addressing_style\n"),
    Case("byte-order mark", "\ufeff[profile a]\n" + keys("A")),
    Case("key before any section", "region = us-east-1\n[profile a]\n" + keys("A")),
    Case("comments and blank lines", "# mine\n\n[profile a]\n; note\n" + keys("A") + "\n# end\n"),
    Case("colon as separator", "[profile a]\naws_access_key_id: AKIACOLON\naws_secret_access_key: s\n"),
    Case("upper-case keys", "[profile a]\nAWS_ACCESS_KEY_ID = AKIAUP\nAWS_SECRET_ACCESS_KEY = s\nRegion = eu-west-3\n"),
    # which credentials a profile uses (rule 3)
    Case("role with source_profile", "[profile r]\nrole_arn = {r1}\nsource_profile = base\n", "[base]\n" + keys("B")),
    Case("role chain of three", "[profile a]\nrole_arn = {r1}\nsource_profile = b\n[profile b]\nrole_arn = {r2}\n"
         "source_profile = c\n[profile c]\nrole_arn = {r3}\nsource_profile = base\n", "[base]\n" + keys("B")),
    Case("role_arn with no source", "[profile r]\nrole_arn = {r1}\n", "[r]\n" + keys("R")),
    Case("source_profile and credential_source", "[profile r]\nrole_arn = {r1}\nsource_profile = base\n"
         "credential_source = Environment\n", "[base]\n" + keys("B")),
    Case("source_profile without role_arn, no keys", "[profile s]\nsource_profile = base\n", "[base]\n" + keys("B")),
    Case("source_profile without role_arn, with keys", "[profile s]\nsource_profile = base\n" + keys("S"),
         "[base]\n" + keys("B")),
    Case("a profile that sources itself", "[profile me]\nrole_arn = {r1}\nsource_profile = me\n" + keys("ME")),
    Case("sources itself without keys", "[profile me]\nrole_arn = {r1}\nsource_profile = me\n"),
    Case("a self-sourcing profile as another's source",
         "[profile top]\nrole_arn = {r2}\nsource_profile = me\n[profile me]\nrole_arn = {r1}\nsource_profile = me\n"
         + keys("ME")),
    Case("a source with keys and a role: its keys",
         "[profile top]\nrole_arn = {r2}\nsource_profile = mid\n[profile mid]\nrole_arn = {r1}\nsource_profile = base\n",
         "[mid]\n" + keys("MID") + "[base]\n" + keys("B")),
    Case("missing source profile", "[profile r]\nrole_arn = {r1}\nsource_profile = ghost\n"),
    Case("source_profile cycle", "[profile a]\nrole_arn = {r1}\nsource_profile = b\n"
         "[profile b]\nrole_arn = {r2}\nsource_profile = a\n"),
    Case("a source without credentials", "[profile r]\nrole_arn = {r1}\nsource_profile = empty\n"
         "[profile empty]\nregion = us-east-1\n"),
    Case("process over config keys", "[profile p]\ncredential_process = {python} -c '{process}'\n" + keys("CFG")),
    Case("credentials-file keys over process", "[profile p]\ncredential_process = {python} -c '{process}'\n",
         "[p]\n" + keys("CRED")),
    Case("a role over a process", "[profile r]\nrole_arn = {r1}\nsource_profile = p\n"
         "[profile p]\ncredential_process = {python} -c '{process}'\n"),
    Case("role settings", "[profile r]\nrole_arn = {r1}\nsource_profile = base\nexternal_id = ext-123\n"
         "role_session_name = my-session\nduration_seconds = 1800\nregion = eu-west-2\n", "[base]\n" + keys("B")),
    Case("region from the source is not inherited by botocore's settings",
         "[profile r]\nrole_arn = {r1}\nsource_profile = base\n[profile base]\nregion = sa-east-1\n", "[base]\n" + keys("B")),
    Case("no credentials at all", "[profile nothing]\nregion = us-east-1\n"),
    # credential_source (rule 4)
    Case("credential_source Environment", "[profile r]\nrole_arn = {r1}\ncredential_source = Environment\n",
         env={"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "envSecret"}),
    Case("credential_source Environment, nothing set", "[profile r]\nrole_arn = {r1}\ncredential_source = Environment\n"),
    Case("credential_source EcsContainer", "[profile r]\nrole_arn = {r1}\ncredential_source = EcsContainer\n",
         env={"AWS_CONTAINER_CREDENTIALS_FULL_URI": "{container}"}),
    Case("credential_source Ec2InstanceMetadata", "[profile r]\nrole_arn = {r1}\ncredential_source = Ec2InstanceMetadata\n",
         env={"AWS_EC2_METADATA_SERVICE_ENDPOINT": "{imds}", "AWS_EC2_METADATA_DISABLED": "false"}),
    Case("unknown credential_source", "[profile r]\nrole_arn = {r1}\ncredential_source = Laptop\n"),
    Case("credential_source in lower case", "[profile r]\nrole_arn = {r1}\ncredential_source = environment\n",
         env={"AWS_ACCESS_KEY_ID": "AKIAENV", "AWS_SECRET_ACCESS_KEY": "envSecret"}),
    # a web-identity profile as a source (rule 5)
    Case("web identity profile", "[profile irsa]\nrole_arn = {r1}\nweb_identity_token_file = {token_file}\n"),
    Case("web identity as a source", "[profile deploy]\nrole_arn = {r2}\nsource_profile = irsa\n"
         "[profile irsa]\nrole_arn = {r1}\nweb_identity_token_file = {token_file}\n"),
    Case("web identity with a session name", "[profile irsa]\nrole_arn = {r1}\nweb_identity_token_file = {token_file}\n"
         "role_session_name = pod-1\n"),
    # MFA at any hop (rule 6)
    Case("mfa on the keys' profile", "[profile r]\nrole_arn = {r1}\nsource_profile = base\n",
         "[base]\n" + keys("B") + "mfa_serial = {serial}\n"),
    Case("mfa on the first role", "[profile r]\nrole_arn = {r1}\nsource_profile = base\nmfa_serial = {serial}\n",
         "[base]\n" + keys("B")),
    Case("mfa on the top of a chain", "[profile top]\nrole_arn = {r2}\nsource_profile = mid\nmfa_serial = {serial2}\n"
         "[profile mid]\nrole_arn = {r1}\nsource_profile = base\n", "[base]\n" + keys("B")),
    Case("mfa in the middle of a chain", "[profile top]\nrole_arn = {r3}\nsource_profile = mid\n"
         "[profile mid]\nrole_arn = {r2}\nsource_profile = low\nmfa_serial = {serial2}\n"
         "[profile low]\nrole_arn = {r1}\nsource_profile = base\n", "[base]\n" + keys("B")),
    Case("mfa over a session token", "[profile r]\nrole_arn = {r1}\nsource_profile = t\nmfa_serial = {serial}\n",
         "[t]\n" + keys("T").replace("AKIA", "ASIA") + "aws_session_token = tokT\n"),
    # file locations (rule 8): IDE run settings and .env files pass them unexpanded
    Case("AWS_CONFIG_FILE with $HOME", "[profile a]\n" + keys("A"), env={"AWS_CONFIG_FILE": "$HOME/.aws/config"}),
    Case("AWS_CONFIG_FILE with ${{HOME}}", "[profile a]\n" + keys("A"), env={"AWS_CONFIG_FILE": "${{HOME}}/.aws/config"}),
    Case("AWS_SHARED_CREDENTIALS_FILE with ~", "", "[a]\n" + keys("A"),
         env={"AWS_SHARED_CREDENTIALS_FILE": "~/.aws/credentials"}),
    # IAM Identity Center
    Case("sso-session profile", "[profile s]\nsso_session = corp\nsso_account_id = {account}\nsso_role_name = Admin\n"
         "[sso-session corp]\nsso_start_url = {start}\nsso_region = us-east-1\n"),
    Case("legacy SSO profile", "[profile s]\nsso_start_url = {start}\nsso_region = us-east-1\n"
         "sso_account_id = {account}\nsso_role_name = ReadOnly\n"),
    Case("a role over SSO", "[profile r]\nrole_arn = {r1}\nsource_profile = s\n[profile s]\nsso_session = corp\n"
         "sso_account_id = {account}\nsso_role_name = Admin\n[sso-session corp]\nsso_start_url = {start}\n"
         "sso_region = us-east-1\n"),
    Case("login-only SSO profile", "[profile login]\nsso_session = corp\n[sso-session corp]\nsso_start_url = {start}\n"
         "sso_region = us-east-1\n"),
    Case("SSO with a key missing", "[profile s]\nsso_account_id = {account}\nsso_role_name = Admin\n"),
]


# Deliberate differences: case -> (the exact difference lines, why).  Each is
# in the README too.  A difference not listed here fails the suite, and so
# does a listed one that went away.
KEYS_MFA = "arn:aws:iam::%s:mfa/alice" % ACCOUNT
DELIBERATE = {
    "mfa on the keys' profile": ([
        "base: botocore ('ok', [], [], 'AKIAB'), runas-meta ('ok', [], ['%s'], 'AKIAB')" % KEYS_MFA,
        "r: botocore ('ok', [('AssumeRole', '%s', None, None)], [], None), runas-meta ('ok', [('AssumeRole', "
        "'%s', None, None)], ['%s'], None)" % (role("one"), role("one"), KEYS_MFA)],
        "mfa_serial on the keys' profile: runas-meta asks for the code once and keeps a 12-hour MFA session "
        "(GetSessionToken), as aws-runas does; botocore reads mfa_serial only on role profiles"),
}


# ---- peers ---------------------------------------------------------------


class SourceEndpoints:
    """A container endpoint and an IMDS (v2) on 127.0.0.1 that hand out keys."""

    def __init__(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_PUT(self):
                self.reply(200, "imds-token", "text/plain")

            def do_GET(self):
                doc = {"AccessKeyId": "ASIA" + self.path.strip("/").replace("/", "").upper()[-8:],
                       "SecretAccessKey": "srcSecret", "Token": "srcToken",
                       "Expiration": rm.format_time(rm.utcnow() + rm.dt.timedelta(hours=1))}
                if self.path == "/latest/meta-data/iam/security-credentials/":
                    self.reply(200, "instance-role", "text/plain")
                else:
                    self.reply(200, json.dumps(doc), "application/json")

            def reply(self, status, text, kind):
                body = text.encode()
                self.send_response(status)
                self.send_header("Content-Type", kind)
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


# ---- the two sides -------------------------------------------------------


def normalise(calls, config_text, runas):
    """(AssumeRole-like calls, MFA devices used, keys served when no call)."""
    out, serials = [], set()
    for call in calls:
        action = call.get("Action")
        if "SerialNumber" in call:
            serials.add(call["SerialNumber"])
        if action == "GetCallerIdentity":
            continue
        if runas and action == "GetSessionToken" and (call.get("_key") or "").startswith("AKIA"):
            continue
        name = call.get("RoleSessionName")
        configured = name and re.search(r"(?m)^role_session_name\s*=\s*%s\s*$" % re.escape(name), config_text)
        out.append((action, call.get("RoleArn"), call.get("ExternalId"), name if configured else None))
    return out, sorted(serials)


class Sides:
    def __init__(self, test, case):
        self.test, self.case = test, case
        self.home = tempfile.mkdtemp(prefix="runas-meta-diff-")
        test.addCleanup(shutil.rmtree, self.home, True)
        aws = os.path.join(self.home, ".aws")
        os.makedirs(os.path.join(aws, "sso", "cache"))
        token_file = os.path.join(self.home, "token")
        with open(token_file, "w") as handle:
            handle.write(t.fake_jwt("pod", "sts"))
        fill = {"token_file": token_file, "python": sys.executable, "process": PROCESS,
                "container": test.endpoints.url + "/container", "imds": test.endpoints.url}
        config, credentials = case.config, case.credentials
        if not case.raw:
            config = config.replace("{token_file}", token_file).replace("{python}", sys.executable) \
                .replace("{process}", PROCESS)
        self.config_text = config
        with open(os.path.join(aws, "config"), "w", encoding="utf-8") as handle:
            handle.write(config)
        with open(os.path.join(aws, "credentials"), "w", encoding="utf-8") as handle:
            handle.write(credentials)
        self.env = {"HOME": self.home, "PATH": os.environ.get("PATH", ""),
                    "AWS_CONFIG_FILE": os.path.join(aws, "config"),
                    "AWS_SHARED_CREDENTIALS_FILE": os.path.join(aws, "credentials"),
                    "AWS_ENDPOINT_URL_STS": test.sts.url, "AWS_ENDPOINT_URL_SSO": test.sso.url,
                    "AWS_ENDPOINT_URL_SSO_OIDC": test.sso.url, "AWS_EC2_METADATA_DISABLED": "true"}
        self.env.update({k: v.format(**fill) for k, v in case.env.items()})
        self.sso_token()

    def sso_token(self):
        """A cached IAM Identity Center token for both sides (the CLI's cache)."""
        issued = self.test.sso.add_token(lifetime=7200)
        doc = {"startUrl": START, "region": "us-east-1", "accessToken": issued["accessToken"],
               "expiresAt": rm.format_time(rm.utcnow() + rm.dt.timedelta(hours=2))}
        for key in ("corp", "my corp", START):
            path = os.path.join(self.home, ".aws", "sso", "cache", hashlib.sha1(key.encode()).hexdigest() + ".json")
            with open(path, "w") as handle:
                json.dump(doc, handle)

    # botocore

    def botocore(self):
        cache = os.path.join(self.home, ".aws", "sso", "cache")  # botocore fixes these at import
        env = dict(self.env, AWS_DEFAULT_REGION="us-east-1")  # its STS client needs one; runas-meta's does not
        with mock.patch.dict(os.environ, env, clear=True), \
                mock.patch.object(botocore_credentials.SSOProvider, "_SSO_TOKEN_CACHE_DIR", cache), \
                mock.patch.object(botocore_tokens.SSOTokenProvider, "_SSO_TOKEN_CACHE_DIR", cache):
            try:
                names = sorted(botocore_session.Session().available_profiles)
            except botocore_exceptions.ConfigParseError:
                return "refused"
            full = botocore_session.Session().full_config["profiles"]
            return {name: (self.botocore_settings(full.get(name, {})), self.botocore_result(name)) for name in names}

    @staticmethod
    def botocore_settings(raw):
        return {key: raw[key].strip() for key in FIELDS if isinstance(raw.get(key), str) and raw[key].strip()}

    def botocore_result(self, name):
        self.test.sts.calls.clear()
        session = botocore_session.Session(profile=name)
        session.get_component("credential_provider").get_provider("assume-role")._prompter = lambda prompt: t.GOOD_CODE
        try:
            creds = session.get_credentials()
            frozen = creds.get_frozen_credentials() if creds else None
        except Exception as exc:  # botocore refuses the profile: the kind of refusal is not compared
            return ("refused", type(exc).__name__)
        if frozen is None:
            return ("refused", "NoCredentials")
        calls, serials = normalise(self.test.sts.calls, self.config_text, runas=False)
        return ("ok", calls, serials, None if calls else self.served(frozen.access_key))

    def served(self, key):
        """Keys from the files as they are; the portal's or a source's fresh ones as where they came from."""
        return key if key in self.config_text + self.case.credentials + json.dumps(self.env) else "issued"

    # runas-meta

    def runas(self):
        try:
            config = rm.Config(environ=self.env, check_interval=0).load()
        except rm.ConfigError as exc:
            return "refused", str(exc)
        return {name: (self.runas_settings(config, name), self.runas_result(config, name)) for name in config.names()}

    @staticmethod
    def runas_settings(config, name):
        try:
            profile = config.profile(name)
        except rm.ConfigError as exc:
            return ("refused", str(exc))
        out = {}
        for key, attribute in FIELDS.items():
            value = getattr(profile, attribute, "")  # (tolerant, so older code gives differences, not errors)
            if attribute == "role_duration":
                value = str(value) if value != rm.ROLE_DURATION[0] else ""
            if value:
                out[key] = value
        return out

    def runas_result(self, config, name):
        self.test.sts.calls.clear()
        cache = tempfile.mkdtemp(dir=self.home)
        engine = rm.Engine(config, rm.STS(self.env, sleep=lambda s: None, timeout=5), environ=self.env,
                           cache_dir=cache, sso=rm.IdentityCenter(self.env, cache_dir=os.path.join(
                               self.home, ".aws", "sso", "cache")), process_timeout=10)
        try:
            for _ in range(4):  # one code per layer that asks for one
                try:
                    creds = engine.credentials(name, mfa_code=t.GOOD_CODE)
                    break
                except rm.MFARequired:
                    continue
            else:
                return ("refused", "MFA asked again and again")
        except rm.RunasError as exc:
            return ("refused", str(exc))
        calls, serials = normalise(self.test.sts.calls, self.config_text, runas=True)
        session = [c for c in self.test.sts.calls if c.get("Action") == "GetSessionToken"]
        served = session[-1]["_key"] if session and not calls else (None if calls else creds.access_key_id)
        return ("ok", calls, serials, served and self.served(served))


def compare(test, case, ours, theirs):
    """The differences between the two readings, as lines."""
    our_refusal = ours[1] if isinstance(ours, tuple) else None  # ("refused", the one line)
    if our_refusal is not None or theirs == "refused":
        if our_refusal is not None and theirs == "refused":
            test.assertNotIn("\n", our_refusal, case.name)
            test.assertNotIn("Traceback", our_refusal)
            return []
        return ["files: botocore %s, runas-meta %s" % ("refused" if theirs == "refused" else "read",
                                                      "refused (%s)" % our_refusal if our_refusal else "read")]
    lines = []
    if sorted(ours) != sorted(theirs):
        lines.append("profiles: botocore %s, runas-meta %s" % (sorted(theirs), sorted(ours)))
    for name in sorted(set(ours) & set(theirs)):
        (our_settings, our_result), (their_settings, their_result) = ours[name], theirs[name]
        if isinstance(our_settings, dict) and our_settings != their_settings:
            lines.append("%s settings: botocore %s, runas-meta %s" % (name, their_settings, our_settings))
        if their_result[0] == "refused" and our_result[0] == "refused":
            test.assertNotIn("\n", our_result[1])
            continue
        if our_result[:1] != their_result[:1] or our_result != their_result:
            lines.append("%s: botocore %s, runas-meta %s" % (name, their_result, our_result))
    return lines


class BotocoreReadsTheSameConfig(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        t.quiet_logs()
        cls.sts = t.FakeSTS()
        cls.sso = FakeSSO()
        cls.endpoints = SourceEndpoints()

    @classmethod
    def tearDownClass(cls):
        cls.sts.close()
        cls.sso.close()
        cls.endpoints.close()

    def test_corpus_size(self):
        self.assertGreaterEqual(len(CASES), 60)
        self.assertEqual(len({case.name for case in CASES}), len(CASES))

    def test_every_case_reads_alike(self):
        differences = {}
        for case in CASES:
            with self.subTest(case=case.name):
                sides = Sides(self, case)
                lines = compare(self, case, sides.runas(), sides.botocore())
                if lines:
                    differences[case.name] = lines
        expected = {name: lines for name, (lines, _) in DELIBERATE.items()}
        self.assertEqual(differences, expected, "\n".join("%s:\n  %s" % (k, "\n  ".join(v))
                                                          for k, v in differences.items() if k not in expected))


if __name__ == "__main__":
    unittest.main()
