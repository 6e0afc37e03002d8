"""The standard-library suite of runas-meta: `python -m unittest` (or pytest).

Everything here runs with Python alone: config parsing, durations, SigV4's
published known answer, a fake STS of our own on 127.0.0.1 (throttling,
failures, hangs, garbage, MFA), the engine, the dispatcher in-process, the
real server in a thread and the command line as a subprocess.  Suites that
need third-party peers live in e2e/.
"""

import base64
import contextlib
import datetime as dt
import errno
import hashlib
import http.client
import io
import json
import logging
import os
import re
import select
import shlex
import shutil
import signal
import socket
import ssl
import stat
import string
import struct
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import runas_meta as rm

HERE = os.path.dirname(os.path.abspath(__file__))
ACCOUNT = "123456789012"
ROLE = "arn:aws:iam::%s:role/dev" % ACCOUNT
ROLE2 = "arn:aws:iam::%s:role/deeper" % ACCOUNT
SERIAL = "arn:aws:iam::%s:mfa/alice" % ACCOUNT
BASE_SECRET = "base/Secret/Key/1234567890EXAMPLEKEY"
GOOD_CODE = "246810"  # an MFA code no account ID or port contains


# ---- helpers ---------------------------------------------------------------


class Clock:
    """An injected clock: a UTC datetime that moves only when told to."""

    def __init__(self, start=None):
        self.now = start or dt.datetime(2026, 11, 27, 12, 0, 0, tzinfo=dt.timezone.utc)

    def __call__(self):
        return self.now

    def advance(self, seconds):
        self.now += dt.timedelta(seconds=seconds)

    def monotonic(self):
        return (self.now - dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)).total_seconds()


class _Capture(logging.Handler):
    """Keeps every log line of the whole suite, at DEBUG, for the secret scan."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.lines = []

    def emit(self, record):
        self.lines.append(self.format(record))


CAPTURED = _Capture()
CAPTURED.setFormatter(logging.Formatter("%(levelname)s %(message)s"))


def quiet_logs():
    """The service's log goes to the suite-wide capture (at the highest
    verbosity) and nowhere else, unless a test captures it itself."""
    log = logging.getLogger("runas_meta")
    log.handlers[:] = [CAPTURED]
    log.propagate = False
    log.setLevel(logging.DEBUG)


quiet_logs()

# Every secret the suite's flows handle: none may appear in a log line or an error answer.
SECRETS = ["base/Secret/Key/1234567890EXAMPLEKEY", "fakeSecret", "fakeToken", "staticSecret", "staticToken",
           "246810", "654321", "112233", "999999", "kc-password", "okta-password", "push-password",
           "eyJhbGciOiAibm9uZSJ9", "PHNhbWxwOlJlc3BvbnNl", "s3cret-token", "e2e-token-value",
           # IAM Identity Center (e2e/fake_sso.py) and credential_process output
           "ssoaccess-", "ssorefresh-", "clientsecret-", "ssoSecret", "ssoSession", "authcode-", "devcode-",
           "procSecret", "procToken", "procStderrSecret", "signintoken-",
           # OneLogin, Azure AD and ForgeRock fakes (e2e/fake_onelogin.py, fake_azuread.py, fake_forgerock.py)
           "ol-password", "aad-password", "fr-password", "home-password", "olApiSecret", "olapitoken-",
           "olsession-", "estsauth-", "frsession-",
           # aws login and Okta Identity Engine fakes (e2e/fake_signin.py, e2e/fake_okta_oie.py)
           "loginSecret", "loginToken", "oktaAccess-", "oktaId-", "oktaWebSso-", "oktaRefresh-"]


# An MFA code is six digits: found only where it stands alone, not inside a
# hex digest or a number (a SigV4 hash can contain any six digits).
# A prefix ending in "-" (the fakes' random tokens) counts with its random part behind it: a
# fuzzer's echo of the bare prefix is not a leak.
_SECRET_PATTERNS = [(secret, re.compile(r"(?<![0-9A-Za-z])%s(?![0-9A-Za-z])" % secret if secret.isdigit()
                                        else re.escape(secret) + "[0-9a-f]{8}" if secret.endswith("-")
                                        else re.escape(secret))) for secret in SECRETS]


# SHA-256 of every STS request body that carried an MFA code or an external
# id: a six-digit code falls to a brute force of its body's hash, so such a
# hash in a log line is a leak too.
SECRET_HASHES = set()
_HEX64 = re.compile(r"[0-9a-f]{64}")


# Every grant id a test made (a container's secret path): in no log line or error answer either.
GRANT_IDS = []


def secrets_in(text):
    found = [secret for secret, pattern in _SECRET_PATTERNS if pattern.search(text)]
    found += ["a grant id"] * any(grant_id in text for grant_id in GRANT_IDS)
    return found + ["a hash of a body with a secret"] * bool(SECRET_HASHES.intersection(_HEX64.findall(text)))


def tearDownModule():
    """The secret scan over the whole suite's logs."""
    found = sorted({s for line in CAPTURED.lines for s in secrets_in(line)})
    if found:
        lines = [line for line in CAPTURED.lines if secrets_in(line)][:5]
        raise AssertionError("secrets in the service's logs: %s\n%s" % (found, "\n".join(lines)))


def _ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
        return True
    except OSError:
        return False


def read_text(path):
    with open(path, encoding="utf-8") as handle:
        return handle.read()


def write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as handle:
        handle.write(text)


class TempHome(unittest.TestCase):
    """A test case with a temporary ~/.aws and an environment to match."""

    def setUp(self):
        super().setUp()
        self.home = tempfile.mkdtemp(prefix="runas-meta-test-")
        self.addCleanup(_rmtree, self.home)
        self.config_path = os.path.join(self.home, ".aws", "config")
        self.credentials_path = os.path.join(self.home, ".aws", "credentials")
        self.environ = {"HOME": self.home, "AWS_CONFIG_FILE": self.config_path,
                        "AWS_SHARED_CREDENTIALS_FILE": self.credentials_path}

    def files(self, config="", credentials=""):
        write(self.config_path, config)
        write(self.credentials_path, credentials)

    def config(self, **kwargs):
        kwargs.setdefault("check_interval", 0)
        return rm.Config(environ=self.environ, **kwargs).load()


def _rmtree(path):
    import shutil
    shutil.rmtree(path, ignore_errors=True)


def sts_xml(action, inner):
    return ('<{0}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><{0}Result>{1}'
            '</{0}Result><ResponseMetadata><RequestId>r-1</RequestId></ResponseMetadata>'
            '</{0}Response>').format(action, inner).encode()


def sts_error(code, message, kind="Sender"):
    return ('<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>%s</Type>'
            '<Code>%s</Code><Message>%s</Message></Error><RequestId>r-1</RequestId>'
            '</ErrorResponse>' % (kind, code, message)).encode()


class FakeSTS:
    """Our own STS on 127.0.0.1 for what a real peer cannot be made to do.

    It records every call (action and form parameters), issues credentials
    that expire DurationSeconds after `clock()`, demands `mfa_code` when a
    SerialNumber is sent, and can throttle, fail, hang or answer garbage."""

    def __init__(self, clock=None, mfa_code=GOOD_CODE, tls=None, port=0):
        self.clock = clock or (lambda: dt.datetime.now(dt.timezone.utc))
        self.mfa_code = mfa_code
        self.calls, self.lock = [], threading.Lock()
        self.throttle = self.fail = self.garbage = 0
        self.lifetime_cap = None
        self.retry_after = None  # a Retry-After header on errors, when set
        self.delay = 0.0
        self.gate = None  # an Event every call waits for, when set
        self.first_call = threading.Event()
        self.caller_arn = "arn:aws:iam::%s:user/alice" % ACCOUNT
        self.identities = {}  # access key issued -> the ARN GetCallerIdentity answers
        self.revoked = set()  # access keys whose signed calls answer ExpiredToken
        self.issued = 0
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if re.search(rb"TokenCode=|ExternalId=", body):  # the secret scan looks for their hashes too
                    SECRET_HASHES.add(hashlib.sha256(body).hexdigest())
                status, data = fake.answer(dict(urllib.parse.parse_qsl(body.decode())),
                                           dict(self.headers.items()), self.path)
                self.send_response(status)
                if status >= 400 and fake.retry_after is not None:
                    self.send_header("Retry-After", str(fake.retry_after))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # clients that time out hang up
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = "%s://127.0.0.1:%d/" % ("https" if tls else "http", self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        if self.gate is not None:
            self.gate.set()
        self.server.shutdown()
        self.server.server_close()

    def actions(self):
        return [call["Action"] for call in self.calls]

    def answer(self, params, headers, path="/"):
        with self.lock:
            signed_by = re.search(r"Credential=([^/]+)/", headers.get("Authorization", ""))
            self.calls.append(dict(params, _signed="Authorization" in headers, _key=signed_by and signed_by.group(1),
                                   _token=headers.get("X-Amz-Security-Token", ""), _path=path, _at=self.clock()))
        self.first_call.set()
        gate = self.gate  # read once: a test may reset it meanwhile
        if gate is not None:
            gate.wait(10)
        if self.delay:  # a slow STS (the benchmark's renewal scenario)
            threading.Event().wait(self.delay)
        with self.lock:
            if self.throttle:
                self.throttle -= 1
                return 400, sts_error("Throttling", "Rate exceeded")
            if self.fail:
                self.fail -= 1
                return 500, sts_error("InternalFailure", "boom", "Receiver")
            if self.garbage:
                self.garbage -= 1
                return 200, b"\x00\xffnot xml at all"
            self.issued += 1
            number = self.issued
        action = params.get("Action")
        signer = re.search(r"Credential=([^/]+)/", headers.get("Authorization", ""))
        if signer and signer.group(1) in self.revoked:
            return 403, sts_error("ExpiredToken", "The security token included in the request is expired")
        if "SerialNumber" in params and params.get("TokenCode") != self.mfa_code:
            return 403, sts_error("AccessDenied", "MultiFactorAuthentication failed with invalid "
                                  "MFA one time pass code.")
        if action == "GetCallerIdentity":
            key = re.search(r"Credential=([^/]+)/", headers.get("Authorization", ""))
            arn = self.identities.get(key.group(1) if key else "", self.caller_arn)
            return 200, sts_xml(action, "<Arn>%s</Arn><UserId>AIDA1</UserId><Account>%s</Account>"
                                % (arn, ACCOUNT))
        duration = int(params.get("DurationSeconds", 3600))
        if self.lifetime_cap:
            duration = min(duration, self.lifetime_cap)
        expires = rm.format_time(self.clock() + dt.timedelta(seconds=duration))
        creds = ("<Credentials><AccessKeyId>ASIAFAKE%04d</AccessKeyId><SecretAccessKey>"
                 "fakeSecret%04d</SecretAccessKey><SessionToken>fakeToken%04d</SessionToken>"
                 "<Expiration>%s</Expiration></Credentials>" % (number, number, number, expires))
        if action in ("AssumeRole", "AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"):
            arn = "arn:aws:sts::%s:assumed-role/%s/%s" % (
                ACCOUNT, params["RoleArn"].split("/")[-1], params.get("RoleSessionName", "saml-user"))
            self.identities["ASIAFAKE%04d" % number] = arn
            creds += ("<AssumedRoleUser><Arn>%s</Arn><AssumedRoleId>AROA1:x</AssumedRoleId>"
                      "</AssumedRoleUser>" % arn)
        return 200, sts_xml(action, creds)


class FakeSTSCase(TempHome):
    """A temporary home, a FakeSTS, an injected clock and helpers to build
    the engine against them."""

    def setUp(self):
        super().setUp()
        self.clock = Clock()
        self.sts_server = FakeSTS(self.clock)
        self.addCleanup(self.sts_server.close)
        self.environ["AWS_ENDPOINT_URL_STS"] = self.sts_server.url
        self.spawned = []

    def engine(self, config=None, **kwargs):
        kwargs.setdefault("spawn", self.spawned.append)  # background work runs when the test says
        sts = rm.STS(self.environ, clock=self.clock, sleep=lambda s: None, timeout=2)
        return rm.Engine(config or self.config(), sts, clock=self.clock, environ=self.environ, **kwargs)

    def run_background(self):
        while self.spawned:
            self.spawned.pop(0)()

    def start_service(self, *args):
        """`runas_meta.py ecs -p 0 nomfa` (or `args`) as a user starts it, in
        this case's home, none of the caller's AWS_* variables, and the fake
        STS on real time (another process)."""
        self.sts_server.clock = rm.utcnow
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(self.environ)
        service = ServiceProcess(list(args) or ["ecs", "-p", "0", "nomfa"], env)
        self.addCleanup(service.stop)
        return service


STANDARD_CONFIG = """\
[default]
region = eu-west-1

[profile base]
region = eu-west-1

[profile dev]
role_arn = %(role)s
source_profile = base
mfa_serial = %(serial)s

[profile nomfa]
role_arn = %(role)s
source_profile = base
role_session_name = fixed-name

[profile long]
role_arn = %(role)s
source_profile = base
mfa_serial = %(serial)s
duration_seconds = 4h

[profile deeper]
role_arn = %(role2)s
source_profile = nomfa
""" % {"role": ROLE, "role2": ROLE2, "serial": SERIAL}

STANDARD_CREDENTIALS = """\
[base]
aws_access_key_id = AKIABASEEXAMPLE
aws_secret_access_key = %s

[withtoken]
aws_access_key_id = ASIASTATIC
aws_secret_access_key = staticSecret
aws_session_token = staticToken
""" % BASE_SECRET


# ---- identity-provider fakes: Keycloak's pages and Okta's authn API ----------------


SAML_PRINCIPAL = "arn:aws:iam::%s:saml-provider/test-idp" % ACCOUNT
JUMP = "arn:aws:iam::%s:role/jump" % ACCOUNT


def saml_response(roles, duration=3600, session="alice", lifetime=300, swap=False):
    """A SAML response as an IdP posts it (unsigned: our parser reads, STS validates)."""
    ends = rm.format_time(rm.utcnow() + dt.timedelta(seconds=lifetime))
    values = "".join("<saml:AttributeValue>%s</saml:AttributeValue>" % (
        "%s,%s" % ((SAML_PRINCIPAL, role) if swap else (role, SAML_PRINCIPAL))) for role in roles)
    xml = ('<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
           'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion"><saml:Assertion><saml:Subject>'
           '<saml:SubjectConfirmation><saml:SubjectConfirmationData NotOnOrAfter="%s"/>'
           '</saml:SubjectConfirmation></saml:Subject><saml:Conditions NotOnOrAfter="%s"/>'
           '<saml:AttributeStatement><saml:Attribute Name="%s">%s</saml:Attribute>'
           '<saml:Attribute Name="https://aws.amazon.com/SAML/Attributes/RoleSessionName">'
           '<saml:AttributeValue>%s</saml:AttributeValue></saml:Attribute>'
           '<saml:Attribute Name="%s"><saml:AttributeValue>%d</saml:AttributeValue></saml:Attribute>'
           '</saml:AttributeStatement></saml:Assertion></samlp:Response>'
           % (ends, ends, rm.SAML_ROLE_ATTRIBUTE, values, session, rm.SAML_DURATION_ATTRIBUTE, duration))
    return rm.base64.b64encode(xml.encode()).decode()


def fake_jwt(subject, audience, lifetime=3600):
    def part(doc):
        return rm.base64.urlsafe_b64encode(json.dumps(doc).encode()).decode().rstrip("=")
    now = int(rm.utcnow().timestamp())
    return "%s.%s.fakesignature" % (part({"alg": "none"}), part({"sub": subject, "aud": audience,
                                                                 "iat": now, "exp": now + lifetime}))


class FakeHTTP:
    """A tiny HTTP server of our own: `route(method, path, query, form, json, cookies)`
    returns (status, headers, body).  Records every request."""

    def __init__(self):
        self.requests = []
        self.tls = threading.local()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def answer(self):
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                path, _, query = self.path.partition("?")
                kind = self.headers.get("Content-Type", "")
                form = dict(urllib.parse.parse_qsl(raw.decode())) if "urlencoded" in kind else {}
                body = json.loads(raw) if "json" in kind and raw else {}
                cookies = dict(c.strip().split("=", 1) for c in (self.headers.get("Cookie") or "").split(";")
                               if "=" in c)
                fake.tls.headers = {k.lower(): v for k, v in self.headers.items()}  # for route()
                fake.requests.append((self.command, path, dict(urllib.parse.parse_qsl(query)), form, body))
                status, headers, data = fake.route(self.command, path, dict(urllib.parse.parse_qsl(query)),
                                                   form, body, cookies)
                data = data.encode() if isinstance(data, str) else data
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)

            do_GET = do_POST = do_HEAD = answer

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.base = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def count(self, method, path):
        return sum(1 for m, p, *_ in self.requests if (m, p) == (method, path))


def serve(case, service, **options):
    """The real server on 127.0.0.1 (port 0) serving `service` until `case` ends."""
    server = rm.Server(("127.0.0.1", 0), service, **options)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    case.addCleanup(server.server_close)
    case.addCleanup(server.shutdown)
    return server


def html_page(body):
    return 200, [("Content-Type", "text/html")], "<!doctype html><html><body>%s</body></html>" % body


class FakeKeycloak(FakeHTTP):
    """Keycloak's sign-in as documented: the login form kc-form-login with an
    action under /login-actions/authenticate (HTML-escaped &amp;), an OTP page
    (field otp), then an auto-post SAML form or a redirect with the code."""

    REALM = "/realms/test"

    def __init__(self, users, roles):
        self.users, self.roles = users, roles  # users: name -> (password, otp or None)
        self.sessions, self.flows, self.codes = {}, {}, {}
        self.foreign_action = None  # an origin to point the login form at (a hostile page)
        super().__init__()
        self.saml_url = self.base + self.REALM + "/protocol/saml/clients/aws"
        self.issuer = self.base + self.REALM

    def route(self, method, path, query, form, body, cookies):
        session = self.sessions.get(cookies.get("KEYCLOAK_SESSION"))
        if path == self.REALM + "/.well-known/openid-configuration":
            return 200, [("Content-Type", "application/json")], json.dumps({
                "issuer": self.issuer, "authorization_endpoint": self.issuer + "/protocol/openid-connect/auth",
                "token_endpoint": self.issuer + "/protocol/openid-connect/token"})
        if path == self.REALM + "/protocol/saml/clients/aws":
            flow = {"kind": "saml"}
        elif path == self.REALM + "/protocol/openid-connect/auth":
            flow = dict(query, kind="oidc")
        elif path == self.REALM + "/login-actions/authenticate":
            return self.authenticate(query, form)
        elif path == self.REALM + "/protocol/openid-connect/token":
            return self.token(form)
        else:
            return 404, [], "not found"
        code = rm.secrets.token_hex(8)
        self.flows[code] = flow
        if session:
            return self.finish(code, session)
        return self.login_page(code, "")

    def login_page(self, code, error):
        action = "%s/login-actions/authenticate?session_code=%s&amp;execution=e1&amp;client_id=aws&amp;tab_id=t" % (
            self.foreign_action or self.REALM, code)
        note = '<span id="input-error" class="kc-feedback-text">%s</span>' % error if error else ""
        return html_page('<form id="kc-form-login" action="%s" method="post">%s'
                         '<input id="username" name="username" value=""><input id="password" name="password" '
                         'type="password"><input type="hidden" name="credentialId" value=""></form>' % (action, note))

    def otp_page(self, code, error):
        note = '<span id="input-error-otp-code">%s</span>' % error if error else ""
        return html_page('<form id="kc-otp-login-form" action="%s/login-actions/authenticate?session_code=%s'
                         '&amp;execution=otp" method="post">%s<input id="otp" name="otp" autocomplete="off">'
                         '</form>' % (self.REALM, code, note))

    def authenticate(self, query, form):
        code = query.get("session_code")
        flow = self.flows.get(code)
        if flow is None:
            return self.login_page(code, "Your login attempt timed out.")
        if "otp" in form:
            password, otp = self.users[flow["user"]]
            if form["otp"] != otp:
                return self.otp_page(code, "Invalid authenticator code.")
            return self.finish(code, flow["user"])
        user = self.users.get(form.get("username"))
        if user is None or user[0] != form.get("password"):
            return self.login_page(code, "Invalid username or password.")
        flow["user"] = form["username"]
        if user[1]:
            return self.otp_page(code, "")
        return self.finish(code, form["username"])

    def finish(self, code, user):
        cookie = rm.secrets.token_hex(8)
        self.sessions[cookie] = user
        headers = [("Set-Cookie", "KEYCLOAK_SESSION=%s; Path=/realms/test" % cookie)]
        flow = self.flows.pop(code)
        if flow["kind"] == "saml":
            status, _, page = html_page('<form name="saml-post-binding" method="post" action="http://127.0.0.1:9/saml">'
                                        '<input type="hidden" name="SAMLResponse" value="%s"></form>'
                                        % saml_response(self.roles, session=user))
            return status, headers + [("Content-Type", "text/html")], page
        auth_code = rm.secrets.token_hex(8)
        self.codes[auth_code] = dict(flow, user=user)
        location = "%s?%s" % (flow["redirect_uri"], urllib.parse.urlencode({"code": auth_code, "state": flow["state"]}))
        return 302, headers + [("Location", location)], ""

    def token(self, form):
        flow = self.codes.pop(form.get("code"), None)
        if flow is None:
            return 400, [("Content-Type", "application/json")], json.dumps({"error": "invalid_grant"})
        digest = rm.hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        if rm.base64.urlsafe_b64encode(digest).decode().rstrip("=") != flow.get("code_challenge") or \
                flow.get("code_challenge_method") != "S256" or form.get("redirect_uri") != flow["redirect_uri"]:
            return 400, [("Content-Type", "application/json")], json.dumps({"error": "invalid_grant",
                                                                             "error_description": "PKCE"})
        return 200, [("Content-Type", "application/json")], json.dumps(
            {"id_token": fake_jwt(flow["user"], flow["client_id"]), "access_token": "at", "token_type": "Bearer"})


class FakeOkta(FakeHTTP):
    """Okta's authn API as documented: SUCCESS with a sessionToken, or
    MFA_REQUIRED with factors; TOTP verify (bad code: 403 E0000068); push
    answering WAITING until approved, rejected, or never.  Okta Verify's
    number challenge (push mode "number"): the waiting answer carries
    _embedded.factor._embedded.challenge.correctAnswer, and only that
    number chosen on the "phone" (`chosen`) approves.  Every MFA_CHALLENGE
    links cancel (POST /api/v1/authn/cancel with the stateToken), after
    which the transaction is gone: a late tap signs nobody in."""

    def __init__(self, users, roles):
        self.users, self.roles = users, roles  # name -> {"password", "totp", "push": approve|reject|never|number}
        self.states, self.tokens, self.sessions, self.codes, self.polls = {}, {}, {}, {}, {}
        self.pushes, self.cancelled, self.numbers, self.chosen = 0, [], {}, None
        self.approved = threading.Event()  # push mode "gate": approved when the test says so
        self.authorize_error = None  # an error page instead of the redirect (an app not assigned to the user)
        super().__init__()
        self.saml_url = self.base + "/app/amazon_aws/exk1/sso/saml"
        self.issuer = self.base + "/oauth2/default"

    def route(self, method, path, query, form, body, cookies):
        json_headers = [("Content-Type", "application/json")]
        if path == "/api/v1/authn":
            user = self.users.get(body.get("username"))
            if user is None or user["password"] != body.get("password"):
                return 401, json_headers, json.dumps({"errorCode": "E0000004",
                                                      "errorSummary": "Authentication failed"})
            return 200, json_headers, json.dumps(self.after_password(body["username"]))
        if path.startswith("/api/v1/authn/factors/"):
            return self.verify(path.rsplit("/", 2)[-2], body, json_headers)
        if path == "/api/v1/authn/cancel":
            self.cancelled.append(body.get("stateToken"))
            self.states.pop(body.get("stateToken"), None)
            return 200, json_headers, json.dumps({"status": "CANCELLED"})
        if path == "/app/amazon_aws/exk1/sso/saml":
            user = self.tokens.pop(query.get("sessionToken"), None) or self.sessions.get(cookies.get("sid"))
            if user is None:
                return 302, [("Location", self.base + "/login/login.htm")], ""
            return self.with_session(user, html_page(
                '<form id="appForm" action="http://127.0.0.1:9/saml" method="POST">'
                '<input name="SAMLResponse" type="hidden" value="%s"/></form>' % saml_response(self.roles, session=user)))
        if path == "/login/login.htm":
            return html_page("<p>Sign in to Okta</p>")
        if path == "/oauth2/default/.well-known/openid-configuration":
            return 200, json_headers, json.dumps({"issuer": self.issuer,
                                                  "authorization_endpoint": self.issuer + "/v1/authorize",
                                                  "token_endpoint": self.issuer + "/v1/token"})
        if path == "/oauth2/default/v1/authorize" and self.authorize_error:
            return 400, [("Content-Type", "text/html")], self.authorize_error
        if path == "/oauth2/default/v1/authorize":
            user = self.tokens.pop(query.get("sessionToken"), None) or self.sessions.get(cookies.get("sid"))
            if user is None:
                target = "%s?%s" % (query["redirect_uri"], urllib.parse.urlencode(
                    {"error": "login_required", "state": query["state"]}))
                return 302, [("Location", target)], ""
            code = rm.secrets.token_hex(8)
            self.codes[code] = dict(query, user=user)
            target = "%s?%s" % (query["redirect_uri"], urllib.parse.urlencode({"code": code, "state": query["state"]}))
            return self.with_session(user, (302, [("Location", target)], ""))
        if path == "/oauth2/default/v1/token":
            return FakeKeycloak.token(self, form)
        return 404, json_headers, "{}"

    def with_session(self, user, answer):
        sid = rm.secrets.token_hex(8)
        self.sessions[sid] = user
        status, headers, body = answer
        return status, list(headers) + [("Set-Cookie", "sid=%s; Path=/" % sid)], body

    def success(self, user):
        token = rm.secrets.token_hex(8)
        self.tokens[token] = user
        return {"status": "SUCCESS", "sessionToken": token, "_embedded": {"user": {"id": "00u1"}}}

    def after_password(self, name):
        user = self.users[name]
        factors = []
        if user.get("totp"):
            factors.append({"id": "totp1", "factorType": "token:software:totp", "provider": "GOOGLE",
                            "_links": {"verify": {"href": self.base + "/api/v1/authn/factors/totp/verify"}}})
        if user.get("push"):
            factors.append({"id": "push1", "factorType": "push", "provider": "OKTA",
                            "_links": {"verify": {"href": self.base + "/api/v1/authn/factors/push/verify"}}})
        if not factors:
            return self.success(name)
        state = rm.secrets.token_hex(8)
        self.states[state] = name
        return {"status": "MFA_REQUIRED", "stateToken": state, "_embedded": {"factors": factors}}

    def verify(self, factor, body, headers):
        name = self.states.get(body.get("stateToken"))
        if name is None:
            return 403, headers, json.dumps({"errorCode": "E0000011", "errorSummary": "Invalid token"})
        user = self.users[name]
        if factor == "totp":
            if body.get("passCode") != user["totp"]:
                return 403, headers, json.dumps({"errorCode": "E0000068",
                                                 "errorSummary": "Invalid Passcode/Answer"})
            return 200, headers, json.dumps(self.success(name))
        state = body["stateToken"]
        polls = self.polls[state] = self.polls.get(state, 0) + 1
        if polls == 1:
            self.pushes += 1  # the first verify sends the push
        links = {"next": {"href": self.base + "/api/v1/authn/factors/push/verify"},
                 "cancel": {"href": self.base + "/api/v1/authn/cancel"}}
        if user["push"] == "reject" and polls > 1:
            return 200, headers, json.dumps({"status": "MFA_CHALLENGE", "factorResult": "REJECTED", "_links": links})
        if user["push"] == "approve" and polls > 2:
            return 200, headers, json.dumps(self.success(name))
        if user["push"] == "gate" and self.approved.is_set():
            return 200, headers, json.dumps(self.success(name))
        waiting = {"status": "MFA_CHALLENGE", "factorResult": "WAITING", "_links": links}
        if user["push"] == "number":
            number = self.numbers.setdefault(state, str(rm.secrets.randbelow(90) + 10))
            if self.chosen == number:
                return 200, headers, json.dumps(self.success(name))
            waiting["_embedded"] = {"factor": {"id": "push1", "factorType": "push",
                                               "_embedded": {"challenge": {"correctAnswer": int(number)}}}}
        return 200, headers, json.dumps(waiting)


# ---- durations and times -----------------------------------------------------


class DurationTests(unittest.TestCase):
    def test_valid(self):
        for text, seconds in [("3600", 3600), ("1h", 3600), ("90m", 5400), ("12h30m", 45000),
                              ("45s", 45), ("1h30m15s", 5415), (" 2H ", 7200), ("0", 0)]:
            with self.subTest(text=text):
                self.assertEqual(rm.parse_duration(text), seconds)

    def test_invalid(self):
        for text in ["", "h", "1d", "-5", "1.5h", "abc", "30m1h", "1 h"]:
            with self.subTest(text=text), self.assertRaises(ValueError):
                rm.parse_duration(text)


class TimeTests(unittest.TestCase):
    def test_parse_forms(self):
        want = dt.datetime(2026, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
        for text in ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05", "2026-01-02T03:04:05+00:00",
                     "2026-01-01T22:04:05.000000000-05:00", "2026-01-02T04:04:05+0100"]:
            with self.subTest(text=text):
                self.assertEqual(rm.parse_time(text), want)
        self.assertEqual(rm.parse_time("2026-01-02T03:04:05.123456789Z").microsecond, 123456)

    def test_format_is_utc_with_z(self):
        when = dt.datetime(2026, 1, 2, 4, 4, 5, 999, tzinfo=dt.timezone(dt.timedelta(hours=1)))
        self.assertEqual(rm.format_time(when), "2026-01-02T03:04:05Z")

    def test_bad(self):
        for text in ["", "yesterday", "2026-01-02 03:04:05Z", "2026-01-02T03:04:05+5"]:
            with self.subTest(text=text), self.assertRaises(ValueError):
                rm.parse_time(text)


# ---- config ----------------------------------------------------------------


