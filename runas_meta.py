#!/usr/bin/env python3
"""runas-meta: a local AWS credential service in one file.

It stands in for the two places where AWS hands credentials to a program,
the EC2 instance metadata service (IMDS v1 and v2) and the ECS container
credential endpoint, and serves the credentials of a profile from
~/.aws/config: IAM keys with MFA, assumed roles and role chains.

    python runas_meta.py ecs my-profile          # http://127.0.0.1:12319/credentials
    python runas_meta.py ec2 -p 8000 my-profile  # AWS_EC2_METADATA_SERVICE_ENDPOINT

Standard library only; Python 3.8 or newer.  The file reads bottom-up,
each room before what uses it (`grep -n '^# ====' runas_meta.py`).  How a
request flows through the rooms:

    Server (accepts; PeerCheck on Linux, ProcessPeerCheck on macOS and
            Windows: which local user, a container, or a forwarder of
            containers and VMs; the relay listener: the relay's secret)
     -> Handler (parses, answers in one write; AccessLog)
     -> Service.handle (the dispatcher): RequestPolicy checks the Host, then
        the route's guard; the Router picks a handler of one RouteGroup:
        ImdsRoutes | EcsRoutes (+ Grants for containers and the relay) |
        ManagementRoutes |
        SignInRoutes (BrowserBinding) | IdentityCenterRoutes
     -> Engine: LayerPlanner (the layers of the profile's chain), one flight
        per layer, LayerCache (aws-runas's files), renewal in the background
     -> the layer's source: STS (SigV4), Federation (SAML/OIDC IdPs),
        IdentityCenter (SSOTokens, SSOSignIns, SSORoles), a process.

Beside the service: the client commands (process, export, exec, profiles,
grant), `install` (systemd, launchd, Task Scheduler), the Notifier, and
`relay`, which runs in a container and forwards a grant's path to the
host's relay listener.
"""

# ==== Imports and compat ===================================================
# Python 3.8 is the floor (setup.cfg, vermin in CI): no str.removeprefix,
# no dict union, no builtin generics in annotations.

import argparse
import base64
import collections
import configparser
import contextlib
import email.utils
import errno
import datetime as dt
import getpass
import hashlib
import hmac
import html
import html.parser
import http.client
import http.server
import importlib
import json
import logging
import os
import queue
import random
import re
import secrets
import shlex
import shutil
import signal
import socket
import socketserver
import struct
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import urllib.error
import urllib.parse
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace

__version__ = "0.1.0"

# ==== Constants ============================================================

MINUTE = 60
HOUR = 3600
UTC = dt.timezone.utc

# (default, minimum, maximum) in seconds, as aws-runas and STS allow them.
SESSION_DURATION = (12 * HOUR, 15 * MINUTE, 36 * HOUR)
ROLE_DURATION = (1 * HOUR, 15 * MINUTE, 12 * HOUR)
CHAINED_ROLE_MAX = HOUR  # STS caps a role assumed with role credentials at 1 h
SESSION_TOKEN_ROLE_MAX = HOUR  # up to this, roles are assumed from a session token

# Refresh policy.  SDKs re-date IMDS credentials with less than ~25 minutes
# left, so what we serve keeps more than 30 minutes whenever the source allows.
REFRESH_AHEAD = 35 * MINUTE  # renew in the background from this much left ...
REFRESH_FRACTION = 0.75  # ... or from 3/4 of the lifetime left, if that is less
MIN_SERVE = 60  # credentials with less left are fetched anew before serving
MFA_WARN = 30 * MINUTE  # report "an MFA code will be needed" this early
RETRY_RENEWAL = MINUTE  # a failed background renewal is retried this often
# A layer whose fetch failed answers from that failure for a pause that grows
# with each failure (jittered; a Retry-After sets it; a user's action ends it),
# so STS sees a bounded rate however many clients ask.  Throttling: harder.
FAILURE_PAUSE = (1.0, 30.0)  # (first, longest) seconds
THROTTLED_PAUSE = (5.0, 120.0)
THROTTLING_CODES = frozenset({"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException",
                              "SlowDown"})
RENEWAL_INTERVAL = 30  # seconds between the renewal loop's rounds (unwritten grant revocations too)
RENEW_IDLE = 2 * HOUR  # layers nobody asked for in this long are left to expire
STATIC_TOKEN_LIFETIME = HOUR  # advertised for keys with a session token and no known expiry

STS_VERSION = "2011-06-15"
STS_TIMEOUT = 10.0
STS_ATTEMPTS = 4
STS_MAX_RESPONSE = 1 << 20
RETRYABLE_CODES = frozenset({
    "Throttling", "ThrottlingException", "RequestLimitExceeded",
    "TooManyRequestsException", "IDPCommunicationError", "ServiceUnavailable",
    "InternalFailure", "InternalError",
})
MFA_ERROR = re.compile(r"MultiFactorAuthentication|MFA", re.I)
AWS_MFA_CODE = re.compile(r"[0-9]{6}\Z")  # STS's TokenCode: six digits (str.isdigit takes other scripts' digits)
IDP_CODE = re.compile(r"[0-9]{6,8}\Z")  # an identity provider's one-time code
SOURCE_REFUSED = frozenset({"ExpiredToken", "ExpiredTokenException", "InvalidClientTokenId"})

CACHE_PREFIX = {"session": ".aws_session_token_", "role": ".aws_assume_role_",
                "saml": ".aws_saml_role_", "web": ".aws_web_role_"}
TEMP_PREFIX = ".runas-meta-"  # write_private_file's temporaries
STALE_TEMP = MINUTE  # older ones were left by a process killed mid-write

# IAM Identity Center (SSO) and credential_process.
SSO_ROLE_PREFIX = "sso:"  # a discovered role is served as sso:<session>:<account>:<role>
SSO_REFRESH_WINDOW = 15 * MINUTE  # sso-session tokens are refreshed from this much left, as botocore does
SSO_REFRESH_RETRY = MINUTE  # a failed token refresh is tried again at most this often
SSO_REGISTRATION_MARGIN = 15 * MINUTE  # a client registration is reused until this close to expiry
SSO_DEFAULT_SCOPES = ("sso:account:access",)
SSO_ATTEMPTS = 5  # 429, 5xx and unreachable: retried with jittered backoff
SSO_PAGE_SIZE = 100
DISCOVERY_WORKERS = 10  # ListAccountRoles calls at once, fewer while the portal throttles
ROLE_LIST_REFRESH = 24 * HOUR  # a role list older than this is found anew in the background
SSO_CALLBACK_PATH = "/oauth/callback"  # the AWS CLI's redirect path
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEVICE_INTERVAL = 5  # seconds between device-code polls unless the service says otherwise
PROCESS_TIMEOUT = 60.0  # a credential_process that runs longer is killed
PROCESS_WAIT = 25  # `runas-meta process` waits this long for an MFA code (SDKs give a process about a minute)

ECS_PORT = 12319
LEGACY_ADDRESS = "169.254.169.254"  # the real metadata address; legacy mode only
LOOPBACK = "127.0.0.1"
IMDS_MAX_TTL = 21600
IMDS_CREDS = "/latest/meta-data/iam/security-credentials"
AUTH_TYPE_HEADER = "X-AwsRunas-Authentication-Type"
MAX_BODY = 64 * 1024
MAX_CONNECTIONS = 1024  # one thread each; the benchmark holds 1,000 open
MAX_PER_SOURCE = 32  # connections one address from off this host (a container, a VM) may hold at once
IDLE_TIMEOUT = 30.0  # an idle connection is closed after this
REQUEST_DEADLINE = 10.0  # from a request's first byte to its last, at most this
LISTEN_BACKLOG = 1024  # bursts of new connections must not meet SYN drops
WORKER_IDLE = 30.0  # a connection thread waits this long for the next connection, then ends
STOP_POLL = 0.1  # how often a listener's loop looks whether it is asked to stop (SIGTERM ends within this)

ARN_PARTITION = r"arn:aws(?:-cn|-us-gov|-iso|-iso-[a-z]|-eusc)?"
ROLE_ARN = re.compile(ARN_PARTITION + r":iam::\d{12}:role/[\w+=,.@/-]{1,512}\Z")
MFA_SERIAL = re.compile(r"(?:" + ARN_PARTITION + r":iam::\d{12}:(?:mfa|u2f)/[\w+=,.@/-]+|[\w+=/:,.@-]{9,256})\Z")
SESSION_NAME = re.compile(r"[\w+=,.@-]{2,64}\Z")
EXTERNAL_ID = re.compile(r"[\w+=,.@:/-]{2,1224}\Z")
DURATION = re.compile(r"(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?\Z")

LOG = logging.getLogger("runas_meta")

# ==== Errors ===============================================================


class RunasError(Exception):
    """Root of every failure a user can act on.  str() is the message and
    never holds a secret; `status` and `code` are its HTTP answer."""

    status = 500
    code = "InternalError"
    exit_code = 1


class ConfigError(RunasError):
    """The config or credentials file, or a value in it, is wrong."""

    status = 400
    code = "InvalidConfiguration"
    exit_code = 2

    def __init__(self, message, path=None, line=None):
        where = "%s:%s: " % (path, line) if path and line else ("%s: " % path if path else "")
        super().__init__(where + message)
        self.path, self.line = path, line


class ProfileNotFound(ConfigError):
    status = 404
    code = "ProfileNotFound"


class UsageError(RunasError):
    status = 400
    code = "InvalidRequest"
    exit_code = 2


class MFARequired(RunasError):
    """An MFA code is needed before credentials can be fetched."""

    status = 401
    code = "MFARequired"
    auth_type = "MFA"

    def __init__(self, message, profile="", serial="", reason=""):
        super().__init__(message)
        self.profile, self.serial, self.reason = profile, serial, reason


class MFAInvalid(MFARequired):
    code = "MFAInvalid"


class AwsServiceError(RunasError):
    """An AWS service answered with an error: its code and HTTP status are kept
    (and its Retry-After, in seconds, when it sent one)."""

    status = 502

    def __init__(self, message, aws_code="", http_status=0):
        super().__init__(message)
        self.aws_code, self.http_status = aws_code, http_status
        self.retry_after = None


class STSError(AwsServiceError):
    """STS answered with an error (AWS's code and message are kept)."""

    code = "STSError"


class STSUnavailable(STSError):
    """STS could not be reached, timed out or kept throttling."""

    status = 503
    code = "STSUnavailable"


class Interrupted(RunasError):
    """The user pressed Ctrl-C before the service served anything."""

    exit_code = 130


class HTTPError(RunasError):
    """Raised by request handlers: the status and message of the answer."""

    def __init__(self, status, message, code=None, headers=()):
        super().__init__(message)
        self.status = status
        self.code = code or http.server.BaseHTTPRequestHandler.responses.get(
            status, ("Error",))[0].replace(" ", "")
        self.headers = tuple(headers)


# ==== Small utilities ======================================================


def utcnow():
    return dt.datetime.now(UTC)


def format_time(when):
    """AWS's credential timestamp: UTC with a Z, whole seconds."""
    return when.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_TIMESTAMP = re.compile(r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?\Z")


def parse_time(text):
    """Read an ISO 8601 time as STS, botocore and aws-runas (Go, with
    nanoseconds and an offset) write it.  A time without a zone is UTC."""
    match = _TIMESTAMP.match(str(text).strip())
    if not match:
        raise ValueError("not a timestamp")
    fields = [int(part) for part in match.groups()[:6]]
    fraction, zone = match.group(7), match.group(8)
    when = dt.datetime(*fields, microsecond=int(fraction[:6].ljust(6, "0")) if fraction else 0)
    offset = dt.timedelta(0)
    if zone and zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        offset = sign * dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return when.replace(tzinfo=dt.timezone(offset)).astimezone(UTC)


def parse_duration(text):
    """Seconds from '3600', '1h', '90m', '12h30m' or '45s'; ValueError otherwise."""
    text = str(text).strip().lower()
    if text.isdigit():
        return int(text)
    match = DURATION.match(text)
    if not text or not match:
        raise ValueError("not a duration")
    hours, minutes, seconds = (int(part or 0) for part in match.groups())
    return hours * HOUR + minutes * MINUTE + seconds


def expand_path(path, environ):
    """A file location as botocore reads AWS_CONFIG_FILE and friends:
    $VAR and ${VAR} from `environ` (unknown ones stay), then ~ (HOME)."""
    def value(match):
        name = match.group(1) or match.group(2)
        return environ.get(name, match.group(0))
    path = re.sub(r"\$(?:(\w+)|\{([^}]*)\})", value, path)
    if path == "~" or path.startswith("~/") or path.startswith("~" + os.sep):
        path = (environ.get("HOME") or os.path.expanduser("~")) + path[1:]
    return os.path.expanduser(path)


def write_private_file(path, data):
    """Write `data` to `path` atomically with mode 0600 (mkstemp's mode)."""
    folder = os.path.dirname(os.path.abspath(path))
    handle, temp = tempfile.mkstemp(dir=folder, prefix=TEMP_PREFIX)
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        try:
            os.unlink(temp)
        except OSError:
            pass
        raise


def remove_stale_temporaries(folders, now=None, stale=STALE_TEMP):
    """Delete our own temporary files (0600, they may hold a token) that a
    SIGKILL during a write left behind; young ones may be another running
    instance's write in progress.  Returns how many went."""
    now = time.time() if now is None else now
    removed = 0
    for folder in folders:
        try:
            names = [n for n in os.listdir(folder) if n.startswith(TEMP_PREFIX)]
        except OSError:
            continue
        for name in names:
            path = os.path.join(folder, name)
            try:
                if os.path.isfile(path) and now - os.stat(path).st_mtime > stale:
                    os.unlink(path)
                    removed += 1
            except OSError:
                continue
    if removed:
        LOG.info("removed %d temporary file(s) left by an interrupted write", removed)
    return removed


def with_retries(attempt, retryable, attempts, sleep, rand, what):
    """Call attempt() up to `attempts` times while the error is retryable,
    with jittered exponential backoff; the last error is raised."""
    for number in range(1, attempts + 1):
        try:
            return attempt()
        except RunasError as exc:
            if not retryable(exc) or number == attempts:
                raise
            delay = min(8.0, 0.25 * 2 ** (number - 1)) * (0.5 + rand())
            LOG.warning("%s failed (%s); retry %d in %.2fs", what, exc, number, delay)
            sleep(delay)


def retry_after_of(headers):
    """A Retry-After in seconds (not its HTTP-date form), or None."""
    text = str((headers or {}).get("Retry-After") or "").strip()
    return float(text) if re.match(r"\d{1,4}(\.\d+)?\Z", text) else None


def mfa_code_problem(code, idp=False):
    """None when `code` is what STS takes as a TokenCode (six digits), or an
    identity provider as its one-time code (six to eight); else what to say.
    The page, the API and the terminal apply this one rule."""
    if (IDP_CODE if idp else AWS_MFA_CODE).match(code or ""):
        return None
    return ("an identity provider's code is 6 to 8 digits" if idp else
            "an MFA code is the 6 digits your MFA device shows")


def log_bug(message, *args):
    """Log a bug's traceback: its frames and the exception's type, never
    the exception's text, which may quote a URL, a body or a key."""
    kind, _, trace = sys.exc_info()
    LOG.error(message + "\nTraceback (most recent call last):\n%s%s (its text is not logged: it may hold "
              "secrets)", *(args + ("".join(traceback.format_tb(trace)), kind.__name__ if kind else "?")))


def _origin_of(url):
    parts = urllib.parse.urlsplit(url)
    return "%s://%s" % (parts.scheme, parts.netloc)


def _printable(text, limit=200):
    return re.sub(r"[^\x21-\x7e]", "?", text)[:limit]


def _shown(text, limit=200):
    """A name as the IdP wrote it ("Bob's iPhone", "+X XXXXXXXX42"):
    printable text kept, control and format characters replaced."""
    return re.sub(r"[\x00-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069\ufeff]", "?", text)[:limit]


def _message(text, limit=300):
    """A peer's error message for ours: one line of printable text."""
    return re.sub(r"[^\x20-\x7e]", "?", text)[:limit]


URL_SECRETS = frozenset({"token", "client_secret", "secret", "password", "api_key", "apikey"})


def _url_shown(url):
    """A URL for /status and /profile: a secret in its query (OneLogin's
    token=client_id:secret) shown as "set", as external_id is."""
    parts = urllib.parse.urlsplit(url)
    if not parts.query:
        return url
    query = [(k, "set" if k.lower() in URL_SECRETS and v else v)
             for k, v in urllib.parse.parse_qsl(parts.query, keep_blank_values=True)]
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


def os_user(environ):
    """The login name, cleaned to STS's RoleSessionName alphabet."""
    try:
        name = getpass.getuser()
    except Exception:  # no name for this uid (containers)
        name = environ.get("USER") or environ.get("USERNAME") or "runas-meta"
    name = re.sub(r"[^\w+=,.@-]", "-", name)[:64]
    return name if len(name) >= 2 else "runas-meta"


def account_from_arn(arn):
    parts = (arn or "").split(":")
    return parts[4] if len(parts) > 5 and parts[4].isdigit() else ""


# ==== Config: profiles from ~/.aws =========================================


@dataclass(frozen=True)
class Profile:
    """One profile with every key it can carry and every default in one place.
    Secrets are left out of repr()."""

    name: str
    role_arn: str = ""
    source_profile: str = ""
    mfa_serial: str = ""
    external_id: str = field(default="", repr=False)
    role_session_name: str = ""
    role_duration: int = ROLE_DURATION[0]
    session_duration: int = SESSION_DURATION[0]
    region: str = ""
    web_identity_token_file: str = ""
    aws_access_key_id: str = ""
    aws_secret_access_key: str = field(default="", repr=False)
    aws_session_token: str = field(default="", repr=False)
    saml_auth_url: str = ""
    saml_username: str = ""
    saml_provider: str = ""
    saml_auth_entityid: str = ""
    web_identity_auth_url: str = ""
    web_identity_username: str = ""
    web_identity_provider: str = ""
    web_identity_client_id: str = ""
    web_identity_redirect_uri: str = ""
    web_identity_scopes: str = ""
    jump_role_arn: str = ""
    federated_username: str = ""
    mfa_type: str = "auto"
    endpoint_url: str = ""
    ca_bundle: str = ""
    sts_endpoint_url: str = ""  # from the profile's [services] section
    sso_session: str = ""
    sso_start_url: str = ""
    sso_region: str = ""
    sso_account_id: str = ""
    sso_role_name: str = ""
    sso_registration_scopes: str = ""
    sso_endpoint_url: str = ""  # [services] sso
    sso_oidc_endpoint_url: str = ""  # [services] sso_oidc
    login_session: str = ""  # aws login's session (its ARN): the AWS CLI's login cache
    okta_oidc_client_id: str = ""  # Okta Identity Engine: the OIDC native app of okta-aws-cli's web mode
    okta_aws_app_id: str = ""  # its AWS Account Federation app (else from saml_auth_url)
    okta_oidc_scopes: str = ""
    signin_endpoint_url: str = ""  # [services] signin
    credential_process: str = field(default="", repr=False)  # its arguments may hold secrets
    credential_source: str = ""
    # aws-vault's keys (botocore ignores them): the code command, and what
    # AssumeRole sends besides the role (STS's SourceIdentity, Tags,
    # TransitiveTagKeys)
    mfa_process: str = field(default="", repr=False)  # its arguments may name a secret's location
    source_identity: str = ""
    session_tags: tuple = ()  # ((key, value), ...) in the file's order
    transitive_session_tags: tuple = ()
    # Where the profile's own credentials come from when it is the bottom of
    # a chain, in botocore's order: "web" (role_arn with
    # web_identity_token_file), "sso", "keys" (credentials file), "process",
    # "keys" (config file); for a role with credential_source, the base of
    # its chain is "environment", "imds" or "container".  "" for none.
    kind: str = ""

    @property
    def has_keys(self):
        return bool(self.aws_access_key_id and self.aws_secret_access_key)

    @property
    def has_static_keys(self):
        """botocore's test for a source profile that serves its own keys: either key."""
        return bool(self.aws_access_key_id or self.aws_secret_access_key)

    @property
    def assumes_role(self):
        """botocore's AssumeRole profile: role_arn without web_identity_token_file."""
        return bool(self.role_arn) and not self.web_identity_token_file

    @property
    def source_kind(self):
        return self.kind

    @property
    def is_role(self):
        return bool(self.role_arn)


def _checked(pattern, what):
    def check(value):
        if not pattern.match(value):
            raise ValueError("is not a valid %s" % what)
        return value
    return check


def _duration_in(bounds, what):
    def check(value):
        try:
            seconds = parse_duration(value)
        except ValueError:
            raise ValueError("is not a duration (examples: 3600, 1h, 90m, 12h30m)") from None
        low, high = bounds[1], bounds[2]
        if not low <= seconds <= high:
            raise ValueError("must be between %s and %s for %s" % (
                _human(low), _human(high), what))
        return seconds
    return check


def _choice(*allowed):
    def check(value):
        if value.lower() not in allowed:
            raise ValueError("must be one of %s" % ", ".join(allowed))
        return value.lower()
    return check


def _human(seconds):
    hours, rest = divmod(int(seconds), HOUR)
    return ("%dh" % hours if hours else "") + ("%dm" % (rest // MINUTE) if rest // MINUTE else "") or "%ds" % seconds


def _text(value):
    return value


# STS's limits on AssumeRole's SourceIdentity and session tags (its API reference)
SOURCE_IDENTITY = re.compile(r"[\w+=,.@-]{2,64}\Z")
# STS's [\p{L}\p{Z}\p{N}_.:/=+\-@]: \w for letters and digits, the space separators spelled out
_TAG_CHARACTER = "[\\w.:/=+@\\- \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]"
TAG_KEY = re.compile(_TAG_CHARACTER + "{1,128}\\Z")
TAG_VALUE = re.compile(_TAG_CHARACTER + "{0,256}\\Z")
MAX_SESSION_TAGS = 50


def session_tags(value):
    """aws-vault's `key1=value1,key2=value2` as ((key, value), ...); each
    key and value stripped, checked against STS's alphabet and lengths."""
    pairs = []
    for part in value.split(","):
        key, equals, tag = part.partition("=")
        key, tag = key.strip(), tag.strip()
        if not equals or not TAG_KEY.match(key) or not TAG_VALUE.match(tag):
            raise ValueError("must be key1=value1,key2=value2 (keys of 1-128 and values of up to 256 letters, "
                             "digits, spaces and _.:/=+-@)")
        pairs.append((key, tag))
    if len(pairs) > MAX_SESSION_TAGS or len({key.lower() for key, _ in pairs}) != len(pairs):
        raise ValueError("must name at most %d tags, each key once (keys are case-insensitive)" % MAX_SESSION_TAGS)
    return tuple(pairs)


def tag_keys(value):
    """aws-vault's `key1,key2`: the tags that pass on to chained roles."""
    keys = tuple(key.strip() for key in value.split(",") if key.strip())
    if not keys or not all(TAG_KEY.match(key) for key in keys) or len(keys) > MAX_SESSION_TAGS:
        raise ValueError("must be key1,key2 (tag keys of 1-128 letters, digits, spaces and _.:/=+-@)")
    return keys


# config key -> (Profile field, check).  Keys not listed are ignored, as the SDKs do.
PROFILE_KEYS = {
    "role_arn": ("role_arn", _checked(ROLE_ARN, "IAM role ARN (arn:aws:iam::123456789012:role/NAME)")),
    "source_profile": ("source_profile", _text),
    "mfa_serial": ("mfa_serial", _checked(MFA_SERIAL, "MFA device ARN or serial number")),
    "external_id": ("external_id", _checked(EXTERNAL_ID, "external ID (2-1224 characters of [\\w+=,.@:/-])")),
    "role_session_name": ("role_session_name", _checked(SESSION_NAME, "role session name (2-64 characters of [\\w+=,.@-])")),
    "duration_seconds": ("role_duration", _duration_in(ROLE_DURATION, "a role")),
    "credentials_duration": ("role_duration", _duration_in(ROLE_DURATION, "a role")),
    "session_token_duration": ("session_duration", _duration_in(SESSION_DURATION, "a session token")),
    "region": ("region", _text),
    "web_identity_token_file": ("web_identity_token_file", _text),
    "aws_access_key_id": ("aws_access_key_id", _text),
    "aws_secret_access_key": ("aws_secret_access_key", _text),
    "aws_session_token": ("aws_session_token", _text),
    "saml_auth_url": ("saml_auth_url", _text),
    "saml_username": ("saml_username", _text),
    "saml_provider": ("saml_provider", _text),
    "saml_auth_entityid": ("saml_auth_entityid", _text),
    "web_identity_auth_url": ("web_identity_auth_url", _text),
    "web_identity_username": ("web_identity_username", _text),
    "web_identity_provider": ("web_identity_provider", _text),
    "web_identity_client_id": ("web_identity_client_id", _text),
    "web_identity_redirect_uri": ("web_identity_redirect_uri", _text),
    "web_identity_scopes": ("web_identity_scopes", _text),
    "jump_role_arn": ("jump_role_arn", _checked(ROLE_ARN, "IAM role ARN (arn:aws:iam::123456789012:role/NAME)")),
    "federated_username": ("federated_username", _text),
    "mfa_type": ("mfa_type", _choice("auto", "push", "code", "none")),
    "endpoint_url": ("endpoint_url", _text),
    "ca_bundle": ("ca_bundle", _text),
    "sso_session": ("sso_session", _text),
    "sso_start_url": ("sso_start_url", _text),
    "sso_region": ("sso_region", _text),
    "sso_account_id": ("sso_account_id", _checked(re.compile(r"\d{12}\Z"), "12-digit AWS account ID")),
    "sso_role_name": ("sso_role_name", _text),
    "credential_process": ("credential_process", _text),
    "credential_source": ("credential_source", _text),
    "login_session": ("login_session", _text),
    "okta_oidc_client_id": ("okta_oidc_client_id", _text),
    "okta_aws_app_id": ("okta_aws_app_id", _text),
    "okta_oidc_scopes": ("okta_oidc_scopes", _text),
    "aws_security_token": ("aws_session_token", _text),  # the older name saml2aws and others still write
    "mfa_process": ("mfa_process", _text),
    "source_identity": ("source_identity", _checked(SOURCE_IDENTITY, "source identity (2-64 characters of "
                                                                     "[\\w+=,.@-])")),
    "session_tags": ("session_tags", session_tags),
    "transitive_session_tags": ("transitive_session_tags", tag_keys),
}
# aws-vault's include_profile: the included profile's value for each of these
# keys fills a key the profile leaves unset (aws-vault's list; never keys)
INCLUDE_KEYS = ("mfa_serial", "role_arn", "external_id", "region", "role_session_name", "duration_seconds",
                "source_profile", "sso_session", "sso_start_url", "sso_region", "sso_account_id", "sso_role_name",
                "web_identity_token_file", "source_identity", "credential_process", "mfa_process",
                "session_tags", "transitive_session_tags")
# aws-vault's variables for the profile asked for (they win over its keys)
VAULT_VARIABLES = (("AWS_SOURCE_IDENTITY", "source_identity"), ("AWS_SESSION_TAGS", "session_tags"),
                   ("AWS_TRANSITIVE_TAGS", "transitive_session_tags"))
# credential_source values (botocore's canonical names) -> the base's kind
CREDENTIAL_SOURCES = {"Environment": "environment", "Ec2InstanceMetadata": "imds", "EcsContainer": "container"}
ROLE_SESSION_KINDS = frozenset({"sso", "web", "imds", "container", "login"})  # their credentials are a role's session
SSO_SESSION_KEYS = ("sso_start_url", "sso_region", "sso_registration_scopes")
SSO_REQUIRED = ("sso_start_url", "sso_region", "sso_account_id", "sso_role_name")
FEDERATION_FIELDS = ("saml_auth_url", "saml_username", "saml_provider", "saml_auth_entityid",
                     "web_identity_auth_url", "web_identity_username", "web_identity_provider",
                     "web_identity_client_id", "web_identity_redirect_uri", "web_identity_scopes",
                     "federated_username", "okta_oidc_client_id", "okta_aws_app_id", "okta_oidc_scopes",
                     "jump_role_arn")
SECRET_KEYS = frozenset({"aws_secret_access_key", "aws_session_token", "saml_password",
                         "web_identity_password", "external_id", "credential_process", "mfa_process"})


class _Entry:
    """A raw key's value and where it was written, for error messages."""

    __slots__ = ("value", "path", "line")

    def __init__(self, value, path, line):
        self.value, self.path, self.line = value, path, line


def _key_lines(text):
    """{(section, key): line number} by a plain scan; configparser keeps none.
    Section names as configparser takes them: the stripped line's text
    between the brackets, inner spaces kept."""
    lines, section = {}, None
    for number, raw in enumerate(text.splitlines(), 1):
        stripped = raw.strip()
        if not stripped or stripped[0] in "#;":
            continue
        header = re.match(r"\[(.+)\]", stripped)
        if header:
            section = header.group(1)
        elif section is not None and not raw[:1].isspace():
            key = re.split(r"[=:]", stripped, 1)[0].strip().lower()
            lines.setdefault((section, key), number)
    return lines


def parse_ini(text, path):
    """{section: {key: _Entry}} as botocore's parser reads the file: a
    duplicate section or key is an error, [DEFAULT]'s keys flow into every
    other section, an indented block is a nested section of `key = value`
    lines.  An error names the file and line."""
    if text.startswith("\ufeff"):
        raise ConfigError("the file starts with a byte-order mark (saved as 'UTF-8 with BOM'), which the AWS "
                          "CLI cannot read either: save it as plain UTF-8", path, 1)
    _refuse_unclosed_headers(text, path)
    parser = configparser.RawConfigParser(strict=True)
    try:
        parser.read_string(text, source=path)
    except configparser.DuplicateSectionError as exc:
        raise ConfigError("section [%s] appears twice (the AWS CLI refuses such a file too)" % exc.section,
                          path, exc.lineno) from None
    except configparser.DuplicateOptionError as exc:
        raise ConfigError("%s appears twice in [%s] (the AWS CLI refuses such a file too)"
                          % (exc.option, exc.section), path, exc.lineno) from None
    except configparser.MissingSectionHeaderError as exc:
        raise ConfigError("a key comes before any [section] header", path, exc.lineno) from None
    except configparser.ParsingError as exc:
        line = exc.errors[0][0] if exc.errors else None
        raise ConfigError("cannot parse this line (expected 'key = value' or '[section]')",
                          path, line) from None
    except configparser.Error as exc:
        raise ConfigError(type(exc).__name__, path, getattr(exc, "lineno", None)) from None
    lines = _key_lines(text)
    sections = {}
    for section in parser.sections():
        entries = sections[section] = {}
        for key, value in parser.items(section):
            line = lines.get((section, key)) or lines.get((parser.default_section, key))
            if value.startswith("\n") and any(part.strip() and "=" not in part for part in value.splitlines()):
                raise ConfigError("%s: each indented line under it must be 'key = value'" % key, path, line)
            entries[key] = _Entry(value, path, line)
    return sections


def _refuse_unclosed_headers(text, path):
    """A section header without its ']' is named as such: configparser
    takes it for a key (then a later key "appears twice") or for no header."""
    for number, raw in enumerate(text.splitlines(), 1):
        if raw.startswith("[") and "]" not in raw:
            raise ConfigError("the section header %s has no closing ']'" % _message(raw.strip(), 80), path, number)


def _section_name(section):
    """The name in '[profile NAME]', '[sso-session NAME]' or '[services
    NAME]' as botocore splits it: shell words, exactly two; else None."""
    try:
        words = shlex.split(section)
    except ValueError:
        return None
    return words[1] if len(words) == 2 else None


class _IniFile:
    """One file, re-read when its size or mtime changes; a broken edit keeps
    the last good contents and remembers the error."""

    def __init__(self, path, required):
        self.path, self.required = path, required
        self.stamp, self.sections, self.error = None, {}, None

    def refresh(self):
        try:
            info = os.stat(self.path)
            stamp = (info.st_mtime_ns, info.st_size, info.st_ino)
        except OSError:
            stamp = None
        if stamp == self.stamp:
            return False
        try:
            if stamp is None and self.sections:
                raise ConfigError("file deleted or unreadable", self.path)
            self.sections = self._read(stamp)
            self.error = None
        except ConfigError as exc:
            self.error = exc
            if self.stamp is not None:  # at start there is no good state: the caller says it, once
                LOG.error("%s (keeping the last good state)", exc)
        self.stamp = stamp
        return True

    def _read(self, stamp):
        if stamp is None:
            if self.required:
                raise ConfigError("file not found (set AWS_CONFIG_FILE or create it)", self.path)
            return {}
        try:
            with open(self.path, encoding="utf-8") as handle:
                text = handle.read()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or "not UTF-8 text"
            raise ConfigError("cannot read: %s" % reason, self.path) from None
        return parse_ini(text, self.path)


def include_profiles(merged, name, profiles):
    """aws-vault's include_profile: each INCLUDE_KEYS key the profile
    leaves unset in `merged` comes from the included profile (of the
    config file's `profiles`), which may include another in turn; a loop is
    an error at the include_profile line.  A source_profile that then names
    the profile itself is dropped, as aws-vault does (the included
    profile's own keys are not meant)."""
    seen, entry = [name], merged["include_profile"]
    while entry is not None:
        target = entry.value.strip()
        if target in seen:
            raise ConfigError("include_profile %r makes a loop (%s)" % (target, " -> ".join(seen + [target])),
                              entry.path, entry.line)
        if target not in profiles:
            raise ConfigError("include_profile %r of profile %r: no such profile" % (target, name),
                              entry.path, entry.line)
        seen.append(target)
        included = profiles[target]
        for key in INCLUDE_KEYS:
            if key not in merged and key in included:
                merged[key] = included[key]
        entry = included.get("include_profile")
    own = profiles.get(name, {}).get("source_profile")
    if merged.get("source_profile") and merged["source_profile"].value.strip() == name and own is None:
        del merged["source_profile"]


class Config:
    """The profiles of the AWS config and credentials files.

    Files are checked for changes at most every `check_interval` seconds.
    `environ` and `clock` are parameters so tests inject them."""

    def __init__(self, config_path=None, credentials_path=None, environ=None,
                 clock=time.monotonic, check_interval=1.0):
        self.environ = os.environ if environ is None else environ
        config_path = config_path or self.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"
        credentials_path = (credentials_path or self.environ.get("AWS_SHARED_CREDENTIALS_FILE")
                            or "~/.aws/credentials")
        self.config = _IniFile(expand_path(config_path, self.environ), required=False)
        self.credentials = _IniFile(expand_path(credentials_path, self.environ), required=False)
        self.clock, self.check_interval = clock, check_interval
        self._checked_at = None
        self._mapped = (None, None)  # (generation, botocore's profile map of that generation)
        self._listed = (None, (), ())  # (the profile map, its roles, its sources): Config._lists
        self._lock = threading.Lock()
        self.generation = 0  # bumped when either file changes

    @property
    def directory(self):
        return os.path.dirname(os.path.abspath(self.config.path))

    def load(self):
        """Read both files now; raise the first error (for start-up)."""
        with self._lock:
            self._refresh(force=True)
        if not os.path.exists(self.config.path) and not os.path.exists(self.credentials.path):
            raise ConfigError("no AWS config found: neither %s nor %s exists"
                              % (self.config.path, self.credentials.path))
        for source in (self.config, self.credentials):
            if source.error:
                raise source.error
        return self

    def _refresh(self, force=False):
        now = self.clock()
        if not force and self._checked_at is not None and now - self._checked_at < self.check_interval:
            return
        self._checked_at = now
        if self.config.refresh() | self.credentials.refresh():
            self.generation += 1

    @property
    def errors(self):
        """The files' current errors (after the periodic change check)."""
        self._sections()
        return [str(source.error) for source in (self.config, self.credentials) if source.error]

    def current_generation(self):
        """The files' generation after the periodic change check.  Between
        checks no lock is taken: every cached answer asks, from every
        connection thread, and threads queued on one lock cost keep-alive
        requests a tenth of their rate."""
        checked = self._checked_at
        if checked is not None and self.clock() - checked < self.check_interval:
            return self.generation
        with self._lock:
            self._refresh()
            return self.generation

    def _sections(self):
        with self._lock:
            self._refresh()
            return self.config.sections, self.credentials.sections

    def _maps(self):
        """botocore's reading of the config file's section names:
        ({profile: section}, {sso-session: section}, {services: section}),
        and the credentials file's sections, whose names are profile names
        as written.  A later [default] or [profile default] replaces an
        earlier one.  Built once per version of the files."""
        with self._lock:
            self._refresh()
            if self._mapped[0] == self.generation:
                return self._mapped[1]
            config, credentials = self.config.sections, self.credentials.sections
            profiles, sessions, services = {}, {}, {}
            for section, entries in config.items():
                kind = next((k for k in ("profile", "sso-session", "services") if section.startswith(k)), None)
                name = _section_name(section) if kind else ("default" if section == "default" else None)
                if name is not None:
                    {"sso-session": sessions, "services": services}.get(kind, profiles)[name] = entries
            self._mapped = (self.generation, (profiles, sessions, services, credentials))
            return self._mapped[1]

    def names(self):
        profiles, _, _, credentials = self._maps()
        return sorted(set(profiles) | set(credentials))

    def roles(self):
        """Profiles that serve a role: role_arn, or an IAM Identity Center account and role."""
        return list(self._lists()[0])

    def sources(self):
        return list(self._lists()[1])

    def _lists(self):
        """(roles, sources), worked out once per version of the files: a
        config of thousands of profiles lists them in well under a millisecond."""
        maps = self._maps()
        cached = self._listed
        if cached[0] is not maps:
            roles, sources = [], []
            profiles, _, _, credentials = maps
            for name in sorted(set(profiles) | set(credentials)):
                raw = dict(profiles.get(name, {}), **credentials.get(name, {}))
                if raw.get("include_profile"):
                    try:
                        raw = self._raw(name)
                    except ConfigError:
                        pass  # said when the profile is used
                if raw.get("role_arn") or raw.get("sso_role_name"):
                    roles.append(name)
                if not raw.get("role_arn"):
                    sources.append(name)
            cached = self._listed = (maps, roles, sources)
        return cached[1], cached[2]

    def _raw(self, name):
        profiles, _, _, credentials = self._maps()
        merged = dict(profiles.get(name, {}))
        merged.update(credentials.get(name, {}))  # keys in the credentials file win, as in botocore
        if merged.get("include_profile"):
            include_profiles(merged, name, profiles)
        return merged

    def profile(self, name):
        """The Profile called `name`; ProfileNotFound lists the known ones."""
        if name.startswith(SSO_ROLE_PREFIX):
            return self._discovered(name)
        raw = self._raw(name)
        if not raw and name not in self.names():
            known = ", ".join(self.names()) or "none"
            raise ProfileNotFound("profile %r not found in %s (known profiles: %s)"
                                  % (name, self.config.path, known))
        values = dict(self._checked_values(raw, "profile %r" % name), name=name, kind=self._kind(raw))
        if values.get("sso_session"):
            self._merge_sso_session(values, raw["sso_session"])
        services = raw.get("services")
        for attribute, service in (("sts_endpoint_url", "sts"), ("sso_endpoint_url", "sso"),
                                   ("sso_oidc_endpoint_url", "sso_oidc"), ("signin_endpoint_url", "signin")):
            values[attribute] = self._service_endpoint(services, service)
        region = self.environ.get("AWS_REGION") or self.environ.get("AWS_DEFAULT_REGION")
        if region:
            values["region"] = region
        return Profile(**values)

    def _kind(self, raw):
        """Profile.kind from the raw keys, in botocore's provider order."""
        def given(key):
            return bool(raw.get(key) and raw[key].value.strip())
        if given("role_arn") and given("web_identity_token_file"):
            return "web"
        if given("sso_account_id") or given("sso_role_name"):
            return "sso"
        if given("aws_access_key_id") and raw["aws_access_key_id"].path == self.credentials.path:
            return "keys"
        if given("login_session"):
            return "login"
        if given("credential_process"):
            return "process"
        return "keys" if given("aws_access_key_id") or given("aws_secret_access_key") else ""

    @staticmethod
    def _checked_values(raw, where):
        values = {}
        if raw.get("aws_security_token") and raw.get("aws_session_token"):  # botocore reads the older name first
            raw = dict(raw, aws_session_token=raw["aws_security_token"])
        for key, entry in raw.items():
            if key not in PROFILE_KEYS:
                continue
            attribute, check = PROFILE_KEYS[key]
            value = entry.value.strip()
            if not value:
                continue
            try:
                values[attribute] = check(value)
            except ValueError as exc:
                shown = "" if key in SECRET_KEYS else " %r" % value
                raise ConfigError("%s%s %s (%s)" % (key, shown, exc, where),
                                  entry.path, entry.line) from None
        return values

    def sso_sessions(self):
        return sorted(self._maps()[1])

    def _merge_sso_session(self, values, entry):
        """botocore's merge: the [sso-session NAME] keys are copied over the
        profile's; the same key with another value is an error."""
        session = values["sso_session"]
        section = self._maps()[1].get(session)
        if section is None:
            raise ConfigError("profile %r: sso_session %r does not exist (add a [sso-session %s] section)"
                              % (values["name"], session, session), entry.path, entry.line)
        for key in SSO_SESSION_KEYS:
            found = section.get(key)
            if found is None or not found.value.strip():
                continue
            value = found.value.strip()
            if values.get(key) and values[key] != value:
                raise ConfigError("the value for %s is inconsistent between profile %r (%s) and "
                                  "sso-session %r (%s)" % (key, values["name"], values[key], session, value),
                                  found.path, found.line)
            values[key] = value

    def _discovered(self, name):
        """A role found by listing an SSO session's accounts, named
        sso:<session or profile>:<account>:<role>; it lives in no file."""
        parts = name.split(":", 3)
        if len(parts) != 4 or not re.match(r"\d{12}\Z", parts[2]) or not parts[3]:
            raise ProfileNotFound("%r is not a discovered IAM Identity Center role "
                                  "(sso:<session>:<account>:<role>)" % name)
        owner = self._sso_owner(parts[1])
        return replace(owner, name=name, sso_account_id=parts[2], sso_role_name=parts[3], role_arn="",
                       source_profile="", region=owner.region or owner.sso_region, kind="sso")

    def _sso_owner(self, key):
        """The settings of an sso-session, or of a legacy SSO profile, by name."""
        if key in self.sso_sessions():
            values = {"name": key, "sso_session": key}
            self._merge_sso_session(values, _Entry(key, self.config.path, None))
            return Profile(**values)
        try:
            owner = self.profile(key)
        except ProfileNotFound:
            owner = None
        if owner is None or not owner.sso_start_url:
            raise ProfileNotFound("no sso-session or SSO profile is called %r" % key)
        return owner

    def known(self, name):
        """A profile of the files, or a discovered SSO role whose session exists."""
        if name in self.names():
            return True
        try:
            return name.startswith(SSO_ROLE_PREFIX) and bool(self.profile(name))
        except ConfigError:
            return False

    def _service_endpoint(self, entry, service):
        if entry is None:
            return ""
        section = self._maps()[2].get(entry.value.strip(), {})
        nested = section.get(service)
        if nested is None:
            return ""
        for line in nested.value.splitlines():
            key, _, value = line.partition("=")
            if key.strip() == "endpoint_url":
                return value.strip()
        return ""

    def chain(self, name):
        """[name's profile, each profile whose role is assumed on the way,
        ..., the base]: every profile above the base is a role to assume;
        the base's `kind` says where the first credentials come from.
        botocore's rules: a role's source is source_profile or
        credential_source (one of them); a source profile with either key
        serves its keys (its own role is not assumed), one without keys and
        with a role is assumed in turn; a profile may name itself as source
        to use its own keys.  Errors name the profiles."""
        profile, visited, chain = self.profile(name), [name], []
        while profile.assumes_role and not self._signs_in(profile):
            chain.append(profile)
            self._check_source(profile, visited)
            if profile.credential_source:
                base = replace(profile, role_arn="", source_profile="", mfa_serial="",
                               kind=CREDENTIAL_SOURCES[profile.credential_source])
                break
            source = profile.source_profile
            visited.append(source)
            source_profile = profile if source == profile.name else self.profile(source)
            if source_profile.has_static_keys or not source_profile.assumes_role:
                base = source_profile
                break
            profile = source_profile
        else:
            base = profile
        chain = self._inherit_region(chain + [base])
        self._check_base(chain[-1], top=len(chain) == 1)
        return chain

    @staticmethod
    def _signs_in(profile):
        """Our own federated profiles keep their meaning (Config.federated)."""
        return bool(profile.saml_auth_url or profile.web_identity_auth_url) and not profile.source_profile

    def _check_source(self, profile, visited):
        source, where = profile.source_profile, "profile %r" % profile.name
        if profile.credential_source and source:
            raise ConfigError("%s has both source_profile and credential_source: keep one" % where, self.config.path)
        if profile.credential_source:
            if profile.credential_source not in CREDENTIAL_SOURCES:
                raise ConfigError("%s: credential_source %r is not one of %s" % (
                    where, profile.credential_source, ", ".join(CREDENTIAL_SOURCES)), self.config.path)
            return
        if not source:
            raise ConfigError("%s has role_arn but neither source_profile nor credential_source: name where the "
                              "credentials to assume the role come from" % where, self.config.path)
        if source not in self.names():
            raise ConfigError("%s has source_profile %r, which does not exist" % (where, source), self.config.path)
        if source in visited and source != profile.name:
            path = " -> ".join(visited + [source])
            raise ConfigError("source_profile cycle: %s" % path, self.config.path)
        if source == profile.name and not profile.has_static_keys:
            raise ConfigError("%s names itself as source_profile but has no aws_access_key_id and "
                              "aws_secret_access_key of its own" % where, self.config.path)

    def _check_base(self, base, top):
        where = "profile %r" % base.name
        if base.kind == "sso":
            sso_settings(base)  # botocore's checks: the missing keys named
        elif base.kind == "keys" and not base.has_keys:
            missing = "aws_secret_access_key" if base.aws_access_key_id else "aws_access_key_id"
            raise ConfigError("%s has only half of its keys: %s is missing" % (where, missing), self.credentials.path)
        elif not base.kind and not self._signs_in(base):
            if base.sso_session and not base.sso_account_id:
                hint = ("it names an sso_session but no sso_account_id and sso_role_name, so it can only sign "
                        "in (aws sso login), not serve credentials")
            elif base.source_profile and not base.role_arn:
                hint = "it has source_profile but no role_arn, and source_profile only serves a role"
            elif not top:
                hint = "it is the source_profile of a role"
            else:
                hint = ("set aws_access_key_id and aws_secret_access_key, sso_session (IAM Identity Center), "
                        "credential_process, or role_arn with source_profile")
            raise ConfigError("%s has no credentials: %s" % (where, hint), self.credentials.path)

    def _inherit_region(self, chain):
        """A profile without a region takes its source's (then [default]'s)."""
        region = ""
        if not any(p.region for p in chain) and "default" in self.names():
            region = self.profile("default").region
        out = []
        for profile in reversed(chain):
            region = profile.region or region
            out.append(replace(profile, region=region))
        return out[::-1]

    def federated(self, name):
        """The profile as it signs in through an identity provider (or reads
        a web identity token file), with the identity-provider keys it
        inherits from its source_profile chain and [default], as aws-runas
        reads them; None for a profile whose credentials come from keys."""
        profile = self.profile(name)
        lineage, seen = [profile], {name}
        while lineage[-1].source_profile and lineage[-1].source_profile not in seen:
            seen.add(lineage[-1].source_profile)
            try:
                lineage.append(self.profile(lineage[-1].source_profile))
            except ProfileNotFound:
                break
        if any(p.source_kind not in ("", "web") for p in lineage):
            return None
        if name != "default" and "default" in self.names():
            lineage.append(self.profile("default"))
        values = {}
        for key in FEDERATION_FIELDS + ("region",):
            found = next((getattr(p, key) for p in lineage if getattr(p, key)), "")
            if found and not getattr(profile, key):
                values[key] = found
        fed = replace(profile, **values)
        if not (fed.saml_auth_url or fed.web_identity_auth_url or fed.web_identity_token_file):
            return None
        if not fed.role_arn:
            raise ConfigError("profile %r signs in through an identity provider but has no role_arn"
                              % name, self.config.path)
        return fed

    def effective(self, name):
        """The profile as its credentials are made: with what it inherits as
        a federated profile, else from its source_profile chain (region)."""
        return self.federated(name) or self.chain(name)[0]

    def region(self, name):
        try:
            return self.effective(name).region
        except ConfigError:
            return self.profile(name).region

    def idp_password(self, url, key):
        """A plaintext IdP password from the credentials section named by `url`."""
        _, credentials = self._sections()
        entry = credentials.get(url, {}).get(key)
        return entry.value if entry else ""


# ==== SigV4 and STS ========================================================
# One pure function per step of the signing spec, named after the step.  The
# time comes in as a parameter.  Never log the secret or the signing key.

SIGV4_ALGORITHM = "AWS4-HMAC-SHA256"
UNSIGNED_HEADERS = frozenset({"authorization", "connection", "expect", "keep-alive",
                              "proxy-authenticate", "proxy-authorization", "te", "trailer",
                              "transfer-encoding", "upgrade", "user-agent", "x-amzn-trace-id"})


def _uri_encode(text, safe="-_.~"):
    return urllib.parse.quote(text, safe=safe)


def canonical_path(path):
    """Dot segments and empty segments removed, then URI-encoded (non-S3 rules)."""
    out = []
    for segment in path.split("/"):
        if segment == "..":
            if out:
                out.pop()
        elif segment and segment != ".":
            out.append(segment)
    normal = "/" + "/".join(out)
    if path.endswith("/") and out:
        normal += "/"
    return _uri_encode(normal, safe="/~")


def canonical_query(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    return "&".join("%s=%s" % pair for pair in sorted(
        (_uri_encode(key), _uri_encode(value)) for key, value in pairs))


def canonical_headers(headers):
    """(canonical header block, signed header list) from [(name, value)]."""
    merged = {}
    for name, value in headers:
        name = name.lower().strip()
        if name not in UNSIGNED_HEADERS:
            merged.setdefault(name, []).append(" ".join(str(value).split()))
    names = sorted(merged)
    block = "".join("%s:%s\n" % (name, ",".join(merged[name])) for name in names)
    return block, ";".join(names)


def canonical_request(method, url, headers, body):
    parts = urllib.parse.urlsplit(url)
    block, signed = canonical_headers(headers)
    return "\n".join([method.upper(), canonical_path(parts.path or "/"), canonical_query(parts.query),
                      block, signed, hashlib.sha256(body).hexdigest()])


def credential_scope(amz_date, region, service):
    return "%s/%s/%s/aws4_request" % (amz_date[:8], region, service)


def string_to_sign(amz_date, scope, request_text):
    digest = hashlib.sha256(request_text.encode("utf-8")).hexdigest()
    return "\n".join([SIGV4_ALGORITHM, amz_date, scope, digest])


def signing_key(secret, amz_date, region, service):
    key = ("AWS4" + secret).encode("utf-8")
    for part in (amz_date[:8], region, service, "aws4_request"):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return key


def signature(key, text):
    return hmac.new(key, text.encode("utf-8"), hashlib.sha256).hexdigest()


def host_header(url):
    parts = urllib.parse.urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = "[%s]" % host
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return host if parts.port in (None, default) else "%s:%d" % (host, parts.port)


def sign_request(method, url, headers, body, access_key, secret_key, region, service,
                 now, session_token=""):
    """Return `headers` plus X-Amz-Date, the token and Authorization."""
    amz_date = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
    headers = [(k, v) for k, v in headers if k.lower() not in ("authorization", "x-amz-date",
                                                                 "x-amz-security-token")]
    if not any(k.lower() == "host" for k, _ in headers):
        headers.append(("Host", host_header(url)))
    headers.append(("X-Amz-Date", amz_date))
    if session_token:
        headers.append(("X-Amz-Security-Token", session_token))
    request_text = canonical_request(method, url, headers, body)
    scope = credential_scope(amz_date, region, service)
    text = string_to_sign(amz_date, scope, request_text)
    if LOG.isEnabledFor(logging.DEBUG):
        LOG.debug("SigV4 canonical request:\n%s\nstring to sign:\n%s", _loggable_request(request_text, session_token),
                  text.rsplit("\n", 1)[0] + "\n<hash of the canonical request: not logged>")
    sig = signature(signing_key(secret_key, amz_date, region, service), text)
    _, signed = canonical_headers(headers)
    headers.append(("Authorization", "%s Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                    % (SIGV4_ALGORITHM, access_key, scope, signed, sig)))
    return headers


def _loggable_request(text, token):
    """The canonical request for the debug log, without the session token and
    without the payload hash: the rest of an STS body is known, so the hash
    of a body with a six-digit TokenCode (or an ExternalId) gives it away to
    a brute force within a second.  The string to sign loses its last line
    (a hash over this one) for the same reason."""
    text = text.rsplit("\n", 1)[0] + "\n<payload hash: not logged>"
    return text.replace(token, "<session token>") if token else text


def sts_endpoint(profile, environ):
    """(endpoint URL, signing region) as the SDKs choose them."""
    return sts_endpoint_source(profile, environ)[:2]


def sts_endpoint_source(profile, environ):
    """(endpoint URL, signing region, where the URL came from): the start-up
    banner says where the service will talk to."""
    region = profile.region or "us-east-1"
    overrides = () if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true" else (
        (environ.get("AWS_ENDPOINT_URL_STS"), "AWS_ENDPOINT_URL_STS"),
        (environ.get("AWS_ENDPOINT_URL"), "AWS_ENDPOINT_URL"),
        (profile.sts_endpoint_url, "the [services] sts endpoint_url of profile %r" % profile.name),
        (profile.endpoint_url, "endpoint_url of profile %r" % profile.name))
    for url, source in overrides:
        if url:
            return url, region, source
    if not profile.region:
        return "https://sts.amazonaws.com/", "us-east-1", "the global endpoint: profile %r has no region" % profile.name
    suffix = "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"
    return "https://sts.%s.%s/" % (region, suffix), region, "region %s of profile %r" % (region, profile.name)


def proxy_settings(environ):
    """{scheme: proxy URL, 'no': NO_PROXY} from `environ`, lower case winning,
    as urllib reads them from os.environ."""
    found = {}
    for name in sorted(environ, key=lambda n: n.islower()):  # lower-case names last, so they win
        if name.lower().endswith("_proxy") and environ[name]:
            found[name.lower()[:-len("_proxy")]] = environ[name]
    return found


_WEB = {}


def web():
    """urllib.request, ssl and http.cookiejar, imported on first use: only
    STS and identity-provider calls need them, and they are a fifth of the
    start-up time (bench/ measures it).  Returns the modules and our two
    handler classes."""
    if not _WEB:
        import http.cookiejar
        import ssl
        import urllib.request

        class ProxyHandler(urllib.request.ProxyHandler):
            """Proxies from the given settings; NO_PROXY and loopback go direct."""

            def proxy_open(self, req, proxy, type):
                host = urllib.parse.urlsplit(req.full_url).hostname or ""
                if host in ("127.0.0.1", "localhost", "::1") or \
                        urllib.request.proxy_bypass_environment(host, self.proxies):
                    return None
                return super().proxy_open(req, proxy, type)

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, req, fp, code, msg, headers, newurl):
                return None  # IdpHttp follows redirects itself, to stop at the redirect URI

        _WEB.update(request=urllib.request, ssl=ssl, cookiejar=http.cookiejar,
                    ProxyHandler=ProxyHandler, NoRedirect=NoRedirect)
    return _WEB


def build_web_opener(environ, ca_bundle, *handlers):
    """An opener with proxies from `environ` (never for loopback) and the CA bundle."""
    lib = web()
    context = lib["ssl"].create_default_context(cafile=ca_bundle or None)
    return lib["request"].build_opener(lib["ProxyHandler"](proxy_settings(environ)),
                                       lib["request"].HTTPSHandler(context=context), *handlers)


def _xml_text(root, name):
    node = root.find(".//{*}" + name)
    return (node.text or "").strip() if node is not None else ""


class STS:
    """STS's query API over urllib: signed calls, retries with jittered
    backoff for throttling, 5xx and connection errors only, typed errors."""

    def __init__(self, environ=None, clock=utcnow, sleep=time.sleep, rand=random.random,
                 timeout=STS_TIMEOUT, attempts=STS_ATTEMPTS, opener=None):
        self.environ = os.environ if environ is None else environ
        self.clock, self.sleep, self.rand = clock, sleep, rand
        self.timeout, self.attempts = timeout, attempts
        self._opener = opener
        self._openers = {}
        self._probe = threading.local()
        self.calls = 0

    @contextlib.contextmanager
    def probing(self):
        """One attempt per call on this thread: a layer known to be failing
        asks once when its pause ends (the pause is its backoff)."""
        self._probe.active = True
        try:
            yield
        finally:
            self._probe.active = False

    def _open(self, profile):
        if self._opener is not None:
            return self._opener
        bundle = self.environ.get("AWS_CA_BUNDLE") or profile.ca_bundle or None
        if bundle not in self._openers:
            self._openers[bundle] = build_web_opener(self.environ, bundle)
        return self._openers[bundle].open

    def call(self, profile, action, params, creds=None):
        """POST one action; return the parsed XML root of a success."""
        url, region = sts_endpoint(profile, self.environ)
        body = urllib.parse.urlencode(
            [("Action", action), ("Version", STS_VERSION)] + sorted(params.items())).encode()

        def retryable(exc):
            return isinstance(exc, STSUnavailable) or exc.aws_code in RETRYABLE_CODES \
                or exc.http_status == 429 or exc.http_status >= 500
        try:
            attempts = 1 if getattr(self._probe, "active", False) else self.attempts
            return with_retries(lambda: self._attempt(profile, url, region, action, body, creds),
                                retryable, attempts, self.sleep, self.rand, "STS " + action)
        except STSError as exc:
            if retryable(exc) and not isinstance(exc, STSUnavailable):
                unavailable = STSUnavailable(str(exc), exc.aws_code, exc.http_status)
                unavailable.retry_after = exc.retry_after
                raise unavailable from None
            raise

    def _attempt(self, profile, url, region, action, body, creds):
        headers = [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")]
        if creds is not None:
            headers = sign_request("POST", url, headers, body, creds.access_key_id,
                                   creds.secret_access_key, region, "sts", self.clock(),
                                   creds.session_token)
        self.calls += 1
        LOG.debug("STS %s -> %s", action, url)
        try:
            request = web()["request"].Request(url, data=body, method="POST", headers=dict(headers))
            with self._open(profile)(request, timeout=self.timeout) as response:
                return self._parse(action, response.status, response.read(STS_MAX_RESPONSE + 1))
        except urllib.error.HTTPError as exc:
            try:
                return self._parse(action, exc.code, exc.read(STS_MAX_RESPONSE + 1))
            except STSError as error:
                error.retry_after = retry_after_of(exc.headers)
                raise
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            reason = getattr(exc, "reason", exc)
            raise STSUnavailable("STS %s at %s unreachable: %s" % (action, url, _plain(reason))) from None

    def _parse(self, action, status, data):
        try:
            if len(data) > STS_MAX_RESPONSE:
                raise ET.ParseError("response too large")
            root = ET.fromstring(data)
        except ET.ParseError:
            raise STSError("STS %s: HTTP %d with an answer that is not STS's XML" % (action, status),
                           "", status) from None
        if status == 200:
            return root
        code = _xml_text(root, "Code") or "HTTP%d" % status
        message = _xml_text(root, "Message")[:300]
        raise STSError("STS %s failed: %s: %s" % (action, code, message), code, status)

    # -- actions -------------------------------------------------------------

    def get_session_token(self, profile, keys, duration, serial="", code=""):
        params = {"DurationSeconds": str(duration)}
        if serial:
            params.update(SerialNumber=serial, TokenCode=code)
        return _credentials_from(self.call(profile, "GetSessionToken", params, keys))

    def assume_role(self, profile, creds, role_arn, session_name, duration,
                    external_id="", serial="", code="", extra=None):
        """`extra`: assume_role_extras' SourceIdentity and tag parameters."""
        params = {"RoleArn": role_arn, "RoleSessionName": session_name,
                  "DurationSeconds": str(duration)}
        if external_id:
            params["ExternalId"] = external_id
        if serial:
            params.update(SerialNumber=serial, TokenCode=code)
        params.update(extra or {})
        return _credentials_from(self.call(profile, "AssumeRole", params, creds), role_arn)

    def get_caller_identity(self, profile, creds):
        root = self.call(profile, "GetCallerIdentity", {}, creds)
        return {name: _xml_text(root, name) for name in ("Arn", "Account", "UserId")}

    def assume_role_with_saml(self, profile, role_arn, principal_arn, assertion, duration):
        params = {"RoleArn": role_arn, "PrincipalArn": principal_arn,
                  "SAMLAssertion": assertion, "DurationSeconds": str(duration)}
        return _credentials_from(self.call(profile, "AssumeRoleWithSAML", params), role_arn)

    def assume_role_with_web_identity(self, profile, role_arn, token, session_name, duration):
        params = {"RoleArn": role_arn, "WebIdentityToken": token,
                  "RoleSessionName": session_name, "DurationSeconds": str(duration)}
        return _credentials_from(self.call(profile, "AssumeRoleWithWebIdentity", params), role_arn)


def assume_role_extras(profile, environ=None):
    """AssumeRole's SourceIdentity, Tags and TransitiveTagKeys for a role
    profile, as STS's query protocol spells lists (Tags.member.N.Key ...).
    `environ` (given for the profile asked for only, as aws-vault does)
    holds AWS_SOURCE_IDENTITY, AWS_SESSION_TAGS, AWS_TRANSITIVE_TAGS, which
    win over the profile's keys; a bad value there is a ConfigError."""
    values = {"source_identity": profile.source_identity, "session_tags": profile.session_tags,
              "transitive_session_tags": profile.transitive_session_tags}
    for variable, key in VAULT_VARIABLES if environ else ():
        if environ.get(variable, "").strip():
            try:
                values[key] = PROFILE_KEYS[key][1](environ[variable].strip())
            except ValueError as exc:
                raise ConfigError("%s %s" % (variable, exc)) from None
    params = {}
    if values["source_identity"]:
        params["SourceIdentity"] = values["source_identity"]
    for number, (key, value) in enumerate(values["session_tags"], 1):
        params["Tags.member.%d.Key" % number] = key
        params["Tags.member.%d.Value" % number] = value
    for number, key in enumerate(values["transitive_session_tags"], 1):
        params["TransitiveTagKeys.member.%d" % number] = key
    return params


def _plain(reason):
    """An exception's text without anything but its class for odd types.
    urllib's ValueError quotes the whole URL, whose query may hold secrets
    (the console's getSigninToken carries the session keys): never shown."""
    if isinstance(reason, ValueError) and not isinstance(reason, OSError):  # ssl's errors are both
        return "not a valid http:// or https:// URL"
    text = getattr(reason, "strerror", None) or str(reason)
    return text[:200] if isinstance(text, str) else type(reason).__name__


def _credentials_from(root, role_arn=""):
    try:
        expiration = parse_time(_xml_text(root, "Expiration"))
    except ValueError:
        raise STSError("STS answered without a valid Expiration", "", 502) from None
    creds = Credentials(_xml_text(root, "AccessKeyId"), _xml_text(root, "SecretAccessKey"),
                        _xml_text(root, "SessionToken"), expiration, role_arn=role_arn,
                        account_id=account_from_arn(_xml_text(root, "Arn") or role_arn))
    if not (creds.access_key_id and creds.secret_access_key and creds.session_token):
        raise STSError("STS answered without complete credentials", "", 502)
    return creds


# ==== Identity providers ===================================================
# SAML and OIDC sign-in through the company's identity provider: Keycloak
# (HTML forms), Okta (its authn API) and, for OIDC, any provider through the
# user's own browser.  Each IdP URL has one IdpClient: its cookies, the
# password given for it (memory only, sent to its own host only), a pending
# MFA step, and the SAML response / id_token while they are valid.

SAML_NS = "{urn:oasis:names:tc:SAML:2.0:assertion}"
SAML_ROLE_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/Role"
SAML_DURATION_ATTRIBUTE = "https://aws.amazon.com/SAML/Attributes/SessionDuration"
IDP_TIMEOUT = 15.0
IDP_MAX_PAGE = 2 << 20
PUSH_WAIT = 60.0  # how long an Okta push may wait for the phone
PUSH_INTERVAL = 2.0
LOGIN_TIMEOUT = 300.0  # a browser sign-in must come back within this
TOKEN_MARGIN = 120  # a SAML response or id_token is reused until this close to expiry
PROVIDERS = ("keycloak", "okta", "onelogin", "azuread", "forgerock", "browser")


class AuthRequired(RunasError):
    """The identity provider needs a username and password (dialog AUTH)."""

    status = 401
    code = "AuthRequired"
    auth_type = "AUTH"

    def __init__(self, message, profile="", username="", extra=None):
        super().__init__(message)
        self.profile, self.username, self.extra = profile, username, extra or {}


class AuthFailed(AuthRequired):
    code = "AuthFailed"


class BrowserLoginRequired(AuthRequired):
    """Sign in through the user's own browser (the page links to it)."""

    code = "BrowserLoginRequired"
    auth_type = "BROWSER"


class RoleNotGranted(RunasError):
    status = 403
    code = "RoleNotGranted"


class IdPError(RunasError):
    """The identity provider answered with something we cannot use."""

    status = 502
    code = "IdPError"


class IdPUnavailable(IdPError):
    status = 503
    code = "IdPUnavailable"


@dataclass(frozen=True)
class SamlAssertion:
    raw: str = field(repr=False)  # base64, as the IdP posted it
    roles: tuple  # ((role ARN, principal ARN), ...)
    duration: int  # SessionDuration, 0 when absent
    expires: object  # datetime or None


def parse_saml_response(raw):
    """Roles, SessionDuration and expiry of a base64 SAML response."""
    try:
        root = ET.fromstring(base64.b64decode(raw, validate=False))
    except (ValueError, ET.ParseError):
        raise IdPError("the identity provider's SAML response is not readable") from None
    roles, duration, ends = [], 0, []
    for attribute in root.iter(SAML_NS + "Attribute"):
        values = [(v.text or "").strip() for v in attribute.iter(SAML_NS + "AttributeValue")]
        if attribute.get("Name") == SAML_ROLE_ATTRIBUTE:
            for value in values:
                pair = sorted(part.strip() for part in value.split(","))
                arns = [p for p in pair if ":role/" in p] + [p for p in pair if ":saml-provider/" in p]
                if len(arns) == 2:
                    roles.append((arns[0], arns[1]))
        elif attribute.get("Name") == SAML_DURATION_ATTRIBUTE and values and values[0].isdigit():
            duration = int(values[0])
    for node in list(root.iter(SAML_NS + "SubjectConfirmationData")) + list(root.iter(SAML_NS + "Conditions")):
        if node.get("NotOnOrAfter"):
            try:
                ends.append(parse_time(node.get("NotOnOrAfter")))
            except ValueError:
                pass
    return SamlAssertion(raw, tuple(roles), duration, min(ends) if ends else None)


def pick_saml_role(assertion, role_arn):
    """The principal for `role_arn`, or an error that lists what was granted."""
    for role, principal in assertion.roles:
        if role == role_arn:
            return principal
    granted = ", ".join(role for role, _ in assertion.roles) or "none"
    raise RoleNotGranted("the SAML response does not grant %s; it grants: %s" % (role_arn, granted))


def jwt_claims(token):
    """A JWT's claims, read without checking its signature (the service that
    takes it checks it: STS, Sign-In over TLS), or {}."""
    try:
        payload = token.split(".")[1]
        doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)).decode("utf-8"))
    except (IndexError, ValueError, UnicodeDecodeError, AttributeError):
        return {}
    return doc if isinstance(doc, dict) else {}


def jwt_expiry(token):
    """`exp` of a JWT, read without checking it (STS checks the token)."""
    try:
        return dt.datetime.fromtimestamp(int(jwt_claims(token)["exp"]), UTC)
    except (KeyError, ValueError, TypeError, OverflowError):
        return None


def pkce_pair():
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")
    return verifier, challenge


def authorize_request(client, profile, issuer, client_id, redirect_uri, **extra):
    """An OIDC authorize URL with PKCE and a fresh state: (url, state, verifier)."""
    verifier, challenge = pkce_pair()
    state = secrets.token_urlsafe(24)
    params = {"client_id": client_id, "redirect_uri": redirect_uri, "response_type": "code",
              "scope": client.scope(issuer, profile), "state": state, "code_challenge": challenge,
              "code_challenge_method": "S256", **extra}
    return client.oidc_endpoints(issuer)["authorization_endpoint"] + "?" + urllib.parse.urlencode(params), \
        state, verifier


class _Form:
    def __init__(self, attrs, base_url):
        self.id = attrs.get("id") or attrs.get("name") or ""
        self.action = urllib.parse.urljoin(base_url, html.unescape(attrs.get("action") or base_url))
        self.method = (attrs.get("method") or "GET").upper()
        self.fields, self.types = {}, {}


class _FormParser(html.parser.HTMLParser):
    def __init__(self, base_url):
        super().__init__(convert_charrefs=True)
        self.base_url, self.forms, self.current = base_url, [], None
        self.text = []

    def handle_starttag(self, tag, attrs):
        attrs = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.current = _Form(attrs, self.base_url)
            self.forms.append(self.current)
        elif tag == "input" and self.current is not None and attrs.get("name"):
            self.current.fields[attrs["name"]] = attrs.get("value", "")
            self.current.types[attrs["name"]] = attrs.get("type", "text").lower()

    def handle_endtag(self, tag):
        if tag == "form":
            self.current = None

    def handle_data(self, data):
        if data.strip():
            self.text.append(data.strip())


def parse_forms(text, base_url):
    parser = _FormParser(base_url)
    try:
        parser.feed(text)
        parser.close()
    except (AssertionError, ValueError):  # hopeless markup
        pass
    return parser.forms


class _Page:
    """One answer from the IdP: status, final URL, body, redirect target."""

    __slots__ = ("status", "url", "body", "location", "headers")

    def __init__(self, status, url, body, location="", headers=None):
        self.status, self.url, self.body, self.location = status, url, body, location
        self.headers = headers or {}

    def json(self):
        try:
            return json.loads(self.body)
        except ValueError:
            raise IdPError("the identity provider answered HTTP %d without JSON" % self.status) from None


# What a redirect to another origin may carry of a request's own headers, as
# browsers do: never Authorization, a bearer, Basic credentials or
# ForgeRock's X-OpenAM-Username/-Password.
REDIRECT_SAFE_HEADERS = frozenset({"accept", "accept-language", "accept-api-version", "content-type"})


class IdpHttp:
    """HTTP for one identity provider: a cookie jar for the run, redirects
    followed by hand (stopping at the OIDC redirect URI), timeouts, and a
    password never posted to any host but the IdP's."""

    def __init__(self, idp_url, environ, timeout=IDP_TIMEOUT, ca_bundle=None):
        self.origin = _origin_of(idp_url)
        self.trusted = {self.origin}  # where the password may go: the IdP's own hosts
        self.timeout = timeout
        lib = web()
        self.jar = lib["cookiejar"].CookieJar()
        self.opener = build_web_opener(environ, environ.get("AWS_CA_BUNDLE") or ca_bundle,
                                       lib["request"].HTTPCookieProcessor(self.jar), lib["NoRedirect"]())

    def send(self, method, url, form=None, json_body=None, headers=None, stop_at=None, secret=False):
        """One request, then redirects (GET) until a page or `stop_at`."""
        if secret and _origin_of(url) not in self.trusted:
            raise IdPError("refusing to send the password to %s, which is not the identity provider %s"
                           % (_origin_of(url), self.origin))
        data = None
        headers = dict(headers or {})
        if form is not None:
            data = urllib.parse.urlencode(form).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json_body is not None:
            data = json.dumps(json_body).encode()
            headers.update({"Content-Type": "application/json", "Accept": "application/json"})
        for _ in range(12):
            page = self._once(method, url, data, headers)
            if not page.location:
                return page
            if stop_at and page.location.startswith(stop_at):
                return page
            target = urllib.parse.urljoin(url, page.location)
            if _origin_of(target) != _origin_of(url):  # another origin, or https to http: no secrets go along
                headers = {k: v for k, v in headers.items() if k.lower() in REDIRECT_SAFE_HEADERS}
            method, url, data = "GET", target, None
            headers.pop("Content-Type", None)
        raise IdPError("the identity provider redirected too many times")

    def trust(self, origin):
        """Another host of the same IdP (its API host, its login host)."""
        self.trusted.add(origin)

    def _once(self, method, url, data, headers):
        LOG.debug("IdP %s %s", method, _printable(url.partition("?")[0]))
        try:
            request = web()["request"].Request(url, data=data, method=method, headers=headers)
            response = self.opener.open(request, timeout=self.timeout)
        except urllib.error.HTTPError as exc:
            response = exc
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            raise IdPUnavailable("identity provider %s unreachable: %s"
                                 % (self.origin, _plain(getattr(exc, "reason", exc)))) from None
        with response:
            body = response.read(IDP_MAX_PAGE).decode("utf-8", "replace")
            status = getattr(response, "status", None) or response.code
            location = response.headers.get("Location", "") if 300 <= status < 400 else ""
            return _Page(status, response.geturl() if hasattr(response, "geturl") else url, body,
                         location, response.headers)


class IdpClient:
    """One identity provider URL and what the run remembers of it."""

    def __init__(self, url, provider, http):
        self.url, self.provider, self.http = url, provider, http
        self.username = self.password = None
        self.pending = None  # a sign-in step waiting for an MFA code
        self.assertion = None
        self.tokens = {}  # client_id -> id_token
        self.refresh_tokens = {}  # client_id -> refresh token (memory only): silent renewal
        self.extra = {}  # what a provider keeps for the run (OneLogin's API token)
        self.endpoints = None
        self.lock = threading.Lock()
        self.push_allowed = False  # set by Federation for a sign-in the user started (page, API, terminal)
        self.on_push = None  # Federation's report of a push's state: on_push(profile, state)

    def report_push(self, profile, state):
        if self.on_push is not None:
            self.on_push(profile, state)

    def oidc_endpoints(self, issuer):
        if self.endpoints is None:
            issuer = _issuer_of(self.provider, issuer)
            page = self.http.send("GET", issuer + "/.well-known/openid-configuration")
            doc = page.json() if page.status == 200 else {}
            if not doc.get("authorization_endpoint") or not doc.get("token_endpoint"):
                raise IdPError("%s has no OpenID configuration (HTTP %d)" % (issuer, page.status))
            self.endpoints = doc
        return self.endpoints

    def exchange_code(self, issuer, client_id, redirect_uri, code, verifier):
        page = self.http.send("POST", self.oidc_endpoints(issuer)["token_endpoint"], form={
            "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri,
            "client_id": client_id, "code_verifier": verifier})
        doc = page.json()
        if page.status != 200 or not doc.get("id_token"):
            raise IdPError("the token endpoint refused the code: %s"
                           % _printable(str(doc.get("error_description") or doc.get("error") or page.status)))
        self.refresh_tokens[client_id] = doc.get("refresh_token") or None
        return doc["id_token"]

    def refresh_id_token(self, issuer, client_id):
        """A new id_token with the refresh_token grant, or None when there
        is no refresh token or the IdP refused it (then it is forgotten: the
        next renewal signs in).  An IdP that cannot be reached raises."""
        refresh = self.refresh_tokens.get(client_id)
        if not refresh:
            return None
        page = self.http.send("POST", self.oidc_endpoints(issuer)["token_endpoint"], form={
            "grant_type": "refresh_token", "refresh_token": refresh, "client_id": client_id})
        doc = _json_or_empty(page)
        if page.status != 200 or not doc.get("id_token"):
            self.refresh_tokens.pop(client_id, None)
            LOG.warning("the identity provider %s refused the refresh token (%s): the next renewal needs a "
                        "sign-in", self.http.origin, _printable(str(doc.get("error") or page.status), 60))
            return None
        self.refresh_tokens[client_id] = doc.get("refresh_token") or refresh  # rotated, or kept
        LOG.info("renewed the id_token for %s with the refresh token", self.http.origin)
        return doc["id_token"]

    def scope(self, issuer, profile):
        """openid, offline_access where the IdP's discovery document offers
        it (refresh tokens, so renewals need no sign-in), web_identity_scopes."""
        scopes = ["openid"]
        if "offline_access" in (self.oidc_endpoints(issuer).get("scopes_supported") or ()):
            scopes.append("offline_access")
        for extra in re.split(r"[\s,]+", profile.web_identity_scopes):
            if extra and extra not in scopes:
                scopes.append(extra)
        return " ".join(scopes)


def pick_factor(mfa_type, factors, provider):
    """The mfa_type table (README), the same for every provider.  `factors`
    are (kind "code" or "push", factor, marked default) in the IdP's order;
    one factor may be offered as both.  auto: the IdP's default factor, else
    its first; code or push: the first of that kind; none: no MFA at all."""
    if mfa_type == "none":
        raise IdPError("%s asks for MFA, but mfa_type = none for this profile: set mfa_type to auto, code "
                       "or push" % provider)
    if not factors:
        raise IdPError("%s offers no MFA factor runas-meta can use for this user (a code or a push)" % provider)
    if mfa_type in ("code", "push"):
        found = next((f for f in factors if f[0] == mfa_type), None)
        if found is None:
            raise IdPError("%s offers no %s factor for this user (it offers: %s); set mfa_type = auto"
                           % (provider, mfa_type, ", ".join(sorted({f[0] for f in factors}))))
        return found[0], found[1]
    chosen = next((f for f in factors if f[2]), factors[0])
    return chosen[0], chosen[1]


class PushIdP:
    """A provider whose MFA may be a push on the phone: its polling's sleep,
    clock and bound are parameters.  `title` names it in messages."""

    title = ""

    def __init__(self, sleep=time.sleep, clock=time.monotonic, push_wait=PUSH_WAIT):
        self.sleep, self.clock, self.push_wait = sleep, clock, push_wait

    def may_push(self, client, profile):
        """A push goes to the phone only for a sign-in the user started: a
        credential request or a background renewal that would need one
        answers at once (the push-fatigue pattern number matching exists
        to stop), and the page asks the user to sign in."""
        if not client.push_allowed:
            raise AuthRequired("a %s push to your phone is needed: sign in on the page (a credential request "
                               "never sends a push)" % self.title, profile.name, client.username or "")

    def wait_for_push(self, client, profile, poll, interval=PUSH_INTERVAL, number=lambda: None, cancel=None):
        """Poll `poll()` -> (done, result, refusal) until approved, refused or
        push_wait seconds; a refusal is the end of a sentence ("was
        rejected on the phone").  `number()` is the number to choose on the
        phone (number matching) once the IdP has sent it; `cancel()` takes
        the push back at the IdP when runas-meta stops waiting."""
        shown = ()  # nothing reported yet (a number is a string or None)
        deadline = self.clock() + self.push_wait
        while True:
            done, result, refusal = poll()
            if number() != shown:
                shown = number()
                self._waiting(client, profile, shown)
            if done:
                client.report_push(profile, {"state": "approved", "provider": self.title})
                return result
            if refusal:
                self._ended(client, profile, "rejected", "the %s push %s" % (self.title, refusal))
            if self.clock() >= deadline:
                if cancel is not None:  # a late tap on the phone must sign nobody in
                    cancel()
                self._ended(client, profile, "timed out", "the %s push was not approved within %d seconds"
                            % (self.title, self.push_wait))
            self.sleep(interval)

    def _waiting(self, client, profile, number):
        LOG.info("%s push sent for profile %r: approve it on your phone%s", self.title, profile.name,
                 " and choose %s" % number if number else "")
        client.report_push(profile, {"state": "waiting", "provider": self.title, "number": number,
                                     "message": "approve the %s push on your phone%s" % (
                                         self.title, ": choose %s" % number if number else "")})

    def _ended(self, client, profile, state, message):
        client.report_push(profile, {"state": state, "provider": self.title, "message": message})
        raise AuthFailed(message, profile.name, client.username or "")


def _issuer_of(provider, url):
    """The OIDC issuer a provider derives from its URL (Azure AD's tenant,
    ForgeRock's realms), else the URL without its query."""
    derive = getattr(provider, "issuer", None)
    return derive(url) if derive else url.partition("?")[0].rstrip("/")


def _code_from_redirect(page, state):
    query = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(page.location).query))
    if query.get("error"):
        return None, query["error"]
    if not hmac.compare_digest(query.get("state", ""), state):
        raise IdPError("the identity provider answered with the wrong state; sign-in refused")
    return query.get("code"), None


class Keycloak:
    """Keycloak's HTML sign-in: the login form (id kc-form-login: username,
    password), an OTP page (otp, or totp on older versions), then the SAML
    auto-post form or the redirect to the OIDC redirect URI."""

    name = "keycloak"

    def saml(self, client, profile, code):
        page = client.pending or client.http.send("GET", client.url)
        page = self._drive(client, profile, page, code, stop_at=None)
        return _saml_field(page)

    def oidc(self, client, profile, code):
        issuer, client_id, redirect_uri = _oidc_settings(profile)
        if client.pending is not None:
            page, state, verifier = client.pending
        else:
            url, state, verifier = authorize_request(client, profile, issuer, client_id, redirect_uri)
            page = client.http.send("GET", url, stop_at=redirect_uri)
        try:
            page = self._drive(client, profile, page, code, stop_at=redirect_uri)
        except MFARequired:
            client.pending = (client.pending, state, verifier)
            raise
        auth_code, error = _code_from_redirect(page, state)
        if not auth_code:
            raise IdPError("the identity provider refused the sign-in: %s" % _printable(error or "no code"))
        return client.exchange_code(issuer, client_id, redirect_uri, auth_code, verifier)

    def _drive(self, client, profile, page, code, stop_at):
        client.pending = None
        for _ in range(8):
            if page.location and stop_at and page.location.startswith(stop_at):
                return page
            forms = parse_forms(page.body, page.url)
            if any("SAMLResponse" in f.fields for f in forms):
                return page
            login = _form_with(forms, "password") or next((f for f in forms if f.id == "kc-form-login"), None)
            otp = _form_with(forms, "otp") or _form_with(forms, "totp")
            if login is not None:
                username, password = _credentials_for(client, profile)
                fields = dict(login.fields, username=username, password=password)
                after = client.http.send("POST", login.action, form=fields, stop_at=stop_at, secret=True)
                if _form_with(parse_forms(after.body, after.url), "password") is not None:
                    client.password = None
                    raise AuthFailed("the identity provider refused the username or password%s"
                                     % _feedback(after.body), profile.name, username)
                page = after
            elif otp is not None:
                pick_factor(profile.mfa_type, [("code", otp, True)], "Keycloak")  # none, push: say why
                if not code:
                    client.pending = page
                    raise MFARequired("the identity provider asks for a one-time code", profile.name, "idp")
                name = "otp" if "otp" in otp.fields else "totp"
                after = client.http.send("POST", otp.action, form=dict(otp.fields, **{name: code}),
                                         stop_at=stop_at)
                if _form_with(parse_forms(after.body, after.url), name) is not None:
                    client.pending = after
                    raise MFAInvalid("the identity provider did not accept the code", profile.name, "idp")
                page, code = after, None
            else:
                raise IdPError("unexpected page from the identity provider (HTTP %d at %s)"
                               % (page.status, _printable(page.url.partition("?")[0])))
        raise IdPError("the identity provider's sign-in did not finish")


class Okta(PushIdP):
    """Okta's authn API: password, then a TOTP code or a push approved on
    the phone (polled, bounded), then the session token opens the SAML app
    link or the OIDC authorize endpoint."""

    name, title = "okta", "Okta"

    def saml(self, client, profile, code):
        page = client.http.send("GET", client.url)  # an Okta session cookie may be enough
        if not _saml_in(page):
            token = self._session_token(client, profile, code)
            sep = "&" if "?" in client.url else "?"
            page = client.http.send("GET", client.url + sep + urllib.parse.urlencode({"sessionToken": token}))
        return _saml_field(page)

    def oidc(self, client, profile, code):
        issuer, client_id, redirect_uri = _oidc_settings(profile)
        reason = "no redirect"
        for attempt in ("cookie", "token"):
            extra = {"sessionToken": self._session_token(client, profile, code)} if attempt == "token" else {}
            url, state, verifier = authorize_request(client, profile, issuer, client_id, redirect_uri,
                                                     prompt="none", **extra)
            page = client.http.send("GET", url, stop_at=redirect_uri)
            if page.location.startswith(redirect_uri):
                auth_code, error = _code_from_redirect(page, state)
                if auth_code:
                    return client.exchange_code(issuer, client_id, redirect_uri, auth_code, verifier)
                reason = _printable(error or "no code")
            else:
                reason = "HTTP %d instead of a redirect to the redirect URI" % page.status
        raise IdPError("Okta did not issue an authorization code: %s" % reason)

    def _session_token(self, client, profile, code):
        pending, client.pending = client.pending, None
        if pending is not None and code:
            doc = self._verify(client, profile, pending, code)
        else:
            username, password = _credentials_for(client, profile)
            page = client.http.send("POST", _origin_of(client.url) + "/api/v1/authn",
                                    json_body={"username": username, "password": password}, secret=True)
            doc = page.json()
            if page.status == 401 or doc.get("errorCode") == "E0000004":
                client.password = None
                raise AuthFailed("Okta refused the username or password", profile.name, username)
            if page.status >= 400:
                raise IdPError("Okta authn failed: %s" % _printable(str(doc.get("errorSummary") or page.status)))
        if doc.get("status") == "MFA_REQUIRED":
            doc = self._factor(client, profile, doc, code)
        if doc.get("status") != "SUCCESS" or not doc.get("sessionToken"):
            raise IdPError("Okta sign-in ended in state %s" % _printable(str(doc.get("status"))))
        return doc["sessionToken"]

    def _factor(self, client, profile, doc, code):
        factors = doc.get("_embedded", {}).get("factors", [])
        totp = [f for f in factors if f.get("factorType", "").startswith("token")]
        push = [f for f in factors if f.get("factorType") == "push"]
        mfa_type = profile.mfa_type
        if mfa_type != "auto":  # Okta marks no default: auto is push when offered and no code was typed
            kind, _ = pick_factor(mfa_type, [("push", f, False) for f in push] + [("code", f, False) for f in totp],
                                  "Okta")
            mfa_type = kind
        if push and (mfa_type == "push" or (mfa_type == "auto" and not code)):
            self.may_push(client, profile)
            return self._push(client, profile, doc, push[0])
        if not totp:
            raise IdPError("no supported Okta factor (TOTP or push) for this user")
        state = {"stateToken": doc.get("stateToken"), "verify": totp[0]["_links"]["verify"]["href"]}
        if not code:
            client.pending = state
            raise MFARequired("Okta asks for a one-time code", profile.name, "idp")
        return self._verify(client, profile, state, code)

    def _verify(self, client, profile, state, code):
        page = client.http.send("POST", state["verify"], json_body={"stateToken": state["stateToken"],
                                                                   "passCode": code}, secret=True)
        doc = page.json()
        if page.status == 403 or doc.get("errorCode") == "E0000068":
            client.pending = state
            raise MFAInvalid("Okta did not accept the code", profile.name, "idp")
        return doc

    def _push(self, client, profile, doc, factor):
        """Okta Verify: poll the factor; with number matching the challenge
        names the number to choose (correctAnswer); giving up cancels the
        transaction, so a late tap signs nobody in."""
        url, body = [factor["_links"]["verify"]["href"]], {"stateToken": doc.get("stateToken")}
        seen = {"number": None, "cancel": (doc.get("_links") or {}).get("cancel", {}).get("href")}

        def poll():
            answer = client.http.send("POST", url[0], json_body=body).json()
            links = answer.get("_links") or {}
            seen["cancel"] = (links.get("cancel") or {}).get("href") or seen["cancel"]
            challenge = (((answer.get("_embedded") or {}).get("factor") or {}).get("_embedded") or {}).get("challenge")
            if isinstance(challenge, dict) and challenge.get("correctAnswer") is not None:
                seen["number"] = _printable(str(challenge["correctAnswer"]), 8)
            result = answer.get("factorResult")
            if answer.get("status") == "SUCCESS":
                return True, answer, None
            if result in OKTA_REFUSALS:
                return False, None, OKTA_REFUSALS[result]
            url[0] = (links.get("next") or {}).get("href", url[0])
            return False, None, None

        def cancel():
            if seen["cancel"]:
                client.http.send("POST", seen["cancel"], json_body=body)
                LOG.info("cancelled the Okta push for profile %r", profile.name)
        return self.wait_for_push(client, profile, poll, number=lambda: seen["number"], cancel=cancel)


# -- Okta Identity Engine: OIDC, then the AWS app's SAML through a web SSO token --
# OIE orgs drop the authn API's sessionToken for apps, and phishing-resistant
# factors work only in a browser.  As okta-aws-cli's `web` mode: the user
# signs in to an OIDC native app (the device code, or the browser with PKCE),
# its tokens are exchanged (RFC 8693) for a web SSO token of the AWS
# Account Federation app, and POST /login/token/sso answers that app's SAML
# response.  Renewals repeat the exchange while the Okta tokens (or a
# refresh token) last.

OKTA_SCOPES = "openid okta.apps.sso"
OKTA_DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
OKTA_EXCHANGE = {"grant_type": "urn:ietf:params:oauth:grant-type:token-exchange",
                 "actor_token_type": "urn:ietf:params:oauth:token-type:access_token",
                 "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
                 "requested_token_type": "urn:okta:oauth:token-type:web_sso_token"}
OKTA_APP_ID = re.compile(r"/(?:home|app)/[\w.-]+/(0oa\w+)")


class OktaSignInRequired(AuthRequired):
    """The OIDC app's tokens are gone: the dialog with a device code and a browser sign-in."""

    code = "OktaSignInRequired"
    auth_type = "SSO"


def okta_settings(profile):
    """(org origin, OIDC app client id, AWS Federation app id, scopes)."""
    found = OKTA_APP_ID.search(urllib.parse.urlsplit(profile.saml_auth_url).path)
    app = profile.okta_aws_app_id or (found.group(1) if found else "")
    if not app:
        raise ConfigError("profile %r: okta_oidc_client_id needs the AWS Account Federation app's id: give "
                          "okta_aws_app_id, or a saml_auth_url of the form https://ORG/home/amazon_aws/APP_ID/272"
                          % profile.name)
    return _origin_of(profile.saml_auth_url), profile.okta_oidc_client_id, app, profile.okta_oidc_scopes or OKTA_SCOPES


def okta_setup_error(profile, doc, step):
    """Okta's refusal of a missing admin set-up, as one configuration error
    that says what the admin must enable."""
    _, client_id, app, _ = okta_settings(profile)
    error, description = str(doc.get("error") or doc.get("errorCode") or "error"), str(
        doc.get("error_description") or doc.get("errorSummary") or "")
    likely = {"unauthorized_client": "the grant type of this step (%s) is not enabled on the OIDC app" % step,
              "invalid_scope": "the OIDC app is not granted the okta.apps.sso scope",
              "invalid_client": "Okta does not know OIDC app %s" % client_id,
              "invalid_target": "the OIDC app is not the AWS app's Allowed Web SSO Client",
              "invalid_grant": "the OIDC app is not the AWS app's Allowed Web SSO Client, or the sign-in ended",
              }.get(error, "Okta refused the %s" % step)
    return ConfigError(
        "Okta Identity Engine sign-in for profile %r failed at the %s (%s: %s): %s. The Okta admin must enable, "
        "on OIDC native app %s, the grant types Authorization Code, Device Authorization and Token Exchange and "
        "the okta.apps.sso scope, and set %s as the Allowed Web SSO Client in the Sign On settings of AWS Account "
        "Federation app %s" % (profile.name, step, _printable(error, 60), _message(description, 200), likely,
                               client_id, client_id, app))


class OktaIdentityEngine:
    """The OIDC app's tokens per (org, client id), kept in memory; the
    device code polled in a thread; PKCE sign-ins by state."""

    def __init__(self, clock=utcnow, monotonic=time.monotonic, sleep=time.sleep, spawn=None):
        self.clock, self.monotonic, self.sleep = clock, monotonic, sleep
        self.spawn = spawn or _spawn_daemon
        self.tokens, self.devices, self.logins = {}, {}, {}
        self._lock = threading.Lock()

    @staticmethod
    def key(profile):
        origin, client_id, _, _ = okta_settings(profile)
        return origin, client_id

    def saml(self, client, profile):
        """The AWS app's SAML response: tokens, the exchange, /login/token/sso."""
        origin, client_id, app, _ = okta_settings(profile)
        tokens = self._valid(client, profile)
        page = client.http.send("POST", origin + "/oauth2/v1/token", form=dict(
            OKTA_EXCHANGE, client_id=client_id, actor_token=tokens["access_token"], subject_token=tokens["id_token"],
            audience="urn:okta:apps:%s" % app), headers={"Accept": "application/json"})
        doc = _json_or_empty(page)
        if page.status != 200 or not doc.get("access_token"):
            if doc.get("error") == "invalid_grant" or page.status == 401:
                with self._lock:
                    self.tokens.pop(self.key(profile), None)  # the Okta session ended: sign in again
            raise okta_setup_error(profile, doc, "token exchange")
        page = client.http.send("POST", origin + "/login/token/sso", form={"token": doc["access_token"]},
                                headers={"Accept": "text/html"})
        return _saml_field(page)

    def _valid(self, client, profile):
        with self._lock:
            tokens = self.tokens.get(self.key(profile))
        if tokens and (tokens["expires"] - self.clock()).total_seconds() > TOKEN_MARGIN:
            return tokens
        if tokens and tokens.get("refresh_token"):
            origin, client_id, _, scopes = okta_settings(profile)
            page = client.http.send("POST", origin + "/oauth2/v1/token", form={
                "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": client_id,
                "scope": scopes}, headers={"Accept": "application/json"})
            if page.status == 200:
                return self.store(profile, _json_or_empty(page))
            LOG.info("Okta refused the refresh token of profile %r: a sign-in is needed", profile.name)
        raise self.required(profile, "sign in to Okta (%s) for profile %r" % (okta_settings(profile)[0], profile.name))

    def store(self, profile, doc):
        _need(doc, "access_token", "id_token", "expires_in", what="Okta's token endpoint")
        tokens = {"access_token": doc["access_token"], "id_token": doc["id_token"],
                  "refresh_token": doc.get("refresh_token") or "",
                  "expires": self.clock() + dt.timedelta(seconds=int(doc["expires_in"]))}
        with self._lock:
            self.tokens[self.key(profile)] = tokens
        return tokens

    def renews_silently(self, profile):
        with self._lock:
            tokens = self.tokens.get(self.key(profile))
        return bool(tokens and (tokens.get("refresh_token") or tokens["expires"] > self.clock()))

    def required(self, profile, message):
        query = urllib.parse.urlencode({"profile": profile.name})
        return OktaSignInRequired(message, profile.name, extra={
            "login_url": "/okta/login?" + query, "device_url": "/okta/device", "profile": profile.name,
            "provider": "Okta"})

    # -- the device code ----------------------------------------------------------

    def start_device(self, client, profile, name, on_success=None):
        """Start (or show the running) device sign-in; a thread polls."""
        key, (origin, client_id, _, scopes) = self.key(profile), okta_settings(profile)
        with self._lock:
            running = self.devices.get(key)
            if running and running["status"] == "pending" and self.monotonic() < running["deadline"]:
                return self.device_view(profile)
        page = client.http.send("POST", origin + "/oauth2/v1/device/authorize", form={
            "client_id": client_id, "scope": scopes}, headers={"Accept": "application/json"})
        doc = _json_or_empty(page)
        if page.status != 200 or not doc.get("device_code"):
            raise okta_setup_error(profile, doc, "device authorization")
        device = {"status": "pending", "code": doc["device_code"], "user_code": doc.get("user_code", ""),
                  "verification_uri": doc.get("verification_uri", ""),
                  "verification_uri_complete": doc.get("verification_uri_complete") or doc.get("verification_uri", ""),
                  "interval": max(1, int(doc.get("interval") or 5)),
                  "deadline": self.monotonic() + min(int(doc.get("expires_in") or 600), LOGIN_TIMEOUT * 2),
                  "message": ""}
        with self._lock:
            self.devices[key] = device
        self.spawn(lambda: self._poll(client, profile, name, device, on_success))
        return self.device_view(profile)

    def _poll(self, client, profile, name, device, on_success):
        origin, client_id, _, _ = okta_settings(profile)
        while device["status"] == "pending":
            if self.monotonic() >= device["deadline"]:
                device.update(status="expired", message="the device code expired before it was approved")
                return
            self.sleep(device["interval"])
            try:
                page = client.http.send("POST", origin + "/oauth2/v1/token", form={
                    "client_id": client_id, "device_code": device["code"], "grant_type": OKTA_DEVICE_GRANT},
                    headers={"Accept": "application/json"})
            except RunasError as exc:
                LOG.warning("polling Okta's device sign-in: %s", exc)
                continue
            doc = _json_or_empty(page)
            if page.status == 200:
                self.store(profile, doc)
                device.update(status="done")
                if on_success:
                    on_success(name)
                return
            error = doc.get("error")
            if error == "slow_down":
                device["interval"] += 5
            elif error != "authorization_pending":
                device.update(status="failed", message=str(
                    okta_setup_error(profile, doc, "device sign-in") if error in (
                        "unauthorized_client", "invalid_scope", "invalid_client") else
                    "Okta ended the device sign-in: %s" % _message(str(doc.get("error_description") or error), 200)))
                return

    def device_view(self, profile):
        with self._lock:
            device = self.devices.get(self.key(profile))
        if device is None:
            return {"status": "none"}
        return {name: device[name] for name in ("status", "user_code", "verification_uri",
                                                 "verification_uri_complete", "message")}

    # -- the browser, with PKCE ---------------------------------------------------

    def start_pkce(self, profile, name, redirect_uri):
        origin, client_id, _, scopes = okta_settings(profile)
        verifier, challenge = pkce_pair()
        state, now = secrets.token_urlsafe(32), self.monotonic()
        with self._lock:
            self.logins = {k: v for k, v in self.logins.items() if now - v["at"] < LOGIN_TIMEOUT}
            self.logins[state] = {"profile": profile, "name": name, "verifier": verifier, "at": now,
                                  "redirect_uri": redirect_uri}
        return origin + "/oauth2/v1/authorize?" + urllib.parse.urlencode([
            ("client_id", client_id), ("response_type", "code"), ("scope", scopes), ("redirect_uri", redirect_uri),
            ("state", state), ("code_challenge", challenge), ("code_challenge_method", "S256")],
            quote_via=urllib.parse.quote)

    def finish_pkce(self, client_of, state, code):
        with self._lock:
            login = self.logins.pop(state, None) if state else None
        if login is None or self.monotonic() - login["at"] >= LOGIN_TIMEOUT:
            raise HTTPError(400, "unknown, used or expired sign-in state: start the sign-in again from the page")
        profile = login["profile"]
        origin, client_id, _, _ = okta_settings(profile)
        page = client_of(profile).http.send("POST", origin + "/oauth2/v1/token", form={
            "grant_type": "authorization_code", "code": code, "redirect_uri": login["redirect_uri"],
            "client_id": client_id, "code_verifier": login["verifier"]}, headers={"Accept": "application/json"})
        doc = _json_or_empty(page)
        if page.status != 200:
            raise okta_setup_error(profile, doc, "code exchange")
        self.store(profile, doc)
        return login["name"]


OKTA_REFUSALS = {"REJECTED": "was rejected on the phone", "TIMEOUT": "timed out at Okta",
                 "CANCELLED": "was cancelled"}


def _path_and_query(url):
    parts = urllib.parse.urlsplit(url)
    return parts.path + ("?" + parts.query if parts.query else "")


ONELOGIN_PUSH = ("OneLogin", "OneLogin Voice")
ONELOGIN_CODE = ("OneLogin", "Google Authenticator", "SMS", "OneLogin Email", "Authenticator")


class OneLogin(PushIdP):
    """OneLogin's APIs, as aws-runas 3.8 drives them (research §1): an API
    access token from the URL's `token` (client id and secret of an API
    credential), SAML from the v2 saml_assertion API (`app_id` in the URL),
    OIDC through the v1 login API, the browser-session exchange and
    /oidc/2/auth.  MFA: the user's devices, a code or a push.  Unlike
    aws-runas: no network call before it is needed, a secret may contain ':'
    and a '+' in the token survives, push polling is bounded."""

    name, title = "onelogin", "OneLogin"

    @staticmethod
    def settings(url):
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query.replace("+", "%2B")))  # base64's + is not a space
        token = query.get("token", "")
        try:
            pair = base64.b64decode(token + "=" * (-len(token) % 4), validate=True).decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            pair = ""
        client_id, colon, secret = pair.partition(":")  # the secret may itself hold ':'
        if not (client_id and colon and secret):
            raise ConfigError("the OneLogin URL needs token=<base64 of client_id:client_secret of an API "
                              "credential> in its query")
        host = parts.hostname or ""
        api = ("%s://api.%s.onelogin.com" % (parts.scheme, query.get("region") or "us")
               if host.endswith(".onelogin.com") else "%s://%s" % (parts.scheme, parts.netloc))
        return {"client_id": client_id, "secret": secret, "app_id": query.get("app_id", ""), "api": api,
                "subdomain": host.split(".")[0], "portal": "%s://%s" % (parts.scheme, parts.netloc)}

    def trusted_origins(self, url):
        return {self.settings(url)["api"]}

    def _api_token(self, client, s):
        cached = client.extra.get("api_token")
        if cached and cached[1] > self.clock():
            return cached[0]
        basic = base64.b64encode(("%s:%s" % (s["client_id"], s["secret"])).encode()).decode()
        page = client.http.send("POST", s["api"] + "/auth/oauth2/v2/token", json_body={"grant_type": "client_credentials"},
                                headers={"Authorization": "Basic " + basic}, secret=True)
        doc = _json_or_empty(page)
        if page.status != 200 or not doc.get("access_token"):
            message = (doc.get("status") or {}).get("message") if isinstance(doc.get("status"), dict) else None
            raise IdPError("OneLogin refused the API credential in the URL's token (HTTP %d%s)"
                           % (page.status, message and ": " + _message(str(message), 100) or ""))
        value = "%s %s" % (doc.get("token_type") or "bearer", doc["access_token"])
        client.extra["api_token"] = (value, self.clock() + max(60, int(doc.get("expires_in") or 3600) - 60))
        return value

    def _api(self, client, s, method, path, body):
        return client.http.send(method, s["api"] + path, json_body=body, secret=True,
                                headers={"Authorization": self._api_token(client, s)})

    def saml(self, client, profile, code):
        s = self.settings(client.url)
        if not s["app_id"]:
            raise ConfigError("the OneLogin SAML URL needs app_id=<the app's id from the admin console>")
        pending, client.pending = client.pending, None
        if pending is not None and code:
            return self._code(client, profile, s, pending, code)
        username, password = _credentials_for(client, profile)
        page = self._api(client, s, "POST", "/api/2/saml_assertion", {
            "username_or_email": username, "password": password, "subdomain": s["subdomain"], "app_id": s["app_id"]})
        doc = self._answer(client, profile, page, v2=True)
        if doc.get("data"):
            return doc["data"]
        if doc.get("devices"):
            return self._mfa(client, profile, s, doc, code, v2=True)
        raise IdPError("OneLogin answered without a SAML assertion or MFA devices")

    def _answer(self, client, profile, page, v2):
        doc = page.json()
        if page.status == 200:
            return doc
        status = doc.get("status") if isinstance(doc.get("status"), dict) else {}
        message = _message(str(doc.get("message") or status.get("message") or "HTTP %d" % page.status), 200)
        if page.status in (400, 401, 403) and re.search(r"credential|password|authentication fail", message, re.I):
            client.password = None
            raise AuthFailed("OneLogin refused the username or password (%s)" % message, profile.name,
                             client.username or "")
        raise IdPError("OneLogin: %s" % message)

    def _mfa(self, client, profile, s, doc, code, v2):
        user = (doc.get("user") or {}).get("id") if isinstance(doc.get("user"), dict) else None
        if user is None or not doc.get("state_token") or not doc.get("callback_url"):
            raise IdPError("OneLogin's MFA answer is incomplete")
        page = client.http.send("GET", s["api"] + "/api/2/mfa/users/%s/devices" % urllib.parse.quote(str(user)),
                                headers={"Authorization": self._api_token(client, s)})
        devices = page.json() if page.status == 200 else None
        factors = []
        for device in devices if isinstance(devices, list) else ():
            name = device.get("auth_factor_name") if isinstance(device, dict) else None
            default = bool(device.get("default")) if name else False
            factors += [(kind, device, default) for kind, names in (("push", ONELOGIN_PUSH), ("code", ONELOGIN_CODE))
                        if name in names]
        kind, device = pick_factor(profile.mfa_type, factors, self.title)
        state = {"url": s["api"] + _path_and_query(doc["callback_url"]), "device_id": str(device.get("device_id")),
                 "state_token": doc["state_token"], "v2": v2, "app_id": s["app_id"] if v2 else "",
                 "label": str(device.get("user_display_name") or device.get("auth_factor_name"))}
        if kind == "push":
            self.may_push(client, profile)
            return self._push(client, profile, s, state)
        if not code:
            client.pending = state
            raise MFARequired("OneLogin asks for the code from %s" % _shown(state["label"], 60), profile.name, "idp")
        return self._code(client, profile, s, state, code)

    def _verify(self, client, s, state, code=None, notify=False):
        body = {"device_id": state["device_id"], "state_token": state["state_token"], "do_not_notify": not notify}
        if state["app_id"]:
            body["app_id"] = state["app_id"]
        if code:
            body["otp_token"] = code
        page = client.http.send("POST", state["url"], json_body=body, secret=True,
                                headers={"Authorization": self._api_token(client, s)})
        doc = _json_or_empty(page)
        status = doc.get("status") if isinstance(doc.get("status"), dict) else {}
        message = str(doc.get("message") or status.get("message") or "")
        if state["v2"]:
            result = doc.get("data") if isinstance(doc.get("data"), str) else None
        else:
            data = doc.get("data") if isinstance(doc.get("data"), list) else []
            result = data[0].get("session_token") if data and isinstance(data[0], dict) else None
        return page.status, message, result

    def _code(self, client, profile, s, state, code):
        status, message, result = self._verify(client, s, state, code)
        if status == 200 and message.lower() == "success" and result:
            return result
        if status == 401 or "pending" in message.lower() or status == 200:
            client.pending = state
            raise MFAInvalid("OneLogin did not accept the code", profile.name, "idp")
        raise IdPError("OneLogin's MFA step failed: %s" % _message(message or "HTTP %d" % status, 200))

    def _push(self, client, profile, s, state):
        first = [True]

        def poll():
            status, message, result = self._verify(client, s, state, notify=first[0])
            first[0] = False
            if status == 200 and message.lower() == "success" and result:
                return True, result, None
            if status == 200 and "pending" in message.lower():
                return False, None, None
            return False, None, "was rejected (%s)" % _message(message or "HTTP %d" % status, 100)
        return self.wait_for_push(client, profile, poll)

    def oidc(self, client, profile, code):
        return authorize_with_session(client, profile, self.title,
                                      lambda page: self._browser_session(client, profile, code))

    def _browser_session(self, client, profile, code):
        """The v1 login API (and MFA), then the session exchange on the
        portal host, which sets OneLogin's session cookie."""
        s = self.settings(client.url)
        pending, client.pending = client.pending, None
        if pending is not None and code:
            token = self._code(client, profile, s, pending, code)
        else:
            username, password = _credentials_for(client, profile)
            page = self._api(client, s, "POST", "/api/1/login/auth", {
                "username_or_email": username, "password": password, "subdomain": s["subdomain"]})
            doc = self._answer(client, profile, page, v2=False)
            data = doc.get("data") if isinstance(doc.get("data"), list) else []
            first = data[0] if data and isinstance(data[0], dict) else {}
            if first.get("session_token"):
                token = first["session_token"]
            elif first.get("devices"):
                token = self._mfa(client, profile, s, first, code, v2=False)
            else:
                raise IdPError("OneLogin's login API answered without a session token")
        page = client.http.send("POST", s["portal"] + "/session_via_api_token", form={"session_token": token})
        if page.status != 200:
            raise IdPError("OneLogin's session exchange failed (HTTP %d)" % page.status)


def authorize_with_session(client, profile, who, sign_in):
    """OIDC with the IdP's session cookie: the authorize endpoint (PKCE)
    redirects to the redirect URI with a code; when it answers with its own
    sign-in instead, `sign_in(page)` signs in and the request is made again."""
    _, client_id, redirect_uri = _oidc_settings(profile)
    issuer = _issuer_of(client.provider, client.url)
    for attempt in range(2):
        url, state, verifier = authorize_request(client, profile, issuer, client_id, redirect_uri)
        page = client.http.send("GET", url, stop_at=redirect_uri)
        if attempt == 0 and not page.location.startswith(redirect_uri):
            page = sign_in(page) or page  # a sign-in may end at the redirect URI itself (no KMSI page)
        if page.location.startswith(redirect_uri):
            auth_code, error = _code_from_redirect(page, state)
            if not auth_code:
                raise IdPError("%s refused the sign-in: %s" % (who, _printable(error or "no code")))
            return client.exchange_code(issuer, client_id, redirect_uri, auth_code, verifier)
    raise IdPError("%s did not issue an authorization code after signing in" % who)


def _json_or_empty(page):
    try:
        doc = json.loads(page.body)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


AAD_CONFIG = re.compile(r"\$Config\s*=\s*")
AAD_SAML_REDIRECT = re.compile(r"""window\.location\s*=\s*['"](https?://[^'"]+?SAMLRequest=[^'"]+)['"]""")
AAD_HOSTS = ("https://login.microsoftonline.com", "https://login.microsoftonline.us",
             "https://login.partner.microsoftonline.cn")
AAD_PUSH = ("PhoneAppNotification",)
AAD_CODE = ("PhoneAppOTP", "OneWaySMS", "SoftwareTokenOTP", "HardwareTokenOTP")
AAD_PUSH_REFUSED = ("PhoneAppDenied", "PhoneAppNoResponse", "PhoneAppInvalidResult", "UserVoiceAuthFailedPhoneHungUp")
AAD_ERRORS = {  # ESTS error codes a user can act on
    "50034": "there is no such user in this directory",
    "50053": "the account is locked after too many sign-in attempts; wait, then try again",
    "50055": "the password has expired; change it in the browser first",
    "50056": "the account has no password",
    "50057": "the account is disabled",
    "50058": "Azure AD cannot tell who is signing in",
    "50076": "this sign-in needs MFA that runas-meta cannot answer here",
    "53003": "a Conditional Access policy blocks this sign-in; use web_identity_provider = browser",
}


def aad_config(page):
    """The `$Config={...};` JSON of an Azure AD (ESTS) page, read with a
    JSON decoder from where it starts (aws-runas's one-line regex broke when
    Microsoft's page changed: its issue #87)."""
    match = AAD_CONFIG.search(page.body)
    if not match:
        return None
    try:
        doc, _ = json.JSONDecoder().raw_decode(page.body, match.end())
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


class AzureAD(PushIdP):
    """Azure AD's (Entra ID's) sign-in pages as aws-runas drives them
    (research §2): the `$Config` JSON, username, then password (or a guest's
    home IdP), MFA through BeginAuth/EndAuth (a code, or the app's push,
    polled with a bound), "keep me signed in", then SAML through the app's
    sign-in URL.  Unlike aws-runas: OIDC works (the tenant from the URL),
    error codes become messages, push polling ends."""

    name, title = "azuread", "Azure AD"

    @staticmethod
    def trusted_origins(url):
        return set(AAD_HOSTS)

    @staticmethod
    def issuer(url):
        """The v2.0 issuer: from tenantId= (the app's sign-in URL) or the
        first path segment (login.microsoftonline.com/<tenant>/...)."""
        parts = urllib.parse.urlsplit(url)
        query = dict(urllib.parse.parse_qsl(parts.query))
        origin = "%s://%s" % (parts.scheme, parts.netloc)
        if query.get("tenantId"):
            host = parts.hostname or ""
            base = AAD_HOSTS[0] if host.endswith(("microsoft.com", "microsoftonline.com")) else origin
            return "%s/%s/v2.0" % (base, query["tenantId"])
        segments = [part for part in parts.path.split("/") if part]
        if not segments or segments[0] in ("oauth2", "v2.0", "common", "signin"):
            raise ConfigError("Azure AD OIDC needs the tenant: web_identity_auth_url = "
                              "https://login.microsoftonline.com/<tenant>/v2.0")
        return "%s/%s/v2.0" % (origin, segments[0])

    def saml(self, client, profile, code):
        if client.pending:
            self._resume(client, profile, code, None)
        page = client.http.send("GET", client.url)
        for _ in range(8):
            if _saml_in(page):
                return _saml_field(page)
            target = AAD_SAML_REDIRECT.search(page.body)
            if target:
                page = client.http.send("GET", html.unescape(target.group(1)))
                continue
            config = aad_config(page)
            if config is None or not config.get("urlPost"):
                raise IdPError("unexpected page from Azure AD (HTTP %d at %s)"
                               % (page.status, _printable(page.url.partition("?")[0])))
            self._sign_in(client, profile, page, config, code, None)
            page, code = client.http.send("GET", client.url), None
        raise IdPError("Azure AD's sign-in did not return a SAML response")

    def oidc(self, client, profile, code):
        redirect_uri = _oidc_settings(profile)[2]
        if client.pending:  # a sign-in that waited for the code: finish it, then authorize
            self._resume(client, profile, code, redirect_uri)
            code = None

        def sign_in(page):
            return self._sign_in(client, profile, page, self._config(page), code, redirect_uri)
        return authorize_with_session(client, profile, self.title, sign_in)

    # -- the ESTS sign-in -------------------------------------------------------

    def _sign_in(self, client, profile, page, config, code, stop_at):
        username, password = _credentials_for(client, profile)
        post_url = urllib.parse.urljoin(page.url, config["urlPost"])
        form = {config.get("sFTName") or "flowToken": config.get("sFT", ""), "ctx": config.get("sCtx", ""),
                "login": username}
        page = client.http.send("POST", post_url, form=form, stop_at=stop_at)
        config = self._config(page)
        federation = ((config.get("oGetCredTypeResult") or {}).get("Credentials") or {}).get("FederationRedirectUrl")
        if federation:  # a guest: the home tenant's own identity provider takes the password
            page = self._home_idp(client, profile, federation, password, stop_at)
        else:
            page = client.http.send("POST", post_url, form=dict(form, passwd=password), stop_at=stop_at, secret=True)
        return self._finish(client, profile, page, stop_at, code)

    @staticmethod
    def _config(page):
        config = aad_config(page)
        if config is None:
            raise IdPError("Azure AD answered with a page runas-meta cannot read (HTTP %d at %s)"
                           % (page.status, _printable(page.url.partition("?")[0])))
        return config

    @staticmethod
    def _check(client, profile, config):
        error = str(config.get("sErrorCode") or "")
        if not error or error == "0":
            return
        if error == "50126":
            client.password = None
            raise AuthFailed("Azure AD refused the username or password (error 50126)", profile.name,
                             client.username or "")
        reason = AAD_ERRORS.get(error) or _message(str(config.get("sErrTxt") or "sign-in refused"), 200)
        raise IdPError("Azure AD: %s (error %s)" % (reason, _printable(error, 12)))

    def _home_idp(self, client, profile, url, password, stop_at):
        """A guest's home IdP, named by Azure AD itself: its password form
        (federated_username, else the username), then its forms back."""
        client.http.trust(_origin_of(url))
        username = profile.federated_username or client.username
        page = client.http.send("GET", url, stop_at=stop_at)
        for _ in range(6):
            if aad_config(page) is not None or (stop_at and page.location.startswith(stop_at)):
                return page
            forms = parse_forms(page.body, page.url)
            login = _form_with(forms, "password")
            if login is not None:
                name = next((n for n in ("username", "UserName", "login", "email") if n in login.fields), "username")
                page = client.http.send("POST", login.action, form=dict(login.fields, **{name: username,
                                                                                           "password": password}),
                                        stop_at=stop_at, secret=True)
                if _form_with(parse_forms(page.body, page.url), "password") is not None:
                    client.password = None
                    raise AuthFailed("the guest's home identity provider refused the username or password",
                                     profile.name, client.username or "")
                continue
            if not forms:
                break
            page = client.http.send("POST", forms[0].action, form=forms[0].fields, stop_at=stop_at)
        raise IdPError("the guest's home identity provider did not send the sign-in back to Azure AD")

    def _mfa(self, client, profile, page, config, code, username, stop_at):
        factors = []
        for proof in config["arrUserProofs"]:
            method = proof.get("authMethodId") if isinstance(proof, dict) else None
            kind = "push" if method in AAD_PUSH else "code" if method in AAD_CODE else None
            if kind:
                factors.append((kind, proof, bool(proof.get("isDefault"))))
        kind, proof = pick_factor(profile.mfa_type, factors, self.title)
        if kind == "push":
            self.may_push(client, profile)  # BeginAuth sends it
        begin = client.http.send("POST", urllib.parse.urljoin(page.url, config["urlBeginAuth"]), json_body={
            "AuthMethodId": proof["authMethodId"], "Method": "BeginAuth", "Ctx": config.get("sCtx", ""),
            "FlowToken": config.get("sFT", "")})
        doc = _json_or_empty(begin)
        if begin.status != 200 or not doc.get("Success"):
            raise IdPError("Azure AD could not start the MFA step: %s"
                           % _message(str(doc.get("Message") or "HTTP %d" % begin.status), 200))
        state = {"config": config, "begin": doc, "method": proof["authMethodId"], "username": username,
                 "url": page.url, "label": str(proof.get("display") or proof["authMethodId"]),
                 "number": _printable(str(doc["Entropy"]), 8) if doc.get("Entropy") else None}  # number matching
        if kind == "push":
            return self._push(client, profile, state, stop_at)
        return self._code(client, profile, state, code, stop_at)

    def _end_auth(self, client, state, code=None):
        begin = state["begin"]
        body = {"AuthMethodId": state["method"], "Method": "EndAuth", "Ctx": begin.get("Ctx", ""),
                "FlowToken": begin.get("FlowToken", ""), "SessionId": begin.get("SessionId", "")}
        if code:
            body["AdditionalAuthData"] = code
        page = client.http.send("POST", urllib.parse.urljoin(state["url"], state["config"]["urlEndAuth"]),
                                json_body=body, secret=bool(code))
        return page.status, _json_or_empty(page)

    def _code(self, client, profile, state, code, stop_at):
        if not code:  # the dialog asks; the sign-in resumes here with the code (_resume)
            client.pending = state
            raise MFARequired("Azure AD asks for the code from %s" % _shown(state["label"], 60), profile.name, "idp")
        status, doc = self._end_auth(client, state, code)
        if status == 200 and doc.get("Success"):
            return self._post_back(client, state, doc, stop_at)
        if (status == 200 and not doc.get("ErrCode")) or doc.get("Retry") or doc.get("ErrCode") == 500121:
            client.pending = state
            raise MFAInvalid("Azure AD did not accept the code", profile.name, "idp")
        raise IdPError("Azure AD's MFA step failed: %s (code %s)"
                       % (_message(str(doc.get("Message") or "HTTP %d" % status), 200), doc.get("ErrCode")))

    def _push(self, client, profile, state, stop_at):
        intervals = state["config"].get("oPerAuthPollingInterval") or {}
        interval = max(0.5, float(intervals.get(state["method"], PUSH_INTERVAL) or PUSH_INTERVAL))

        def poll():
            status, doc = self._end_auth(client, state)
            if status == 200 and doc.get("Success"):
                return True, doc, None
            denied = str(doc.get("ResultValue") or "") in AAD_PUSH_REFUSED
            if status == 200 and not denied and (doc.get("Retry") or doc.get("ErrCode") == 500121):
                return False, None, None
            return False, None, "was rejected (%s)" % _message(str(doc.get("Message") or doc.get("ResultValue")
                                                                        or "HTTP %d" % status), 100)
        doc = self.wait_for_push(client, profile, poll, interval, number=lambda: state["number"])
        return self._post_back(client, state, doc, stop_at)

    def _post_back(self, client, state, doc, stop_at):
        config = state["config"]
        return client.http.send("POST", urllib.parse.urljoin(state["url"], config["urlPost"]), form={
            config.get("sFTName") or "flowToken": doc.get("FlowToken", ""), "request": doc.get("Ctx", ""),
            "login": state["username"]}, stop_at=stop_at)

    def _resume(self, client, profile, code, stop_at):
        state, client.pending = client.pending, None
        return self._finish(client, profile, self._code(client, profile, state, code, stop_at), stop_at, None)

    def _finish(self, client, profile, page, stop_at, code):
        """What follows the password, in whatever order the tenant sends it:
        an error, the MFA step, "More information required" (skipped),
        "Stay signed in?" (yes), the "Working..." forms, the My Apps page
        (its window.location, read at once) - or already the end: the SAML
        form or the redirect URI (tenants that hide "Stay signed in?")."""
        for _ in range(10):
            if (stop_at and page.location.startswith(stop_at)) or _saml_in(page):
                return page
            config = aad_config(page)
            target = AAD_SAML_REDIRECT.search(page.body) if config is None else None
            forms = [f for f in parse_forms(page.body, page.url) if f.method == "POST"] if config is None else []
            if config is not None:
                self._check(client, profile, config)
            if config is not None and config.get("arrUserProofs"):
                username = client.username or ""
                page, code = self._mfa(client, profile, page, config, code, username, stop_at), None
            elif config is not None and config.get("urlSkipMfaRegistration"):
                page = client.http.send("GET", urllib.parse.urljoin(page.url, config["urlSkipMfaRegistration"]),
                                        stop_at=stop_at)
            elif config is not None and str(config.get("urlPost", "")).rstrip("/").endswith("/kmsi"):
                page = client.http.send("POST", urllib.parse.urljoin(page.url, config["urlPost"]), form={
                    config.get("sFTName") or "flowToken": config.get("sFT", ""), "ctx": config.get("sCtx", ""),
                    "LoginOptions": "1"}, stop_at=stop_at)
            elif target:
                page = client.http.send("GET", html.unescape(target.group(1)), stop_at=stop_at)
            elif forms:
                page = client.http.send("POST", forms[0].action, form=forms[0].fields, stop_at=stop_at)
            else:
                return page
        raise IdPError("Azure AD's sign-in went round in circles; the last page was HTTP %d at %s"
                       % (page.status, _printable(page.url.partition("?")[0])))


def _wait_time(doc):
    """Seconds between push polls: the PollingWaitCallback's waitTime (ms)."""
    for callback in doc.get("callbacks") or ():
        for output in callback.get("output") or () if callback.get("type") == "PollingWaitCallback" else ():
            if output.get("name") == "waitTime" and str(output.get("value")).isdigit():
                return max(0.5, int(output["value"]) / 1000.0)
    return PUSH_INTERVAL


FORGEROCK_SERVICES = {"code": "mfa_oath_authentication", "push": "mfa_push_authentication"}
FORGEROCK_API = "resource=2.0, protocol=1.0"


def _rfc2047(text):
    return "=?UTF-8?B?%s?=" % base64.b64encode(text.encode("utf-8")).decode()


class ForgeRock(PushIdP):
    """ForgeRock Access Management's REST authenticate API (research §3):
    username and password in X-OpenAM headers, then the tree's callbacks (an
    OATH code, or a push polled with a bound); the session cookie then opens
    the IdP-initiated SAML URL, or the OAuth2 authorize endpoint.  Unlike
    aws-runas: nested realms (/realms/root/realms/alpha), OIDC that signs in,
    a push rejection is not taken for success, mfa_type auto follows the
    realm's own tree instead of trying three logins."""

    name, title = "forgerock", "ForgeRock"

    @staticmethod
    def settings(url):
        parts = urllib.parse.urlsplit(url)
        path = parts.path
        cut = min((path.find(mark) for mark in ("/json/", "/oauth2/", "/WSFederationServlet/") if mark in path),
                  default=-1)
        realms = re.findall(r"/realms/([^/]+)", path)
        if cut < 0 or not realms:
            raise ConfigError("the ForgeRock URL must name its realm: https://HOST/am/json/realms/root/authenticate "
                              "(SAML) or https://HOST/am/oauth2/realms/root (OIDC)")
        base = "%s://%s%s" % (parts.scheme, parts.netloc, path[:cut])
        realm_path = "".join("/realms/" + realm for realm in realms)
        return {"base": base, "authenticate": base + "/json" + realm_path + "/authenticate",
                "issuer": base + "/oauth2" + realm_path, "meta_alias": "/%s/saml-idp" % realms[-1]}

    @classmethod
    def issuer(cls, url):
        return cls.settings(url)["issuer"]

    def _authenticate(self, client, profile, code):
        s = self.settings(client.url)
        username, password = _credentials_for(client, profile)
        if profile.mfa_type in ("auto", "push"):  # AM's tree sends any push itself, once the password is in
            self.may_push(client, profile)
        service = FORGEROCK_SERVICES.get(profile.mfa_type)
        url = s["authenticate"] + ("?" + urllib.parse.urlencode({"authIndexType": "service", "authIndexValue": service})
                                   if service else "")
        page = client.http.send("POST", url, json_body={}, secret=True, headers={
            "X-OpenAM-Username": _rfc2047(username), "X-OpenAM-Password": _rfc2047(password),
            "Accept-API-Version": FORGEROCK_API})
        doc = self._answer(client, profile, page, wrong="password")
        if doc.get("tokenId"):
            return
        callbacks = doc.get("callbacks") if isinstance(doc.get("callbacks"), list) else []
        kinds = {c.get("type") for c in callbacks if isinstance(c, dict)}
        factors = [("push", None, True)] if "PollingWaitCallback" in kinds else []
        factors += [("code", None, True)] if kinds & {"PasswordCallback", "TextInputCallback"} else []
        kind, _ = pick_factor(profile.mfa_type, factors, self.title)
        if kind == "push":
            return self._push(client, profile, s, doc)
        if not code:
            raise MFARequired("ForgeRock asks for a one-time code", profile.name, "idp")
        for callback in callbacks:
            if isinstance(callback, dict) and callback.get("type") in ("PasswordCallback", "TextInputCallback"):
                for entry in callback.get("input") or ():
                    if isinstance(entry, dict) and str(entry.get("name", "")).startswith("IDToken"):
                        entry["value"] = code
        page = self._callbacks(client, s, doc, secret=True)
        if page.status == 401:  # AM ends the tree on a wrong code: the next code starts anew
            raise MFAInvalid("ForgeRock did not accept the code", profile.name, "idp")
        if not self._answer(client, profile, page, wrong="code").get("tokenId"):
            raise IdPError("ForgeRock asked for more than a code; runas-meta cannot answer this tree")

    def _callbacks(self, client, s, doc, secret=False):
        return client.http.send("POST", s["authenticate"], json_body=doc, secret=secret,
                                headers={"Accept-API-Version": FORGEROCK_API})

    def _answer(self, client, profile, page, wrong):
        doc = page.json()
        if page.status == 200:
            return doc
        message = _message(str(doc.get("message") or doc.get("reason") or "HTTP %d" % page.status), 200)
        if page.status == 401 and wrong == "password":
            client.password = None
            raise AuthFailed("ForgeRock refused the username or password (%s)" % message, profile.name,
                             client.username or "")
        raise IdPError("ForgeRock: %s" % message)

    def _push(self, client, profile, s, doc):
        latest = [doc]

        def poll():
            page = self._callbacks(client, s, latest[0])
            if page.status == 401:
                return False, None, "was rejected or expired (%s)" % _message(str(_json_or_empty(page).get("message")), 80)
            answer = self._answer(client, profile, page, wrong="push")
            if answer.get("tokenId"):
                return True, answer, None
            latest[0] = answer
            return False, None, None
        self.wait_for_push(client, profile, poll, _wait_time(doc))

    def saml(self, client, profile, code):
        s = self.settings(client.url)
        url = s["base"] + "/idpssoinit?" + urllib.parse.urlencode({
            "metaAlias": s["meta_alias"], "spEntityID": profile.saml_auth_entityid or "urn:amazon:webservices"})
        page = client.http.send("GET", url)
        if not _saml_in(page):
            self._authenticate(client, profile, code)
            page = client.http.send("GET", url)
        return _saml_field(page)

    def oidc(self, client, profile, code):
        return authorize_with_session(client, profile, self.title,
                                      lambda page: self._authenticate(client, profile, code))


class BrowserLogin:
    """OIDC through the user's own browser: the IdP handles every MFA it
    knows; the service's own /oidc/callback receives the code."""

    name = "browser"

    def oidc(self, client, profile, code):
        raise BrowserLoginRequired("sign in to your identity provider in the browser",
                                   profile.name, extra={"login_url": "/oidc/login?" + urllib.parse.urlencode(
                                       {"profile": profile.name})})

    def saml(self, client, profile, code):
        raise ConfigError("saml_provider = browser is for OIDC only (web_identity_provider)")


def _saml_in(page):
    return any("SAMLResponse" in f.fields for f in parse_forms(page.body, page.url))


def _saml_field(page):
    for form in parse_forms(page.body, page.url):
        if form.fields.get("SAMLResponse"):
            return form.fields["SAMLResponse"]
    raise IdPError("the identity provider did not return a SAML response (HTTP %d)" % page.status)


def _form_with(forms, field_name):
    return next((f for f in forms if field_name in f.fields), None)


def _feedback(body):
    """Keycloak's error line on a login page, for the dialog."""
    match = re.search(r'id="input-error[^"]*"[^>]*>\s*([^<]{1,200})<', body)
    return ": " + html.unescape(match.group(1).strip()) if match else ""


def _oidc_settings(profile):
    if not profile.web_identity_client_id or not profile.web_identity_redirect_uri:
        raise ConfigError("profile %r needs web_identity_client_id and web_identity_redirect_uri"
                          % profile.name)
    return profile.web_identity_auth_url, profile.web_identity_client_id, profile.web_identity_redirect_uri


def _credentials_for(client, profile):
    if not client.username or not client.password:
        raise AuthRequired("sign in to %s" % client.http.origin, profile.name,
                           client.username or _idp_username(profile))
    return client.username, client.password


def _idp_username(profile):
    return profile.saml_username or profile.web_identity_username or profile.federated_username


AAD_SUFFIXES = (".microsoft.com", ".microsoftonline.com", ".microsoftonline.us", ".microsoftonline.cn")


def detect_provider(url, configured, probe=None):
    """The provider from the config, else from the URL's host and path, else
    (with `probe`, one HEAD request: (headers, cookie names)) from what the
    answer names, as aws-runas does; unknown: a one-line config error."""
    if configured:
        if configured.lower() not in PROVIDERS:
            raise ConfigError("unknown identity provider %r (use one of %s)"
                              % (configured, ", ".join(PROVIDERS)))
        return configured.lower()
    parts = urllib.parse.urlsplit(url)
    host, path = (parts.hostname or "").lower(), parts.path
    if host.endswith(".onelogin.com"):
        return "onelogin"
    if host.endswith(AAD_SUFFIXES):
        return "azuread"
    if "/json/realms/" in path or "/oauth2/realms/" in path:
        return "forgerock"
    if "/realms/" in path:
        return "keycloak"
    if "okta" in host or path.startswith(("/app/", "/home/", "/oauth2/")):
        return "okta"
    found = _provider_from_answer(*probe()) if probe is not None else None
    if found:
        return found
    raise ConfigError("cannot tell which identity provider serves %s: set saml_provider (or "
                      "web_identity_provider) to one of %s" % (url.partition("?")[0], ", ".join(PROVIDERS)))


def _probe(http, url):
    """One HEAD to the IdP URL (redirects followed): its headers and cookie names."""
    page = http.send("HEAD", url)
    return page.headers, {cookie.name for cookie in http.jar}


def _provider_from_answer(headers, cookies):
    """What a HEAD answer names: ForgeRock's CORS headers, Okta's and
    Microsoft's request ids, Keycloak's and OneLogin's cookies."""
    allowed = headers.get("Access-Control-Allow-Headers") or ""
    if "X-OpenAM-" in allowed or "MFA-FR-Token" in allowed:
        return "forgerock"
    if headers.get("x-okta-request-id"):
        return "okta"
    if headers.get("x-ms-request-id"):
        return "azuread"
    if "KC_RESTART" in cookies:
        return "keycloak"
    if any("_onelogin.com" in name for name in cookies):
        return "onelogin"
    return None


def looks_obfuscated(password):
    """aws-runas's `password` command stores an obfuscated (base64 of
    binary) value; a plaintext password does not decode that way."""
    try:
        raw = base64.b64decode(password, validate=True)
    except ValueError:
        return False
    return len(raw) >= 24 and sum(32 <= b < 127 for b in raw) < len(raw) * 0.8


class Federation:
    """Sign-in for federated profiles.  `password_prompt(profile, url,
    username) -> (username, password)` serves headless mode."""

    def __init__(self, config, environ=None, clock=utcnow, sleep=time.sleep, password_prompt=None,
                 http_factory=None, push_wait=PUSH_WAIT, monotonic=time.monotonic, notify=None):
        self.config, self.clock = config, clock
        self.environ = os.environ if environ is None else environ
        self.password_prompt = password_prompt
        self.notify = notify  # headless mode: a push's number on the terminal
        self.pushes = {}  # profile name -> its last push: state, provider, number, message (GET /status)
        self._user = threading.local()  # set while a sign-in the user started runs on this thread
        self.http_factory = http_factory or (lambda url, profile: IdpHttp(url, self.environ, ca_bundle=profile.ca_bundle))
        self.providers = {"keycloak": Keycloak(), "okta": Okta(sleep, monotonic, push_wait),
                          "onelogin": OneLogin(sleep, monotonic, push_wait),
                          "azuread": AzureAD(sleep, monotonic, push_wait),
                          "forgerock": ForgeRock(sleep, monotonic, push_wait), "browser": BrowserLogin()}
        self.clients = {}
        self.logins = {}  # state -> pending browser sign-in
        self._lock = threading.Lock()
        self.okta = OktaIdentityEngine(clock, monotonic, sleep)

    def client(self, profile):
        url = profile.saml_auth_url or profile.web_identity_auth_url
        configured = profile.saml_provider if profile.saml_auth_url else profile.web_identity_provider
        configured = configured or ("okta" if profile.okta_oidc_client_id else "")
        with self._lock:
            client = self.clients.get(url)
        if client is None:
            http = self.http_factory(url, profile)
            provider = self.providers[detect_provider(url, configured, lambda: _probe(http, url))]
            for origin in getattr(provider, "trusted_origins", lambda url: ())(url):
                http.trust(origin)
            with self._lock:
                client = self.clients.setdefault(url, IdpClient(url, provider, http))
            client.on_push = self._report_push
        if not client.username:
            client.username = _idp_username(profile) or None
        return client

    def set_password(self, profile, username, password):
        client = self.client(profile)
        with client.lock:
            client.username, client.password = username or client.username, password
            client.pending = None

    @contextlib.contextmanager
    def user_sign_in(self):
        """The sign-in on this thread was started by the user (the page, the
        API, the terminal): only such a sign-in may send a push."""
        self._user.active = True
        try:
            yield
        finally:
            self._user.active = False

    def _report_push(self, profile, state):
        state = dict(state, at=format_time(self.clock()))
        self.pushes[profile.name] = state
        if self.notify is not None and state["state"] == "waiting":
            self.notify("%s (profile %s)" % (state["message"][:1].upper() + state["message"][1:], profile.name))

    def _ensure_password(self, client, profile):
        if client.password:
            return
        key = "saml_password" if profile.saml_auth_url else "web_identity_password"
        stored = self.config.idp_password(client.url, key)
        if stored and looks_obfuscated(stored):
            LOG.warning("the %s for %s looks like aws-runas's obfuscated form, which runas-meta cannot "
                        "read: store the plain password or enter it on the page", key, client.url.partition("?")[0])
        elif stored:
            client.password = stored
            return
        if self.password_prompt is not None and not _in_background():
            client.username, client.password = self.password_prompt(profile.name, client.url.partition("?")[0],
                                                                    client.username)
            client.push_allowed = True  # typed on the terminal just now: the user is signing in

    def saml_assertion(self, profile, code=None):
        client = self.client(profile)
        with client.lock:
            cached = client.assertion
            if cached and not code and cached.expires and \
                    (cached.expires - self.clock()).total_seconds() > TOKEN_MARGIN:
                return cached
            if profile.okta_oidc_client_id:  # Identity Engine: no password, no sessionToken
                assertion = parse_saml_response(self.okta.saml(client, profile))
                client.assertion = assertion
                return assertion
            client.push_allowed = getattr(self._user, "active", False)
            self._ensure_password(client, profile)
            assertion = parse_saml_response(client.provider.saml(client, profile, code))
            client.assertion = assertion
            return assertion

    def id_token(self, profile, code=None):
        client = self.client(profile)
        with client.lock:
            token = client.tokens.get(profile.web_identity_client_id)
            expires = jwt_expiry(token) if token else None
            if token and expires and (expires - self.clock()).total_seconds() > TOKEN_MARGIN:
                return token
            token = None if code else client.refresh_id_token(profile.web_identity_auth_url,
                                                              profile.web_identity_client_id)
            if token:
                client.tokens[profile.web_identity_client_id] = token
                return token
            client.push_allowed = getattr(self._user, "active", False)
            if not isinstance(client.provider, BrowserLogin):
                self._ensure_password(client, profile)
            token = client.provider.oidc(client, profile, code)
            client.tokens[profile.web_identity_client_id] = token
            return token

    def renews_silently(self, profile):
        """An OIDC profile holding a refresh token, an Okta Identity Engine
        profile with valid tokens: renewals ask nobody."""
        if profile.okta_oidc_client_id:
            return self.okta.renews_silently(profile)
        with self._lock:  # only a client that exists: /status never reaches the IdP
            client = self.clients.get(profile.web_identity_auth_url) if profile.web_identity_auth_url else None
        return bool(client and client.refresh_tokens.get(profile.web_identity_client_id))

    # -- sign-in through the user's browser -------------------------------------

    def start_browser_login(self, profile, redirect_uri, now=None):
        """The IdP URL to send the browser to; remembers state and verifier."""
        client = self.client(profile)
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(32)
        now = time.monotonic() if now is None else now
        with self._lock:
            self.logins = {k: v for k, v in self.logins.items() if now - v["at"] < LOGIN_TIMEOUT}
            self.logins[state] = {"profile": profile.name, "verifier": verifier, "at": now,
                                  "redirect_uri": redirect_uri}
        scope = client.scope(profile.web_identity_auth_url, profile)
        params = {"client_id": profile.web_identity_client_id, "response_type": "code", "scope": scope,
                  "redirect_uri": redirect_uri, "state": state, "code_challenge": challenge,
                  "code_challenge_method": "S256"}
        if "offline_access" in scope.split():
            params["prompt"] = "consent"  # OpenID Connect Core: offline_access is honoured only with it
        return client.oidc_endpoints(profile.web_identity_auth_url)["authorization_endpoint"] + "?" + \
            urllib.parse.urlencode(params)

    def finish_browser_login(self, state, code, now=None):
        """Check `state`, exchange the code (PKCE); return the profile name."""
        now = time.monotonic() if now is None else now
        with self._lock:
            login = self.logins.pop(state, None) if state else None
        if login is None:
            raise HTTPError(400, "unknown or used sign-in state: start the sign-in again from the page")
        if now - login["at"] >= LOGIN_TIMEOUT:
            raise HTTPError(400, "the sign-in took longer than %d seconds: start again" % LOGIN_TIMEOUT)
        profile = self.config.federated(login["profile"])
        client = self.client(profile)
        token = client.exchange_code(profile.web_identity_auth_url, profile.web_identity_client_id,
                                     login["redirect_uri"], code, login["verifier"])
        with client.lock:
            client.tokens[profile.web_identity_client_id] = token
        return profile.name


# ==== IAM Identity Center (SSO) and credential_process =====================
# Two more sources for the bottom of a chain.  IAM Identity Center: the AWS
# CLI's token cache (~/.aws/sso/cache, read and written in its format, so
# one sign-in serves runas-meta, the CLI and every SDK), sign-in through
# sso-oidc (PKCE through the service's /oauth/callback, or a device code),
# role credentials and the account/role list from the portal.
# credential_process: a command that prints Version 1 JSON.  Tokens, client
# secrets and the process's output are never logged.


class SSOLoginRequired(AuthRequired):
    """No valid IAM Identity Center token: sign in (dialog SSO)."""

    code = "SSOLoginRequired"
    auth_type = "SSO"


class SSOError(AwsServiceError):
    """sso-oidc or the portal answered with an error (AWS's code is kept)."""

    code = "SSOError"


class SSOUnavailable(SSOError):
    status = 503
    code = "SSOUnavailable"


class SSONoAccess(SSOError):
    status = 403
    code = "SSONoAccess"


class SSOCacheError(RunasError):
    """The IAM Identity Center cache directory cannot be written (read-only, full)."""

    status = 503
    code = "TokenCacheUnwritable"


MFA_PROCESS_TIMEOUT = 60  # an mfa_process may wait for a touch of a security key
MFA_PROCESS_PAUSE = 60  # after it fails, codes are asked on the page for this long


class ProcessError(RunasError):
    """A credential_process failed; the message never holds its output."""

    status = 502
    code = "CredentialProcessError"


def sso_settings(profile):
    """The profile, after botocore's check that every SSO key is there."""
    missing = [key for key in SSO_REQUIRED if not getattr(profile, key)]
    if missing:
        raise ConfigError("the profile %r is configured to use SSO but is missing required "
                          "configuration: %s" % (profile.name, ", ".join(missing)))
    return profile


def sso_scopes(profile):
    """sso_registration_scopes as the CLI splits it; None for the legacy form."""
    if not profile.sso_session:
        return None
    return [item.strip() for item in profile.sso_registration_scopes.split(",") if item.strip()] or None


def sso_token_key(profile):
    """What the CLI hashes for the token file: the session name, else the start URL as written."""
    return profile.sso_session or profile.sso_start_url


def sso_owner(profile):
    """The name discovered roles are listed under: the sso-session, or the
    legacy profile that holds the start URL."""
    if profile.sso_session:
        return profile.sso_session
    if profile.name.startswith(SSO_ROLE_PREFIX):
        return profile.name.split(":")[1]
    return profile.name


def cache_file_name(text):
    return hashlib.sha1(text.encode("utf-8")).hexdigest() + ".json"


def parse_sso_time(text):
    """expiresAt as the CLI and SDKs have written it: Z, UTC, offsets,
    fractions, a space for the T, or no zone at all (UTC)."""
    text = str(text).strip()
    if text.endswith("UTC"):
        text = text[:-3].rstrip()
    return parse_time(text.replace(" ", "T", 1))


def aws_endpoint(profile, environ, env_suffix, configured, default):
    """botocore's configured-endpoint order: AWS_ENDPOINT_URL_<SERVICE>,
    AWS_ENDPOINT_URL, the profile's [services] entry, its endpoint_url."""
    if environ.get("AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "").lower() == "true":
        return default
    for url in (environ.get("AWS_ENDPOINT_URL_" + env_suffix), environ.get("AWS_ENDPOINT_URL"),
                configured, profile.endpoint_url):
        if url:
            return url.rstrip("/")
    return default


def _aws_suffix(region):
    return "amazonaws.com.cn" if region.startswith("cn-") else "amazonaws.com"


def sso_oidc_endpoint(profile, environ):
    return aws_endpoint(profile, environ, "SSO_OIDC", profile.sso_oidc_endpoint_url,
                        "https://oidc.%s.%s" % (profile.sso_region, _aws_suffix(profile.sso_region)))


def sso_portal_endpoint(profile, environ):
    return aws_endpoint(profile, environ, "SSO", profile.sso_endpoint_url,
                        "https://portal.sso.%s.%s" % (profile.sso_region, _aws_suffix(profile.sso_region)))


class AwsJson:
    """Unsigned JSON calls over urllib (sso-oidc, the portal, the console's
    federation endpoint): proxies and CA bundle as for STS, retries for 429,
    5xx and connection errors only; errors of the given classes."""

    error, unavailable = SSOError, SSOUnavailable

    def __init__(self, environ=None, sleep=time.sleep, rand=random.random, timeout=STS_TIMEOUT,
                 attempts=SSO_ATTEMPTS, opener=None):
        self.environ = os.environ if environ is None else environ
        self.sleep, self.rand, self.timeout, self.attempts = sleep, rand, timeout, attempts
        self._opener, self._openers = opener, {}

    def _open(self, profile):
        if self._opener is not None:
            return self._opener
        bundle = self.environ.get("AWS_CA_BUNDLE") or profile.ca_bundle or None
        if bundle not in self._openers:
            self._openers[bundle] = build_web_opener(self.environ, bundle)
        return self._openers[bundle].open

    def call(self, profile, method, url, body=None, headers=(), what="IAM Identity Center", retry_throttled=True):
        """One call, retried on 5xx and unreachable (and on 429 unless the
        caller paces itself: `retry_throttled=False`, as role discovery)."""
        def retryable(exc):
            if exc.http_status == 429:
                return retry_throttled
            return isinstance(exc, self.unavailable) or exc.http_status >= 500
        try:
            return with_retries(lambda: self._once(profile, method, url, body, headers, what),
                                retryable, self.attempts, self.sleep, self.rand, what)
        except self.error as exc:
            if (retryable(exc) or exc.http_status == 429) and not isinstance(exc, self.unavailable):
                busy = self.unavailable(str(exc), exc.aws_code, exc.http_status)
                busy.retry_after = exc.retry_after
                raise busy from None
            raise

    def _once(self, profile, method, url, body, headers, what):
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(headers, **({"Content-Type": "application/json"} if data is not None else {}))
        LOG.debug("%s: %s %s", what, method, _printable(url.partition("?")[0]))
        try:
            request = web()["request"].Request(url, data=data, method=method, headers=headers)
            with self._open(profile)(request, timeout=self.timeout) as response:
                status, raw, answer_headers = response.status, response.read(STS_MAX_RESPONSE), response.headers
        except urllib.error.HTTPError as exc:
            status, raw, answer_headers = exc.code, exc.read(STS_MAX_RESPONSE), exc.headers
        except (urllib.error.URLError, OSError, ValueError, http.client.HTTPException) as exc:
            raise self.unavailable("%s at %s unreachable: %s"
                                 % (what, _origin_of(url), _plain(getattr(exc, "reason", exc)))) from None
        try:
            doc = json.loads(raw.decode("utf-8")) if raw.strip() else {}
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise self.error("%s: HTTP %d with an answer that is not JSON" % (what, status), "", status)
        if status == 200:
            return doc
        code = (answer_headers.get("x-amzn-ErrorType") or doc.get("__type") or doc.get("code")
                or "HTTP%d" % status).split(":")[0].split("#")[-1]
        message = doc.get("error_description") or doc.get("message") or doc.get("Message") or doc.get("error") or ""
        error = self.error("%s: %s: %s" % (what, _printable(str(code), 80), _message(str(message))), code, status)
        error.retry_after = retry_after_of(answer_headers)
        error.oauth_error = str(doc.get("error") or "")[:40]  # an OAuth error code (Sign-In: TOKEN_EXPIRED ...)
        raise error


def _need(doc, *keys, what="IAM Identity Center"):
    missing = [key for key in keys if doc.get(key) in (None, "")]
    if missing:
        raise SSOError("%s answered without %s" % (what, ", ".join(missing)))
    return doc


def _sso_expiry(doc):
    try:
        return parse_sso_time(doc["expiresAt"])
    except (KeyError, TypeError, ValueError):
        return dt.datetime.min.replace(tzinfo=UTC)


def _read_json(path):
    """A JSON object from a file of ours or the AWS CLI's, or None (missing, unreadable)."""
    try:
        with open(path, "rb") as handle:
            doc = json.loads(handle.read(STS_MAX_RESPONSE).decode("utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        LOG.warning("ignoring %s: %s", path, type(exc).__name__)
        return None
    return doc if isinstance(doc, dict) else None



class SSOTokens:
    """IAM Identity Center's token cache, shared with the AWS CLI
    (~/.aws/sso/cache, the CLI's file names and format): the token a
    profile's session has, refreshed and written back as the CLI does; a
    token the cache cannot take is kept in memory and written later."""

    def __init__(self, environ, clock, monotonic, api, writer, cache_dir):
        self.environ, self.clock, self.monotonic, self.api, self.writer = environ, clock, monotonic, api, writer
        self.cache_dir = cache_dir
        self.rejected = {}  # token key -> the access token the portal refused
        self.unwritten = {}  # token key -> a token the cache could not take: served from memory, written later
        self._refreshed_at = {}

    def path(self, text):
        return os.path.join(self.cache_dir, cache_file_name(text))

    def write(self, path, doc):
        try:
            os.makedirs(self.cache_dir, exist_ok=True)
            self.writer(path, json.dumps(doc).encode())
        except OSError as exc:
            raise SSOCacheError("cannot write the IAM Identity Center cache %s: %s"
                                % (self.cache_dir, _plain(exc))) from None

    def _save_token(self, key, doc):
        """Write a new token; when the cache cannot take it, keep it in memory
        (a rotated refresh token exists nowhere else) and try again on each
        use, as long as the file holds nothing newer."""
        try:
            self.write(self.path(key), doc)
        except SSOCacheError as exc:
            if key not in self.unwritten:
                LOG.warning("%s: the new token is kept in memory and written once the cache takes it", exc)
            self.unwritten[key] = doc
            return
        if self.unwritten.pop(key, None) is not None:
            LOG.info("the IAM Identity Center token kept in memory is written to the cache again")

    def _current(self, key, on_disk):
        """The file's token, or the one kept in memory while the file lags."""
        kept = self.unwritten.get(key)
        if kept is None:
            return on_disk
        if on_disk and on_disk.get("accessToken") != kept.get("accessToken") and \
                _sso_expiry(on_disk) > _sso_expiry(kept):
            self.unwritten.pop(key, None)  # signed in elsewhere since (the AWS CLI): the file wins
            return on_disk
        self._save_token(key, kept)
        return kept

    def token(self, profile):
        """(token document, expiry) from the cache, or None: missing, without
        accessToken (old CLI leftovers), unreadable, or refused by the portal."""
        key = sso_token_key(profile)
        doc = self._current(key, _read_json(self.path(key)))
        if not doc or not doc.get("accessToken") or not doc.get("expiresAt"):
            return None
        if self.rejected.get(key) == doc["accessToken"]:
            return None
        try:
            return doc, parse_sso_time(doc["expiresAt"])
        except ValueError:
            return None

    def session_ends(self, profile):
        found = self.token(profile)
        return found[1] if found else None

    def next_sign_in(self, profile):
        """When a sign-in is next needed: the token's end, unless it can be
        refreshed (sso-session with a refresh token): then when the portal
        session ends, which the token does not tell."""
        found = self.token(profile)
        if found and profile.sso_session and found[0].get("refreshToken"):
            return {"at": None, "what": "IAM Identity Center sign-in",
                    "note": "renewed without asking while your IAM Identity Center session lasts"}
        return {"at": found[1] if found else None, "what": "IAM Identity Center sign-in"}

    def access_token(self, profile):
        """A valid bearer token; sso-session tokens are refreshed (and
        written back) under 15 minutes left; legacy ones never are."""
        found = self.token(profile)
        if found is None:
            raise self.login_required(profile, "sign in to IAM Identity Center (%s)" % profile.sso_start_url)
        doc, expires = found
        left = (expires - self.clock()).total_seconds()
        if profile.sso_session and left < SSO_REFRESH_WINDOW:
            refreshed = self._refresh(profile, doc)
            if refreshed:
                return refreshed
        if left <= 0:
            raise self.login_required(profile, "the IAM Identity Center sign-in for %s has expired: sign in again"
                                      % sso_owner(profile))
        return doc["accessToken"]

    def _refresh(self, profile, doc):
        key, now = sso_token_key(profile), self.clock()
        if any(not doc.get(name) for name in ("refreshToken", "clientId", "clientSecret", "registrationExpiresAt")):
            return None
        try:
            if parse_sso_time(doc["registrationExpiresAt"]) <= now:
                return None
        except ValueError:
            return None
        last = self._refreshed_at.get(key)
        if last is not None and self.monotonic() - last < SSO_REFRESH_RETRY:
            return None
        self._refreshed_at[key] = self.monotonic()
        try:
            answer = _need(self.api.call(profile, "POST", sso_oidc_endpoint(profile, self.environ) + "/token", {
                "grantType": "refresh_token", "clientId": doc["clientId"], "clientSecret": doc["clientSecret"],
                "refreshToken": doc["refreshToken"]}, what="sso-oidc CreateToken"), "accessToken", "expiresIn")
        except SSOError as exc:
            LOG.warning("refreshing the IAM Identity Center token of %s failed: %s", sso_owner(profile), exc)
            return None
        new = dict(doc, accessToken=answer["accessToken"],
                   expiresAt=format_time(now + dt.timedelta(seconds=int(answer["expiresIn"]))))
        new.pop("refreshToken")
        if answer.get("refreshToken"):
            new["refreshToken"] = answer["refreshToken"]
        self._save_token(key, new)
        LOG.info("refreshed the IAM Identity Center token of %s", sso_owner(profile))
        return new["accessToken"]

    def store(self, profile, registration, answer):
        """The token file as the CLI writes it (Z times, 0600, atomic)."""
        _need(answer, "accessToken", "expiresIn", what="sso-oidc CreateToken")
        doc = {"startUrl": profile.sso_start_url, "region": profile.sso_region,
               "accessToken": answer["accessToken"],
               "expiresAt": format_time(self.clock() + dt.timedelta(seconds=int(answer["expiresIn"])))}
        if profile.sso_session:
            doc.update(clientId=registration["clientId"], clientSecret=registration["clientSecret"],
                       registrationExpiresAt=registration["expiresAt"])
            if answer.get("refreshToken"):
                doc["refreshToken"] = answer["refreshToken"]
        key = sso_token_key(profile)
        self._save_token(key, doc)
        self.rejected.pop(key, None)
        LOG.info("signed in to IAM Identity Center (%s); token stored in %s", sso_owner(profile), self.cache_dir)

    def login_required(self, profile, message):
        return SSOLoginRequired(message, profile.name, extra={
            "login_url": "/sso/login?" + urllib.parse.urlencode({"profile": profile.name}),
            "device_url": "/sso/device", "start_url": profile.sso_start_url, "profile": profile.name,
            "pkce": bool(profile.sso_session)})


class SSOSignIns:
    """Signing in to IAM Identity Center: the client registration (cached as
    the CLI does), the authorization code with PKCE, and the device code
    polled in a thread; a new token goes to the token store, and
    `on_signed_in(profile)` hears of it (the role list is then another's)."""

    def __init__(self, tokens, environ, clock, monotonic, sleep, api, spawn, on_signed_in):
        self.tokens, self.environ, self.api, self.on_signed_in = tokens, environ, api, on_signed_in
        self.clock, self.monotonic, self.sleep, self.spawn = clock, monotonic, sleep, spawn
        self.logins = {}  # state -> a PKCE sign-in waiting for its callback
        self.devices = {}  # token key -> the device sign-in shown on the page
        self._lock = threading.Lock()

    def _store(self, profile, registration, answer):
        self.tokens.store(profile, registration, answer)
        self.on_signed_in(profile)

    def registration(self, profile, pkce, fresh=False):
        scopes = sso_scopes(profile)
        path = self.tokens.path(json.dumps({"tool": "botocore", "startUrl": profile.sso_start_url,
                                      "region": profile.sso_region, "scopes": scopes,
                                      "session_name": profile.sso_session or None}, sort_keys=True))
        doc = None if fresh else _read_json(path)
        if doc and doc.get("clientId") and doc.get("clientSecret") and \
                ("authorization_code" in (doc.get("grantTypes") or ())) == pkce:
            try:
                left = (parse_sso_time(doc["expiresAt"]) - self.clock()).total_seconds()
            except (KeyError, ValueError):
                left = 0
            if left > SSO_REGISTRATION_MARGIN:
                return doc
        if pkce and not scopes:
            scopes = list(SSO_DEFAULT_SCOPES)
        body = {"clientName": "botocore-client-%s" % (profile.sso_session or int(time.time())),
                "clientType": "public"}
        if scopes:
            body["scopes"] = scopes
        if pkce:
            body.update(grantTypes=["authorization_code", "refresh_token"], issuerUrl=profile.sso_start_url,
                        redirectUris=["http://127.0.0.1" + SSO_CALLBACK_PATH])
        answer = _need(self.api.call(profile, "POST", sso_oidc_endpoint(profile, self.environ) + "/client/register",
                                     body, what="sso-oidc RegisterClient"),
                       "clientId", "clientSecret", "clientSecretExpiresAt")
        doc = {"clientId": answer["clientId"], "clientSecret": answer["clientSecret"],
               "expiresAt": format_time(dt.datetime.fromtimestamp(int(answer["clientSecretExpiresAt"]), UTC))}
        if scopes:
            doc["scopes"] = scopes
        if pkce:
            doc["grantTypes"] = body["grantTypes"]
        self.tokens.write(path, doc)
        return doc

    def start_pkce(self, profile, name, redirect_uri):
        """The authorize URL to send the browser to; remembers state and verifier."""
        registration = self.registration(profile, pkce=True)
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(32)
        now = self.monotonic()
        with self._lock:
            self.logins = {k: v for k, v in self.logins.items() if now - v["at"] < LOGIN_TIMEOUT}
            self.logins[state] = {"profile": profile, "name": name, "verifier": verifier, "at": now,
                                  "redirect_uri": redirect_uri, "registration": registration}
        query = urllib.parse.urlencode([
            ("response_type", "code"), ("client_id", registration["clientId"]), ("redirect_uri", redirect_uri),
            ("state", state), ("code_challenge_method", "S256"),
            ("scopes", " ".join(registration.get("scopes") or SSO_DEFAULT_SCOPES)),
            ("code_challenge", challenge)], quote_via=urllib.parse.quote)
        return sso_oidc_endpoint(profile, self.environ) + "/authorize?" + query

    def finish_pkce(self, state, code):
        """Check `state`, exchange the code; return the profile name to serve."""
        with self._lock:
            login = self.logins.pop(state, None) if state else None
        if login is None:
            raise HTTPError(400, "unknown or used sign-in state: start the sign-in again from the page")
        if self.monotonic() - login["at"] >= LOGIN_TIMEOUT:
            raise HTTPError(400, "the sign-in took longer than %d seconds: start again" % LOGIN_TIMEOUT)
        profile, registration = login["profile"], login["registration"]
        answer = self.api.call(profile, "POST", sso_oidc_endpoint(profile, self.environ) + "/token", {
            "grantType": "authorization_code", "clientId": registration["clientId"],
            "clientSecret": registration["clientSecret"], "code": code, "codeVerifier": login["verifier"],
            "redirectUri": login["redirect_uri"]}, what="sso-oidc CreateToken")
        self._store(profile, registration, answer)
        return login["name"]

    def start_device(self, profile, name, on_success=None):
        """Start (or show the running) device sign-in; a thread polls."""
        key = sso_token_key(profile)
        with self._lock:
            running = self.devices.get(key)
            if running and running["status"] == "pending" and self.monotonic() < running["deadline"]:
                return self.device_view(profile)
        registration = self.registration(profile, pkce=False)
        try:
            answer = self._device_authorization(profile, registration)
        except SSOError as exc:
            if exc.aws_code != "InvalidClientException":
                raise
            registration = self.registration(profile, pkce=False, fresh=True)  # the registration was revoked
            answer = self._device_authorization(profile, registration)
        device = {"status": "pending", "message": "", "name": name, "user_code": answer["userCode"],
                  "verification_uri": answer.get("verificationUri") or "",
                  "verification_uri_complete": answer.get("verificationUriComplete") or "",
                  "deadline": self.monotonic() + int(answer.get("expiresIn") or 600),
                  "ended": threading.Event()}
        with self._lock:
            self.devices[key] = device
        interval = int(answer.get("interval") or DEVICE_INTERVAL)
        self.spawn(lambda: self._poll(profile, registration, answer["deviceCode"], interval, device, on_success))
        LOG.info("IAM Identity Center device sign-in started for %s", sso_owner(profile))
        return self.device_view(profile)

    def _device_authorization(self, profile, registration):
        return _need(self.api.call(profile, "POST", sso_oidc_endpoint(profile, self.environ) + "/device_authorization", {
            "clientId": registration["clientId"], "clientSecret": registration["clientSecret"],
            "startUrl": profile.sso_start_url}, what="sso-oidc StartDeviceAuthorization"),
            "deviceCode", "userCode", what="sso-oidc StartDeviceAuthorization")

    def _poll(self, profile, registration, device_code, interval, device, on_success):
        try:
            self._poll_loop(profile, registration, device_code, interval, device, on_success)
        except Exception:  # a bug: end the sign-in the page waits for, keep the traceback
            log_bug("IAM Identity Center device sign-in failed")
            self._end_device(device, "error", "internal error; see the service log")

    def _poll_loop(self, profile, registration, device_code, interval, device, on_success):
        """CreateToken every `interval` seconds until approved, denied,
        expired (by the service or by expiresIn on our side)."""
        body = {"grantType": DEVICE_GRANT, "clientId": registration["clientId"],
                "clientSecret": registration["clientSecret"], "deviceCode": device_code}
        url = sso_oidc_endpoint(profile, self.environ) + "/token"
        outcome = "the device code expired before the sign-in was approved: start again"
        while self.monotonic() + interval < device["deadline"]:
            self.sleep(interval)
            try:
                answer = self.api.call(profile, "POST", url, body, what="sso-oidc CreateToken")
            except SSOError as exc:
                if exc.aws_code == "AuthorizationPendingException":
                    continue
                if exc.aws_code == "SlowDownException":
                    interval += 5
                    continue
                outcome = {"ExpiredTokenException": outcome,
                           "AccessDeniedException": "the sign-in was denied in the browser"}.get(exc.aws_code, str(exc))
                break
            try:
                self._store(profile, registration, answer)
            except (SSOError, OSError) as exc:
                outcome = "the token could not be stored: %s" % (getattr(exc, "strerror", None) or exc)
                break
            if on_success is not None:
                on_success(device["name"])  # the role is fetched before the page hears "done"
            self._end_device(device, "done", "signed in")
            return
        self._end_device(device, "error", outcome)
        LOG.warning("IAM Identity Center device sign-in for %s: %s", sso_owner(profile), outcome)

    @staticmethod

    def _end_device(device, status, message):
        device["status"], device["message"] = status, message
        device["ended"].set()

    def device_view(self, profile):
        """What the page and the terminal show of the device sign-in."""
        device = self.devices.get(sso_token_key(profile))
        if device is None:
            return {"status": "none"}
        left = max(0, int(device["deadline"] - self.monotonic()))
        return {"status": device["status"], "message": device["message"], "user_code": device["user_code"],
                "verification_uri": device["verification_uri"],
                "verification_uri_complete": device["verification_uri_complete"], "expires_in": left}

    def wait_device(self, profile, timeout):
        device = self.devices.get(sso_token_key(profile))
        return device is not None and device["ended"].wait(timeout) and device["status"] == "done"


class SSORoles:
    """The portal: a role's credentials, and every account and role the
    signed-in user may use, found in parallel (throttling slows it, never
    ends it) and kept in ~/.aws/runas-meta/sso-roles-<key>.json (ours, not
    the CLI's cache) so a restart shows them at once."""

    def __init__(self, tokens, environ, sleep, api, writer, roles_dir):
        self.tokens, self.environ, self.sleep, self.api, self.writer = tokens, environ, sleep, api, writer
        self.roles_dir = roles_dir
        self.role_lists = {}  # token key -> its role discovery (roles, state, progress; kept on disk)
        self.discovery_workers = DISCOVERY_WORKERS
        self._lock = threading.Lock()

    def _portal(self, profile, path, query, what, retry_throttled=True):
        token = self.tokens.access_token(profile)
        url = sso_portal_endpoint(profile, self.environ) + path + "?" + urllib.parse.urlencode(query)
        try:
            return self.api.call(profile, "GET", url, headers={"x-amz-sso_bearer_token": token}, what=what,
                                 retry_throttled=retry_throttled)
        except SSOError as exc:
            if exc.http_status == 401:
                self.tokens.rejected[sso_token_key(profile)] = token
                raise self.tokens.login_required(profile, "IAM Identity Center no longer accepts the sign-in of "
                                          "%s: sign in again" % sso_owner(profile)) from None
            raise

    def role_credentials(self, profile):
        """GetRoleCredentials; a 403 names the account and role."""
        try:
            doc = self._portal(profile, "/federation/credentials", [
                ("role_name", profile.sso_role_name), ("account_id", profile.sso_account_id)],
                "IAM Identity Center GetRoleCredentials")
        except SSOError as exc:
            if exc.http_status == 403:
                raise SSONoAccess("IAM Identity Center gives no access to role %s in account %s (%s)"
                                  % (profile.sso_role_name, profile.sso_account_id, exc.aws_code),
                                  exc.aws_code, 403) from None
            raise
        found = doc.get("roleCredentials")
        found = _need(found if isinstance(found, dict) else {}, "accessKeyId", "secretAccessKey",
                      "sessionToken", "expiration", what="IAM Identity Center GetRoleCredentials")
        try:
            expiration = dt.datetime.fromtimestamp(int(found["expiration"]) / 1000.0, UTC)
        except (TypeError, ValueError, OverflowError, OSError):
            raise SSOError("IAM Identity Center GetRoleCredentials answered without a valid expiration") from None
        return Credentials(found["accessKeyId"], found["secretAccessKey"], found["sessionToken"],
                           expiration.replace(microsecond=0), account_id=profile.sso_account_id)

    def _pages(self, profile, path, query, items, what):
        found, next_token = [], None
        for _ in range(1000):  # a bound, not a limit anyone meets
            page = list(query) + [("max_result", str(SSO_PAGE_SIZE))]
            if next_token:
                page.append(("next_token", next_token))
            doc = self._portal(profile, path, page, what)
            found += [item for item in doc.get(items) or () if isinstance(item, dict)]
            next_token = doc.get("nextToken")
            if not next_token:
                break
        return found

    def list_roles(self, profile, wait=True):
        """Every account and role the signed-in user may use, each with the
        name it is served under.  The list found last (this run, or on disk
        from an earlier one) is answered at once; a discovery runs in the
        background when there is none or it is a day old.  `wait` waits for
        a running discovery to end."""
        self.tokens.access_token(profile)  # no sign-in: the 401 with its dialog, here and not in the background
        discovery = self._discovery(profile)
        if wait:
            discovery["finished"].wait()
        return list(discovery["roles"])

    def discovery_view(self, profile):
        """Progress for the page: state, accounts done of all, when found."""
        discovery = self._discovery(profile, start=False)
        if discovery is None:
            return None
        return {key: discovery[key] for key in ("state", "accounts_done", "accounts_total", "updated", "message")}

    def refresh_roles(self, profile):
        """The page's "Refresh list": a new discovery now."""
        discovery = self._discovery(profile)
        with self._lock:
            if discovery["state"] != "running":
                self._start_discovery(profile, discovery)
        return self.discovery_view(profile)

    def _discovery(self, profile, start=True):
        key = sso_token_key(profile)
        with self._lock:
            discovery = self.role_lists.get(key)
            if discovery is None and start:
                discovery = self.role_lists[key] = self._cached_roles(profile)
            if discovery is not None and start and discovery["state"] != "running" and (
                    discovery["updated"] is None or time.time() - discovery["updated_at"] > ROLE_LIST_REFRESH):
                self._start_discovery(profile, discovery)
        return discovery

    def _start_discovery(self, profile, discovery):
        """Under self._lock."""
        discovery.update(state="running", message="", accounts_done=0, accounts_total=None)
        discovery["finished"].clear()
        threading.Thread(target=self._discover, args=(profile, discovery), name="runas-meta-discovery",
                         daemon=True).start()

    def _discover(self, profile, discovery):
        try:
            roles = self._find_roles(profile, discovery)
        except RunasError as exc:
            LOG.warning("listing the IAM Identity Center roles of %s failed: %s", sso_owner(profile), exc)
            discovery.update(state="error", message=str(exc))
        else:
            now = time.time()
            discovery.update(roles=roles, state="done", updated=format_time(utcnow()), updated_at=now)
            self._save_roles(profile, discovery)
            LOG.info("found %d roles in %d accounts of %s", len(roles), discovery["accounts_total"], sso_owner(profile))
        finally:
            discovery["finished"].set()

    def _find_roles(self, profile, discovery):
        """ListAccounts, then ListAccountRoles for DISCOVERY_WORKERS accounts at
        a time; throttling slows it down (Limiter), never ends it.  Without a
        list from before, roles reach the page as they arrive."""
        accounts = self._pages(profile, "/assignment/accounts", [], "accountList", "IAM Identity Center ListAccounts")
        accounts = sorted(accounts, key=lambda a: (str(a.get("accountName")), str(a.get("accountId"))))
        discovery["accounts_total"] = len(accounts)
        found, pending, lock = {}, list(reversed(accounts)), threading.Lock()
        limiter, errors = Limiter(self.discovery_workers, self.sleep), []
        partial = not discovery["roles"]

        def work():
            while not errors:
                with lock:
                    if not pending:
                        return
                    account = pending.pop()
                try:
                    roles = self._account_roles(profile, account, limiter)
                except RunasError as exc:
                    errors.append(exc)
                    return
                with lock:
                    found[str(account.get("accountId") or "")] = roles
                    discovery["accounts_done"] += 1
                    if partial:
                        discovery["roles"] = [role for a in accounts for role in found.get(str(a.get("accountId")), ())]
        workers = [threading.Thread(target=work, name="runas-meta-discovery", daemon=True)
                   for _ in range(min(self.discovery_workers, len(accounts)) or 1)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join()
        if errors:
            raise errors[0]
        return [role for account in accounts for role in found[str(account.get("accountId") or "")]]

    def _account_roles(self, profile, account, limiter):
        account_id = str(account.get("accountId") or "")
        roles, next_token, pages, refusals = [], None, 0, 0
        while pages < 1000:  # bounds, not limits anyone meets
            query = [("account_id", account_id), ("max_result", str(SSO_PAGE_SIZE))]
            if next_token:
                query.append(("next_token", next_token))
            with limiter:
                try:
                    doc = self._portal(profile, "/assignment/roles", query, "IAM Identity Center ListAccountRoles",
                                       retry_throttled=False)
                except SSOError as exc:
                    refusals += 1
                    if exc.http_status != 429 or refusals > 300:
                        raise
                    limiter.throttled(exc.retry_after)
                    continue
            limiter.succeeded()
            pages += 1
            for role in doc.get("roleList") or ():
                if isinstance(role, dict):
                    role_name = str(role.get("roleName") or "")
                    roles.append({"name": "%s%s:%s:%s" % (SSO_ROLE_PREFIX, sso_owner(profile), account_id, role_name),
                                  "accountId": account_id, "accountName": str(account.get("accountName") or ""),
                                  "roleName": role_name})
            next_token = doc.get("nextToken")
            if not next_token:
                break
        return roles

    def _roles_path(self, profile):
        return os.path.join(self.roles_dir, "sso-roles-%s.json" % sso_token_key(profile))

    def _cached_roles(self, profile):
        discovery = {"roles": [], "state": "empty", "updated": None, "updated_at": 0.0, "message": "",
                     "accounts_done": 0, "accounts_total": None, "finished": threading.Event()}
        discovery["finished"].set()
        path = self._roles_path(profile)
        doc = _read_json(path)
        roles = doc.get("roles") if isinstance(doc, dict) else None
        if isinstance(roles, list) and all(isinstance(r, dict) and isinstance(r.get("name"), str) for r in roles) \
                and isinstance(doc.get("updated_at"), (int, float)):
            discovery.update(roles=roles, state="done", updated=doc.get("updated"), updated_at=float(doc["updated_at"]),
                             accounts_total=doc.get("accounts"))
        elif doc is not None or os.path.exists(path):
            LOG.warning("ignoring %s: not a role list; it will be found anew", path)
        return discovery

    def _save_roles(self, profile, discovery):
        doc = {"startUrl": profile.sso_start_url, "updated": discovery["updated"], "updated_at": discovery["updated_at"],
               "accounts": discovery["accounts_total"], "roles": discovery["roles"]}
        try:
            os.makedirs(self.roles_dir, mode=0o700, exist_ok=True)
            self.writer(self._roles_path(profile), json.dumps(doc).encode())
        except OSError as exc:
            LOG.warning("cannot keep the role list in %s: %s", self.roles_dir, _plain(exc))

    def forget_roles(self, profile):
        """A sign-in (perhaps as another user) replaces the list."""
        with self._lock:
            self.role_lists.pop(sso_token_key(profile), None)
        try:
            os.unlink(self._roles_path(profile))
        except OSError:
            pass


class IdentityCenter:
    """IAM Identity Center for the engine, in three rooms that share the
    token store: `tokens` (the cache shared with the AWS CLI), `sign_ins`
    (PKCE and device code) and `roles` (role credentials, role discovery).

    Side effects are parameters: `api` (AwsJson), `clock`, `monotonic`,
    `sleep` (device polling), `spawn(function)` (the poller's thread)."""

    def __init__(self, environ=None, clock=utcnow, monotonic=time.monotonic, sleep=time.sleep,
                 api=None, writer=None, spawn=None, cache_dir=None, roles_dir=None):
        environ = os.environ if environ is None else environ
        home = environ.get("HOME") or os.path.expanduser("~")
        api, writer = api or AwsJson(environ), writer or write_private_file
        self.tokens = SSOTokens(environ, clock, monotonic, api, writer,
                                cache_dir or os.path.join(home, ".aws", "sso", "cache"))
        self.roles = SSORoles(self.tokens, environ, sleep, api, writer,
                              roles_dir or os.path.join(home, ".aws", "runas-meta"))
        self.sign_ins = SSOSignIns(self.tokens, environ, clock, monotonic, sleep, api, spawn or _spawn_daemon,
                                   self.roles.forget_roles)


class Limiter:
    """Bounded concurrency that adapts to throttling: a 429 halves the calls
    allowed at once and pauses them all for Retry-After (or a backoff that
    doubles); each success allows one more, up to `most`."""

    def __init__(self, most, sleep=time.sleep, clock=time.monotonic):
        self.most, self.limit, self.active = most, most, 0
        self.paused_until, self.backoff = 0.0, 0.5
        self.sleep, self.clock = sleep, clock
        self.cond = threading.Condition()

    def __enter__(self):
        with self.cond:
            while self.active >= self.limit or self.clock() < self.paused_until:
                self.cond.wait(max(0.01, min(1.0, self.paused_until - self.clock())))
            self.active += 1

    def __exit__(self, *exc):
        with self.cond:
            self.active -= 1
            self.cond.notify_all()

    def throttled(self, retry_after=None):
        with self.cond:
            now = self.clock()
            if now < self.paused_until:
                return  # a call sent before the pause: the pause already answers it
            self.limit = max(1, self.limit // 2)
            delay = retry_after if retry_after is not None else self.backoff
            self.backoff = min(8.0, self.backoff * 2)
            self.paused_until = now + delay

    def succeeded(self):
        with self.cond:
            self.limit = min(self.most, self.limit + 1)
            self.backoff = 0.5
            self.cond.notify_all()


def shell_split(command):
    """Arguments of a credential_process as botocore splits them: like a
    POSIX shell (Windows: quotes group, backslashes stay), never a shell."""
    if os.name != "nt":
        return shlex.split(command)
    return [part[1:-1] if len(part) > 1 and part[0] == part[-1] == '"' else part
            for part in shlex.split(command, posix=False)]


# A credential_process runs in a process group of its own, so that a timeout
# stops its children too: a grandchild holding stdout open would otherwise
# keep the request (and the next one) waiting.
OWN_PROCESS_GROUP = ({"creationflags": getattr(subprocess, "CREATE_NEW_PROCESS_GROUP", 0)} if os.name == "nt"
                     else {"start_new_session": True})


def stop_process_group(process, run=subprocess.run):
    """Kill the process and everything it started (Windows: taskkill /T)."""
    try:
        if os.name == "nt":
            run(["taskkill", "/F", "/T", "/PID", str(process.pid)], stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL)
        else:
            os.killpg(process.pid, signal.SIGKILL)
    except OSError:
        pass
    process.kill()


def asks_this_service(command):
    """Whether a credential_process is `runas-meta process ...` (or
    `... runas_meta.py process ...`): the service must never run it."""
    try:
        words = shell_split(command)
    except (ValueError, ProcessError):
        return False
    names = [os.path.basename(word) for word in words]
    ours = any(name in ("runas-meta", "runas_meta.py", "runas_meta", SHIM_NAME) or "import runas_meta" in name
               for name in names)
    return ours and "process" in words


def run_quietly(command, what, timeout, popen=subprocess.Popen):
    """Run a profile's command (credential_process, mfa_process) with no
    shell and no stdin, in a process group of its own stopped at the
    timeout; its standard output.  Errors start with `what` and never hold
    what the process printed (stderr is read and dropped: it may too)."""
    try:
        argv = shell_split(command)
    except ValueError:
        raise ConfigError("%s cannot be split into arguments (unbalanced quotes?)" % what) from None
    if not argv:
        raise ConfigError("%s is empty" % what)
    try:
        process = popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        **OWN_PROCESS_GROUP)
    except OSError as exc:
        raise ProcessError("%s could not start %s: %s"
                           % (what, _printable(os.path.basename(argv[0]), 80), exc.strerror)) from None
    try:
        out, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        stop_process_group(process)
        process.communicate()  # every writer is gone: the pipes close
        raise ProcessError("%s did not finish within %d seconds and was stopped" % (what, timeout)) from None
    if process.returncode != 0:
        raise ProcessError("%s exited with status %d (its output is not shown: it may hold secrets)"
                           % (what, process.returncode))
    return out


def run_credential_process(command, name, timeout=PROCESS_TIMEOUT, popen=subprocess.Popen):
    """The command's Version 1 JSON as Credentials (expiration None: static
    keys).  Errors name the profile, never what the process printed."""
    out = run_quietly(command, "credential_process of profile %r" % name, timeout, popen)
    return parse_process_output(out, name)


def run_mfa_process(command, name, timeout=MFA_PROCESS_TIMEOUT, popen=subprocess.Popen):
    """aws-vault's mfa_process: a command that prints the current code
    (`ykman oath accounts code --single ...`, `op item get ... --otp`).
    Its output is the code (six digits, spaces and newlines around it
    ignored); anything else is an error that does not show it."""
    out = run_quietly(command, "mfa_process of profile %r" % name, timeout, popen)
    code = out.decode("ascii", "replace").strip()
    if not AWS_MFA_CODE.match(code):
        raise ProcessError("mfa_process of profile %r printed something that is not a six-digit code" % name)
    return code


def parse_process_output(out, name):
    """credential_process's Version 1 JSON as Credentials."""
    where = "credential_process of profile %r" % name
    try:
        doc = json.loads(out.decode("utf-8"))
    except (ValueError, UnicodeDecodeError):
        raise ProcessError("%s printed something that is not JSON" % where) from None
    if not isinstance(doc, dict):
        raise ProcessError("%s printed JSON that is not an object" % where)
    if doc.get("Version") != 1:
        raise ProcessError("%s printed no \"Version\": 1 (the only version there is)" % where)
    missing = [key for key in ("AccessKeyId", "SecretAccessKey") if not isinstance(doc.get(key), str) or not doc[key]]
    if missing:
        raise ProcessError("%s printed no %s" % (where, " or ".join(missing)))
    expiration = None
    if doc.get("Expiration"):
        try:
            expiration = parse_time(doc["Expiration"])
        except ValueError:
            raise ProcessError("%s printed an Expiration that is not an ISO 8601 time" % where) from None
    token = doc.get("SessionToken") if isinstance(doc.get("SessionToken"), str) else ""
    return Credentials(doc["AccessKeyId"], doc["SecretAccessKey"], token or "", expiration,
                       account_id=str(doc.get("AccountId") or ""))


# ==== ES256: P-256 ECDSA for DPoP proofs ===================================
# aws login's sessions sign each token call with a DPoP proof (RFC 9449): a
# JWT signed with ES256 by the session's P-256 key.  Plain Python: points in
# Jacobian coordinates, a Montgomery ladder over all 256 bits, nonces by RFC
# 6979 (HMAC-SHA256, so no random number goes into a signature), r and s as
# 32 bytes each.  Python's integers are not constant-time: the key is the
# user's own, on the user's machine, as the AWS CLI's file keeps it.

P256_P = 0xFFFFFFFF00000001000000000000000000000000FFFFFFFFFFFFFFFFFFFFFFFF
P256_B = 0x5AC635D8AA3A93E7B3EBBD55769886BC651D06B0CC53B0F63BCE3C3E27D2604B
P256_N = 0xFFFFFFFF00000000FFFFFFFFFFFFFFFFBCE6FAADA7179E84F3B9CAC2FC632551
P256_G = (0x6B17D1F2E12C4247F8BCE6E563A440F277037D812DEB33A0F4A13945D898C296,
          0x4FE342E2FE1A7F9B8EE7EB4A7C0F9E162BCE33576B315ECECBB6406837BF51F5, 1)
P256_OID = bytes.fromhex("06082a8648ce3d030107")  # prime256v1
EC_PUBLIC_KEY_OID = bytes.fromhex("06072a8648ce3d0201")  # id-ecPublicKey


def _p256_double(point):
    x, y, z = point
    if z == 0 or y == 0:
        return (1, 1, 0)
    p = P256_P
    delta, gamma = z * z % p, y * y % p
    beta, alpha = x * gamma % p, 3 * (x - delta) * (x + delta) % p  # a = -3
    x3 = (alpha * alpha - 8 * beta) % p
    z3 = ((y + z) * (y + z) - gamma - delta) % p
    return x3, (alpha * (4 * beta - x3) - 8 * gamma * gamma) % p, z3


def _p256_add(one, two):
    if one[2] == 0:
        return two
    if two[2] == 0:
        return one
    p, (x1, y1, z1), (x2, y2, z2) = P256_P, one, two
    z1z1, z2z2 = z1 * z1 % p, z2 * z2 % p
    u1, u2 = x1 * z2z2 % p, x2 * z1z1 % p
    s1, s2 = y1 * z2 * z2z2 % p, y2 * z1 * z1z1 % p
    h, r = (u2 - u1) % p, 2 * (s2 - s1) % p
    if h == 0:
        return _p256_double(one) if r == 0 else (1, 1, 0)
    i = 4 * h * h % p
    j, v = h * i % p, u1 * i % p
    x3 = (r * r - j - 2 * v) % p
    return x3, (r * (v - x3) - 2 * s1 * j) % p, ((z1 + z2) * (z1 + z2) - z1z1 - z2z2) * h % p


def p256_multiply(k, point=P256_G):
    """k * point, affine (x, y): a ladder with the same steps for every k."""
    low, high = (1, 1, 0), point
    for bit in range(255, -1, -1):
        if (k >> bit) & 1:
            low, high = _p256_add(low, high), _p256_double(high)
        else:
            low, high = _p256_double(low), _p256_add(low, high)
    x, y, z = low
    if z == 0:
        raise ValueError("the point at infinity")
    inverse = pow(z, P256_P - 2, P256_P)
    return x * inverse * inverse % P256_P, y * inverse * inverse * inverse % P256_P


def rfc6979_nonce(secret, digest):
    """RFC 6979 section 3.2's k for P-256 and HMAC-SHA256."""
    x = secret.to_bytes(32, "big")
    h = (int.from_bytes(digest, "big") % P256_N).to_bytes(32, "big")
    v, k = b"\x01" * 32, b"\x00" * 32
    for marker in (b"\x00", b"\x01"):
        k = hmac.new(k, v + marker + x + h, hashlib.sha256).digest()
        v = hmac.new(k, v, hashlib.sha256).digest()
    while True:
        v = hmac.new(k, v, hashlib.sha256).digest()
        candidate = int.from_bytes(v, "big")
        if 1 <= candidate < P256_N:
            return candidate
        k = hmac.new(k, v + b"\x00", hashlib.sha256).digest()
        v = hmac.new(k, v, hashlib.sha256).digest()


class P256Key:
    """A P-256 private key: from SEC1 or PKCS#8 (DER or PEM), or new; it
    signs as JWS's ES256 (r || s, 64 bytes) and exports as SEC1 PEM."""

    def __init__(self, secret):
        if not 1 <= secret < P256_N:
            raise ValueError("not a P-256 private key")
        self.secret, self._public = secret, None

    @property
    def public(self):
        """(x, y), computed on first use: reading a key to check it costs no multiplication."""
        if self._public is None:
            self._public = p256_multiply(self.secret)
        return self._public

    @classmethod
    def generate(cls):
        return cls(secrets.randbelow(P256_N - 1) + 1)

    @classmethod
    def from_pem(cls, text):
        """The key of an "EC PRIVATE KEY" (SEC1) or "PRIVATE KEY" (PKCS#8) block."""
        found = re.search(r"-----BEGIN (EC PRIVATE KEY|PRIVATE KEY)-----(.*?)-----END \1-----", text, re.S)
        if found is None:
            raise ValueError("no EC PRIVATE KEY or PRIVATE KEY block")
        return cls.from_der(base64.b64decode("".join(found.group(2).split())), found.group(1) == "PRIVATE KEY")

    @classmethod
    def from_der(cls, data, pkcs8=False):
        fields = _der_sequence(data)
        if pkcs8:  # version 0, the algorithm (id-ecPublicKey, prime256v1), the SEC1 key in an OCTET STRING
            algorithm = [_der(tag, value) for tag, value in _der_sequence(_der(0x30, fields[1][1]))]
            if fields[0] != (0x02, b"\x00") or algorithm != [EC_PUBLIC_KEY_OID, P256_OID]:
                raise ValueError("not a PKCS#8 P-256 key")
            return cls.from_der(fields[2][1])
        if fields[0] != (0x02, b"\x01") or fields[1][0] != 0x04 or len(fields[1][1]) > 32:
            raise ValueError("not a SEC1 EC private key")
        for tag, value in fields[2:]:
            if tag == 0xA0 and value != P256_OID:
                raise ValueError("an EC key on another curve than P-256")
        return cls(int.from_bytes(fields[1][1], "big"))

    def sign(self, message):
        """ECDSA over SHA-256 with RFC 6979's nonce: r || s, 32 bytes each."""
        digest = hashlib.sha256(message).digest()
        e = int.from_bytes(digest, "big") % P256_N
        k = rfc6979_nonce(self.secret, digest)
        r = p256_multiply(k)[0] % P256_N
        s = pow(k, P256_N - 2, P256_N) * (e + r * self.secret) % P256_N
        return r.to_bytes(32, "big") + s.to_bytes(32, "big")

    def jwk(self):
        x, y = self.public
        return {"kty": "EC", "x": _b64url(x.to_bytes(32, "big")), "y": _b64url(y.to_bytes(32, "big")), "crv": "P-256"}

    def to_pem(self):
        """SEC1 "EC PRIVATE KEY" with the curve and the public key, in 64-character lines."""
        x, y = self.public
        der = _der(0x30, _der(0x02, b"\x01") + _der(0x04, self.secret.to_bytes(32, "big")) + _der(0xA0, P256_OID) +
                   _der(0xA1, _der(0x03, b"\x00\x04" + x.to_bytes(32, "big") + y.to_bytes(32, "big"))))
        body = base64.b64encode(der).decode("ascii")
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN EC PRIVATE KEY-----\n%s\n-----END EC PRIVATE KEY-----\n" % "\n".join(lines)


def _der(tag, value):
    size = len(value)
    length = bytes([size]) if size < 128 else bytes([0x80 | ((size.bit_length() + 7) // 8)]) + \
        size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes([tag]) + length + value


def _der_sequence(data):
    """[(tag, value)] of a DER SEQUENCE's elements (the whole input must be one)."""
    tag, value, rest = _der_read(data)
    if tag != 0x30 or rest:
        raise ValueError("not a DER SEQUENCE")
    fields = []
    while value:
        inner_tag, inner, value = _der_read(value)
        fields.append((inner_tag, inner))
    return fields


def _der_read(data):
    if len(data) < 2:
        raise ValueError("truncated DER")
    tag, size, at = data[0], data[1], 2
    if size & 0x80:
        count = size & 0x7F
        if not 0 < count <= 4 or len(data) < 2 + count:
            raise ValueError("bad DER length")
        size, at = int.from_bytes(data[2:2 + count], "big"), 2 + count
    if len(data) < at + size:
        raise ValueError("truncated DER")
    return tag, data[at:at + size], data[at + size:]


def _b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def dpop_proof(key, url, now, method="POST", jti=None):
    """A DPoP proof for one request (RFC 9449), as botocore makes them:
    header typ dpop+jwt, alg ES256, the public key as a JWK; claims htm, htu,
    iat, jti."""
    header = {"typ": "dpop+jwt", "alg": "ES256", "jwk": key.jwk()}
    claims = {"htm": method, "htu": url, "iat": int(now), "jti": jti or secrets.token_urlsafe(24)}
    signing_input = "%s.%s" % (_b64url(json.dumps(header, separators=(",", ":")).encode()),
                               _b64url(json.dumps(claims, separators=(",", ":")).encode()))
    return signing_input + "." + _b64url(key.sign(signing_input.encode("ascii")))


# ==== aws login sessions ===================================================
# `aws login` (AWS CLI 2.32+) keeps a console sign-in's session in
# ~/.aws/login/cache/<sha256 of the session ARN>.json: 15-minute keys, a
# refresh token that rotates on every use, and the P-256 key whose DPoP
# proofs sign every call to Sign-In's CreateOAuth2Token (POST /v1/token,
# botocore's `signin` model).  Served as the AWS CLI reads it; refreshed by
# one owner, under a lock, written back atomically in the CLI's format.

LOGIN_CLIENTS = {"same-device": "arn:aws:signin:::devtools/same-device",
                 "cross-device": "arn:aws:signin:::devtools/cross-device"}
LOGIN_REFRESH_WINDOW = 5 * MINUTE  # botocore's: a cached key with more left is used as it is
LOGIN_CALLBACK_PATH = SSO_CALLBACK_PATH  # the AWS CLI's redirect path, on our own port (OAuthCallbacks)
LOGIN_SIGN_IN_AGAIN = ("TOKEN_EXPIRED", "USER_CREDENTIALS_CHANGED", "AUTHCODE_EXPIRED")
LOGIN_FIELDS = ("accessToken", "refreshToken", "dpopKey", "clientId")


class SignInError(AwsServiceError):
    """AWS Sign-In answered with an error; `oauth_error` is its `error` field."""

    code = "SignInError"
    oauth_error = ""


class SignInUnavailable(SignInError):
    status = 503
    code = "SignInUnavailable"


class LoginRequired(AuthRequired):
    """No usable aws login session: sign in again (the page's browser sign-in)."""

    code = "LoginRequired"
    auth_type = "BROWSER"


class SignInJson(AwsJson):
    """Sign-In's JSON calls: its errors carry an OAuth `error` field."""

    error, unavailable = SignInError, SignInUnavailable

    def _once(self, profile, method, url, body, headers, what):
        """`headers` may be a function: a DPoP proof is made for each attempt."""
        return super()._once(profile, method, url, body, headers() if callable(headers) else headers, what)


def login_cache_dir(environ):
    """AWS_LOGIN_CACHE_DIRECTORY ($VAR and ~ expanded), else ~/.aws/login/cache."""
    return expand_path(environ.get("AWS_LOGIN_CACHE_DIRECTORY") or "~/.aws/login/cache", environ)


def signin_endpoint(profile, environ):
    """Sign-In's base URL: configured (AWS_ENDPOINT_URL_SIGNIN, ...), else by region."""
    region = profile.region or environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or "us-east-1"
    host = ("%s.signin.amazonaws.cn" % region if region.startswith("cn-") else
            "%s.signin.amazonaws-us-gov.com" % region if region.startswith("us-gov-") else
            "%s.signin.aws.amazon.com" % region)
    return aws_endpoint(profile, environ, "SIGNIN", profile.signin_endpoint_url, "https://" + host)


def _login_credentials(doc):
    token = doc["accessToken"]
    return Credentials(token["accessKeyId"], token["secretAccessKey"], token["sessionToken"],
                       parse_time(token["expiresAt"]), account_id=str(token.get("accountId") or ""))


class LoginSessions:
    """The aws login cache, shared with the AWS CLI: a session's keys, and
    their refresh.  A refresh takes a lock (another runas-meta), then reads
    the file again (the AWS CLI, which takes none, may have refreshed: its
    keys are used and its refresh token is not spent twice).  A rotated
    token the disk cannot take is kept in memory, served, and written by
    the renewal loop (retry_unwritten) as long as the file holds nothing newer."""

    def __init__(self, environ, clock, api, writer=write_private_file, cache_dir=None):
        self.environ, self.clock, self.api, self.writer = environ, clock, api, writer
        self.cache_dir = cache_dir or login_cache_dir(environ)
        self.unwritten = {}  # session -> a token document the cache could not take

    def path(self, session):
        return os.path.join(self.cache_dir, hashlib.sha256(session.encode("utf-8")).hexdigest() + ".json")

    def document(self, session):
        """The session's token document (the file's, or memory's while it
        lags: the renewal loop writes it, retry_unwritten), or None."""
        on_disk, kept = _read_json(self.path(session)), self.unwritten.get(session)
        if kept is not None:
            if on_disk and on_disk.get("refreshToken") != kept.get("refreshToken") and \
                    _login_expiry(on_disk) > _login_expiry(kept):
                self.unwritten.pop(session, None)  # refreshed or signed in again elsewhere: the file wins
                return on_disk
            return kept
        return on_disk

    def credentials(self, profile):
        """The session's keys, refreshed (and written back) when under
        LOGIN_REFRESH_WINDOW is left."""
        doc = self._usable(profile)
        creds = _login_credentials(doc)
        if creds.remaining(self.clock()) > LOGIN_REFRESH_WINDOW:
            return creds
        with file_lock(self.path(profile.login_session) + ".lock"):
            doc = self._usable(profile)  # read again: another process may have refreshed meanwhile
            creds = _login_credentials(doc)
            if creds.remaining(self.clock()) > LOGIN_REFRESH_WINDOW:
                return creds
            return _login_credentials(self._refresh(profile, doc))

    def _usable(self, profile):
        doc = self.document(profile.login_session)
        if not doc:
            raise self.required(profile, "no aws login session %s is cached in %s: sign in" % (
                profile.login_session, self.cache_dir))
        missing = [name for name in LOGIN_FIELDS if not doc.get(name)]
        try:
            if not missing:
                _login_credentials(doc)
                P256Key.from_pem(doc["dpopKey"])
        except (KeyError, TypeError, ValueError):
            missing = ["a readable accessToken and dpopKey"]
        if missing:
            raise self.required(profile, "the aws login cache %s lacks %s: sign in again" % (
                self.path(profile.login_session), ", ".join(missing)))
        return doc

    def _refresh(self, profile, doc):
        key, url = P256Key.from_pem(doc["dpopKey"]), signin_endpoint(profile, self.environ) + "/v1/token"
        try:
            answer = self.api.call(profile, "POST", url, {
                "clientId": doc["clientId"], "grantType": "refresh_token", "refreshToken": doc["refreshToken"]},
                headers=lambda: {"DPoP": dpop_proof(key, url, self.clock().timestamp())},
                what="Sign-In CreateOAuth2Token")
        except SignInError as exc:
            if exc.oauth_error in LOGIN_SIGN_IN_AGAIN:
                raise self.required(profile, "the aws login session has ended (%s): sign in again"
                                    % exc.oauth_error) from None
            if exc.oauth_error == "INSUFFICIENT_PERMISSIONS":
                raise SignInError("the console user of %s may not use aws login: its permissions must allow "
                                  "signin:AuthorizeOAuth2Access and signin:CreateOAuth2Token (Sign-In said "
                                  "INSUFFICIENT_PERMISSIONS)" % profile.login_session, exc.aws_code, 403) from None
            raise
        new = self.merged(doc, answer)
        self.save(profile.login_session, new)
        LOG.info("refreshed the aws login session of profile %r", profile.name)
        return new

    def merged(self, doc, answer):
        """The cache document after a token answer, as botocore writes it."""
        _need(answer, "accessToken", "expiresIn", "refreshToken", what="Sign-In CreateOAuth2Token")
        token = answer["accessToken"]
        expires = self.clock() + dt.timedelta(seconds=int(answer["expiresIn"]))
        return dict(doc, accessToken={
            "accessKeyId": token["accessKeyId"], "secretAccessKey": token["secretAccessKey"],
            "sessionToken": token["sessionToken"], "accountId": doc.get("accessToken", {}).get("accountId", ""),
            "expiresAt": format_time(expires)}, refreshToken=answer["refreshToken"])

    def save(self, session, doc):
        """Atomically, 0600, the CLI's JSON; kept in memory when the disk refuses."""
        try:
            os.makedirs(self.cache_dir, mode=0o700, exist_ok=True)
            self.writer(self.path(session), json.dumps(doc).encode("utf-8"))
        except OSError as exc:
            if session not in self.unwritten:
                LOG.warning("cannot write the aws login cache %s (%s): the new token is kept in memory and "
                            "written once the disk takes it", self.cache_dir, _plain(exc))
            self.unwritten[session] = doc
            return
        if self.unwritten.pop(session, None) is not None:
            LOG.info("the aws login token kept in memory is written to %s again", self.cache_dir)

    def retry_unwritten(self):
        """The renewal loop's job: write what the disk refused before."""
        for session, doc in list(self.unwritten.items()):
            self.save(session, doc)
        return not self.unwritten

    def required(self, profile, message):
        query = urllib.parse.urlencode({"profile": profile.name})
        return LoginRequired(message, profile.name, extra={"login_url": "/login/start?" + query,
                                                           "remote_url": "/login/remote?" + query,
                                                           "provider": "AWS (aws login)"})

    def next_sign_in(self, profile):
        doc = self.document(profile.login_session) if profile.login_session else None
        if doc and doc.get("refreshToken"):
            return {"at": None, "what": "aws login sign-in",
                    "note": "renewed without asking while your console session lasts (up to 12 hours)"}
        return {"at": None, "what": "aws login sign-in"}


def _login_expiry(doc):
    try:
        return parse_time(doc["accessToken"]["expiresAt"])
    except (KeyError, TypeError, ValueError):
        return dt.datetime.min.replace(tzinfo=dt.timezone.utc)


class LoginSignIns:
    """aws login's browser sign-in, as the AWS CLI does it: PKCE (its
    challenge method SHA-256, the challenge without its '=' pad), a new
    P-256 key, the same-device client with our callback, or the cross-device
    client whose code the user pastes; the code exchanged with a DPoP proof,
    the session written where the AWS CLI reads it."""

    def __init__(self, sessions, environ, clock, monotonic=time.monotonic):
        self.sessions, self.environ, self.clock, self.monotonic = sessions, environ, clock, monotonic
        self.pending, self._lock = {}, threading.Lock()

    def start(self, profile, name, redirect_uri=None):
        """The authorize URL; remembered by its state.  Without
        `redirect_uri`: the cross-device variant (Sign-In shows a code)."""
        base = signin_endpoint(profile, self.environ)
        client = LOGIN_CLIENTS["same-device" if redirect_uri else "cross-device"]
        redirect_uri = redirect_uri or base + "/v1/sessions/confirmation"
        verifier, challenge = pkce_pair()  # the CLI's challenge: base64url of SHA-256 less its one '='
        state, now = str(uuid_text()), self.monotonic()
        with self._lock:
            self.pending = {k: v for k, v in self.pending.items() if now - v["at"] < LOGIN_TIMEOUT}
            self.pending[state] = {"profile": profile, "name": name, "verifier": verifier, "client": client,
                                   "redirect_uri": redirect_uri, "key": P256Key.generate(), "at": now}
        query = urllib.parse.urlencode([("response_type", "code"), ("client_id", client), ("state", state),
                                        ("code_challenge_method", "SHA-256"), ("scope", "openid"),
                                        ("redirect_uri", redirect_uri)], quote_via=urllib.parse.quote)
        return "%s/v1/authorize?%s&code_challenge=%s" % (base, query, challenge)

    def finish(self, state, code):
        """Check `state`, exchange the code (DPoP), write the session's
        cache; the profile name to serve."""
        with self._lock:
            login = self.pending.pop(state, None) if state else None
        if login is None:
            raise HTTPError(400, "unknown or used sign-in state: start the sign-in again from the page")
        if self.monotonic() - login["at"] >= LOGIN_TIMEOUT:
            raise HTTPError(400, "the sign-in took longer than %d seconds: start again" % LOGIN_TIMEOUT)
        profile, key = login["profile"], login["key"]
        url = signin_endpoint(profile, self.environ) + "/v1/token"
        try:
            answer = self.sessions.api.call(profile, "POST", url, {
                "clientId": login["client"], "grantType": "authorization_code", "code": code,
                "codeVerifier": login["verifier"], "redirectUri": login["redirect_uri"]},
                headers=lambda: {"DPoP": dpop_proof(key, url, self.clock().timestamp())},
                what="Sign-In CreateOAuth2Token")
        except SignInError as exc:
            if exc.oauth_error == "AUTHCODE_EXPIRED":
                raise LoginRequired("the sign-in's code expired before it was used: sign in again",
                                    profile.name) from None
            raise
        session = str(jwt_claims(answer.get("idToken", "")).get("sub") or "")
        if session != profile.login_session:
            raise ConfigError("you signed in as %s, but profile %r names login_session %s: sign in as that "
                              "session, or change the profile" % (session or "(no session)", profile.name,
                                                                 profile.login_session))
        doc = self.sessions.merged({"accessToken": {"accountId": account_from_arn(session)}}, answer)
        doc.update(tokenType=answer.get("tokenType", "aws_sigv4"), clientId=login["client"],
                   idToken=answer.get("idToken", ""), dpopKey=key.to_pem())
        self.sessions.save(session, doc)
        LOG.info("signed in with aws login for profile %r", profile.name)
        return login["name"]

    def finish_pasted(self, text):
        """The cross-device code as Sign-In shows it: base64 of
        state=...&code=..."""
        try:
            fields = dict(urllib.parse.parse_qsl(base64.b64decode(text.strip(), validate=True).decode("utf-8")))
        except (ValueError, UnicodeDecodeError):
            raise HTTPError(400, "that is not the code Sign-In shows after the sign-in") from None
        if not fields.get("state") or not fields.get("code"):
            raise HTTPError(400, "that is not the code Sign-In shows after the sign-in")
        return self.finish(fields["state"], fields["code"])


def uuid_text():
    """A random UUID's text (the CLI's state is one), without importing uuid."""
    raw = bytearray(secrets.token_bytes(16))
    raw[6], raw[8] = (raw[6] & 0x0F) | 0x40, (raw[8] & 0x3F) | 0x80
    text = raw.hex()
    return "%s-%s-%s-%s-%s" % (text[:8], text[8:12], text[12:16], text[16:20], text[20:])


# ==== The AWS console ======================================================
# aws-vault's `login`: the active role's credentials become a federated
# console sign-in (the federation endpoint's getSigninToken, then its login
# URL with the console of the profile's region).  The sign-in token is a
# bearer secret: it is never logged, and leaves only in the redirect.


class ConsoleError(AwsServiceError):
    code = "ConsoleSignInError"


class ConsoleRefused(ConsoleError):
    """These credentials cannot open the console (the message says why)."""

    status = 400
    code = "CannotFederate"


class ConsoleUnavailable(ConsoleError):
    status = 503
    code = "ConsoleSignInUnavailable"


class ConsoleJson(AwsJson):
    error, unavailable = ConsoleError, ConsoleUnavailable


# region prefix -> (federation endpoint, console home with {region})
CONSOLE_PARTITIONS = (
    ("cn-", "https://signin.amazonaws.cn/federation", "https://console.amazonaws.cn/console/home?region={region}"),
    ("us-gov-", "https://signin.amazonaws-us-gov.com/federation",
     "https://console.amazonaws-us-gov.com/console/home?region={region}"),
    ("", "https://signin.aws.amazon.com/federation", "https://{region}.console.aws.amazon.com/console/home?region={region}"),
)
CONSOLE_ISSUER = "runas-meta"
CANNOT_FEDERATE = frozenset({"session", "static"})  # GetSessionToken or plain keys


def check_federation_url(environ):
    """RUNAS_META_FEDERATION_URL, checked at start: a URL without a scheme
    would fail only once the session keys are in its query."""
    url = environ.get("RUNAS_META_FEDERATION_URL")
    if url and not re.match(r"https?://[^/?#\s]+", url):
        raise UsageError("RUNAS_META_FEDERATION_URL must start with http:// or https:// and name a host")


def console_endpoints(region, environ):
    """(federation endpoint, console URL) of the region's partition;
    RUNAS_META_FEDERATION_URL overrides the endpoint (tests, proxies)."""
    region = region or "us-east-1"
    for prefix, federation, console in CONSOLE_PARTITIONS:
        if region.startswith(prefix):
            return environ.get("RUNAS_META_FEDERATION_URL") or federation, console.format(region=region)


def console_sign_in_url(creds, region, environ, api, profile):
    """The login URL that opens the console as `creds` (getSigninToken first)."""
    federation, destination = console_endpoints(region, environ)
    session = json.dumps({"sessionId": creds.access_key_id, "sessionKey": creds.secret_access_key,
                          "sessionToken": creds.session_token})
    doc = api.call(profile, "GET", federation + "?" + urllib.parse.urlencode(
        [("Action", "getSigninToken"), ("Session", session)]), what="the AWS federation endpoint")
    token = doc.get("SigninToken")
    if not isinstance(token, str) or not token:
        raise ConsoleError("the AWS federation endpoint answered without a SigninToken")
    return federation + "?" + urllib.parse.urlencode([
        ("Action", "login"), ("Issuer", CONSOLE_ISSUER), ("Destination", destination), ("SigninToken", token)])


# ==== Credentials and their sources ========================================


class Credentials:
    """A set of AWS credentials.  repr() shows no secret.  The documents the
    service sends are built once per set (they are served many times)."""

    __slots__ = ("access_key_id", "secret_access_key", "session_token", "expiration",
                 "role_arn", "account_id", "obtained", "identity", "_documents")

    def __init__(self, access_key_id, secret_access_key, session_token="", expiration=None,
                 role_arn="", account_id="", obtained=None):
        self.access_key_id = access_key_id
        self.secret_access_key = secret_access_key
        self.session_token = session_token
        self.expiration = expiration
        self.role_arn, self.account_id = role_arn, account_id
        self.obtained = obtained or utcnow()
        self.identity = None  # GetCallerIdentity's answer, asked at most once
        self._documents = {}

    def __repr__(self):
        return "Credentials(%s..., expires %s)" % (self.access_key_id[:4],
                                                   self.expiration and format_time(self.expiration))

    def remaining(self, now):
        return (self.expiration - now).total_seconds()

    def lifetime(self):
        return (self.expiration - self.obtained).total_seconds()

    def refresh_window(self):
        """Seconds before expiry at which a background renewal starts."""
        return min(REFRESH_AHEAD, max(0.0, self.lifetime()) * REFRESH_FRACTION)

    def document(self, kind):
        """JSON bytes for 'imds', 'imds-extended' or 'ecs', built once."""
        body = self._documents.get(kind)
        if body is None:
            body = self._documents[kind] = json.dumps(self._fields(kind)).encode()
        return body

    def _fields(self, kind):
        keys = {"AccessKeyId": self.access_key_id, "SecretAccessKey": self.secret_access_key,
                "Token": self.session_token, "Expiration": format_time(self.expiration)}
        if kind == "ecs":
            keys.update(RoleArn=self.role_arn, AccountId=self.account_id)
            return {k: v for k, v in keys.items() if v}
        doc = {"Code": "Success", "LastUpdated": format_time(self.obtained), "Type": "AWS-HMAC"}
        doc.update(keys)
        if kind == "imds-extended" and self.account_id:
            doc["AccountId"] = self.account_id
        return doc

    def to_cache(self):
        """aws-runas's cache file line."""
        return json.dumps({"AccessKeyId": self.access_key_id,
                           "Expiration": format_time(self.expiration),
                           "SecretAccessKey": self.secret_access_key,
                           "SessionToken": self.session_token}).encode() + b"\n"

    @classmethod
    def from_cache(cls, data, role_arn, now):
        """Read a cache line.  The issue time is not stored: assume at least
        an hour's lifetime, so that refresh-ahead still works."""
        doc = json.loads(data)
        expiration = parse_time(doc["Expiration"])
        return cls(doc["AccessKeyId"], doc["SecretAccessKey"], doc["SessionToken"], expiration,
                   role_arn=role_arn, account_id=account_from_arn(role_arn),
                   obtained=min(now, expiration - dt.timedelta(hours=1)))


class _Flight:
    """One fetch in progress; callers that arrive meanwhile share its outcome."""

    def __init__(self):
        self.done = threading.Event()
        self.result = self.error = None


class Layer:
    """One cached set of credentials: a session token or an assumed role.

    `fetch(code)` makes the STS call.  The layer gives single flight (any
    number of concurrent callers, one fetch) and remembers what the last
    background renewal ran into."""

    def __init__(self, key, cache_file, label, mfa_serial=""):
        self.key, self.cache_file, self.label = key, cache_file, label
        self.mfa_serial = mfa_serial
        self.fetch = None
        self.creds = None
        self.disk_checked = False
        self.flight = None
        self.lock = threading.Lock()
        self.error = None  # the last failure's message
        self.mfa_pending = False  # a renewal is waiting for an MFA code
        self.retry_at = None
        self.used_at = None  # when credentials were last asked of this layer
        self.idp = False  # signs in through an identity provider
        self.auth_pending = None  # the AuthRequired a renewal ran into
        self.fetched = False  # has had credentials in this run (a sign-in is then "again")
        self.prompt = None  # () -> {"at", "what"[, "note"]}: when this layer next needs the user
        self.failure = None  # _Failure: what the last fetch ran into, answered until it may be asked again
        self.stale_told = None  # the failure last logged as "serving what is still valid"


class _Failure:
    """A layer's failed fetch: the error, its pause and when it ends."""

    __slots__ = ("error", "pause", "until")

    def __init__(self, error, pause, until):
        self.error, self.pause, self.until = error, pause, until


def failure_pause(error, previous, rand):
    """(pause, seconds to wait) after `error`: the pause doubles from the
    kind's first to its longest; the wait is half of it plus a random half,
    or the service's Retry-After."""
    throttled = isinstance(error, AwsServiceError) and (
        error.aws_code in THROTTLING_CODES or error.http_status == 429)
    first, longest = THROTTLED_PAUSE if throttled else FAILURE_PAUSE
    pause = min(longest, previous.pause * 2) if previous is not None and previous.pause >= first else first
    retry_after = getattr(error, "retry_after", None)
    if retry_after is not None:
        return pause, min(max(float(retry_after), 1.0), 5 * MINUTE)
    return pause, pause / 2 + rand() * pause / 2


# credential_source: the service process's own environment, or the real
# container endpoint / instance metadata service it runs under.  Never the
# service itself (legacy mode on 169.254.169.254, ecs --containers on
# 169.254.170.2, a FULL_URI at our listener), and no redirect, as botocore.
SOURCE_TIMEOUT = 2.0
ECS_URL = "http://169.254.170.2"  # where AWS_CONTAINER_CREDENTIALS_RELATIVE_URI points


class CredentialSourceError(RunasError):
    status = 502
    code = "CredentialSourceError"


def fetch_credential_source(profile, environ, own_addresses=(), opener=None):
    """Credentials for a role's credential_source (Profile.kind "environment",
    "container" or "imds"); errors name the profile and the source.
    `own_addresses`: the (address, port) of each of the service's listeners."""
    where = "credential_source %s of profile %r" % (profile.credential_source, profile.name)
    if profile.kind == "environment":
        key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
        if not key or not secret:
            raise CredentialSourceError("%s: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set in the "
                                        "service's environment" % where)
        token = environ.get("AWS_SESSION_TOKEN") or environ.get("AWS_SECURITY_TOKEN") or ""
        return Credentials(key, secret, token, utcnow() + dt.timedelta(seconds=STATIC_TOKEN_LIFETIME))
    opener = opener or web()["request"].build_opener(web()["request"].ProxyHandler({}), web()["NoRedirect"])
    if profile.kind == "container":
        url, headers = _container_source(environ, where)
    else:
        if environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
            raise CredentialSourceError("%s: AWS_EC2_METADATA_DISABLED is true" % where)
        url, headers = (environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or "http://" + LEGACY_ADDRESS).rstrip("/"), {}
    if _asks_itself(url, own_addresses):
        raise CredentialSourceError("%s points at this service itself (%s): it would ask itself" % (where, _origin_of(url)))
    if profile.kind == "imds":
        headers = _imds_token(opener, url, where)
        role = _source_get(opener, url + IMDS_CREDS + "/", headers, where).decode().split()[0:1]
        if not role:
            raise CredentialSourceError("%s: the instance has no IAM role" % where)
        url = url + IMDS_CREDS + "/" + role[0]
    doc = _source_get(opener, url, headers, where)
    try:
        doc = json.loads(doc.decode("utf-8"))
        return Credentials(doc["AccessKeyId"], doc["SecretAccessKey"], doc.get("Token") or "",
                           parse_time(doc["Expiration"]), role_arn=doc.get("RoleArn", ""))
    except (ValueError, KeyError, TypeError, AttributeError):
        raise CredentialSourceError("%s answered without AccessKeyId, SecretAccessKey and Expiration" % where) from None


def _asks_itself(url, own_addresses):
    """Whether `url` leads to one of our listeners, however it names it
    (localhost, 127.0.0.1, [::1], 169.254.170.2, with or without :80)."""
    parts = urllib.parse.urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        found = {(info[4][0], port) for info in socket.getaddrinfo(parts.hostname, port, type=socket.SOCK_STREAM)}
    except (OSError, ValueError, UnicodeError):
        return False  # the fetch fails on its own, and names the source
    return not found.isdisjoint(own_addresses)


def _container_source(environ, where):
    url = environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI") or (
        ECS_URL + environ["AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"]
        if environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI") else "")
    if not url:
        raise CredentialSourceError("%s: neither AWS_CONTAINER_CREDENTIALS_FULL_URI nor _RELATIVE_URI is set "
                                    "in the service's environment" % where)
    token = environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN", "")
    if environ.get("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"):
        try:
            with open(environ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"]) as handle:
                token = handle.read().strip()
        except OSError as exc:
            raise CredentialSourceError("%s: cannot read AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: %s"
                                        % (where, _plain(exc))) from None
    return url, {"Authorization": token} if token else {}


def _imds_token(opener, url, where):
    request = web()["request"].Request(url + "/latest/api/token", method="PUT",
                                       headers={"X-aws-ec2-metadata-token-ttl-seconds": "21600"})
    try:
        with opener.open(request, timeout=SOURCE_TIMEOUT) as response:
            return {"X-aws-ec2-metadata-token": response.read(4096).decode().strip()}
    except urllib.error.HTTPError as exc:
        if exc.code in (403, 404, 405):  # IMDSv1 only, as botocore falls back
            return {}
        raise CredentialSourceError("%s: the token request answered HTTP %d" % (where, exc.code)) from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise CredentialSourceError("%s unreachable: %s" % (where, _plain(getattr(exc, "reason", exc)))) from None


def _source_get(opener, url, headers, where):
    try:
        with opener.open(web()["request"].Request(url, headers=headers), timeout=SOURCE_TIMEOUT) as response:
            return response.read(STS_MAX_RESPONSE)
    except urllib.error.HTTPError as exc:
        raise CredentialSourceError("%s answered HTTP %d" % (where, exc.code)) from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise CredentialSourceError("%s unreachable: %s" % (where, _plain(getattr(exc, "reason", exc)))) from None


# ==== The engine: planned layers, flights, renewal ==========================
# LayerPlanner turns a profile into layers (what makes each one), LayerCache
# keeps them in aws-runas's files, Engine fetches each in one flight, serves
# what is valid, remembers failures for a pause and renews ahead of expiry.


class LayerPlanner:
    """The layers of a profile's chain, bottom first: which call makes each
    one (STS, the identity provider, IAM Identity Center, a process, a
    credential source), which layer carries the MFA code, which cache file
    keeps it.  Planned once per version of the config files; layers are
    kept by key, so a new plan keeps what its layers hold.  A role's fetch
    asks the engine for the layer below (`get`, `drop`)."""

    def __init__(self, engine, get, drop):
        self.engine, self.get, self.drop = engine, get, drop
        self._layers, self._plans, self._session_names = {}, {}, {}
        self._lock = threading.Lock()

    def layers(self):
        with self._lock:
            return list(self._layers.values())

    def plan(self, name):
        """The layers of `name`, bottom first.  Planned once per version of
        the config files: this is on every request's path."""
        generation = self.engine.config.current_generation()
        planned = self._plans.get(name)
        if planned is not None and planned[0] == generation:
            return planned[1]
        layers = self._plan(name)
        self._plans[name] = (generation, layers)
        return layers

    def _plan(self, name):
        federated = self.engine.config.federated(name)
        if federated is not None:
            return self._federated_plan(federated)
        chain = self.engine.config.chain(name)
        base, roles = chain[-1], chain[-2::-1]  # every profile above the base is a role, bottom first
        serial = (roles[0].mfa_serial if roles else "") or base.mfa_serial
        layers, session_carries_mfa = self._base_layers(base, roles, serial), False
        if base.kind == "keys" and not base.aws_session_token and layers:
            session_carries_mfa = True  # GetSessionToken: the 12-hour MFA session
        session_name = ""
        for index, role in enumerate(roles):
            below = layers[-1] if layers else None
            # The first role's code goes on GetSessionToken when there is one (a
            # 12-hour MFA session), else on its AssumeRole; a role above it
            # with mfa_serial of its own gets a code on its own AssumeRole.
            direct_mfa = role.mfa_serial if index else ("" if session_carries_mfa else serial)
            session_name = role.role_session_name or session_name  # chained roles inherit it
            chained = index > 0 or base.kind in ROLE_SESSION_KINDS  # STS caps a role from role credentials at 1 h
            extra = assume_role_extras(role, self.engine.environ if role.name == name else None)
            layers.append(self._role_layer(role, base, below, direct_mfa, chained, session_name, extra))
        return layers

    def _base_layers(self, base, roles, serial):
        """The bottom of a chain: where the first credentials come from."""
        kind = base.kind
        if kind == "sso":
            return [self._sso_layer(base)]
        if kind == "process":
            return [self._process_layer(base)]
        if kind == "login":
            return [self._login_layer(base)]
        if kind == "web":  # AssumeRoleWithWebIdentity with the token file, as a source
            return self._federated_plan(base)
        if kind in CREDENTIAL_SOURCES.values():
            return [self._layer((kind, base.name), "", base.name + " (%s)" % base.credential_source, "",
                                lambda code: fetch_credential_source(base, self.engine.environ, self.engine.own_addresses))]
        if base.aws_session_token:  # temporary keys: used as they are (STS refuses them for GetSessionToken)
            return [self._layer(("static", base.name), "", base.name, "",
                                lambda code, b=base: self._static(b.aws_access_key_id, b.aws_secret_access_key,
                                                                  b.aws_session_token))]
        if not roles or roles[0].role_duration <= SESSION_TOKEN_ROLE_MAX:
            return [self._session_layer(base, serial, roles[0] if roles else base)]
        return []

    def _sso_layer(self, base):
        """Role credentials from IAM Identity Center, in memory only."""
        sso_settings(base)
        layer = self._layer(("sso", sso_token_key(base), base.sso_account_id, base.sso_role_name), "",
                            base.name, "", lambda code: self.engine.sso.roles.role_credentials(base))
        layer.prompt = lambda: self.engine.sso.tokens.next_sign_in(base)
        return layer

    def _login_layer(self, base):
        """An aws login session's keys, in memory (the AWS CLI's cache is the store)."""
        layer = self._layer(("login", base.login_session), "", base.name, "",
                            lambda code: self.engine.login.credentials(base))
        layer.prompt = lambda: self.engine.login.next_sign_in(base)
        return layer

    def _process_layer(self, base):
        """A credential_process, in memory only.  Without an Expiration its
        keys are static: the process runs once and the keys are re-dated."""
        if asks_this_service(base.credential_process):
            raise ConfigError("profile %r: its credential_process is runas-meta's own 'process' command, which asks "
                              "this service: it would ask itself; give the generated profile a name of its own and "
                              "serve the profile it names" % base.name)
        static = []

        def fetch(code):
            if not static:
                creds = run_credential_process(base.credential_process, base.name, self.engine.process_timeout,
                                               self.engine.popen)
                if creds.expiration is not None:
                    return creds
                static.append(creds)
            keys = static[0]
            return self._static(keys.access_key_id, keys.secret_access_key, keys.session_token, keys.account_id)
        command = hashlib.sha256(base.credential_process.encode()).hexdigest()[:16]
        return self._layer(("process", base.name, command), "", base.name, "", fetch)

    def sso_base(self, name):
        """The IAM Identity Center profile at the bottom of `name`'s chain, or None."""
        if self.engine.config.federated(name) is not None:
            return None
        base = self.engine.config.chain(name)[-1]
        return base if base.source_kind == "sso" else None

    def login_base(self, name):
        """The aws login profile at the bottom of `name`'s chain, or None."""
        if self.engine.config.federated(name) is not None:
            return None
        base = self.engine.config.chain(name)[-1]
        return base if base.source_kind == "login" else None

    def planned(self):
        return list(self._plans)

    def _layer(self, key, prefix, cache_name, serial, fetch, label=None):
        with self._lock:
            layer = self._layers.get(key)
            if layer is None:
                cache_file = os.path.join(self.engine.cache_dir, prefix + cache_name) if prefix else ""
                layer = self._layers[key] = Layer(key, cache_file, label or cache_name, serial)
        layer.fetch = fetch
        return layer

    def _session_layer(self, base, serial, owner):
        # session_token_duration may sit on the role profile or on the keys' profile
        duration = owner.session_duration
        if duration == SESSION_DURATION[0]:
            duration = base.session_duration

        def fetch(code):
            keys = Credentials(base.aws_access_key_id, base.aws_secret_access_key)
            process = (owner.name, owner.mfa_process) if owner.mfa_process else (base.name, base.mfa_process)
            token = self._mfa_code(base.name, serial, code, process) if serial else ""
            creds = self.engine.sts.get_session_token(base, keys, duration, serial, token)
            creds.account_id = account_from_arn(serial)
            return creds
        layer = self._layer(("session", base.name, serial, duration), CACHE_PREFIX["session"],
                            _session_cache_name(base, serial), serial, fetch, label=base.name)
        # with an mfa_process, renewals need no user: no prompt to announce
        layer.prompt = _prompt_at_expiry(layer, "MFA code") if serial and not (
            owner.mfa_process or base.mfa_process) else None
        return layer

    def _role_layer(self, role, base, below, serial, chained, session_name, extra=None):
        """`extra`: SourceIdentity and session tags; a role assumed with
        other ones (the variables apply to the profile asked for only) is
        a layer, and a cache file, of its own."""
        duration = min(role.role_duration, CHAINED_ROLE_MAX) if chained else role.role_duration

        process = (role.name, role.mfa_process) if role.mfa_process else (
            base.name, base.mfa_process if serial == base.mfa_serial else "")

        def assume(source, code):
            token = self._mfa_code(role.name, serial, code, process) if serial else ""
            name = session_name or self._session_name(base)
            return self.engine.sts.assume_role(role, source, role.role_arn, name, duration,
                                               role.external_id, serial, token, extra)

        def fetch(code):
            if below is None:
                return assume(Credentials(base.aws_access_key_id, base.aws_secret_access_key), code)
            try:
                return assume(self.get(below, None), code)
            except STSError as exc:
                if exc.aws_code not in SOURCE_REFUSED:
                    raise
                # the session below was revoked or has expired early: drop it and ask anew
                LOG.info("STS refused the credentials of %s (%s); fetching them anew", below.label, exc.aws_code)
                self.drop(below)
                return assume(self.get(below, None), code)
        tags = hashlib.sha256(json.dumps(sorted(extra.items())).encode()).hexdigest()[:10] if extra else ""
        layer = self._layer(("role", role.name, role.role_arn, below and below.key) + ((tags,) if tags else ()),
                            CACHE_PREFIX["role"], role.name + (".tags-" + tags if tags else ""), serial, fetch)
        layer.prompt = _prompt_at_expiry(layer, "MFA code") if serial and not process[1] else None
        return layer

    def _federated_plan(self, fed):
        """The identity provider's layer (SAML, OIDC or a token file) for the
        first role, then the target role when a jump role comes first."""
        kind = "saml" if fed.saml_auth_url else "web"
        first = fed.jump_role_arn or fed.role_arn
        session_name = fed.role_session_name or _session_safe(
            fed.federated_username or _idp_username(fed)) or os_user(self.engine.environ)
        token_file = fed.web_identity_token_file if kind == "web" and not fed.web_identity_auth_url else ""
        duration = fed.role_duration  # the jump role's hop to role_arn is chained: 1 h (_role_layer)

        def fetch(code):
            if kind == "saml":
                assertion = self.engine.federation.saml_assertion(fed, code)
                principal = pick_saml_role(assertion, first)
                seconds = min(duration, assertion.duration) if assertion.duration else duration
                return self.engine.sts.assume_role_with_saml(fed, first, principal, assertion.raw,
                                                      max(ROLE_DURATION[1], seconds))
            token = _read_token_file(token_file) if token_file else self.engine.federation.id_token(fed, code)
            return self.engine.sts.assume_role_with_web_identity(fed, first, token, session_name, duration)
        layer = self._layer((kind, fed.name, first), CACHE_PREFIX[kind], fed.name,
                            "" if token_file else "idp", fetch)
        layer.idp = not token_file
        if layer.idp:
            at_expiry = _prompt_at_expiry(layer, "sign-in")
            layer.prompt = lambda: ({"at": None, "what": "sign-in", "note": "renewed without asking (refresh "
                                     "token) while your identity provider's session lasts"}
                                    if self.engine.federation.renews_silently(fed) else at_expiry())
        layers = [layer]
        if fed.jump_role_arn:
            layers.append(self._role_layer(fed, fed, layer, "", True, session_name,
                                           assume_role_extras(fed, self.engine.environ)))
        return layers

    def _static(self, access_key, secret_key, token="", account_id=""):
        """Keys with no known expiry, served with STATIC_TOKEN_LIFETIME ahead."""
        now = self.engine.clock()
        return Credentials(access_key, secret_key, token, now + dt.timedelta(seconds=STATIC_TOKEN_LIFETIME),
                           account_id=account_id, obtained=now)

    def _mfa_code(self, profile, serial, code, process=("", "")):
        """The code to send: the one given, else mfa_process's (`process`:
        the profile that has it, its command; background renewals too: no
        user is needed), else the terminal's (headless), else MFARequired:
        the page asks."""
        if code:
            return code
        if process[1]:
            return self.engine.code_from_process(process[0], serial, process[1])
        if self.engine.mfa_prompt is not None and not _in_background():
            code = self.engine.mfa_prompt(profile, serial)
            if code:
                return code
        raise MFARequired("an MFA code from device %s is needed" % serial, profile, serial)

    def _session_name(self, base):
        """The IAM user name (GetCallerIdentity with the base keys, once per
        base profile), else the OS user."""
        if not base.has_keys:  # IAM Identity Center, credential_process: no user to ask about
            return os_user(self.engine.environ)
        if base.name not in self._session_names:
            keys = Credentials(base.aws_access_key_id, base.aws_secret_access_key, base.aws_session_token)
            try:
                arn = self.engine.sts.get_caller_identity(base, keys).get("Arn", "")
                name = arn.rsplit("/", 1)[-1] if ":user/" in arn else ""
            except STSError as exc:
                LOG.info("GetCallerIdentity for %r failed (%s); using the OS user name", base.name, exc)
                name = ""
            self._session_names[base.name] = name if SESSION_NAME.match(name) else os_user(self.engine.environ)
        return self._session_names[base.name]


class LayerCache:
    """aws-runas's cache files: one JSON line per layer (session token,
    assumed role, SAML, web identity) in the config's folder, 0600 and
    written atomically; read when a layer has nothing in memory, written
    after each fetch, removed when STS refuses what it held."""

    def __init__(self, clock, writer=None):
        self.clock, self.writer = clock, writer or write_private_file
        self._warned = False

    def read(self, layer):
        if not layer.cache_file:
            return None
        try:
            with open(layer.cache_file, "rb") as handle:
                creds = Credentials.from_cache(handle.read(64 * 1024), role_arn=_role_of(layer),
                                               now=self.clock())
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            LOG.warning("ignoring cache file %s: %s", layer.cache_file, type(exc).__name__)
            return None
        if creds.remaining(self.clock()) <= MIN_SERVE:
            return None
        LOG.info("using cached credentials for %s from %s", layer.label, layer.cache_file)
        return creds

    def write(self, layer, creds):
        if not layer.cache_file:
            return
        try:
            self.writer(layer.cache_file, creds.to_cache())
        except OSError as exc:
            if not self._warned:
                LOG.warning("cannot write cache %s (%s): keeping credentials in memory only",
                            layer.cache_file, exc.strerror)
                self._warned = True

    def remove(self, layer):
        if layer.cache_file:
            try:
                os.unlink(layer.cache_file)
            except OSError:
                pass


class Engine:
    """Credentials for any profile: the fetch of each layer the planner
    made (one flight at a time, a failure remembered for its pause, what is
    still valid served), kept in memory and in the cache files, renewed in
    the background ahead of expiry; and what /status says of it.

    Side effects are parameters: `sts`, `clock`, `mfa_prompt(profile, serial)
    -> code` (None: raise MFARequired), `spawn(function)` for background work."""

    def __init__(self, config, sts, clock=utcnow, mfa_prompt=None, spawn=None,
                 cache_dir=None, environ=None, federation=None, writer=None, sso=None, login=None,
                 popen=subprocess.Popen, process_timeout=PROCESS_TIMEOUT, rand=random.random, notify=None,
                 mfa_process_timeout=MFA_PROCESS_TIMEOUT):
        self.config, self.sts, self.clock, self.rand = config, sts, clock, rand
        self.notify = notify  # (profile, kind, text): a desktop notification (Notifier.tell), or None
        self.mfa_process_timeout, self._mfa_processes = mfa_process_timeout, {}
        self._mfa_process_lock = threading.Lock()
        self.environ = os.environ if environ is None else environ
        self.disk = LayerCache(clock, writer)
        self.federation = federation or Federation(config, environ, clock)
        self.sso = sso or IdentityCenter(self.environ, clock)
        self.login = login or LoginSessions(self.environ, clock, SignInJson(self.environ))
        self.login_sign_ins = LoginSignIns(self.login, self.environ, clock)
        self.popen, self.process_timeout = popen, process_timeout
        self.console_api = ConsoleJson(self.environ, attempts=2)
        self.mfa_prompt = mfa_prompt
        self.spawn = spawn or _spawn_daemon
        self.cache_dir = cache_dir if cache_dir is not None else config.directory
        self.own_addresses = set()  # (address, port) of our listeners: a credential_source never asks them
        self.planner = LayerPlanner(self, self._get, self._drop)

    def plan(self, name):
        return self.planner.plan(name)

    def planned_names(self):
        """Every profile asked for since the start (the notifier watches them)."""
        return self.planner.planned()

    def tell(self, profile, kind, what="", when=""):
        """A desktop notification through `notify`, if there is one."""
        if self.notify is not None and profile:
            self.notify(profile, kind, what, when)

    def code_from_process(self, profile, serial, command):
        """A code from the profile's mfa_process, one run at a time (one
        touch of the key), with a notification while it runs.  A failure
        is logged without the command's output, and for MFA_PROCESS_PAUSE
        codes are asked on the page (MFARequired says why); a code the user
        posts is used as always."""
        with self._mfa_process_lock:
            failed = self._mfa_processes.get(command)
            if failed is not None and self.clock() < failed[0]:
                raise _process_failed(profile, serial, failed[1])
            self.tell(profile, "touch")
            try:
                code = run_mfa_process(command, profile, self.mfa_process_timeout, self.popen)
            except RunasError as exc:
                LOG.warning("%s; the code is asked on the page instead", exc)
                self._mfa_processes[command] = (self.clock() + dt.timedelta(seconds=MFA_PROCESS_PAUSE), str(exc))
                raise _process_failed(profile, serial, str(exc)) from None
            self._mfa_processes.pop(command, None)
            return code

    def sso_base(self, name):
        return self.planner.sso_base(name)

    def login_base(self, name):
        return self.planner.login_base(name)

    def console_url(self, name):
        """A federated console sign-in for `name`'s served credentials;
        credentials that cannot federate are refused with the reason."""
        top = self.plan(name)[-1]
        if top.key[0] in CANNOT_FEDERATE:
            raise ConsoleRefused("profile %r serves keys or a session token (GetSessionToken), which the AWS "
                                 "console's federation does not accept: open the console with a role profile "
                                 "(role_arn), an SSO or a federated profile" % name)
        creds = self.credentials(name)
        if not creds.session_token:
            raise ConsoleRefused("profile %r serves long-term keys, which cannot open the console" % name)
        profile = self.config.effective(name)
        url = console_sign_in_url(creds, self.config.region(name), self.environ, self.console_api, profile)
        LOG.info("console sign-in for profile %r", name)
        return url

    def authenticate(self, name, username, password):
        """Keep the IdP password (memory only) and sign in with it now."""
        fed = self.config.federated(name)
        if fed is None or not (fed.saml_auth_url or fed.web_identity_auth_url):
            raise HTTPError(400, "profile %r does not use an identity provider; nothing to sign in to"
                            % name)
        self.federation.set_password(fed, username, password)
        with self.federation.user_sign_in():
            return self.sign_in(name)

    def sign_in(self, name):
        """Sign in through the identity provider now (a new password, or the
        id_token /oidc/callback just stored), then serve the role."""
        layers = self.plan(name)
        with user_action():
            self._fly(layers[0], None)
            return self._get(layers[-1], None)

    # -- serving -------------------------------------------------------------

    def credentials(self, name, mfa_code=None):
        """Credentials for profile `name`: cached while they have time left,
        renewed in the background ahead of expiry, fetched when there are none.
        With `mfa_code`, the layer that asks for MFA is renewed with it."""
        layers = self.plan(name)
        try:
            if mfa_code:  # a code the user just typed: this is a sign-in the user started
                with self.federation.user_sign_in(), user_action():
                    self._use_code(layers, mfa_code)
                    return self._get(layers[-1], None)
            return self._get(layers[-1], None)
        except MFARequired as exc:
            exc.profile = name  # the profile asked for, not the layer's: the one the user knows
            raise
        except SSOLoginRequired as exc:  # the sign-in then serves the profile asked for
            exc.extra = dict(exc.extra, profile=name,
                             login_url="/sso/login?" + urllib.parse.urlencode({"profile": name}))
            raise

    def _use_code(self, layers, code):
        """Spend the code on the layer that asks for MFA, if it wants one."""
        now = self.clock()
        for layer in layers:
            if layer.mfa_serial:
                creds = self._cached(layer)
                due = creds is None or creds.remaining(now) < max(creds.refresh_window(), MIN_SERVE)
                if self._wants_code(layer, now) or (layer.idp and due):
                    self._fly(layer, code)
                return

    @staticmethod
    def _wants_code(layer, now):
        """An MFA layer with nothing valid, a failed renewal, or less than
        MFA_WARN (or its refresh window) left: what status reports too.  An
        identity provider may renew without a code (its session), so its
        layer wants one only once a renewal has asked for it."""
        creds = layer.creds
        if layer.idp:
            return layer.mfa_pending
        return bool(layer.mfa_serial) and (
            layer.mfa_pending or creds is None or
            creds.remaining(now) < max(MFA_WARN, creds.refresh_window(), MIN_SERVE))

    def _cached(self, layer):
        if layer.creds is None and not layer.disk_checked:
            layer.disk_checked = True
            layer.creds = self.disk.read(layer)
        return layer.creds

    def _get(self, layer, code):
        creds = self._cached(layer)
        now = self.clock()
        layer.used_at = now
        if creds is not None and creds.remaining(now) > MIN_SERVE:
            if creds.remaining(now) < creds.refresh_window():
                self._renew_in_background(layer, now)
            return creds
        try:
            return self._fly(layer, code)
        except RunasError as exc:
            if code or _user_action() or creds is None or creds.remaining(self.clock()) <= 0:
                raise
            return self._still_valid(layer, creds, exc)

    def _still_valid(self, layer, creds, exc):
        """Credentials under MIN_SERVE whose renewal failed are still good
        for their last seconds: served (and said in the log, once a failure),
        so a short STS outage costs clients nothing."""
        if layer.stale_told is not exc:
            layer.stale_told = exc
            LOG.warning("serving the credentials of %s for their last %d s: renewing them failed: %s",
                        layer.label, creds.remaining(self.clock()), exc)
        return creds

    def _fly(self, layer, code):
        with layer.lock:
            flight, owner = layer.flight, layer.flight is None
            if owner:
                flight = layer.flight = _Flight()
        if not owner:
            flight.done.wait()
            if isinstance(flight.error, MFARequired) and code:
                return self._fly(layer, code)  # the waiting caller brought the code
            if flight.error is not None:
                raise flight.error
            return flight.result
        try:
            flight.result = self._fetch(layer, code)
            return flight.result
        except BaseException as exc:
            flight.error = exc
            raise
        finally:
            with layer.lock:
                layer.flight = None
            flight.done.set()

    def _fetch(self, layer, code):
        failure = layer.failure
        if failure is not None and not code and not _user_action() and self.clock() < failure.until:
            raise failure.error.with_traceback(None)  # asked again once the pause ends
        try:
            with self.sts.probing() if failure is not None else contextlib.nullcontext():
                creds = self._fetch_idp_prompting(layer, code) if layer.idp else layer.fetch(code)
        except MFARequired as exc:
            layer.mfa_pending = True  # reported as mfa_needed, not as an error
            if exc.reason:  # mfa_process failed: why the page asks (its "Last failure")
                layer.error = exc.reason
            raise
        except AuthRequired as exc:
            if not getattr(exc, "layer_key", None):  # kept by the layer that signs in, not those above
                exc.layer_key = layer.key
                layer.auth_pending = exc
            raise
        except STSError as exc:
            if MFA_ERROR.search(str(exc)) and exc.aws_code == "AccessDenied" and layer.mfa_serial:
                layer.mfa_pending = True
                raise MFAInvalid("the MFA code was not accepted; try the next one",
                                 layer.label, layer.mfa_serial) from None
            layer.error = str(exc)
            self._remember(layer, exc)
            raise
        except RunasError as exc:  # the IdP, a token file, the config
            layer.error = str(exc)
            if not isinstance(exc, ConfigError):
                self._remember(layer, exc)
            raise
        creds.obtained = min(self.clock(), creds.expiration)
        layer.creds, layer.error, layer.mfa_pending, layer.retry_at = creds, None, False, None
        layer.failure = None
        layer.auth_pending, layer.fetched = None, True
        LOG.info("new credentials for %s (%s), valid until %s", layer.label, layer.key[0],
                 format_time(creds.expiration))
        self.disk.write(layer, creds)
        return creds

    def _remember(self, layer, exc):
        """Answer from this failure until its pause ends (one remembered by a
        layer below is that layer's: it is not paused twice)."""
        if getattr(exc, "paused_by", None) is not None:
            return
        exc.paused_by = layer.key
        pause, wait = failure_pause(exc, layer.failure, self.rand)
        layer.failure = _Failure(exc, pause, self.clock() + dt.timedelta(seconds=wait))
        LOG.warning("%s: %s; asked again in %.1f s at the earliest (meanwhile requests get this answer; a new MFA "
                    "code, Refresh Now or a sign-in asks at once)", layer.label, exc, wait)

    def _fetch_idp_prompting(self, layer, code):
        """An identity provider asks for its code in the middle of a sign-in;
        in headless mode the terminal answers it there and then."""
        try:
            return layer.fetch(code)
        except MFARequired as exc:
            if code or self.mfa_prompt is None or _in_background():
                raise
            code = self.mfa_prompt(exc.profile, "your identity provider")
            if not code:
                raise
            return layer.fetch(code)

    def _renew_in_background(self, layer, now):
        if layer.flight is not None or (layer.retry_at and now < layer.retry_at):
            return
        layer.retry_at = now + dt.timedelta(seconds=RETRY_RENEWAL)
        self.spawn(lambda: self._renew(layer))

    def _renew(self, layer):
        _BACKGROUND.active = True
        try:
            self._fly(layer, None)
        except RunasError as exc:
            LOG.warning("background renewal of %s: %s", layer.label, exc)
        finally:
            _BACKGROUND.active = False

    def renew_due(self):
        """Start renewals of the layers inside their refresh window that were
        used in the last RENEW_IDLE seconds (not those of an old config, nor
        of profiles nobody asks for any more)."""
        now = self.clock()
        recent = now - dt.timedelta(seconds=RENEW_IDLE)
        for layer in self.planner.layers():
            creds = layer.creds
            if creds is not None and layer.fetch is not None and layer.used_at and \
                    layer.used_at > recent and creds.remaining(now) < creds.refresh_window():
                self._renew_in_background(layer, now)

    def refresh(self, name, mfa_code=None):
        """Renew the profile's own credentials now.  The layers below are
        kept while valid (an MFA session token, an IdP session, an SSO
        token): one call, no dialog.  A layer STS refuses is dropped and
        asked for anew (_role_layer)."""
        self._drop(self.plan(name)[-1])
        with user_action():
            return self.credentials(name, mfa_code)

    def _drop(self, layer):
        with layer.lock:
            layer.creds, layer.retry_at = None, None
            layer.disk_checked = True
        self.disk.remove(layer)

    def cached(self, name):
        """The profile's served credentials if there are valid ones; no fetch."""
        try:
            creds = self.plan(name)[-1].creds
        except RunasError:
            return None
        return creds if creds is not None and creds.remaining(self.clock()) > 0 else None

    def identity(self, name):
        """{'Arn', 'Account', 'UserId'} of the served credentials (one
        GetCallerIdentity per set), or None."""
        creds = self.cached(name)
        if creds is None:
            return None
        if creds.identity is None:
            try:
                creds.identity = self.sts.get_caller_identity(self.config.effective(name), creds)
            except RunasError as exc:
                LOG.info("GetCallerIdentity for %r failed: %s", name, exc)
                creds.identity = {}
        return creds.identity or None

    def status(self, name):
        """What the page shows: expiry, renewal state, whether MFA is needed."""
        try:
            layers = self.plan(name)
        except RunasError as exc:
            return {"profile": name, "error": str(exc)}
        now = self.clock()
        top = layers[-1].creds
        need_soon = any(self._wants_code(layer, now) for layer in layers)
        errors = [layer.error for layer in layers if layer.error]
        pending = next((layer for layer in layers if layer.auth_pending), None)
        auth = pending and pending.auth_pending
        prompts = [found for found in (layer.prompt() for layer in layers if layer.prompt) if found]
        timed = [found for found in prompts if found["at"]]
        prompt = min(timed, key=lambda found: found["at"]) if timed else (prompts[0] if prompts else None)
        push = self.federation.pushes.get(name) if self.federation is not None else None
        waiting = bool(push and push["state"] == "waiting")
        ended = push["message"] if push and push["state"] in ("rejected", "timed out") else None
        return {"profile": name,
                "next_prompt": prompt and dict(prompt, at=prompt["at"] and format_time(prompt["at"]),
                                               seconds=int((prompt["at"] - now).total_seconds())
                                               if prompt["at"] else None),
                # while a push waits, no second sign-in is offered
                "auth_needed": auth and not waiting and dict(auth.extra, type=auth.auth_type, username=auth.username,
                                                             again=pending.fetched) or None,
                "push": push,
                "expiration": format_time(top.expiration) if top else None,
                "seconds_left": int(top.remaining(now)) if top else 0,
                "mfa_needed": bool(need_soon),
                "error": (errors[-1] if errors else None) or ended}

    # -- disk cache ----------------------------------------------------------


def _process_failed(profile, serial, reason):
    return MFARequired("an MFA code from device %s is needed (%s)" % (serial, reason), profile, serial, reason)


def _prompt_at_expiry(layer, what):
    """A layer whose renewal needs the user (an MFA code, an IdP sign-in)
    asks again when its credentials end."""
    def prompt():
        creds = layer.creds
        return {"at": creds.expiration if creds else None, "what": what}
    return prompt


def _session_cache_name(base, serial):
    """aws-runas's file name is per profile; a session made with another MFA
    device than the profile's own (a role's mfa_serial) gets a file of its
    own, so a session without MFA is never taken for one with it."""
    if serial == base.mfa_serial:
        return base.name
    return "%s.mfa-%s" % (base.name, hashlib.sha256(serial.encode()).hexdigest()[:10])


def _role_of(layer):
    return layer.key[2] if layer.key[0] in ("role", "saml", "web") else ""


def _session_safe(name):
    name = re.sub(r"[^\w+=,.@-]", "-", name or "")[:64]
    return name if len(name) >= 2 else ""


def _read_token_file(path):
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            token = handle.read().strip()
    except OSError as exc:
        raise ConfigError("cannot read the web identity token file: %s" % exc.strerror, path) from None
    if not token:
        raise ConfigError("the web identity token file is empty", path)
    return token


_BACKGROUND = threading.local()
_USER_ACTION = threading.local()


def _in_background():
    return getattr(_BACKGROUND, "active", False)


@contextlib.contextmanager
def user_action():
    """The user asked on this thread (a new MFA code, Refresh Now, a
    sign-in): a remembered failure does not hold the fetch back."""
    before = getattr(_USER_ACTION, "active", False)
    _USER_ACTION.active = True
    try:
        yield
    finally:
        _USER_ACTION.active = before


def _user_action():
    return getattr(_USER_ACTION, "active", False)


def _spawn_daemon(function):
    thread = threading.Thread(target=function, name="runas-meta-renew", daemon=True)
    thread.start()
    return thread


# ==== Containers ==========================================================
# `ecs --containers` serves 169.254.170.2:80 (the address every SDK's
# AWS_CONTAINER_CREDENTIALS_RELATIVE_URI means) beside 127.0.0.1.  A client
# there that PeerCheck cannot attribute (a container on a local bridge) is
# served only the credentials of a grant: a secret path, as real ECS gives
# each task, bound to one profile, with a label, an expiry and a rate limit.

ECS_ADDRESS = "169.254.170.2"
ECS_PREFIX = "169.254.170."  # the /24 the ECS address lives in: another proxy's network there is refused
CONTAINER_HOSTS = frozenset({ECS_ADDRESS, ECS_ADDRESS + ":80"})
GRANT_PATH = "/v2/credentials/"
GRANT_TTL = 7 * 24 * HOUR
GRANT_MAX_TTL = 90 * 24 * HOUR
GRANT_RATE, GRANT_BURST = 10.0, 15  # requests a second per grant, as the ECS agent allows a task
# What a container is told when its grant's credentials cannot be had: fixed texts (the full one is the host's)
CONTAINER_SIGN_IN = "the grant's profile needs an MFA code or a sign-in on the host: open the runas-meta page there"
CONTAINER_UNAVAILABLE = ("the grant's credentials cannot be had now; the runas-meta page and log on the host "
                         "say why")
_LABEL = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,62}\Z")


def grant_lifetime(text):
    """A grant's lifetime: '7d', or what parse_duration takes ('12h', '90m')."""
    text = str(text or "").strip().lower()
    try:
        return int(text[:-1]) * 24 * HOUR if re.match(r"[0-9]{1,4}d\Z", text) else parse_duration(text)
    except ValueError:
        raise UsageError("a lifetime is like 7d, 12h or 90m, not %r" % _printable(text, 40)) from None


def grant_hash(grant_id):
    return hashlib.sha256(grant_id.encode("utf-8", "replace")).hexdigest()


_GRANTISH = re.compile(r"v2/+credentials", re.I)


RELAY_SECRET_HEADER = "X-Runas-Meta-Relay-Secret"  # the relay's proof, on the relay listener only
RELAY_CLIENT_HEADER = "X-Runas-Meta-Relay-Client"  # the container's address as the relay saw it


def _is_ip(text):
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, text)
            return True
        except (OSError, ValueError):
            pass
    return False


def shown_path(path, label=None):
    """A request path as logs and 404s show it: a grant's id never, its
    label instead; also in a path that only resembles the grant path
    (//v2/credentials/<id>, percent-encoded)."""
    if not path or not ("v2" in path or "V2" in path or "%" in path):
        return path  # the common case, on every request's way to the access log
    plain = urllib.parse.unquote(path)
    found = _GRANTISH.search(plain)
    if found is None:
        return path
    return plain[:found.start()] + GRANT_PATH[1:] + "(%s)" % (label or "no-grant")


class Grants:
    """The grants, by the SHA-256 of their id (the id itself is never kept):
    label, profile, expiry, the container a grant is bound to, and what the
    page shows of their use.  The 0600 file is the truth, shared by every
    instance of the same user: it is read again whenever it has changed, and
    each change is made under an exclusive lock on the file beside it (read,
    change, write), so a revocation made by one instance is never written
    back by another.  A revocation takes effect here at once; when the file
    cannot be written (a full disk) the revoked entry is struck out in place
    (no new space needed), else it is kept in memory and in a file in the
    temporary directory, reported as not kept, and written again every
    retry() until it is on disk."""

    def __init__(self, path, clock=time.time, writer=write_private_file, spare=None, strike=None):
        self.path, self.clock, self.writer, self.strike = path, clock, writer, strike or _strike_out
        self.spare = spare if spare is not None else _spare_revocations(path)
        self._lock = threading.Lock()
        self._grants, self._stamp = {}, None  # hash -> dict; the file's (inode, mtime, size) when read
        self._buckets = {}  # hash -> [tokens, at]
        self._unkept = {}  # hash -> label: revoked here, not yet struck from the file
        with self._lock:
            self._unkept.update(dict.fromkeys(self._read_spare(), "(an earlier revocation)"))
            self._refresh()

    # -- the file ----------------------------------------------------------------

    def _refresh(self):
        """Under self._lock: read the file again if it changed since."""
        stamp = _file_stamp(self.path)
        if stamp == self._stamp:
            return
        self._stamp, before, self._grants = stamp, self._grants, {}
        for entry in self._read():
            key = entry["hash"]
            if key in self._unkept:
                continue
            old = before.get(key)
            if old is not None and (old["last_used"] or 0) > (entry.get("last_used") or 0):
                entry.update((k, old.get(k)) for k in ("last_used", "last_source", "container", "last_error"))
            if old is not None and not entry.get("bound"):
                entry["bound"] = old.get("bound")  # bound here a moment ago, being written
            self._grants[key] = entry

    def _read(self):
        try:
            with open(self.path, "rb") as handle:
                entries = json.loads(handle.read().decode("utf-8"))["grants"]
            return [entry for entry in entries if _GRANT_HASH.match(str(entry.get("hash"))) and
                    all(isinstance(entry.get(k), str) for k in ("label", "profile")) and
                    isinstance(entry.get("expires"), (int, float))]
        except FileNotFoundError:
            return []
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            LOG.warning("ignoring %s: not a list of grants (containers must be granted again)", self.path)
            return []

    @contextlib.contextmanager
    def _changing(self):
        """Under self._lock and the file lock, with what is on disk."""
        with self._lock, file_lock(self.path + ".lock"):
            self._stamp = None  # read again: another instance may have written within our mtime's tick
            self._refresh()
            yield

    def _save(self):
        """Under _changing: write the grants; True when every revocation
        made here is on disk (in the file, or struck out in place)."""
        data = json.dumps({"grants": list(self._grants.values())}, sort_keys=True).encode()
        try:
            os.makedirs(os.path.dirname(self.path), mode=0o700, exist_ok=True)
            self.writer(self.path, data)
            self._unkept.clear()
        except OSError as exc:
            struck = self.strike(self.path, list(self._unkept))
            for key in struck:
                del self._unkept[key]
            LOG.warning("cannot write the grants to %s: %s%s", self.path, _plain(exc),
                        "; revocations struck out in place" if struck else "")
        self._stamp = _file_stamp(self.path)
        self._write_spare()
        return not self._unkept

    def _read_spare(self):
        try:
            if os.lstat(os.path.dirname(self.spare)).st_uid != os.geteuid():
                return []  # a folder another user made in the shared temporary directory
            with open(self.spare, "rb") as handle:  # bytes: no codec to import after privileges are dropped
                return [key for key in handle.read().decode("utf-8", "replace").split() if _GRANT_HASH.match(key)]
        except (OSError, ValueError, TypeError):
            return []

    def _write_spare(self):
        """Revocations not on disk, kept where they can be written, so a
        restart of the service still refuses them; removed once they are."""
        try:
            if not self._unkept:
                os.unlink(self.spare)
                return
            os.makedirs(os.path.dirname(self.spare), mode=0o700, exist_ok=True)
            if os.lstat(os.path.dirname(self.spare)).st_uid != os.geteuid():
                raise PermissionError(errno.EPERM, "not ours")
            self.writer(self.spare, "\n".join(sorted(self._unkept)).encode())
        except (OSError, TypeError, AttributeError):
            pass  # TypeError: no spare file (tests); AttributeError: no geteuid (Windows)

    def retry(self):
        """Write revocations that are not on disk yet (the renewal loop calls
        this); True when none is left."""
        if not self._unkept:
            return True
        with self._changing():
            kept = self._save()
        if kept:
            LOG.info("the revocations are now kept in %s", self.path)
        return kept

    def unkept(self):
        return sorted(set(self._unkept.values()))

    # -- grants ------------------------------------------------------------------

    def _expire(self):
        """Under self._lock: drop what has expired; True if anything went."""
        now = self.clock()
        gone = [key for key, entry in self._grants.items() if entry["expires"] <= now]
        for key in gone:
            del self._grants[key]
            self._buckets.pop(key, None)
        return bool(gone)

    def create(self, profile, label, ttl=GRANT_TTL):
        if not _LABEL.match(label or ""):
            raise HTTPError(400, "a label is 1-63 letters, digits, '.', '_' or '-', starting with a letter or digit")
        if not 60 <= ttl <= GRANT_MAX_TTL:
            raise HTTPError(400, "a grant lasts from 1 minute to %d days" % (GRANT_MAX_TTL // (24 * HOUR)))
        grant_id = secrets.token_urlsafe(32)  # 256 random bits
        key, now = grant_hash(grant_id), self.clock()
        with self._changing():
            self._expire()
            if any(entry["label"] == label for entry in self._grants.values()):
                raise HTTPError(409, "a grant labelled %r exists: revoke it first, or choose another label" % label,
                                "Conflict")
            entry = {"hash": key, "label": label, "profile": profile, "created": now, "expires": now + ttl,
                     "last_used": None, "last_source": None, "container": None, "bound": None}
            self._grants[key] = entry
            self._save()
            if _file_stamp(self.path) is None or key not in {e["hash"] for e in self._read()}:
                del self._grants[key]
                raise HTTPError(503, "the grant could not be written to %s (see the service log): no grant was "
                                "made" % self.path, "GrantNotKept")
            view = self._view(entry)
        LOG.info("grant %r created for profile %r, until %s", label, profile, view["expires"])
        return grant_id, view

    def revoke(self, label):
        """(found, kept): the grant is refused from now on; `kept` says
        whether that is on disk (else: retried, and said on the page)."""
        with self._changing():
            found = [key for key, entry in self._grants.items() if entry["label"] == label]
            for key in found:
                del self._grants[key]
                self._buckets.pop(key, None)
                self._unkept[key] = label
            kept = self._save() if found else True
        if found:
            LOG.info("grant %r revoked%s", label, "" if kept else
                     " in this service; the revocation is not on disk yet (retried every %d s)" % RENEWAL_INTERVAL)
        return bool(found), kept

    def list(self):
        with self._lock:
            self._refresh()
            expired = self._expire()
        if expired:
            with self._changing():
                self._expire()
                self._save()
        with self._lock:
            return sorted((self._view(entry) for entry in self._grants.values()), key=lambda v: v["label"])

    @staticmethod
    def _view(entry):
        when = lambda seconds: seconds and format_time(dt.datetime.fromtimestamp(seconds, dt.timezone.utc))  # noqa: E731
        bound = entry.get("bound") or {}
        return {"label": entry["label"], "profile": entry["profile"], "expires": when(entry["expires"]),
                "created": when(entry["created"]), "last_used": when(entry["last_used"]),
                "last_source": entry["last_source"], "container": entry["container"],
                "bound_to": bound.get("container") or bound.get("source"), "last_error": entry.get("last_error")}

    def use(self, grant_id, source, container=None, bind=True):
        """The grant behind `grant_id`, its use noted, or None (unknown,
        revoked or expired).  Over its rate: HTTPError 429.  With `bind`
        (a container asks), the first use binds the grant to that container
        and another source is refused: HTTPError 403."""
        key = grant_hash(grant_id)
        now = self.clock()
        with self._lock:
            self._refresh()
            entry = self._grants.get(key)
            if entry is None or entry["expires"] <= now:
                return None
            self._take_token(key, now)
            first = bind and not entry.get("bound")
            if first:
                entry["bound"] = {"source": source, "container": container}
            elif bind:
                self._check_bound(entry, source, container)
            entry["last_used"], entry["last_source"] = now, source
            if container:
                entry["container"] = container
            found = dict(entry)
        if first:
            self._keep_binding(entry["label"], source, container)
        return found

    def _take_token(self, key, now):
        tokens, at = self._buckets.get(key, (GRANT_BURST, now))
        tokens = min(GRANT_BURST, tokens + (now - at) * GRANT_RATE)
        if tokens < 1:
            self._buckets[key] = (tokens, now)
            raise HTTPError(429, "too many requests for this grant; try again in a second", "TooManyRequests",
                            [("Retry-After", "1")])
        self._buckets[key] = (tokens - 1, now)

    @staticmethod
    def _check_bound(entry, source, container):
        """A grant serves the container it is bound to: the same container id
        where both are known (its address may change with a restart), else
        the same address."""
        bound = entry["bound"]
        if bound.get("container") and container:
            if bound["container"] == container:
                bound["source"] = source
                return
        elif bound.get("source") == source:
            return
        LOG.warning("grant %r was asked for from %s (container %s) but is bound to %s (container %s): refused",
                    entry["label"], source, container or "unknown", bound.get("source"),
                    bound.get("container") or "unknown")
        raise HTTPError(403, "this grant is bound to another container", "GrantBoundElsewhere")

    def _keep_binding(self, label, source, container):
        """Written at once, so a restart keeps the binding."""
        with self._changing():
            self._save()
        LOG.info("grant %r is now bound to %s (container %s)", label, source, container or "unknown")

    def note_error(self, grant_id, message):
        """What the page shows of a grant's last failure (the container gets a fixed text)."""
        with self._lock:
            entry = self._grants.get(grant_hash(grant_id))
            if entry is not None:
                entry["last_error"] = message


_GRANT_HASH = re.compile(r"[0-9a-f]{64}\Z")


def _file_stamp(path):
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_ino, info.st_mtime_ns, info.st_size


def _spare_revocations(path):
    """Where revocations go that the grants file cannot take: a folder of
    this user's in the temporary directory (another file system, as a rule)."""
    uid = os.geteuid() if hasattr(os, "geteuid") else 0
    return os.path.join(tempfile.gettempdir(), "runas-meta-%d" % uid,
                        "revoked-" + hashlib.sha256(os.path.abspath(path).encode()).hexdigest()[:16])


def _strike_out(path, keys):
    """Overwrite each of these hashes in the file in place with dashes (the
    entry then matches no id): rewriting bytes a file already has needs no
    new space, so this works on a full disk.  The keys struck out (or not
    in the file at all) are returned."""
    done = []
    try:
        with open(path, "r+b") as handle:
            data = handle.read()
            for key in keys:
                at = data.find(('"%s"' % key).encode())
                if at >= 0:
                    handle.seek(at + 1)
                    handle.write(b"-" * len(key))
                done.append(key)
            handle.flush()
            os.fsync(handle.fileno())
    except FileNotFoundError:
        return list(keys)
    except OSError:
        return []
    return done


@contextlib.contextmanager
def file_lock(path):
    """An exclusive lock between processes (flock on `path`, kept 0600);
    where none can be had (no fcntl, the file cannot be made) the change
    goes ahead unlocked."""
    handle = None
    try:
        import fcntl
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        handle = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        fcntl.flock(handle, fcntl.LOCK_EX)
    except (ImportError, OSError):
        if handle is not None:
            os.close(handle)
        handle = None
    try:
        yield
    finally:
        if handle is not None:
            os.close(handle)  # closing releases the lock


def _ipv4_of(name, request):
    """An interface's IPv4 address or netmask (SIOCGIFADDR, SIOCGIFNETMASK)."""
    import fcntl
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        raw = fcntl.ioctl(sock.fileno(), request, struct.pack("256s", name.encode()[:15]))
    return struct.unpack("!I", raw[20:24])[0]


class BridgePrefixes:
    """The IPv4 prefixes of this machine's bridge interfaces (docker0, a
    compose network's br-*, podman0, virbr0...): the only sources a
    container is served from.  Read again when an address is not in them."""

    def __init__(self, sys_net="/sys/class/net", address_of=None):
        self.sys_net, self.address_of = sys_net, address_of or _ipv4_of
        self.prefixes, self._lock = [], threading.Lock()

    def read(self):
        prefixes = []
        try:
            names = sorted(os.listdir(self.sys_net))
        except OSError:
            names = []
        for name in names:
            if not os.path.isdir(os.path.join(self.sys_net, name, "bridge")):
                continue
            try:
                address, mask = self.address_of(name, 0x8915), self.address_of(name, 0x891B)
            except OSError:
                continue  # a bridge without an IPv4 address
            prefixes.append((name, address & mask, mask))
        return prefixes

    def holder(self, address):
        """The bridge whose prefix holds `address`, or None."""
        try:
            value = struct.unpack("!I", socket.inet_aton(address))[0]
        except OSError:
            return None
        for attempt in (0, 1):
            for name, network, mask in self.prefixes:
                if value & mask == network:
                    return name
            if attempt == 0:
                with self._lock:
                    self.prefixes = self.read()
        return None


_CONTAINER_CGROUP = re.compile(r"(?:docker|libpod|containerd)[-/]([0-9a-f]{12,64})")


def _read_text(path):
    with open(path) as handle:
        return handle.read()


def container_of(address, proc="/proc", read=_read_text):
    """Best effort: the id of the docker or podman container whose network
    namespace holds `address` (its cgroup names it; its TCP table has a
    socket from `address`).  None when it cannot be told.  A TCP table costs
    about 2 ms to read however few sockets it lists, so it is read once per
    container, never for the host's processes (their cgroup names none)."""
    wanted = _proc_address(address, 0).split(":")[0] + ":"
    try:
        pids = [name for name in os.listdir(proc) if name.isdigit()]
    except OSError:
        return None
    tried = set()
    for pid in pids:
        try:
            match = _CONTAINER_CGROUP.search(read(os.path.join(proc, pid, "cgroup")))
            if not match or match.group(1) in tried:
                continue
            table = read(os.path.join(proc, pid, "net", "tcp")).splitlines()[1:]
        except OSError:
            continue
        tried.add(match.group(1))
        if any(len(words) > 1 and words[1].startswith(wanted) for words in map(str.split, table)):
            return match.group(1)[:12]
    return None


def ecs_prefix_holders(run=subprocess.run):
    """Interfaces other than lo with an address or route in 169.254.170.0/24
    (a compose network of another credential proxy, say)."""
    holders = set()
    for argv in (["ip", "-o", "-4", "addr", "show"], ["ip", "-4", "route", "show", "table", "all"]):
        result = run(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        for line in (result.stdout or "").splitlines():
            words = line.split()
            if not any(w.startswith(ECS_PREFIX) for w in words):
                continue
            device = words[1] if "addr" in argv else (words[words.index("dev") + 1] if "dev" in words else "")
            if device and device.rstrip(":") != "lo":
                holders.add(device.rstrip(":").split("@")[0])
    return sorted(holders)


# ==== HTTP service: policy, route groups, the dispatcher ====================
# Routes are data: each RouteGroup brings its rows to the one routes table;
# one dispatcher (`Service.handle`) asks the RequestPolicy to check the
# request, then runs the handler; every answer leaves through
# `Handler.respond` in one write.


class Request:
    """What a handler sees: method, path (no query), lower-case headers, body."""

    __slots__ = ("method", "path", "query", "headers", "body", "client", "peer", "label")

    def __init__(self, method, target, headers=(), body=b"", client=("127.0.0.1", 0), peer="host"):
        path, _, self.query = target.partition("?")
        self.method, self.path, self.body, self.client = method, path, body, client
        self.peer, self.label = peer, None  # "container": served a grant only (EcsRoutes.serve_container)
        if isinstance(headers, dict):  # already by lower-case name (the Handler's)
            self.headers = headers
        else:
            self.headers = {}
            for name, value in headers:
                self.headers.setdefault(name.lower(), value)

    def header(self, name):
        return self.headers.get(name)

    def form(self):
        """Fields of a form-encoded (or JSON object) body; last value wins."""
        text = self.body.decode("utf-8", "replace")
        if text.lstrip().startswith("{"):
            try:
                doc = json.loads(text)
            except ValueError:
                raise HTTPError(400, "the body is not valid JSON") from None
            if not isinstance(doc, dict):
                raise HTTPError(400, "the body must be a JSON object")
            return {str(k): str(v) for k, v in doc.items()}
        return dict(urllib.parse.parse_qsl(text, keep_blank_values=True))


class Response:
    __slots__ = ("status", "body", "content_type", "headers")

    def __init__(self, status, body=b"", content_type="application/json", headers=()):
        self.status, self.body = status, body
        self.content_type, self.headers = content_type, tuple(headers)


def json_response(doc, status=200, headers=()):
    return Response(status, json.dumps(doc).encode(), headers=headers)


def text_response(text, headers=()):
    return Response(200, text.encode(), "text/plain", headers)


def redirect(location):
    return Response(302, b"", "text/plain", [("Location", location)])


def error_response(status, code, message, headers=()):
    return json_response({"Code": code, "Message": message}, status, headers)


class ImdsTokens:
    """Stateless IMDSv2 tokens: expiry and an HMAC of it under a per-process
    key.  Nothing is stored, so the token state cannot grow."""

    def __init__(self, key=None, clock=time.time):
        self.key = key or secrets.token_bytes(32)
        self.clock = clock

    def issue(self, ttl):
        raw = struct.pack(">Q", int(self.clock()) + ttl) + secrets.token_bytes(8)
        mac = hmac.new(self.key, raw, hashlib.sha256).digest()[:24]
        return base64.urlsafe_b64encode(raw + mac).decode().rstrip("=")

    def valid(self, token):
        if not token or len(token) > 64:
            return False
        try:
            data = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
        except ValueError:
            return False
        if len(data) != 40 or base64.urlsafe_b64encode(data).decode().rstrip("=") != token:
            return False  # one spelling per token: unused low bits of the last character count
        mac = hmac.new(self.key, data[:16], hashlib.sha256).digest()[:24]
        expiry = struct.unpack(">Q", data[:8])[0]
        return hmac.compare_digest(mac, data[16:]) and self.clock() < expiry


class Router:
    """(method, path pattern) -> (handler, guard).  `{name}` matches one
    path segment.  A known path with another method is 405 with Allow."""

    def __init__(self, routes):
        self.exact, self.patterns = {}, []
        for method, pattern, handler, guard in routes:
            if "{" in pattern:
                regex = re.compile(re.sub(r"\{(\w+)\}", r"(?P<\1>[^/]+)", pattern) + r"\Z")
                self.patterns.append((regex, method, handler, guard))
            else:
                self.exact.setdefault(pattern, {})[method] = (handler, guard)

    def match(self, method, path):
        found = self.exact.get(path)
        args = {}
        if found is None:
            found = {}
            for regex, route_method, handler, guard in self.patterns:
                match = regex.match(path)
                if match:
                    found.setdefault(route_method, (handler, guard))
                    args = {k: urllib.parse.unquote(v) for k, v in match.groupdict().items()}
        if not found:
            raise HTTPError(404, "no such path: %s" % _printable(shown_path(path)), "NotFound")
        route = found.get("GET" if method == "HEAD" else method)
        if route is None:
            allowed = sorted(set(found) | ({"HEAD"} if "GET" in found else set()))
            raise HTTPError(405, "%s is not allowed here" % _printable(method), "MethodNotAllowed",
                            [("Allow", ", ".join(allowed))])
        return route[0], route[1], args


SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Cache-Control", "no-store"))


class RequestPolicy:
    """The guards the dispatcher runs before a handler, by the route's kind:
    the Host allow-list (DNS rebinding) for every request, browsers refused
    on credential paths, other sites and missing CSRF tokens on the
    management API, IMDSv2 tokens, the ECS Authorization token, proxies.
    It knows where the service listens (Host values, origins, base URL)
    and holds the browser-bound sign-ins (`browsers`)."""

    def __init__(self, tokens=None, imds_v2_only=False, auth_token=None, csrf_token=None, clock=time.monotonic):
        self.tokens = tokens or ImdsTokens()
        self.imds_v2_only, self.auth_token = imds_v2_only, auth_token
        self.csrf_token = csrf_token or secrets.token_urlsafe(32)
        self.containers = False  # the ECS address is served (ecs --containers)
        self.hosts, self.origins, self.base_url, self.port = frozenset(), frozenset(), "", 0
        self.browsers = BrowserBinding(self, clock)
        self.guards = {"imds": self.guard_imds, "token": self.refuse_browsers, "ecs": self.guard_ecs,
                       "api": self.refuse_cross_site, "page": lambda request: None}

    def check(self, guard, request):
        """The guard of the route's kind (the Host is checked before routing)."""
        self.guards[guard](request)

    def set_address(self, host, port, localhost=True):
        """Allow exactly the Host values that name this listener: on loopback
        also localhost and [::1], unless another process holds [::1]:PORT
        (then localhost may lead there, and is refused here)."""
        names = ({host, "localhost", "::1"} if localhost else {host}) if host in (LOOPBACK, "::1") else {host}
        names = {"[%s]" % n if ":" in n else n for n in names}
        hosts = {"%s:%d" % (n, port) for n in names}
        if port == 80:
            hosts |= names
        self.hosts, self.port = frozenset(hosts), port
        self.origins = frozenset("http://" + h for h in hosts)
        shown = "[%s]" % host if ":" in host else host
        self.base_url = "http://%s" % shown if port == 80 else "http://%s:%d" % (shown, port)

    def check_host(self, request):
        if request.header("host") not in self.hosts:
            raise HTTPError(403, "this Host is not served here (DNS rebinding is refused); "
                            "use %s" % self.base_url, "ForbiddenHost")

    def on_loopback(self):
        return self.base_url.startswith(("http://127.", "http://[::1]", "http://localhost"))

    def sign_in_links(self, extra):
        """PKCE needs the browser to reach our callback on loopback, and the
        sso-session form (as the AWS CLI); otherwise the device code serves."""
        if "start_url" in extra and not (extra.get("pkce") and self.on_loopback()):
            extra = {k: v for k, v in extra.items() if k != "login_url"}
        return extra

    def refuse_browsers(self, request):
        """Credential paths: SDKs send no Origin, Referer, Sec-Fetch-Site or
        Accept-Language.  Browsers always send Accept-Language, also where
        they send no Sec-Fetch-* (to http://169.254.169.254, not a
        potentially trustworthy origin) and the page chose no-referrer."""
        fetch_site = request.header("sec-fetch-site")
        if request.header("origin") is not None or request.header("referer") is not None \
                or request.header("accept-language") is not None or fetch_site not in (None, "none"):
            raise HTTPError(403, "credentials are not served to web pages", "ForbiddenBrowser")

    def refuse_cross_site(self, request):
        """Management API: other sites are refused; a browser's state change
        must also carry the page's CSRF token.  Command-line clients send
        none of these headers and are not affected."""
        origin = request.header("origin")
        fetch_site = request.header("sec-fetch-site")
        referer = request.header("referer")
        if (origin is not None and origin not in self.origins) or \
                fetch_site not in (None, "none", "same-origin") or \
                (referer is not None and _origin_of(referer) not in self.origins):
            raise HTTPError(403, "requests from other sites are refused", "ForbiddenOrigin")
        from_browser = origin is not None or any(name.startswith("sec-fetch-") for name in request.headers)
        if from_browser and request.method == "POST":
            token = (request.header("x-csrf-token") or "").encode("utf-8", "replace")
            if not hmac.compare_digest(token, self.csrf_token.encode()):
                raise HTTPError(403, "missing or wrong CSRF token: reload the page", "ForbiddenCSRF")

    def guard_imds(self, request):
        self.refuse_browsers(request)
        token = request.header("x-aws-ec2-metadata-token")
        if token is not None and not self.tokens.valid(token):
            raise HTTPError(401, "the IMDSv2 token is invalid or expired", "Unauthorized")
        if token is None and self.imds_v2_only:
            raise HTTPError(401, "IMDSv1 is disabled: get a token with PUT /latest/api/token",
                            "Unauthorized")

    @staticmethod
    def refuse_proxied(request):
        """Credentials go to a client that connects itself, never through a
        proxy (which could be a web page's way in): as the IMDS token path."""
        if request.header("x-forwarded-for") is not None or request.header("via") is not None:
            raise HTTPError(403, "credential requests through a proxy are refused", "Forbidden")

    def guard_ecs(self, request):
        self.refuse_browsers(request)
        self.refuse_proxied(request)
        if self.auth_token is not None:
            given = (request.header("authorization") or "").encode("utf-8", "replace")
            if not hmac.compare_digest(given, self.auth_token.encode()):
                raise HTTPError(401, "a valid Authorization header is required "
                                "(AWS_CONTAINER_AUTHORIZATION_TOKEN or _FILE)", "Unauthorized")


class BrowserBinding:
    """Browser sign-ins bound to the browser that started them: the OAuth
    `state` of each, its browser's id in an HttpOnly cookie, and the
    outcome that browser reads once from /signin-result."""

    def __init__(self, policy, clock=time.monotonic):
        self.policy, self.clock = policy, clock
        self._lock = threading.Lock()
        self._sign_ins = {}  # OAuth state -> (id of the browser that started it, when)
        self._outcomes = {}  # browser id -> the outcome of its last sign-in, for /signin-result

    def _cookie_name(self):
        return "runas_meta_%d" % self.policy.port  # cookies ignore ports: one name per listener

    def _browser(self, request):
        """This browser's id from its cookie, or None."""
        for part in (request.header("cookie") or "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == self._cookie_name() and re.match(r"[\w-]{20,64}\Z", value):
                return value
        return None

    def start(self, request, url):
        """Remember which browser started the sign-in whose `state` is in
        `url`; answer the URL for the page to open, with that browser's cookie."""
        state = dict(urllib.parse.parse_qsl(urllib.parse.urlsplit(url).query)).get("state", "")
        browser = self._browser(request) or secrets.token_urlsafe(24)
        now = self.clock()
        with self._lock:
            self._sign_ins = {k: v for k, v in self._sign_ins.items() if now - v[1] < LOGIN_TIMEOUT}
            self._sign_ins[state] = (browser, now)
        cookie = "%s=%s; Path=/; HttpOnly; SameSite=Lax" % (self._cookie_name(), browser)
        return json_response({"url": url}, headers=[("Set-Cookie", cookie)])

    def result(self, request):
        """The outcome of this browser's last sign-in, once."""
        browser = self._browser(request)
        with self._lock:
            outcome = self._outcomes.pop(browser, None) if browser else None
        return json_response(outcome or {})

    def finish(self, request, who, finish):
        """A sign-in's redirect back to us ends on the page, whatever
        happened.  Only a sign-in that this browser started counts (its state,
        its cookie): anything else is ignored, code and error text alike, so
        a link from another site can neither inject a code nor put its words
        on the page.  The page fetches the outcome from /signin-result."""
        query = dict(urllib.parse.parse_qsl(request.query))
        state, browser = query.get("state", ""), self._browser(request)
        with self._lock:
            started = self._sign_ins.get(state)
            mine = started is not None and browser is not None and hmac.compare_digest(started[0], browser)
            if mine:
                del self._sign_ins[state]  # a state is good once
        if not mine:
            LOG.warning("ignored a sign-in callback for a sign-in this browser did not start")
            return redirect("/")
        try:
            if query.get("error"):
                detail = query.get("error_description", "")
                raise IdPError("%s refused the sign-in: %s%s" % (who, _message(query["error"], 60),
                                                                  detail and " (%s)" % _message(detail, 200)))
            name = finish(state, query.get("code", ""))  # and signed in
        except RunasError as exc:
            LOG.warning("sign-in through the browser: %s", exc)
            outcome = {"error": str(exc)}
        else:
            LOG.info("sign-in through the browser finished for profile %r", name)
            outcome = {"signed_in": name}
        with self._lock:
            self._outcomes[browser] = outcome
        return redirect("/#signin-result")


class ActiveProfile:
    """The profile served at /credentials and to IMDS, under a lock, and the
    one the user is switching to (`pending`): it is served once it has
    credentials, so an MFA code or a sign-in asked on the way never takes
    the working profile away."""

    def __init__(self, config, policy, clock=time.monotonic):
        self.config, self.policy, self.name, self.pending = config, policy, None, None
        self.clock, self._waiting = clock, {}  # profile -> (when a program asked, what it needs)
        self._lock = threading.Lock()

    def asked(self, name, auth_type):
        """A program asked for `name`, which needs an MFA code or a sign-in."""
        if name != self.name:
            self._waiting[name] = (self.clock(), auth_type)

    def waiting(self):
        """[{profile, needs}] asked for in the last minute: the page offers them."""
        now = self.clock()
        return [{"profile": name, "needs": needs} for name, (at, needs) in sorted(self._waiting.copy().items())
                if now - at < MINUTE and name != self.name]

    def activate(self, name):
        if name is not None:
            self.config.profile(name)  # ProfileNotFound for a name that is not there
        with self._lock:
            self.name, self.pending = name, None

    def want(self, name):
        with self._lock:
            self.pending = name

    def arrived(self, name):
        """`name` has credentials now: served, if it is the one being switched to."""
        self._waiting.pop(name, None)
        with self._lock:
            if name == self.pending:
                self.name, self.pending = name, None
                LOG.info("active profile is now %r", name)

    def cancel(self):
        with self._lock:
            self.pending = None

    def wanted(self):
        """The profile an MFA code or a sign-in without a profile is for."""
        return self.pending or self.required()

    def required(self):
        name = self.name
        if name is None:
            base = self.policy.base_url
            raise HTTPError(404, "no profile is active: choose one at %s/ or POST %s/profile" % (base, base),
                            "NoActiveProfile")
        return name


def to_page(request):
    """GET of a route that starts something: a link anyone can make, so it
    only opens the page, where one click (with the CSRF token) starts it."""
    return redirect("/")


def request_fields(request):
    """The query's fields, and a POST body's over them."""
    fields = dict(urllib.parse.parse_qsl(request.query))
    if request.method == "POST" and request.body:
        fields.update(request.form())
    return fields


def sso_status(engine, name):
    """What /status says of the IAM Identity Center session behind `name`, or None."""
    try:
        base = engine.sso_base(name)
    except RunasError:
        return None
    if base is None:
        return None
    ends = engine.sso.tokens.session_ends(base)
    return {"profile": base.name, "start_url": base.sso_start_url, "session": sso_owner(base),
            "token_expires": ends and format_time(ends),
            "signed_in": bool(ends and ends > engine.clock()),
            "device": engine.sso.sign_ins.device_view(base),
            "discovery": engine.sso.roles.discovery_view(base)}


INSTANCE_ID = "i-0000000000000000a"


class RouteGroup:
    """A room of handlers: its ROUTES rows (method, path, handler name, the
    policy's guard) go into the one routes table; it shares only the engine,
    the policy and the active profile with the other groups."""

    ROUTES = ()

    def __init__(self, engine, policy, selected):
        self.engine, self.policy, self.selected = engine, policy, selected

    to_page = staticmethod(to_page)


class ImdsRoutes(RouteGroup):
    """The EC2 instance metadata paths SDKs read: the IMDSv2 token, the role
    and its credentials, region, identity document, instance id."""

    ROUTES = (
        # method, path, handler, guard (RequestPolicy)
        ("PUT", "/latest/api/token", "imds_token", "token"),
        ("GET", IMDS_CREDS, "imds_roles", "imds"),
        ("GET", IMDS_CREDS + "/", "imds_roles", "imds"),
        ("GET", IMDS_CREDS + "/{name}", "imds_credentials", "imds"),
        ("GET", IMDS_CREDS + "-extended", "imds_roles", "imds"),
        ("GET", IMDS_CREDS + "-extended/", "imds_roles", "imds"),
        ("GET", IMDS_CREDS + "-extended/{name}", "imds_credentials_extended", "imds"),
        ("GET", "/latest/meta-data/iam/info", "imds_info", "imds"),
        ("GET", "/latest/meta-data/placement/region", "imds_region", "imds"),
        ("GET", "/latest/meta-data/placement/availability-zone", "imds_zone", "imds"),
        ("GET", "/latest/meta-data/instance-id", "imds_instance_id", "imds"),
        ("GET", "/latest/dynamic/instance-identity/document", "imds_identity", "imds"),
    )

    def imds_token(self, request):
        if request.header("x-forwarded-for") is not None:
            raise HTTPError(403, "token requests through a proxy are refused", "Forbidden")
        ttl_text = (request.header("x-aws-ec2-metadata-token-ttl-seconds") or "").strip()
        if not ttl_text.isdigit() or not 1 <= int(ttl_text) <= IMDS_MAX_TTL:
            raise HTTPError(400, "X-aws-ec2-metadata-token-ttl-seconds must be 1..%d" % IMDS_MAX_TTL)
        ttl = int(ttl_text)
        return text_response(self.policy.tokens.issue(ttl),
                             [("X-aws-ec2-metadata-token-ttl-seconds", str(ttl))])

    def imds_roles(self, request):
        return text_response(self.selected.required())

    def _known(self, name):
        if name != self.selected.name and not self.engine.config.known(name):
            raise HTTPError(404, "no such role: %s" % _printable(name), "NotFound")
        return name

    def imds_credentials(self, request, name):
        return Response(200, self.engine.credentials(self._known(name)).document("imds"))

    def imds_credentials_extended(self, request, name):
        return Response(200, self.engine.credentials(self._known(name)).document("imds-extended"))

    def _region(self):
        region = self.engine.config.region(self.selected.required())
        if not region:
            raise HTTPError(404, "profile %r has no region" % self.selected.name, "NotFound")
        return region

    def imds_region(self, request):
        return text_response(self._region())

    def imds_zone(self, request):
        return text_response(self._region() + "a")

    def imds_instance_id(self, request):
        return text_response(INSTANCE_ID)

    def _account(self):
        profile = self.engine.config.profile(self.selected.required())
        return account_from_arn(profile.role_arn) or account_from_arn(profile.mfa_serial) or profile.sso_account_id

    def imds_identity(self, request):
        region = self._region()
        return json_response({"accountId": self._account(), "region": region,
                              "availabilityZone": region + "a", "instanceId": INSTANCE_ID,
                              "version": "2017-09-30"})

    def imds_info(self, request):
        name = self.selected.required()
        return json_response({
            "Code": "Success", "LastUpdated": format_time(utcnow()),
            "InstanceProfileArn": "arn:aws:iam::%s:instance-profile/%s" % (self._account(), name),
            "InstanceProfileId": "AIPA" + hashlib.sha256(name.encode()).hexdigest()[:17].upper()})


class EcsRoutes(RouteGroup):
    """The ECS container credential paths: /credentials[/<profile>] for the
    host's programs, and for containers (ecs --containers) a grant's
    credentials, the health check and the grants' management API."""

    ROUTES = (
        ("GET", "/credentials", "ecs_credentials", "ecs"),
        ("GET", "/credentials/{name}", "ecs_credentials", "ecs"),
        ("GET", GRANT_PATH + "{grant_id}", "grant_credentials", "ecs"),  # a peer of this namespace (--network host)
        ("GET", "/healthcheck", "healthcheck", "page"),
        ("GET", "/grants", "list_grants", "api"),
        ("POST", "/grants", "create_grant", "api"),
        ("POST", "/grants/revoke", "revoke_grant", "api"),
    )

    def __init__(self, engine, policy, selected, grants=None, clock=time.monotonic):
        super().__init__(engine, policy, selected)
        self.grants, self.clock = grants, clock
        self._seen = {}  # a container's address -> (its container id or None, when looked up)
        self.relay_secret = ""  # what a relay must send (ecs --relay-listen); "" refuses every relay
        self.relay_secret_file = ""

    def ecs_credentials(self, request, name=None):
        name = name or self.selected.required()
        try:
            return Response(200, self.engine.credentials(name).document("ecs"))
        except (MFARequired, AuthRequired) as exc:  # a program waits (runas-meta process): the page offers it
            self.selected.asked(name, exc.auth_type)
            raise

    def serve_container(self, request):
        """What the ECS address serves: a grant's credentials and the health
        check, with Host 169.254.170.2; errors as the ECS agent writes them,
        {"code", "message"}.  A container gets nothing else."""
        if request.header("host") not in CONTAINER_HOSTS:
            return self._as_agent(request, HTTPError(403, "a container is served only on Host %s" % ECS_ADDRESS,
                                                     "ForbiddenPeer"))
        return self._grant_path(request)

    def serve_relay(self, request):
        """The relay listener (ecs --relay-listen): a relay that sends the
        secret (RELAY_SECRET_HEADER, compared in constant time) is served
        the grant path and the health check as a container would be, bound
        by the address of the container it names (RELAY_CLIENT_HEADER);
        anything else, 403."""
        given = (request.header(RELAY_SECRET_HEADER.lower()) or "").encode("utf-8", "replace")
        if not self.relay_secret or not hmac.compare_digest(given, self.relay_secret.encode()):
            LOG.warning("refused a request on the relay listener from %s: %s", request.client[0],
                        "a wrong relay secret" if given else "no relay secret")
            return self._as_agent(request, HTTPError(403, "this listener serves only runas-meta's relay, which "
                                                     "proves itself with its secret", "ForbiddenPeer"))
        client = request.header(RELAY_CLIENT_HEADER.lower()) or ""
        if not _is_ip(client):
            return self._as_agent(request, HTTPError(400, "the relay named no container address", "InvalidRequest"))
        request.client = (client, 0)
        return self._grant_path(request)

    def _grant_path(self, request):
        """A grant's credentials or the health check, as the ECS agent
        answers; nothing else."""
        try:
            self.policy.refuse_proxied(request)
            if request.method in ("GET", "HEAD"):
                grant_id = request.path[len(GRANT_PATH):] if request.path.startswith(GRANT_PATH) else None
                if grant_id and "/" not in grant_id:
                    return self.grant_credentials(request, grant_id)
                if request.path == "/healthcheck":
                    return self.healthcheck(request)
            raise HTTPError(403, "a container is served only GET %s<id> of a grant made for it on the host "
                            "(runas_meta.py grant PROFILE --label NAME)" % GRANT_PATH, "ForbiddenPeer")
        except Exception as exc:  # noqa: BLE001  (each kind is answered by _as_agent)
            return self._as_agent(request, exc)

    @staticmethod
    def _as_agent(request, exc):
        """An error as the ECS agent writes it: {"code", "message"}."""
        if isinstance(exc, HTTPError):
            return json_response({"code": exc.code, "message": str(exc)}, exc.status, exc.headers)
        if isinstance(exc, RunasError):
            return json_response({"code": exc.code, "message": str(exc)}, exc.status)
        log_bug("internal error on %s %s", request.method, _printable(shown_path(request.path)))
        return json_response({"code": "InternalError", "message": "internal error; see the service log"}, 500)

    def grant_credentials(self, request, grant_id):
        """GET /v2/credentials/<id>: the ECS document of the grant's profile.
        A container is bound to the grant by its first use; why its
        credentials cannot be had goes to the log and the page, never to
        the container (the text names the user's files, profiles and ARNs)."""
        grant, container_peer = None, request.peer in ("container", "relay")
        if self.grants is not None:
            container = self._container_id(request.client[0]) if request.peer == "container" else None
            grant = self.grants.use(grant_id, request.client[0], container, bind=container_peer)
        if grant is None:
            raise HTTPError(404, "no such grant: it was revoked, has expired, or never existed", "GrantNotFound")
        request.label = grant["label"]
        try:
            return Response(200, self.engine.credentials(grant["profile"]).document("ecs"))
        except RunasError as exc:
            self.grants.note_error(grant_id, str(exc))
            if not container_peer:
                raise
            LOG.warning("grant %r (profile %r): %s", grant["label"], grant["profile"], exc)
            if isinstance(exc, (MFARequired, AuthRequired)):
                self.engine.tell(grant["profile"], "needed", "an MFA code" if isinstance(exc, MFARequired)
                                 else "a sign-in")
            raise HTTPError(503, CONTAINER_SIGN_IN if isinstance(exc, (MFARequired, AuthRequired)) else
                            CONTAINER_UNAVAILABLE, "CredentialsUnavailable") from None

    def _container_id(self, address):
        """Best effort, looked up once a minute per address (container_of)."""
        seen = self._seen.get(address)
        now = self.clock()
        if seen is None or now - seen[1] > MINUTE:
            seen = self._seen[address] = (container_of(address), now)
        return seen[0]

    def healthcheck(self, request):
        """200 while the config reads without error, else 503; no profile named."""
        if self.engine.config.errors:
            return json_response({"status": "unhealthy", "message": "the AWS config has errors: see the page on "
                                  "the host"}, 503)
        return json_response({"status": "healthy"})

    def list_grants(self, request):
        grants = self._grants()
        return json_response({"containers": self.policy.containers, "grants": grants.list(), "unkept": grants.unkept()})

    def create_grant(self, request):
        """POST /grants (form: profile, label, ttl): the id, in this answer only."""
        form = request.form()
        name = form.get("profile", "").strip()
        if not name:
            raise HTTPError(400, "the form field profile must name the profile to grant")
        self.engine.config.profile(name)  # ProfileNotFound for a name that is not there
        try:
            ttl = grant_lifetime(form.get("ttl") or "7d")
        except UsageError as exc:
            raise HTTPError(400, str(exc)) from None
        grant_id, view = self._grants().create(name, form.get("label", "").strip(), ttl)
        return json_response(dict(view, relative_uri=GRANT_PATH + grant_id, containers=self.policy.containers))

    def revoke_grant(self, request):
        """200 when the revocation is on disk; 202 when it holds in this
        service but the grants file could not take it yet (retried)."""
        label = request.form().get("label", "").strip()
        found, kept = self._grants().revoke(label)
        if not found:
            raise HTTPError(404, "no grant is labelled %r" % _printable(label, 64), "GrantNotFound")
        if kept:
            return json_response({"revoked": label, "kept": True})
        return json_response({"revoked": label, "kept": False, "Message": (
            "grant %r is refused by this service from now on, but %s could not be written (see the service log): "
            "the service writes it again every %d s; until then a restart of the service refuses it only while "
            "%s lasts" % (label, self.grants.path, RENEWAL_INTERVAL, self.grants.spare))}, 202)

    def _grants(self):
        if self.grants is None:
            raise HTTPError(404, "this service keeps no grants", "NotFound")
        return self.grants


class ManagementRoutes(RouteGroup):
    """The management API and the page: profiles and roles, the served
    profile, MFA codes and IdP passwords, Refresh Now, the console, /status."""

    ROUTES = (
        ("GET", "/list-profiles", "list_profiles", "api"),
        ("GET", "/list-roles", "list_roles", "api"),
        ("GET", "/profile", "get_profile", "api"),
        ("POST", "/profile", "post_profile", "api"),
        ("POST", "/profile/cancel", "cancel_switch", "api"),
        ("POST", "/mfa", "post_mfa", "api"),
        ("POST", "/auth", "post_auth", "api"),
        ("POST", "/refresh", "post_refresh", "api"),
        ("POST", "/console", "console", "api"),
        ("GET", "/console", "to_page", "page"),
        ("GET", "/status", "get_status", "api"),
        ("GET", "/", "page", "page"),
    )

    def __init__(self, engine, policy, selected, mode="ecs"):
        super().__init__(engine, policy, selected)
        self.mode, self.auth_file = mode, ""  # auth_file: a generated ECS token's file (the command line's)
        self.page_html = render_page(policy.csrf_token)


    def list_profiles(self, request):
        return json_response(self.engine.config.sources())

    def list_roles(self, request):
        return json_response(self.engine.config.roles())

    def _profile_doc(self, name):
        p = self.engine.config.profile(name)
        return {"name": p.name, "role_arn": p.role_arn, "external_id": "set" if p.external_id else "",
                "auth_url": _url_shown(p.saml_auth_url or p.web_identity_auth_url),
                "username": p.saml_username or p.web_identity_username,
                "jump_role": p.jump_role_arn, "client_id": p.web_identity_client_id,
                "redirect_uri": p.web_identity_redirect_uri, "source_profile": p.source_profile,
                "region": self.engine.config.region(name), "mfa_serial": p.mfa_serial,
                "sso_start_url": p.sso_start_url, "sso_session": p.sso_session,
                "sso_account_id": p.sso_account_id, "sso_role_name": p.sso_role_name,
                "credential_process": "set" if p.credential_process else ""}

    def get_profile(self, request):
        return json_response(self._profile_doc(self.selected.required()))

    def post_profile(self, request):
        name = request.body.decode("utf-8", "replace").strip()
        if name.startswith('"'):
            try:
                name = str(json.loads(name))
            except ValueError:
                raise HTTPError(400, "the body must be a profile name") from None
        if not name:
            raise HTTPError(400, "the body must be a profile name")
        self.engine.config.profile(name)  # ProfileNotFound for a name that is not there
        try:
            self.engine.credentials(name)
        except (MFARequired, AuthRequired):  # still 401; the served profile changes when its credentials come
            self.selected.want(name)
            LOG.info("switching to profile %r once it has credentials; serving %r meanwhile", name, self.selected.name)
            raise
        self.selected.activate(name)
        LOG.info("active profile is now %r", name)
        return json_response(self._profile_doc(name))

    def cancel_switch(self, request):
        """The page's Cancel: stay with the served profile."""
        self.selected.cancel()
        return json_response({"active": self.selected.name})

    def post_mfa(self, request):
        form = request.form()
        code = form.get("mfa", "").strip()
        name = form.get("profile") or self.selected.wanted()
        problem = mfa_code_problem(code, idp=self.engine.config.federated(name) is not None)
        if problem:
            raise HTTPError(400, "the form field mfa: %s" % problem)
        creds = self.engine.credentials(name, mfa_code=code)
        self.selected.arrived(name)
        return json_response({"profile": name, "expiration": format_time(creds.expiration)})

    def post_auth(self, request):
        form = request.form()
        name = form.get("profile") or self.selected.wanted()
        if not form.get("password"):
            raise HTTPError(400, "the form fields username and password are required")
        creds = self.engine.authenticate(name, form.get("username", "").strip(), form["password"])
        self.selected.arrived(name)
        return json_response({"profile": name, "expiration": format_time(creds.expiration)})

    def post_refresh(self, request):
        name = self.selected.required()
        creds = self.engine.refresh(name)
        return json_response({"profile": name, "expiration": format_time(creds.expiration)})

    def console(self, request):
        """The federation endpoint's login URL that opens the AWS console as
        the active profile (it holds a sign-in token: POST only, never a link)."""
        return json_response({"url": self.engine.console_url(self.selected.required())})

    def get_status(self, request):
        """What the page shows; never fetches credentials (GetCallerIdentity
        once per set of credentials, for the identity line)."""
        name = self.selected.name
        doc = {"active": name, "switching_to": self.selected.pending, "mode": self.mode,
               "config_errors": self.engine.config.errors, "waiting": self.selected.waiting()}
        if name:
            doc.update(self.engine.status(name))
            try:
                doc["profile_details"] = self._profile_doc(name)
            except RunasError as exc:
                doc["error"] = str(exc)
            doc["identity"] = self.engine.identity(name)
            doc["sso"] = sso_status(self.engine, name)
            if doc.get("auth_needed"):
                doc["auth_needed"] = self.policy.sign_in_links(doc["auth_needed"])
        if self.selected.pending:  # a sign-in for the profile being switched to: its push is the one shown
            doc["push"] = self.engine.status(self.selected.pending).get("push")
        doc["use"] = use_lines(self.mode, self.policy.base_url,
                               os.path.join(self.engine.config.directory, ".runas_meta_empty_credentials"),
                               self.auth_file, legacy=self.policy.base_url == "http://" + LEGACY_ADDRESS)
        return json_response(doc)

    def page(self, request):
        return Response(200, self.page_html, "text/html; charset=utf-8",
                        [("Content-Security-Policy", PAGE_CSP), ("X-Frame-Options", "DENY")])



class SignInRoutes(RouteGroup):
    """Browser sign-ins through an identity provider (OIDC with PKCE): start,
    the IdP's callback, and the outcome the page reads."""

    ROUTES = (
        ("POST", "/oidc/login", "oidc_login", "api"),
        ("GET", "/oidc/login", "to_page", "page"),
        ("GET", "/signin-result", "signin_result", "api"),
        ("GET", "/oidc/callback", "oidc_callback", "page"),  # arrives from the IdP: checked by state
    )

    def oidc_login(self, request):
        """The identity provider's authorize URL (PKCE, state) for the page
        to open, the state bound to this browser."""
        name = request_fields(request).get("profile") or self.selected.wanted()
        fed = self.engine.config.federated(name)
        if fed is None or not fed.web_identity_auth_url:
            raise HTTPError(400, "profile %r does not sign in through OIDC" % name)
        return self.policy.browsers.start(request, self.engine.federation.start_browser_login(
            fed, self.policy.base_url + "/oidc/callback"))

    def signin_result(self, request):
        return self.policy.browsers.result(request)

    def oidc_callback(self, request):
        """The identity provider's redirect: check state, exchange the code,
        assume the role, back to the page."""
        return self.policy.browsers.finish(request, "the identity provider", self._finish)

    def _finish(self, state, code):
        name = self.engine.federation.finish_browser_login(state, code)
        self.engine.sign_in(name)
        self.selected.arrived(name)
        return name



class OktaRoutes(RouteGroup):
    """Okta Identity Engine (okta_oidc_client_id): the device code or the
    browser's PKCE sign-in to the OIDC app, for the page's sign-in dialog."""

    ROUTES = (
        ("POST", "/okta/device", "okta_device_start", "api"),
        ("GET", "/okta/device", "okta_device_status", "api"),
        ("POST", "/okta/login", "okta_login", "api"),
        ("GET", "/okta/login", "to_page", "page"),
        ("GET", "/okta/callback", "okta_callback", "page"),  # arrives from Okta: checked by state
    )

    def _okta_profile(self, request):
        name = request_fields(request).get("profile") or self.selected.wanted()
        fed = self.engine.config.federated(name)
        if fed is None or not fed.okta_oidc_client_id:
            raise HTTPError(400, "profile %r does not sign in to Okta Identity Engine (okta_oidc_client_id)"
                            % _printable(name))
        return name, fed

    def okta_device_start(self, request):
        name, fed = self._okta_profile(request)
        federation = self.engine.federation
        return json_response(federation.okta.start_device(federation.client(fed), fed, name, self._signed_in))

    def okta_device_status(self, request):
        _, fed = self._okta_profile(request)
        return json_response(self.engine.federation.okta.device_view(fed))

    def okta_login(self, request):
        name, fed = self._okta_profile(request)
        if not self.policy.on_loopback():
            raise HTTPError(400, "the browser sign-in needs the service on 127.0.0.1: use the device code")
        return self.policy.browsers.start(request, self.engine.federation.okta.start_pkce(
            fed, name, self.policy.base_url + "/okta/callback"))

    def okta_callback(self, request):
        return self.policy.browsers.finish(request, "Okta", self._finish)

    def _finish(self, state, code):
        name = self.engine.federation.okta.finish_pkce(self.engine.federation.client, state, code)
        self.engine.sign_in(name)
        self.selected.arrived(name)
        return name

    def _signed_in(self, name):
        try:
            self.engine.sign_in(name)
            self.selected.arrived(name)
        except RunasError as exc:
            LOG.warning("after the Okta sign-in, profile %r: %s", name, exc)


class AwsLoginRoutes(RouteGroup):
    """aws login's sign-in from the page: the browser's PKCE flow with our
    callback (the AWS CLI's path on our port), or, for a host whose browser
    cannot reach us, the cross-device flow whose code is pasted."""

    ROUTES = (
        ("POST", "/login/start", "login_start", "api"),
        ("GET", "/login/start", "to_page", "page"),
        ("POST", "/login/remote", "login_remote", "api"),
        ("POST", "/login/code", "login_code", "api"),
    )

    def _login_profile(self, request):
        name = request_fields(request).get("profile") or self.selected.wanted()
        base = self.engine.login_base(name)
        if base is None:
            raise HTTPError(400, "profile %r does not use an aws login session (login_session)" % _printable(name))
        return name, base

    def login_start(self, request):
        """Sign-In's authorize URL for the page to open, bound to this browser."""
        name, base = self._login_profile(request)
        if not self.policy.on_loopback():
            raise HTTPError(400, "the browser sign-in needs the service on 127.0.0.1: use the cross-device "
                            "sign-in (POST /login/remote, then POST /login/code)")
        return self.policy.browsers.start(request, self.engine.login_sign_ins.start(
            base, name, self.policy.base_url + LOGIN_CALLBACK_PATH))

    def owns(self, state):
        return state in self.engine.login_sign_ins.pending

    def login_callback(self, request):
        return self.policy.browsers.finish(request, "AWS Sign-In", self._finish)

    def login_remote(self, request):
        """The cross-device sign-in: the URL to open anywhere; Sign-In then
        shows a code to paste into POST /login/code."""
        name, base = self._login_profile(request)
        return json_response({"url": self.engine.login_sign_ins.start(base, name)})

    def login_code(self, request):
        name = self.engine.login_sign_ins.finish_pasted(request_fields(request).get("code", ""))
        self.engine.sign_in(name)
        self.selected.arrived(name)
        return json_response({"signed_in": name})

    def _finish(self, state, code):
        name = self.engine.login_sign_ins.finish(state, code)
        self.engine.sign_in(name)
        self.selected.arrived(name)
        return name


class IdentityCenterRoutes(RouteGroup):
    """IAM Identity Center: sign-in through the browser (PKCE) or a device
    code, and the list of every account and role of the session."""

    ROUTES = (
        ("POST", "/sso/login", "sso_login", "api"),
        ("GET", "/sso/login", "to_page", "page"),
        ("POST", "/sso/device", "sso_device_start", "api"),
        ("GET", "/sso/device", "sso_device_status", "api"),
        ("GET", "/sso/roles", "sso_roles", "api"),
        ("POST", "/sso/roles/refresh", "sso_roles_refresh", "api"),
    )

    def _sso_profile(self, request):
        """(name asked for, its IAM Identity Center base profile)."""
        name = request_fields(request).get("profile") or self.selected.wanted()
        base = self.engine.sso_base(name)
        if base is None:
            raise HTTPError(400, "profile %r does not use IAM Identity Center" % _printable(name))
        return name, base

    def sso_login(self, request):
        """IAM Identity Center's authorize URL (PKCE) for the page to open."""
        name, base = self._sso_profile(request)
        if not base.sso_session or not self.policy.on_loopback():
            raise HTTPError(400, "sign-in through the browser needs an sso_session profile and the service "
                            "on 127.0.0.1: use the device code (POST /sso/device)")
        return self.policy.browsers.start(request, self.engine.sso.sign_ins.start_pkce(base, name, self.policy.base_url + SSO_CALLBACK_PATH))

    def owns(self, state):
        return state in self.engine.sso.sign_ins.logins

    def sso_callback(self, request):
        """IAM Identity Center's redirect: check state, exchange the code,
        store the token where the AWS CLI keeps it, serve the role."""
        return self.policy.browsers.finish(request, "IAM Identity Center", self._finish)

    def sso_device_start(self, request):
        name, base = self._sso_profile(request)
        return json_response(self.engine.sso.sign_ins.start_device(base, name, self._signed_in))

    def _signed_in(self, name):
        """After a device sign-in: fetch the role now, so no client waits."""
        try:
            self.engine.sign_in(name)
            self.selected.arrived(name)
        except RunasError as exc:
            LOG.warning("after the IAM Identity Center sign-in, profile %r: %s", name, exc)

    def sso_device_status(self, request):
        _, base = self._sso_profile(request)
        return json_response(self.engine.sso.sign_ins.device_view(base))

    def sso_roles(self, request):
        """Every account and role of the signed-in session, with the names
        they are served under (/credentials/<name>, POST /profile)."""
        _, base = self._sso_profile(request)
        partial = dict(urllib.parse.parse_qsl(request.query)).get("partial") == "1"  # the page: what is found so far
        return json_response(self.engine.sso.roles.list_roles(base, wait=not partial))

    def sso_roles_refresh(self, request):
        """The page's "Refresh list": discover the accounts and roles anew."""
        _, base = self._sso_profile(request)
        self.engine.sso.tokens.access_token(base)
        return json_response(self.engine.sso.roles.refresh_roles(base))

    def _finish(self, state, code):
        name = self.engine.sso.sign_ins.finish_pkce(state, code)
        self.engine.sign_in(name)
        self.selected.arrived(name)
        return name



class OAuthCallbacks(RouteGroup):
    """The AWS CLI's redirect path, /oauth/callback, which IAM Identity
    Center's and aws login's browser sign-ins both come back to (as with
    the CLI): the sign-in that made the state takes it; a state no one made
    goes to the first, which ignores it (BrowserBinding)."""

    ROUTES = (("GET", SSO_CALLBACK_PATH, "callback", "page"),)  # arrives from the sign-in: checked by state

    def __init__(self, engine, policy, selected, owners):
        super().__init__(engine, policy, selected)
        self.owners = owners  # [(owns(state), callback(request))]

    def callback(self, request):
        state = dict(urllib.parse.parse_qsl(request.query)).get("state", "")
        handler = next((callback for owns, callback in self.owners if owns(state)), self.owners[0][1])
        return handler(request)


class Service:
    """The credential service as a function from Request to Response: the
    dispatcher.  It asks the policy to check the request (by its route's
    kind), calls the route group's handler, and turns what the handler
    raises into the answer; a container's request goes to the ECS routes'
    grant path only.  `handle` never raises."""

    def __init__(self, engine, config, mode="ecs", imds_v2_only=False, auth_token=None,
                 tokens=None, clock=time.monotonic, csrf_token=None, grants=None):
        self.engine, self.config, self.mode, self.clock = engine, config, mode, clock
        self.policy = RequestPolicy(tokens, imds_v2_only, auth_token, csrf_token, clock)
        self.selected = ActiveProfile(config, self.policy, clock)
        self.ecs = EcsRoutes(engine, self.policy, self.selected, grants, clock)
        self.management = ManagementRoutes(engine, self.policy, self.selected, mode)
        sso, aws_login = (IdentityCenterRoutes(engine, self.policy, self.selected),
                          AwsLoginRoutes(engine, self.policy, self.selected))
        self.groups = (ImdsRoutes(engine, self.policy, self.selected), self.ecs, self.management,
                       SignInRoutes(engine, self.policy, self.selected), sso, aws_login,
                       OktaRoutes(engine, self.policy, self.selected),
                       OAuthCallbacks(engine, self.policy, self.selected, [(sso.owns, sso.sso_callback),
                                                                          (aws_login.owns, aws_login.login_callback)]))
        self.router = Router([(method, path, getattr(group, handler), guard)
                              for group in self.groups for method, path, handler, guard in group.ROUTES])
        self._told_mfa = {}
        self.notifier = None  # a Notifier (build_service), whose ahead() the renewal loop runs

    # what the command line, the page's tests and the server read of the service
    active = property(lambda self: self.selected.name)
    base_url = property(lambda self: self.policy.base_url)
    port = property(lambda self: self.policy.port)
    csrf_token = property(lambda self: self.policy.csrf_token)
    auth_token = property(lambda self: self.policy.auth_token)
    containers = property(lambda self: self.policy.containers,
                          lambda self, value: setattr(self.policy, "containers", value))
    grants = property(lambda self: self.ecs.grants, lambda self, value: setattr(self.ecs, "grants", value))

    def set_address(self, host, port, localhost=True):
        self.policy.set_address(host, port, localhost)
        self.engine.own_addresses.add((host, port))

    def activate(self, name):
        self.selected.activate(name)

    def handle(self, request):
        if request.peer == "relay":
            return self.ecs.serve_relay(request)
        if request.peer == "container" or (self.policy.containers and request.header("host") in CONTAINER_HOSTS):
            return self.ecs.serve_container(request)
        try:
            self.policy.check_host(request)
            handler, guard, args = self.router.match(request.method, request.path)
            self.policy.check(guard, request)
            response = handler(request, **args)
        except MFARequired as exc:
            response = self._mfa_needed(exc)
        except AuthRequired as exc:
            response = self._auth_needed(exc)
        except HTTPError as exc:
            response = error_response(exc.status, exc.code, str(exc), exc.headers)
        except RunasError as exc:
            response = error_response(exc.status, exc.code, str(exc))
        except Exception:  # a bug: log the traceback (no secrets in our messages)
            log_bug("internal error on %s %s", request.method, _printable(shown_path(request.path)))
            response = error_response(500, "InternalError", "internal error; see the service log")
        return response

    def _mfa_needed(self, exc):
        self.engine.tell(exc.profile, "needed", "an MFA code")
        now = self.clock()
        if now - self._told_mfa.get(exc.profile, -1e9) > MINUTE:
            self._told_mfa[exc.profile] = now
            LOG.warning("profile %r needs an MFA code: open %s/ or POST %s/mfa",
                        exc.profile, self.base_url, self.base_url)
        message = "profile %r: %s: open %s/ to enter it, or POST the form field mfa to %s/mfa" % (
            exc.profile, exc, self.base_url, self.base_url)
        return json_response({"Code": exc.code, "Message": message, "profile": exc.profile, "serial": exc.serial},
                             401, [(AUTH_TYPE_HEADER, exc.auth_type)])

    def _auth_needed(self, exc):
        """401 with the dialog to open: AUTH (username, password), BROWSER,
        or SSO (IAM Identity Center: browser sign-in and/or a device code)."""
        self.engine.tell(exc.profile, "needed", "a sign-in")
        doc = {"Code": exc.code, "Message": str(exc), "username": exc.username, "page": self.base_url + "/"}
        extra = self.policy.sign_in_links(exc.extra)
        doc.update((key, self.base_url + extra[key]) for key in ("login_url", "device_url", "remote_url")
                   if key in extra)
        if "start_url" in extra:
            doc.update(start_url=extra["start_url"], profile=exc.profile)
        if "provider" in extra:
            doc.update(provider=extra["provider"], profile=exc.profile)
        return json_response(doc, 401, [(AUTH_TYPE_HEADER, exc.auth_type)])


# ==== HTTP connections: who connects, parsing, the server ==================
# PeerCheck tells a local user (and which) from a container; Handler reads a
# request and writes the answer in one write; Server keeps a pool of
# connection threads, caps connections (per container address too) and reaps
# slow ones.


def _proc_address(host, port):
    """An address as /proc/net/tcp{,6} writes it: the IP's 32-bit words in
    host (little-endian) order, in hex, then the port."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    raw = socket.inet_pton(family, host)
    words = "".join(raw[i:i + 4][::-1].hex() for i in range(0, len(raw), 4))
    return "%s:%04X" % (words.upper(), port)


SOCK_DIAG_BY_FAMILY = 20
NETLINK_SOCK_DIAG = 4


def _sock_diag_owner(client, server, link=None):
    """Linux's inet_diag exact lookup of the TCP socket whose local end is
    `client` and remote end `server`; its idiag_uid, or None.  `link` is an
    open NETLINK_SOCK_DIAG socket to reuse (opening one costs more than the
    query)."""
    found = _sock_diag_socket(client, server, link)
    return found and found[0]


def _sock_diag_socket(client, server, link=None):
    """(idiag_uid, idiag_inode) of that socket, or None."""
    family = socket.AF_INET6 if ":" in client[0] else socket.AF_INET
    src = socket.inet_pton(family, client[0]).ljust(16, b"\0")
    dst = socket.inet_pton(family, server[0]).ljust(16, b"\0")
    sockid = struct.pack("!HH", client[1], server[1]) + src + dst
    request = (struct.pack("=BBBBI", family, socket.IPPROTO_TCP, 0, 0, 0xFFFFFFFF) + sockid
               + struct.pack("=III", 0, 0xFFFFFFFF, 0xFFFFFFFF))  # any interface, no cookie
    message = struct.pack("=IHHII", 16 + len(request), SOCK_DIAG_BY_FAMILY, 1, 1, 0) + request
    if link is None:
        with _netlink() as link:
            return _sock_diag_socket(client, server, link)
    link.sendto(message, (0, 0))
    return _diag_uid(link.recv(8192), family, sockid)


TCP_ESTABLISHED = 1


def _diag_uid(answer, family, sockid):
    """idiag_uid of an inet_diag_msg that is this very connection, else None.
    The kernel's exact lookup falls back to a *listening* socket on the
    client's port when no connection matches (a container's socket lives in
    another namespace): a container that picks port 22 as its source port
    would be taken for sshd's owner.  So the answer counts only for an
    established socket whose both ends are the ones asked about."""
    if len(answer) < 84 or struct.unpack_from("=H", answer, 4)[0] != SOCK_DIAG_BY_FAMILY:
        return None  # NLMSG_ERROR: no such socket
    msg_family, state = struct.unpack_from("=BB", answer, 16)
    if msg_family != family or state != TCP_ESTABLISHED or answer[20:20 + len(sockid)] != sockid:
        return None
    return struct.unpack_from("=II", answer, 16 + 64)  # inet_diag_msg.idiag_uid, idiag_inode


def _netlink():
    link = socket.socket(socket.AF_NETLINK, socket.SOCK_DGRAM, NETLINK_SOCK_DIAG)
    link.settimeout(1.0)
    return link


# The processes that carry a container's or a VM's connections to the host's
# loopback, so that to the service they look like the user: by their program
# name (Linux's comm is cut at 15 characters).
FORWARDER_NAMES = frozenset({
    "slirp4netns", "rootlesskit", "rootlessport", "pasta", "passt", "pasta.avx2", "passt.avx2", "vpnkit",
    "vpnkit-bridge", "gvproxy", "com.docker.backend", "com.docker.back", "com.docker.vpnkit", "com.docker.vpnk",
    "docker-desktop", "wslrelay", "wslrelay.exe", "vpnkit.exe", "com.docker.backend.exe", "gvproxy.exe",
    "win-sshproxy.exe", "wsl.exe", "wslhost.exe", "limactl", "colima"})


class Forwarders:
    """Linux: which forwarder process (FORWARDER_NAMES) holds a socket, by
    its inode: the processes are listed from /proc at most every
    FORWARDER_SCAN seconds, and only their descriptors are read per new
    connection (none at all while no forwarder runs)."""

    SCAN = 2.0

    def __init__(self, proc="/proc", clock=time.monotonic):
        self.proc, self.clock = proc, clock
        self._found, self._at, self._lock = [], -1e9, threading.Lock()

    def running(self):
        """[(pid, name)] of the forwarders running now (cached SCAN seconds)."""
        with self._lock:
            if self.clock() - self._at < self.SCAN:
                return self._found
        found = []
        try:
            pids = [entry for entry in os.listdir(self.proc) if entry.isdigit()]
        except OSError:
            pids = []
        for pid in pids:
            try:
                with open(os.path.join(self.proc, pid, "comm"), "rb") as handle:
                    name = handle.read(64).decode("utf-8", "replace").strip()
            except OSError:
                continue
            if name in FORWARDER_NAMES:
                found.append((int(pid), name))
        with self._lock:
            self._found, self._at = found, self.clock()
        return found

    def holding(self, inode):
        """The name of the forwarder holding socket `inode`, or None."""
        target = "socket:[%d]" % inode
        for pid, name in self.running():
            folder = os.path.join(self.proc, str(pid), "fd")
            try:
                descriptors = os.listdir(folder)
            except OSError:
                continue
            for fd in descriptors:
                try:
                    if os.readlink(os.path.join(folder, fd)) == target:
                        return name
                except OSError:
                    pass
        return None


class PeerCheck:
    """On Linux, the owner of a loopback client's socket is in /proc/net/tcp:
    connections from other local users are refused (root and the service's
    own user are served; with `other_users`, every user of this network
    namespace).  A client socket that this namespace does not hold belongs
    to a container or a VM on a local bridge: no user can be told, so it is
    never served as one.  `uid` and `proc_dir` are parameters for tests."""

    def __init__(self, uid=None, proc_dir="/proc/net", other_users=False, forwarders=None):
        self.uid = os.geteuid() if uid is None and hasattr(os, "geteuid") else uid
        self.proc_dir, self.other_users = proc_dir, other_users
        self.forwarders = forwarders if forwarders is not None else Forwarders()
        self._links, self._links_lock = [], threading.Lock()  # idle netlink sockets

    def available(self):
        return self.uid is not None and os.path.exists(os.path.join(self.proc_dir, "tcp"))

    def owner(self, client, server):
        found = self.socket_of(client, server)
        return found and found[0]

    def socket_of(self, client, server):
        """(uid, inode) of the client's socket: one sock_diag query over
        netlink (constant time), else a scan of /proc/net/tcp{,6} (which
        grows with every socket on the machine, TIME_WAIT ones included)."""
        with self._links_lock:
            link = self._links.pop() if self._links else None
        try:
            link = link or _netlink()
            found = _sock_diag_socket(client, server, link)
        except OSError:
            if link is not None:
                link.close()
            return self._proc_socket(client, server)
        with self._links_lock:
            self._links.append(link)
        return found

    def _proc_owner(self, client, server):
        found = self._proc_socket(client, server)
        return found and found[0]

    def _proc_socket(self, client, server):
        table = "tcp6" if ":" in client[0] else "tcp"
        local, remote = _proc_address(client[0], client[1]), _proc_address(server[0], server[1])
        try:
            with open(os.path.join(self.proc_dir, table)) as handle:
                for line in handle:
                    fields = line.split()
                    if len(fields) > 9 and fields[1] == local and fields[2] == remote and fields[3] == "01":
                        return int(fields[7]), int(fields[9])  # established, both ends ours (see _diag_uid)
        except OSError:
            return None
        return None

    def verdict(self, client, server):
        """None when the client is served; else why not: "user" (another
        local user), "namespace" (no socket of this network namespace) or
        "forwarder" (a process that carries containers' or VMs' traffic to
        this host's loopback: rootless docker's and podman's, a VM's)."""
        found = self.socket_of(client, server)
        if found is None:
            return "namespace"
        owner, inode = found
        if not (owner in (self.uid, 0) or self.other_users):
            LOG.warning("refused a connection from %s:%d owned by uid %s", client[0], client[1], owner)
            return "user"
        carrier = self.forwarders.holding(inode) if inode else None
        if carrier:
            LOG.warning("refused a connection from %s:%d: it comes through %s, which forwards containers or VMs",
                        client[0], client[1], carrier)
            return "forwarder"
        return None

    def allowed(self, client, server):
        return self.verdict(client, server) is None


# -- macOS and Windows: the process behind a loopback connection ----------------
# lsof on macOS (it sees the user's own processes: another user's socket is
# not found, so it is refused), GetExtendedTcpTable and the process token's
# SID on Windows, through ctypes.  The parsers take the tools' raw output, so
# tests feed them captured or constructed tables.


def _endpoint(host, port):
    return ("[%s]" % host if ":" in host else host) + ":%d" % port


def parse_lsof(output, wanted):
    """(uid, program, pid) of the process with an open file named `wanted`
    ("127.0.0.1:50000->127.0.0.1:12319") in lsof's -F pcun output."""
    pid = uid = program = None
    for line in output.splitlines():
        tag, value = line[:1], line[1:]
        if tag == "p":
            pid, uid, program = int(value), None, None
        elif tag == "c":
            program = value
        elif tag == "u" and value.isdigit():
            uid = int(value)
        elif tag == "n" and value == wanted and uid is not None:
            return uid, program, pid
    return None


def lsof_socket(client, server, run=subprocess.run):
    """macOS: who holds the client's end of this connection, or None."""
    try:
        done = run(["lsof", "-nP", "-w", "+c0", "-iTCP@" + _endpoint(*client), "-sTCP:ESTABLISHED", "-Fpcun"],
                   capture_output=True, text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    found = parse_lsof(done.stdout, "%s->%s" % (_endpoint(*client), _endpoint(*server)))
    return found and found[:2]


MIB_TCP_STATE_ESTAB = 5


def _win_port(value):
    return ((value & 0xFF) << 8) | ((value >> 8) & 0xFF)  # the low 16 bits, in network order


def parse_tcp_table(raw, family):
    """[(local, remote, state, pid)] of GetExtendedTcpTable's
    TCP_TABLE_OWNER_PID_ALL answer: MIB_TCPTABLE_OWNER_PID (rows of six
    DWORDs: state, local address, local port, remote address, remote port,
    pid) or MIB_TCP6TABLE_OWNER_PID (16-byte addresses with scope ids)."""
    rows, count = [], struct.unpack_from("<I", raw, 0)[0]
    if family == socket.AF_INET:
        for n in range(count):
            state, laddr, lport, raddr, rport, pid = struct.unpack_from("<IIIIII", raw, 4 + 24 * n)
            rows.append(((socket.inet_ntoa(struct.pack("<I", laddr)), _win_port(lport)),
                         (socket.inet_ntoa(struct.pack("<I", raddr)), _win_port(rport)), state, pid))
        return rows
    for n in range(count):  # address 16, scope 4, port 4 (local, then remote), state, pid
        base = 4 + 56 * n
        local_port = struct.unpack_from("<I", raw, base + 20)[0]
        remote_port, state, pid = struct.unpack_from("<III", raw, base + 44)
        rows.append(((socket.inet_ntop(socket.AF_INET6, raw[base:base + 16]), _win_port(local_port)),
                     (socket.inet_ntop(socket.AF_INET6, raw[base + 24:base + 40]), _win_port(remote_port)), state, pid))
    return rows


def windows_socket(client, server, table=None, process=None):
    """Windows: (owner SID, program) of the process holding the client's end."""
    family = socket.AF_INET6 if ":" in client[0] else socket.AF_INET
    try:
        rows = parse_tcp_table((table or _win_tcp_table)(family), family)
    except (OSError, struct.error, ValueError):
        return None
    for local, remote, state, pid in rows:
        if local == tuple(client) and remote == tuple(server) and state == MIB_TCP_STATE_ESTAB:
            try:
                return (process or _win_process)(pid)
            except OSError:
                return None
    return None


def _win_tcp_table(family):
    import ctypes  # Windows only
    size = ctypes.c_ulong(0)
    get = ctypes.windll.iphlpapi.GetExtendedTcpTable
    get(None, ctypes.byref(size), False, family, 5, 0)  # TCP_TABLE_OWNER_PID_ALL: the size it needs
    buffer = ctypes.create_string_buffer(size.value)
    if get(buffer, ctypes.byref(size), False, family, 5, 0) != 0:
        raise OSError("GetExtendedTcpTable failed")
    return buffer.raw[:size.value]


def _win_process(pid=None):
    """(SID string, program path) of process `pid` (None: this one)."""
    import ctypes  # Windows only
    from ctypes import wintypes
    kernel, advapi = ctypes.windll.kernel32, ctypes.windll.advapi32
    handle = kernel.GetCurrentProcess() if pid is None else kernel.OpenProcess(0x1000, False, pid)
    if not handle:
        raise OSError("OpenProcess failed")
    token, size = wintypes.HANDLE(), wintypes.DWORD(0)
    try:
        if not advapi.OpenProcessToken(handle, 0x0008, ctypes.byref(token)):
            raise OSError("OpenProcessToken failed")
        advapi.GetTokenInformation(token, 1, None, 0, ctypes.byref(size))  # TokenUser
        info = ctypes.create_string_buffer(size.value)
        if not advapi.GetTokenInformation(token, 1, info, size, ctypes.byref(size)):
            raise OSError("GetTokenInformation failed")
        text = ctypes.c_wchar_p()
        advapi.ConvertSidToStringSidW(ctypes.c_void_p.from_buffer(info), ctypes.byref(text))
        name, length = ctypes.create_unicode_buffer(1024), wintypes.DWORD(1024)
        kernel.QueryFullProcessImageNameW(handle, 0, name, ctypes.byref(length))
        return text.value, name.value
    finally:
        if token:
            kernel.CloseHandle(token)
        if pid is not None:
            kernel.CloseHandle(handle)


class ProcessPeerCheck:
    """macOS and Windows: `lookup(client, server)` says who holds the
    client's end, (owner, program), or None.  Served: the service's own
    owner (`own`: uid or SID) and root/SYSTEM, unless the program forwards
    containers or VMs (FORWARDER_NAMES); a peer that cannot be found is
    refused ("unknown")."""

    ROOTS = (0, "S-1-5-18")

    def __init__(self, lookup, own, other_users=False):
        self.lookup, self.own, self.other_users = lookup, own, other_users

    def available(self):
        return self.lookup is not None and self.own is not None

    def verdict(self, client, server):
        found = self.lookup(client, server)
        if found is None:
            LOG.warning("refused a connection from %s:%d: no process of this user holds it", client[0], client[1])
            return "unknown"
        owner, program = found
        name = re.split(r"[\\/]", program or "")[-1]
        if name in FORWARDER_NAMES or name.lower() in FORWARDER_NAMES:
            LOG.warning("refused a connection from %s:%d: it comes through %s, which forwards containers or VMs",
                        client[0], client[1], name)
            return "forwarder"
        if owner != self.own and owner not in self.ROOTS and not self.other_users:
            LOG.warning("refused a connection from %s:%d owned by %s", client[0], client[1], owner)
            return "user"
        return None

    def allowed(self, client, server):
        return self.verdict(client, server) is None


def platform_peer_check(other_users=False, platform=sys.platform, which=shutil.which):
    """The peer check of this platform; one whose available() is False
    where none can run (the service then requires the ECS token)."""
    if platform.startswith("linux"):
        return PeerCheck(other_users=other_users)
    if platform == "darwin":
        return ProcessPeerCheck(lsof_socket if which("lsof") else None, os.geteuid(), other_users)
    if platform == "win32":
        try:
            own = _win_process()[0]
        except (OSError, AttributeError, ImportError):
            own = None
        return ProcessPeerCheck(windows_socket, own, other_users)
    return ProcessPeerCheck(None, None, other_users)


def peer_refusal(why, address, ecs=False):
    """The 403 for a client that PeerCheck refuses, saying what it is (on
    the ECS address as the ECS agent writes errors: {"code", "message"})."""
    answer = (lambda *a: json_response({"code": a[1], "message": a[2]}, a[0])) if ecs else error_response
    if why == "forwarder":
        return answer(403, "ForbiddenPeer", "the connection comes through a process that forwards containers or VMs "
                      "(Docker Desktop, rootless docker or podman, WSL): they are served only a grant of their own, "
                      "through runas-meta's relay (README: Containers)")
    if why == "unknown":
        return answer(403, "ForbiddenPeer", "this service cannot tell which process opened the connection, so it "
                      "does not serve it")
    if why == "namespace":
        return answer(403, "ForbiddenPeer", (
            "the connection from %s comes from a container or a VM (another network namespace), which "
            "this service cannot tell apart from other users; it serves such a client only a grant of its "
            "own: start it with 'ecs --containers' (as root) and create one with 'runas_meta.py grant "
            "PROFILE --label NAME' (README: Containers)") % _printable(address, 64))
    return answer(403, "ForbiddenUser", "this service serves only the user who runs it; "
                  "connections from other local users are refused")


MAX_HEADERS = 100
_DIGITS = re.compile(r"[0-9]{1,18}\Z")  # str.isdigit() also takes other scripts' digits
_CONFLICT = "two values"  # a repeated Content-Length with another value: never digits
MAX_HEADER_LINE = 65536
_COMMON_HEADERS = "\r\n".join(["Server: runas-meta/" + __version__] +
                               ["%s: %s" % pair for pair in SECURITY_HEADERS])
_DATE_CACHE = [0, ""]


def http_date():
    """The Date header, formatted once a second."""
    now = int(time.time())
    if _DATE_CACHE[0] != now:
        _DATE_CACHE[1] = email.utils.formatdate(now, usegmt=True)
        _DATE_CACHE[0] = now
    return _DATE_CACHE[1]


class AccessLog:
    """One line per request (method, path, status, bytes, milliseconds; never
    a query string or a header), written in batches: a log record per request
    cost more than the rest of a cached answer.  `flush` runs four times a
    second and when the server stops."""

    def __init__(self, log=LOG):
        self.log, self.pending = log, collections.deque()

    def add(self, method, path, status, size, seconds):
        self.pending.append((time.time(), method, path, status, size, seconds))

    def flush(self):
        lines = []
        while self.pending:
            when, method, path, status, size, seconds = self.pending.popleft()
            lines.append("%s %s %s %d %dB %.1fms" % (
                time.strftime("%H:%M:%S", time.localtime(when)), _printable(method or "-", 10),
                _printable((path or "-").partition("?")[0]), status, size, seconds * 1000))
        if lines and self.log.isEnabledFor(logging.INFO):
            # the first line's time comes from the log format, like any other record
            self.log.info("%s", "\n".join([lines[0].split(" ", 1)[1]] +
                                          [line.replace(" ", " INFO ", 1) for line in lines[1:]]))


class _Headers(dict):
    """Request headers by lower-case name; get() takes any case, as
    http.server's own callers use it."""

    def get(self, name, default=None):
        return dict.get(self, name.lower(), default)


class Handler(http.server.BaseHTTPRequestHandler):
    """Reads a request, hands it to the Service, writes the answer in one
    write.  HTTP/1.1 keep-alive, no Nagle, a socket timeout."""

    protocol_version = "HTTP/1.1"
    server_version = "runas-meta/" + __version__
    sys_version = ""
    disable_nagle_algorithm = True
    timeout = None  # blocking sockets (no poll() per recv): the server's reaper enforces time limits
    rbufsize = 2048  # requests are small; 8 KiB per connection cost 6 MB at 1,000 connections

    def handle(self):
        """Refuse connections from other local users before reading anything."""
        self.peer, self.request = self.server.admit(self.client_address), None
        if isinstance(self.peer, Response):
            self.close_connection, self.command, self.path = True, "-", "-"
            self.respond(self.peer)
            return
        super().handle()

    def handle_one_request(self):
        """An idle connection may wait IDLE_TIMEOUT for its next request;
        once a request's first byte is in, all of it must arrive within
        REQUEST_DEADLINE (a slow client cannot hold a thread forever).  The
        server's reaper cuts whoever overstays."""
        self.server.watch(self.connection, self.server.idle_timeout)
        try:
            if not self.rfile.peek(1):
                self.close_connection = True
                return
        except OSError:  # cut by the reaper, or the peer hung up
            self.close_connection = True
            return
        self.server.watch(self.connection, self.server.request_deadline)
        try:
            super().handle_one_request()
        finally:
            self.server.unwatch(self.connection)

    def do_GET(self):
        started = time.perf_counter()
        response = self._read_and_handle()
        self.respond(response, started)

    do_HEAD = do_PUT = do_POST = do_DELETE = do_PATCH = do_OPTIONS = do_GET

    def _read_and_handle(self):
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            self.close_connection = True
            return error_response(411, "LengthRequired", "send the body with a Content-Length")
        length_text = self.headers.get("Content-Length") or "0"
        if not _DIGITS.match(length_text):  # RFC 9112 6.3: 400, then close
            self.close_connection = True
            return error_response(400, "BadRequest", "Content-Length must be one number in ASCII digits")
        length = int(length_text)
        if length > MAX_BODY:
            self.close_connection = True
            return error_response(413, "PayloadTooLarge", "the body is over %d bytes" % MAX_BODY)
        body = self.rfile.read(length) if length else b""
        self.server.unwatch(self.connection)  # handling time (STS, IdP) is not the client's
        self.request = request = Request(self.command, self.path, self.headers, body, self.client_address, self.peer)
        return self.server.service.handle(request)

    def parse_request(self):
        """A lean parse_request: the request line, then at most MAX_HEADERS
        header lines into a dict by lower-case name (the first of repeated
        ones).  http.server's email-based parser cost more than everything
        else a cached answer needs."""
        line = str(self.raw_requestline, "iso-8859-1").rstrip("\r\n")
        self.requestline, self.command, self.request_version = line, None, "HTTP/1.1"
        words = line.split()
        if len(words) != 3 or not words[2].startswith("HTTP/"):
            self.send_error(400, "Bad request line")
            return False
        self.command, self.path, self.request_version = words
        if self.request_version not in ("HTTP/1.1", "HTTP/1.0"):
            self.send_error(505, "HTTP version not supported")
            return False
        headers = _Headers()
        for _ in range(MAX_HEADERS + 1):
            raw = self.rfile.readline(MAX_HEADER_LINE + 1)
            if len(raw) > MAX_HEADER_LINE:
                self.send_error(431, "Header line too long")
                return False
            if raw in (b"\r\n", b"\n", b""):
                break
            name, colon, value = str(raw, "iso-8859-1").partition(":")
            if not colon or not name or name != name.strip():
                self.send_error(400, "Bad header line")
                return False
            name, value = name.lower(), value.strip()
            if headers.setdefault(name, value) != value and name == "content-length":
                headers[name] = _CONFLICT  # two different lengths: which body is this?
        else:
            self.send_error(431, "Too many headers")
            return False
        self.headers = headers
        connection = headers.get("connection", "").lower()
        self.close_connection = connection == "close" or (
            self.request_version == "HTTP/1.0" and connection != "keep-alive")
        if headers.get("expect", "").lower() == "100-continue" and self.request_version == "HTTP/1.1":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        return True

    def send_error(self, code, message=None, explain=None):
        """http.server's own parse errors (400, 414, 431, 501) as our JSON."""
        self.close_connection = True
        reason = self.responses.get(code, ("Error",))[0]
        self.respond(error_response(code, reason.replace(" ", ""), message or reason))

    def respond(self, response, started=None):
        reason = self.responses.get(response.status, ("",))[0]
        lines = ["HTTP/1.1 %d %s" % (response.status, reason), _COMMON_HEADERS, "Date: " + http_date(),
                 "Content-Type: " + response.content_type, "Content-Length: %d" % len(response.body)]
        lines += ["%s: %s" % pair for pair in response.headers]
        if self.close_connection:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1", "replace")
        if started is not None:  # queued before the write, so a stop cannot lose the line
            path = shown_path(self.path, self.request and self.request.label)  # a grant's label, never its id
            self.server.access.add(self.command, path, response.status, len(response.body),
                                   time.perf_counter() - started)
        self.wfile.write(head if self.command == "HEAD" else head + response.body)

    def log_message(self, format, *args):
        LOG.debug("http: " + format, *args)


class Server(http.server.ThreadingHTTPServer):
    """ThreadingHTTPServer with a deep backlog, a cap on connections, quiet
    handling of clients that hang up, and connection threads that are kept
    for the next connection instead of started for each: starting a thread
    (and waiting until it runs) was the largest cost of a new connection."""

    daemon_threads = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address, service=None, max_connections=MAX_CONNECTIONS, ttl=None,
                 peers=None, request_deadline=REQUEST_DEADLINE, idle_timeout=IDLE_TIMEOUT,
                 per_source=MAX_PER_SOURCE):
        self.address_family = socket.AF_INET6 if ":" in address[0] else socket.AF_INET
        self.service, self.ttl, self.peers = None, ttl, peers
        self.bridges = None  # BridgePrefixes on the ECS address (ecs --containers)
        self.relay_from = None  # the relay listener: the sources a relay may come from (() for any)
        self.request_deadline, self.idle_timeout = request_deadline, idle_timeout
        self._slots = threading.BoundedSemaphore(max_connections)
        self.per_source, self._sources, self._sources_lock = per_source, collections.Counter(), threading.Lock()
        self._jobs, self._idle, self._pool_lock = queue.SimpleQueue(), 0, threading.Lock()
        self._closed = False
        self._reading = {}
        self._reaper_stop = threading.Event()
        self.access = AccessLog()
        super().__init__(address, Handler)
        if service is not None:
            self.attach(service)

    def attach(self, service, twin=None):
        """Serve `service` (in legacy mode it is built after the socket is
        bound and privileges are dropped).  `twin` is this listener's [::1]
        twin: it serves the same service, or is False when another process
        holds that address."""
        self.service = service
        service.set_address(self.server_address[0], self.server_address[1], localhost=twin is not False)
        if twin:
            twin.service, twin.peers = service, self.peers
            service.engine.own_addresses.add(twin.server_address[:2])

    def admit(self, client_address):
        """How a client is served: "host" (a peer of this network namespace:
        today's rules), "container" (on the ECS address, from a local
        bridge: a grant's answer only), or the 403 Response that refuses it."""
        if self.relay_from is not None:  # the relay listener: the relay's secret decides (EcsRoutes.serve_relay)
            if self.relay_from and client_address[0] not in self.relay_from:
                LOG.warning("refused a connection to the relay listener from %s: the relay stands at %s",
                            client_address[0], ", ".join(self.relay_from))
                return json_response({"code": "ForbiddenPeer", "message": "this listener serves only runas-meta's "
                                      "relay, at %s" % ", ".join(self.relay_from)}, 403)
            return "relay"
        if self.peers is None:
            return "host"
        why = self.peers.verdict(client_address, self.server_address)
        if why is None:
            return "host"
        if why == "namespace" and self.bridges is not None and self.bridges.holder(client_address[0]):
            return "container"
        if why == "namespace":
            LOG.warning("refused a connection from %s:%d: it comes from a container or a VM (another network "
                        "namespace)%s", client_address[0], client_address[1],
                        "" if self.bridges is not None else "; containers are served grants with ecs --containers")
        return peer_refusal(why, client_address[0], ecs=self.bridges is not None)

    def watch(self, connection, seconds):
        self._reading[connection] = time.monotonic() + seconds  # one dict store: atomic, no lock

    def unwatch(self, connection):
        self._reading.pop(connection, None)

    def reap(self):
        """Cut connections whose request is overdue (a slow drip).  The
        connection threads set and clear deadlines without a lock (two per
        request); the reaper works on a copy and cuts a connection only if
        its deadline is still the overdue one."""
        now = time.monotonic()
        overdue = [c for c, deadline in self._reading.copy().items()
                   if deadline < now and self._reading.get(c) == deadline]
        for connection in overdue:
            self._reading.pop(connection, None)
        for connection in overdue:
            try:
                connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        return len(overdue)

    def serve_forever(self, poll_interval=0.5):
        def reaper():
            while not self._reaper_stop.wait(min(0.25, self.request_deadline / 4, self.idle_timeout / 4)):
                self.reap()
                self.access.flush()
        threading.Thread(target=reaper, name="runas-meta-reaper", daemon=True).start()
        try:
            super().serve_forever(poll_interval)
        finally:
            self._reaper_stop.set()
            self.access.flush()

    def get_request(self):
        request, client_address = super().get_request()
        if self.ttl:  # IMDSv2's hop limit: answers die at the first router
            request.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, self.ttl)
        return request, client_address

    def server_bind(self):
        # HTTPServer.server_bind calls getfqdn(), a DNS lookup we do not need.
        if self.ttl:  # the listener's TTL covers the SYN-ACK, sent before accept()
            self.socket.setsockopt(socket.IPPROTO_IP, socket.IP_TTL, self.ttl)
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[:2]

    def process_request(self, request, client_address):
        if not self._take_slot(client_address[0]):
            try:
                request.sendall(b"HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n"
                                b"Connection: close\r\nRetry-After: 1\r\n\r\n")
            except OSError:
                pass
            self.shutdown_request(request)
            return
        try:
            self._hand_over((request, client_address))
        except BaseException:
            self._give_slot(client_address[0])
            raise

    def _counted(self, source):
        """Sources from off this host (a container on a bridge, a VM) each get
        at most `per_source` of the slots, so that one of them cannot take
        every slot from the others and from the host's own clients.  The
        host's clients come from loopback or from this listener's address."""
        return not (source.startswith("127.") or source == "::1" or source == self.server_address[0])

    def _take_slot(self, source):
        if self._counted(source):
            with self._sources_lock:
                if self._sources[source] >= self.per_source:
                    LOG.debug("refused a connection from %s: it holds %d already", source, self.per_source)
                    return False
                self._sources[source] += 1
        if self._slots.acquire(blocking=False):
            return True
        self._give_back(source)
        return False

    def _give_slot(self, source):
        self._slots.release()
        self._give_back(source)

    def _give_back(self, source):
        if self._counted(source):
            with self._sources_lock:
                self._sources[source] -= 1
                if self._sources[source] <= 0:
                    del self._sources[source]

    def _hand_over(self, job):
        """To an idle connection thread if there is one, else to a new one."""
        with self._pool_lock:
            if self._idle:
                self._idle -= 1
                self._jobs.put(job)
                return
        threading.Thread(target=self._work, args=(job,), name="runas-meta-connection", daemon=True).start()

    def _work(self, job):
        """Serve connections one after another; end after WORKER_IDLE idle.
        Each put is matched, under the lock, by one idle thread counted out,
        so a thread that ends never leaves a connection waiting."""
        while job is not None:
            self.process_request_thread(*job)
            with self._pool_lock:
                if self._closed:
                    return
                self._idle += 1
            try:
                job = self._jobs.get(timeout=WORKER_IDLE)
            except queue.Empty:
                with self._pool_lock:
                    try:
                        job = self._jobs.get_nowait()  # handed over just as we timed out
                    except queue.Empty:
                        self._idle -= 1
                        return

    def process_request_thread(self, request, client_address):
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._give_slot(client_address[0])

    def server_close(self):
        """Idle connection threads end with the server."""
        super().server_close()
        with self._pool_lock:
            idle, self._idle, self._closed = self._idle, 0, True
        for _ in range(idle):
            self._jobs.put(None)

    def handle_error(self, request, client_address):
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError, socket.timeout)):
            return
        log_bug("error on a connection from %s", client_address[0])


def start_renewals(engine, interval=RENEWAL_INTERVAL, stop=None, jobs=()):
    """A daemon thread that renews whatever is due every `interval` seconds
    (and runs `jobs`: writing revocations the disk did not take)."""
    stop = stop or threading.Event()

    def loop():
        while not stop.wait(interval):
            for job in (engine.renew_due,) + tuple(jobs):
                try:
                    job()
                except Exception:
                    log_bug("renewal loop")
    threading.Thread(target=loop, name="runas-meta-renewals", daemon=True).start()
    return stop


# -- desktop notifications: when the user must act, where the user looks ----
# The service calls the user only when a code or a sign-in is needed: ahead
# of time (the page's "next prompt"), when a request first needs one, and
# while an mfa_process waits for a touch.  The platform's own notifier runs
# through subprocess with a timeout; no text holds a secret or a code.

NOTIFY_GAP = 5 * MINUTE  # at most one notification of a kind per profile this often
NOTIFY_AHEAD = 10 * MINUTE  # a code or a sign-in due this soon is told ahead
NOTIFY_TIMEOUT = 10
# PowerShell's own application id: a toast needs a registered one (title and
# text come from the environment, never from the command line)
WINDOWS_TOAST = (
    "[Windows.UI.Notifications.ToastNotificationManager, Windows.UI.Notifications, ContentType = WindowsRuntime]"
    " > $null; $x = [Windows.UI.Notifications.ToastNotificationManager]::GetTemplateContent("
    "[Windows.UI.Notifications.ToastTemplateType]::ToastText02); $t = $x.GetElementsByTagName('text'); "
    "$t.Item(0).AppendChild($x.CreateTextNode($env:RUNAS_META_TITLE)) > $null; "
    "$t.Item(1).AppendChild($x.CreateTextNode($env:RUNAS_META_TEXT)) > $null; "
    "[Windows.UI.Notifications.ToastNotificationManager]::CreateToastNotifier("
    "'{1AC14E77-02E7-4E5D-B744-2EB1AE5198B7}\\WindowsPowerShell\\v1.0\\powershell.exe')"
    ".Show([Windows.UI.Notifications.ToastNotification]::new($x))")
MAC_NOTIFY = ("on run argv", "display notification (item 2 of argv) with title (item 1 of argv)", "end run")


def notifier_command(platform=sys.platform, which=shutil.which):
    """The platform's notifier as (title, text) -> (argv, extra environment),
    or None where there is none.  The texts are arguments or variables,
    never parts of a script: nothing in them is run."""
    if platform == "darwin":
        tool = which("osascript")
        return tool and (lambda title, text: ([tool] + [part for line in MAC_NOTIFY for part in ("-e", line)] +
                                              [title, text], {}))
    if platform == "win32":
        tool = which("powershell") or which("pwsh")
        return tool and (lambda title, text: ([tool, "-NoProfile", "-NonInteractive", "-Command", WINDOWS_TOAST],
                                              {"RUNAS_META_TITLE": title, "RUNAS_META_TEXT": text}))
    tool = which("notify-send")
    return tool and (lambda title, text: ([tool, "--app-name=runas-meta", title, text], {}))


def open_in_browser(url):
    import webbrowser  # only here: it reads the environment's browser settings at import
    webbrowser.open(url)


class Notifier:
    """Desktop notifications, at most one of a kind per profile per
    NOTIFY_GAP.  Kinds: "ahead" (a code or sign-in due within
    NOTIFY_AHEAD), "needed" (a request waits for one now), "touch" (an
    mfa_process runs).  `open_page` (--open-page) opens the page the first
    time one is needed.  Side effects are parameters."""

    def __init__(self, command, page_url, run=subprocess.run, clock=time.monotonic, open_page=None,
                 spawn=_spawn_daemon, environ=None):
        self.command, self.page_url, self.run, self.clock = command, page_url, run, clock
        self.open_page, self.spawn = open_page, spawn
        self.environ = os.environ if environ is None else environ
        self._last, self._lock, self._opened = {}, threading.Lock(), False

    def tell(self, profile, kind, what="", when=""):
        """Engine.notify: True when a notification went out."""
        with self._lock:
            now = self.clock()
            if now - self._last.get((profile, kind), -1e12) < NOTIFY_GAP:
                return False
            self._last[(profile, kind)] = now
            opening = kind == "needed" and self.open_page is not None and not self._opened
            self._opened = self._opened or opening
        if opening:
            self.spawn(lambda: self.open_page(self.page_url + "/"))
        if self.command is None:
            return False
        argv, extra = self.command(*self._texts(profile, kind, what, when))
        self.spawn(lambda: self._show(argv, extra))
        return True

    def _texts(self, profile, kind, what, when):
        if kind == "touch":
            return "runas-meta: touch your security key", "mfa_process is getting an MFA code for profile %s" % profile
        if kind == "ahead":
            return ("runas-meta: %s soon" % what,
                    "Profile %s will need %s %s. Open %s/" % (profile, what, when, self.page_url))
        return "runas-meta: %s needed" % what, "Profile %s needs %s. Open %s/" % (profile, what, self.page_url)

    def _show(self, argv, extra):
        try:
            self.run(argv, env=dict(self.environ, **extra), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                     stderr=subprocess.DEVNULL, timeout=NOTIFY_TIMEOUT, **OWN_PROCESS_GROUP)
        except (OSError, subprocess.SubprocessError) as exc:
            LOG.info("the notifier %s failed: %s", os.path.basename(argv[0]), type(exc).__name__)

    def ahead(self, engine, names):
        """The renewal loop's job: tell each profile whose code or sign-in
        is due within NOTIFY_AHEAD (as the page's "next prompt" says)."""
        for name in names:
            prompt = (engine.status(name) or {}).get("next_prompt") or {}
            seconds = prompt.get("seconds")
            if seconds is not None and 0 < seconds <= NOTIFY_AHEAD:
                what = "an MFA code" if prompt.get("what") == "MFA code" else "a sign-in"
                self.tell(name, "ahead", what, "in %d min (%s)" % (-(-seconds // 60), prompt.get("at")))


# ==== Browser page =========================================================
# One self-contained page: inline CSS and script, no external resources,
# both allowed by their hashes in the Content-Security-Policy.  The only
# value that goes in is the CSRF token, through html.escape, in a <meta>.

PAGE_STYLE = """
:root { color-scheme: light dark; --fg: #1b1f24; --muted: #57606a; --bg: #fff; --line: #d0d7de;
  --accent: #0969da; --bad: #b3261e; --warn-bg: #fff8c5; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6edf3; --muted: #9198a1; --bg: #0d1117;
  --line: #30363d; --accent: #4493f8; --bad: #ff7b72; --warn-bg: #3b2e00; } }
* { box-sizing: border-box; }
body { font: 16px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg);
  background: var(--bg); max-width: 44rem; margin: 0 auto; padding: 1rem; }
h1 { font-size: 1.3rem; margin: 0 0 1rem; }
label { display: block; font-weight: 600; margin: .75rem 0 .25rem; }
label.sub { font-weight: normal; color: var(--muted); margin-top: .35rem; }
select, input { width: 100%; font: inherit; padding: .45rem; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); color: var(--fg); }
button { font: inherit; padding: .45rem .9rem; border-radius: 6px; border: 1px solid var(--line);
  background: var(--accent); color: #fff; cursor: pointer; }
button.plain { background: transparent; color: var(--fg); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }
.row { display: flex; gap: .5rem; align-items: end; flex-wrap: wrap; }
.row > :first-child { flex: 1 1 14rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .3rem 1rem; margin: 1rem 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
#countdown { font-variant-numeric: tabular-nums; font-weight: 600; }
.notice { background: var(--warn-bg); border: 1px solid var(--line); border-radius: 6px; padding: .6rem; }
.error { color: var(--bad); min-height: 1.4em; }
dialog { border: 1px solid var(--line); border-radius: 8px; background: var(--bg); color: var(--fg);
  width: min(26rem, 92vw); }
#sso-dialog { width: min(34rem, 94vw); }
.actions button { white-space: nowrap; }
.url { white-space: nowrap; overflow: hidden; text-overflow: ellipsis; display: inline-block; max-width: 100%;
  vertical-align: bottom; }
pre { margin: .25rem 0 .5rem; padding: .5rem; border: 1px solid var(--line); border-radius: 6px;
  overflow-x: auto; font-size: .85rem; }
.use-head { display: flex; justify-content: space-between; align-items: center; gap: .5rem; }
.use-head h3 { font-size: 1rem; margin: .5rem 0 0; }
dialog::backdrop { background: rgba(0,0,0,.45); }
.actions { display: flex; gap: .5rem; justify-content: flex-end; margin-top: 1rem; flex-wrap: wrap; }
.code { font: 600 1.6rem/1.2 ui-monospace, monospace; letter-spacing: .12em; margin: .5rem 0; }
h2 { font-size: 1.1rem; margin: 1.5rem 0 .5rem; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: .9rem; }
th, td { text-align: left; padding: .3rem .4rem; border-bottom: 1px solid var(--line); }
code { overflow-wrap: anywhere; }
.hide { position: absolute; left: -9999px; }
"""

PAGE_SCRIPT = r"""
"use strict";
const $ = (id) => document.getElementById(id);
const csrf = document.querySelector("meta[name=csrf-token]").content;
let state = {seconds_left: 0, at: Date.now()};

async function call(method, path, body) {
  const init = {method: method, headers: {"X-CSRF-Token": csrf}, cache: "no-store"};
  if (body !== undefined) {
    init.body = body;
    init.headers["Content-Type"] = "application/x-www-form-urlencoded";
  }
  let r;
  try { r = await fetch(path, init); }
  catch (e) { return {status: 0, auth: null, doc: {Message: "the service does not answer"}}; }
  let doc = {};
  try { doc = await r.json(); } catch (e) { doc = {}; }
  return {status: r.status, auth: r.headers.get("X-AwsRunas-Authentication-Type"), doc: doc};
}

function form(fields) {
  return Object.keys(fields).map((k) => k + "=" + encodeURIComponent(fields[k])).join("&");
}

function setText(id, text) { $(id).textContent = text || "\u2014"; }

// A time as the user reads it (local), with the ISO form the service sent as its tooltip.
function local(iso) { return iso ? new Date(iso).toLocaleString() : ""; }
function setTime(element, iso) {
  element.textContent = iso ? local(iso) : "\u2014";
  element.title = iso || "";
}

function showError(text) { $("error").textContent = text || ""; }

// A program waits for a profile that is not the served one (runas-meta process).
let mfaProfile = "";
function renderWaiting(waiting) {
  const w = (waiting || [])[0];
  $("waiting").hidden = !w;
  if (!w) { return; }
  $("waiting-text").textContent = "A program waits for " + (w.needs === "MFA" ? "an MFA code" : "a sign-in") +
    " for profile " + w.profile + ".";
  $("waiting-button").textContent = w.needs === "MFA" ? "Enter MFA code" : "Sign in";
  $("waiting-button").dataset.profile = w.profile;
  $("waiting-button").dataset.needs = w.needs;
}

function answerWaiting() {
  const b = $("waiting-button");
  if (b.dataset.needs === "MFA") { mfaProfile = b.dataset.profile; openMfa("", {profile: b.dataset.profile}); }
  else { choose(b.dataset.profile); }
}

function openMfa(message, doc) {
  if (doc && doc.profile) {
    $("mfa-for").textContent = "Profile " + doc.profile + (doc.serial ? ", MFA device " + doc.serial : "") + ".";
  }
  $("mfa-message").textContent = message || "";
  $("mfa-code").value = "";
  if (!$("mfa-dialog").open) { $("mfa-dialog").showModal(); }
  $("mfa-code").focus();
}

function openAuth(username, message) {
  $("auth-message").textContent = message || "";
  if (username) { $("auth-username").value = username; }
  $("auth-password").value = "";
  if (!$("auth-dialog").open) { $("auth-dialog").showModal(); }
  ($("auth-username").value ? $("auth-password") : $("auth-username")).focus();
}

// A browser sign-in starts with a POST (it carries the CSRF token, and the
// service binds the sign-in to this browser), then goes to the URL it answers.
let browserUrl = "";
let browserRemoteUrl = "";

// aws login's cross-device sign-in: the link opens anywhere, the code it shows is pasted here
async function startRemote() {
  const r = await call("POST", browserRemoteUrl);
  if (r.status !== 200 || !r.doc.url) {
    $("browser-message").textContent = r.doc.Message || ("HTTP " + r.status);
    return;
  }
  $("browser-remote-link").href = r.doc.url;
  $("browser-remote-step").hidden = false;
  $("browser-remote-code").focus();
}

async function submitRemote(event) {
  event.preventDefault();
  const r = await call("POST", "/login/code", form({code: $("browser-remote-code").value.trim()}));
  if (r.status !== 200) { $("browser-message").textContent = r.doc.Message || ("HTTP " + r.status); return; }
  $("browser-dialog").close();
  showError("");
  await refreshStatus();
}
function openBrowser(url, doc) {
  browserUrl = url;
  browserRemoteUrl = (doc && doc.remote_url) || "";
  $("browser-title").textContent = (doc && doc.provider) ? "Sign in to " + doc.provider
                                                         : "Sign in with your identity provider";
  $("browser-remote").hidden = !browserRemoteUrl;
  $("browser-remote-step").hidden = true;
  $("browser-message").textContent = "";
  if (!$("browser-dialog").open) { $("browser-dialog").showModal(); }
  $("browser-link").focus();
}

async function startSignIn(url, where) {
  const r = await call("POST", url);
  if (r.status === 200 && r.doc.url) { location.assign(r.doc.url); return; }
  where.textContent = r.doc.Message || ("HTTP " + r.status);
}

async function openConsole() {
  const r = await call("POST", "/console");
  if (r.status === 200 && r.doc.url) { window.open(r.doc.url, "_blank", "noopener"); showError(""); return; }
  showError("Cannot open the AWS console: " + (r.doc.Message || ("HTTP " + r.status)));
}

let ssoProfile = "";
let ssoLoginUrl = "";
let ssoDeviceUrl = "/sso/device";
let signedIn = false;  // back from a sign-in: say so once the identity is known

// A browser sign-in ends on this page; its outcome comes from the service
// (for this browser only), never from the address, which any site can write.
async function signInOutcome() {
  if (!location.hash) { return; }
  const back = location.hash === "#signin-result";
  history.replaceState(null, "", location.pathname);
  if (!back) { return; }
  const r = await call("GET", "/signin-result");
  if (r.doc.error) { showError("Sign-in failed: " + r.doc.error); }
  else if (r.doc.signed_in) { signedIn = true; }
}
let ssoRolesFor = null;
let ssoRunning = false;  // the list was not settled at the last status: load it once more
let ssoTimer = null;

async function refreshSsoList() {
  const sso = state.sso || {};
  handle(await call("POST", "/sso/roles/refresh?profile=" + encodeURIComponent(sso.profile || "")));
  await refreshStatus();
}

function openSso(doc) {
  ssoProfile = doc.profile || "";
  ssoDeviceUrl = doc.device_url || "/sso/device";
  $("sso-title").textContent = "Sign in to " + (doc.provider || "IAM Identity Center");
  $("sso-start").textContent = doc.start_url ? "Start URL: " : "";
  if (doc.start_url) {
    const url = document.createElement("span");
    url.className = "url";
    url.textContent = url.title = doc.start_url;
    $("sso-start").appendChild(url);
  }
  const link = $("sso-link");
  link.hidden = !doc.login_url;
  ssoLoginUrl = doc.login_url || "";
  $("sso-device").hidden = true;
  $("sso-device-button").hidden = false;
  $("sso-message").textContent = "";
  if (!$("sso-dialog").open) { $("sso-dialog").showModal(); }
  (doc.login_url ? link : $("sso-device-button")).focus();
}

async function startDevice() {
  $("sso-message").textContent = "";
  const r = await call("POST", ssoDeviceUrl, form({profile: ssoProfile}));
  if (r.status !== 200) { $("sso-message").textContent = r.doc.Message || ("HTTP " + r.status); return; }
  $("sso-verify").href = r.doc.verification_uri_complete || r.doc.verification_uri;
  $("sso-verify").textContent = r.doc.verification_uri;
  $("sso-code").textContent = r.doc.user_code;
  $("sso-device").hidden = false;
  $("sso-device-button").hidden = true;
  $("sso-verify").focus();
  pollDevice();
}

async function pollDevice() {
  if (!$("sso-dialog").open) { return; }
  const r = await call("GET", ssoDeviceUrl + "?profile=" + encodeURIComponent(ssoProfile));
  const d = r.doc || {};
  if (d.status === "pending") { setTimeout(pollDevice, 1500); return; }
  if (d.status === "done") { $("sso-dialog").close(); showError(""); ssoRolesFor = null; await refreshStatus(); return; }
  $("sso-device").hidden = true;
  $("sso-device-button").hidden = false;
  $("sso-message").textContent = d.message || d.Message || "The sign-in did not finish.";
}

async function loadSsoRoles(sso) {
  ssoRolesFor = sso.session;
  const r = await call("GET", "/sso/roles?partial=1&profile=" + encodeURIComponent(sso.profile));
  if (r.status !== 200) { ssoRolesFor = null; return; }
  picker.sso = r.doc.map((role) => ({name: role.name,
    label: (role.accountName || role.accountId) + " (" + role.accountId + ") \u2013 " + role.roleName}));
  renderPicker();
}

// One picker for profiles and IAM Identity Center roles: the search box
// narrows the list as you type (every word must match the account name, id,
// role or profile); the arrow keys move through the matches and Enter serves
// the one chosen.  Recently used entries come first (kept in this browser).
const RECENT_KEY = "runas-meta-recent";
const picker = {profiles: [], sso: []};

function recentNames() {
  try { return JSON.parse(localStorage.getItem(RECENT_KEY) || "[]").filter((n) => typeof n === "string"); }
  catch (e) { return []; }
}

function remember(name) {
  const names = [name].concat(recentNames().filter((n) => n !== name)).slice(0, 5);
  try { localStorage.setItem(RECENT_KEY, JSON.stringify(names)); } catch (e) { /* private mode: not kept */ }
}

function renderPicker() {
  const select = $("role");
  const words = $("find").value.toLowerCase().split(/\s+/).filter(Boolean);
  const matches = (e) => words.every((w) => (e.label + " " + e.name).toLowerCase().includes(w));
  const all = picker.profiles.concat(picker.sso);
  if (state.active && !all.some((e) => e.name === state.active)) {
    all.unshift({name: state.active, label: state.active, group: "Profiles"});  // served, though not listed
  }
  const recent = recentNames();
  const groups = [["Recently used", recent.map((n) => all.find((e) => e.name === n)).filter(Boolean)],
                  ["Profiles", all.filter((e) => e.group === "Profiles" && !recent.includes(e.name))],
                  ["IAM Identity Center", all.filter((e) => e.group !== "Profiles" && !recent.includes(e.name))]];
  select.length = 1;
  while (select.lastChild && select.lastChild.tagName === "OPTGROUP") { select.removeChild(select.lastChild); }
  let shown = 0;
  for (const [title, entries] of groups) {
    const list = entries.filter(matches);
    if (!list.length) { continue; }
    const group = document.createElement("optgroup");
    group.label = title;
    for (const e of list) {
      const o = document.createElement("option");
      o.value = e.name;
      o.textContent = e.label;
      group.appendChild(o);
    }
    select.appendChild(group);
    shown += list.length;
  }
  select.options[0].hidden = words.length > 0;
  select.size = words.length ? Math.min(10, Math.max(2, shown + 2)) : 1;
  $("find-count").textContent = words.length ? shown + (shown === 1 ? " match" : " matches") : "";
  $("find").setAttribute("aria-expanded", String(words.length > 0));
  if (!words.length) { select.value = state.active || ""; }
  else if (select.selectedIndex < 1 && shown) { select.selectedIndex = 1; }
}

function movePick(step) {
  const select = $("role");
  const last = select.options.length - 1;
  if (last < 1) { return; }
  select.selectedIndex = Math.min(last, Math.max(1, select.selectedIndex + step));
}

function findKeys(ev) {
  if (ev.key === "ArrowDown" || ev.key === "ArrowUp") { ev.preventDefault(); movePick(ev.key === "ArrowDown" ? 1 : -1); }
  else if (ev.key === "Enter") { ev.preventDefault(); choose($("role").value); }
  else if (ev.key === "Escape" && $("find").value) { ev.preventDefault(); $("find").value = ""; renderPicker(); }
}

let arrowing = false;  // arrow keys in the open list only move through it; Enter or a click serves

function listKeys(ev) {
  arrowing = ev.key.startsWith("Arrow") || ev.key.startsWith("Page") || ev.key === "Home" || ev.key === "End";
  if (ev.key === "Enter" && $("role").size > 1) { ev.preventDefault(); choose($("role").value); }
}

function listChanged() {
  const listing = $("role").size > 1 && arrowing;
  arrowing = false;
  if (!listing) { choose($("role").value); }
}

async function choose(name) {
  if (!name) { return; }
  $("signed-in").hidden = true;
  remember(name);
  $("find").value = "";
  state.active = name;
  renderPicker();
  handle(await call("POST", "/profile", name));
  await refreshStatus();
}

function handle(r) {
  if (r.auth === "SSO") { openSso(r.doc); showError(""); return false; }
  if (r.auth === "MFA") { openMfa("", r.doc); showError(""); return false; }
  if (r.auth === "AUTH") { openAuth(r.doc.username, r.doc.Code === "AuthFailed" ? r.doc.Message : ""); showError(""); return false; }
  if (r.auth === "BROWSER") { openBrowser(r.doc.login_url, r.doc); showError(""); return false; }
  if (r.status >= 400 || r.status === 0) { showError(r.doc.Message || ("HTTP " + r.status)); return false; }
  showError("");
  return true;
}

function clock(seconds) {
  const left = Math.max(0, seconds - Math.floor((Date.now() - state.at) / 1000));
  const h = Math.floor(left / 3600), m = Math.floor(left % 3600 / 60), s = left % 60;
  const pad = (n) => String(n).padStart(2, "0");
  return (h ? h + ":" + pad(m) : m) + ":" + pad(s);
}

// When the session behind the credentials ends: the next MFA code or sign-in.
function nextPrompt() {
  const p = state.next_prompt;
  if (!state.active) { return ""; }
  if (!p) { return "none: these credentials renew without asking"; }
  if (!p.at) { return p.note ? p.what + ": " + p.note : p.what + " needed now"; }
  return p.what + " at " + local(p.at) + " (in " + clock(p.seconds) + ")";
}

function countdown() {
  setText("next-prompt", nextPrompt());
  if (!state.expiration) { setText("countdown", ""); return; }
  $("countdown").textContent = clock(state.seconds_left);
}

async function refreshStatus() {
  const r = await call("GET", "/status");
  if (r.status !== 200) { showError(r.doc.Message || "the service does not answer"); return; }
  const d = r.doc;
  state = Object.assign(d, {at: Date.now()});
  const p = d.profile_details || {};
  setText("active", d.active);
  $("switching").hidden = !d.switching_to;
  $("switching").textContent = d.switching_to ? "Still serving " + (d.active || "nothing") + " until " +
    d.switching_to + " has credentials." : "";
  setText("role-arn", p.role_arn || (p.sso_role_name ? "IAM Identity Center role " + p.sso_role_name +
    " in account " + p.sso_account_id : ""));
  setText("source", p.source_profile);
  setText("region", p.region);
  setText("identity", d.identity && d.identity.Arn);
  setTime($("expires"), d.expiration);
  countdown();
  if (!$("find").value && $("role").value !== (d.active || "")) { renderPicker(); }
  $("mfa-soon").hidden = !(d.active && d.mfa_needed);
  state.auth = d.auth_needed || null;
  $("auth-soon").hidden = !(d.active && d.auth_needed);
  $("auth-soon-text").textContent = d.auth_needed && d.auth_needed.again
    ? "Your sign-in has ended: sign in again to renew these credentials."
    : "Sign in to get these credentials.";
  if (signedIn && d.identity) {
    $("signed-in").textContent = "Signed in as " + d.identity.Arn + ".";
    $("signed-in").hidden = false;
    signedIn = false;
  }
  if (d.error && !$("error").textContent) { showError(d.error); }
  if (d.config_errors && d.config_errors.length) { showError(d.config_errors.join("; ")); }
  renderUse(d.use);
  renderWaiting(d.waiting);
  const sso = d.sso;
  $("sso-box").hidden = !(sso && sso.signed_in);
  const disc = sso && sso.discovery;
  const settled = Boolean(disc && (disc.state === "done" || disc.state === "error"));
  $("sso-progress").textContent = disc && disc.state === "running" ? "Finding roles: " + disc.accounts_done + " of " +
    (disc.accounts_total === null ? "?" : disc.accounts_total) + " accounts" : (disc && disc.message) || "";
  if (sso && sso.signed_in && (ssoRolesFor !== sso.session || !settled || ssoRunning)) { await loadSsoRoles(sso); }
  if (!(sso && sso.signed_in) && picker.sso.length) { picker.sso = []; ssoRolesFor = null; renderPicker(); }
  ssoRunning = Boolean(sso && sso.signed_in && !settled);  // load once more after it settles
  if (ssoRunning && !ssoTimer) { ssoTimer = setTimeout(() => { ssoTimer = null; refreshStatus(); }, 1000); }
}

// "Use it": the lines a shell needs to reach this service, with a copy button each.
function renderUse(use) {
  if (!use || $("use-bash").textContent) { return; }
  for (const shell of ["bash", "powershell", "fish"]) { $("use-" + shell).textContent = use[shell].join("\n"); }
  $("use").hidden = false;
}

async function copyUse(shell, button) {
  await navigator.clipboard.writeText($("use-" + shell).textContent + "\n");
  button.textContent = "Copied";
  setTimeout(() => { button.textContent = "Copy"; }, 2000);
}

async function loadRoles() {
  const r = await call("GET", "/list-roles");
  if (r.status !== 200) { return; }
  picker.profiles = r.doc.map((name) => ({name: name, label: name, group: "Profiles"}));
  renderPicker();
}

// Grants: one per container, each the credentials of one profile at a
// secret path.  The id is shown once, in the answer that created it.
async function loadGrants() {
  const r = await call("GET", "/grants");
  if (r.status !== 200) { return; }
  $("grants").hidden = !(r.doc.containers || r.doc.grants.length);
  $("grants-note").textContent = (r.doc.containers
    ? "Containers on this machine's bridges get credentials from 169.254.170.2, each with a grant of its own."
    : "Containers on a bridge reach the service once it runs as 'ecs --containers' (as root); until then a grant " +
      "serves a container run with --network host.") + (r.doc.unkept.length
    ? " Revoked, but not yet written to disk (retried): " + r.doc.unkept.join(", ") + "." : "");
  const body = $("grants-body");
  body.textContent = "";
  for (const g of r.doc.grants) {
    const row = document.createElement("tr");
    const bound = g.bound_to ? "bound to " + g.bound_to : "not used yet";
    for (const [text, time] of [[g.label], [g.profile], [g.expires, true], [g.last_used, true],
                                [g.last_source], [bound]]) {
      const cell = document.createElement("td");
      if (time) { setTime(cell, text); } else { cell.textContent = text || "\u2014"; }
      row.appendChild(cell);
    }
    const cell = document.createElement("td");
    const button = document.createElement("button");
    button.type = "button";
    button.className = "plain";
    button.textContent = "Revoke";
    button.setAttribute("aria-label", "Revoke " + g.label);
    button.addEventListener("click", () => revokeGrant(g.label));
    cell.appendChild(button);
    row.appendChild(cell);
    body.appendChild(row);
    if (g.last_error) {  // what the container was not told
      const note = document.createElement("tr");
      const text = document.createElement("td");
      text.colSpan = 7;
      text.className = "error";
      text.textContent = "Last failure for " + g.label + ": " + g.last_error;
      note.appendChild(text);
      body.appendChild(note);
    }
  }
  if (!r.doc.grants.length) {
    const row = document.createElement("tr");
    const cell = document.createElement("td");
    cell.colSpan = 7;
    cell.textContent = "No grants yet.";
    row.appendChild(cell);
    body.appendChild(row);
  }
  const select = $("grant-profile");
  const chosen = select.value || state.active || "";
  select.length = 0;
  for (const e of picker.profiles) {
    const o = document.createElement("option");
    o.value = o.textContent = e.name;
    select.appendChild(o);
  }
  select.value = chosen;
}

async function revokeGrant(label) {
  const r = await call("POST", "/grants/revoke", form({label: label}));
  if (r.status === 202) { showError("Revoked, but not kept: " + r.doc.Message); }
  else if (r.status !== 200) { showError("Cannot revoke " + label + ": " + (r.doc.Message || ("HTTP " + r.status))); }
  await loadGrants();
}

async function createGrant(ev) {
  ev.preventDefault();
  const r = await call("POST", "/grants", form({profile: $("grant-profile").value, label: $("grant-label").value,
                                                ttl: $("grant-ttl").value}));
  if (r.status !== 200) { showError("Cannot create the grant: " + (r.doc.Message || ("HTTP " + r.status))); return; }
  showError("");
  $("grant-uri").textContent = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=" + r.doc.relative_uri;
  $("grant-result").hidden = false;
  $("grant-label").value = "";
  await loadGrants();
}

async function refreshNow() {
  $("refresh").disabled = true;
  handle(await call("POST", "/refresh"));
  $("refresh").disabled = false;
  await refreshStatus();
}

// Cancel: the served profile stays; the picker goes back to it.
async function cancelSwitch() {
  $("mfa-dialog").close();
  mfaProfile = "";
  await call("POST", "/profile/cancel");
  await refreshStatus();
}

async function submitMfa(ev) {
  ev.preventDefault();
  const code = $("mfa-code").value.trim();
  if (!/^[0-9]{6,8}$/.test(code)) { $("mfa-message").textContent = "Enter the 6-digit code."; return; }
  const fields = mfaProfile ? {mfa: code, profile: mfaProfile} : {mfa: code};
  const r = await call("POST", "/mfa", form(fields));
  if (r.status === 200) { $("mfa-dialog").close(); showError(""); mfaProfile = ""; }
  else if (r.status === 400) { $("mfa-message").textContent = r.doc.Message; return; }  // the service's rule
  else if (r.auth === "MFA") {
    openMfa(r.doc.Code === "MFAInvalid" ? "That code was not accepted. Wait for the next one." : r.doc.Message, r.doc);
  } else { $("mfa-dialog").close(); handle(r); }
  await refreshStatus();
}

// While a sign-in waits for a push, say so, with the number to choose on
// the phone when the identity provider sends one (number matching).
async function showPush() {
  const r = await call("GET", "/status");
  const p = (r.doc || {}).push;
  if (!p || p.state !== "waiting" || !$("auth-submit").disabled) { return; }
  $("auth-message").textContent = "Approve the " + p.provider + " push on your phone" +
    (p.number ? ": choose this number." : ".");
  $("push-number").textContent = p.number || "";
  $("push-number").hidden = !p.number;
}

async function submitAuth(ev) {
  ev.preventDefault();
  $("auth-message").textContent = "Signing in\u2026 If your identity provider sends a push notification, approve it on your phone.";
  $("auth-submit").disabled = true;
  const watch = setInterval(showPush, 1000);
  const r = await call("POST", "/auth", form({username: $("auth-username").value,
                                              password: $("auth-password").value}));
  clearInterval(watch);
  $("push-number").hidden = true;
  $("auth-submit").disabled = false;
  $("auth-password").value = "";
  if (r.status === 200) { $("auth-dialog").close(); showError(""); }
  else if (r.auth === "MFA") { $("auth-dialog").close(); openMfa(""); }
  else if (r.auth === "AUTH") { openAuth(null, r.doc.Message || "Sign-in failed."); }
  else { $("auth-dialog").close(); handle(r); }
  await refreshStatus();
}

async function init() {
  $("role").addEventListener("change", listChanged);
  $("role").addEventListener("keydown", listKeys);
  $("find").addEventListener("input", renderPicker);
  $("find").addEventListener("keydown", findKeys);
  $("refresh").addEventListener("click", refreshNow);
  $("console").addEventListener("click", openConsole);
  $("browser-link").addEventListener("click", () => startSignIn(browserUrl, $("browser-message")));
  $("sso-link").addEventListener("click", () => startSignIn(ssoLoginUrl, $("sso-message")));
  $("mfa-form").addEventListener("submit", submitMfa);
  $("auth-form").addEventListener("submit", submitAuth);
  $("mfa-cancel").addEventListener("click", cancelSwitch);
  $("waiting-button").addEventListener("click", answerWaiting);
  $("auth-cancel").addEventListener("click", () => $("auth-dialog").close());
  $("mfa-soon-button").addEventListener("click", () => openMfa(""));
  $("browser-cancel").addEventListener("click", () => $("browser-dialog").close());
  $("browser-remote-button").addEventListener("click", startRemote);
  $("browser-remote-form").addEventListener("submit", submitRemote);
  $("auth-soon-button").addEventListener("click", () => {
    const a = state.auth || {};
    if (a.type === "BROWSER") { openBrowser(a.login_url, a); }
    else if (a.type === "SSO") { openSso(a); }
    else { openAuth(a.username, ""); }
  });
  $("sso-device-button").addEventListener("click", startDevice);
  $("sso-cancel").addEventListener("click", () => $("sso-dialog").close());
  $("sso-refresh").addEventListener("click", refreshSsoList);
  $("grant-form").addEventListener("submit", createGrant);
  for (const shell of ["bash", "powershell", "fish"]) {
    $("copy-" + shell).addEventListener("click", (ev) => copyUse(shell, ev.target));
  }
  await signInOutcome();
  await loadRoles();
  await refreshStatus();
  await loadGrants();
  setInterval(countdown, 1000);
  setInterval(refreshStatus, 5000);
}
init();
"""

PAGE_TEMPLATE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="csrf-token" content="{{csrf}}">
<title>runas-meta</title>
<style>{{style}}</style></head>
<body>
<main>
<h1>runas-meta</h1>
<div class="row">
  <div><label for="find">Role</label>
  <input id="find" type="search" placeholder="Search accounts, roles and profiles" autocomplete="off"
    aria-controls="role" aria-expanded="false" aria-describedby="find-count">
  <label for="role" class="sub">or choose from the list <span id="find-count" aria-live="polite"></span></label>
  <select id="role"><option value="">(choose a role)</option></select></div>
  <button id="refresh" type="button">Refresh Now</button>
  <button id="console" type="button">Open AWS console</button>
</div>
<p id="sso-box" hidden>IAM Identity Center: every role you may use is in the list.
  <span id="sso-progress" role="status"></span> <button id="sso-refresh" class="plain" type="button">Refresh list</button></p>
<dl aria-live="polite">
  <dt>Profile</dt><dd id="active">&mdash;</dd>
  <dt>Role ARN</dt><dd id="role-arn">&mdash;</dd>
  <dt>Source profile</dt><dd id="source">&mdash;</dd>
  <dt>Region</dt><dd id="region">&mdash;</dd>
  <dt>Identity</dt><dd id="identity">&mdash;</dd>
  <dt>Expires</dt><dd><span id="expires">&mdash;</span> (in <span id="countdown">&mdash;</span>)</dd>
  <dt>Next prompt</dt><dd id="next-prompt">&mdash;</dd>
</dl>
<p id="mfa-soon" class="notice" hidden>An MFA code is needed to renew these credentials.
  <button id="mfa-soon-button" type="button">Enter MFA code</button></p>
<p id="auth-soon" class="notice" hidden><span id="auth-soon-text">Sign in to get these credentials.</span>
  <button id="auth-soon-button" type="button">Sign in</button></p>
<p id="signed-in" class="notice" role="status" hidden></p>
<p id="switching" class="notice" role="status" hidden></p>
<p id="waiting" class="notice" role="status" hidden><span id="waiting-text"></span>
  <button id="waiting-button" type="button">Enter MFA code</button></p>
<p id="error" class="error" role="alert"></p>
<section id="use" aria-labelledby="use-title" hidden>
<h2 id="use-title">Use it</h2>
<p>In the shell that starts your program (or its run configuration), so its AWS SDK asks this service:</p>
<div class="use-head"><h3>bash, zsh</h3><button id="copy-bash" class="plain" type="button"
  aria-label="Copy the bash lines">Copy</button></div><pre id="use-bash"></pre>
<div class="use-head"><h3>PowerShell</h3><button id="copy-powershell" class="plain" type="button"
  aria-label="Copy the PowerShell lines">Copy</button></div><pre id="use-powershell"></pre>
<div class="use-head"><h3>fish</h3><button id="copy-fish" class="plain" type="button"
  aria-label="Copy the fish lines">Copy</button></div><pre id="use-fish"></pre>
</section>
<section id="grants" aria-labelledby="grants-title" hidden>
<h2 id="grants-title">Containers</h2>
<p id="grants-note"></p>
<div class="scroll"><table><thead><tr><th>Label</th><th>Profile</th><th>Expires</th><th>Last use</th><th>From</th>
  <th>Container</th><th><span class="hide">Revoke</span></th></tr></thead><tbody id="grants-body"></tbody></table></div>
<form id="grant-form" class="row">
  <div><label for="grant-label">Label</label><input id="grant-label" required maxlength="63"
    placeholder="the container's name"></div>
  <div><label for="grant-profile">Profile</label><select id="grant-profile"></select></div>
  <div><label for="grant-ttl">Lasts</label><input id="grant-ttl" value="7d" size="5"></div>
  <button type="submit">Grant</button>
</form>
<p id="grant-result" class="notice" role="status" hidden>Give the container this variable (shown once):
  <code id="grant-uri"></code></p>
</section>
</main>
<dialog id="mfa-dialog" aria-labelledby="mfa-title">
<form id="mfa-form">
  <h2 id="mfa-title">MFA code</h2>
  <p id="mfa-for"></p>
  <label for="mfa-code">Code from your MFA device</label>
  <input id="mfa-code" name="mfa" inputmode="numeric" autocomplete="one-time-code" maxlength="8" required>
  <p id="mfa-message" class="error" role="alert"></p>
  <div class="actions"><button id="mfa-cancel" class="plain" type="button">Cancel</button>
  <button type="submit">Submit</button></div>
</form></dialog>
<dialog id="auth-dialog" aria-labelledby="auth-title">
<form id="auth-form">
  <h2 id="auth-title">Sign in to your identity provider</h2>
  <label for="auth-username">Username</label>
  <input id="auth-username" name="username" autocomplete="username" required>
  <label for="auth-password">Password</label>
  <input id="auth-password" name="password" type="password" autocomplete="current-password" required>
  <p id="auth-message" class="error" role="alert"></p>
  <p id="push-number" class="code" aria-live="polite" hidden></p>
  <div class="actions"><button id="auth-cancel" class="plain" type="button">Cancel</button>
  <button id="auth-submit" type="submit">Sign in</button></div>
</form></dialog>
<dialog id="browser-dialog" aria-labelledby="browser-title">
  <h2 id="browser-title">Sign in with your identity provider</h2>
  <p>This profile signs in on its provider's own page, in this browser.</p>
  <div id="browser-remote" hidden>
    <p>No browser on this machine? <button id="browser-remote-button" class="plain" type="button">Sign in on another
    device</button></p>
    <form id="browser-remote-form" hidden></form>
    <div id="browser-remote-step" hidden>
      <p>Open <a id="browser-remote-link" target="_blank" rel="noopener noreferrer">the sign-in link</a> on any
      device, sign in, then paste the code it shows:</p>
      <label for="browser-remote-code">Code</label>
      <input id="browser-remote-code" form="browser-remote-form" autocomplete="off" spellcheck="false">
      <div class="actions"><button id="browser-remote-submit" form="browser-remote-form" type="submit">Submit
      code</button></div>
    </div>
  </div>
  <p id="browser-message" class="error" role="alert"></p>
  <div class="actions"><button id="browser-cancel" class="plain" type="button">Cancel</button>
  <button id="browser-link" type="button">Continue to sign in</button></div>
</dialog>
<dialog id="sso-dialog" aria-labelledby="sso-title">
  <h2 id="sso-title">Sign in to IAM Identity Center</h2>
  <p id="sso-start"></p>
  <div id="sso-device" hidden>
    <p>Open <a id="sso-verify" target="_blank" rel="noopener noreferrer"></a> and confirm this code:</p>
    <p id="sso-code" class="code"></p>
    <p>This dialog closes by itself once you have approved the sign-in.</p>
  </div>
  <p id="sso-message" class="error" role="alert"></p>
  <div class="actions"><button id="sso-cancel" class="plain" type="button">Cancel</button>
  <button id="sso-device-button" class="plain" type="button">Use a device code</button>
  <button id="sso-link" type="button">Sign in here</button></div>
</dialog>
<script>{{script}}</script>
</body></html>
"""


def _csp_hash(text):
    return "'sha256-%s'" % base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


PAGE_CSP = ("default-src 'none'; script-src %s; style-src %s; connect-src 'self'; img-src 'none'; "
            "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
            % (_csp_hash(PAGE_SCRIPT), _csp_hash(PAGE_STYLE)))


def render_page(csrf_token):
    """The page with this process's CSRF token; built once per service."""
    return (PAGE_TEMPLATE.replace("{{style}}", PAGE_STYLE).replace("{{script}}", PAGE_SCRIPT)
            .replace("{{csrf}}", html.escape(csrf_token, quote=True))).encode()


# ==== Legacy mode: 169.254.169.254:80 ======================================
# The one place that touches the real metadata address: add it to the
# loopback interface (/32, so the ECS address 169.254.170.2 stays free),
# bind port 80, drop privileges, remove the address whatever ends the service.

def loopback_commands(address):
    """Per platform: the commands that show, add and remove `address` on
    the loopback interface, and how `show` prints it when it is there."""
    return {
        "linux": {"show": ["ip", "-o", "addr", "show", "dev", "lo"],
                  "add": ["ip", "addr", "add", address + "/32", "dev", "lo"],
                  "remove": ["ip", "addr", "del", address + "/32", "dev", "lo"],
                  "present": " %s/32 " % address},
        "darwin": {"show": ["ifconfig", "lo0"],
                   "add": ["ifconfig", "lo0", "alias", address + "/32"],
                   "remove": ["ifconfig", "lo0", "-alias", address],
                   "present": "inet %s " % address},
        "win32": {"show": ["netsh", "interface", "ipv4", "show", "ipaddresses", "Loopback Pseudo-Interface 1"],
                  "add": ["netsh", "interface", "ipv4", "add", "address", "Loopback Pseudo-Interface 1",
                          address, "255.255.255.255"],
                  "remove": ["netsh", "interface", "ipv4", "delete", "address",
                             "Loopback Pseudo-Interface 1", address],
                  "present": address},
    }


LEGACY_COMMANDS = loopback_commands(LEGACY_ADDRESS)

# Runs as root from before the privilege drop; blocks until the service's
# end of the pipe closes (exit, exception, SIGKILL alike), then removes the
# address.  Signals from the terminal must not end it first.
CLEANUP_HELPER = """
import signal, subprocess, sys
for name in ("SIGINT", "SIGTERM", "SIGHUP"):
    if hasattr(signal, name):
        signal.signal(getattr(signal, name), signal.SIG_IGN)
sys.stdin.buffer.read()
subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
"""


class LegacyAddress:
    """Adds and removes the metadata address on the loopback interface.
    `run` and `popen` are parameters so other platforms' commands can be
    tested here."""

    def __init__(self, platform=None, run=subprocess.run, popen=subprocess.Popen, address=LEGACY_ADDRESS):
        platform = platform or sys.platform
        key = "linux" if platform.startswith("linux") else platform
        commands = loopback_commands(address)
        if key not in commands:
            raise UsageError("legacy mode is not supported on %s: use -p PORT" % platform)
        self.commands, self.run, self.popen, self.address = commands[key], run, popen, address

    def _run(self, name):
        result = self.run(self.commands[name], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          universal_newlines=True)
        if result.returncode != 0:
            raise RunasError("%s failed: %s" % (" ".join(self.commands[name]),
                                                (result.stderr or "").strip()[:200]))
        return result.stdout or ""

    def present(self):
        return self.commands["present"] in self._run("show") + " "

    def claim(self):
        """Add the address unless it is there; return the cleanup helper
        (None when the address was there already: it is not ours to remove)."""
        if self.present():
            LOG.info("%s is already on the loopback interface; it will be left there", self.address)
            return None
        helper = self.popen([sys.executable, "-c", CLEANUP_HELPER] + self.commands["remove"],
                            stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=os.name == "posix")
        try:
            self._run("add")
        except BaseException:
            self.release(helper)
            raise
        LOG.info("added %s to the loopback interface", self.address)
        return helper

    def release(self, helper, timeout=10):
        """Let the helper remove the address now, and wait for it."""
        if helper is None:
            return
        try:
            helper.stdin.close()
            helper.wait(timeout)
        except (OSError, subprocess.TimeoutExpired):
            LOG.warning("the helper did not confirm removing %s", self.address)


# Imported lazily by the standard library (host names, XML, ...): import them
# while Python's own directory can still be read (it may sit under /root).
LAZY_MODULES = ("encodings.idna", "stringprep", "unicodedata", "xml.parsers.expat", "email.utils",
                "email.feedparser")  # web() imports urllib.request, ssl and http.cookiejar


def preload_modules(names=LAZY_MODULES):
    for name in names:
        importlib.import_module(name)
    web()


def is_admin():
    if hasattr(os, "geteuid"):
        return os.geteuid() == 0
    try:
        import ctypes  # Windows only; imported here as nothing else needs it
        return bool(ctypes.windll.shell32.IsUserAnAdmin())
    except (ImportError, AttributeError, OSError):
        return False


def _this_command():
    """This program as a command line sudo can run: the interpreter and the script, by full paths."""
    script = os.path.abspath(sys.argv[0]) if sys.argv and sys.argv[0].endswith(".py") else "runas_meta.py"
    return "%s %s" % (sys.executable, script)


def legacy_refusal(args):
    command, profile = _this_command(), " " + args.profile if args.profile else ""
    return ("legacy mode listens on %s:80 and needs root: run 'sudo %s ec2%s', or without root "
            "'%s ec2 -p 8000%s' and set AWS_EC2_METADATA_SERVICE_ENDPOINT=http://127.0.0.1:8000/"
            % (LEGACY_ADDRESS, command, profile, command, profile))


@dataclass(frozen=True)
class User:
    uid: int
    gid: int
    name: str
    home: str


def legacy_user(environ, getpwuid=None, stat=os.stat):
    """Whom to run as after the drop: SUDO_UID/SUDO_GID, else the owner of
    the config file.  Its home directory is where ~/.aws is, even when sudo
    reset HOME."""
    if getpwuid is None:
        import pwd  # POSIX only
        getpwuid = pwd.getpwuid
    if environ.get("SUDO_UID"):
        uid = int(environ["SUDO_UID"])
        gid = int(environ["SUDO_GID"]) if environ.get("SUDO_GID") else None
    else:
        path = environ.get("AWS_CONFIG_FILE") or os.path.join(
            environ.get("HOME") or os.path.expanduser("~"), ".aws", "config")
        try:
            info = stat(os.path.expanduser(path))
        except OSError:
            raise ConfigError("not found; under sudo SUDO_UID names the user, else the config "
                              "file's owner is used", path) from None
        uid, gid = info.st_uid, info.st_gid
    try:
        entry = getpwuid(uid)
        name, home, gid = entry.pw_name, entry.pw_dir, entry.pw_gid if gid is None else gid
    except KeyError:
        name, home = "", environ.get("HOME", "")
        gid = uid if gid is None else gid
    return User(uid, gid, name, home)


def drop_privileges(user, environ, ops=os):
    """setgroups, setgid, setuid (in that order); return the environment
    the service runs with (HOME and USER of that user)."""
    if not hasattr(ops, "setuid"):
        LOG.warning("cannot drop privileges on this platform")
        return environ
    if user.uid == 0:
        LOG.warning("serving as root: run with sudo so that SUDO_UID names your user")
    groups = ops.getgrouplist(user.name, user.gid) if user.name else [user.gid]
    ops.setgroups(groups)
    ops.setgid(user.gid)
    ops.setuid(user.uid)
    environ = dict(environ)
    if user.home:
        environ["HOME"] = user.home
    if user.name:
        environ["USER"] = environ["LOGNAME"] = user.name
    LOG.info("running as uid %d, gid %d", user.uid, user.gid)
    return environ


# ==== Command line =========================================================


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        """A usage error is one line, like every other error."""
        self.exit(2, "%s: error: %s (see --help)\n" % (self.prog, message))


ENVIRONMENT_HELP = """\
commands:
  ec2 | ecs [PROFILE]    serve a profile (this page)
  grant ...              give a container one profile (runas-meta grant --help)
  doctor                 which credentials an SDK started from this shell would use, and why
  process PROFILE        credential_process JSON from the running service (export, use, status: --help)
  profiles --write       a credential_process profile for each profile it serves, in the AWS config
  exec PROFILE -- CMD    run CMD with a grant of its own for PROFILE, revoked when it exits
  install ecs PROFILE    start it at login, restarted if it dies (uninstall removes it; --help)
  relay --upstream URL   in a container: the ECS address for a network, forwarding to ecs --relay-listen
  help                   this text

environment variables it reads:
  AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE   the files (default ~/.aws/config, ~/.aws/credentials)
  AWS_PROFILE, AWS_DEFAULT_PROFILE               the profile when none is named
  AWS_ENDPOINT_URL_STS, AWS_ENDPOINT_URL         STS's endpoint (else the profile's endpoint_url, else by region)
  AWS_ENDPOINT_URL_SSO, AWS_ENDPOINT_URL_SSO_OIDC  IAM Identity Center's endpoints
  AWS_LOGIN_CACHE_DIRECTORY, AWS_ENDPOINT_URL_SIGNIN  aws login's cache (~/.aws/login/cache) and Sign-In
  AWS_IGNORE_CONFIGURED_ENDPOINT_URLS            ignore every endpoint URL above
  AWS_REGION, AWS_DEFAULT_REGION                 the region when the profile has none
  AWS_CA_BUNDLE                                  CA certificates for STS and identity providers
  HTTPS_PROXY, HTTP_PROXY, NO_PROXY              proxies (never for loopback)
  RUNAS_META_AUTH_TOKEN                          the ECS Authorization token (as --auth-token-file)
  RUNAS_META_FEDERATION_URL                      the AWS federation endpoint for the console button
  AWS_SOURCE_IDENTITY, AWS_SESSION_TAGS, AWS_TRANSITIVE_TAGS  aws-vault's: AssumeRole's, for the profile asked for
  credential_source = Environment / EcsContainer / Ec2InstanceMetadata reads AWS_ACCESS_KEY_ID,
  AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_CONTAINER_CREDENTIALS_*, AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE],
  AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED of the service's own environment
"""


def port_number(text):
    """-p's value: a TCP port, 0 for a free one."""
    if not _DIGITS.match(text or "") or int(text) > 65535:
        raise argparse.ArgumentTypeError("a port is a number from 0 to 65535, not %r" % _printable(text, 20))
    return int(text)


def build_parser():
    parser = _Parser(
        prog="runas-meta", usage="%(prog)s {ec2,ecs} [PROFILE] [options] | %(prog)s grant ... | %(prog)s doctor | %(prog)s help",
        description="Serve AWS credentials of a profile through a local EC2 metadata (IMDS) "
                    "or ECS credential endpoint.", epilog=ENVIRONMENT_HELP,
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", choices=("ec2", "ecs"),
                        help="ec2: instance metadata service; ecs: container credential endpoint")
    parser.add_argument("profile", nargs="?",
                        help="profile to serve (default: AWS_PROFILE, AWS_DEFAULT_PROFILE, or "
                             "chosen later on the page)")
    parser.add_argument("-p", "--port", type=port_number, metavar="PORT",
                        help="port on 127.0.0.1 (ecs default %d; 0 picks a free one)" % ECS_PORT)
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    parser.add_argument("--headless", action="store_true",
                        help="ask for MFA codes on this terminal instead of the page")
    parser.add_argument("--imds-v2-only", action="store_true",
                        help="refuse IMDSv1 requests (no token)")
    parser.add_argument("--auth-token", metavar="TOKEN",
                        help="require this Authorization value on /credentials ('generate' makes "
                             "one and writes it to a 0600 file for AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE); "
                             "other local users can read a token given here: prefer --auth-token-file "
                             "or RUNAS_META_AUTH_TOKEN")
    parser.add_argument("--auth-token-file", metavar="PATH",
                        help="require the Authorization value held in this file")
    parser.add_argument("--allow-other-users", action="store_true",
                        help="serve connections from other local users too (by default, on Linux, "
                             "only this user and root are served); never containers or VMs")
    parser.add_argument("--containers", action="store_true",
                        help="ecs mode, Linux, as root: also serve %s:80 to containers on local bridges, "
                             "each with a grant of its own (see 'grant --help')" % ECS_ADDRESS)
    add_relay_and_notify_options(parser)
    parser.add_argument("--version", action="version", version="%(prog)s " + __version__)
    return parser


def add_relay_and_notify_options(parser):
    parser.add_argument("--relay-listen", type=listen_address, metavar="HOST:PORT",
                        help="ecs: also serve grants to runas-meta's relay in a container network, on this address "
                             "(a network's gateway, or 127.0.0.1 for Docker Desktop); no root needed")
    parser.add_argument("--relay-from", action="append", metavar="ADDRESS",
                        help="where the relay connects from (default %s; any on a loopback listener)" % ECS_ADDRESS)
    parser.add_argument("--no-notify", action="store_true",
                        help="no desktop notifications (by default, where notify-send, osascript or PowerShell "
                             "is found, one when an MFA code or a sign-in is needed soon or now)")
    parser.add_argument("--open-page", action="store_true",
                        help="open the page in the browser the first time a code or a sign-in is needed")


def terminal_prompt(stdin, stdout, tries=3):
    """An mfa_prompt that reads a code from the terminal, by the rule the
    page and the API apply (mfa_code_problem); "" after `tries` bad ones."""
    lock = threading.Lock()

    def prompt(profile, serial):
        with lock:
            for _ in range(tries):
                stdout.write("MFA code for profile %s (%s): " % (profile, serial))
                stdout.flush()
                code = stdin.readline().strip()
                problem = mfa_code_problem(code, idp=not MFA_SERIAL.match(serial or ""))
                if problem is None or not code:
                    return code
                stdout.write("That is not a code: %s.\n" % problem)
            return ""
    return prompt


def terminal_password(stdin, stdout):
    """A password_prompt for headless mode: the username (when the config
    has none) and the password from the terminal, never echoed or logged."""
    lock = threading.Lock()

    def prompt(profile, url, username):
        with lock:
            if not username:
                stdout.write("Username for %s (profile %s): " % (url, profile))
                stdout.flush()
                username = stdin.readline().strip()
            label = "Password for %s at %s: " % (username, url)
            if hasattr(stdin, "isatty") and stdin.isatty():
                return username, getpass.getpass(label, stream=stdout)
            stdout.write(label)
            stdout.flush()
            return username, stdin.readline().rstrip("\r\n")
    return prompt


def terminal_notice(stdout):
    """Headless mode: what the user must do on the phone (a push's number)."""
    def notice(text):
        stdout.write(text + "\n")
        stdout.flush()
    return notice


def first_fetch(engine, name, stdin, stdout, tries=3, headless=False):
    """Fetch the initial profile's credentials, asking on the terminal for an
    MFA code when one is needed and stdin is a terminal.  Headless, an IAM
    Identity Center sign-in shows its device code here."""
    code = None
    for _ in range(tries):
        try:
            return engine.credentials(name, mfa_code=code)
        except ConfigError:
            raise
        except KeyboardInterrupt:
            raise Interrupted("stopped at the MFA prompt (Ctrl-C): nothing was served") from None
        except SSOLoginRequired as exc:
            if not headless or not sso_on_terminal(engine, name, stdout):
                LOG.warning("%s; sign in on the page", exc)
                return None
        except AuthRequired as exc:
            LOG.warning("%s; sign in on the page", exc)
            return None
        except MFARequired as exc:
            if not (stdin.isatty() if hasattr(stdin, "isatty") else False):
                LOG.warning("profile %r: %s; enter it on the page", name, exc)
                return None
            if isinstance(exc, MFAInvalid):
                stdout.write("That code was not accepted.\n")
            try:
                code = terminal_prompt(stdin, stdout)(name, exc.serial)
            except KeyboardInterrupt:
                raise Interrupted("stopped at the MFA prompt (Ctrl-C): nothing was served") from None
        except RunasError as exc:  # STS or the IdP unreachable (no network yet): serve anyway, 503 until it answers
            LOG.warning("profile %r: %s; serving anyway: credential requests answer 503 with this reason until "
                        "it answers (no restart needed)", name, exc)
            return None
    return None


def sso_on_terminal(engine, name, stdout, timeout=LOGIN_TIMEOUT * 2):
    """The device-code sign-in on the terminal: the URL and code, then wait."""
    base = engine.sso_base(name)
    view = engine.sso.sign_ins.start_device(base, name)
    stdout.write("Sign in to IAM Identity Center (%s): open %s and enter the code %s\n  (or open %s)\n"
                 % (base.sso_start_url, view["verification_uri"], view["user_code"],
                    view["verification_uri_complete"]))
    stdout.flush()
    if engine.sso.sign_ins.wait_device(base, timeout):
        return True
    stdout.write("IAM Identity Center sign-in: %s\n" % engine.sso.sign_ins.device_view(base).get("message"))
    return False


def use_pairs(mode, base_url, empty_file, auth_file="", legacy=False):
    """[(variable, value)] that point an SDK at the service."""
    if mode == "ec2":
        variable, value = "AWS_EC2_METADATA_SERVICE_ENDPOINT", base_url + "/"
    else:
        variable, value = "AWS_CONTAINER_CREDENTIALS_FULL_URI", base_url + "/credentials"
    pairs = [] if legacy else [(variable, value)]  # legacy: SDKs find the real address themselves
    pairs += [("AWS_SHARED_CREDENTIALS_FILE", empty_file), ("AWS_CREDENTIAL_PROFILES_FILE", empty_file)]
    if auth_file:
        pairs.append(("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE", auth_file))
    return pairs


def use_lines(mode, base_url, empty_file, auth_file="", legacy=False):
    """{shell: lines} that point an SDK at the service: bash, PowerShell, fish."""
    pairs = use_pairs(mode, base_url, empty_file, auth_file, legacy)
    return {"bash": ["export %s=%s" % (k, _sh_quote(v)) for k, v in pairs],
            "powershell": ['$env:%s = "%s"' % (k, v.replace('"', '`"')) for k, v in pairs],
            "fish": ["set -gx %s %s" % (k, _sh_quote(v)) for k, v in pairs]}


def usage_lines(mode, base_url, auth_file, empty_file, legacy=False):
    use = use_lines(mode, base_url, empty_file, auth_file, legacy)
    return (["", "bash:"] + ["  " + line for line in use["bash"]] +
            ["PowerShell:"] + ["  " + line for line in use["powershell"]])


def _sh_quote(text):
    return text if re.match(r"[\w@%+=:,./-]+\Z", text) else "'" + text.replace("'", "'\\''") + "'"


def _private_file(folder, name, data):
    path = os.path.join(folder, name)
    try:
        write_private_file(path, data)
    except OSError:
        return ""
    return path


def configure_logging(verbose, stream):
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    LOG.handlers[:] = [handler]
    LOG.setLevel(logging.DEBUG if verbose else logging.INFO)
    LOG.propagate = False


def stop_on_signals(servers, signals=(signal.SIGINT, signal.SIGTERM)):
    """Ctrl-C and SIGTERM end serve_forever() cleanly: the handler only asks
    every listener for a shutdown, all at once (from other threads, as
    shutdown() waits for the loop) instead of raising at an arbitrary point.
    Returns a function that puts the previous handlers back."""
    def handler(signum, frame):
        LOG.info("stopping (signal %d)", signum)
        for server in servers:
            threading.Thread(target=server.shutdown, daemon=True).start()
    previous = {number: signal.signal(number, handler) for number in signals}
    return lambda: [signal.signal(number, old) for number, old in previous.items()]


def bind(address, ttl=None):
    try:
        return Server(address, ttl=ttl)
    except OSError as exc:
        raise RunasError("cannot listen on %s:%d: %s" % (address[0], address[1], exc.strerror)) from None


def bind_relay(args):
    """The relay listener (ecs --relay-listen HOST:PORT), bound as the user.
    A relay must come from --relay-from (default: the ECS address, where
    the relay stands; any source on a loopback listener, which a Docker
    Desktop VM reaches through a process of the user's)."""
    host, port = args.relay_listen
    relay = bind((host, port))
    given = tuple(args.relay_from or ())
    relay.relay_from = given or (() if host in (LOOPBACK, "::1") else (ECS_ADDRESS,))
    return relay


def start_relay_listener(relay, server, service):
    """Serve the relay listener in a thread: the relay's secret made or read."""
    relay.service, relay.peers, server.relay_listener = service, None, relay
    service.ecs.relay_secret, service.ecs.relay_secret_file = relay_secret(service.config.directory)
    service.engine.own_addresses.add(relay.server_address[:2])
    threading.Thread(target=relay.serve_forever, args=(STOP_POLL,), name="runas-meta-relay", daemon=True).start()


def relay_secret(folder):
    """The relay's secret in FOLDER/runas-meta/relay-secret (0600): kept
    across restarts (a relay given it by variable keeps working), made
    when missing or too short."""
    path = os.path.join(folder, "runas-meta", "relay-secret")
    try:
        with open(path, "rb") as handle:
            secret = handle.read(4096).decode("ascii").strip()
        if len(secret) >= 32:
            return secret, path
    except (OSError, UnicodeDecodeError):
        pass
    secret = secrets.token_urlsafe(32)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    write_private_file(path, secret.encode("ascii"))
    return secret, path


def listen_address(text):
    """HOST:PORT or [IPv6]:PORT, an address to listen on."""
    host, _, port = (text or "").rpartition(":")
    host = host[1:-1] if host.startswith("[") and host.endswith("]") else host
    if not _is_ip(host) or not _DIGITS.match(port) or not 0 < int(port) < 65536:
        raise argparse.ArgumentTypeError("give an IP address and a port: 172.17.0.1:12320 or [::1]:12320, not %r"
                                         % _printable(text or "", 40))
    return host, int(port)


def bind_twin(server):
    """The [::1] listener on the same port, so that http://localhost:PORT/
    (which browsers and SDKs may try on ::1 first) cannot reach another
    local user's listener.  None where there is no IPv6 loopback; False
    when another process holds the address (then localhost is refused)."""
    port = server.server_address[1]
    try:
        return Server(("::1", port))
    except OSError as exc:
        if exc.errno != errno.EADDRINUSE:
            return None
    LOG.warning("another process listens on [::1]:%d, where http://localhost:%d/ may lead: use "
                "http://127.0.0.1:%d/ (this service refuses the name localhost)", port, port, port)
    return False


def serve(args, environ, stdin, stdout):
    if args.containers:
        return serve_containers(args, environ, stdin, stdout)
    if args.mode == "ec2" and args.port is None:
        return serve_legacy(args, environ, stdin, stdout)
    if args.relay_listen and args.mode != "ecs":
        raise UsageError("--relay-listen serves grants to a relay: use it with 'ecs'")
    server = bind((LOOPBACK, ECS_PORT if args.port is None else args.port))
    twin = bind_twin(server)
    relay = None
    try:
        relay = bind_relay(args) if args.relay_listen else None
        return run_service(server, args, environ, stdin, stdout, twin, relay=relay)
    finally:
        for bound in (server, twin, relay):
            if bound:
                bound.server_close()


def serve_legacy(args, environ, stdin, stdout, address=None, admin=None):
    """Legacy mode: 169.254.169.254:80 on the loopback interface, bound as
    root; privileges are dropped before any config is read or STS called.
    A helper started first removes the address when the service ends."""
    if not (admin or is_admin)():
        raise UsageError(legacy_refusal(args))

    def listen(servers):
        servers.append(bind((LEGACY_ADDRESS, 80), ttl=1))
        return servers[0], None, None
    return serve_on_address(address or LegacyAddress(), listen, args, environ, stdin, stdout)


def serve_on_address(address, listen, args, environ, stdin, stdout):
    """What legacy mode and --containers share, run as root: the user to
    become is known first, the address is claimed (its helper removes it
    however the service ends), `listen(servers)` binds and appends each
    socket, privileges are dropped before any config is read."""
    user = legacy_user(environ)
    preload_modules()
    helper = address.claim()
    servers = []
    try:
        server, twin, outer = listen(servers)
        environ = drop_privileges(user, environ)
        return run_service(server, args, environ, stdin, stdout, twin, outer=outer)
    finally:
        for bound in servers:
            bound.server_close()
        address.release(helper)


def containers_refusal(args):
    return ("--containers adds %s to the loopback interface and needs root: run 'sudo %s ecs --containers%s'; "
            "without root, a container run with --network host gets credentials from "
            "AWS_CONTAINER_CREDENTIALS_FULL_URI=http://127.0.0.1:%d/credentials"
            % (ECS_ADDRESS, _this_command(), " " + args.profile if args.profile else "", ECS_PORT))


def serve_containers(args, environ, stdin, stdout, address=None, admin=None, holders=None):
    """ecs --containers: 127.0.0.1:PORT as usual, and 169.254.170.2:80 with
    IP TTL 1 for containers on local bridges (grants only).  As legacy mode:
    the address added as root with a helper that removes it however the
    service ends, port 80 bound, privileges dropped before any config is read."""
    if args.mode != "ecs":
        raise UsageError("--containers serves the ECS address: use 'ecs --containers'")
    if not sys.platform.startswith("linux"):
        raise UsageError("--containers is Linux-only; elsewhere run containers with the host's network")
    if not (admin or is_admin)():
        raise UsageError(containers_refusal(args))
    taken = (holders or ecs_prefix_holders)()
    if taken:
        raise UsageError("%s already carries an address or route in %s0/24 (another credential proxy's "
                         "network?); serving %s would take it over: remove it first"
                         % (", ".join(taken), ECS_PREFIX, ECS_ADDRESS))

    def listen(servers):
        servers.append(bind((LOOPBACK, ECS_PORT if args.port is None else args.port)))
        twin = bind_twin(servers[0])
        if twin:
            servers.append(twin)
        outer = bind((ECS_ADDRESS, 80), ttl=1)
        servers.append(outer)
        outer.bridges = BridgePrefixes()
        return servers[0], twin, outer
    return serve_on_address(address or LegacyAddress(address=ECS_ADDRESS), listen, args, environ, stdin, stdout)


def auth_token_from(args, environ):
    """The ECS Authorization token: --auth-token-file, RUNAS_META_AUTH_TOKEN
    or --auth-token ('generate' included).  A token on the command line is
    readable by every local user in /proc/PID/cmdline: warned about."""
    given = [what for what, value in (("--auth-token", args.auth_token), ("--auth-token-file", args.auth_token_file),
                                      ("RUNAS_META_AUTH_TOKEN", environ.get("RUNAS_META_AUTH_TOKEN"))) if value]
    if len(given) > 1:
        raise UsageError("give the authorization token one way, not by %s" % " and ".join(given))
    if args.auth_token_file:
        try:
            with open(os.path.expanduser(args.auth_token_file), "rb") as handle:
                token = handle.read(4096).decode("utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageError("cannot read --auth-token-file %s: %s" % (args.auth_token_file, _plain(exc))) from None
        if not token:
            raise UsageError("--auth-token-file %s is empty" % args.auth_token_file)
        return token
    if args.auth_token and args.auth_token != "generate":
        LOG.warning("a token given with --auth-token can be read by other local users (ps, /proc): "
                    "use --auth-token-file PATH or RUNAS_META_AUTH_TOKEN instead")
    return args.auth_token or environ.get("RUNAS_META_AUTH_TOKEN") or None


def build_service(server, args, environ, stdin, stdout, peer_check=None, twin=None):
    """Config, engine and service for the parsed command line, attached to
    `server`; returns (engine, service, auth token file or "")."""
    check_federation_url(environ)
    auth_token, auth_file = auth_token_from(args, environ), ""
    config = Config(environ=environ).load()
    peers = (peer_check or platform_peer_check)(other_users=args.allow_other_users)
    if peers is not None and not peers.available():
        peers = None
        if args.mode == "ecs" and not auth_token:  # nothing else tells the user's programs from anyone's
            auth_token = "generate"
        print("note: this platform cannot tell which process opens a connection; %s" % (
            "credential paths require the ECS authorization token" if args.mode == "ecs" else
            "any local process can get these credentials (use ecs mode: it requires a token here)"), file=stdout)
    if auth_token == "generate":
        auth_token = secrets.token_urlsafe(32)
        auth_file = _private_file(config.directory, ".runas_meta_ecs_token", auth_token.encode())
    headless = args.headless
    federation = Federation(config, environ, password_prompt=terminal_password(stdin, stdout) if headless else None,
                            notify=terminal_notice(stdout) if headless else None)
    engine = Engine(config, STS(environ), environ=environ, federation=federation,
                    mfa_prompt=terminal_prompt(stdin, stdout) if headless else None)
    remove_stale_temporaries([config.directory, engine.cache_dir, engine.sso.tokens.cache_dir])
    grants = Grants(os.path.join(config.directory, "runas-meta", "grants.json"))
    service = Service(engine, config, args.mode, args.imds_v2_only, auth_token, grants=grants)
    service.management.auth_file = auth_file
    service.activate(args.profile or environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE") or None)
    server.peers = peers
    server.attach(service, twin)
    if not args.no_notify or args.open_page:
        service.notifier = Notifier(None if args.no_notify else notifier_command(), service.base_url,
                                    open_page=open_in_browser if args.open_page else None, environ=environ)
        engine.notify = service.notifier.tell
    return engine, service, auth_file


def shadowing(environ, mode):
    """[(variable, why)] set in `environ` (the shell the service started
    from) that would keep an SDK started there from asking the service:
    what comes before it in botocore's credential order."""
    found = [(name, "static keys in the environment come first") for name in
             ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")]
    found += [(name, "the SDK reads that profile from the config instead") for name in
              ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")]
    found += [("AWS_WEB_IDENTITY_TOKEN_FILE", "web identity comes before the container and metadata endpoints"),
              ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "it wins over AWS_CONTAINER_CREDENTIALS_FULL_URI" if
               mode == "ecs" else "the container endpoint comes before the metadata service")]
    if mode == "ec2":
        found += [("AWS_CONTAINER_CREDENTIALS_FULL_URI", "the container endpoint comes before the metadata service")]
        if environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
            found += [("AWS_EC2_METADATA_DISABLED", "it turns the metadata service off")]
    return [(name, why) for name, why in found if environ.get(name)]


def shadow_lines(environ, mode):
    """The banner's warning and the lines that unset what shadows the service."""
    found = shadowing(environ, mode)
    if not found:
        return []
    names = [name for name, _ in found]
    return (["", "this shell sets what an SDK would use before this service:"] +
            ["  %s: %s" % pair for pair in found] +
            ["unset them where the program runs:", "  unset " + " ".join(names),
             "  Remove-Item " + ", ".join("Env:" + name for name in names)])


def sts_line(service):
    """Where the served profile's STS calls go, and why there (nothing for a
    profile that makes none: IAM Identity Center, a process, static keys)."""
    try:
        if not any(layer.key[0] in ("session", "role", "saml", "web") for layer in service.engine.plan(service.active)):
            return []
        url, _, source = sts_endpoint_source(service.config.effective(service.active), service.engine.environ)
    except RunasError:
        return []
    return ["STS: %s (%s)" % (url, source)]


def print_banner(service, server, args, auth_file, stdout):
    """The endpoint, the page, STS, and the lines to paste into a shell."""
    empty = _private_file(service.config.directory, ".runas_meta_empty_credentials", b"") or os.devnull
    name = service.active
    print("runas-meta %s: serving %s (%s mode) on %s" % (
        __version__, repr(name) if name else "no profile yet", args.mode, service.base_url), file=stdout)
    print("page: %s/" % service.base_url, file=stdout)
    for line in sts_line(service) if name else ():
        print(line, file=stdout)
    if service.auth_token and not auth_file:
        print("Authorization token required on /credentials (AWS_CONTAINER_AUTHORIZATION_TOKEN)",
              file=stdout)
    legacy = server.server_address[0] == LEGACY_ADDRESS
    print("\n".join(usage_lines(args.mode, service.base_url, auth_file, empty, legacy) +
                    shadow_lines(service.engine.environ, args.mode)), file=stdout)
    if service.containers:
        print("\ncontainers: http://%s/ (IP TTL 1) serves each container its grant; make one with\n"
              "  %s grant PROFILE --label NAME%s" % (ECS_ADDRESS, _script_name(),
                                                    "" if args.port is None else " -p %d" % server.server_address[1]),
              file=stdout)
    if getattr(service.ecs, "relay_secret_file", ""):
        relay = server.relay_listener
        print("\nrelay listener: http://%s:%d/ (grant paths only, for '%s relay' with the secret in %s; from %s)"
              % (relay.server_address[0], relay.server_address[1], _script_name(), service.ecs.relay_secret_file,
                 ", ".join(relay.relay_from) or "any address"), file=stdout)
    print("\nPress Ctrl-C to stop.", file=stdout)
    stdout.flush()


def run_service(server, args, environ, stdin, stdout, twin=None, outer=None, relay=None):
    """Build the service, fetch the first credentials, print the banner,
    serve until Ctrl-C or SIGTERM (the [::1] twin and the ECS address
    `outer`, if any, in threads)."""
    engine, service, auth_file = build_service(server, args, environ, stdin, stdout, twin=twin)
    if outer is not None:
        if server.peers is None:
            raise UsageError("--containers needs to tell who connects (Linux's /proc/net/tcp and sock_diag)")
        outer.service, outer.peers, service.containers = service, server.peers, True
        engine.own_addresses.add(outer.server_address[:2])
        threading.Thread(target=outer.serve_forever, args=(STOP_POLL,), name="runas-meta-containers",
                         daemon=True).start()
    if relay is not None:
        start_relay_listener(relay, server, service)
    if service.active:
        first_fetch(engine, service.active, stdin, stdout, headless=args.headless)
    state = write_state(environ, service, auth_file)  # before the banner: a client started after it finds it
    print_banner(service, server, args, auth_file, stdout)
    jobs = ((service.grants.retry,) if service.grants else ()) + (engine.login.retry_unwritten,)
    if service.notifier is not None:
        jobs += (lambda: service.notifier.ahead(engine, {service.active, *engine.planned_names()} - {None}),)
    stop = start_renewals(engine, jobs=jobs)
    restore = stop_on_signals([s for s in (server, twin, outer, relay) if s])
    if twin:
        threading.Thread(target=twin.serve_forever, args=(STOP_POLL,), name="runas-meta-ipv6", daemon=True).start()
    try:
        server.serve_forever(poll_interval=STOP_POLL)
    finally:
        stop.set()
        restore()
        remove_state(state)
        for other in (twin, outer, relay):
            if other:
                other.shutdown()
        if service.grants and not service.grants.retry():
            LOG.error("revoked grants not written to %s: %s; a restart refuses them only while %s lasts "
                      "(not after a reboot): revoke them again once the disk has room", service.grants.path,
                      ", ".join(service.grants.unkept()), service.grants.spare)
    return 0


# -- grant: the command line of the management API's /grants ----------------


def _script_name():
    if sys.argv and sys.argv[0].endswith(".py"):
        return "python3 " + os.path.basename(sys.argv[0])
    return "runas-meta"


def build_grant_parser():
    parser = _Parser(
        prog="runas-meta grant",
        description="Give a container the credentials of one profile: ask the running service "
                    "(ecs --containers) for a grant and print the variable that uses it.")
    parser.add_argument("profile", nargs="?", help="the profile the container gets")
    parser.add_argument("--label", metavar="NAME", help="the grant's name (the container's): logs and the page "
                                                        "show it; --revoke takes it")
    parser.add_argument("--ttl", default="7d", metavar="DURATION", help="how long it lasts (default 7d; 12h, 90m)")
    parser.add_argument("-p", "--port", type=port_number, default=ECS_PORT, metavar="PORT",
                        help="the service's port on 127.0.0.1 (default %d)" % ECS_PORT)
    parser.add_argument("--env-file", metavar="PATH", help="also write the variable to PATH (mode 0600), "
                                                            "for docker run --env-file")
    parser.add_argument("--list", action="store_true", help="list the grants (never their ids)")
    parser.add_argument("--revoke", metavar="NAME", help="revoke the grant with this label")
    return parser


def management_call(port, method, path, fields=None):
    """The running service's management API on 127.0.0.1:PORT; its JSON, or
    RunasError with the service's own message."""
    client = ServiceClient({}, "http://%s:%d" % (LOOPBACK, port), 30, start="start it with 'sudo %s ecs "
                           "--containers PROFILE', or give its port with -p" % _script_name())
    status, doc = client.call(method, path, urllib.parse.urlencode(fields).encode() if fields is not None else None)
    if status not in (200, 202):
        raise RunasError("the service answered %d: %s" % (status, doc.get("Message") or "no message"))
    return doc


def grant_lines(doc):
    """The variable, and the same as docker run, compose and devcontainer.json want it."""
    variable = "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI"
    value = doc["relative_uri"]
    lines = ["grant %r for profile %r until %s" % (doc["label"], doc["profile"], doc["expires"]), "",
             "%s=%s" % (variable, value), "",
             "docker run:", "  docker run -e %s=%s IMAGE" % (variable, value),
             "docker compose (the service's environment:):", "  environment:", "    %s: %s" % (variable, value),
             "devcontainer.json:", '  "containerEnv": {"%s": "%s"}' % (variable, value)]
    if not doc.get("containers"):
        lines += ["", "note: the service was not started with 'ecs --containers': containers on a bridge "
                      "cannot reach %s yet" % ECS_ADDRESS]
    return lines


def grant_line(grant):
    """One grant as `grant --list` prints it: never an id, never Python's None."""
    words = [grant["label"], "profile " + grant["profile"], "until " + grant["expires"]]
    if not grant.get("last_used"):
        words.append("never used")
    else:
        words += ["last used " + grant["last_used"], "from %s" % grant.get("last_source")]
        words += ["container " + grant["container"]] if grant.get("container") else []
    words += ["bound to " + grant["bound_to"]] if grant.get("bound_to") else []
    return "\t".join(words)


def grant_main(argv, stdout, stderr):
    parser = build_grant_parser()
    args = parser.parse_args(argv)
    chosen = [what for what, given in (("PROFILE", args.profile), ("--list", args.list),
                                       ("--revoke", args.revoke)) if given]
    if len(chosen) != 1:
        parser.error("give one of PROFILE (with --label), --list or --revoke NAME")
    if args.profile and not args.label:
        parser.error("a grant needs --label NAME (the container's name)")
    try:
        if args.list:
            doc = management_call(args.port, "GET", "/grants")
            for grant in doc["grants"]:
                print(grant_line(grant), file=stdout)
            if not doc["grants"]:
                print("no grants", file=stdout)
            return 0
        if args.revoke:
            doc = management_call(args.port, "POST", "/grants/revoke", {"label": args.revoke})
            if doc.get("kept") is False:
                print("runas-meta grant: revoked, but not kept: %s" % doc.get("Message"), file=stderr)
                return 1
            print("grant %r revoked" % args.revoke, file=stdout)
            return 0
        grant_lifetime(args.ttl)  # a bad lifetime is refused here, in the same words
        doc = management_call(args.port, "POST", "/grants", {"profile": args.profile, "label": args.label,
                                                             "ttl": args.ttl})
        if args.env_file:
            write_private_file(os.path.expanduser(args.env_file),
                               ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI=%s\n" % doc["relative_uri"]).encode())
        print("\n".join(grant_lines(doc)), file=stdout)
        if args.env_file:
            print("env-file (0600): %s\n  docker run --env-file %s IMAGE" % (args.env_file, args.env_file), file=stdout)
        return 0
    except (RunasError, OSError) as exc:
        print("runas-meta grant: error: %s" % (exc if isinstance(exc, RunasError) else _plain(exc)), file=stderr)
        return exc.exit_code if isinstance(exc, RunasError) else 1


# -- client commands: the running service, from any program that names a profile ----


def state_path(environ):
    """Where a running service says where it listens: beside the grants, in
    the runas-meta folder of the config's directory (0600, removed on exit)."""
    config = expand_path(environ.get("AWS_CONFIG_FILE") or "~/.aws/config", environ)
    return os.path.join(os.path.dirname(os.path.abspath(config)), "runas-meta", "service.json")


def write_state(environ, service, auth_file):
    path = state_path(environ)
    doc = {"url": service.base_url, "pid": os.getpid(), "mode": service.mode, "auth_token_file": auth_file or ""}
    try:
        os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
        write_private_file(path, json.dumps(doc).encode())
    except OSError as exc:
        LOG.warning("cannot write %s (%s): the client commands need --endpoint", path, _plain(exc))
        return ""
    return path


def remove_state(path):
    """Remove the state file if it is still this process's."""
    try:
        with open(path, "rb") as handle:
            if json.loads(handle.read().decode("utf-8")).get("pid") == os.getpid():
                os.unlink(path)
    except (OSError, ValueError, AttributeError):
        pass


class ServiceClient:
    """The running service as the client commands reach it: its URL from
    --endpoint or the state file, its ECS token from RUNAS_META_AUTH_TOKEN
    or the file the service generated."""

    def __init__(self, environ, endpoint=None, timeout=10.0, start=None):
        self.start = start or "start one with '%s ecs PROFILE'" % _script_name()
        state = {}
        if not endpoint:
            try:
                with open(state_path(environ), "rb") as handle:
                    state = json.loads(handle.read().decode("utf-8"))
            except (OSError, ValueError):
                state = {}
        self.url = (endpoint or state.get("url") or "").rstrip("/")
        if not self.url:
            raise RunasError("no runas-meta is running for this config (%s has no address): start one with '%s ecs "
                             "PROFILE', or give --endpoint URL" % (state_path(environ), _script_name()))
        self.token, self.timeout = environ.get("RUNAS_META_AUTH_TOKEN") or "", timeout
        if not self.token and state.get("auth_token_file"):
            try:
                with open(state["auth_token_file"], "rb") as handle:
                    self.token = handle.read(4096).decode("utf-8").strip()
            except OSError:
                pass

    def _request(self, method, path, body=None):
        """(status, the answer's JSON or None); RunasError when nothing answers."""
        parts = urllib.parse.urlsplit(self.url)
        headers = {"Authorization": self.token} if self.token else {}
        try:
            connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=self.timeout)
            connection.request(method, path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
            connection.close()
        except (OSError, http.client.HTTPException) as exc:
            raise RunasError("no runas-meta answers at %s (%s): %s" % (self.url, _plain(exc), self.start)) from None
        try:
            return answer.status, json.loads(data.decode("utf-8"))
        except ValueError:
            return answer.status, None

    def call(self, method, path, body=None):
        """(status, JSON object) of one request."""
        status, doc = self._request(method, path, body)
        return status, doc if isinstance(doc, dict) else {}

    def call_list(self, path):
        """(status, JSON list) of a GET that answers a list."""
        status, doc = self._request("GET", path)
        return status, doc if isinstance(doc, list) else []

    def credentials(self, name, wait=0.0, stderr=None, sleep=time.sleep, clock=time.monotonic):
        """The ECS document of `name`; while the service needs an MFA code or
        a sign-in, say so once on `stderr` and wait up to `wait` seconds."""
        deadline, told = clock() + wait, False
        while True:
            status, doc = self.call("GET", "/credentials/" + urllib.parse.quote(name, safe=""))
            if status == 200:
                return doc
            message = doc.get("Message") or "HTTP %d" % status
            if status != 401 or clock() >= deadline:
                raise RunasError("profile %r: %s" % (name, message))
            if not told and stderr is not None:
                print("runas-meta: profile %r needs an MFA code or a sign-in: answer at %s/ (waiting up to %d s)"
                      % (name, self.url, wait), file=stderr)
                stderr.flush()
                told = True
            sleep(1.0)


def export_lines(name, doc, form):
    """A profile's credentials as `export --format` prints them."""
    pairs = [("AWS_ACCESS_KEY_ID", doc["AccessKeyId"]), ("AWS_SECRET_ACCESS_KEY", doc["SecretAccessKey"]),
             ("AWS_SESSION_TOKEN", doc.get("Token", "")), ("AWS_CREDENTIAL_EXPIRATION", doc["Expiration"])]
    pairs = [(k, v) for k, v in pairs if v]
    if form == "json":
        return [json.dumps(process_document(doc))]
    if form == "ini":
        return ["[%s]" % name] + ["%s = %s" % (k.lower(), v) for k, v in pairs if k != "AWS_CREDENTIAL_EXPIRATION"]
    formats = {"env": "export %s=%s", "powershell": '$env:%s = "%s"', "fish": "set -gx %s %s"}
    return [formats[form] % (k, _sh_quote(v) if form != "powershell" else v) for k, v in pairs]


def process_document(doc):
    """credential_process's Version 1 JSON from the ECS document."""
    out = {"Version": 1, "AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"],
           "SessionToken": doc.get("Token", ""), "Expiration": doc["Expiration"]}
    if doc.get("AccountId"):
        out["AccountId"] = doc["AccountId"]
    return out


def client_parser(command):
    parser = _Parser(prog="runas-meta " + command, description=CLIENT_COMMANDS[command])
    if command != "status":
        parser.add_argument("profile", help="the profile")
    if command == "process":
        parser.add_argument("--wait", type=float, default=PROCESS_WAIT, metavar="SECONDS",
                            help="how long to wait for an MFA code or a sign-in on the page (default %d)" % PROCESS_WAIT)
    if command == "export":
        parser.add_argument("--format", choices=("env", "powershell", "fish", "json", "ini"), default="env")
    if command == "status":
        parser.add_argument("--json", action="store_true", help="the service's /status document")
    parser.add_argument("--endpoint", metavar="URL", help="the service's address (default: the one running for "
                                                          "this config, from its state file)")
    return parser


def client_main(command, argv, environ, stdout, stderr):
    """process, export, use, status: ask the running service."""
    args = client_parser(command).parse_args(argv)
    try:
        client = ServiceClient(environ, args.endpoint)
        if command == "process":
            print(json.dumps(process_document(client.credentials(args.profile, args.wait, stderr))), file=stdout)
        elif command == "export":
            print("\n".join(export_lines(args.profile, client.credentials(args.profile), args.format)), file=stdout)
        elif command == "use":
            status, doc = client.call("POST", "/profile", args.profile.encode())
            if status != 200:
                raise RunasError(doc.get("Message") or "HTTP %d" % status)
            print("serving %r" % args.profile, file=stdout)
        else:
            return print_status(client, args.json, stdout)
        return 0
    except RunasError as exc:
        print("runas-meta %s: error: %s" % (command, exc), file=stderr)
        return exc.exit_code


def print_status(client, as_json, stdout):
    status, doc = client.call("GET", "/status")
    if status != 200:
        raise RunasError(doc.get("Message") or "HTTP %d" % status)
    if as_json:
        print(json.dumps(doc, indent=1), file=stdout)
        return 0
    prompt = doc.get("next_prompt") or {}
    lines = ["runas-meta at %s (%s mode)" % (client.url, doc.get("mode")),
             "served profile: %s" % (doc.get("active") or "none yet"),
             "expires: %s (%s s left)" % (doc.get("expiration") or "-", doc.get("seconds_left", 0)),
             "next prompt: %s" % ("%s at %s" % (prompt.get("what"), prompt.get("at")) if prompt.get("at") else
                                  prompt.get("note") or prompt.get("what") or "none")]
    if doc.get("switching_to"):
        lines.append("switching to %s once it has credentials" % doc["switching_to"])
    if doc.get("error"):
        lines.append("error: %s" % doc["error"])
    print("\n".join(lines), file=stdout)
    return 0


# -- exec: a child with a grant of its own -----------------------------------------

EXEC_SHADOWS = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ROLE_ARN",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_EC2_METADATA_SERVICE_ENDPOINT")


def exec_environment(environ, client, relative_uri, region, empty_file):
    """The child's environment: the grant's endpoint, the empty credentials
    file, the profile's region; nothing that would shadow the service."""
    env = {k: v for k, v in environ.items() if k not in EXEC_SHADOWS}
    env.update(AWS_CONTAINER_CREDENTIALS_FULL_URI=client.url + relative_uri, AWS_SHARED_CREDENTIALS_FILE=empty_file,
               AWS_CREDENTIAL_PROFILES_FILE=empty_file)
    if region:
        env.update(AWS_REGION=region, AWS_DEFAULT_REGION=region)
    if client.token:
        env["AWS_CONTAINER_AUTHORIZATION_TOKEN"] = client.token
    return env


def exec_main(argv, environ, stderr, popen=subprocess.Popen):
    """`exec PROFILE -- COMMAND...`: the child's exit code (128+N for signal N)."""
    if "--" not in argv:
        raise UsageError("give the command after --: runas-meta exec PROFILE -- COMMAND ...")
    split = argv.index("--")
    parser = _Parser(prog="runas-meta exec", description="Run COMMAND with a grant of its own for PROFILE, revoked "
                     "when it exits, and nothing in its environment that would shadow the service.")
    parser.add_argument("profile")
    parser.add_argument("--ttl", default="12h", help="the grant's lifetime (default 12h)")
    parser.add_argument("--endpoint", metavar="URL")
    args = parser.parse_args(argv[:split])
    command = argv[split + 1:]
    if not command:
        raise UsageError("give the command after --")
    client = ServiceClient(environ, args.endpoint)
    label = "exec-%d-%s" % (os.getpid(), secrets.token_hex(3))
    status, doc = client.call("POST", "/grants", urllib.parse.urlencode(
        {"profile": args.profile, "label": label, "ttl": args.ttl}).encode())
    if status != 200:
        raise RunasError(doc.get("Message") or "HTTP %d" % status)
    try:
        region = Config(environ=environ).load().region(args.profile)
    except RunasError:
        region = ""
    empty = _private_file(os.path.dirname(state_path(environ)), "empty-credentials", b"") or os.devnull
    child = popen(command, env=exec_environment(environ, client, doc["relative_uri"], region, empty))
    forward = lambda signum, frame: child.send_signal(signum)  # noqa: E731
    previous = {number: signal.signal(number, forward) for number in (signal.SIGINT, signal.SIGTERM)}
    try:
        code = child.wait()
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        status, _ = client.call("POST", "/grants/revoke", urllib.parse.urlencode({"label": label}).encode())
        if status not in (200, 202):
            print("runas-meta exec: could not revoke grant %r (HTTP %d): revoke it with 'runas-meta grant --revoke "
                  "%s'" % (label, status, label), file=stderr)
    return code if code >= 0 else 128 - code


# -- profiles --write: a credential_process profile for everything the service serves --

PROFILES_BEGIN = "# >>> runas-meta profiles: written by 'runas-meta profiles --write'; replaced as a whole >>>"
PROFILES_END = "# <<< runas-meta profiles <<<"


IMPORT_AND_RUN = "import sys;sys.path.insert(0,sys.argv.pop(1));import runas_meta;sys.exit(runas_meta.main())"
SHIM_NAME = "runas_meta_process.py"
# The generated profiles run this small file, written beside the service's
# state file: one request to the running service with nothing but json and
# socket loaded (about a tenth of importing this file, which an SDK would pay
# on every credential_process run); anything but a 200 (no service, a code to
# wait for, an error) is handed to runas_meta.py's own `process` command.
PROCESS_SHIM = """\
# runas-meta's credential_process shim: written by 'runas-meta profiles --write'; rewritten as a whole.
# argv: RUNAS_META_DIR process PROFILE.  No secret is in this file.
import json, os, socket, sys


def fast(name):
    config = os.path.expanduser(os.path.expandvars(os.environ.get("AWS_CONFIG_FILE") or "~/.aws/config"))
    folder = os.path.join(os.path.dirname(os.path.abspath(config)), "runas-meta")
    with open(os.path.join(folder, "service.json"), "rb") as handle:
        state = json.loads(handle.read().decode("utf-8"))
    token = os.environ.get("RUNAS_META_AUTH_TOKEN", "")
    if not token and state.get("auth_token_file"):
        with open(state["auth_token_file"], "rb") as handle:
            token = handle.read(4096).decode("utf-8").strip()
    netloc = state["url"].split("//", 1)[1].rstrip("/")
    host, _, port = netloc.rpartition(":")
    path = "/credentials/" + "".join(c if c.isalnum() and c.isascii() or c in "-_." else
                                     "".join("%%%02X" % b for b in c.encode("utf-8")) for c in name)
    request = "GET %s HTTP/1.1\\r\\nHost: %s\\r\\nConnection: close\\r\\n" % (path, netloc)
    if token:
        request += "Authorization: %s\\r\\n" % token
    with socket.create_connection((host.strip("[]"), int(port)), timeout=10) as sock:
        sock.sendall((request + "\\r\\n").encode("utf-8"))
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\\r\\n\\r\\n")
    if not head.startswith((b"HTTP/1.1 200 ", b"HTTP/1.0 200 ")) or b"chunked" in head.lower():
        return None
    doc = json.loads(body.decode("utf-8"))
    out = {"Version": 1, "AccessKeyId": doc["AccessKeyId"], "SecretAccessKey": doc["SecretAccessKey"],
           "SessionToken": doc.get("Token", ""), "Expiration": doc["Expiration"]}
    if doc.get("AccountId"):
        out["AccountId"] = doc["AccountId"]
    return json.dumps(out)


if len(sys.argv) == 4 and sys.argv[2] == "process" and not os.environ.get("RUNAS_META_NO_SHIM"):
    try:
        answer = fast(sys.argv[3])
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError):
        answer = None
    if answer is not None:
        sys.stdout.write(answer + "\\n")
        sys.exit(0)
sys.path.insert(0, sys.argv.pop(1))
import runas_meta  # noqa: E402
sys.exit(runas_meta.main())
"""


def process_command(argv0=None, shim=None):
    """This program as a credential_process runs it, by full paths, quoted as
    a POSIX shell: the installed command, or the interpreter importing the
    copied file (cached bytecode: 60 ms of its own work on one machine here,
    140 on a slower one, where running the file as a script compiles it each
    time); with `shim` (the file profiles --write writes), the interpreter
    running that small file first: 10-20 ms when the service answers."""
    argv0 = os.path.abspath(argv0 or (sys.argv[0] if sys.argv and sys.argv[0] else "runas_meta.py"))
    if shim and argv0.endswith(".py"):
        parts = [sys.executable, shim, os.path.dirname(argv0)]
    elif argv0.endswith(".py"):
        parts = [sys.executable, "-c", IMPORT_AND_RUN, os.path.dirname(argv0)]
    else:
        parts = [argv0]
    return " ".join(shlex.quote(part) for part in parts)


def shim_path(environ):
    return os.path.join(os.path.dirname(state_path(environ)), SHIM_NAME)


def write_shim(environ):
    """The shim beside the state file (0600: only this user runs it)."""
    path = shim_path(environ)
    os.makedirs(os.path.dirname(path), mode=0o700, exist_ok=True)
    write_private_file(path, PROCESS_SHIM.encode("utf-8"))
    return path


def servable_names(client):
    """Every profile the service can serve, and every IAM Identity Center role
    it has found (GET /sso/roles of each profile that signs in there)."""
    names = []
    for path in ("/list-profiles", "/list-roles"):
        status, doc = client.call_list(path)
        names += doc if status == 200 else []
    found = []
    for name in sorted(set(names)):
        status, doc = client.call_list("/sso/roles?partial=1&profile=" + urllib.parse.quote(name, safe=""))
        found += [role["name"] for role in doc if isinstance(role, dict)] if status == 200 else []
    return sorted(set(names)) + sorted(set(found) - set(names))


def profiles_block(names, prefix, command):
    """The generated profiles between the markers (none for a profile that
    would ask the service itself)."""
    lines = [PROFILES_BEGIN]
    for name in names:
        if name.startswith(prefix + "-"):
            continue  # a generated one from before: it names the profile it serves
        lines += ["[profile %s-%s]" % (prefix, name), "credential_process = %s process %s" % (command, shlex.quote(name)),
                  ""]
    return "\n".join(lines + [PROFILES_END]) + "\n"


def with_profiles(text, block):
    """`text` with the generated block replaced (or added, or taken out when
    `block` is empty); every byte outside the markers stays as it was."""
    newline = "\r\n" if "\r\n" in text else "\n"  # the file's own line ends
    block = block.replace("\n", newline)
    start = text.find(PROFILES_BEGIN)
    end = text.find(PROFILES_END, start + 1) if start >= 0 else -1
    if start >= 0 and end >= 0:
        after = end + len(PROFILES_END)
        after += 2 if text.startswith("\r\n", after) else 1 if text.startswith("\n", after) else 0
        before = text[:start]
        if not block and before.endswith(newline):  # the one line end written before the block goes with it
            before = before[:-len(newline)]
        return before + block + text[after:]
    if not block:
        return text
    return text + (newline if text else "") + block  # ends the last line, or leaves a blank one before the block


def profiles_main(argv, environ, stdout, stderr):
    parser = _Parser(prog="runas-meta profiles", description="Write a credential_process profile for every profile "
                     "the running service can serve (and every IAM Identity Center role it found) into the AWS config, "
                     "between marker lines; everything outside them stays as it was.")
    what = parser.add_mutually_exclusive_group(required=True)
    what.add_argument("--write", action="store_true", help="write (or rewrite) the generated profiles")
    what.add_argument("--remove", action="store_true", help="take them out")
    parser.add_argument("--prefix", default="runas", help="generated names are PREFIX-NAME (default runas)")
    parser.add_argument("--dry-run", action="store_true", help="print the change as a diff, write nothing")
    parser.add_argument("--endpoint", metavar="URL", help="the service's address")
    args = parser.parse_args(argv)
    if not re.match(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,30}\Z", args.prefix):
        parser.error("a prefix is letters, digits, '.', '_' or '-'")
    path = expand_path(environ.get("AWS_CONFIG_FILE") or "~/.aws/config", environ)
    try:
        with open(path, "rb") as handle:
            text = handle.read().decode("utf-8")
        shim = shim_path(environ) if args.dry_run else None if args.remove else write_shim(environ)
        block = "" if args.remove else profiles_block(servable_names(ServiceClient(environ, args.endpoint)),
                                                      args.prefix, process_command(shim=shim))
        new = with_profiles(text, block)
        if args.dry_run:
            import difflib
            stdout.writelines(difflib.unified_diff(text.splitlines(True), new.splitlines(True), path, path))
            return 0
        mode = stat_mode(path)
        write_private_file(path, new.encode("utf-8"))
        os.chmod(path, mode)
        if args.remove and os.path.exists(shim_path(environ)):
            os.unlink(shim_path(environ))  # nothing runs it any more
    except (OSError, UnicodeDecodeError) as exc:
        print("runas-meta profiles: error: %s: %s" % (path, _plain(exc)), file=stderr)
        return 1
    except RunasError as exc:
        print("runas-meta profiles: error: %s" % exc, file=stderr)
        return exc.exit_code
    print("%s %s" % ("removed the generated profiles from" if args.remove else "wrote %d profiles to"
                     % block.count("[profile "), path), file=stdout)
    return 0


def stat_mode(path):
    return os.stat(path).st_mode & 0o7777


CLIENT_COMMANDS = {
    "process": "Print a profile's credentials as credential_process JSON, from the running service.",
    "export": "Print a profile's credentials as shell lines (env, powershell, fish), JSON or an ini section.",
    "use": "Make the running service serve this profile.",
    "status": "What the running service serves, until when, and what it needs next.",
}


# -- relay: the ECS address in a container network, for a host service without root --
# `python runas_meta.py relay --upstream URL` runs in a container at
# 169.254.170.2:80 of a network with that subnet.  It forwards a grant's
# path and the health check to the host's relay listener with the relay's
# secret and the container's address, and relays the answer; it holds no
# credentials, keeps nothing, and its access log shows no grant id.

RELAY_ADDRESS = (ECS_ADDRESS, 80)


class Relay:
    """The relay's service: a function from Request to Response, like
    Service.  `secret()` reads the secret each time (a rotated file is
    used at once); `connect` makes the upstream connection (tests)."""

    def __init__(self, upstream, secret, timeout=10.0, connect=http.client.HTTPConnection):
        parts = urllib.parse.urlsplit(upstream)
        if parts.scheme != "http" or not parts.hostname or parts.path.strip("/") or parts.query:
            raise UsageError("--upstream is the host's relay listener as http://HOST:PORT, not %r"
                             % _printable(upstream, 80))
        self.host, self.port, self.netloc = parts.hostname, parts.port or 80, parts.netloc
        self.secret, self.timeout, self.connect = secret, timeout, connect

    def set_address(self, host, port, localhost=True):
        pass

    def handle(self, request):
        if request.method in ("GET", "HEAD"):
            grant_id = request.path[len(GRANT_PATH):] if request.path.startswith(GRANT_PATH) else ""
            if (grant_id and "/" not in grant_id) or request.path == "/healthcheck":
                return self.forward(request)
        return json_response({"code": "ForbiddenPeer", "message": "the relay serves only GET %s<id> (a grant "
                              "made on the host) and /healthcheck" % GRANT_PATH}, 403)

    def forward(self, request):
        """One request upstream, none kept; its status, body and Retry-After."""
        try:
            headers = {RELAY_SECRET_HEADER: self.secret(), RELAY_CLIENT_HEADER: request.client[0],
                       "Host": self.netloc}
            connection = self.connect(self.host, self.port, timeout=self.timeout)
            try:
                connection.request(request.method, request.path, headers=headers)
                answer = connection.getresponse()
                body = answer.read()
            finally:
                connection.close()
        except (OSError, http.client.HTTPException, RunasError) as exc:
            LOG.warning("the host's runas-meta at %s did not answer: %s", self.netloc, _plain(exc))
            return json_response({"code": "CredentialsUnavailable", "message": "the host's runas-meta does not "
                                  "answer the relay"}, 503)
        retry = answer.getheader("Retry-After")
        return Response(answer.status, body, answer.getheader("Content-Type") or "application/json",
                        [("Retry-After", retry)] if retry else ())


def relay_secret_reader(path, environ):
    """The secret from --secret-file (read on each request) or
    RUNAS_META_RELAY_SECRET; never from the command line."""
    if path:
        def read():
            try:
                with open(path, "rb") as handle:
                    return handle.read(4096).decode("ascii").strip()
            except (OSError, UnicodeDecodeError) as exc:
                raise RunasError("cannot read the relay secret %s: %s" % (path, _plain(exc))) from None
        read()  # a missing file is said at start
        return read
    if environ.get("RUNAS_META_RELAY_SECRET"):
        value = environ["RUNAS_META_RELAY_SECRET"].strip()
        return lambda: value
    raise UsageError("the relay needs the secret the host's service wrote to ~/.aws/runas-meta/relay-secret: "
                     "mount it and give --secret-file PATH, or set RUNAS_META_RELAY_SECRET")


def relay_main(argv, environ, stdout, stderr):
    parser = _Parser(prog="runas-meta relay", description="Stand at the ECS address in a container network and "
                     "forward each container's grant request to the host's runas-meta (ecs --relay-listen).")
    parser.add_argument("--upstream", required=True, metavar="URL",
                        help="the host's relay listener, http://HOST:PORT (the network's gateway, "
                             "host.docker.internal, ...)")
    parser.add_argument("--listen", type=listen_address, default=RELAY_ADDRESS, metavar="HOST:PORT",
                        help="where containers ask (default %s:80)" % ECS_ADDRESS)
    parser.add_argument("--secret-file", metavar="PATH", help="the host's relay-secret file, mounted read-only")
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    args = parser.parse_args(argv)
    configure_logging(args.verbose, stderr)
    try:
        relay = Relay(args.upstream, relay_secret_reader(args.secret_file, environ))
        server = bind(args.listen)
    except RunasError as exc:
        print("runas-meta relay: error: %s" % exc, file=stderr)
        return exc.exit_code
    server.attach(relay)
    restore = stop_on_signals([server])
    print("runas-meta %s relay: http://%s:%d/ -> %s" % (__version__, args.listen[0], args.listen[1], args.upstream),
          file=stdout)
    stdout.flush()
    try:
        server.serve_forever(poll_interval=STOP_POLL)
    finally:
        restore()
        server.server_close()
    return 0


# -- install / uninstall: the service started at login, restarted if it dies --
# One file per service (ecs, ec2, containers), named alike on each platform:
# a systemd unit (user or system), a launchd LaunchAgent or LaunchDaemon, a
# Task Scheduler task from an XML definition.  --gui-env points programs
# started outside a shell at the service (environment.d, launchctl setenv,
# setx): endpoint URLs and file paths, never a secret.  Side effects (the
# commands, the file system's root) are parameters; --dry-run prints them.

INSTALL_LABEL = "io.github.runas-meta"
ENV_VARIABLES = ("AWS_CONTAINER_CREDENTIALS_FULL_URI", "AWS_EC2_METADATA_SERVICE_ENDPOINT",
                 "AWS_SHARED_CREDENTIALS_FILE", "AWS_CREDENTIAL_PROFILES_FILE",
                 "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE")
INSTALL_KEYS = ("ecs", "ec2", "containers")
# what the service reads of the shell it is installed from goes into the
# service's definition (a login has none of it); never a secret, so never the
# auth token, nor proxies (their URLs may hold a password)
INSTALL_CARRIED = ("AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_REGION", "AWS_DEFAULT_REGION",
                   "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_ENDPOINT_URL_SSO", "AWS_ENDPOINT_URL_SSO_OIDC",
                   "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS", "AWS_CA_BUNDLE", "RUNAS_META_FEDERATION_URL")


class _MayFail(list):
    """A command whose failure is expected and harmless (stopping what is
    not running)."""


def _systemd_word(text):
    """One ExecStart argument as systemd reads it: % and $ doubled, quoted
    (with backslash escapes) when it holds anything but plain characters."""
    text = text.replace("%", "%%").replace("$", "$$")
    if re.match(r"[\w@%+=:,./-]+\Z", text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _windows_word(text):
    """One argument as the C runtime parses a Windows command line."""
    if text and not re.search(r'[\s"]', text):
        return text
    quoted = re.sub(r'(\\*)"', r'\1\1\\"', text)
    return '"' + re.sub(r"(\\+)\Z", r"\1\1", quoted) + '"'


class Installer:
    """What `install` writes and runs on one platform ("linux", "darwin",
    "win32"), and what `uninstall` removes.  `home` is the user's home,
    `root` the file system's (tests give folders), `uid` the user's."""

    def __init__(self, platform, home, config_dir, environ, root="/", uid=0, gid=0):
        self.platform = "linux" if platform.startswith("linux") else platform
        self.home, self.config_dir, self.environ, self.root = home, config_dir, environ, root
        self.uid, self.gid = uid, gid
        self.state_dir = os.path.join(config_dir, "runas-meta")
        self.user_config = environ.get("XDG_CONFIG_HOME") or os.path.join(home, ".config")
        self.carried = [(name, environ[name]) for name in INSTALL_CARRIED if environ.get(name) and not
                        environ[name].endswith(".runas_meta_empty_credentials")]

    # where each file goes
    def service_file(self, key, system):
        name = "runas-meta-%s" % key
        if self.platform == "linux":
            return (os.path.join(self.root, "etc", "systemd", "system", name + ".service") if system else
                    os.path.join(self.user_config, "systemd", "user", name + ".service"))
        if self.platform == "darwin":
            folder = (os.path.join(self.root, "Library", "LaunchDaemons") if system else
                      os.path.join(self.home, "Library", "LaunchAgents"))
            return os.path.join(folder, "%s.%s.plist" % (INSTALL_LABEL, key))
        return os.path.join(self.state_dir, name + ".xml")

    def env_file(self):
        if self.platform == "linux":
            return os.path.join(self.user_config, "environment.d", "60-runas-meta.conf")
        if self.platform == "darwin":
            return os.path.join(self.home, "Library", "LaunchAgents", "%s.env.plist" % INSTALL_LABEL)
        return os.path.join(self.state_dir, "gui-env.txt")  # which variables setx wrote

    # what each file says
    def service_text(self, key, argv, system):
        if self.platform == "linux":
            return self._unit(key, argv, system).encode()
        if self.platform == "darwin":
            return self._plist(key, argv, system)
        return self._task(key, argv, system).encode("utf-16")

    def _unit(self, key, argv, system):
        lines = ["[Unit]", "Description=runas-meta: AWS credentials for local programs (%s)" % key]
        if system:
            lines += ["Wants=network-online.target", "After=network-online.target"]
        lines += ["", "[Service]", "Type=simple", "ExecStart=" + " ".join(_systemd_word(a) for a in argv),
                  "Restart=always", "RestartSec=5", "Environment=PYTHONUNBUFFERED=1"]
        lines += ["Environment=" + _systemd_word("%s=%s" % pair) for pair in self.carried]
        if system:  # the root modes drop to the user, as under sudo
            lines.append("Environment=SUDO_UID=%d SUDO_GID=%d" % (self.uid, self.gid))
        lines += ["", "[Install]", "WantedBy=%s" % ("multi-user.target" if system else "default.target"), ""]
        return "\n".join(lines)

    def _plist(self, key, argv, system):
        import plistlib
        logs = os.path.join(self.root if system else self.home, "Library", "Logs", "runas-meta-%s.log" % key)
        doc = {"Label": "%s.%s" % (INSTALL_LABEL, key), "ProgramArguments": list(argv), "RunAtLoad": True,
               "KeepAlive": True, "ThrottleInterval": 5, "StandardOutPath": logs, "StandardErrorPath": logs,
               "ProcessType": "Background"}
        variables = dict(self.carried, **({"SUDO_UID": str(self.uid), "SUDO_GID": str(self.gid)} if system else {}))
        if variables:
            doc["EnvironmentVariables"] = variables
        return plistlib.dumps(doc)

    def _task(self, key, argv, system):
        """Task Scheduler's XML: at logon, and every minute after it (a new
        instance is ignored while one runs): the service comes back within
        a minute of dying; no time limit."""
        def esc(text):
            return html.escape(text, quote=False)
        level = "HighestAvailable" if system else "LeastPrivilege"
        return "\n".join([
            '<?xml version="1.0" encoding="UTF-16"?>',
            '<Task version="1.2" xmlns="http://schemas.microsoft.com/windows/2004/02/mit/task">',
            "  <RegistrationInfo><Description>runas-meta: AWS credentials for local programs (%s)</Description>"
            "</RegistrationInfo>" % key,
            "  <Triggers><LogonTrigger><Enabled>true</Enabled><Repetition><Interval>PT1M</Interval>"
            "<StopAtDurationEnd>false</StopAtDurationEnd></Repetition></LogonTrigger></Triggers>",
            "  <Principals><Principal id=\"Author\"><LogonType>InteractiveToken</LogonType>"
            "<RunLevel>%s</RunLevel></Principal></Principals>" % level,
            "  <Settings><MultipleInstancesPolicy>IgnoreNew</MultipleInstancesPolicy>"
            "<DisallowStartIfOnBatteries>false</DisallowStartIfOnBatteries>"
            "<StopIfGoingOnBatteries>false</StopIfGoingOnBatteries>"
            "<ExecutionTimeLimit>PT0S</ExecutionTimeLimit><Hidden>true</Hidden>"
            "<RestartOnFailure><Interval>PT1M</Interval><Count>999</Count></RestartOnFailure></Settings>",
            "  <Actions Context=\"Author\"><Exec><Command>%s</Command><Arguments>%s</Arguments></Exec></Actions>"
            % (esc(argv[0]), esc(" ".join(_windows_word(a) for a in argv[1:]))),
            "</Task>", ""])

    def env_text(self, pairs):
        if self.platform == "linux":
            return "".join("%s=%s\n" % pair for pair in pairs).encode()
        if self.platform == "darwin":
            import plistlib
            script = "; ".join('launchctl setenv %s "$%d"' % (name, n) for n, (name, _) in enumerate(pairs, 1))
            return plistlib.dumps({"Label": INSTALL_LABEL + ".env", "RunAtLoad": True,
                                   "ProgramArguments": ["/bin/sh", "-c", script, "sh"] + [v for _, v in pairs]})
        return "".join(name + "\n" for name, _ in pairs).encode()

    # the commands that load, start, stop and unload
    def start_commands(self, key, path, system):
        if self.platform == "linux":
            ctl = ["systemctl"] if system else ["systemctl", "--user"]
            unit = "runas-meta-%s.service" % key
            return [ctl + ["daemon-reload"], ctl + ["enable", unit], ctl + ["restart", unit]]  # a new ExecStart too
        if self.platform == "darwin":
            domain = "system" if system else "gui/%d" % self.uid
            return [_MayFail(["launchctl", "bootout", "%s/%s.%s" % (domain, INSTALL_LABEL, key)]),
                    ["launchctl", "bootstrap", domain, path]]
        name = "runas-meta-%s" % key
        return [["schtasks", "/Create", "/TN", name, "/XML", path, "/F"], _MayFail(["schtasks", "/End", "/TN", name]),
                ["schtasks", "/Run", "/TN", name]]

    def stop_commands(self, key, path, system):
        if self.platform == "linux":
            ctl = ["systemctl"] if system else ["systemctl", "--user"]
            stop = _MayFail(ctl + ["disable", "--now", "runas-meta-%s.service" % key])
            return [stop], [_MayFail(ctl + ["daemon-reload"])]
        if self.platform == "darwin":
            domain = "system" if system else "gui/%d" % self.uid
            return [_MayFail(["launchctl", "bootout", "%s/%s.%s" % (domain, INSTALL_LABEL, key)])], []
        name = "runas-meta-%s" % key
        return [_MayFail(["schtasks", "/End", "/TN", name]), _MayFail(["schtasks", "/Delete", "/TN", name, "/F"])], []

    def env_commands(self, pairs, setting):
        if self.platform == "linux":
            return [["systemctl", "--user", "set-environment"] + ["%s=%s" % pair for pair in pairs]] if setting else \
                [["systemctl", "--user", "unset-environment"] + [name for name, _ in pairs]]
        if self.platform == "darwin":
            return [["launchctl", "setenv", name, value] if setting else ["launchctl", "unsetenv", name]
                    for name, value in pairs]
        return [["setx", name, value] if setting else ["reg", "delete", "HKCU\\Environment", "/v", name, "/f"]
                for name, value in pairs]

    def installed_env(self):
        """[(name, value)] that --gui-env set, read back from its file."""
        path = self.env_file()
        try:
            with open(path, "rb") as handle:
                data = handle.read()
        except OSError:
            return []
        if self.platform == "darwin":
            import plistlib
            args = plistlib.loads(data).get("ProgramArguments", [])
            return list(zip(re.findall(r"setenv (\w+)", args[2] if len(args) > 2 else ""), args[4:]))
        lines = data.decode("utf-8", "replace").splitlines()
        return [tuple(line.split("=", 1)) if "=" in line else (line, "") for line in lines if line.strip()]


def install_key(args):
    return "containers" if args.containers else args.mode


def runs_as_root(args):
    """The modes that bind what only root can: legacy ec2, --containers."""
    return args.containers or (args.mode == "ec2" and args.port is None)


def install_pairs(args, environ, config_dir):
    """The variables --gui-env sets: those the banner prints for this mode."""
    port = args.port if args.port is not None else ECS_PORT
    legacy = args.mode == "ec2" and args.port is None
    auth_file = ""
    if args.auth_token == "generate":
        auth_file = os.path.join(config_dir, ".runas_meta_ecs_token")
    elif args.auth_token_file:
        auth_file = os.path.abspath(expand_path(args.auth_token_file, environ))
    empty = os.path.join(config_dir, ".runas_meta_empty_credentials")
    return use_pairs(args.mode, "http://127.0.0.1:%d" % port, empty, auth_file, legacy)


def build_install_parser(command):
    parser = _Parser(prog="runas-meta " + command, formatter_class=argparse.RawDescriptionHelpFormatter,
                     description="Start the service at login and restart it if it dies (systemd user unit; "
                                 "launchd LaunchAgent; Task Scheduler logon task), or remove what install wrote."
                     if command == "install" else "Remove what 'install' wrote, and say what was removed.",
                     usage="%(prog)s " + ("{ecs,ec2} [PROFILE] [service options] [--gui-env] [--dry-run]"
                                          if command == "install" else "[--dry-run]"))
    if command == "install":
        parser.add_argument("--gui-env", action="store_true",
                            help="also point programs started outside a shell (Dock, Start menu, desktop) at the "
                                 "service: environment.d, launchctl setenv, setx (URLs and paths, never a secret)")
    parser.add_argument("--dry-run", action="store_true", help="print the files and commands; change nothing")
    parser.add_argument("--platform", choices=("linux", "darwin", "win32"), help=argparse.SUPPRESS)
    return parser


def install_main(argv, environ, stdout, stderr, run=None, platform=None, root="/", python=None, script=None,
                 ids=None):
    """runas-meta install MODE [PROFILE] [service options] [--gui-env] [--dry-run]."""
    own, rest = build_install_parser("install").parse_known_args(argv)
    args = build_parser().parse_intermixed_args(rest)  # the service's own options, checked as it checks them
    if args.auth_token and args.auth_token != "generate":
        raise UsageError("install writes the command line into a file: give the token with --auth-token-file "
                         "PATH or --auth-token generate, never on the command line")
    if args.port == 0:
        raise UsageError("install needs a fixed port (-p PORT): programs are pointed at it before it starts")
    platform = own.platform or platform or sys.platform
    if args.containers and not platform.startswith("linux"):
        raise UsageError("--containers serves Linux bridges: it installs on Linux only")
    uid, gid = ids or _user_ids(environ)
    system = runs_as_root(args)
    config = Config(environ=environ)
    home = expand_path("~", environ)
    installer = Installer(platform, home, config.directory, environ, root, uid, gid)
    python = python or (sys.executable if not platform == "win32" else _windowless(sys.executable))
    script = os.path.abspath(script or __file__)
    service_argv = [python, script] + rest
    key = install_key(args)
    path = installer.service_file(key, system)
    files = [(path, installer.service_text(key, service_argv, system))]
    commands = installer.start_commands(key, path, system)
    if own.gui_env:
        pairs = install_pairs(args, environ, config.directory)
        files.append((installer.env_file(), installer.env_text(pairs)))
        files.append((os.path.join(config.directory, ".runas_meta_empty_credentials"), b""))
        commands = installer.env_commands(pairs, True) + commands
    if system and not own.dry_run and hasattr(os, "geteuid") and os.geteuid() != 0:
        raise UsageError("%s serves an address only root can bind: run install with sudo (the service drops "
                         "to your user, uid %d)" % (key, uid))
    return _carry_out(files, commands, [], own.dry_run, run, stdout, stderr, "install")


def uninstall_main(argv, environ, stdout, stderr, run=None, platform=None, root="/", ids=None):
    """runas-meta uninstall [--dry-run]: every service file install wrote
    (each mode, user and system), and the --gui-env settings."""
    own = build_install_parser("uninstall").parse_args(argv)
    platform = own.platform or platform or sys.platform
    uid, gid = ids or _user_ids(environ)
    config = Config(environ=environ)
    installer = Installer(platform, expand_path("~", environ), config.directory, environ, root, uid, gid)
    removed, commands, after = [], [], []
    for key in INSTALL_KEYS:
        for system in (False, True):
            path = installer.service_file(key, system)
            if os.path.exists(path) and path not in removed:
                stop, reload = installer.stop_commands(key, path, system)
                commands += stop
                after += [command for command in reload if command not in after]
                removed.append(path)
    pairs = installer.installed_env()
    if pairs or os.path.exists(installer.env_file()):
        commands += installer.env_commands(pairs, False) if pairs else []
        removed.append(installer.env_file())
    if not removed:
        print("nothing to remove: no service file of runas-meta's is installed", file=stdout)
        return 0
    return _carry_out([], commands, removed, own.dry_run, run, stdout, stderr, "uninstall", after)


def _user_ids(environ):
    """The user the service runs as: SUDO_UID/SUDO_GID under sudo, else ours."""
    if environ.get("SUDO_UID", "").isdigit():
        uid = int(environ["SUDO_UID"])
        return uid, int(environ["SUDO_GID"]) if environ.get("SUDO_GID", "").isdigit() else uid
    return (os.getuid(), os.getgid()) if hasattr(os, "getuid") else (0, 0)


def _windowless(python):
    """pythonw.exe beside python.exe: a logon task with no console window."""
    quiet = os.path.join(os.path.dirname(python), "pythonw.exe")
    return quiet if os.path.exists(quiet) else python


def _command_line(argv):
    return " ".join(_sh_quote(a) for a in argv)


def _print_plan(files, commands, removals, stdout):
    """--dry-run: every file with its text, every removal and command."""
    for path, data in files:
        print("would write %s:" % path, file=stdout)
        text = data.decode("utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else data.decode("utf-8")
        print("".join("  " + line + "\n" for line in text.splitlines()), end="", file=stdout)
    for path in removals:
        print("would remove %s" % path, file=stdout)
    for argv in commands:
        print("would run: %s" % _command_line(argv), file=stdout)
    return 0


def _carry_out(files, commands, removals, dry_run, run, stdout, stderr, verb, after=()):
    """Write the files (atomically; 0644 for a service file, 0600 for the
    rest), remove the removals, run the commands; print each step.
    A command that fails is said with its exit status; exit 1."""
    if dry_run:
        return _print_plan(files, list(commands) + list(after), removals, stdout)
    run = run or (lambda argv: subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                                              timeout=60))
    failed = 0
    for path, data in files:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        write_private_file(path, data)
        if not path.endswith(".runas_meta_empty_credentials") and not path.endswith("gui-env.txt"):
            os.chmod(path, 0o644)  # a service manager reads it; it holds no secret
        print("wrote %s" % path, file=stdout)
    steps = [("run", argv) for argv in commands] + [("remove", path) for path in removals] + \
        [("run", argv) for argv in after]
    for what, item in steps:
        if what == "remove":
            try:
                os.unlink(item)
                print("removed %s" % item, file=stdout)
            except FileNotFoundError:
                pass
            continue
        result = run(list(item))
        code = getattr(result, "returncode", 0)
        print("ran: %s%s" % (_command_line(item), "" if code == 0 else " (exit status %d)" % code), file=stdout)
        if code != 0 and not isinstance(item, _MayFail):
            detail = (getattr(result, "stderr", "") or "").strip().splitlines()
            print("runas-meta %s: %s failed%s" % (verb, item[0], ": " + detail[-1][:300] if detail else ""),
                  file=stderr)
            failed = 1
    return failed


# -- doctor: which credential source an SDK started from this shell would use --------


def sdk_source(environ, config):
    """(botocore's method name, why) of the provider that would give an SDK
    started with `environ` its credentials, in botocore's order; the method
    is None when none would (then the metadata service is asked)."""
    if environ.get("AWS_ACCESS_KEY_ID") and environ.get("AWS_SECRET_ACCESS_KEY"):
        return "env", "AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are set"
    named = environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")
    name = named or "default"
    raw = config._raw(name) if config is not None else {}
    if named and not raw and (config is None or name not in config.names()):
        return "error", "profile %r (AWS_PROFILE) is not in the config: the SDK stops there" % name
    given = {key: entry for key, entry in raw.items() if entry.value.strip()}
    where = "profile %r" % name
    if "role_arn" in given and "web_identity_token_file" not in given:
        return "assume-role", "%s has role_arn" % where
    if environ.get("AWS_WEB_IDENTITY_TOKEN_FILE") and environ.get("AWS_ROLE_ARN"):
        return "assume-role-with-web-identity", "AWS_WEB_IDENTITY_TOKEN_FILE and AWS_ROLE_ARN are set"
    if "web_identity_token_file" in given:
        return "assume-role-with-web-identity", "%s has web_identity_token_file" % where
    if given.keys() & {"sso_account_id", "sso_role_name"}:
        return "sso", "%s uses IAM Identity Center" % where
    keys = given.get("aws_access_key_id")
    if keys is not None and keys.path == config.credentials.path:
        return "shared-credentials-file", "%s has keys in %s" % (where, keys.path)
    if "credential_process" in given:
        return "custom-process", "%s has credential_process" % where
    if keys is not None:
        return "config-file", "%s has keys in %s" % (where, keys.path)
    for variable in ("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI"):
        if environ.get(variable):
            return "container-role", "%s is set: %s" % (variable, container_url(environ))
    if environ.get("AWS_EC2_METADATA_DISABLED", "").lower() == "true":
        return None, "no source: AWS_EC2_METADATA_DISABLED is true"
    endpoint = environ.get("AWS_EC2_METADATA_SERVICE_ENDPOINT") or "http://%s/" % LEGACY_ADDRESS
    return "iam-role", "nothing before it: the metadata service at %s, if one answers" % endpoint


def container_url(environ):
    relative = environ.get("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI")
    return ECS_URL + relative if relative else environ.get("AWS_CONTAINER_CREDENTIALS_FULL_URI", "")


def running_service(url, timeout=2.0):
    """/status of the runas-meta at `url`'s origin when one answers there
    (loopback only: nothing else is asked), else None."""
    parts = urllib.parse.urlsplit(url)
    if parts.hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    try:
        connection = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
        connection.request("GET", "/status")
        answer = connection.getresponse()
        doc = json.loads(answer.read().decode("utf-8")) if answer.status == 200 else None
        connection.close()
        return doc if isinstance(doc, dict) and "runas-meta" in (answer.getheader("Server") or "") else None
    except (OSError, ValueError, http.client.HTTPException):
        return None


def doctor(environ, port=ECS_PORT):
    """What `runas-meta doctor` reports, as a dict."""
    try:
        config = Config(environ=environ).load()
    except ConfigError as exc:
        config, config_error = None, str(exc)
    else:
        config_error = None
    method, why = sdk_source(environ, config)
    url = container_url(environ) if method == "container-role" else ""
    service_url = url or "http://127.0.0.1:%d/credentials" % port
    status = running_service(service_url)
    reaches = bool(method == "container-role" and status is not None)
    fixes = []
    if not reaches:
        found = shadowing(environ, "ecs")
        if found:
            fixes.append("unset " + " ".join(name for name, _ in found))
        if method in ("shared-credentials-file", "assume-role", "sso", "custom-process", "config-file") and not \
                (environ.get("AWS_PROFILE") or environ.get("AWS_DEFAULT_PROFILE")):
            fixes.append("export AWS_SHARED_CREDENTIALS_FILE=%s  # an empty file: the default profile's keys stop "
                         "the SDK first" % _sh_quote(os.path.join(config.directory, ".runas_meta_empty_credentials")))
        if status is not None and method != "container-role":
            fixes.append("export AWS_CONTAINER_CREDENTIALS_FULL_URI=%s" % service_url)
        if status is None:
            fixes.append("start the service: %s ecs PROFILE" % _script_name())
    return {"source": method, "why": why, "reaches_service": reaches, "service_url": service_url if status else None,
            "served_profile": status.get("active") if status else None, "config_error": config_error, "fix": fixes}


def doctor_main(argv, environ, stdout):
    parser = _Parser(prog="runas-meta doctor", description="Which credential source an AWS SDK started from this "
                     "shell would use (botocore's order), whether that is this service, and the lines that fix it.")
    parser.add_argument("-p", "--port", type=port_number, default=ECS_PORT, metavar="PORT",
                        help="where to look for the service when no variable names it (default %d)" % ECS_PORT)
    parser.add_argument("--json", action="store_true", help="the report as JSON")
    args = parser.parse_args(argv)
    report = doctor(environ, args.port)
    if args.json:
        print(json.dumps(report, indent=1), file=stdout)
        return 0 if report["reaches_service"] else 1
    print("An AWS SDK started from this shell would use: %s (%s)." % (report["source"] or "nothing", report["why"]),
          file=stdout)
    if report["reaches_service"]:
        print("That is runas-meta at %s, serving %r." % (report["service_url"], report["served_profile"]), file=stdout)
        return 0
    print("That is not runas-meta%s. To reach it, in this shell:" % (
        " (it runs at %s)" % report["service_url"] if report["service_url"] else ""), file=stdout)
    print("\n".join("  " + line for line in report["fix"]), file=stdout)
    return 1


def main(argv=None, environ=None, stdin=None, stdout=None, stderr=None):
    environ = os.environ if environ is None else environ
    stdin, stdout, stderr = stdin or sys.stdin, stdout or sys.stdout, stderr or sys.stderr
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["grant"]:
        return grant_main(argv[1:], stdout, stderr)
    if argv[:1] == ["doctor"]:
        return doctor_main(argv[1:], environ, stdout)
    if argv[:1] == ["exec"]:
        try:
            return exec_main(argv[1:], environ, stderr)
        except RunasError as exc:
            print("runas-meta exec: error: %s" % exc, file=stderr)
            return exc.exit_code
    if argv[:1] == ["profiles"]:
        return profiles_main(argv[1:], environ, stdout, stderr)
    if argv[:1] == ["relay"]:
        return relay_main(argv[1:], environ, stdout, stderr)
    if argv[:1] in (["install"], ["uninstall"]):
        try:
            return (install_main if argv[0] == "install" else uninstall_main)(argv[1:], environ, stdout, stderr)
        except RunasError as exc:
            print("runas-meta %s: error: %s" % (argv[0], exc), file=stderr)
            return exc.exit_code
    if argv[:1] and argv[0] in CLIENT_COMMANDS:
        return client_main(argv[0], argv[1:], environ, stdout, stderr)
    if argv[:1] == ["help"]:
        build_parser().print_help(stdout)
        return 0
    args = build_parser().parse_intermixed_args(argv)
    configure_logging(args.verbose, stderr)
    try:
        return serve(args, environ, stdin, stdout)
    except RunasError as exc:
        print("runas-meta: error: %s" % exc, file=stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0


if __name__ == "__main__":
    sys.exit(main())