class ConfigTests(TempHome):
    def test_profiles_and_keys(self):
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)
        config = self.config()
        self.assertEqual(config.names(), ["base", "deeper", "default", "dev", "long", "nomfa", "withtoken"])
        self.assertEqual(config.roles(), ["deeper", "dev", "long", "nomfa"])
        self.assertEqual(config.sources(), ["base", "default", "withtoken"])

        dev = config.profile("dev")
        self.assertEqual((dev.role_arn, dev.source_profile, dev.mfa_serial, dev.role_duration),
                         (ROLE, "base", SERIAL, 3600))
        self.assertEqual(config.profile("long").role_duration, 4 * 3600)
        base = config.profile("base")
        self.assertEqual((base.aws_access_key_id, base.aws_secret_access_key, base.region),
                         ("AKIABASEEXAMPLE", BASE_SECRET, "eu-west-1"))
        self.assertEqual(base.session_duration, 12 * 3600)
        self.assertNotIn(BASE_SECRET, repr(base))
        self.assertNotIn("staticToken", repr(config.profile("withtoken")))

    def test_profiles_served_from_identity_center_are_roles_too(self):
        """/list-roles, and so the page's picker, offer an SSO profile with no role_arn."""
        self.files(STANDARD_CONFIG + "\n[profile direct]\nsso_session = corp\nsso_account_id = 111122223333\n"
                   "sso_role_name = Admin\n[sso-session corp]\nsso_start_url = https://d-1.awsapps.com/start\n"
                   "sso_region = us-east-1\n", STANDARD_CREDENTIALS)
        self.assertEqual(self.config().roles(), ["deeper", "dev", "direct", "long", "nomfa"])

    def test_every_key_is_read(self):
        keys = {"role_arn": ROLE, "source_profile": "base", "mfa_serial": SERIAL,
                "external_id": "ext-1", "role_session_name": "me", "duration_seconds": "2h",
                "region": "us-west-2", "web_identity_token_file": "/t", "saml_auth_url": "https://idp/s",
                "saml_username": "u", "saml_provider": "okta", "saml_auth_entityid": "urn:x",
                "web_identity_auth_url": "https://idp/o", "web_identity_username": "w",
                "web_identity_provider": "keycloak", "web_identity_client_id": "cid",
                "web_identity_redirect_uri": "http://127.0.0.1:1/cb", "jump_role_arn": ROLE2,
                "federated_username": "fed", "session_token_duration": "20h", "mfa_type": "Code",
                "endpoint_url": "http://127.0.0.1:1", "ca_bundle": "/ca.pem"}
        self.files("[profile all]\n" + "".join("%s = %s\n" % kv for kv in keys.items()))
        profile = self.config().profile("all")
        self.assertEqual(profile.role_duration, 7200)
        self.assertEqual(profile.session_duration, 20 * 3600)
        self.assertEqual(profile.mfa_type, "code")
        for key, value in keys.items():
            if key in ("duration_seconds", "session_token_duration", "mfa_type"):
                continue
            with self.subTest(key=key):
                self.assertEqual(getattr(profile, rm.PROFILE_KEYS[key][0]), value)

    def test_credentials_file_wins_and_env_region(self):
        self.files("[profile a]\naws_access_key_id = FROMCONFIG\nregion = eu-west-1\n",
                   "[a]\naws_access_key_id = FROMCREDS\naws_secret_access_key = s\n")
        self.assertEqual(self.config().profile("a").aws_access_key_id, "FROMCREDS")
        self.environ["AWS_DEFAULT_REGION"] = "ap-south-1"
        self.assertEqual(self.config().profile("a").region, "ap-south-1")
        self.environ["AWS_REGION"] = "sa-east-1"
        self.assertEqual(self.config().profile("a").region, "sa-east-1")

    def test_services_section_endpoint(self):
        self.files("[profile a]\nservices = local\n[services local]\nsts =\n"
                   "  endpoint_url = http://127.0.0.1:4566\n")
        self.assertEqual(self.config().profile("a").sts_endpoint_url, "http://127.0.0.1:4566")

    def test_bad_files_name_file_and_line(self):
        cases = [
            ("[profile a]\nregion = x\nrole_arn\n", ":3:", "cannot parse"),
            ("region = x\n[profile a]\n", ":1:", "before any [section]"),
            ("[profile a]\n\nrole_arn = arn:aws:iam::12:role/x\n", ":3:", "role_arn"),
            ("[profile a]\nduration_seconds = 1 day\n", ":2:", "not a duration"),
            ("[profile a]\nduration_seconds = 13h\n", ":2:", "between 15m and 12h"),
            ("[profile a]\nrole_session_name = has space\n", ":2:", "role session name"),
            ("[profile a]\nmfa_serial = short\n", ":2:", "MFA device"),
            ("[profile a]\nmfa_type = sometimes\n", ":2:", "auto, push, code, none"),
        ]
        for text, line, words in cases:
            with self.subTest(text=text):
                self.files(text)
                with self.assertRaises(rm.ConfigError) as caught:
                    self.config().profile("a")
                self.assertIn(self.config_path + line, str(caught.exception))
                self.assertIn(words, str(caught.exception))

    def test_secret_values_are_not_echoed(self):
        self.files("[profile a]\nexternal_id = no spaces allowed here\n")
        with self.assertRaises(rm.ConfigError) as caught:
            self.config().profile("a")
        self.assertNotIn("no spaces allowed", str(caught.exception))

    def test_unknown_profile_lists_known(self):
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)
        with self.assertRaises(rm.ProfileNotFound) as caught:
            self.config().profile("nope")
        self.assertIn("'nope'", str(caught.exception))
        self.assertIn("base, deeper, default", str(caught.exception))

    def test_chains(self):
        self.files(STANDARD_CONFIG + "[profile a]\nrole_arn = %s\nsource_profile = b\n"
                   "[profile b]\nrole_arn = %s\nsource_profile = a\n"
                   "[profile orphan]\nrole_arn = %s\nsource_profile = ghost\n"
                   "[profile nokeys]\nregion = x\n" % (ROLE, ROLE, ROLE), STANDARD_CREDENTIALS)
        config = self.config()
        self.assertEqual([p.name for p in config.chain("deeper")], ["deeper", "nomfa", "base"])
        with self.assertRaisesRegex(rm.ConfigError, r"cycle: a -> b -> a"):
            config.chain("a")
        with self.assertRaisesRegex(rm.ConfigError, r"'orphan' has source_profile 'ghost'"):
            config.chain("orphan")
        with self.assertRaisesRegex(rm.ConfigError, r"'nokeys' has no credentials"):
            config.chain("nokeys")

    def test_missing_files(self):
        with self.assertRaises(rm.ConfigError) as caught:
            self.config()
        self.assertIn(self.config_path, str(caught.exception))

    def test_reload_on_change_keeps_last_good(self):
        self.files("[profile a]\nregion = one\n")
        config = self.config()
        self.assertEqual(config.profile("a").region, "one")
        write(self.config_path, "[profile a]\nregion = two\n[profile b]\nregion = b\n")
        self.assertEqual(config.profile("a").region, "two")
        self.assertIn("b", config.names())
        write(self.config_path, "[profile a]\nregion = three\nbroken line here\n")
        self.assertEqual(config.profile("a").region, "two")  # last good state
        self.assertEqual(len(config.errors), 1)
        self.assertIn(self.config_path + ":3:", config.errors[0])
        write(self.config_path, "[profile a]\nregion = four\n")
        self.assertEqual(config.profile("a").region, "four")
        self.assertEqual(config.errors, [])

    def test_check_interval(self):
        self.files("[profile a]\nregion = one\n")
        clock = [0.0]
        config = self.config(clock=lambda: clock[0], check_interval=5)
        write(self.config_path, "[profile a]\nregion = two-two\n")
        self.assertEqual(config.profile("a").region, "one")
        clock[0] = 6
        self.assertEqual(config.profile("a").region, "two-two")


# ---- SigV4 -------------------------------------------------------------------


class BotocoreRulesTests(TempHome):
    """The messages where botocore refuses too (issue 17.9); the differential
    suite (e2e/test_config_botocore.py) checks the behaviour against botocore."""

    def refusal(self, config, credentials="", name="p"):
        self.files(config, credentials)
        with self.assertRaises(rm.ConfigError) as caught:
            self.config().chain(name)
        return str(caught.exception)

    def test_clear_lines_where_both_refuse(self):
        cases = [
            ("[profile p]\nrole_arn = %s\ncredential_source = Laptop\n" % ROLE,
             "credential_source 'Laptop' is not one of Environment, Ec2InstanceMetadata, EcsContainer"),
            ("[profile p]\nsso_session = corp\n[sso-session corp]\nsso_start_url = https://x.awsapps.com/start\n"
             "sso_region = us-east-1\n", "only sign in (aws sso login), not serve credentials"),
            ("[profile p]\nrole_arn = %s\nsource_profile = p\n" % ROLE,
             "names itself as source_profile but has no aws_access_key_id"),
            ("[profile p]\nrole_arn = %s\nsource_profile = b\ncredential_source = Environment\n[profile b]\n"
             "aws_access_key_id = A\naws_secret_access_key = B\n" % ROLE, "has both source_profile and credential_source"),
            ("[profile p]\nsource_profile = b\n[profile b]\naws_access_key_id = A\naws_secret_access_key = B\n",
             "it has source_profile but no role_arn"),
            ("[profile p]\naws_access_key_id = A\n", "aws_secret_access_key is missing"),
        ]
        for config, words in cases:
            with self.subTest(words=words):
                message = self.refusal(config)
                self.assertIn(words, message)
                self.assertNotIn("\n", message)

    def test_file_errors_name_the_line(self):
        for text, words, line in (
                ("\ufeff[profile p]\nregion = x\n", "byte-order mark", 1),
                ("[profile p]\nregion = a\n[profile p]\n", "section [profile p] appears twice", 3),
                ("[profile p]\nregion = a\nregion = b\n", "region appears twice in [profile p]", 3),
                ("[profile p]\ns3 =\n  addressing_style\n", "s3: each indented line under it must be", 2)):
            with self.subTest(words=words):
                write(self.config_path, text)
                with self.assertRaises(rm.ConfigError) as caught:
                    self.config()
                self.assertIn(words, str(caught.exception))
                self.assertEqual((caught.exception.path, caught.exception.line), (self.config_path, line))

    def test_a_credential_source_never_asks_the_service_itself(self):
        class NoTraffic:
            def open(self, *args, **kwargs):
                raise AssertionError("a request was about to leave")
        write(self.config_path, "[profile p]\nrole_arn = %s\ncredential_source = EcsContainer\n"
              "[profile i]\nrole_arn = %s\ncredential_source = Ec2InstanceMetadata\n" % (ROLE, ROLE))
        config = self.config()
        ecs = config.chain("p")[-1]
        self.assertEqual(ecs.kind, "container")
        own = {("127.0.0.1", 12319), ("::1", 12319), (rm.ECS_ADDRESS, 80)}  # ecs --containers' listeners
        for variable, value in (("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:12319/credentials"),
                                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://localhost:12319/credentials"),
                                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://[::1]:12319/credentials/x"),
                                ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://169.254.170.2:80/v2/credentials/x"),
                                ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "/v2/credentials/x")):
            with self.subTest(url=value), \
                    self.assertRaisesRegex(rm.CredentialSourceError, "points at this service itself"):
                rm.fetch_credential_source(ecs, {variable: value}, own, NoTraffic())
        legacy = {(rm.LEGACY_ADDRESS, 80)}  # legacy mode serves the metadata address itself
        with self.assertRaisesRegex(rm.CredentialSourceError, "points at this service itself"):
            rm.fetch_credential_source(config.chain("i")[-1], {}, legacy, NoTraffic())
        with self.assertRaisesRegex(rm.CredentialSourceError, "AWS_EC2_METADATA_DISABLED"):
            rm.fetch_credential_source(config.chain("i")[-1], {"AWS_EC2_METADATA_DISABLED": "true"}, set(), NoTraffic())
        with self.assertRaisesRegex(rm.CredentialSourceError, "neither AWS_CONTAINER_CREDENTIALS_FULL_URI"):
            rm.fetch_credential_source(ecs, {}, set(), NoTraffic())

    def test_a_credential_source_follows_no_redirect(self):
        """As botocore: a redirect is an error, so it cannot lead to the service itself."""
        target, hop = FakeHTTP(), FakeHTTP()
        self.addCleanup(target.close)
        self.addCleanup(hop.close)
        target.route = lambda *a: (200, [], json.dumps({"AccessKeyId": "AKIAX", "SecretAccessKey": "x",
                                                        "Expiration": "2030-01-01T00:00:00Z"}))
        hop.route = lambda *a: (302, [("Location", target.base + "/creds")], "")
        write(self.config_path, "[profile p]\nrole_arn = %s\ncredential_source = EcsContainer\n" % ROLE)
        ecs = self.config().chain("p")[-1]
        with self.assertRaisesRegex(rm.CredentialSourceError, "answered HTTP 302"):
            rm.fetch_credential_source(ecs, {"AWS_CONTAINER_CREDENTIALS_FULL_URI": hop.base + "/creds"}, set())
        self.assertEqual(target.requests, [])
        creds = rm.fetch_credential_source(ecs, {"AWS_CONTAINER_CREDENTIALS_FULL_URI": target.base + "/creds"}, set())
        self.assertEqual(creds.access_key_id, "AKIAX")

    def test_file_locations_expand_home_and_variables(self):
        environ = {"HOME": "/home/u", "DIR": "/etc/aws"}
        self.assertEqual(rm.expand_path("~/.aws/config", environ), "/home/u/.aws/config")
        self.assertEqual(rm.expand_path("$HOME/x", environ), "/home/u/x")
        self.assertEqual(rm.expand_path("${DIR}/config", environ), "/etc/aws/config")
        self.assertEqual(rm.expand_path("$NOPE/config", environ), "$NOPE/config")  # as os.path.expandvars


class SigV4Tests(unittest.TestCase):
    NOW = dt.datetime(2015, 8, 30, 12, 36, 0, tzinfo=dt.timezone.utc)

    def test_get_vanilla_known_answer(self):
        headers = rm.sign_request("GET", "https://example.amazonaws.com/", [("Host", "example.amazonaws.com")],
                                  b"", "AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                  "us-east-1", "service", self.NOW)
        auth = dict(headers)["Authorization"]
        self.assertEqual(auth, "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/"
                         "aws4_request, SignedHeaders=host;x-amz-date, Signature="
                         "5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31")

    def test_steps(self):
        text = rm.canonical_request("GET", "https://h/a/./b/../c//d?b=2&a=1&a=0&c=%20x",
                                    [("Host", "h"), ("X-Odd", "  a   b  ")], b"")
        lines = text.split("\n")
        self.assertEqual(lines[:5], ["GET", "/a/c/d", "a=0&a=1&b=2&c=%20x", "host:h", "x-odd:a b"])
        self.assertEqual(lines[-1], rm.hashlib.sha256(b"").hexdigest())
        self.assertEqual(rm.credential_scope("20150830T123600Z", "r", "s"), "20150830/r/s/aws4_request")

    def test_session_token_is_signed_but_not_logged(self):
        with self.assertLogs("runas_meta", logging.DEBUG) as logs:
            headers = dict(rm.sign_request("POST", "https://sts.amazonaws.com/", [], b"x", "AK", "SK",
                                           "us-east-1", "sts", self.NOW, "TOKENVALUE"))
        self.assertEqual(headers["X-Amz-Security-Token"], "TOKENVALUE")
        self.assertIn("x-amz-security-token", headers["Authorization"])
        self.assertNotIn("TOKENVALUE", "\n".join(logs.output))
        self.assertNotIn("SK", "".join(line.split("Credential")[0] for line in logs.output))


# ---- STS ---------------------------------------------------------------------


class EndpointTests(unittest.TestCase):
    def test_table(self):
        cases = [
            ({}, {}, ("https://sts.amazonaws.com/", "us-east-1")),
            ({"region": "eu-west-1"}, {}, ("https://sts.eu-west-1.amazonaws.com/", "eu-west-1")),
            ({"region": "cn-north-1"}, {}, ("https://sts.cn-north-1.amazonaws.com.cn/", "cn-north-1")),
            ({"region": "eu-west-1", "endpoint_url": "http://p"}, {}, ("http://p", "eu-west-1")),
            ({"sts_endpoint_url": "http://s", "endpoint_url": "http://p"}, {}, ("http://s", "us-east-1")),
            ({"endpoint_url": "http://p"}, {"AWS_ENDPOINT_URL": "http://g"}, ("http://g", "us-east-1")),
            ({}, {"AWS_ENDPOINT_URL": "http://g", "AWS_ENDPOINT_URL_STS": "http://x"}, ("http://x", "us-east-1")),
        ]
        for fields, env, want in cases:
            with self.subTest(fields=fields, env=env):
                self.assertEqual(rm.sts_endpoint(rm.Profile("p", **fields), env), want)


class STSTests(unittest.TestCase):
    def setUp(self):
        self.clock = Clock()
        self.server = FakeSTS(self.clock)
        self.addCleanup(self.server.close)
        self.sleeps = []
        self.sts = rm.STS({"AWS_ENDPOINT_URL_STS": self.server.url}, clock=self.clock,
                          sleep=self.sleeps.append, rand=lambda: 0.5, timeout=2)
        self.profile = rm.Profile("p")
        self.keys = rm.Credentials("AKIAEXAMPLE", BASE_SECRET)

    def test_get_session_token(self):
        creds = self.sts.get_session_token(self.profile, self.keys, 7200, SERIAL, GOOD_CODE)
        call = self.server.calls[0]
        self.assertEqual((call["Action"], call["Version"], call["DurationSeconds"], call["SerialNumber"],
                          call["TokenCode"], call["_signed"]),
                         ("GetSessionToken", "2011-06-15", "7200", SERIAL, GOOD_CODE, True))
        self.assertEqual(creds.access_key_id, "ASIAFAKE0001")
        self.assertEqual(creds.expiration, self.clock.now + dt.timedelta(seconds=7200))

    def test_assume_role_and_identity(self):
        session = rm.Credentials("ASIA1", "s", "sessiontoken")
        creds = self.sts.assume_role(self.profile, session, ROLE, "me", 900, "ext")
        call = self.server.calls[0]
        self.assertEqual((call["RoleArn"], call["RoleSessionName"], call["ExternalId"], call["_token"]),
                         (ROLE, "me", "ext", "sessiontoken"))
        self.assertEqual((creds.role_arn, creds.account_id), (ROLE, ACCOUNT))
        who = self.sts.get_caller_identity(self.profile, self.keys)
        self.assertEqual(who["Account"], ACCOUNT)

    def test_unsigned_federation_calls(self):
        self.sts.assume_role_with_saml(self.profile, ROLE, "arn:aws:iam::1:saml-provider/x", "PHNhbWw+", 3600)
        self.sts.assume_role_with_web_identity(self.profile, ROLE, "eyJ.token", "me", 3600)
        self.assertEqual(self.server.actions(), ["AssumeRoleWithSAML", "AssumeRoleWithWebIdentity"])
        self.assertFalse(any(call["_signed"] for call in self.server.calls))

    def test_throttling_is_retried_with_jitter(self):
        self.server.throttle = 2
        self.sts.get_session_token(self.profile, self.keys, 3600)
        self.assertEqual(len(self.server.calls), 3)
        self.assertEqual(self.sleeps, [0.25, 0.5])

    def test_server_errors_retried_then_unavailable(self):
        self.server.fail = 10
        with self.assertRaises(rm.STSUnavailable) as caught:
            self.sts.get_session_token(self.profile, self.keys, 3600)
        self.assertEqual(len(self.server.calls), rm.STS_ATTEMPTS)
        self.assertIn("InternalFailure", str(caught.exception))
        self.assertEqual(caught.exception.status, 503)

    def test_access_denied_not_retried(self):
        with self.assertRaises(rm.STSError) as caught:
            self.sts.get_session_token(self.profile, self.keys, 3600, SERIAL, "000000")
        self.assertEqual(len(self.server.calls), 1)
        self.assertEqual(caught.exception.aws_code, "AccessDenied")
        self.assertEqual(caught.exception.status, 502)

    def test_garbage(self):
        self.server.garbage = 1
        with self.assertRaisesRegex(rm.STSError, "not STS's XML"):
            self.sts.get_session_token(self.profile, self.keys, 3600)
        self.assertEqual(len(self.server.calls), 1)

    def test_hang_times_out(self):
        self.server.gate = threading.Event()
        sts = rm.STS({"AWS_ENDPOINT_URL_STS": self.server.url}, sleep=self.sleeps.append,
                     timeout=0.3, attempts=2)
        with self.assertRaisesRegex(rm.STSUnavailable, "unreachable"):
            sts.get_session_token(self.profile, self.keys, 3600)
        self.assertEqual(len(self.server.calls), 2)

    def test_proxy_from_the_environment(self):
        # 127.0.0.2 is not on the loopback bypass list, so it goes through the proxy,
        # which is the fake STS itself (it answers a forward-proxy request as STS).
        env = {"AWS_ENDPOINT_URL_STS": "http://127.0.0.2:9/", "HTTP_PROXY": self.server.url}
        sts = rm.STS(env, sleep=self.sleeps.append, attempts=1)
        sts.get_session_token(self.profile, self.keys, 3600)
        self.assertEqual(self.server.calls[0]["_path"], "http://127.0.0.2:9/")
        env["no_proxy"] = "127.0.0.2"
        with self.assertRaises(rm.STSUnavailable):
            rm.STS(env, sleep=self.sleeps.append, attempts=1).get_session_token(self.profile, self.keys, 3600)
        self.assertEqual(len(self.server.calls), 1)

    @unittest.skipUnless(shutil.which("openssl"), "needs the openssl command")
    def test_ca_bundle(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(_rmtree, folder)
        cert, key = os.path.join(folder, "cert.pem"), os.path.join(folder, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(cert, key)
        secure = FakeSTS(self.clock, tls=context)
        self.addCleanup(secure.close)
        self.assertTrue(secure.url.startswith("https://"))
        env = {"AWS_ENDPOINT_URL_STS": secure.url}
        with self.assertRaisesRegex(rm.STSUnavailable, "CERTIFICATE_VERIFY_FAILED|certificate verify"):
            rm.STS(env, attempts=1).get_session_token(self.profile, self.keys, 3600)
        rm.STS(dict(env, AWS_CA_BUNDLE=cert), attempts=1).get_session_token(self.profile, self.keys, 3600)
        creds = rm.STS(env, attempts=1).get_session_token(rm.Profile("p", ca_bundle=cert), self.keys, 3600)
        self.assertTrue(creds.access_key_id.startswith("ASIAFAKE"))

    def test_unreachable(self):
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        sts = rm.STS({"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:%d/" % port}, sleep=self.sleeps.append,
                     attempts=2)
        with self.assertRaises(rm.STSUnavailable) as caught:
            sts.get_session_token(self.profile, self.keys, 3600)
        self.assertNotIn(BASE_SECRET, str(caught.exception))
        self.assertEqual(len(self.sleeps), 1)


# ---- the engine ----------------------------------------------------------------


class EngineCase(FakeSTSCase):
    def setUp(self):
        super().setUp()
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)
        self.cache_dir = os.path.dirname(self.config_path)

    def cache_file(self, kind, name):
        return os.path.join(self.cache_dir, rm.CACHE_PREFIX[kind] + name)


class PlannerTests(EngineCase):
    """LayerPlanner: which call makes each layer of a chain, where the MFA
    code goes, which cache file keeps it, and a new plan per config version."""

    def test_static_keys_get_a_session_token_and_cache_it(self):
        engine = self.engine()
        creds = engine.credentials("base")
        self.assertEqual(self.sts_server.actions(), ["GetSessionToken"])
        self.assertEqual(self.sts_server.calls[0]["DurationSeconds"], str(12 * 3600))
        path = self.cache_file("session", "base")
        self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
        with open(path) as handle:
            doc = json.loads(handle.readline())
        self.assertEqual(sorted(doc), ["AccessKeyId", "Expiration", "SecretAccessKey", "SessionToken"])
        self.assertEqual(doc["AccessKeyId"], creds.access_key_id)
        # a new process finds the cache file and makes no call
        again = self.engine().credentials("base")
        self.assertEqual(again.access_key_id, creds.access_key_id)
        self.assertEqual(len(self.sts_server.calls), 1)

    def test_sessions_with_and_without_mfa_do_not_share_a_cache_file(self):
        self.engine().credentials("nomfa")  # a session token without MFA, cached for base
        engine = self.engine()  # a restart
        with self.assertRaises(rm.MFARequired):  # dev's role needs a session made with MFA
            engine.credentials("dev")
        engine.credentials("dev", mfa_code=GOOD_CODE)
        files = sorted(f for f in os.listdir(self.cache_dir) if f.startswith(".aws_session_token_"))
        self.assertEqual(len(files), 2)
        self.assertIn(".aws_session_token_base", files)

    def test_keys_with_session_token_are_served_as_they_are(self):
        creds = self.engine().credentials("withtoken")
        self.assertEqual((creds.access_key_id, creds.session_token), ("ASIASTATIC", "staticToken"))
        self.assertEqual(self.sts_server.calls, [])
        self.assertGreater(creds.remaining(self.clock()), 30 * 60)

    def test_mfa_role_uses_session_token_and_asks_once(self):
        engine = self.engine()
        with self.assertRaises(rm.MFARequired) as caught:
            engine.credentials("dev")
        self.assertEqual(caught.exception.serial, SERIAL)
        self.assertEqual(self.sts_server.calls, [])
        with self.assertRaises(rm.MFAInvalid):
            engine.credentials("dev", mfa_code="000000")
        creds = engine.credentials("dev", mfa_code=GOOD_CODE)
        self.assertEqual(self.sts_server.actions(),
                         ["GetSessionToken", "GetSessionToken", "GetCallerIdentity", "AssumeRole"])
        session_call, identity_call, role_call = self.sts_server.calls[1:]
        self.assertEqual((session_call["SerialNumber"], session_call["TokenCode"]), (SERIAL, GOOD_CODE))
        self.assertNotIn("SerialNumber", role_call)
        self.assertEqual(role_call["RoleSessionName"], "alice")  # the IAM user name
        self.assertTrue(role_call["_token"].startswith("fakeToken"))  # signed with session creds
        self.assertEqual(creds.role_arn, ROLE)
        # role renewals in the next 12 hours need no code
        for _ in range(6):
            self.clock.advance(3600)
            engine.credentials("dev")
            self.run_background()
        self.assertEqual(self.sts_server.actions().count("GetSessionToken"), 2)
        self.assertGreaterEqual(self.sts_server.actions().count("AssumeRole"), 6)

    def test_long_role_passes_the_code_directly(self):
        engine = self.engine()
        with self.assertRaises(rm.MFARequired):
            engine.credentials("long")
        engine.credentials("long", mfa_code=GOOD_CODE)
        self.assertEqual(self.sts_server.actions(), ["GetCallerIdentity", "AssumeRole"])
        call = self.sts_server.calls[-1]
        self.assertEqual((call["SerialNumber"], call["TokenCode"], call["DurationSeconds"]),
                         (SERIAL, GOOD_CODE, str(4 * 3600)))
        self.assertEqual(call["_token"], "")  # long-term keys

    def test_role_chain(self):
        creds = self.engine().credentials("deeper")
        self.assertEqual([a for a in self.sts_server.actions() if a != "GetCallerIdentity"],
                         ["GetSessionToken", "AssumeRole", "AssumeRole"])
        first, second = self.sts_server.calls[1:]
        self.assertEqual((first["RoleArn"], first["RoleSessionName"]), (ROLE, "fixed-name"))
        self.assertEqual((second["RoleArn"], second["RoleSessionName"]), (ROLE2, "fixed-name"))
        self.assertLessEqual(int(second["DurationSeconds"]), 3600)
        self.assertEqual(second["_token"], "fakeToken0002")  # signed with the first role's creds
        self.assertEqual(creds.role_arn, ROLE2)

    def test_role_with_its_own_keys(self):
        """botocore: a role that names itself as source_profile uses its own
        keys; role_arn with no source at all is refused."""
        write(self.config_path, STANDARD_CONFIG + "[profile self]\nrole_arn = %s\nsource_profile = self\n"
              "[profile nosource]\nrole_arn = %s\n" % (ROLE, ROLE))
        write(self.credentials_path, STANDARD_CREDENTIALS + "[self]\naws_access_key_id = AKIASELF\n"
              "aws_secret_access_key = selfsecret\n[nosource]\naws_access_key_id = AKIANOSRC\n"
              "aws_secret_access_key = nosrcsecret\n")
        creds = self.engine().credentials("self")
        self.assertEqual(self.sts_server.actions(), ["GetSessionToken", "GetCallerIdentity", "AssumeRole"])
        self.assertEqual(creds.role_arn, ROLE)
        with self.assertRaisesRegex(rm.ConfigError, "'nosource' has role_arn but neither source_profile nor "
                                    "credential_source"):
            self.engine().credentials("nosource")

    def test_session_name_falls_back_to_os_user(self):
        self.sts_server.caller_arn = "arn:aws:sts::%s:assumed-role/x/y" % ACCOUNT
        self.engine().credentials("dev", mfa_code=GOOD_CODE)
        self.assertEqual(self.sts_server.calls[-1]["RoleSessionName"], rm.os_user(self.environ))

    def test_config_edit_takes_effect_without_restart(self):
        engine = self.engine()
        self.assertEqual(engine.credentials("nomfa").role_arn, ROLE)
        write(self.config_path, STANDARD_CONFIG.replace("role_session_name = fixed-name",
                                                        "role_session_name = fixed-name\nregion = x"
                                                        ).replace(ROLE + "\nsource_profile = base\nrole_session",
                                                                  ROLE2 + "\nsource_profile = base\nrole_session"))
        self.assertEqual(engine.credentials("nomfa").role_arn, ROLE2)


class LayerCacheTests(EngineCase):
    """LayerCache: aws-runas's cache files read, ignored when broken, and
    memory only when the folder cannot take them."""

    def test_corrupt_cache_is_ignored(self):
        write(self.cache_file("session", "base"), "{not json")
        with self.assertLogs("runas_meta", logging.WARNING) as logs:
            self.engine().credentials("base")
        self.assertIn("ignoring cache file", "\n".join(logs.output))
        self.assertEqual(self.sts_server.actions(), ["GetSessionToken"])

    def test_aws_runas_cache_with_go_timestamps_is_read(self):
        expires = (self.clock() + dt.timedelta(hours=5)).astimezone(dt.timezone(dt.timedelta(hours=-5)))
        write(self.cache_file("session", "base"), json.dumps({
            "AccessKeyId": "ASIAGO", "SecretAccessKey": "s", "SessionToken": "t",
            "Expiration": expires.strftime("%Y-%m-%dT%H:%M:%S.123456789-05:00")}))
        self.assertEqual(self.engine().credentials("base").access_key_id, "ASIAGO")
        self.assertEqual(self.sts_server.calls, [])

    def assert_kept_in_memory(self, engine, profile, words):
        with self.assertLogs("runas_meta", logging.WARNING) as logs:
            first = engine.credentials(profile)
        self.assertIn(words, "\n".join(logs.output))
        self.assertIs(engine.credentials(profile), first)

    def test_unwritable_cache_dir_means_memory_only(self):
        not_a_dir = os.path.join(self.home, "file")
        write(not_a_dir, "")
        self.assert_kept_in_memory(self.engine(cache_dir=not_a_dir), "base", "memory only")

    def test_cache_directory_full(self):
        def full(path, data):
            raise OSError(28, "No space left on device")
        self.assert_kept_in_memory(self.engine(writer=full), "nomfa", "No space left on device")


class EngineTests(EngineCase):
    """The engine's core: single flights, renewal ahead of expiry and in the
    background, MFA sessions kept, failures remembered for a pause, what is
    still valid served."""

    def test_single_flight(self):
        engine = self.engine()
        self.sts_server.gate = threading.Event()
        results, errors = [], []

        def worker():
            try:
                results.append(engine.credentials("deeper").access_key_id)
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
        threads = [threading.Thread(target=worker) for _ in range(200)]
        for thread in threads:
            thread.start()
        self.assertTrue(self.sts_server.first_call.wait(10))
        self.sts_server.gate.set()
        for thread in threads:
            thread.join(20)
        self.assertEqual(errors, [])
        self.assertEqual(len(results), 200)
        self.assertEqual(len(set(results)), 1)
        self.assertEqual([a for a in self.sts_server.actions() if a != "GetCallerIdentity"],
                         ["GetSessionToken", "AssumeRole", "AssumeRole"])

    def test_refresh_ahead_keeps_more_than_30_minutes(self):
        engine = self.engine()
        engine.credentials("nomfa")
        calls_before = len(self.sts_server.calls)
        for minute in range(6 * 60):
            served = engine.credentials("nomfa")
            self.assertGreater(served.remaining(self.clock()), 30 * 60, "minute %d" % minute)
            self.run_background()
            self.clock.advance(60)
        role_calls = self.sts_server.actions().count("AssumeRole")
        self.assertLessEqual(role_calls, 6 * 60 // 25 + 1)  # about one per 25 minutes, not per request
        self.assertGreater(len(self.sts_server.calls), calls_before)

    def test_nobody_waits_on_sts_during_renewal(self):
        engine = self.engine()
        first = engine.credentials("nomfa")
        self.clock.advance(26 * 60)  # inside the refresh window
        self.sts_server.gate = threading.Event()  # STS now hangs
        served = engine.credentials("nomfa")  # returns at once: the renewal is queued, not run
        self.assertIs(served, first)
        self.assertEqual(len(self.spawned), 1)
        engine.credentials("nomfa")
        self.assertEqual(len(self.spawned), 1)  # one renewal, not one per request
        self.sts_server.gate.set()
        self.run_background()
        self.assertIsNot(engine.credentials("nomfa"), first)

    def test_renew_due_renews_without_requests(self):
        engine = self.engine()
        first = engine.credentials("nomfa")
        self.clock.advance(30 * 60)
        engine.renew_due()
        self.assertEqual(len(self.spawned), 1)
        self.run_background()
        calls = len(self.sts_server.calls)
        second = engine.credentials("nomfa")
        self.assertIsNot(second, first)
        self.assertEqual(len(self.sts_server.calls), calls)  # renewed before it was asked for
        # credentials nobody asked for in RENEW_IDLE are left to expire
        self.clock.advance(rm.RENEW_IDLE + 60)
        engine.renew_due()
        self.assertEqual(self.spawned, [])

    def test_mfa_needed_soon_is_reported_and_old_creds_served(self):
        engine = self.engine()
        engine.credentials("dev", mfa_code=GOOD_CODE)
        self.assertFalse(engine.status("dev")["mfa_needed"])
        self.clock.advance(11 * 3600 + 31 * 60)  # session token has 29 minutes left
        served = engine.credentials("dev")
        self.run_background()
        status = engine.status("dev")
        self.assertTrue(status["mfa_needed"])
        self.assertGreater(served.remaining(self.clock()), 60)
        sessions = self.sts_server.actions().count("GetSessionToken")
        self.assertEqual(sessions, 1)  # no call was made without a code
        # a wrong code loses nothing
        with self.assertRaises(rm.MFAInvalid):
            engine.credentials("dev", mfa_code="999999")
        self.assertIs(engine.credentials("dev"), served)
        engine.credentials("dev", mfa_code=GOOD_CODE)
        self.run_background()
        self.assertFalse(engine.status("dev")["mfa_needed"])

    def test_headless_prompt_is_used_in_the_foreground_only(self):
        asked = []
        engine = self.engine(mfa_prompt=lambda profile, serial: asked.append(serial) or GOOD_CODE)
        engine.credentials("dev")
        self.assertEqual(asked, [SERIAL])

    def test_refresh_keeps_a_valid_mfa_session(self):
        engine = self.engine()
        first = engine.credentials("dev", mfa_code=GOOD_CODE)
        again = engine.refresh("dev")  # no code: the 12-hour session token is still valid
        self.assertIsNot(again, first)
        self.assertEqual([a for a in self.sts_server.actions() if a != "GetCallerIdentity"],
                         ["GetSessionToken", "AssumeRole", "AssumeRole"])
        with open(self.cache_file("role", "dev")) as handle:
            self.assertEqual(json.load(handle)["AccessKeyId"], again.access_key_id)
        self.assertTrue(os.path.exists(engine.plan("dev")[0].cache_file))

    def test_status_says_when_the_next_code_is_needed(self):
        engine = self.engine()
        engine.credentials("dev", mfa_code=GOOD_CODE)
        session = engine.plan("dev")[0].creds
        prompt = engine.status("dev")["next_prompt"]
        self.assertEqual(prompt, {"at": rm.format_time(session.expiration), "what": "MFA code",
                                  "seconds": 12 * 3600})
        self.assertIsNone(engine.status("nomfa")["next_prompt"])  # keys without MFA never ask
        engine.credentials("long", mfa_code=GOOD_CODE)  # the code goes to each 4-hour AssumeRole
        self.assertEqual(engine.status("long")["next_prompt"]["seconds"], 4 * 3600)

    def test_refresh_asks_for_mfa_when_sts_refuses_the_session(self):
        engine = self.engine()
        engine.credentials("dev", mfa_code=GOOD_CODE)
        session = engine.plan("dev")[0].creds
        self.sts_server.revoked.add(session.access_key_id)  # revoked early (or expired)
        with self.assertRaises(rm.MFARequired):
            engine.refresh("dev")
        self.assertFalse(os.path.exists(engine.plan("dev")[0].cache_file))
        self.assertTrue(engine.status("dev")["mfa_needed"])
        engine.credentials("dev", mfa_code=GOOD_CODE)
        self.assertEqual(self.sts_server.actions().count("GetSessionToken"), 2)

    def test_refresh_of_a_session_profile_or_a_long_role_asks_for_mfa(self):
        engine = self.engine()
        engine.credentials("long", mfa_code=GOOD_CODE)  # the code goes to AssumeRole itself
        with self.assertRaises(rm.MFARequired):
            engine.refresh("long")

    def test_failures_keep_serving_what_is_valid(self):
        engine = self.engine()
        first = engine.credentials("nomfa")
        self.sts_server.fail = 1000
        self.clock.advance(40 * 60)
        self.assertIs(engine.credentials("nomfa"), first)  # still valid: served
        self.run_background()  # the renewal fails ...
        self.assertIs(engine.credentials("nomfa"), first)  # ... and nothing is lost
        self.assertIn("InternalFailure", engine.status("nomfa")["error"])
        self.clock.advance(20 * 60)  # now expired
        with self.assertRaises(rm.STSUnavailable):
            engine.credentials("nomfa")
        self.sts_server.fail = 0  # STS is back
        self.clock.advance(rm.FAILURE_PAUSE[1])  # once the remembered failure's pause ends
        self.assertIsNot(engine.credentials("nomfa"), first)

    def call_times(self, profile, seconds, step=0.1, **engine_args):
        """Ask for `profile` every `step` seconds of the injected clock while
        STS fails: (engine, the clock times of STS's calls)."""
        sts = rm.STS(self.environ, clock=self.clock, sleep=lambda s: None, timeout=2, attempts=4)
        engine = rm.Engine(self.config(), sts, clock=self.clock, environ=self.environ, spawn=self.spawned.append,
                           rand=lambda: 1.0, **engine_args)  # no jitter: the wait is the whole pause
        start = self.clock()
        for _ in range(int(seconds / step)):
            self.clock.advance(step)
            with self.assertRaises(rm.STSUnavailable):
                engine.credentials(profile)
        return engine, [round((call["_at"] - start).total_seconds(), 1) for call in self.sts_server.calls]

    def test_a_failing_sts_is_asked_at_a_bounded_rate(self):
        """450 requests in 45 s of an STS outage: four attempts at first, then
        one after 1, 2, 4, 8, 16 s (doubling, at most 30), not four per request."""
        self.sts_server.fail = 10 ** 6
        _, times = self.call_times("base", 45)
        self.assertEqual(times, [0.1] * 4 + [1.1, 3.1, 7.1, 15.1, 31.1])

    def test_the_pause_stops_at_thirty_seconds_and_is_jittered(self):
        pauses, previous = [], None
        for _ in range(10):
            pause, wait = rm.failure_pause(rm.STSUnavailable("down"), previous, lambda: 0.0)
            previous = rm._Failure(None, pause, None)
            pauses.append((pause, wait))
        self.assertEqual([p for p, _ in pauses], [1, 2, 4, 8, 16, 30, 30, 30, 30, 30])
        self.assertEqual([w for _, w in pauses], [p / 2 for p, _ in pauses])  # half of it, plus a random half

    def test_throttling_backs_off_harder_and_retry_after_sets_the_pause(self):
        self.sts_server.throttle = 10 ** 6
        _, times = self.call_times("base", 40)
        self.assertEqual(times, [0.1] * 4 + [5.1, 15.1, 35.1])  # 5, 10, 20 s
        del self.sts_server.calls[:]
        self.sts_server.retry_after = 7
        _, times = self.call_times("base", 22)
        self.assertEqual(times, [0.1] * 4 + [7.1, 14.1, 21.1])

    def test_a_user_action_asks_at_once(self):
        self.sts_server.fail = 10 ** 6
        engine, _ = self.call_times("nomfa", 0.1)  # one failed fetch: paused for a second
        asked = len(self.sts_server.calls)
        with self.assertRaises(rm.STSUnavailable):
            engine.credentials("nomfa")  # within the pause: no call
        self.assertEqual(len(self.sts_server.calls), asked)
        self.sts_server.fail = 0
        self.assertEqual(engine.refresh("nomfa").access_key_id[:8], "ASIAFAKE")  # Refresh Now: at once
        self.assertGreater(len(self.sts_server.calls), asked)
        self.sts_server.fail = 10 ** 6
        with self.assertRaises(rm.MFARequired):
            engine.credentials("dev")  # no code yet: nothing to ask STS
        with self.assertRaises(rm.STSUnavailable):
            engine.credentials("dev", mfa_code=GOOD_CODE)
        asked = len(self.sts_server.calls)
        self.sts_server.fail = 0
        engine.credentials("dev", mfa_code=GOOD_CODE)  # a new code: asked at once, within the pause
        self.assertGreater(len(self.sts_server.calls), asked)

    def test_valid_credentials_are_served_while_sts_fails(self):
        engine = self.engine()
        first = engine.credentials("nomfa")
        self.clock.advance(first.remaining(self.clock()) - 30)  # 30 s left: under MIN_SERVE
        self.sts_server.fail = 10 ** 6
        with self.assertLogs("runas_meta", logging.WARNING) as logs:
            self.assertIs(engine.credentials("nomfa"), first)  # still valid for 30 s: served
            self.assertIs(engine.credentials("nomfa"), first)
        told = [line for line in logs.output if "for their last 30 s" in line]
        self.assertEqual(len(told), 1, logs.output)  # said once per failure, not per request
        self.assertIn("InternalFailure", told[0])
        self.clock.advance(31)  # expired: nothing valid is held
        with self.assertRaises(rm.STSUnavailable):
            engine.credentials("nomfa")
        with self.assertRaises(rm.STSUnavailable):
            engine.refresh("nomfa")  # the user asked: the error, not what is left

    def test_secrets_never_in_logs(self):
        stream = io.StringIO()
        rm.configure_logging(True, stream)
        self.addCleanup(quiet_logs)
        engine = self.engine()
        engine.credentials("dev", mfa_code=GOOD_CODE)
        engine.credentials("deeper")
        with contextlib.suppress(rm.MFAInvalid):
            engine.refresh("dev", mfa_code="999999")
        text = stream.getvalue()
        self.assertIn("GetSessionToken", text)
        for secret in [BASE_SECRET, "fakeSecret", "fakeToken", GOOD_CODE, "999999"]:
            self.assertNotIn(secret, text)


# ---- the service, in process ------------------------------------------------------


class ServiceCase(FakeSTSCase):
    PORT = 9999

    def setUp(self):
        super().setUp()
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)
        self.tick = [1000.0]
        self.make()

    def make(self, **kwargs):
        config = self.config()
        self.engine_ = self.engine(config)
        self.tokens = rm.ImdsTokens(clock=lambda: self.tick[0])
        self.service = rm.Service(self.engine_, config, tokens=self.tokens, **kwargs)
        self.service.set_address("127.0.0.1", self.PORT)
        self.service.activate("nomfa")

    def call(self, method, path, headers=None, body=b""):
        all_headers = {"Host": "127.0.0.1:%d" % self.PORT}
        all_headers.update(headers or {})
        all_headers = [(k, v) for k, v in all_headers.items() if v is not None]
        if isinstance(body, str):
            body = body.encode()
        response = self.service.handle(rm.Request(method, path, all_headers, body))
        if response.status >= 400:
            self.assertEqual(secrets_in(response.body.decode("utf-8", "replace")), [])
        return response

    def token(self, ttl="21600"):
        response = self.call("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": ttl})
        self.assertEqual(response.status, 200)
        return response.body.decode()

    def doc(self, response, status=200):
        self.assertEqual(response.status, status, response.body)
        return json.loads(response.body)


class ImdsTests(ServiceCase):
    CREDS = "/latest/meta-data/iam/security-credentials/"

    def test_token_ttl(self):
        for ttl, status in [("1", 200), ("21600", 200), ("0", 400), ("21601", 400), ("abc", 400),
                            ("", 400), (None, 400), ("-5", 400)]:
            with self.subTest(ttl=ttl):
                response = self.call("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": ttl})
                self.assertEqual(response.status, status)
                if status == 200:
                    self.assertIn(("X-aws-ec2-metadata-token-ttl-seconds", ttl), response.headers)

    def test_token_path_other_methods_and_proxies(self):
        response = self.call("GET", "/latest/api/token")
        self.assertEqual(response.status, 405)
        self.assertIn(("Allow", "PUT"), response.headers)
        response = self.call("PUT", "/latest/api/token", {"X-aws-ec2-metadata-token-ttl-seconds": "60",
                                                          "X-Forwarded-For": "10.0.0.1"})
        self.assertEqual(response.status, 403)

    def test_tokens_are_checked(self):
        token = self.token("60")
        self.assertEqual(self.call("GET", self.CREDS, {"X-aws-ec2-metadata-token": token}).status, 200)
        other = rm.ImdsTokens(clock=lambda: self.tick[0]).issue(60)  # another process's key
        abc = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"
        changed = token[:30] + abc[abc.index(token[30]) ^ 1] + token[31:]  # one character of the MAC
        respelt = token[:-1] + abc[abc.index(token[-1]) ^ 1]  # same bytes: the last character's low bits are spare
        self.assertEqual(base64.urlsafe_b64decode(respelt + "=="), base64.urlsafe_b64decode(token + "=="))
        for bad in [other, changed, respelt, "x", "", "A" * 5000]:
            with self.subTest(bad=bad[:20]):
                self.assertEqual(self.call("GET", self.CREDS, {"X-aws-ec2-metadata-token": bad}).status, 401)
        self.tick[0] += 61
        self.assertEqual(self.call("GET", self.CREDS, {"X-aws-ec2-metadata-token": token}).status, 401)
        self.assertNotEqual(self.token(), self.token())

    def test_v1_allowed_unless_v2_only(self):
        self.assertEqual(self.call("GET", self.CREDS).status, 200)
        self.make(imds_v2_only=True)
        self.assertEqual(self.call("GET", self.CREDS).status, 401)
        self.assertEqual(self.call("GET", self.CREDS, {"X-aws-ec2-metadata-token": self.token()}).status, 200)

    def test_role_listing_and_document(self):
        headers = {"X-aws-ec2-metadata-token": self.token()}
        listing = self.call("GET", self.CREDS, headers)
        self.assertEqual(listing.body, b"nomfa")
        self.assertEqual(listing.content_type, "text/plain")
        doc = self.doc(self.call("GET", self.CREDS + "nomfa", headers))
        self.assertEqual(list(doc), ["Code", "LastUpdated", "Type", "AccessKeyId", "SecretAccessKey",
                                     "Token", "Expiration"])
        self.assertEqual((doc["Code"], doc["Type"]), ("Success", "AWS-HMAC"))
        self.assertRegex(doc["Expiration"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
        self.assertEqual(doc["Token"], "fakeToken0002")
        extended = self.doc(self.call("GET", self.CREDS[:-1] + "-extended/nomfa", headers))
        self.assertEqual(extended["AccountId"], ACCOUNT)
        self.assertEqual(self.call("GET", self.CREDS[:-1] + "-extended/", headers).body, b"nomfa")

    def test_other_profiles_and_unknown_names(self):
        self.assertEqual(self.doc(self.call("GET", self.CREDS + "deeper"))["Code"], "Success")
        self.assertEqual(self.call("GET", self.CREDS + "nosuch").status, 404)

    def test_instance_paths(self):
        self.assertEqual(self.call("GET", "/latest/meta-data/placement/region").body, b"eu-west-1")
        self.assertEqual(self.call("GET", "/latest/meta-data/placement/availability-zone").body, b"eu-west-1a")
        self.assertRegex(self.call("GET", "/latest/meta-data/instance-id").body.decode(), r"^i-[0-9a-f]{17}$")
        identity = self.doc(self.call("GET", "/latest/dynamic/instance-identity/document"))
        self.assertEqual((identity["region"], identity["accountId"]), ("eu-west-1", ACCOUNT))
        info = self.doc(self.call("GET", "/latest/meta-data/iam/info"))
        self.assertEqual(info["Code"], "Success")
        self.assertTrue(info["InstanceProfileArn"].startswith("arn:aws:iam::%s:instance-profile/" % ACCOUNT))

    def test_unknown_paths_are_404(self):
        for path in ["/latest/meta-data/ami-id", "/latest/meta-data/", "/nope", "/latest/api/token/x",
                     "/credentials/a/b", "/%ff", "//"]:
            with self.subTest(path=path):
                response = self.call("GET", path)
                self.assertEqual(response.status, 404)
                self.assertEqual(self.doc(response, 404)["Code"], "NotFound")

    def test_no_active_profile(self):
        self.service.activate(None)
        for path in [self.CREDS, "/credentials", "/profile", "/latest/meta-data/placement/region"]:
            with self.subTest(path=path):
                response = self.call("GET", path)
                self.assertEqual(self.doc(response, 404)["Code"], "NoActiveProfile")
                self.assertIn("http://127.0.0.1:9999/", json.loads(response.body)["Message"])

    def test_head(self):
        response = self.call("HEAD", self.CREDS)
        self.assertEqual(response.status, 200)
        self.assertEqual(self.call("HEAD", "/latest/api/token").status, 405)


class EcsTests(ServiceCase):
    def test_documents(self):
        doc = self.doc(self.call("GET", "/credentials"))
        self.assertEqual(sorted(doc), ["AccessKeyId", "AccountId", "Expiration", "RoleArn",
                                       "SecretAccessKey", "Token"])
        self.assertEqual((doc["RoleArn"], doc["AccountId"]), (ROLE, ACCOUNT))
        other = self.doc(self.call("GET", "/credentials/deeper"))
        self.assertEqual(other["RoleArn"], ROLE2)
        self.assertEqual(self.service.active, "nomfa")  # unchanged
        base = self.doc(self.call("GET", "/credentials/base"))
        self.assertNotIn("RoleArn", base)
        missing = self.call("GET", "/credentials/ghost")
        self.assertEqual(self.doc(missing, 404)["Code"], "ProfileNotFound")

    def test_authorization_token(self):
        self.make(auth_token="s3cret-token")
        self.assertEqual(self.call("GET", "/credentials").status, 401)
        self.assertEqual(self.call("GET", "/credentials", {"Authorization": "wrong"}).status, 401)
        self.assertEqual(self.call("GET", "/credentials", {"Authorization": "s3cret-token"}).status, 200)
        self.assertEqual(self.call("GET", "/credentials/deeper").status, 401)
        self.assertNotIn(b"s3cret", self.call("GET", "/credentials").body)

    def test_sts_failures_are_502_or_503_with_a_reason(self):
        self.sts_server.fail = 100
        doc = self.doc(self.call("GET", "/credentials/base"), 503)
        self.assertEqual(doc["Code"], "STSUnavailable")
        self.assertIn("InternalFailure", doc["Message"])
        self.sts_server.fail = 0
        self.sts_server.garbage = 1
        self.clock.advance(rm.FAILURE_PAUSE[1])  # the remembered failure's pause ends
        self.assertEqual(self.doc(self.call("GET", "/credentials/base"), 502)["Code"], "STSError")
        self.clock.advance(rm.FAILURE_PAUSE[1])
        self.assertEqual(self.call("GET", "/credentials/base").status, 200)

    def test_config_error_is_a_4xx_with_file_and_line(self):
        write(self.config_path, STANDARD_CONFIG + "[profile bad]\nrole_arn = nope\nsource_profile = base\n")
        doc = self.doc(self.call("GET", "/credentials/bad"), 400)
        self.assertIn(self.config_path + ":", doc["Message"])


class RequestPolicyTests(ServiceCase):
    def test_host_allow_list(self):
        for host, status in [("127.0.0.1:9999", 200), ("localhost:9999", 200), ("evil.example:9999", 403),
                             ("127.0.0.1:1", 403), ("127.0.0.1", 403), (None, 403), ("evil.example", 403)]:
            with self.subTest(host=host):
                response = self.call("GET", "/credentials", {"Host": host})
                self.assertEqual(response.status, status)
                if status == 403:
                    self.assertEqual(self.doc(response, 403)["Code"], "ForbiddenHost")

    def test_credential_paths_refuse_browsers(self):
        for headers in [{"Origin": "http://127.0.0.1:9999"}, {"Origin": "null"},
                        {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-origin"},
                        {"Referer": "http://evil.example/"}]:
            for path in ["/credentials", "/latest/meta-data/iam/security-credentials/nomfa"]:
                with self.subTest(headers=headers, path=path):
                    self.assertEqual(self.call("GET", path, headers).status, 403)
        self.assertEqual(self.call("PUT", "/latest/api/token", {"Origin": "http://x",
                         "X-aws-ec2-metadata-token-ttl-seconds": "5"}).status, 403)
        self.assertEqual(self.call("GET", "/credentials", {"Sec-Fetch-Site": "none"}).status, 200)

    def test_cross_site_posts_refused(self):
        for headers in [{"Origin": "http://evil.example"}, {"Origin": "http://127.0.0.1:1"},
                        {"Sec-Fetch-Site": "cross-site"}, {"Sec-Fetch-Site": "same-site"}]:
            with self.subTest(headers=headers):
                response = self.call("POST", "/profile", headers, "base")
                self.assertEqual(self.doc(response, 403)["Code"], "ForbiddenOrigin")
        self.assertEqual(self.service.active, "nomfa")
        referer = self.call("POST", "/profile", {"Referer": "http://evil.example/page"}, "base")
        self.assertEqual(self.doc(referer, 403)["Code"], "ForbiddenOrigin")
        same = {"Origin": "http://127.0.0.1:9999", "Sec-Fetch-Site": "same-origin",
                "Referer": "http://127.0.0.1:9999/"}
        for headers in [same, {"Sec-Fetch-Mode": "navigate"}, {"Origin": "http://localhost:9999"}]:
            with self.subTest(headers=headers):  # a browser without the page's token
                self.assertEqual(self.doc(self.call("POST", "/profile", headers, "base"), 403)["Code"],
                                 "ForbiddenCSRF")
        wrong = dict(same, **{"X-CSRF-Token": "guess"})
        self.assertEqual(self.call("POST", "/profile", wrong, "base").status, 403)
        self.assertEqual(self.service.active, "nomfa")
        right = dict(same, **{"X-CSRF-Token": self.service.csrf_token})
        self.assertEqual(self.call("POST", "/profile", right, "base").status, 200)
        self.assertEqual(self.service.active, "base")
        self.assertEqual(self.call("POST", "/profile", body="nomfa").status, 200)  # curl: no token needed
        self.assertEqual(self.call("GET", "/status", same).status, 200)  # reads need no token

    def test_csrf_token_is_per_process_and_in_the_page(self):
        page = self.call("GET", "/").body.decode()
        self.assertIn('<meta name="csrf-token" content="%s">' % self.service.csrf_token, page)
        other = rm.Service(self.engine_, self.service.config)
        self.assertNotEqual(other.csrf_token, self.service.csrf_token)
        self.assertGreaterEqual(len(self.service.csrf_token), 32)


class ManagementTests(ServiceCase):
    def test_lists_and_profile(self):
        self.assertEqual(self.doc(self.call("GET", "/list-roles")), ["deeper", "dev", "long", "nomfa"])
        self.assertEqual(self.doc(self.call("GET", "/list-profiles")), ["base", "default", "withtoken"])
        doc = self.doc(self.call("GET", "/profile"))
        self.assertEqual((doc["role_arn"], doc["source_profile"]), (ROLE, "base"))
        for key in ["role_arn", "external_id", "auth_url", "username", "jump_role", "client_id",
                    "redirect_uri", "source_profile"]:
            self.assertIn(key, doc)

    def test_switch_profile(self):
        doc = self.doc(self.call("POST", "/profile", body="deeper"))
        self.assertEqual(doc["role_arn"], ROLE2)
        self.assertEqual(self.call("GET", "/latest/meta-data/iam/security-credentials/").body, b"deeper")
        self.assertIn("AssumeRole", self.sts_server.actions())  # fetched at once
        self.assertEqual(self.doc(self.call("POST", "/profile", body='"base"'))["name"], "base")
        missing = self.doc(self.call("POST", "/profile", body="ghost"), 404)
        self.assertIn("known profiles", missing["Message"])
        self.assertEqual(self.service.active, "base")
        self.assertEqual(self.call("POST", "/profile", body="").status, 400)

    def test_mfa_flow(self):
        served = self.doc(self.call("GET", "/credentials"))
        response = self.call("POST", "/profile", body="dev")
        self.assertEqual(response.status, 401)  # scripts rely on it ...
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
        self.assertEqual({k: v for k, v in json.loads(response.body).items() if k in ("profile", "serial")},
                         {"profile": "dev", "serial": SERIAL})  # the dialog names them
        self.assertEqual(self.service.active, "nomfa")  # ... but the working profile stays until dev has credentials
        self.assertEqual(self.doc(self.call("GET", "/status"))["switching_to"], "dev")
        self.assertEqual(self.doc(self.call("GET", "/credentials")), served)
        creds = self.call("GET", "/credentials/dev")
        self.assertEqual(creds.status, 401)
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), creds.headers)
        self.assertIn("/mfa", json.loads(creds.body)["Message"])
        self.assertEqual(self.call("POST", "/mfa", body="mfa=12").status, 400)
        for code in ("1234567", "12345678", "\u0661\u0662\u0663\u0664\u0665\u0666"):  # an AWS MFA code is 6 ASCII digits
            doc = self.doc(self.call("POST", "/mfa", body=urllib.parse.urlencode({"mfa": code})), 400)
            self.assertIn("6 digits", doc["Message"])
        self.assertEqual(rm.mfa_code_problem("12345678", idp=True), None)  # an identity provider's own rule
        wrong = self.call("POST", "/mfa", body="mfa=000000")
        self.assertEqual(self.doc(wrong, 401)["Code"], "MFAInvalid")
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), wrong.headers)
        right = self.doc(self.call("POST", "/mfa", body="mfa=%s" % GOOD_CODE))  # for the profile being switched to
        self.assertEqual(right["profile"], "dev")
        self.assertEqual(self.service.active, "dev")
        self.assertIsNone(self.doc(self.call("GET", "/status"))["switching_to"])
        self.assertEqual(self.doc(self.call("GET", "/credentials"))["RoleArn"], ROLE)
        self.assertEqual(self.doc(self.call("POST", "/mfa", body=json.dumps(
            {"mfa": GOOD_CODE, "profile": "long"})))["profile"], "long")

    def test_cancel_keeps_the_served_profile(self):
        served = self.doc(self.call("GET", "/credentials"))
        self.assertEqual(self.call("POST", "/profile", body="dev").status, 401)
        self.assertEqual(self.doc(self.call("POST", "/profile/cancel")), {"active": "nomfa"})
        self.assertIsNone(self.doc(self.call("GET", "/status"))["switching_to"])
        self.assertEqual(self.doc(self.call("GET", "/credentials")), served)
        after = self.doc(self.call("POST", "/mfa", body="mfa=%s" % GOOD_CODE))  # a code now is the served profile's
        self.assertEqual(after["profile"], "nomfa")
        self.assertEqual(self.service.active, "nomfa")

    def test_auth_without_identity_provider(self):
        self.assertEqual(self.doc(self.call("POST", "/auth", body="username=a&password=b"), 400)["Code"],
                         "BadRequest")

    def test_refresh_keeps_profile_and_fetches_anew(self):
        first = self.doc(self.call("GET", "/credentials"))
        self.assertEqual(self.doc(self.call("POST", "/refresh"))["profile"], "nomfa")
        second = self.doc(self.call("GET", "/credentials"))
        self.assertNotEqual(first["AccessKeyId"], second["AccessKeyId"])
        self.assertEqual(self.service.active, "nomfa")

    def test_refresh_of_an_mfa_role_needs_no_code_while_the_session_lasts(self):
        self.doc(self.call("POST", "/mfa", body="profile=dev&mfa=" + GOOD_CODE))
        self.service.activate("dev")
        self.assertEqual(self.doc(self.call("POST", "/refresh"))["profile"], "dev")
        self.assertEqual(self.sts_server.actions().count("GetSessionToken"), 1)
        self.sts_server.revoked.add(self.engine_.plan("dev")[0].creds.access_key_id)
        response = self.call("POST", "/refresh")
        self.assertEqual((response.status, dict(response.headers)[rm.AUTH_TYPE_HEADER]), (401, "MFA"))

    def test_status_and_page(self):
        self.call("GET", "/credentials")
        status = self.doc(self.call("GET", "/status"))
        self.assertEqual((status["active"], status["mfa_needed"]), ("nomfa", False))
        self.assertGreater(status["seconds_left"], 30 * 60)
        self.assertEqual(status["profile_details"]["role_arn"], ROLE)
        self.assertEqual(status["identity"]["Arn"], "arn:aws:sts::%s:assumed-role/dev/fixed-name" % ACCOUNT)
        calls = len(self.sts_server.calls)
        self.doc(self.call("GET", "/status"))
        self.assertEqual(len(self.sts_server.calls), calls)  # identity asked once per credentials
        page = self.call("GET", "/")
        self.assertEqual(page.status, 200)
        self.assertIn(b"Refresh Now", page.body)
        headers = dict(page.headers)
        self.assertEqual(headers["X-Frame-Options"], "DENY")
        csp = headers["Content-Security-Policy"]
        for rule in ["default-src 'none'", "frame-ancestors 'none'", "connect-src 'self'"]:
            self.assertIn(rule, csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertNotRegex(page.body.decode(), r"(src|href)=|https?://|@import|url\(")  # nothing external

    def test_methods(self):
        response = self.call("DELETE", "/profile")
        self.assertEqual(response.status, 405)
        self.assertEqual(dict(response.headers)["Allow"], "GET, HEAD, POST")
        self.assertEqual(self.call("PUT", "/credentials").status, 405)


# ---- the real server ----------------------------------------------------------


class LiveServerTests(FakeSTSCase):
    """The real Server in a thread on port 0, stopped with shutdown()."""

    def setUp(self):
        super().setUp()
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)
        config = self.config()
        self.service = rm.Service(self.engine(config), config)
        self.service.activate("nomfa")
        self.server = serve(self, self.service, max_connections=4)
        self.port = self.server.server_address[1]

    def raw(self, data):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as sock:
            sock.sendall(data)
            return _read_all(sock)

    def test_connection_threads_are_kept_for_the_next_connection(self):
        def workers():
            return [t for t in threading.enumerate() if t.name == "runas-meta-connection"]
        def idle_thread():  # the thread that served the last connection is back in the pool
            deadline = time.monotonic() + 5
            while self.server._idle < 1 and time.monotonic() < deadline:
                threading.Event().wait(0.001)
        before = set(workers())
        for _ in range(30):  # one after another, each on a new connection
            self.assertIn(b" 200 OK", self.raw(b"GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                                             b"Connection: close\r\n\r\n" % self.port))
            idle_thread()
        mine = set(workers()) - before
        self.assertEqual(len(mine), 1)  # one thread served all thirty
        held = [socket.create_connection(("127.0.0.1", self.port), timeout=5) for _ in range(3)]
        for sock in held:  # three at once: three threads, the kept ones first
            sock.sendall(b"GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n\r\n" % self.port)
            self.assertIn(b" 200 OK", sock.recv(65536))
        self.assertEqual(len(set(workers()) - before), 3)
        for sock in held:
            sock.close()
        self.server.shutdown()
        self.server.server_close()  # idle connection threads end with the server
        for thread in set(workers()) - before:
            thread.join(5)
            self.assertFalse(thread.is_alive())

    def test_one_source_from_off_the_host_holds_at_most_its_share(self):
        """A container's address gets `per_source` connections; the next is a
        503 at once, while another address and the host are still served."""
        server = serve(self, self.service, max_connections=10, per_source=3)
        server._counted = lambda source: source != "127.0.0.3"  # here: 127.0.0.1 and .2 stand for containers
        host = b"Host: 127.0.0.1:%d\r\n" % server.server_address[1]

        def connect(source):
            sock = socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=5,
                                            source_address=(source, 0))
            self.addCleanup(sock.close)
            return sock

        def ask(sock):
            sock.sendall(b"GET /credentials HTTP/1.1\r\n" + host + b"\r\n")
            return sock.recv(65536)
        held = [connect("127.0.0.1") for _ in range(3)]
        for sock in held:
            self.assertIn(b" 200 OK", ask(sock))  # served: each holds a slot
        refused = connect("127.0.0.1")
        self.assertIn(b" 503 ", _read_all(refused))
        self.assertIn(b" 200 OK", ask(connect("127.0.0.2")))  # another container: its own share
        self.assertIn(b" 200 OK", ask(connect("127.0.0.3")))  # the host: not counted
        held[0].close()
        self.assertTrue(wait_for(lambda: server._sources["127.0.0.1"] == 2))
        self.assertIn(b" 200 OK", ask(connect("127.0.0.1")))  # a slot given back is taken again

    def test_keep_alive_many_requests_one_connection(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        for _ in range(20):
            conn.request("GET", "/credentials")
            response = conn.getresponse()
            body = response.read()
            self.assertEqual(response.status, 200)
            self.assertEqual(int(response.getheader("Content-Length")), len(body))
            self.assertEqual(response.getheader("Cache-Control"), "no-store")
        conn.close()
        self.assertEqual(self.sts_server.actions(), ["GetSessionToken", "AssumeRole"])

    def test_limits(self):
        host = b"Host: 127.0.0.1:%d\r\n" % self.port
        big = self.raw(b"POST /profile HTTP/1.1\r\n" + host + b"Content-Length: 10000000\r\n\r\n")
        self.assertTrue(big.startswith(b"HTTP/1.1 413"), big[:40])
        long_line = self.raw(b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n")
        self.assertTrue(long_line.startswith(b"HTTP/1.1 414"), long_line[:40])
        many = self.raw(b"GET / HTTP/1.1\r\n" + host + b"".join(b"X-%d: y\r\n" % i for i in range(150)) + b"\r\n")
        self.assertTrue(many.startswith(b"HTTP/1.1 431"), many[:40])
        chunked = self.raw(b"POST /mfa HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n")
        self.assertTrue(chunked.startswith(b"HTTP/1.1 411"), chunked[:40])
        self.assertIn(b'"Code": "LengthRequired"', chunked)
        garbage = self.raw(b"\x16\x03\x01garbage\r\n\r\n")
        self.assertTrue(garbage.startswith(b"HTTP/1.1 400"), garbage[:40])

    def test_connection_cap(self):
        idle = [socket.create_connection(("127.0.0.1", self.port), timeout=5) for _ in range(4)]
        self.addCleanup(lambda: [s.close() for s in idle])
        # the 5th is answered 503 at once while 4 connections are open
        self.assertTrue(self.raw(b"GET /credentials HTTP/1.1\r\n\r\n").startswith(b"HTTP/1.1 503"))
        idle.pop().close()
        reply = b""
        for _ in range(50):  # the server notices the close asynchronously
            reply = self.raw(b"GET /status HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n"
                             b"Connection: close\r\n\r\n" % self.port)
            if not reply.startswith(b"HTTP/1.1 503"):
                break
            select.select([], [], [], 0.02)
        self.assertTrue(reply.startswith(b"HTTP/1.1 200"), reply[:40])

    def test_access_log_line(self):
        with self.assertLogs("runas_meta", logging.INFO) as logs:
            for query in ("", "?token=not-logged"):
                urllib.request.urlopen(urllib.request.Request(
                    "http://127.0.0.1:%d/credentials%s" % (self.port, query)), timeout=5).read()
            self.server.access.flush()
        line = [l for l in logs.output if "GET /credentials" in l][0]
        self.assertRegex(line, r"GET /credentials 200 \d+B \d+\.\dms\n\d\d:\d\d:\d\d INFO GET /credentials 200 ")
        self.assertNotIn("not-logged", line)
        self.assertNotIn("fakeSecret", "\n".join(logs.output))


class GrantCase(ServiceCase):
    """A service with grants, and helpers to make one and to ask as a container."""

    def make(self, writer=rm.write_private_file, strike=None, **kwargs):
        self.grants_path = os.path.join(self.home, ".aws", "runas-meta", "grants.json")
        self.spare = os.path.join(self.home, "tmp", "runas-meta-0", "revoked")  # the temporary directory's
        self.now = getattr(self, "now", [1_800_000_000.0])
        super().make(grants=self.grants(writer, strike), **kwargs)
        self.service.containers = True

    def grants(self, writer=rm.write_private_file, strike=None):
        return rm.Grants(self.grants_path, clock=lambda: self.now[0], writer=writer, spare=self.spare, strike=strike)

    def grant(self, label="web", profile="nomfa", ttl=None):
        fields = {"profile": profile, "label": label}
        if ttl:
            fields["ttl"] = ttl
        doc = self.doc(self.call("POST", "/grants", {"Content-Type": "application/x-www-form-urlencoded"},
                                 urllib.parse.urlencode(fields)))
        grant_id = doc["relative_uri"][len(rm.GRANT_PATH):]
        GRANT_IDS.append(grant_id)
        return grant_id, doc

    def container(self, path, host="169.254.170.2", method="GET", source="172.17.0.2"):
        request = rm.Request(method, path, [("Host", host)], b"", (source, 40000), "container")
        response = self.service.handle(request)
        if response.status >= 400:
            self.assertEqual(secrets_in(response.body.decode()), [])
        return response, request


class GrantTests(GrantCase):
    """Grants for containers: the store, the management API, and what a
    client the peer check could not attribute (a container) is served."""

    def test_a_grant_serves_its_profile_to_a_container(self):
        grant_id, doc = self.grant()
        self.assertGreaterEqual(len(base64.urlsafe_b64decode(grant_id + "==")), 16)  # >= 128 random bits
        self.assertEqual((doc["label"], doc["profile"], doc["containers"]), ("web", "nomfa", True))
        self.assertEqual(doc["expires"], rm.format_time(dt.datetime.fromtimestamp(self.now[0] + 7 * 86400,
                                                                                   dt.timezone.utc)))
        response, request = self.container(rm.GRANT_PATH + grant_id)
        body = self.doc(response)
        self.assertEqual(set(body), {"AccessKeyId", "SecretAccessKey", "Token", "Expiration", "RoleArn", "AccountId"})
        self.assertEqual(body, self.doc(self.call("GET", "/credentials/nomfa")))  # the profile's own credentials
        self.assertEqual(request.label, "web")  # what the access log writes instead of the id
        self.assertEqual(rm.shown_path(request.path, request.label), "/v2/credentials/(web)")
        listed = self.doc(self.call("GET", "/grants"))["grants"]
        self.assertEqual([(g["label"], g["last_source"]) for g in listed], [("web", "172.17.0.2")])
        self.assertNotIn(grant_id, json.dumps(listed))
        self.assertNotIn(grant_id, self.call("GET", "/status").body.decode())

    def test_kept_as_a_hash_in_a_private_file_across_a_restart(self):
        grant_id, _ = self.grant()
        with open(self.grants_path) as handle:
            text = handle.read()
        self.assertNotIn(grant_id, text)
        self.assertIn(hashlib.sha256(grant_id.encode()).hexdigest(), text)
        self.assertEqual(stat.S_IMODE(os.stat(self.grants_path).st_mode), 0o600)
        self.make()  # a restart
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 200)
        write(self.grants_path, "{not json")  # a corrupt file: no grants, never a crash
        with self.assertLogs("runas_meta", logging.WARNING) as logs:
            self.make()
        self.assertIn("grants.json", logs.output[0])
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 404)

    def test_revoked_expired_and_unknown_ids_get_nothing(self):
        grant_id, _ = self.grant(ttl="1h")
        other_id, _ = self.grant("db")
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 200)
        self.now[0] += 3601
        response = self.container(rm.GRANT_PATH + grant_id)[0]
        self.assertEqual(self.doc(response, 404)["code"], "GrantNotFound")
        self.assertEqual(self.container(rm.GRANT_PATH + "x" * 43)[0].status, 404)
        self.doc(self.call("POST", "/grants/revoke", {"Content-Type": "application/x-www-form-urlencoded"},
                           "label=db"))
        self.assertEqual(self.container(rm.GRANT_PATH + other_id)[0].status, 404)
        self.assertEqual(self.doc(self.call("GET", "/grants"))["grants"], [])

    def test_a_container_gets_nothing_else(self):
        grant_id, _ = self.grant()
        for method, path in [("GET", "/"), ("GET", "/credentials"), ("GET", "/credentials/nomfa"),
                             ("GET", "/list-roles"), ("GET", "/grants"), ("POST", "/grants"), ("GET", "/status"),
                             ("PUT", "/latest/api/token"), ("GET", "/latest/meta-data/iam/security-credentials/"),
                             ("POST", rm.GRANT_PATH + grant_id), ("GET", rm.GRANT_PATH + grant_id + "/x")]:
            doc = self.doc(self.container(path, method=method)[0], 403)
            self.assertEqual(doc["code"], "ForbiddenPeer", path)
            self.assertIn("message", doc)
        for host in ("127.0.0.1:%d" % self.PORT, "169.254.170.2:8080", "localhost", None):
            self.assertEqual(self.container(rm.GRANT_PATH + grant_id, host=host)[0].status, 403, host)
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id, host="169.254.170.2:80")[0].status, 200)

    def revoke(self, label):
        return self.call("POST", "/grants/revoke", {"Content-Type": "application/x-www-form-urlencoded"},
                         "label=" + label)

    def test_a_grant_is_bound_to_the_container_that_first_used_it(self):
        grant_id, _ = self.grant()
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 200)  # first use: bound to .2
        with self.assertLogs("runas_meta", logging.WARNING) as logs:
            doc = self.doc(self.container(rm.GRANT_PATH + grant_id, source="172.17.0.3")[0], 403)
        self.assertEqual(doc["code"], "GrantBoundElsewhere")
        self.assertIn("'web' was asked for from 172.17.0.3", logs.output[0])
        self.make()  # a restart keeps the binding
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id, source="172.17.0.3")[0].status, 403)
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 200)
        self.assertEqual(self.doc(self.call("GET", "/grants"))["grants"][0]["bound_to"], "172.17.0.2")
        # the user's own programs (--network host) are no container: any grant serves them
        host = rm.Request("GET", rm.GRANT_PATH + grant_id, [("Host", "127.0.0.1:%d" % self.PORT)])
        self.assertEqual(self.service.handle(host).status, 200)

    def test_a_container_id_holds_the_binding_across_new_addresses(self):
        grant_id, _ = self.grant()
        seen = self.service.ecs._seen
        seen["172.17.0.2"] = ("c0ffee000001", self.service.clock())
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 200)
        seen["172.17.0.9"] = ("c0ffee000001", self.service.clock())  # restarted: a new address, the same id
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id, source="172.17.0.9")[0].status, 200)
        seen["172.17.0.2"] = ("badbad000002", self.service.clock())  # another container took the old address
        with self.assertLogs("runas_meta", logging.WARNING):
            self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 403)
        self.assertEqual(self.doc(self.call("GET", "/grants"))["grants"][0]["bound_to"], "c0ffee000001")

    def test_a_container_reads_a_fixed_text_the_log_and_page_the_whole_one(self):
        grant_id, _ = self.grant()
        mfa_id, _ = self.grant("mfa", profile="dev")
        write(self.config_path, STANDARD_CONFIG.replace("[profile nomfa]", "[profile renamed]"))
        with self.assertLogs("runas_meta", logging.WARNING) as logs:
            doc = self.doc(self.container(rm.GRANT_PATH + grant_id)[0], 503)
        self.assertEqual(doc, {"code": "CredentialsUnavailable", "message": rm.CONTAINER_UNAVAILABLE})
        self.assertIn("nomfa", "\n".join(logs.output))  # the log names what went wrong
        listed = {g["label"]: g for g in self.doc(self.call("GET", "/grants"))["grants"]}
        self.assertIn("nomfa", listed["web"]["last_error"])  # and so does the page
        doc = self.doc(self.container(rm.GRANT_PATH + mfa_id)[0], 503)
        self.assertEqual(doc["message"], rm.CONTAINER_SIGN_IN)
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)
        self.sts_server.fail = 10 ** 6  # STS's text names roles and accounts: not for the container either
        with self.assertLogs("runas_meta", logging.WARNING):
            doc = self.doc(self.container(rm.GRANT_PATH + grant_id)[0], 503)
        self.assertEqual(doc["message"], rm.CONTAINER_UNAVAILABLE)
        for word in (self.home, "renamed", ACCOUNT, "InternalFailure"):
            self.assertNotIn(word, json.dumps(doc))

    def test_a_path_that_resembles_the_grant_path_never_shows_the_id(self):
        grant_id, _ = self.grant()
        for path in ("//v2/credentials/" + grant_id, "/v2//credentials/" + grant_id,
                     "/v2%2Fcredentials/" + grant_id, "/x/V2/credentials/" + grant_id):
            with self.subTest(path=path):
                self.assertNotIn(grant_id, rm.shown_path(path, None))
                self.assertNotIn(grant_id, self.call("GET", path).body.decode())
                self.assertNotIn(grant_id, self.container(path)[0].body.decode())
        server = serve(self, self.service)
        lines = []
        server.access.log = type("Log", (), {"isEnabledFor": lambda self, level: True,
                                             "info": lambda self, fmt, text: lines.append(text)})()
        connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=5)
        connection.request("GET", "//v2/credentials/" + grant_id)
        answer = connection.getresponse()
        self.assertEqual(answer.status, 404)
        self.assertNotIn(grant_id, answer.read().decode())
        connection.close()
        server.access.flush()
        self.assertIn("//v2/credentials/(no-grant) 404", "\n".join(lines))
        self.assertNotIn(grant_id, "\n".join(lines))

    def test_credential_paths_refuse_proxies(self):
        grant_id, _ = self.grant()
        for header in ("X-Forwarded-For", "Via"):
            with self.subTest(header=header):
                self.assertEqual(self.call("GET", "/credentials", {header: "1.2.3.4"}).status, 403)
                self.assertEqual(self.call("GET", "/credentials/nomfa", {header: "1.1 proxy"}).status, 403)
                request = rm.Request("GET", rm.GRANT_PATH + grant_id, [("Host", rm.ECS_ADDRESS), (header, "x")],
                                     b"", ("172.17.0.2", 40000), "container")
                self.assertEqual(self.service.handle(request).status, 403)
        self.assertEqual(self.call("GET", "/credentials").status, 200)

    def test_a_revocation_on_a_full_disk_is_struck_out_in_place(self):
        grant_id, _ = self.grant()
        other_id, _ = self.grant("db")

        def full(path, data):
            raise OSError(errno.ENOSPC, "No space left on device")
        self.make(writer=full)
        with self.assertLogs("runas_meta", logging.WARNING):
            self.assertEqual(self.doc(self.revoke("web")), {"revoked": "web", "kept": True})
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 404)
        self.make()  # a restart: the revocation holds, the other grant is still there
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 404)
        self.assertEqual(self.container(rm.GRANT_PATH + other_id)[0].status, 200)
        self.assertEqual([g["label"] for g in self.doc(self.call("GET", "/grants"))["grants"]], ["db"])

    def test_a_revocation_that_cannot_be_written_is_said_and_retried(self):
        grant_id, _ = self.grant()
        broken = [True]

        def writer(path, data):
            if broken[0] and path == self.grants_path:
                raise OSError(errno.EROFS, "Read-only file system")
            rm.write_private_file(path, data)
        self.make(writer=writer, strike=lambda path, keys: [])
        with self.assertLogs("runas_meta", logging.WARNING):
            doc = self.doc(self.revoke("web"), 202)
        self.assertEqual((doc["revoked"], doc["kept"]), ("web", False))
        self.assertIn("could not be written", doc["Message"])
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 404)  # refused here at once
        self.assertEqual(self.doc(self.call("GET", "/grants"))["unkept"], ["web"])
        self.assertIn(hashlib.sha256(grant_id.encode()).hexdigest(), read_text(self.spare))
        self.make(writer=writer, strike=lambda path, keys: [])  # a restart before the disk has room
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 404)
        self.assertFalse(self.service.grants.retry())
        broken[0] = False  # room again: the retry writes it, the spare file goes
        self.assertTrue(self.service.grants.retry())
        self.assertNotIn(hashlib.sha256(grant_id.encode()).hexdigest(), read_text(self.grants_path))
        self.assertFalse(os.path.exists(self.spare))
        self.assertEqual(self.doc(self.call("GET", "/grants"))["unkept"], [])

    def test_the_command_line_says_a_revocation_was_not_kept(self):
        fake = FakeHTTP()  # the service's two answers, on a port of its own
        self.addCleanup(fake.close)
        answers = iter([(202, {"revoked": "web", "kept": False, "Message": "grants.json could not be written"}),
                        (200, {"revoked": "web", "kept": True})])
        fake.route = lambda *a: (lambda status, doc: (status, [("Content-Type", "application/json")],
                                                       json.dumps(doc)))(*next(answers))
        out, err = io.StringIO(), io.StringIO()
        port = fake.base.rsplit(":", 1)[1]
        self.assertEqual(rm.grant_main(["--revoke", "web", "-p", port], out, err), 1)
        self.assertIn("not kept: grants.json could not be written", err.getvalue())
        self.assertEqual(rm.grant_main(["--revoke", "web", "-p", port], out, err), 0)
        self.assertIn("grant 'web' revoked", out.getvalue())

    def test_two_instances_never_undo_each_others_revocations(self):
        first, second = self.grants(), self.grants()  # two services of the same user, one HOME
        web_id, _ = first.create("nomfa", "web")
        GRANT_IDS.append(web_id)
        self.assertEqual(second.use(web_id, "172.17.0.2")["label"], "web")  # made by the other: served
        self.assertEqual(first.revoke("web"), (True, True))
        self.assertIsNone(second.use(web_id, "172.17.0.2"))  # revoked by the other: refused at once
        db_id, _ = second.create("nomfa", "db")  # a change in the second ...
        GRANT_IDS.append(db_id)
        self.assertIsNone(first.use(web_id, "172.17.0.2"))  # ... never writes the revoked grant back
        self.assertIsNone(self.grants().use(web_id, "172.17.0.2"))  # nor does a restart find it
        self.assertEqual(first.use(db_id, "172.17.0.3")["label"], "db")
        self.assertEqual([g["label"] for g in self.grants().list()], ["db"])

    def test_a_grant_that_cannot_be_written_is_not_made(self):
        def full(path, data):
            raise OSError(errno.ENOSPC, "No space left on device")
        self.make(writer=full)
        with self.assertLogs("runas_meta", logging.WARNING):
            response = self.call("POST", "/grants", {"Content-Type": "application/x-www-form-urlencoded"},
                                 "profile=nomfa&label=web")
        self.assertEqual(self.doc(response, 503)["Code"], "GrantNotKept")
        self.assertEqual(self.doc(self.call("GET", "/grants"))["grants"], [])

    def test_health_check_names_no_profile(self):
        response = self.container("/healthcheck")[0]
        self.assertEqual(self.doc(response), {"status": "healthy"})
        self.assertNotIn(b"nomfa", response.body)
        self.assertEqual(self.call("GET", "/healthcheck").status, 200)

    def test_each_grant_is_rate_limited(self):
        grant_id, _ = self.grant()
        other_id, _ = self.grant("other")
        statuses = [self.container(rm.GRANT_PATH + grant_id)[0].status for _ in range(rm.GRANT_BURST + 1)]
        self.assertEqual(statuses, [200] * rm.GRANT_BURST + [429])
        self.assertEqual(self.container(rm.GRANT_PATH + other_id)[0].status, 200)  # another grant: its own limit
        self.now[0] += 1.0  # a second later, ten more
        self.assertEqual(self.container(rm.GRANT_PATH + grant_id)[0].status, 200)

    def test_bad_requests_for_grants(self):
        form = {"Content-Type": "application/x-www-form-urlencoded"}
        self.grant()
        self.assertEqual(self.doc(self.call("POST", "/grants", form, "profile=nomfa&label=web"), 409)["Code"],
                         "Conflict")
        self.assertEqual(self.call("POST", "/grants", form, "profile=nomfa&label=bad label").status, 400)
        self.assertEqual(self.call("POST", "/grants", form, "profile=nomfa&label=x&ttl=soon").status, 400)
        self.assertEqual(self.call("POST", "/grants", form, "profile=nomfa&label=x&ttl=400d").status, 400)
        self.assertEqual(self.call("POST", "/grants", form, "profile=ghost&label=x").status, 404)
        self.assertEqual(self.call("POST", "/grants/revoke", form, "label=nothing").status, 404)
        self.assertEqual(self.call("POST", "/grants", {"Origin": "http://evil.example"}, "profile=nomfa&label=y")
                         .status, 403)  # the management API's cross-site rules hold

    def test_the_peer_check_tells_containers_from_users(self):
        check = rm.PeerCheck(uid=1000)
        owners = {"172.17.0.2": None, "127.0.0.2": 65534, "127.0.0.1": 1000}
        check.socket_of = lambda client, server: owners[client[0]] and (owners[client[0]], 0)
        server = ("127.0.0.1", 8080)
        self.assertEqual(check.verdict(("172.17.0.2", 1), server), "namespace")
        self.assertEqual(check.verdict(("127.0.0.2", 1), server), "user")
        self.assertIsNone(check.verdict(("127.0.0.1", 1), server))
        others = rm.PeerCheck(uid=1000, other_users=True)
        others.socket_of = check.socket_of
        self.assertIsNone(others.verdict(("127.0.0.2", 1), server))  # --allow-other-users: users, yes
        self.assertEqual(others.verdict(("172.17.0.2", 1), server), "namespace")  # containers, never
        refusal = json.loads(rm.peer_refusal("namespace", "172.17.0.2").body)
        self.assertEqual(refusal["Code"], "ForbiddenPeer")
        self.assertIn("172.17.0.2", refusal["Message"])
        self.assertIn("container", refusal["Message"])
        self.assertIn("grant", refusal["Message"])
        self.assertNotIn("other local users", refusal["Message"])

    def test_bridge_prefixes_and_the_ecs_network_check(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(_rmtree, folder)
        for name in ("docker0", "br-0123", "eth0"):
            os.makedirs(os.path.join(folder, name, "bridge" if name != "eth0" else "device"))
        addresses = {("docker0", 0x8915): 0xAC110001, ("docker0", 0x891B): 0xFFFF0000,
                     ("br-0123", 0x8915): 0xAC120001, ("br-0123", 0x891B): 0xFFFF0000}
        bridges = rm.BridgePrefixes(folder, address_of=lambda name, request: addresses[(name, request)])
        self.assertEqual(bridges.holder("172.17.0.2"), "docker0")
        self.assertEqual(bridges.holder("172.18.5.9"), "br-0123")
        self.assertIsNone(bridges.holder("10.0.0.2"))  # eth0 is no bridge: a neighbour there is not served

        def run(argv, **kwargs):
            out = {"addr": "1: lo    inet 127.0.0.1/8 scope host lo\n"
                           "1: lo    inet 169.254.170.2/32 scope global lo\n"
                           "7: br-9f    inet 169.254.170.1/24 brd 169.254.170.255 scope global br-9f\n",
                   "route": "default via 10.0.0.1 dev eth0\n169.254.0.0/16 dev eth0 scope link metric 1000\n"
                            "169.254.170.0/24 dev br-9f proto kernel scope link src 169.254.170.1\n"
                            "local 169.254.170.2 dev lo table local proto kernel scope host src 169.254.170.2\n"}
            return subprocess.CompletedProcess(argv, 0, out["addr" if "addr" in argv else "route"], "")
        self.assertEqual(rm.ecs_prefix_holders(run), ["br-9f"])
        quiet = lambda argv, **kwargs: subprocess.CompletedProcess(  # noqa: E731
            argv, 0, "default via 10.0.0.1 dev eth0\n169.254.0.0/16 dev eth0 scope link metric 1000\n", "")
        self.assertEqual(rm.ecs_prefix_holders(quiet), [])  # a link-local /16 on the LAN is no other proxy

    def test_container_id_from_cgroups_with_one_tcp_table_per_container(self):
        header = "  sl  local_address rem_address   st\n"
        socket_from = lambda address: "   0: %s:9C40 0202FEA9:0050 01\n" % rm._proc_address(address, 0)[:8]  # noqa: E731
        files = {}
        for pid in range(1, 301):  # the host's processes: no container in their cgroup
            files[(str(pid), "cgroup")] = "0::/user.slice/user-1000.slice/session-2.scope\n"
            files[(str(pid), "net/tcp")] = header + socket_from("172.17.0.2")  # never read
        web, api = "a" * 12 + "0" * 52, "b" * 64
        for pid, container in ((401, web), (402, web), (403, web), (501, api)):
            files[(str(pid), "cgroup")] = "12:pids:/docker/%s\n0::/docker/%s\n" % (container, container)
            files[(str(pid), "net/tcp")] = header + socket_from("172.17.0.2" if container == web else "172.18.0.2")
        files[("601", "cgroup")] = "0::/machine.slice/libpod-%s.scope\n" % ("c" * 64)  # podman, no table readable
        proc = tempfile.mkdtemp()
        self.addCleanup(_rmtree, proc)
        for pid in {pid for pid, _ in files} | {"self", "sys"}:
            os.mkdir(os.path.join(proc, pid))
        tables = []

        def read(path):
            pid, _, rest = os.path.relpath(path, proc).partition(os.sep)
            if rest != "cgroup":
                tables.append(pid)
            if (pid, rest.replace(os.sep, "/")) not in files:
                raise PermissionError(13, "Permission denied")
            return files[(pid, rest.replace(os.sep, "/"))]
        for address, expected in (("172.18.0.2", "b" * 12), ("172.17.0.2", "a" * 12), ("172.19.0.2", None)):
            del tables[:]
            self.assertEqual(rm.container_of(address, proc, read), expected)
            self.assertTrue(set(tables) <= {"401", "402", "403", "501", "601"}, tables)  # no host process's
            self.assertLessEqual(len([pid for pid in tables if pid in ("401", "402", "403")]), 1)  # once per container
            self.assertLessEqual(len([pid for pid in tables if pid == "601"]), 1)

    def test_containers_mode_refuses_without_root_and_beside_another_proxy(self):
        args = rm.build_parser().parse_intermixed_args(["ecs", "--containers", "dev"])
        with self.assertRaises(rm.UsageError) as caught:
            rm.serve_containers(args, {}, None, None, admin=lambda: False)
        text = str(caught.exception)
        self.assertEqual(len(text.splitlines()), 1)
        self.assertIn("sudo ", text)
        self.assertIn("--network host", text)
        with self.assertRaises(rm.UsageError) as caught:
            rm.serve_containers(args, {}, None, None, admin=lambda: True, holders=lambda: ["br-9f"])
        self.assertIn("br-9f", str(caught.exception))
        args = rm.build_parser().parse_intermixed_args(["ec2", "--containers"])
        with self.assertRaises(rm.UsageError):
            rm.serve_containers(args, {}, None, None, admin=lambda: True, holders=lambda: [])


def wait_for(predicate, seconds=5.0):
    """Poll `predicate` every millisecond until it holds or `seconds` pass
    (for state another thread changes with no event to wait on)."""
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        threading.Event().wait(0.001)
    return predicate()


def _read_all(sock):
    chunks = []
    while True:
        try:
            chunk = sock.recv(65536)
        except OSError:  # reset by the server, or timed out
            break
        if not chunk:
            break
        chunks.append(chunk)
        if b"\r\n\r\n" in b"".join(chunks):
            head, _, body = b"".join(chunks).partition(b"\r\n\r\n")
            match = re.search(rb"Content-Length: (\d+)", head)
            if match and len(body) >= int(match.group(1)):
                break
    return b"".join(chunks)


# ---- legacy mode, with injected commands (the real thing: e2e/test_legacy_netns.py) ----


class FakeRunner:
    """Records commands; `show` answers with or without the address."""

    def __init__(self, present=False, fail=()):
        self.commands, self.present, self.fail = [], present, fail
        self.helpers = []

    def run(self, command, **kwargs):
        self.commands.append(command)
        failed = any(word in command for word in self.fail)
        out = " inet %s/32 scope global lo inet %s netmask 0xffffffff %s " % ((rm.LEGACY_ADDRESS,) * 3) \
            if self.present else " inet 127.0.0.1/8 "
        return subprocess.CompletedProcess(command, 1 if failed else 0, out, "no permission" if failed else "")

    def popen(self, command, **kwargs):
        helper = FakeHelper(command)
        self.helpers.append(helper)
        return helper


class FakeHelper:
    def __init__(self, command):
        self.command, self.stdin, self.waited = command, io.BytesIO(), False

    def wait(self, timeout=None):
        self.waited = True


class LegacyUnitTests(unittest.TestCase):
    EXPECTED = {
        "linux": (["ip", "addr", "add", "169.254.169.254/32", "dev", "lo"],  # an injected runner: nothing runs
                  ["ip", "addr", "del", "169.254.169.254/32", "dev", "lo"]),  # an injected runner: nothing runs
        "darwin": (["ifconfig", "lo0", "alias", "169.254.169.254/32"],  # an injected runner: nothing runs
                   ["ifconfig", "lo0", "-alias", "169.254.169.254"]),  # an injected runner: nothing runs
        "win32": (["netsh", "interface", "ipv4", "add", "address", "Loopback Pseudo-Interface 1",
                   "169.254.169.254", "255.255.255.255"],  # an injected runner: nothing runs
                  ["netsh", "interface", "ipv4", "delete", "address", "Loopback Pseudo-Interface 1",
                   "169.254.169.254"]),  # an injected runner: nothing runs
    }

    def test_commands_per_platform(self):
        for platform, (add, remove) in self.EXPECTED.items():
            with self.subTest(platform=platform):
                runner = FakeRunner()
                address = rm.LegacyAddress("linux2" if platform == "linux" else platform, runner.run, runner.popen)
                helper = address.claim()
                self.assertEqual(runner.commands[-1], add)
                self.assertEqual(helper.command[-len(remove):], remove)  # the helper removes it
                self.assertEqual(helper.command[:2], [sys.executable, "-c"])
                self.assertFalse(helper.stdin.closed)
                address.release(helper)
                self.assertTrue(helper.stdin.closed and helper.waited)

    def test_an_address_that_was_there_is_left_alone(self):
        for platform in self.EXPECTED:
            with self.subTest(platform=platform):
                runner = FakeRunner(present=True)
                self.assertIsNone(rm.LegacyAddress(platform, runner.run, runner.popen).claim())
                self.assertEqual(len(runner.commands), 1)  # only "show"
                self.assertEqual(runner.helpers, [])

    def test_failed_add_releases_the_helper(self):
        runner = FakeRunner(fail=("add",))
        with self.assertRaisesRegex(rm.RunasError, "no permission"):
            rm.LegacyAddress("linux", runner.run, runner.popen).claim()
        self.assertTrue(runner.helpers[0].stdin.closed)

    def test_unsupported_platform(self):
        with self.assertRaisesRegex(rm.UsageError, "use -p PORT"):
            rm.LegacyAddress("sunos5")

    def test_helper_removes_the_address_when_the_pipe_closes(self):
        marker = os.path.join(tempfile.mkdtemp(), "removed")
        self.addCleanup(_rmtree, os.path.dirname(marker))
        helper = subprocess.Popen([sys.executable, "-c", rm.CLEANUP_HELPER, sys.executable, "-c",
                                   "open(%r, 'w').write('done')" % marker], stdin=subprocess.PIPE)
        self.assertFalse(os.path.exists(marker))
        helper.stdin.close()
        self.assertEqual(helper.wait(10), 0)
        self.assertTrue(os.path.exists(marker))

    def test_user_from_sudo_or_config_owner(self):
        entries = {1000: ("alice", "/home/alice", 1000), 0: ("root", "/root", 0)}

        def getpwuid(uid):
            if uid not in entries:
                raise KeyError(uid)
            name, home, gid = entries[uid]
            return type("pw", (), {"pw_name": name, "pw_dir": home, "pw_gid": gid})

        env = {"SUDO_UID": "1000", "SUDO_GID": "1001", "HOME": "/root"}
        self.assertEqual(rm.legacy_user(env, getpwuid), rm.User(1000, 1001, "alice", "/home/alice"))
        self.assertEqual(rm.legacy_user({"SUDO_UID": "1000"}, getpwuid).gid, 1000)
        owner = type("st", (), {"st_uid": 1000, "st_gid": 50})
        got = rm.legacy_user({"HOME": "/root"}, getpwuid, stat=lambda path: owner)
        self.assertEqual(got, rm.User(1000, 50, "alice", "/home/alice"))
        self.assertEqual(rm.legacy_user({"SUDO_UID": "4242", "HOME": "/h"}, getpwuid),
                         rm.User(4242, 4242, "", "/h"))

    def test_drop_privileges_order_and_environment(self):
        calls = []

        class Ops:
            def getgrouplist(self, name, gid):
                return [gid, 27]

            def __getattr__(self, name):
                return lambda *args: calls.append((name,) + args)

        env = rm.drop_privileges(rm.User(1000, 1001, "alice", "/home/alice"), {"HOME": "/root"}, Ops())
        self.assertEqual(calls, [("setgroups", [1001, 27]), ("setgid", 1001), ("setuid", 1000)])
        self.assertEqual((env["HOME"], env["USER"]), ("/home/alice", "alice"))

    def test_not_root_refusal_touches_nothing(self):
        runner = FakeRunner()
        args = rm.build_parser().parse_intermixed_args(["ec2", "dev"])
        with self.assertRaises(rm.UsageError) as caught:
            rm.serve_legacy(args, {}, None, None, rm.LegacyAddress("linux", runner.run, runner.popen),
                            admin=lambda: False)
        self.assertIn("sudo", str(caught.exception))
        self.assertIn("ec2 -p 8000 dev", str(caught.exception))
        self.assertEqual(runner.commands, [])


# ---- federation: SAML and OIDC through identity providers ------------------------


FED_CONFIG = """\
[profile kc-saml]
saml_auth_url = {kc_saml}
saml_username = alice
role_arn = {role}
region = eu-west-1

[profile kc-jump]
saml_auth_url = {kc_saml}
saml_username = alice
jump_role_arn = {jump}
role_arn = {role2}

[profile kc-other]
source_profile = kc-saml
role_arn = {role2}

[profile kc-missing]
saml_auth_url = {kc_saml}
saml_username = alice
role_arn = arn:aws:iam::{account}:role/not-granted

[profile kc-oidc]
web_identity_auth_url = {kc_issuer}
web_identity_username = alice
web_identity_client_id = aws-cli
web_identity_redirect_uri = http://127.0.0.1:9/callback
role_arn = {role}

[profile kc-browser]
web_identity_auth_url = {kc_issuer}
web_identity_provider = browser
web_identity_client_id = aws-cli
web_identity_redirect_uri = http://127.0.0.1:9/unused
role_arn = {role}

[profile okta-saml]
saml_auth_url = {okta_saml}
saml_username = olga
role_arn = {role}

[profile okta-push]
saml_auth_url = {okta_saml}
saml_username = pat
role_arn = {role}

[profile okta-oidc]
web_identity_auth_url = {okta_issuer}
web_identity_username = olga
web_identity_client_id = 0oa-client
web_identity_redirect_uri = http://127.0.0.1:9/callback
role_arn = {role}

[profile token-file]
web_identity_token_file = {token_file}
role_arn = {role}
role_session_name = from-file
"""


class FederationCase(FakeSTSCase):
    PORT = 9999

    def setUp(self):
        super().setUp()
        self.sts_server.clock = rm.utcnow
        self.keycloak = FakeKeycloak({"alice": ("kc-password", "654321")}, [ROLE, JUMP])
        self.okta = FakeOkta({"olga": {"password": "okta-password", "totp": "112233"},
                              "pat": {"password": "push-password", "push": "approve"}}, [ROLE])
        self.addCleanup(self.keycloak.close)
        self.addCleanup(self.okta.close)
        self.token_file = os.path.join(self.home, "token")
        write(self.token_file, fake_jwt("from-file", "sts"))
        self.files(FED_CONFIG.format(kc_saml=self.keycloak.saml_url, kc_issuer=self.keycloak.issuer,
                                     okta_saml=self.okta.saml_url, okta_issuer=self.okta.issuer, role=ROLE,
                                     role2=ROLE2, jump=JUMP, account=ACCOUNT, token_file=self.token_file), "")
        self.monotonic = [0.0]
        self.build()

    def build(self, **federation):
        config = self.config()
        federation.setdefault("sleep", self.advance)
        federation.setdefault("monotonic", lambda: self.monotonic[0])
        self.federation = rm.Federation(config, self.environ, **federation)
        engine = rm.Engine(config, rm.STS(self.environ, sleep=lambda s: None, timeout=5), environ=self.environ,
                           spawn=self.spawned.append, federation=self.federation)
        self.service = rm.Service(engine, config)
        self.service.set_address("127.0.0.1", self.PORT)

    def advance(self, seconds):
        self.monotonic[0] += seconds

    def call(self, method, path, body=b"", headers=None):
        all_headers = [("Host", "127.0.0.1:%d" % self.PORT)] + list((headers or {}).items())
        response = self.service.handle(rm.Request(method, path, all_headers, body.encode() if isinstance(body, str) else body))
        if response.status >= 400:
            self.assertEqual(secrets_in(response.body.decode("utf-8", "replace")), [])
        return response, json.loads(response.body) if response.content_type == "application/json" and response.body else {}

    def sign_in(self, profile, password, code=None):
        self.service.activate(profile)
        response, doc = self.call("POST", "/auth", "username=&password=" + urllib.parse.quote(password))
        if code is not None:
            self.assertEqual(response.status, 401, doc)
            self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
            response, doc = self.call("POST", "/mfa", "mfa=" + code)
        return response, doc


class KeycloakSamlTests(FederationCase):
    def test_password_then_otp_then_credentials(self):
        self.service.activate("kc-saml")
        response, doc = self.call("GET", "/credentials")
        self.assertEqual(response.status, 401)
        self.assertIn((rm.AUTH_TYPE_HEADER, "AUTH"), response.headers)
        self.assertEqual((doc["Code"], doc["username"]), ("AuthRequired", "alice"))
        response, doc = self.call("POST", "/auth", "username=alice&password=wrong")
        self.assertEqual((response.status, doc["Code"]), (401, "AuthFailed"))
        self.assertIn("Invalid username or password", doc["Message"])
        self.assertIn((rm.AUTH_TYPE_HEADER, "AUTH"), response.headers)
        response, doc = self.call("POST", "/auth", "username=alice&password=kc-password")
        self.assertEqual(response.status, 401)
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
        response, doc = self.call("POST", "/mfa", "mfa=000000")
        self.assertEqual((response.status, doc["Code"]), (401, "MFAInvalid"))
        response, doc = self.call("POST", "/mfa", "mfa=654321")
        self.assertEqual(response.status, 200, doc)
        response, creds = self.call("GET", "/credentials")
        self.assertEqual(creds["RoleArn"], ROLE)
        call = self.sts_server.calls[-1]
        self.assertEqual((call["Action"], call["RoleArn"], call["PrincipalArn"], call["_signed"]),
                         ("AssumeRoleWithSAML", ROLE, SAML_PRINCIPAL, False))
        self.assertEqual(rm.parse_saml_response(call["SAMLAssertion"]).roles, ((ROLE, SAML_PRINCIPAL), (JUMP, SAML_PRINCIPAL)))
        cache = os.path.join(os.path.dirname(self.config_path), ".aws_saml_role_kc-saml")
        self.assertEqual(stat.S_IMODE(os.stat(cache).st_mode), 0o600)

    def test_idp_session_and_saml_response_are_reused(self):
        self.sign_in("kc-saml", "kc-password", "654321")
        logins = self.keycloak.count("POST", "/realms/test/login-actions/authenticate")
        self.call("POST", "/refresh")  # drops the role credentials: the SAML response is still valid
        self.assertEqual(self.sts_server.actions().count("AssumeRoleWithSAML"), 2)
        self.assertEqual(self.keycloak.count("GET", "/realms/test/protocol/saml/clients/aws"), 1)
        self.federation.clients[self.keycloak.saml_url].assertion = None  # the SAML response expired
        response, _ = self.call("POST", "/refresh")
        self.assertEqual(response.status, 200)  # the IdP session cookie signs in without password or OTP
        self.assertEqual(self.keycloak.count("POST", "/realms/test/login-actions/authenticate"), logins)
        self.assertEqual(self.keycloak.count("GET", "/realms/test/protocol/saml/clients/aws"), 2)

    def test_lost_idp_session_asks_again(self):
        self.sign_in("kc-saml", "kc-password", "654321")
        self.keycloak.sessions.clear()
        client = self.federation.clients[self.keycloak.saml_url]
        client.assertion, client.password = None, None
        response, doc = self.call("POST", "/refresh")
        self.assertEqual((response.status, doc["username"]), (401, "alice"))
        status = self.call("GET", "/status")[1]
        self.assertEqual(status["auth_needed"]["type"], "AUTH")
        response, _ = self.sign_in("kc-saml", "kc-password", "654321")
        self.assertEqual(response.status, 200)
        self.assertIsNone(self.call("GET", "/status")[1]["auth_needed"])

    def test_jump_role_and_inherited_settings(self):
        self.sign_in("kc-jump", "kc-password", "654321")
        creds = self.call("GET", "/credentials")[1]
        self.assertEqual(creds["RoleArn"], ROLE2)
        saml_call, role_call = self.sts_server.calls[-2:]
        self.assertEqual((saml_call["Action"], saml_call["RoleArn"]), ("AssumeRoleWithSAML", JUMP))
        self.assertEqual((role_call["Action"], role_call["RoleArn"], role_call["RoleSessionName"]),
                         ("AssumeRole", ROLE2, "alice"))
        self.assertTrue(role_call["_signed"])
        self.assertLessEqual(int(role_call["DurationSeconds"]), 3600)
        fed = self.service.config.federated("kc-other")  # settings inherited from source_profile
        self.assertEqual((fed.saml_auth_url, fed.role_arn), (self.keycloak.saml_url, ROLE2))

    def test_role_not_granted_lists_the_granted_roles(self):
        self.service.activate("kc-missing")
        self.federation.set_password(self.service.config.federated("kc-missing"), "alice", "kc-password")
        response, doc = self.call("POST", "/mfa", "mfa=654321")
        self.assertEqual((response.status, doc["Code"]), (403, "RoleNotGranted"))
        self.assertIn(ROLE, doc["Message"])
        self.assertIn(JUMP, doc["Message"])

    def test_password_from_the_credentials_file(self):
        write(self.credentials_path, "[%s]\nsaml_password = kc-password\n" % self.keycloak.saml_url)
        self.service.activate("kc-saml")
        response, _ = self.call("GET", "/credentials")
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)  # the password was found
        self.assertEqual(self.call("POST", "/mfa", "mfa=654321")[0].status, 200)

    def test_obfuscated_password_is_reported(self):
        obfuscated = rm.base64.b64encode(bytes(range(200, 240))).decode()
        write(self.credentials_path, "[%s]\nsaml_password = %s\n" % (self.keycloak.saml_url, obfuscated))
        self.service.activate("kc-saml")
        with self.assertLogs("runas_meta", logging.WARNING) as logs:
            response, _ = self.call("GET", "/credentials")
        self.assertIn((rm.AUTH_TYPE_HEADER, "AUTH"), response.headers)
        self.assertIn("obfuscated form", "\n".join(logs.output))

    def test_password_is_never_sent_to_another_host(self):
        self.keycloak.foreign_action = "http://127.0.0.2:9"  # a login form that posts elsewhere
        self.service.activate("kc-saml")
        self.federation.set_password(self.service.config.federated("kc-saml"), "alice", "kc-password")
        response, doc = self.call("GET", "/credentials")
        self.assertEqual((response.status, doc["Code"]), (502, "IdPError"))
        self.assertIn("refusing to send the password", doc["Message"])

    def test_idp_down(self):
        self.keycloak.close()
        self.service.activate("kc-saml")
        self.federation.set_password(self.service.config.federated("kc-saml"), "alice", "kc-password")
        response, doc = self.call("GET", "/credentials")
        self.assertEqual((response.status, doc["Code"]), (503, "IdPUnavailable"))


class OidcTests(FederationCase):
    def test_keycloak_oidc_with_pkce(self):
        response, doc = self.sign_in("kc-oidc", "kc-password", "654321")
        self.assertEqual(response.status, 200, doc)
        call = self.sts_server.calls[-1]
        self.assertEqual((call["Action"], call["RoleArn"], call["RoleSessionName"]),
                         ("AssumeRoleWithWebIdentity", ROLE, "alice"))
        self.assertEqual(json.loads(rm.base64.urlsafe_b64decode(call["WebIdentityToken"].split(".")[1] + "=="))["sub"],
                         "alice")
        auth = [q for m, p, q, f, b in self.keycloak.requests if p.endswith("/openid-connect/auth")][0]
        self.assertEqual(auth["code_challenge_method"], "S256")
        self.assertGreaterEqual(len(auth["state"]), 20)
        self.assertNotIn("code_verifier", auth)
        self.call("POST", "/refresh")  # the id_token is reused until shortly before it expires
        self.assertEqual(self.keycloak.count("POST", "/realms/test/protocol/openid-connect/token"), 1)

    def test_okta_oidc(self):
        response, doc = self.sign_in("okta-oidc", "okta-password", "112233")
        self.assertEqual(response.status, 200, doc)
        self.assertEqual(self.sts_server.calls[-1]["Action"], "AssumeRoleWithWebIdentity")

    def test_okta_oidc_error_page_instead_of_a_redirect(self):
        self.okta.authorize_error = "<h1>User is not assigned to the client application.</h1>"
        calls = len(self.sts_server.calls)
        response, doc = self.sign_in("okta-oidc", "okta-password", "112233")
        self.assertEqual(response.status, 502, doc)
        self.assertEqual(doc["Message"], "Okta did not issue an authorization code: "
                                         "HTTP 400 instead of a redirect to the redirect URI")
        self.assertEqual(len(self.sts_server.calls), calls)

    def test_token_file_is_read_at_every_renewal(self):
        self.service.activate("token-file")
        self.assertEqual(self.call("GET", "/credentials")[0].status, 200)
        first = self.sts_server.calls[-1]["WebIdentityToken"]
        write(self.token_file, fake_jwt("rotated", "sts"))
        self.call("POST", "/refresh")
        second = self.sts_server.calls[-1]
        self.assertNotEqual(second["WebIdentityToken"], first)
        self.assertEqual(second["RoleSessionName"], "from-file")
        os.unlink(self.token_file)
        response, doc = self.call("POST", "/refresh")
        self.assertEqual(response.status, 400)
        self.assertIn(self.token_file, doc["Message"])

    def start_browser_sign_in(self, path):
        """The page's button: POST (no link can do it), the URL and this browser's cookie."""
        response, doc = self.call("POST", path)
        self.assertEqual(response.status, 200, doc)
        cookie = dict(response.headers)["Set-Cookie"]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Lax", cookie)
        return doc["url"], {"Cookie": cookie.split(";")[0]}

    def test_browser_login_round_trip(self):
        self.service.activate("kc-browser")
        response, doc = self.call("GET", "/credentials")
        self.assertIn((rm.AUTH_TYPE_HEADER, "BROWSER"), response.headers)
        self.assertEqual(doc["login_url"], "http://127.0.0.1:9999/oidc/login?profile=kc-browser")
        response, _ = self.call("GET", "/oidc/login?profile=kc-browser")  # a link opens the page, nothing more
        self.assertEqual((response.status, dict(response.headers)["Location"]), (302, "/"))
        location, mine = self.start_browser_sign_in("/oidc/login?profile=kc-browser")
        self.assertTrue(location.startswith(self.keycloak.issuer + "/protocol/openid-connect/auth?"))
        query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))
        self.assertEqual(query["redirect_uri"], "http://127.0.0.1:9999/oidc/callback")
        # the user's browser: the IdP's pages, then the redirect to our callback
        browser = rm.IdpHttp(location, self.environ)
        page = browser.send("GET", location, stop_at=query["redirect_uri"])
        login = rm.parse_forms(page.body, page.url)[0]
        page = browser.send("POST", login.action, form=dict(login.fields, username="alice", password="kc-password"))
        otp = rm.parse_forms(page.body, page.url)[0]
        page = browser.send("POST", otp.action, form={"otp": "654321"}, stop_at=query["redirect_uri"])
        callback = page.location[len("http://127.0.0.1:9999"):]
        self.assert_ignored(callback.replace("state=", "state=x"), mine)
        self.assert_ignored(callback, {})  # another browser (no cookie): no code injection
        self.assert_ignored(callback, {"Cookie": "runas_meta_9999=%s" % ("B" * 32)})
        response, _ = self.call("GET", callback, headers=mine)
        self.assertEqual((response.status, dict(response.headers)["Location"]), (302, "/#signin-result"))
        self.assertEqual(self.call("GET", "/signin-result", headers=mine)[1], {"signed_in": "kc-browser"})
        self.assertEqual(self.call("GET", "/signin-result", headers=mine)[1], {})  # told once
        self.assertEqual(self.call("GET", "/credentials")[1]["RoleArn"], ROLE)
        self.assert_ignored(callback, mine)  # a state is good once
        # an error text counts only for a sign-in this browser started
        self.assert_ignored("/oidc/callback?error=access_denied&error_description=Re-enter+at+evil&state=x", mine)
        location, mine = self.start_browser_sign_in("/oidc/login?profile=kc-browser")
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(location).query))["state"]
        response, _ = self.call("GET", "/oidc/callback?error=access_denied&error_description=User+cancelled&state="
                                + state, headers=mine)
        self.assertEqual(dict(response.headers)["Location"], "/#signin-result")
        self.assertEqual(self.call("GET", "/signin-result", headers=mine)[1],
                         {"error": "the identity provider refused the sign-in: access_denied (User cancelled)"})

    def assert_ignored(self, callback, headers):
        """A callback for a sign-in this browser did not start: back on the page, nothing done or told."""
        sts_calls = len(self.sts_server.calls)
        response, _ = self.call("GET", callback, headers=headers)
        self.assertEqual((response.status, dict(response.headers)["Location"]), (302, "/"))
        self.assertEqual(self.call("GET", "/signin-result", headers=headers)[1], {})
        self.assertEqual(len(self.sts_server.calls), sts_calls)

    def test_browser_login_times_out(self):
        fed = self.service.config.federated("kc-browser")
        url = self.federation.start_browser_login(fed, "http://127.0.0.1:9999/oidc/callback", now=0.0)
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query))["state"]
        with self.assertRaisesRegex(rm.HTTPError, "longer than"):
            self.federation.finish_browser_login(state, "code", now=rm.LOGIN_TIMEOUT + 1)


class HeadlessFederationTests(FederationCase):
    def test_terminal_answers_password_and_code(self):
        answers = io.StringIO("kc-password\n654321\n")
        out = io.StringIO()
        self.build(password_prompt=rm.terminal_password(answers, out))
        self.service.engine.mfa_prompt = rm.terminal_prompt(answers, out)
        creds = self.service.engine.credentials("kc-saml")
        self.assertEqual(creds.role_arn, ROLE)
        self.assertIn("Password for alice at %s" % self.keycloak.saml_url, out.getvalue())
        self.assertIn("MFA code for profile kc-saml", out.getvalue())
        self.assertNotIn("kc-password", out.getvalue())

    def test_oidc_cache_file(self):
        self.sign_in("kc-oidc", "kc-password", "654321")
        cache = os.path.join(os.path.dirname(self.config_path), ".aws_web_role_kc-oidc")
        self.assertEqual(stat.S_IMODE(os.stat(cache).st_mode), 0o600)


class OktaTests(FederationCase):
    def test_totp(self):
        self.service.activate("okta-saml")
        response, doc = self.call("POST", "/auth", "username=olga&password=bad")
        self.assertEqual((response.status, doc["Code"]), (401, "AuthFailed"))
        response, doc = self.call("POST", "/auth", "username=olga&password=okta-password")
        self.assertIn((rm.AUTH_TYPE_HEADER, "MFA"), response.headers)
        self.assertEqual(self.call("POST", "/mfa", "mfa=999999")[1]["Code"], "MFAInvalid")
        response, doc = self.call("POST", "/mfa", "mfa=112233")
        self.assertEqual(response.status, 200, doc)
        self.assertEqual(self.sts_server.calls[-1]["Action"], "AssumeRoleWithSAML")

    def test_push_approved_rejected_and_timed_out(self):
        response, doc = self.sign_in("okta-push", "push-password")
        self.assertEqual(response.status, 200, doc)
        self.assertGreaterEqual(self.monotonic[0], 2 * rm.PUSH_INTERVAL)  # it polled, waiting
        self.okta.users["pat"]["push"] = "reject"
        self.okta.sessions.clear()
        self.federation.clients[self.okta.saml_url].assertion = None
        response, doc = self.call("POST", "/auth", "username=pat&password=push-password")
        self.assertEqual((response.status, doc["Code"]), (401, "AuthFailed"))
        self.assertIn("rejected", doc["Message"])
        self.okta.users["pat"]["push"] = "never"
        before = self.monotonic[0]
        response, doc = self.call("POST", "/auth", "username=pat&password=push-password")
        self.assertIn("not approved within", doc["Message"])
        self.assertAlmostEqual(self.monotonic[0] - before, rm.PUSH_WAIT, delta=rm.PUSH_INTERVAL)

    def test_number_matching_one_push_per_sign_in_and_cancel(self):
        """The number reaches /status while the push waits, and only it
        approves; after a rejection, credential requests answer at once and
        send no push; a push that times out is cancelled at Okta."""
        self.okta.users["pat"]["push"] = "number"
        seen = []

        def phone(seconds):  # each poll: the user reads the page's status and chooses the number shown
            self.advance(seconds)
            push = self.call("GET", "/status")[1].get("push") or {}
            seen.append(dict(push, auth_needed=self.call("GET", "/status")[1].get("auth_needed")))
            if push.get("state") == "waiting" and push.get("number"):
                self.okta.chosen = push["number"]
        notices = []
        self.build(sleep=phone, notify=notices.append)
        response, doc = self.sign_in("okta-push", "push-password")
        self.assertEqual(response.status, 200, doc)
        (number,) = self.okta.numbers.values()
        waiting = [p for p in seen if p.get("state") == "waiting"]
        self.assertEqual(waiting[-1]["number"], number)
        self.assertEqual(waiting[-1]["message"], "approve the Okta push on your phone: choose %s" % number)
        self.assertIsNone(waiting[-1]["auth_needed"])  # no second sign-in offered while it waits
        self.assertIn("Approve the Okta push on your phone: choose %s (profile okta-push)" % number, notices)
        self.assertEqual(self.call("GET", "/status")[1]["push"]["state"], "approved")
        self.assertEqual(self.okta.pushes, 1)
        # rejected: said in /status; credential requests then answer at once and send nothing
        self.okta.users["pat"]["push"] = "reject"
        self.okta.sessions.clear()
        self.federation.clients[self.okta.saml_url].assertion = None
        response, doc = self.call("POST", "/auth", "username=pat&password=push-password")
        self.assertEqual((response.status, doc["Message"]), (401, "the Okta push was rejected on the phone"))
        status = self.call("GET", "/status")[1]
        self.assertEqual((status["push"]["state"], status["error"]), ("rejected", "the Okta push was rejected on the phone"))
        engine = self.service.engine
        for layer in engine.plan("okta-push"):  # nothing valid left: a fetch would need a push
            engine._drop(layer)
        before = (self.okta.pushes, self.monotonic[0])
        for _ in range(3):
            response, doc = self.call("GET", "/credentials")
            self.assertEqual((response.status, doc["Code"]), (401, "AuthRequired"), doc)
            self.assertIn((rm.AUTH_TYPE_HEADER, "AUTH"), response.headers)
            self.assertIn("a credential request never sends a push", doc["Message"])
        self.assertEqual((self.okta.pushes, self.monotonic[0]), before)  # no push, no wait
        # ignored: cancelled at Okta when runas-meta stops waiting; a late tap finds no transaction
        self.okta.users["pat"]["push"] = "never"
        response, doc = self.call("POST", "/auth", "username=pat&password=push-password")
        self.assertEqual(doc["Message"], "the Okta push was not approved within 60 seconds")
        self.assertEqual(len(self.okta.cancelled), 1)
        self.assertNotIn(self.okta.cancelled[0], self.okta.states)
        self.assertEqual(self.call("GET", "/status")[1]["push"]["state"], "timed out")

    def test_no_secret_in_logs(self):
        stream = io.StringIO()
        rm.configure_logging(True, stream)
        self.addCleanup(quiet_logs)
        self.sign_in("okta-saml", "okta-password", "112233")
        self.sign_in("kc-oidc", "kc-password", "654321")
        self.sign_in("kc-saml", "kc-password", "654321")
        text = stream.getvalue()
        self.assertIn("AssumeRoleWithSAML", text)
        secrets_seen = ["okta-password", "kc-password", "112233", "654321"]
        secrets_seen += [c.get("SAMLAssertion", "")[:40] for c in self.sts_server.calls if c.get("SAMLAssertion")]
        secrets_seen += [c.get("WebIdentityToken", "")[:40] for c in self.sts_server.calls if c.get("WebIdentityToken")]
        for secret in secrets_seen:
            self.assertNotIn(secret, text)


class RedirectSecretTests(unittest.TestCase):
    """IdpHttp follows redirects itself: header secrets (a bearer, Basic
    credentials, ForgeRock's X-OpenAM-Password) go along only within the
    same origin, as browsers and requests do."""

    def test_header_secrets_stay_with_their_origin(self):
        arrived = []

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                arrived.append((self.server.server_address[1], self.path, dict(self.headers.items())))
                target = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(self.path).query)).get("to")
                self.send_response(302 if target else 200)
                if target:
                    self.send_header("Location", target)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass
        servers = [ThreadingHTTPServer(("127.0.0.1", 0), Handler) for _ in range(2)]
        for server in servers:
            threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
            self.addCleanup(server.server_close)
            self.addCleanup(server.shutdown)
        idp, other = ("http://127.0.0.1:%d" % server.server_address[1] for server in servers)
        http = rm.IdpHttp(idp, {})
        secret = {"Authorization": "Bearer s3cret-token", "X-OpenAM-Password": "fr-password",
                  "Accept": "application/json"}
        http.send("GET", idp + "/start?" + urllib.parse.urlencode({"to": idp + "/same"}), headers=secret)
        http.send("GET", idp + "/start?" + urllib.parse.urlencode({"to": other + "/elsewhere"}), headers=secret)
        by_path = {path.partition("?")[0]: headers for _, path, headers in arrived}
        self.assertEqual(by_path["/same"].get("Authorization"), "Bearer s3cret-token")  # same origin: kept
        self.assertEqual(by_path["/same"].get("X-Openam-Password"), "fr-password")
        self.assertNotIn("Authorization", by_path["/elsewhere"])  # another origin: dropped
        self.assertNotIn("X-Openam-Password", by_path["/elsewhere"])
        self.assertEqual(by_path["/elsewhere"].get("Accept"), "application/json")


class ProviderDetectionTests(unittest.TestCase):
    def test_table(self):
        for url, configured, want in [
            ("https://sso.example.com/realms/corp/protocol/saml/clients/aws", "", "keycloak"),
            ("https://corp.okta.com/app/amazon_aws/exk1/sso/saml", "", "okta"),
            ("https://sso.example.com/anything", "Okta", "okta"),
            ("https://sso.example.com/anything", "browser", "browser"),
        ]:
            with self.subTest(url=url):
                self.assertEqual(rm.detect_provider(url, configured), want)
        with self.assertRaisesRegex(rm.ConfigError, "cannot tell which identity provider"):
            rm.detect_provider("https://sso.example.com/idp", "")
        with self.assertRaisesRegex(rm.ConfigError, "unknown identity provider 'adfs'"):
            rm.detect_provider("https://sso.example.com/idp", "adfs")

    def test_saml_roles_either_order(self):
        for swap in (False, True):
            assertion = rm.parse_saml_response(saml_response([ROLE, JUMP], duration=7200, swap=swap))
            self.assertEqual(assertion.roles, ((ROLE, SAML_PRINCIPAL), (JUMP, SAML_PRINCIPAL)))
            self.assertEqual(assertion.duration, 7200)
            self.assertGreater(assertion.expires, rm.utcnow())
        with self.assertRaises(rm.IdPError):
            rm.parse_saml_response("not base64 xml")


# ---- hardening: other users, slow clients, faults ---------------------------------


class PeerCheckTests(unittest.TestCase):
    def test_owner_from_proc_tables(self):
        folder = tempfile.mkdtemp()
        self.addCleanup(_rmtree, folder)
        header = "  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode\n"
        write(os.path.join(folder, "tcp"), header +
              "   0: 0100007F:9CB1 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  1000        0 1 1\n"
              "   1: 0100007F:9CB2 0100007F:1F90 01 00000000:00000000 00:00000000 00000000     0        0 2 1\n"
              "   2: 0100007F:9CB3 0100007F:1F90 01 00000000:00000000 00:00000000 00000000 65534        0 3 1\n")
        write(os.path.join(folder, "tcp6"), header +
              "   0: 00000000000000000000000001000000:9CB1 00000000000000000000000001000000:1F90 01 "
              "00000000:00000000 00:00000000 00000000  1000        0 4 1\n")
        check = rm.PeerCheck(uid=1000, proc_dir=folder)
        check.socket_of = check._proc_socket  # the /proc fallback, on a table of our own
        server = ("127.0.0.1", 8080)
        self.assertTrue(check.available())
        self.assertEqual(check.owner(("127.0.0.1", 0x9CB1), server), 1000)
        self.assertTrue(check.allowed(("127.0.0.1", 0x9CB1), server))  # the service's user
        self.assertTrue(check.allowed(("127.0.0.1", 0x9CB2), server))  # root
        with self.assertLogs("runas_meta", logging.WARNING):
            self.assertFalse(check.allowed(("127.0.0.1", 0x9CB3), server))  # nobody
            self.assertFalse(check.allowed(("127.0.0.1", 0x1234), server))  # not in the table
        self.assertTrue(check.allowed(("::1", 0x9CB1), ("::1", 8080)))


@unittest.skipUnless(os.path.exists("/proc/net/tcp"), "Linux only")
class SockDiagTests(unittest.TestCase):
    def test_netlink_and_proc_agree(self):
        with socket.socket() as listener:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            with socket.create_connection(listener.getsockname()):
                accepted, address = listener.accept()
                with accepted:
                    check = rm.PeerCheck()
                    self.assertEqual(rm._sock_diag_owner(address, listener.getsockname()), os.geteuid())
                    self.assertEqual(check._proc_owner(address, listener.getsockname()), os.geteuid())
                    self.assertIsNone(rm._sock_diag_owner(("127.0.0.1", 1), listener.getsockname()))

    def test_a_listener_is_not_this_connection(self):
        """The kernel answers an exact lookup that matches no connection with
        a listener on the client's port (any address, for 0.0.0.0): a
        container whose source port is that port is not that listener's owner."""
        with socket.socket() as listener, socket.socket() as anywhere:
            listener.bind(("127.0.0.1", 0))
            listener.listen()
            anywhere.bind(("0.0.0.0", 0))  # sshd, docker-proxy, a dev server
            anywhere.listen()
            port = anywhere.getsockname()[1]
            for client in (("172.17.0.2", port), ("127.0.0.1", port)):
                with self.subTest(client=client):
                    self.assertIsNone(rm._sock_diag_owner(client, listener.getsockname()))
                    self.assertIsNone(rm.PeerCheck()._proc_owner(client, listener.getsockname()))
                    self.assertEqual(rm.PeerCheck().verdict(client, listener.getsockname()), "namespace")


class LiveHardeningTests(FakeSTSCase):
    def setUp(self):
        super().setUp()
        self.sts_server.clock = rm.utcnow
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)
        config = self.config()
        self.service = rm.Service(rm.Engine(config, rm.STS(self.environ, timeout=5), environ=self.environ), config)
        self.service.activate("nomfa")

    def start(self, **kwargs):
        return serve(self, self.service, **kwargs).server_address[1]

    def get(self, port, path="/credentials"):
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as response:
            return response.status

    @unittest.skipUnless(hasattr(os, "geteuid") and os.geteuid() == 0 and os.path.exists("/proc/net/tcp"),
                         "needs root (to run a client as nobody) and Linux")
    def test_another_user_is_refused(self):
        import pwd
        port = self.start(peers=rm.PeerCheck())
        self.assertEqual(self.get(port), 200)  # this user (root)
        nobody = pwd.getpwnam("nobody")
        request = b"GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % port
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: another local user
            try:
                os.close(read_end)
                os.setgroups([])
                os.setgid(nobody.pw_gid)
                os.setuid(nobody.pw_uid)
                with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                    sock.sendall(request)
                    answer = _read_all(sock)
                os.write(write_end, answer[:2000])
            finally:
                os._exit(0)
        os.close(write_end)
        with os.fdopen(read_end, "rb") as pipe:
            answer = pipe.read()
        os.waitpid(pid, 0)
        self.assertTrue(answer.startswith(b"HTTP/1.1 403"), answer)
        self.assertIn(b"ForbiddenUser", answer)
        self.assertEqual(self.get(port), 200)

    def test_slow_drip_clients_do_not_block_others(self):
        port = self.start(request_deadline=1.0)
        drips = []
        for _ in range(200):
            sock = socket.create_connection(("127.0.0.1", port), timeout=10)
            sock.sendall(b"GET /credentials HTTP/1.1\r\nHost: 127.0.0.1")  # and nothing more
            drips.append(sock)
        self.addCleanup(lambda: [s.close() for s in drips])
        self.assertEqual(self.get(port), 200)  # a normal client is served meanwhile
        readable, _, _ = select.select(drips[:1], [], [], 10)  # the server cuts the overdue request
        self.assertTrue(readable)
        self.assertEqual(drips[0].recv(100), b"")

    def test_idle_connections_are_closed(self):
        port = self.start(idle_timeout=0.5)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as idle:
            readable, _, _ = select.select([idle], [], [], 10)  # the server hangs up on it
            self.assertTrue(readable)
            self.assertEqual(idle.recv(100), b"")

    def test_idle_keep_alive_is_not_cut_by_the_request_deadline(self):
        port = self.start(request_deadline=0.5)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", "/status")
        conn.getresponse().read()
        select.select([], [], [], 1.0)  # idle longer than the deadline (waiting is the point here)
        conn.request("GET", "/status")
        self.assertEqual(conn.getresponse().status, 200)
        conn.close()


class FaultTests(FakeSTSCase):
    """Each fault: served while valid, a clear error once nothing valid is
    left, and recovery on its own when the fault goes away."""

    def setUp(self):
        super().setUp()
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)

    def fault_cycle(self, start_fault, stop_fault, status, engine=None):
        engine = engine or self.engine()
        first = engine.credentials("nomfa")
        self.clock.advance(40 * 60)  # inside the refresh window
        start_fault()
        self.assertIs(engine.credentials("nomfa"), first)  # still valid: served
        self.run_background()  # the renewal fails
        self.assertIs(engine.credentials("nomfa"), first)  # nothing lost
        self.clock.advance(20 * 60)  # expired now
        with self.assertRaises(rm.RunasError) as caught:
            engine.credentials("nomfa")
        self.assertEqual(caught.exception.status, status)
        stop_fault()
        self.clock.advance(rm.THROTTLED_PAUSE[1])  # the remembered failure's pause ends
        self.assertIsNot(engine.credentials("nomfa"), first)  # recovered by itself
        return caught.exception

    def test_sts_faults(self):
        def hang():
            self.sts_server.gate = threading.Event()

        def unhang():
            self.sts_server.gate.set()
            self.sts_server.gate = None

        def set_attr(name, value):
            return lambda: setattr(self.sts_server, name, value)
        cases = [("failing", set_attr("fail", 1000), set_attr("fail", 0), 503, "InternalFailure"),
                 ("throttling", set_attr("throttle", 1000), set_attr("throttle", 0), 503, "Throttling"),
                 ("garbage", set_attr("garbage", 1000), set_attr("garbage", 0), 502, "not STS's XML"),
                 ("hanging", hang, unhang, 503, "unreachable")]
        for name, start, stop, status, words in cases:
            with self.subTest(fault=name):
                sts = rm.STS(self.environ, clock=self.clock, sleep=lambda s: None, timeout=0.3, attempts=2)
                engine = rm.Engine(self.config(), sts, clock=self.clock, environ=self.environ,
                                   spawn=self.spawned.append, cache_dir=tempfile.mkdtemp(dir=self.home))
                self.assertIn(words, str(self.fault_cycle(start, stop, status, engine)))

    def test_sts_unreachable(self):
        url = self.environ["AWS_ENDPOINT_URL_STS"]
        closed = socket.socket()
        closed.bind(("127.0.0.1", 0))
        self.addCleanup(closed.close)
        dead = "http://127.0.0.1:%d/" % closed.getsockname()[1]
        error = self.fault_cycle(lambda: self.environ.update(AWS_ENDPOINT_URL_STS=dead),
                                 lambda: self.environ.update(AWS_ENDPOINT_URL_STS=url), 503)
        self.assertIn("unreachable", str(error))

    def test_config_deleted_nonsense_and_replaced(self):
        engine = self.engine()
        first = engine.credentials("nomfa")
        os.unlink(self.config_path)
        self.assertIs(engine.credentials("nomfa"), first)
        self.assertIn("deleted", engine.config.errors[0])
        write(self.config_path, "\x00\x01 this is [not an ini\n")
        self.assertIs(engine.credentials("nomfa"), first)
        self.assertIn(self.config_path + ":1:", engine.config.errors[0])
        replacement = self.config_path + ".new"
        write(replacement, STANDARD_CONFIG.replace("fixed-name", "after-replace"))
        os.replace(replacement, self.config_path)  # an editor's atomic save
        self.assertEqual(engine.config.errors, [])
        engine.refresh("nomfa")
        self.assertEqual(self.sts_server.calls[-1]["RoleSessionName"], "after-replace")


class IdpFaultTests(FederationCase):
    def test_idp_down_during_renewal_keeps_what_is_valid(self):
        self.sign_in("kc-saml", "kc-password", "654321")
        served = self.call("GET", "/credentials")[1]
        self.keycloak.close()
        client = self.federation.clients[self.keycloak.saml_url]
        client.assertion = None  # the renewal has to ask the IdP
        layer = self.service.engine.plan("kc-saml")[0]
        with self.assertLogs("runas_meta", logging.WARNING) as logs:
            self.service.engine._renew(layer)
        self.assertIn("unreachable", "\n".join(logs.output))
        self.assertEqual(self.call("GET", "/credentials")[1], served)
        self.assertIn("unreachable", self.call("GET", "/status")[1]["error"])


# ---- the command line ---------------------------------------------------------


# ---- hardening, second round -------------------------------------------------


class FramingTests(FakeSTSCase):
    """RFC 9112: a Content-Length that is not one number in ASCII digits is a 400."""

    def setUp(self):
        super().setUp()
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)
        config = self.config()
        self.service = rm.Service(rm.Engine(config, rm.STS(self.environ, timeout=5), environ=self.environ), config)
        self.port = serve(self, self.service).server_address[1]

    def raw(self, head):
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as sock:
            try:
                data = head.encode("latin-1")  # "\u00b2" as the one byte 0xb2: str.isdigit() says yes
            except UnicodeEncodeError:
                data = head.encode("utf-8")
            sock.sendall(data + b"\r\n\r\n" + b"x" * 5)
            return _read_all(sock)

    def test_content_length_must_be_one_ascii_number(self):
        base = "POST /refresh HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n" % self.port
        for lengths in (["\u00b2"], ["\u00b9\u00b3"], ["\u0665"], ["5", "4"], ["5, 5"], ["-5"], ["0x5"]):
            with self.subTest(lengths=lengths):
                answer = self.raw(base + "\r\n".join("Content-Length: " + n for n in lengths))
                self.assertTrue(answer.startswith(b"HTTP/1.1 400 "), answer)
                self.assertIn(b"Content-Length must be one number", answer)
        answer = self.raw(base + "Content-Length: 5\r\nContent-Length: 5")  # the same twice: one length
        self.assertFalse(answer.startswith(b"HTTP/1.1 400 "), answer)


class DebugLogTests(unittest.TestCase):
    def test_no_payload_hash_of_a_body_with_a_code(self):
        body = b"Action=GetSessionToken&SerialNumber=x&TokenCode=" + GOOD_CODE.encode() + b"&Version=2011-06-15"
        with self.assertLogs("runas_meta", "DEBUG") as logs:
            headers = rm.sign_request("POST", "https://sts.amazonaws.com/", [("Content-Type", "x")], body,
                                      "AKIDEXAMPLE", "secret", "us-east-1", "sts", rm.utcnow())
        text = "\n".join(logs.output)
        self.assertIn("SigV4 canonical request:\nPOST\n/\n", text)  # still useful for a signature mismatch
        self.assertNotIn(hashlib.sha256(body).hexdigest(), text)
        canonical = rm.canonical_request("POST", "https://sts.amazonaws.com/", headers[:-1], body)
        self.assertNotIn(hashlib.sha256(canonical.encode()).hexdigest(), text)  # the string to sign's last line
        self.assertEqual(secrets_in(text), [])


class SecretTextTests(ServiceCase):
    def test_a_bug_whose_text_holds_a_secret_logs_no_text(self):
        def broken(request):
            raise ValueError("unknown url type: 'x?Session=" + BASE_SECRET + "'")
        self.service.router = rm.Router([("GET", "/broken", broken, "page")])
        with self.assertLogs("runas_meta", "ERROR") as logs:
            response = self.call("GET", "/broken")
        self.assertEqual(response.status, 500)
        text = "\n".join(logs.output)
        self.assertIn("Traceback", text)
        self.assertIn("ValueError (its text is not logged", text)
        self.assertNotIn(BASE_SECRET, text)

    def test_a_federation_url_without_a_scheme(self):
        with self.assertRaisesRegex(rm.UsageError, "RUNAS_META_FEDERATION_URL must start with http"):
            rm.check_federation_url({"RUNAS_META_FEDERATION_URL": "signin.example/federation"})
        rm.check_federation_url({"RUNAS_META_FEDERATION_URL": "http://127.0.0.1:9/federation"})
        # had the start-up check been bypassed: a clear 503, no keys in the answer or the log
        self.environ["RUNAS_META_FEDERATION_URL"] = "signin.example/federation"
        self.make()
        keys = self.service.engine.credentials("nomfa")
        with self.assertLogs("runas_meta", "DEBUG") as logs:
            response = self.call("POST", "/console")
        self.assertEqual(response.status, 503, response.body)
        self.assertIn(b"not a valid http:// or https:// URL", response.body)
        for text in (response.body.decode(), "\n".join(logs.output)):
            self.assertNotIn(keys.secret_access_key, text)
            self.assertNotIn(keys.session_token, text)

    def test_credential_paths_refuse_a_browser_without_sec_fetch(self):
        """Chromium sends no Sec-Fetch-* to http://169.254.169.254 and a page may
        ask for no Referer; Accept-Language it always sends."""
        token = self.token()
        for path, headers in (("/credentials", {}), (ImdsTests.CREDS + "nomfa", {"X-aws-ec2-metadata-token": token})):
            self.assertEqual(self.call("GET", path, headers).status, 200)
            headers = dict(headers, **{"Accept-Language": ""})
            response = self.call("GET", path, headers)
            self.assertEqual((response.status, json.loads(response.body)["Code"]), (403, "ForbiddenBrowser"))


class ProcessGroupTests(unittest.TestCase):
    def test_a_timeout_stops_the_grandchildren_too(self):
        """A child that starts a grandchild holding stdout, then hangs: both go
        at the timeout, and the request does not wait for the grandchild."""
        folder = tempfile.mkdtemp()
        self.addCleanup(_rmtree, folder)
        pid_file = os.path.join(folder, "grandchild")
        script = ("import subprocess, sys, time\n"
                  "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
                  "open(%r, 'w').write(str(g.pid))\n"
                  "time.sleep(120)\n" % pid_file)
        command = "%s -c %s" % (shlex_quote(sys.executable), shlex_quote(script))
        done = []
        worker = threading.Thread(target=lambda: done.append(self.run_process(command)), daemon=True)
        worker.start()
        worker.join(60)  # bounded; the grandchild would hold the pipe for 120 s
        self.assertTrue(done, "the request still waits for the grandchild")
        self.assertIsInstance(done[0], rm.ProcessError)
        with open(pid_file) as handle:
            grandchild = int(handle.read())
        self.assertTrue(wait_for(lambda: _state(grandchild) in ("Z", "X"), 10))  # SIGKILL lands soon after

    @staticmethod
    def run_process(command):
        try:
            rm.run_credential_process(command, "hangs", timeout=1.0)
        except rm.ProcessError as exc:
            return exc
        return None


def shlex_quote(text):
    import shlex
    return shlex.quote(text)


def _state(pid):
    try:
        with open("/proc/%d/stat" % pid) as handle:
            return handle.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return "X"


class StaleTemporaryTests(TempHome):
    def test_old_temporaries_go_young_ones_and_others_stay(self):
        sso = os.path.join(self.home, ".aws", "sso", "cache")
        os.makedirs(sso)
        old = [os.path.join(self.home, ".aws", ".runas-meta-abc123"), os.path.join(sso, ".runas-meta-def456")]
        young = os.path.join(sso, ".runas-meta-now999")
        other = os.path.join(self.home, ".aws", ".aws_session_token_dev")
        for path in old + [young, other]:
            write(path, '{"accessToken": "ssoaccess-0123456789"}')
        for path in old + [other]:
            os.utime(path, (time.time() - 3600, time.time() - 3600))
        write(self.config_path, STANDARD_CONFIG)
        args = rm.build_parser().parse_intermixed_args(["ecs", "-p", "0"])
        server = rm.Server(("127.0.0.1", 0))
        self.addCleanup(server.server_close)
        rm.build_service(server, args, self.environ, io.StringIO(), io.StringIO())
        self.assertEqual([os.path.exists(p) for p in old + [young, other]], [False, False, True, True])


class TwinListenerTests(unittest.TestCase):
    """localhost may lead to [::1]: the service holds [::1]:PORT too, or,
    when another process holds it, refuses the name localhost."""

    def setUp(self):
        self.server = rm.Server(("127.0.0.1", 0))
        self.addCleanup(self.server.server_close)
        self.port = self.server.server_address[1]

    def service(self):
        config = rm.Config(environ={"HOME": tempfile.gettempdir(), "AWS_CONFIG_FILE": os.devnull,
                                    "AWS_SHARED_CREDENTIALS_FILE": os.devnull}).load()
        return rm.Service(rm.Engine(config, rm.STS({})), config)

    @unittest.skipUnless(socket.has_ipv6 and _ipv6_loopback(), "no IPv6 loopback here")
    def test_twin_serves_localhost(self):
        twin = rm.bind_twin(self.server)
        self.addCleanup(twin.server_close)
        service = self.service()
        self.server.attach(service, twin)
        self.assertIs(twin.service, service)
        for host in ("127.0.0.1:%d", "localhost:%d", "[::1]:%d"):
            self.assertNotEqual(service.handle(rm.Request("GET", "/status", [("Host", host % self.port)])).status, 403)

    @unittest.skipUnless(socket.has_ipv6 and _ipv6_loopback(), "no IPv6 loopback here")
    def test_a_squatted_ipv6_port_refuses_localhost(self):
        with socket.socket(socket.AF_INET6) as squatter:
            squatter.bind(("::1", self.port))
            squatter.listen()
            with self.assertLogs("runas_meta", "WARNING") as logs:
                self.assertIs(rm.bind_twin(self.server), False)
        self.assertIn("another process listens on [::1]:%d" % self.port, logs.output[0])
        service = self.service()
        self.server.attach(service, False)
        self.assertEqual(service.handle(rm.Request("GET", "/status", [("Host", "localhost:%d" % self.port)])).status, 403)
        self.assertEqual(service.handle(rm.Request("GET", "/status", [("Host", "127.0.0.1:%d" % self.port)])).status, 200)


class ServiceProcess:
    """`python runas_meta.py ...` as a user runs it; reads its start-up output.
    Its log goes to a file, so a chatty -v run can never block on a full pipe."""

    def __init__(self, args, env, stdin=None, before_banner=None, script=None, prefix=()):
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen(list(prefix) + [sys.executable, script or os.path.join(HERE, "runas_meta.py")] + args,
                                     env=env, stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=self.log, text=True)
        if stdin:
            self.proc.stdin.write(stdin)
            self.proc.stdin.close()
        self.lines, self.stderr = [], None
        for line in self.proc.stdout:
            self.lines.append(line)
            if before_banner is not None:
                before_banner(line)  # a test answering a prompt on the terminal
            if line.startswith("Press Ctrl-C"):
                break
        self.output = "".join(self.lines)
        match = re.search(r" on (http://[\w.]+(?::(\d+))?)$", self.output, re.M)
        if not match:
            self.stop()
            raise AssertionError("service did not start: %s %s" % (self.output, self.stderr))
        self.url = match.group(1)
        self.port = int(match.group(2) or 80)

    def get(self, path, headers=None):
        request = urllib.request.Request(self.url + path, headers=headers or {})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def stop(self, signum=signal.SIGTERM):
        """Send `signum`, return the exit code; the log is in self.stderr.  Idempotent."""
        if self.stderr is None:
            self.proc.send_signal(signum)
            try:
                self.proc.wait(10)
            finally:
                self.proc.kill()
                self.proc.wait()
                self.proc.stdout.close()
                self.log.seek(0)
                self.stderr = self.log.read()
                self.log.close()
        return self.proc.returncode


class CommandLineCase(FakeSTSCase):
    """The standard files, and the tool run as a user runs it."""

    def setUp(self):
        super().setUp()
        self.sts_server.clock = lambda: dt.datetime.now(dt.timezone.utc)  # another process: real time
        self.files(STANDARD_CONFIG, STANDARD_CREDENTIALS)
        self.env = dict(os.environ, **self.environ)
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_REGION", "AWS_DEFAULT_REGION"):
            self.env.pop(name, None)

    def run_cli(self, *args):
        return subprocess.run([sys.executable, os.path.join(HERE, "runas_meta.py")] + list(args),
                              env=self.env, capture_output=True, text=True, timeout=30)


class CommandLineTests(CommandLineCase):
    def test_ecs_start_serve_and_sigterm(self):
        service = ServiceProcess(["ecs", "-v", "-p", "0", "nomfa"], self.env)
        try:
            self.assertIn("export AWS_CONTAINER_CREDENTIALS_FULL_URI=%s/credentials" % service.url,
                          service.output)
            self.assertIn('$env:AWS_CONTAINER_CREDENTIALS_FULL_URI = "%s/credentials"' % service.url,
                          service.output)
            self.assertIn("AWS_SHARED_CREDENTIALS_FILE=", service.output)
            self.assertIn("AWS_CREDENTIAL_PROFILES_FILE=", service.output)
            self.assertIn("page: %s/" % service.url, service.output)
            doc = service.get("/credentials")
            self.assertEqual(doc["RoleArn"], ROLE)
            self.assertEqual(service.get("/credentials"), doc)  # cached: no new STS call
            self.assertEqual(self.sts_server.actions(), ["GetSessionToken", "AssumeRole"])
        finally:
            code = service.stop()
        self.assertEqual(code, 0)
        self.assertNotIn("Traceback", service.stderr)
        for secret in [BASE_SECRET, "fakeSecret", "fakeToken"]:
            self.assertNotIn(secret, service.stderr + service.output)
        self.assertIn("GET /credentials 200", service.stderr)
        with socket.socket() as sock:  # the port was released: a new service can listen on it
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind(("127.0.0.1", service.port))
            sock.listen()

    def test_headless_asks_on_the_terminal(self):
        self.env["AWS_PROFILE"] = "dev"
        service = ServiceProcess(["ecs", "-p", "0", "--headless"], self.env, stdin="%s\n" % GOOD_CODE)
        try:
            self.assertIn("MFA code for profile base (%s): " % SERIAL, service.output)
            self.assertEqual(service.get("/credentials")["RoleArn"], ROLE)
        finally:
            service.stop(signal.SIGINT)  # Ctrl-C
        self.assertEqual(service.proc.returncode, 0)
        self.assertNotIn("Traceback", service.stderr)
        self.assertNotIn(GOOD_CODE, service.stderr)

    def test_ec2_mode_hints_and_profile_from_environment(self):
        self.env["AWS_PROFILE"] = "deeper"
        service = ServiceProcess(["ec2", "-p", "0", "--imds-v2-only"], self.env)
        try:
            self.assertIn("export AWS_EC2_METADATA_SERVICE_ENDPOINT=%s/" % service.url, service.output)
            request = urllib.request.Request(service.url + "/latest/api/token", method="PUT",
                                             headers={"X-aws-ec2-metadata-token-ttl-seconds": "60"})
            token = urllib.request.urlopen(request, timeout=5).read().decode()
            names = urllib.request.urlopen(urllib.request.Request(
                service.url + "/latest/meta-data/iam/security-credentials/",
                headers={"X-aws-ec2-metadata-token": token}), timeout=5).read()
            self.assertEqual(names, b"deeper")
        finally:
            self.assertEqual(service.stop(), 0)

    def test_generated_auth_token(self):
        service = ServiceProcess(["ecs", "-p", "0", "--auth-token", "generate", "base"], self.env)
        try:
            match = re.search(r"export AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE=(\S+)", service.output)
            self.assertTrue(match, service.output)
            path = match.group(1)
            self.assertEqual(stat.S_IMODE(os.stat(path).st_mode), 0o600)
            with open(path) as handle:
                token = handle.read()
            self.assertNotIn(token, service.output)
            self.assertIn("AccessKeyId", service.get("/credentials", {"Authorization": token}))
            with self.assertRaises(urllib.error.HTTPError) as caught:
                service.get("/credentials")
            self.assertEqual(caught.exception.code, 401)
        finally:
            service.stop()

    def test_auth_token_from_a_file_or_the_environment(self):
        """A token on the command line is in /proc/PID/cmdline for every user:
        a file or the environment keeps it private, and the command line warns."""
        token_file = os.path.join(self.home, "ecs-token")
        write(token_file, "s3cret-token\n")
        for args, env in ((["--auth-token-file", token_file], {}), ([], {"RUNAS_META_AUTH_TOKEN": "s3cret-token"})):
            with self.subTest(args=args, env=env):
                service = ServiceProcess(["ecs", "-p", "0", "base"] + args, dict(self.env, **env))
                try:
                    self.assertIn("AccessKeyId", service.get("/credentials", {"Authorization": "s3cret-token"}))
                    with self.assertRaises(urllib.error.HTTPError) as caught:
                        service.get("/credentials")
                    self.assertEqual(caught.exception.code, 401)
                    with open("/proc/%d/cmdline" % service.proc.pid, "rb") as handle:
                        self.assertNotIn(b"s3cret-token", handle.read())
                finally:
                    service.stop()
                self.assertNotIn("can be read by other local users", service.stderr)
        service = ServiceProcess(["ecs", "-p", "0", "base", "--auth-token", "s3cret-token"], self.env)
        service.stop()
        self.assertIn("WARNING a token given with --auth-token can be read by other local users", service.stderr)
        result = self.run_cli("ecs", "-p", "0", "--auth-token", "x", "--auth-token-file", token_file, "base")
        self.assertEqual(result.returncode, 2)
        self.assertIn("give the authorization token one way, not by --auth-token and --auth-token-file", result.stderr)
        result = self.run_cli("ecs", "-p", "0", "--auth-token-file", token_file + ".missing", "base")
        self.assertEqual(result.returncode, 2)
        self.assertIn("cannot read --auth-token-file", result.stderr)

    def test_a_federation_url_without_a_scheme_stops_the_start(self):
        self.env["RUNAS_META_FEDERATION_URL"] = "signin.example/federation"
        result = self.run_cli("ecs", "-p", "0", "base")
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn("RUNAS_META_FEDERATION_URL must start with http:// or https://", result.stderr)

    def test_errors_are_one_line(self):
        write(self.config_path, "[profile a]\nrole_arn = x\n")
        cases = [
            (["ecs", "-p", "0", "ghost"], 2, "profile 'ghost' not found"),
            (["bogus"], 2, "invalid choice: 'bogus'"),
            (["ecs", "-p", "notaport"], 2, "a port is a number from 0 to 65535"),
            (["ecs", "-p", "99999", "a"], 2, "a port is a number from 0 to 65535, not '99999'"),
            (["ecs", "-p", "-1", "a"], 2, "a port is a number from 0 to 65535, not '-1'"),
            (["ecs", "-p", "0", "a"], 2, self.config_path + ":2:"),
        ]
        for args, code, words in cases:
            with self.subTest(args=args):
                result = self.run_cli(*args)
                self.assertEqual(result.returncode, code, result.stderr)
                self.assertIn(words, result.stderr)
                self.assertNotIn("Traceback", result.stderr)
                self.assertEqual(len(result.stderr.strip().splitlines()), 1, result.stderr)

    def test_a_broken_config_at_start_is_said_once_and_names_the_unclosed_header(self):
        for text, line in (("[profile a\nregion = x\n", 1), ("[profile a]\nregion = x\n[profile b\nregion = y\n", 3)):
            with self.subTest(text=text):
                write(self.config_path, text)
                result = self.run_cli("ecs", "-p", "0", "a")
                self.assertEqual(result.returncode, 2)
                self.assertEqual(result.stderr.strip().splitlines(), [
                    "runas-meta: error: %s:%d: the section header %s has no closing ']'"
                    % (self.config_path, line, text.splitlines()[line - 1])])

    def test_help_lists_the_commands_and_the_environment(self):
        for args in (["help"], ["--help"]):
            result = self.run_cli(*args)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn("grant", result.stdout.splitlines()[0])  # the usage line
            for name in ("AWS_ENDPOINT_URL_STS", "AWS_CONFIG_FILE", "RUNAS_META_AUTH_TOKEN", "AWS_CA_BUNDLE"):
                self.assertIn(name, result.stdout)

    def test_starts_without_sts_and_serves_once_it_answers(self):
        """No network yet: the page and a 503 that says why; the first answer
        from STS serves credentials with no restart."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]  # nothing listens here yet
        self.env["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:%d/" % port
        service = ServiceProcess(["ecs", "-p", "0", "nomfa"], self.env)
        self.addCleanup(service.stop)
        self.assertIn("export AWS_CONTAINER_CREDENTIALS_FULL_URI=%s/credentials" % service.url, service.output)
        self.assertIn("STS: http://127.0.0.1:%d/ (AWS_ENDPOINT_URL_STS)" % port, service.output)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            service.get("/credentials")
        self.assertEqual(caught.exception.code, 503)
        doc = json.loads(caught.exception.read())
        self.assertEqual(doc["Code"], "STSUnavailable")
        self.assertIn("unreachable", doc["Message"])
        with urllib.request.urlopen(service.url + "/", timeout=10) as page:
            self.assertIn(b"runas-meta", page.read())
        sts = FakeSTS(port=port)  # the network is up
        self.addCleanup(sts.close)

        def served():
            try:
                return service.get("/credentials")["AccessKeyId"].startswith("ASIAFAKE")
            except urllib.error.HTTPError:
                return False
        self.assertTrue(wait_for(served, 60))

    def test_the_banner_says_what_shadows_the_service(self):
        self.env.update(AWS_PROFILE="nomfa", AWS_ACCESS_KEY_ID="AKIASHADOW", AWS_WEB_IDENTITY_TOKEN_FILE="/x")
        service = ServiceProcess(["ecs", "-p", "0"], self.env)
        self.addCleanup(service.stop)
        self.assertIn("  unset AWS_ACCESS_KEY_ID AWS_PROFILE AWS_WEB_IDENTITY_TOKEN_FILE\n", service.output)
        self.assertIn("  Remove-Item Env:AWS_ACCESS_KEY_ID, Env:AWS_PROFILE, Env:AWS_WEB_IDENTITY_TOKEN_FILE\n",
                      service.output)
        for name in ("AWS_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_WEB_IDENTITY_TOKEN_FILE"):
            self.env.pop(name)
        quiet = ServiceProcess(["ecs", "-p", "0", "nomfa"], self.env)
        self.addCleanup(quiet.stop)
        self.assertNotIn("unset", quiet.output)

    def test_ctrl_c_at_the_start_up_prompt_says_so(self):
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "runas_meta.py"), "ecs", "-p", "0", "dev"],
                                env=self.env, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        os.close(slave)
        seen = b""
        while b"): " not in seen:
            seen += proc.stdout.read1(1000) or self.fail("ended before the prompt: %r" % seen)
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        self.assertEqual(proc.returncode, 130)
        self.assertIn(b"stopped at the MFA prompt (Ctrl-C): nothing was served", err)

    def test_grant_list_says_never_used(self):
        view = {"label": "web", "profile": "dev", "expires": "2026-12-14T00:00:00Z", "last_used": None,
                "last_source": None, "container": None, "bound_to": None}
        self.assertEqual(rm.grant_line(view), "web\tprofile dev\tuntil 2026-12-14T00:00:00Z\tnever used")
        view.update(last_used="2026-12-07T10:00:00Z", last_source="172.17.0.2", container="7cc40ed939d8",
                    bound_to="7cc40ed939d8")
        self.assertEqual(rm.grant_line(view).split("\t")[3:], [
            "last used 2026-12-07T10:00:00Z", "from 172.17.0.2", "container 7cc40ed939d8", "bound to 7cc40ed939d8"])

    def test_client_commands_ask_the_running_service(self):
        """process, export, use and status find the service by its state file."""
        service = ServiceProcess(["ecs", "-p", "0", "nomfa"], self.env)
        self.addCleanup(service.stop)
        state = os.path.join(os.path.dirname(self.config_path), "runas-meta", "service.json")
        self.assertEqual(stat.S_IMODE(os.stat(state).st_mode), 0o600)
        self.assertEqual(json.loads(read_text(state))["url"], service.url)
        served = service.get("/credentials/nomfa")
        result = self.run_cli("process", "nomfa")
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(json.loads(result.stdout), {"Version": 1, "AccessKeyId": served["AccessKeyId"],
                                                     "SecretAccessKey": served["SecretAccessKey"],
                                                     "SessionToken": served["Token"], "Expiration": served["Expiration"],
                                                     "AccountId": ACCOUNT})
        for form, first in (("env", "export AWS_ACCESS_KEY_ID=%s"), ("powershell", '$env:AWS_ACCESS_KEY_ID = "%s"'),
                            ("fish", "set -gx AWS_ACCESS_KEY_ID %s"), ("ini", "aws_access_key_id = %s")):
            lines = self.run_cli("export", "nomfa", "--format", form).stdout.splitlines()
            self.assertIn(first % served["AccessKeyId"], lines, form)
        self.assertEqual(json.loads(self.run_cli("export", "nomfa", "--format", "json").stdout)["Version"], 1)
        command = "%s %s export nomfa --format " % (shlex_quote(sys.executable), shlex_quote(os.path.join(HERE, "runas_meta.py")))
        shells = [("bash", ["bash", "-c", 'eval "$(%senv)"; echo "$AWS_ACCESS_KEY_ID $AWS_SESSION_TOKEN"' % command])]
        if shutil.which("fish") or os.environ.get("RUNAS_META_FULL") == "1":  # .ci/run installs fish
            shells.append(("fish", ["fish", "-c", "%sfish | source; echo $AWS_ACCESS_KEY_ID $AWS_SESSION_TOKEN" % command]))
        for shell, argv in shells:  # the lines, run by the shell they are for
            ran = subprocess.run(argv, env=self.env, capture_output=True, text=True, timeout=30)
            self.assertEqual(ran.stdout.split(), [served["AccessKeyId"], served["Token"]], (shell, ran.stderr))
        self.assertEqual(self.run_cli("use", "base").stdout.strip(), "serving 'base'")
        refused = self.run_cli("use", "dev")  # needs a code: says so, keeps serving base
        self.assertEqual(refused.returncode, 1)
        self.assertIn("MFA code", refused.stderr)
        status = json.loads(self.run_cli("status", "--json").stdout)
        self.assertEqual((status["active"], status["switching_to"]), ("base", "dev"))
        self.assertIn("served profile: base", self.run_cli("status").stdout)
        service.stop()
        self.assertFalse(os.path.exists(state))  # removed on exit
        gone = self.run_cli("process", "nomfa")
        self.assertEqual(gone.returncode, 1)
        self.assertEqual(len(gone.stderr.strip().splitlines()), 1)
        self.assertIn("start one with", gone.stderr)

    def test_process_waits_for_the_mfa_code(self):
        service = ServiceProcess(["ecs", "-p", "0", "nomfa"], self.env)
        self.addCleanup(service.stop)
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "runas_meta.py"), "process", "dev", "--wait", "30"],
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(proc.kill)
        said = proc.stderr.readline()  # the one line, then it waits
        self.assertIn("profile 'dev' needs an MFA code or a sign-in: answer at %s/" % service.url, said)
        request = urllib.request.Request(service.url + "/mfa", data=("profile=dev&mfa=" + GOOD_CODE).encode())
        with urllib.request.urlopen(request, timeout=10) as answer:
            self.assertEqual(answer.status, 200)
        out, _ = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 0)
        self.assertEqual(json.loads(out)["AccessKeyId"], service.get("/credentials/dev")["AccessKeyId"])

    def test_profiles_write_keeps_every_byte_outside_its_markers(self):
        service = ServiceProcess(["ecs", "-p", "0", "nomfa"], self.env)
        self.addCleanup(service.stop)
        other = os.path.join(self.home, "other-config")  # comments, odd spacing, CRLF, a BOM: bytes to keep
        original = ("\ufeff# my config\r\n[profile  spaced ]\r\nregion=eu-west-1   \r\n; a comment\r\n"
                    "[default]\r\nregion = us-east-1").encode("utf-8")
        with open(other, "wb") as handle:
            handle.write(original)
        os.chmod(other, 0o640)
        self.env["AWS_CONFIG_FILE"] = other
        dry = self.run_cli("profiles", "--write", "--dry-run", "--endpoint", service.url)
        self.assertIn("+[profile runas-nomfa]", dry.stdout)
        self.assertEqual(open(other, "rb").read(), original)  # a dry run writes nothing
        result = self.run_cli("profiles", "--write", "--endpoint", service.url)
        self.assertEqual(result.returncode, 0, result.stderr)
        written = open(other, "rb").read()
        self.assertTrue(written.startswith(original))
        text = written.decode("utf-8")
        self.assertIn("[profile runas-nomfa]\r\ncredential_process = ", text)
        self.assertIn(" process nomfa\r\n", text)
        self.assertEqual(stat.S_IMODE(os.stat(other).st_mode), 0o640)  # its mode kept
        again = self.run_cli("profiles", "--write", "--prefix", "runas", "--endpoint", service.url)
        self.assertEqual(again.returncode, 0)
        self.assertEqual(open(other, "rb").read(), written)  # rewritten in place, nothing doubled
        self.assertEqual(self.run_cli("profiles", "--remove").returncode, 0)
        self.assertEqual(open(other, "rb").read(), original)  # every byte as it was

    def test_generated_profiles_run_the_shim_which_loads_nothing_when_served(self):
        """The generated command is the shim (0600, beside the state file):
        with the service answering it prints the same credentials without
        importing runas_meta; anything else goes to runas_meta's process."""
        service = ServiceProcess(["ecs", "-p", "0", "nomfa"], self.env)
        self.addCleanup(service.stop)
        self.assertEqual(self.run_cli("profiles", "--write").returncode, 0)
        shim = os.path.join(self.home, ".aws", "runas-meta", rm.SHIM_NAME)
        self.assertEqual(stat.S_IMODE(os.stat(shim).st_mode), 0o600)
        text = read_text(self.config_path)
        line = text[text.index("[profile runas-nomfa]"):].splitlines()[1]
        argv = shlex.split(line.split("=", 1)[1])
        self.assertEqual(argv[1:], [shim, HERE, "process", "nomfa"])
        fast = subprocess.run([argv[0], "-X", "importtime"] + argv[1:], env=self.env, capture_output=True, text=True)
        self.assertEqual(fast.returncode, 0, fast.stderr)
        doc = json.loads(fast.stdout)
        self.assertEqual((doc["Version"], doc["AccessKeyId"]), (1, service.get("/credentials/nomfa")["AccessKeyId"]))
        self.assertNotIn("runas_meta", fast.stderr)  # importtime lists every module loaded
        self.assertNotIn("http.client", fast.stderr)
        slow = subprocess.run(argv[:1] + ["-X", "importtime"] + argv[1:-1] + ["nosuch"], env=self.env,
                              capture_output=True, text=True)  # a 404: handed over, which says why
        self.assertIn("runas_meta", slow.stderr)
        self.assertIn("runas-meta process: error: profile 'nosuch': profile 'nosuch' not found", slow.stderr)
        service.stop()
        gone = subprocess.run(argv, env=self.env, capture_output=True, text=True)
        self.assertEqual(gone.returncode, 1)
        self.assertIn("runas-meta process: error: no runas-meta", gone.stderr)
        self.assertEqual(self.run_cli("profiles", "--remove").returncode, 0)
        self.assertFalse(os.path.exists(shim))  # --remove takes the shim too

    def test_the_running_service_calls_the_notifier_on_path_once(self):
        """notify-send found on PATH (a fake that records its arguments):
        one notification on the first 401, none on the next; none with
        --no-notify."""
        folder = tempfile.mkdtemp()
        self.addCleanup(_rmtree, folder)
        log = fake_notifier(folder)
        self.env["PATH"] = folder + os.pathsep + self.env.get("PATH", "")
        for quiet in (True, False):
            service = ServiceProcess(["ecs", "-p", "0", "nomfa"] + ["--no-notify"] * quiet, self.env)
            self.addCleanup(service.stop)
            for _ in range(2):
                with self.assertRaises(urllib.error.HTTPError) as caught:
                    service.get("/credentials/dev")
                self.assertEqual(caught.exception.code, 401)
            if not quiet:
                self.assertTrue(wait_for(lambda: notified(log), 10))
            service.stop()
            shown = notified(log)
            self.assertEqual(len(shown), 0 if quiet else 1, shown)
        self.assertEqual(shown[0][1:], ["runas-meta: an MFA code needed",
                                        "Profile dev needs an MFA code. Open %s/" % service.url])

    def test_exec_gives_the_child_a_grant_of_its_own(self):
        service = ServiceProcess(["ecs", "-p", "0", "nomfa"], self.env)
        self.addCleanup(service.stop)
        child = ("import json, os, sys, urllib.request\n"
                 "doc = json.load(urllib.request.urlopen(os.environ['AWS_CONTAINER_CREDENTIALS_FULL_URI']))\n"
                 "print(json.dumps({'key': doc['AccessKeyId'], 'region': os.environ.get('AWS_REGION'),\n"
                 "                  'shadow': [n for n in ('AWS_PROFILE', 'AWS_ACCESS_KEY_ID') if n in os.environ],\n"
                 "                  'grants': len(json.load(urllib.request.urlopen(%r + '/grants'))['grants'])}))\n"
                 "sys.exit(7)\n" % service.url)
        self.env.update(AWS_PROFILE="dev", AWS_ACCESS_KEY_ID="AKIASHADOW")
        result = self.run_cli("exec", "nomfa", "--", sys.executable, "-c", child)
        self.assertEqual(result.returncode, 7, result.stderr)  # the child's exit code
        seen = json.loads(result.stdout)
        self.assertEqual(seen, {"key": service.get("/credentials/nomfa")["AccessKeyId"], "region": "eu-west-1",
                                "shadow": [], "grants": 1})
        self.assertEqual(service.get("/grants")["grants"], [])  # revoked when it exited
        killed = subprocess.Popen([sys.executable, os.path.join(HERE, "runas_meta.py"), "exec", "nomfa", "--",
                                   sys.executable, "-c", "import os, time; print(os.getpid(), flush=True); "
                                   "time.sleep(60)"], env=self.env, stdout=subprocess.PIPE, text=True)
        pid = int(killed.stdout.readline())
        self.assertEqual(len(service.get("/grants")["grants"]), 1)
        os.kill(pid, signal.SIGKILL)  # however the child ends
        self.assertEqual(killed.wait(30), 128 + signal.SIGKILL)
        killed.stdout.close()
        self.assertEqual(service.get("/grants")["grants"], [])

    def test_a_profile_whose_process_asks_the_service_is_refused(self):
        write(self.config_path, STANDARD_CONFIG + "[profile loop]\ncredential_process = python3 runas_meta.py "
              "process loop\n[profile loop2]\ncredential_process = runas-meta process --wait 5 nomfa\n")
        service = ServiceProcess(["ecs", "-p", "0", "nomfa"], self.env)
        self.addCleanup(service.stop)
        for name in ("loop", "loop2"):
            with self.assertRaises(urllib.error.HTTPError) as caught:
                service.get("/credentials/" + name)
            self.assertEqual(caught.exception.code, 400)
            self.assertIn("it would ask itself", json.loads(caught.exception.read())["Message"])
        self.assertFalse(rm.asks_this_service("/usr/bin/aws-vault export --format=json dev"))
        self.assertTrue(rm.asks_this_service(rm.process_command(os.path.join(HERE, "runas_meta.py")) + " process x"))

    def test_mfa_code_asked_on_a_terminal(self):
        master, slave = os.openpty()
        self.addCleanup(os.close, master)
        self.env["AWS_PROFILE"] = "dev"
        proc = subprocess.Popen([sys.executable, os.path.join(HERE, "runas_meta.py"), "ecs", "-p", "0"],
                                env=self.env, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        os.close(slave)
        self.addCleanup(proc.wait, 10)
        self.addCleanup(proc.terminate)
        def read_until(marker):
            seen = b""
            while marker not in seen:
                chunk = proc.stdout.read1(1000)
                if not chunk:
                    self.fail("the service ended before printing %r: %r" % (marker, seen))
                seen += chunk
            return seen
        prompt = read_until(b"): ")
        self.assertIn(b"MFA code for profile dev (%s): " % SERIAL.encode(), prompt)
        os.write(master, b"abc\n")  # not a code: the terminal's rule is the page's, nothing goes to STS
        read_until(b"That is not a code: an MFA code is the 6 digits your MFA device shows.")
        os.write(master, b"000000\n")  # wrong: asked again
        read_until(b"not accepted")
        os.write(master, GOOD_CODE.encode() + b"\n")
        banner = read_until(b"Press Ctrl-C")
        url = re.search(rb" on (http://127\.0\.0\.1:\d+)", banner).group(1).decode()
        with urllib.request.urlopen(url + "/credentials", timeout=10) as response:
            self.assertEqual(json.loads(response.read())["RoleArn"], ROLE)
        self.assertEqual([call["TokenCode"] for call in self.sts_server.calls if "TokenCode" in call],
                         ["000000", GOOD_CODE])
        proc.stdout.close()

    def test_platform_without_the_user_check_says_so(self):
        class Unavailable(rm.PeerCheck):
            def available(self):
                return False
        args = rm.build_parser().parse_intermixed_args(["ecs", "-p", "0", "base"])
        out = io.StringIO()
        server = rm.Server(("127.0.0.1", 0))
        self.addCleanup(server.server_close)
        _, service, auth_file = rm.build_service(server, args, self.env, io.StringIO(), out, peer_check=Unavailable)
        self.assertIn("cannot tell which process opens a connection; credential paths require the ECS "
                      "authorization token", out.getvalue())
        self.assertIsNone(server.peers)
        self.assertTrue(service.auth_token)  # generated: the banner points AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE here
        self.assertEqual(read_text(auth_file), service.auth_token)
        response = service.handle(rm.Request("GET", "/credentials", [("Host", "127.0.0.1:%d" % server.server_address[1])]))
        self.assertEqual(response.status, 401)
        out = io.StringIO()
        rm.build_service(server, args, self.env, io.StringIO(), out, peer_check=rm.PeerCheck)
        self.assertEqual(out.getvalue(), "")

    def test_port_in_use(self):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            sock.listen()
            result = self.run_cli("ecs", "-p", str(sock.getsockname()[1]), "base")
        self.assertEqual(result.returncode, 1)
        self.assertIn("cannot listen", result.stderr)

    def test_intermixed_arguments_and_help(self):
        result = self.run_cli("--help")
        self.assertEqual(result.returncode, 0)
        self.assertIn("--headless", result.stdout)
        args = rm.build_parser().parse_intermixed_args(["ecs", "-p", "8888", "my-profile", "-v"])
        self.assertEqual((args.mode, args.port, args.profile, args.verbose), ("ecs", 8888, "my-profile", True))


# ---- aws-vault's keys, mfa_process, notifications, install at login -----------


VAULT_MIXIN = """\
; aws-vault's USAGE.md, include_profile in "mixin" style
[profile common]
region=eu-west-1
mfa_serial=arn:aws:iam::123456789012:mfa/johnsmith
source_profile = root

[profile root]
include_profile = common

[profile order-dev]
include_profile = common
role_arn=arn:aws:iam::123456789012:role/developers

[profile order-staging-admin]
include_profile = common
role_arn=arn:aws:iam::123456789012:role/administrators
"""

VAULT_PARENT = """\
; aws-vault's USAGE.md, include_profile in "parent" style
[profile root]
region=eu-west-1
mfa_serial=arn:aws:iam::123456789012:mfa/johnsmith
source_profile = root

[profile order-dev]
include_profile = root
role_arn=arn:aws:iam::123456789012:role/developers
"""

VAULT_TAGS = """\
[profile base]
region = eu-west-1

[profile order-dev]
source_profile = base
role_arn = %s
session_tags = key1=value1,key2=value2,key3=value3
transitive_session_tags = key1,key2
source_identity = your_user_name

[profile above]
source_profile = order-dev
role_arn = %s
""" % (ROLE, ROLE2)


class VaultKeysTests(EngineCase):
    def test_include_profile_mixin_style(self):
        """aws-vault's first example: region, mfa_serial and source_profile
        come from the fragment; root's source_profile (itself, from the
        fragment) is dropped, so root serves its own keys."""
        self.files(VAULT_MIXIN, "[root]\naws_access_key_id = AKIAROOT\naws_secret_access_key = rootSecretKey\n")
        config = self.config()
        dev = config.profile("order-dev")
        self.assertEqual((dev.region, dev.mfa_serial, dev.source_profile, dev.role_arn),
                         ("eu-west-1", "arn:aws:iam::123456789012:mfa/johnsmith", "root",
                          "arn:aws:iam::123456789012:role/developers"))
        self.assertEqual(config.profile("root").source_profile, "")
        self.assertEqual([p.name for p in config.chain("order-staging-admin")], ["order-staging-admin", "root"])
        self.assertIn("order-dev", config.roles())

    def test_include_profile_parent_style(self):
        self.files(VAULT_PARENT, "[root]\naws_access_key_id = AKIAROOT\naws_secret_access_key = rootSecretKey\n")
        config = self.config()
        self.assertEqual([p.name for p in config.chain("order-dev")], ["order-dev", "root"])
        self.assertEqual(config.profile("order-dev").mfa_serial, "arn:aws:iam::123456789012:mfa/johnsmith")
        # root names itself in its own section: botocore's rule (its own keys) stands
        self.assertEqual(config.profile("root").source_profile, "root")

    def test_own_keys_win_and_keys_are_never_included(self):
        self.files("[profile a]\nregion = us-east-1\ninclude_profile = b\n"
                   "[profile b]\nregion = eu-west-1\nrole_session_name = from-b\naws_access_key_id = AKIAB\n"
                   "aws_secret_access_key = bSecretKey\n")
        profile = self.config().profile("a")
        self.assertEqual((profile.region, profile.role_session_name, profile.aws_access_key_id),
                         ("us-east-1", "from-b", ""))

    def test_an_include_loop_and_a_missing_profile_name_the_line(self):
        self.files("[profile a]\ninclude_profile = b\n\n[profile b]\ninclude_profile = a\n")
        with self.assertRaises(rm.ConfigError) as caught:
            self.config().profile("a")
        self.assertIn("a -> b -> a", str(caught.exception))
        self.assertIn("%s:5:" % self.config_path, str(caught.exception))
        self.files("[profile a]\ninclude_profile = nowhere\n")
        with self.assertRaisesRegex(rm.ConfigError, "include_profile 'nowhere' of profile 'a': no such profile"):
            self.config().profile("a")

    def test_session_tags_parse_as_aws_vault_and_sts_define_them(self):
        self.assertEqual(rm.session_tags(" key1 = value1,key2=value2 "), (("key1", "value1"), ("key2", "value2")))
        self.assertEqual(rm.tag_keys("key1, key2,"), ("key1", "key2"))
        for bad in ("key1", "key1=v,key1=w", "Key=v,key=w", "k!=v", ",".join("k%d=v" % i for i in range(51))):
            with self.assertRaises(ValueError, msg=bad):
                rm.session_tags(bad)
        self.files("[profile a]\nrole_arn = %s\nsource_profile = base\nsession_tags = nope\n" % ROLE)
        with self.assertRaisesRegex(rm.ConfigError, "session_tags 'nope' must be key1=value1,key2=value2"):
            self.config().profile("a")

    def test_assume_role_sends_source_identity_and_tags(self):
        """The fake STS sees STS's parameter names; the role above (chained)
        sends none of the keys it does not have, so the transitive tags pass."""
        self.files(VAULT_TAGS, STANDARD_CREDENTIALS)
        self.engine().credentials("above")
        first, second = [c for c in self.sts_server.calls if c["Action"] == "AssumeRole"]
        self.assertEqual({k: v for k, v in first.items() if k.startswith(("Tags", "Transitive", "Source"))},
                         {"SourceIdentity": "your_user_name", "Tags.member.1.Key": "key1",
                          "Tags.member.1.Value": "value1", "Tags.member.2.Key": "key2",
                          "Tags.member.2.Value": "value2", "Tags.member.3.Key": "key3",
                          "Tags.member.3.Value": "value3", "TransitiveTagKeys.member.1": "key1",
                          "TransitiveTagKeys.member.2": "key2"})
        self.assertFalse([k for k in second if k.startswith(("Tags", "Transitive", "Source"))])

    def test_the_variables_apply_to_the_profile_asked_for_only(self):
        """AWS_SESSION_TAGS and friends win over the keys of the profile
        asked for, never reach the roles below it, and make a layer of
        their own (the same role as a source keeps its own keys)."""
        self.files(VAULT_TAGS, STANDARD_CREDENTIALS)
        self.environ.update(AWS_SESSION_TAGS="team=blue", AWS_TRANSITIVE_TAGS="team", AWS_SOURCE_IDENTITY="alice")
        engine = self.engine()
        engine.credentials("above")
        first, second = [c for c in self.sts_server.calls if c["Action"] == "AssumeRole"]
        self.assertEqual(first["Tags.member.3.Key"], "key3")
        self.assertEqual((second["SourceIdentity"], second["Tags.member.1.Key"], second["Tags.member.1.Value"],
                          second["TransitiveTagKeys.member.1"]), ("alice", "team", "blue", "team"))
        self.assertNotIn("Tags.member.2.Key", second)
        engine.credentials("order-dev")  # asked for itself now: the variables, a new layer, one more call
        third = [c for c in self.sts_server.calls if c["Action"] == "AssumeRole"][2]
        self.assertEqual((third["SourceIdentity"], third["Tags.member.1.Key"]), ("alice", "team"))
        self.environ["AWS_SESSION_TAGS"] = "broken"
        with self.assertRaisesRegex(rm.ConfigError, "AWS_SESSION_TAGS must be key1=value1"):
            self.engine().credentials("order-dev")

    def test_botocore_ignores_them_so_parity_holds(self):
        """Each key is one botocore does not read: a profile with them is
        the same profile to botocore; ours adds only what they say."""
        for key in ("include_profile", "mfa_process", "session_tags", "transitive_session_tags", "source_identity"):
            self.assertIn(key, rm.INCLUDE_KEYS + ("include_profile",))


MFA_PROCESS_CONFIG = """\
[profile base]
region = eu-west-1

[profile yubi]
role_arn = %s
source_profile = base
mfa_serial = %s
mfa_process = %%s
""" % (ROLE, SERIAL)


class MfaProcessTests(EngineCase):
    def use(self, script):
        folder = tempfile.mkdtemp()
        self.addCleanup(_rmtree, folder)
        path = os.path.join(folder, "code.py")
        write(path, script)
        self.files(MFA_PROCESS_CONFIG % ("%s %s" % (shlex_quote(sys.executable), shlex_quote(path))),
                   STANDARD_CREDENTIALS)
        return folder

    def test_the_code_comes_from_the_command_and_no_one_is_asked(self):
        told = []
        self.use("print('  %s  ')\n" % GOOD_CODE)
        engine = self.engine(notify=lambda *args: told.append(args))
        creds = engine.credentials("yubi")
        self.assertTrue(creds.access_key_id.startswith("ASIAFAKE"))
        sent = [c for c in self.sts_server.calls if "TokenCode" in c]
        self.assertEqual([c["TokenCode"] for c in sent], [GOOD_CODE])
        self.assertEqual(told, [("yubi", "touch", "", "")])
        self.assertIsNone(engine.status("yubi")["next_prompt"])  # renewals need no one: nothing to announce

    def test_a_failing_command_falls_back_to_the_page_and_says_why(self):
        self.use("import sys\nsys.stderr.write('procStderrSecret')\nsys.exit(3)\n")
        engine = self.engine()
        with self.assertLogs("runas_meta", "WARNING") as logs:
            with self.assertRaises(rm.MFARequired) as caught:
                engine.credentials("yubi")
        self.assertIn("mfa_process of profile 'yubi' exited with status 3", str(caught.exception))
        self.assertNotIn("procStderrSecret", "\n".join(logs.output) + str(caught.exception))
        self.assertIn("exited with status 3", engine.status("yubi")["error"])
        self.assertTrue(engine.status("yubi")["mfa_needed"])
        runs = len(self.sts_server.calls)
        with self.assertRaises(rm.MFARequired):  # paused: not run again at once
            engine.credentials("yubi")
        self.assertEqual(len(self.sts_server.calls), runs)
        engine.credentials("yubi", mfa_code=GOOD_CODE)  # the page's code works as always

    def test_output_that_is_not_a_code_is_refused_without_showing_it(self):
        self.use("print('procSecret and more')\n")
        with self.assertRaises(rm.MFARequired) as caught:
            self.engine().credentials("yubi")
        self.assertIn("not a six-digit code", str(caught.exception))
        self.assertNotIn("procSecret", str(caught.exception))

    def test_a_hanging_command_is_stopped_with_its_children(self):
        folder = self.use("")
        pid_file = os.path.join(folder, "grandchild")
        write(os.path.join(folder, "code.py"),
              "import subprocess, sys, time\n"
              "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)'])\n"
              "open(%r, 'w').write(str(g.pid))\n"
              "time.sleep(120)\n" % pid_file)
        engine = self.engine(mfa_process_timeout=1.0)
        with self.assertRaisesRegex(rm.MFARequired, "did not finish within 1 seconds and was stopped"):
            engine.credentials("yubi")
        grandchild = int(read_text(pid_file))  # SIGKILL is delivered, not awaited: wait for it to land
        self.assertTrue(wait_for(lambda: _state(grandchild) in ("Z", "X"), 10))


def fake_notifier(folder):
    """A notify-send on PATH that appends its arguments to a file."""
    path = os.path.join(folder, "notify-send")
    log = os.path.join(folder, "notified.jsonl")
    write(path, "#!%s\nimport json, sys\nopen(%r, 'a').write(json.dumps(sys.argv[1:]) + '\\n')\n"
          % (sys.executable, log))
    os.chmod(path, 0o755)
    return log


def notified(log):
    try:
        return [json.loads(line) for line in read_text(log).splitlines()]
    except FileNotFoundError:
        return []


class NotifierTests(ServiceCase):
    def setUp(self):
        super().setUp()
        folder = tempfile.mkdtemp()
        self.addCleanup(_rmtree, folder)
        self.log = fake_notifier(folder)
        self.now = [0.0]
        command = rm.notifier_command("linux", which=lambda name: os.path.join(folder, name))
        self.opened = []
        self.notifier = rm.Notifier(command, "http://127.0.0.1:%d" % self.PORT, clock=lambda: self.now[0],
                                    spawn=lambda job: job(), open_page=self.opened.append)
        self.engine_.notify = self.notifier.tell

    def test_once_ahead_of_the_code_and_once_on_the_first_401(self):
        self.service.activate("dev")
        self.engine_.credentials("dev", mfa_code=GOOD_CODE)
        self.notifier.ahead(self.engine_, ["dev"])
        self.assertEqual(notified(self.log), [])  # the MFA session has hours left: nothing yet
        self.clock.advance(self.engine_.status("dev")["next_prompt"]["seconds"] - 9 * 60)
        self.notifier.ahead(self.engine_, ["dev"])
        self.notifier.ahead(self.engine_, ["dev"])
        self.assertEqual(len(notified(self.log)), 1)
        self.assertRegex(notified(self.log)[0][2], r"Profile dev will need an MFA code in 9 min \(")
        self.clock.advance(10 * 60)
        self.now[0] += rm.NOTIFY_GAP  # a new MFA need after the gap
        self.assertEqual(self.call("GET", "/credentials").status, 401)
        self.assertEqual(self.call("GET", "/credentials").status, 401)
        shown = notified(self.log)
        self.assertEqual(len(shown), 2)
        self.assertEqual(shown[1], ["--app-name=runas-meta", "runas-meta: an MFA code needed",
                                    "Profile dev needs an MFA code. Open http://127.0.0.1:%d/" % self.PORT])
        self.assertEqual(self.opened, ["http://127.0.0.1:%d/" % self.PORT])
        self.assertEqual(secrets_in(read_text(self.log)), [])
        self.assertNotIn(SERIAL, read_text(self.log))
        self.now[0] += rm.NOTIFY_GAP
        self.call("GET", "/credentials")
        self.assertEqual(len(notified(self.log)), 3)  # a few minutes on: told again; the page opens once
        self.assertEqual(len(self.opened), 1)

    def test_each_platform_gets_its_own_notifier_and_the_text_is_never_code(self):
        tools = {"osascript": "/usr/bin/osascript", "powershell": "C:/ps.exe", "notify-send": "/usr/bin/notify-send"}
        title, text = "t $(x) \"; display", "b' & calc"
        argv, extra = rm.notifier_command("darwin", which=tools.get)(title, text)
        self.assertEqual(argv[-2:], [title, text])
        self.assertNotIn(title, " ".join(argv[:-2]))
        argv, extra = rm.notifier_command("win32", which=tools.get)(title, text)
        self.assertEqual(extra, {"RUNAS_META_TITLE": title, "RUNAS_META_TEXT": text})
        self.assertNotIn(text, " ".join(argv))
        self.assertIsNone(rm.notifier_command("linux", which=lambda name: None))

    def test_no_notify_means_none(self):
        quiet = rm.Notifier(None, "http://x", clock=lambda: 0.0, spawn=lambda job: job())
        self.assertFalse(quiet.tell("dev", "needed", "an MFA code"))


class InstallTests(TempHome):
    def setUp(self):
        super().setUp()
        self.files("[profile dev]\nregion = eu-west-1\n")
        self.root = tempfile.mkdtemp()
        self.addCleanup(_rmtree, self.root)
        self.ran = []
        self.environ["AWS_ENDPOINT_URL_STS"] = "http://127.0.0.1:4999/"
        self.environ["HTTPS_PROXY"] = "http://user:proxyPassword@proxy:3128"

    def run_main(self, command, *args, platform="linux", fail=()):
        out, err = io.StringIO(), io.StringIO()

        def run(argv):
            self.ran.append(argv)
            return subprocess.CompletedProcess(argv, 1 if argv[0] in fail else 0, "", "it broke")
        main = rm.install_main if command == "install" else rm.uninstall_main
        kwargs = {"python": "/usr/bin/python3", "script": "/opt/tools/runas meta.py"} if command == "install" else {}
        code = main(list(args), self.environ, out, err, run=run, platform=platform, root=self.root,
                    ids=(1000, 1000), **kwargs)
        return code, out.getvalue(), err.getvalue()

    def test_linux_user_unit_passes_systemd_analyze_and_uninstall_removes_all(self):
        code, out, _ = self.run_main("install", "ecs", "dev", "-p", "12400", "--gui-env")
        self.assertEqual(code, 0, out)
        unit = os.path.join(self.home, ".config", "systemd", "user", "runas-meta-ecs.service")
        text = read_text(unit)
        self.assertIn('ExecStart=/usr/bin/python3 "/opt/tools/runas meta.py" ecs dev -p 12400\n', text)
        self.assertIn("Restart=always\n", text)
        self.assertIn("Environment=AWS_ENDPOINT_URL_STS=http://127.0.0.1:4999/\n", text)
        self.assertNotIn("proxyPassword", text)
        self.assertEqual(self.ran[-3:], [["systemctl", "--user", "daemon-reload"],
                                         ["systemctl", "--user", "enable", "runas-meta-ecs.service"],
                                         ["systemctl", "--user", "restart", "runas-meta-ecs.service"]])
        env = read_text(os.path.join(self.home, ".config", "environment.d", "60-runas-meta.conf"))
        self.assertEqual(env.splitlines()[0], "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:12400/credentials")
        self.assertTrue(os.path.exists(os.path.join(self.home, ".aws", ".runas_meta_empty_credentials")))
        if shutil.which("systemd-analyze") or os.environ.get("RUNAS_META_FULL") == "1":
            copy = os.path.join(self.root, "runas-meta-ecs.service")  # verify wants the ExecStart that exists
            write(copy, text.replace('/usr/bin/python3 "/opt/tools/runas meta.py"',
                                     "%s %s" % (sys.executable, os.path.join(HERE, "runas_meta.py"))))
            checked = subprocess.run(["systemd-analyze", "verify", copy], capture_output=True, text=True)
            self.assertEqual(checked.returncode, 0, checked.stderr)
            write(copy, text.replace("ExecStart=/usr", 'ExecStart="/usr'))  # and it can fail
            self.assertNotEqual(subprocess.run(["systemd-analyze", "verify", copy], capture_output=True).returncode, 0)
        self.ran.clear()
        code, out, _ = self.run_main("uninstall")
        self.assertEqual(code, 0)
        self.assertFalse(os.path.exists(unit))
        self.assertIn("removed %s" % unit, out)
        self.assertIn("removed %s" % os.path.join(self.home, ".config", "environment.d", "60-runas-meta.conf"), out)
        self.assertIn(["systemctl", "--user", "disable", "--now", "runas-meta-ecs.service"], self.ran)
        self.assertIn(["systemctl", "--user", "unset-environment", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                       "AWS_SHARED_CREDENTIALS_FILE", "AWS_CREDENTIAL_PROFILES_FILE"], self.ran)
        self.assertEqual(self.run_main("uninstall")[1].split(":")[0], "nothing to remove")

    def test_root_modes_write_a_system_unit_that_drops_to_the_user(self):
        code, out, _ = self.run_main("install", "ec2", "dev", "--dry-run")
        self.assertEqual(code, 0)
        self.assertIn("would write %s" % os.path.join(self.root, "etc", "systemd", "system", "runas-meta-ec2.service"),
                      out)
        self.assertIn("Environment=SUDO_UID=1000 SUDO_GID=1000", out)
        self.assertIn("would run: systemctl enable runas-meta-ec2.service", out)
        self.assertEqual(self.ran, [])
        self.assertFalse(os.listdir(self.root))

    def test_macos_launch_agent_is_a_plist_that_runs_this_file(self):
        import plistlib
        code, out, _ = self.run_main("install", "ecs", "dev", "--auth-token", "generate", "--gui-env",
                                     platform="darwin")
        self.assertEqual(code, 0, out)
        path = os.path.join(self.home, "Library", "LaunchAgents", "io.github.runas-meta.ecs.plist")
        with open(path, "rb") as handle:
            doc = plistlib.load(handle)
        self.assertEqual(doc["ProgramArguments"], ["/usr/bin/python3", "/opt/tools/runas meta.py", "ecs", "dev",
                                                   "--auth-token", "generate"])
        self.assertEqual((doc["Label"], doc["RunAtLoad"], doc["KeepAlive"]), ("io.github.runas-meta.ecs", True, True))
        self.assertEqual(doc["EnvironmentVariables"], {"AWS_ENDPOINT_URL_STS": "http://127.0.0.1:4999/",
                                                       "AWS_CONFIG_FILE": self.config_path,
                                                       "AWS_SHARED_CREDENTIALS_FILE": self.credentials_path})
        self.assertIn(["launchctl", "bootstrap", "gui/1000", path], self.ran)
        self.assertIn(["launchctl", "setenv", "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
                       os.path.join(self.home, ".aws", ".runas_meta_ecs_token")], self.ran)
        with open(os.path.join(self.home, "Library", "LaunchAgents", "io.github.runas-meta.env.plist"), "rb") as handle:
            env = plistlib.load(handle)
        self.assertEqual(env["ProgramArguments"][:2], ["/bin/sh", "-c"])
        self.assertEqual(env["ProgramArguments"][4], "http://127.0.0.1:12319/credentials")
        self.ran.clear()
        self.run_main("uninstall", platform="darwin")
        self.assertEqual(self.ran[0], ["launchctl", "bootout", "gui/1000/io.github.runas-meta.ecs"])
        self.assertIn(["launchctl", "unsetenv", "AWS_CONTAINER_CREDENTIALS_FULL_URI"], self.ran)
        self.assertFalse(os.path.exists(path))

    def test_windows_logon_task_is_the_documented_schtasks_form(self):
        code, out, _ = self.run_main("install", "ecs", "dev", "-p", "12401", "--gui-env", platform="win32")
        self.assertEqual(code, 0, out)
        xml = os.path.join(self.home, ".aws", "runas-meta", "runas-meta-ecs.xml")
        self.assertEqual(self.ran[-3:], [["schtasks", "/Create", "/TN", "runas-meta-ecs", "/XML", xml, "/F"],
                                         ["schtasks", "/End", "/TN", "runas-meta-ecs"],
                                         ["schtasks", "/Run", "/TN", "runas-meta-ecs"]])
        self.assertIn(["setx", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "http://127.0.0.1:12401/credentials"], self.ran)
        with open(xml, "rb") as handle:
            data = handle.read()
        self.assertEqual(data[:2], b"\xff\xfe")  # UTF-16, as schtasks /XML reads it
        ns = {"t": "http://schemas.microsoft.com/windows/2004/02/mit/task"}
        task = ET.fromstring(data.decode("utf-16").replace('encoding="UTF-16"', ""))
        self.assertEqual(task.find("t:Actions/t:Exec/t:Command", ns).text, "/usr/bin/python3")
        self.assertEqual(task.find("t:Actions/t:Exec/t:Arguments", ns).text, '"/opt/tools/runas meta.py" ecs dev -p 12401')
        self.assertIsNotNone(task.find("t:Triggers/t:LogonTrigger/t:Repetition/t:Interval", ns))
        self.assertEqual(task.find("t:Settings/t:MultipleInstancesPolicy", ns).text, "IgnoreNew")
        self.ran.clear()
        code, out, _ = self.run_main("uninstall", platform="win32")
        self.assertIn(["schtasks", "/Delete", "/TN", "runas-meta-ecs", "/F"], self.ran)
        self.assertIn(["reg", "delete", "HKCU\\Environment", "/v", "AWS_CONTAINER_CREDENTIALS_FULL_URI", "/f"], self.ran)
        self.assertFalse(os.path.exists(xml))

    def test_refusals_and_a_failing_command(self):
        for args, said in ((["ecs", "dev", "--auth-token", "tokenSecret"], "never on the command line"),
                           (["ecs", "dev", "-p", "0"], "fixed port"),
                           (["ecs", "dev", "--containers"], "Linux only")):
            with self.assertRaisesRegex(rm.UsageError, said):
                self.run_main("install", *args, platform="darwin")
        code, _, err = self.run_main("install", "ecs", "dev", fail=("systemctl",))
        self.assertEqual(code, 1)
        self.assertIn("runas-meta install: systemctl failed: it broke", err)
        out, err = io.StringIO(), io.StringIO()
        self.assertEqual(rm.main(["install", "ecs", "dev", "--auth-token", "tokenSecret"], self.environ, stdout=out,
                                 stderr=err), 2)
        self.assertNotIn("tokenSecret", err.getvalue())


# ---- the relay: grants through a relay in a container network ------------------


class RelayListenerTests(GrantCase):
    """What the host's relay listener serves (ecs --relay-listen), in-process."""

    SECRET = "relaySecret-0123456789abcdefghijklmnopqrstuv"

    def make(self, **kwargs):
        super().make(**kwargs)
        self.service.containers = False  # a user's service, no root: only the relay reaches it
        self.service.ecs.relay_secret = self.SECRET

    def relayed(self, path, secret=SECRET, client="169.254.170.9", method="GET"):
        headers = [("Host", "169.254.170.1:12320")]
        if secret is not None:
            headers.append((rm.RELAY_SECRET_HEADER, secret))
        if client is not None:
            headers.append((rm.RELAY_CLIENT_HEADER, client))
        response = self.service.handle(rm.Request(method, path, headers, b"", ("169.254.170.2", 40000), "relay"))
        if response.status >= 400:
            self.assertEqual(secrets_in(response.body.decode()), [])
        self.assertNotIn(self.SECRET, response.body.decode())
        return response.status, json.loads(response.body)

    def test_the_relay_with_its_secret_gets_a_grant_bound_to_the_container_it_names(self):
        grant_id, _ = self.grant()
        status, doc = self.relayed(rm.GRANT_PATH + grant_id)
        self.assertEqual(status, 200)
        self.assertEqual(doc, self.doc(self.call("GET", "/credentials/nomfa")))
        self.assertEqual(self.relayed(rm.GRANT_PATH + grant_id, client="169.254.170.10"),
                         (403, {"code": "GrantBoundElsewhere", "message": "this grant is bound to another container"}))
        self.assertEqual(self.relayed("/healthcheck")[0], 200)

    def test_everything_else_is_refused(self):
        grant_id, _ = self.grant()
        with self.assertLogs("runas_meta", "WARNING") as logs:
            for secret in (None, "", "wrong", self.SECRET[:-1]):
                self.assertEqual(self.relayed(rm.GRANT_PATH + grant_id, secret=secret)[0], 403, secret)
        self.assertNotIn(self.SECRET[:20], "\n".join(logs.output))
        for path in ("/credentials", "/credentials/nomfa", "/grants", "/", "/latest/meta-data/iam/security-credentials/"):
            self.assertEqual(self.relayed(path), (403, {"code": "ForbiddenPeer", "message": (
                "a container is served only GET /v2/credentials/<id> of a grant made for it on the host "
                "(runas_meta.py grant PROFILE --label NAME)")}), path)
        self.assertEqual(self.relayed(rm.GRANT_PATH + grant_id, method="POST")[0], 403)
        self.assertEqual(self.relayed(rm.GRANT_PATH + grant_id, client="not-an-address")[0], 400)
        self.assertEqual(self.relayed(rm.GRANT_PATH + grant_id, client=None)[0], 400)
        self.service.ecs.relay_secret = ""  # no --relay-listen: no relay is ever served
        self.assertEqual(self.relayed(rm.GRANT_PATH + grant_id, secret="")[0], 403)

    def test_a_revocation_reaches_the_relay_at_once(self):
        grant_id, _ = self.grant()
        self.assertEqual(self.relayed(rm.GRANT_PATH + grant_id)[0], 200)
        self.doc(self.call("POST", "/grants/revoke", {"Content-Type": "application/x-www-form-urlencoded"},
                           "label=web"))
        self.assertEqual(self.relayed(rm.GRANT_PATH + grant_id)[0], 404)

    def test_the_listener_admits_only_the_relays_address(self):
        server = rm.Server(("127.0.0.1", 0))
        self.addCleanup(server.server_close)
        server.relay_from = ("169.254.170.2",)
        with self.assertLogs("runas_meta", "WARNING"):
            refused = server.admit(("169.254.170.7", 40000))
        self.assertEqual(refused.status, 403)
        self.assertEqual(server.admit(("169.254.170.2", 40000)), "relay")
        server.relay_from = ()  # a loopback listener (Docker Desktop): any source, the secret decides
        self.assertEqual(server.admit(("127.0.0.1", 40000)), "relay")


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RelayProcessTests(CommandLineCase):
    """The relay and the host's service as two processes on loopback."""

    def test_a_grant_through_the_relay(self):
        listen = free_port()
        service = ServiceProcess(["ecs", "-p", "0", "nomfa", "--relay-listen", "127.0.0.1:%d" % listen], self.env)
        self.addCleanup(service.stop)
        secret_file = os.path.join(self.home, ".aws", "runas-meta", "relay-secret")
        self.assertIn("relay listener: http://127.0.0.1:%d/" % listen, service.output)
        self.assertEqual(stat.S_IMODE(os.stat(secret_file).st_mode), 0o600)
        secret = read_text(secret_file)
        self.assertNotIn(secret, service.output)
        done = self.run_cli("grant", "nomfa", "--label", "web", "-p", str(service.port))
        self.assertEqual(done.returncode, 0, done.stderr)
        uri = re.search(r"AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=(\S+)", done.stdout).group(1)
        GRANT_IDS.append(uri.rsplit("/", 1)[1])
        at = free_port()
        env = {k: v for k, v in self.env.items() if not k.startswith("AWS_")}
        relay = subprocess.Popen([sys.executable, os.path.join(HERE, "runas_meta.py"), "relay", "-v", "--upstream",
                                  "http://127.0.0.1:%d" % listen, "--listen", "127.0.0.1:%d" % at, "--secret-file",
                                  secret_file], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.addCleanup(relay.kill)
        self.assertIn("relay: http://127.0.0.1:%d/" % at, relay.stdout.readline())
        url = "http://127.0.0.1:%d" % at
        self.assertEqual(json.load(urllib.request.urlopen(url + uri, timeout=10))["AccessKeyId"],
                         service.get("/credentials/nomfa")["AccessKeyId"])
        self.assertEqual(json.load(urllib.request.urlopen(url + "/healthcheck", timeout=10)), {"status": "healthy"})
        for path in ("/credentials", "/v2/credentials/" + "A" * 43):
            with self.assertRaises(urllib.error.HTTPError) as caught:
                urllib.request.urlopen(url + path, timeout=10)
            self.assertEqual(caught.exception.code, 403 if path == "/credentials" else 404, path)
        with self.assertRaises(urllib.error.HTTPError) as caught:  # the listener itself, without the secret
            urllib.request.urlopen("http://127.0.0.1:%d%s" % (listen, uri), timeout=10)
        self.assertEqual(caught.exception.code, 403)
        self.assertEqual(self.run_cli("grant", "--revoke", "web", "-p", str(service.port)).returncode, 0)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            urllib.request.urlopen(url + uri, timeout=10)
        self.assertEqual(caught.exception.code, 404)
        relay.terminate()
        self.assertEqual(relay.wait(10), 0)
        log = relay.stderr.read()
        relay.stdout.close()
        relay.stderr.close()
        self.assertIn("/v2/credentials/(no-grant) 200", log)  # its access log: never the id
        self.assertEqual(secrets_in(log), [])
        self.assertNotIn(secret, log)
        with self.assertRaises(OSError):  # the relay gone, nothing answers there
            urllib.request.urlopen(url + uri, timeout=5)

    def test_the_relay_needs_its_secret_from_a_file_or_the_environment(self):
        done = self.run_cli("relay", "--upstream", "http://127.0.0.1:9")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--secret-file PATH, or set RUNAS_META_RELAY_SECRET", done.stderr)
        done = self.run_cli("relay", "--upstream", "https://example.invalid/x", "--secret-file", self.config_path)
        self.assertIn("--upstream is the host's relay listener as http://HOST:PORT", done.stderr)


# ---- who is behind a loopback connection: forwarders, macOS, Windows -----------


# lsof -nP -w +c0 -iTCP@127.0.0.1:50123 -sTCP:ESTABLISHED -Fpcun, in the form
# lsof's field output takes (p, c, u per process; f, n per file)
LSOF_OUTPUT = """\
p4242
cpython3.12
u501
f5
n127.0.0.1:50123->127.0.0.1:12319
p4243
ccom.docker.backend
u501
f31
n127.0.0.1:50124->127.0.0.1:12319
p600
crunas-meta
u501
f7
n127.0.0.1:12319->127.0.0.1:50123
p88
cssh
u502
f4
n[::1]:50125->[::1]:12319
"""


def tcp_table_v4(rows):
    """MIB_TCPTABLE_OWNER_PID as GetExtendedTcpTable writes it (Windows
    docs: dwNumEntries, then rows of six DWORDs; addresses and ports in
    network order, ports in the low 16 bits)."""
    def port(number):
        return struct.unpack("<I", struct.pack(">H", number) + b"\x00\x00")[0]
    out = struct.pack("<I", len(rows))
    for state, local, remote, pid in rows:
        out += struct.pack("<IIIIII", state, struct.unpack("<I", socket.inet_aton(local[0]))[0], port(local[1]),
                           struct.unpack("<I", socket.inet_aton(remote[0]))[0], port(remote[1]), pid)
    return out


def tcp_table_v6(rows):
    """MIB_TCP6TABLE_OWNER_PID: 16-byte addresses, scope ids, ports, state, pid."""
    out = struct.pack("<I", len(rows))
    for state, local, remote, pid in rows:
        out += (socket.inet_pton(socket.AF_INET6, local[0]) + struct.pack("<I", 0) + struct.pack(">H", local[1])
                + b"\x00\x00" + socket.inet_pton(socket.AF_INET6, remote[0]) + struct.pack("<I", 0)
                + struct.pack(">H", remote[1]) + b"\x00\x00" + struct.pack("<II", state, pid))
    return out


class ProcessPeerTests(unittest.TestCase):
    SERVER = ("127.0.0.1", 12319)

    def test_lsof_output_names_the_process_and_its_user(self):
        self.assertEqual(rm.parse_lsof(LSOF_OUTPUT, "127.0.0.1:50123->127.0.0.1:12319"), (501, "python3.12", 4242))
        self.assertEqual(rm.parse_lsof(LSOF_OUTPUT, "[::1]:50125->[::1]:12319"), (502, "ssh", 88))
        self.assertIsNone(rm.parse_lsof(LSOF_OUTPUT, "127.0.0.1:1->127.0.0.1:12319"))
        ran = []

        def run(argv, **kwargs):
            ran.append(argv)
            return subprocess.CompletedProcess(argv, 0, LSOF_OUTPUT, "")
        self.assertEqual(rm.lsof_socket(("127.0.0.1", 50124), self.SERVER, run), (501, "com.docker.backend"))
        self.assertEqual(ran[0], ["lsof", "-nP", "-w", "+c0", "-iTCP@127.0.0.1:50124", "-sTCP:ESTABLISHED", "-Fpcun"])

    def test_macos_verdicts(self):
        def run(argv, **kwargs):
            return subprocess.CompletedProcess(argv, 0, LSOF_OUTPUT, "")
        check = rm.ProcessPeerCheck(lambda client, server: rm.lsof_socket(client, server, run), 501)
        self.assertTrue(check.available())
        with self.assertLogs("runas_meta", "WARNING") as logs:
            self.assertIsNone(check.verdict(("127.0.0.1", 50123), self.SERVER))  # the user's own program
            self.assertEqual(check.verdict(("127.0.0.1", 50124), self.SERVER), "forwarder")  # Docker Desktop
            self.assertEqual(check.verdict(("::1", 50125), ("::1", 12319)), "user")  # another user
            self.assertEqual(check.verdict(("127.0.0.1", 50999), self.SERVER), "unknown")  # lsof cannot see it
            rm.LOG.warning("end")
        self.assertEqual(len(logs.output), 4)
        self.assertIn("com.docker.backend, which forwards containers or VMs", logs.output[0])
        refusal = json.loads(rm.peer_refusal("forwarder", "127.0.0.1").body)
        self.assertIn("relay", refusal["Message"])

    def test_windows_tables_and_verdicts(self):
        client, other, forwarded = ("127.0.0.1", 50123), ("127.0.0.1", 50124), ("127.0.0.1", 50126)
        v4 = tcp_table_v4([(5, client, self.SERVER, 100), (5, other, self.SERVER, 200),
                           (2, ("0.0.0.0", 12319), ("0.0.0.0", 0), 4), (5, forwarded, self.SERVER, 300)])
        rows = rm.parse_tcp_table(v4, socket.AF_INET)
        self.assertEqual(rows[0], (client, self.SERVER, 5, 100))
        self.assertEqual(rows[2], (("0.0.0.0", 12319), ("0.0.0.0", 0), 2, 4))
        v6 = tcp_table_v6([(5, ("::1", 50130), ("::1", 12319), 400)])
        self.assertEqual(rm.parse_tcp_table(v6, socket.AF_INET6), [(("::1", 50130), ("::1", 12319), 5, 400)])
        me = "S-1-5-21-1-2-3-1001"
        processes = {100: (me, "C:\\Python312\\python.exe"), 200: ("S-1-5-21-1-2-3-1002", "C:\\x\\aws.exe"),
                     300: (me, "C:\\Program Files\\Docker\\Docker\\resources\\com.docker.backend.exe"),
                     400: (me, "C:\\Windows\\System32\\wslrelay.exe")}
        tables = {socket.AF_INET: v4, socket.AF_INET6: v6}
        check = rm.ProcessPeerCheck(lambda c, s: rm.windows_socket(c, s, tables.get, processes.get), me)
        with self.assertLogs("runas_meta", "WARNING"):
            self.assertIsNone(check.verdict(client, self.SERVER))
            self.assertEqual(check.verdict(other, self.SERVER), "user")
            self.assertEqual(check.verdict(forwarded, self.SERVER), "forwarder")
            self.assertEqual(check.verdict(("::1", 50130), ("::1", 12319)), "forwarder")  # WSL's relay
            self.assertEqual(check.verdict(("127.0.0.1", 1), self.SERVER), "unknown")

    def test_where_no_check_can_run_the_platform_says_so(self):
        self.assertFalse(rm.platform_peer_check(platform="darwin", which=lambda name: None).available())
        self.assertFalse(rm.platform_peer_check(platform="freebsd14").available())
        self.assertTrue(rm.platform_peer_check(platform="darwin", which=lambda name: "/usr/sbin/lsof").available())


@unittest.skipUnless(os.path.exists("/proc/self/fd"), "Linux only")
class ForwarderTests(unittest.TestCase):
    def test_a_connection_through_a_forwarder_is_refused(self):
        """A program named as rootless docker's forwarder (slirp4netns: a
        link to this Python) connects over loopback as this user: refused,
        where the same program under its own name is served."""
        folder = tempfile.mkdtemp()
        self.addCleanup(_rmtree, folder)
        forwarder = os.path.join(folder, "slirp4netns")
        os.symlink(sys.executable, forwarder)
        server = rm.Server(("127.0.0.1", 0), peers=rm.PeerCheck())
        self.addCleanup(server.server_close)
        seen = []
        server.admit = (lambda admit: lambda address: seen.append(admit(address)) or seen[-1])(server.admit)
        port = server.server_address[1]
        client = ("import socket, sys, time\n"
                  "s = socket.create_connection(('127.0.0.1', %d))\n"
                  "print('connected', flush=True)\n"
                  "sys.stdin.readline()\n" % port)
        for program in (forwarder, sys.executable):
            proc = subprocess.Popen([program, "-c", client], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
            self.assertEqual(proc.stdout.readline().strip(), "connected")
            with contextlib.ExitStack() as stack:
                if program == forwarder:
                    stack.enter_context(self.assertLogs("runas_meta", "WARNING"))
                connection, address = server.socket.accept()
                server.admit(address)
                connection.close()
            proc.stdin.close()
            proc.wait(10)
            proc.stdout.close()
        self.assertEqual(json.loads(seen[0].body)["Code"], "ForbiddenPeer")
        self.assertIn("forwards containers or VMs", json.loads(seen[0].body)["Message"])
        self.assertEqual(seen[1], "host")


# ---- aws login sessions and Okta Identity Engine: what the standard library checks --


class ES256Tests(unittest.TestCase):
    """RFC 6979 A.2.5's P-256/SHA-256 vectors and the key formats; the
    cross-checks with `cryptography` are e2e/test_es256_cryptography.py."""

    KEY = 0xC9AFA9D845BA75166B5C215767B1D6934E50C3DB36E89B127B8A622B120F6721

    def test_rfc6979_vectors(self):
        key = rm.P256Key(self.KEY)
        self.assertEqual(key.public[0], 0x60FED4BA255A9D31C961EB74C6356D68C049B8923B61FA6CE669622E60F29FB6)
        self.assertEqual(key.sign(b"sample").hex(),
                         "efd48b2aacb6a8fd1140dd9cd45e81d69d2c877b56aaf991c34d0ea84eaf3716"
                         "f7cb1c942d657c41d436c7a1b6e29f65f3e900dbb9aff4064dc4ab2f843acda8")
        self.assertEqual(key.sign(b"test").hex(),
                         "f1abb023518351cd71d881567b1ea663ed3efcf6c5132b354f28d3b0b7d38367"
                         "019f4113742a2b14bd25926b49c649155f267e60d3814b4c0cc84250e46f0083")

    def test_pem_round_trip_and_bad_keys(self):
        key = rm.P256Key.generate()
        pem = key.to_pem()
        self.assertTrue(pem.startswith("-----BEGIN EC PRIVATE KEY-----\n"))
        self.assertTrue(all(len(line) <= 64 for line in pem.splitlines()))
        self.assertEqual(rm.P256Key.from_pem(pem).secret, key.secret)
        self.assertEqual(rm.P256Key.from_pem("-----BEGIN EC PARAMETERS-----\nBggqhkjOPQMBBw==\n-----END EC "
                                             "PARAMETERS-----\n" + pem).secret, key.secret)  # openssl ecparam -genkey
        for bad in ("", "-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----",
                    pem.replace("MHcCAQEE", "MHcCAQIE")):
            with self.assertRaises(ValueError, msg=bad[:40]):
                rm.P256Key.from_pem(bad)
        with self.assertRaises(ValueError):
            rm.P256Key(rm.P256_N)

    def test_a_dpop_proof_has_botocores_shape(self):
        proof = rm.dpop_proof(rm.P256Key(self.KEY), "https://x/v1/token", 1700000000, jti="j1")
        header, claims, signature = proof.split(".")
        decode = lambda text: json.loads(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)))  # noqa: E731
        self.assertEqual(list(decode(header)), ["typ", "alg", "jwk"])
        self.assertEqual(decode(claims), {"htm": "POST", "htu": "https://x/v1/token", "iat": 1700000000, "jti": "j1"})
        self.assertEqual(len(base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))), 64)


class LoginConfigTests(EngineCase):
    def test_a_login_session_profile_is_its_own_kind_in_botocores_order(self):
        self.files("[profile a]\nlogin_session = arn:aws:iam::123456789012:user/alice\n"
                   "[profile b]\nlogin_session = arn:aws:iam::123456789012:user/alice\ncredential_process = x\n"
                   "[profile c]\nrole_arn = %s\nsource_profile = a\n" % ROLE,
                   "[b]\naws_access_key_id = AKIAB\naws_secret_access_key = bSecret\n")
        config = self.config()
        self.assertEqual(config.profile("a").kind, "login")
        self.assertEqual(config.profile("b").kind, "keys")  # the credentials file's keys come first
        engine = self.engine(config)
        self.assertEqual([layer.key[0] for layer in engine.plan("c")], ["login", "role"])
        self.assertEqual(engine.login_base("c").name, "a")

    def test_the_cache_the_sign_in_endpoint_and_a_missing_session(self):
        self.files("[profile a]\nlogin_session = arn:aws:iam::123456789012:user/alice\nregion = eu-west-2\n")
        self.environ["AWS_LOGIN_CACHE_DIRECTORY"] = "$HOME/login"
        self.assertEqual(rm.login_cache_dir(self.environ), os.path.join(self.home, "login"))
        profile = self.config().profile("a")
        self.assertEqual(rm.signin_endpoint(profile, {}), "https://eu-west-2.signin.aws.amazon.com")
        self.assertEqual(rm.signin_endpoint(rm.replace(profile, region="cn-north-1"), {}),
                         "https://cn-north-1.signin.amazonaws.cn")
        self.assertEqual(rm.signin_endpoint(profile, {"AWS_ENDPOINT_URL_SIGNIN": "http://127.0.0.1:9/"}),
                         "http://127.0.0.1:9")
        sessions = rm.LoginSessions(self.environ, self.clock, rm.SignInJson(self.environ))
        self.assertTrue(sessions.path(profile.login_session).endswith(
            hashlib.sha256(b"arn:aws:iam::123456789012:user/alice").hexdigest() + ".json"))
        with self.assertRaises(rm.LoginRequired) as caught:
            self.engine().credentials("a")
        self.assertIn("no aws login session", str(caught.exception))
        write(sessions.path(profile.login_session), json.dumps({"accessToken": {}, "refreshToken": "r"}))
        with self.assertRaisesRegex(rm.LoginRequired, "lacks accessToken, dpopKey, clientId: sign in again"):
            self.engine().credentials("a")


class OktaSettingsTests(unittest.TestCase):
    def test_the_aws_app_comes_from_the_url_or_the_key(self):
        profile = rm.Profile("p", saml_auth_url="https://org.okta.com/home/amazon_aws/0oaAWS123/272",
                             okta_oidc_client_id="0oaOIDC")
        self.assertEqual(rm.okta_settings(profile), ("https://org.okta.com", "0oaOIDC", "0oaAWS123",
                                                     "openid okta.apps.sso"))
        self.assertEqual(rm.okta_settings(rm.replace(profile, saml_auth_url="https://org.okta.com/app/x/sso/saml",
                                                     okta_aws_app_id="0oaGIVEN"))[2], "0oaGIVEN")
        with self.assertRaisesRegex(rm.ConfigError, "okta_aws_app_id"):
            rm.okta_settings(rm.replace(profile, saml_auth_url="https://org.okta.com/app/x/sso/saml"))


class OAuthCallbackTests(ServiceCase):
    def test_the_clis_callback_path_goes_to_the_sign_in_that_made_the_state(self):
        """IAM Identity Center and aws login both come back to /oauth/callback."""
        self.engine_.sso.sign_ins.logins["sso-state"] = {"at": 0}
        self.engine_.login_sign_ins.pending["login-state"] = {"at": 0}
        callbacks = [group for group in self.service.groups if isinstance(group, rm.OAuthCallbacks)][0]
        seen = []
        callbacks.owners = [(owns, lambda request, name=name: seen.append(name) or rm.redirect("/"))
                            for (owns, _), name in zip(callbacks.owners, ("sso", "aws login"))]
        for state in ("login-state", "sso-state", "nobodys"):
            self.assertEqual(self.call("GET", rm.SSO_CALLBACK_PATH + "?code=c&state=" + state).status, 302)
        self.assertEqual(seen, ["aws login", "sso", "sso"])


if __name__ == "__main__":
    unittest.main()
