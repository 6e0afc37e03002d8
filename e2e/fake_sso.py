"""A fake IAM Identity Center of ours: sso-oidc and the portal on 127.0.0.1.

moto has neither API, so this fake is built from their wire shapes
(../shared/research/iam-identity-center.md §3, §4, §6.2) and proven with
botocore's own SSO provider and clients (e2e/test_sso_fake_botocore.py)
before it judges runas-meta.  Standard library only, so the stdlib suite
uses it too.

What it checks: the JSON bodies' member names, client id and secret on
every call, PKCE (S256 of the verifier against the challenge, the redirect
URI, single use), device codes (pending, slow_down when polled faster than
the interval, expiry, denial), bearer tokens on the portal (unknown, expired
or logged out: 401), assignments (403 "No access").  Errors carry
x-amzn-ErrorType and the body the real services send.  Test hooks: approve
or deny a device code (also as buttons on its verification page), end the
session (refresh tokens die), revoke a token, throttle or fail the portal.
"""

import base64
import collections
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

OIDC_ERRORS = {  # exception -> (status, OAuth error)
    "AuthorizationPendingException": (400, "authorization_pending"),
    "SlowDownException": (400, "slow_down"),
    "ExpiredTokenException": (400, "expired_token"),
    "AccessDeniedException": (400, "access_denied"),
    "InvalidGrantException": (400, "invalid_grant"),
    "InvalidClientException": (401, "invalid_client"),
    "InvalidRequestException": (400, "invalid_request"),
    "UnsupportedGrantTypeException": (400, "unsupported_grant_type"),
}
NAMESPACE = ":http://internal.amazon.com/coral/com.amazonaws.sso.oidc/"
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"


class Answer(Exception):
    def __init__(self, status, doc, error_type=None, headers=()):
        super().__init__(error_type or status)
        self.status, self.doc, self.error_type, self.headers = status, doc, error_type, list(headers)


def oidc_error(name, description=""):
    status, error = OIDC_ERRORS[name]
    return Answer(status, {"error": error, "error_description": description or error}, name + NAMESPACE)


def portal_error(status, name, message):
    return Answer(status, {"message": message}, name)


def _challenge(verifier):
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).decode().rstrip("=")


class FakeSSO:
    """sso-oidc + portal.  `clock()` is monotonic seconds (injectable so a
    test's device polling is deterministic); `now()` is epoch seconds."""

    def __init__(self, assignments=None, clock=time.monotonic, now=time.time, tls=None):
        self.clock, self.now = clock, now
        self.assignments = assignments or {
            "111122223333": {"name": "dev", "roles": ["ReadOnly", "Admin"]},
            "444455556666": {"name": "prod", "roles": ["ReadOnly"]}}
        self.lock = threading.Lock()
        self.clients, self.devices, self.codes, self.tokens, self.refresh_tokens = {}, {}, {}, {}, {}
        self.requests = []
        self.token_lifetime, self.role_lifetime = 3600, 3600
        self.device_lifetime, self.interval = 600, 1
        self.registration_lifetime = 90 * 86400
        self.deny_authorize = False
        self.throttle_portal = 0  # the next N portal calls answer 429
        self.latency = 0.0  # seconds each portal call takes (outside the lock: calls overlap)
        self.rate = None  # portal calls allowed per second; more answer 429 with Retry-After: 1
        self.recent = collections.deque()  # times of the portal calls of the last second
        self.in_flight = self.most_in_flight = 0
        self.roles_gate = None  # an Event: ListAccountRoles calls beyond the first `roles_free` wait for it
        self.roles_free, self.roles_asked = 0, 0
        self.refused = 0  # portal calls answered 429 by the rate throttle
        self.fail_portal = 0  # the next N portal calls answer 500
        self.portal_down = False  # every portal call answers 503
        self.page_cap = 100  # list pages hold at most this many items (max_result permitting)
        self.issued_keys = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def _serve(self, method):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                target, proxied = self.path, self.path.startswith("http")
                if proxied:  # a forward proxy's request: absolute form
                    parts = urllib.parse.urlsplit(target)
                    target = parts.path + ("?" + parts.query if parts.query else "")
                path, _, query = target.partition("?")
                headers = {k.lower(): v for k, v in self.headers.items()}
                headers["x-test-proxied"] = self.path if proxied else ""
                status, payload, headers = fake.answer(method, path, dict(urllib.parse.parse_qsl(query)),
                                                       headers, body)
                self.send_response(status)
                for name, value in headers:
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client refusing our certificate hangs up
        if tls is not None:
            self.server.socket = tls.wrap_socket(self.server.socket, server_side=True)
        self.url = "%s://127.0.0.1:%d" % ("https" if tls else "http", self.server.server_address[1])
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # -- dispatch -------------------------------------------------------------

    ROUTES = {
        ("POST", "/client/register"): "register",
        ("POST", "/device_authorization"): "device_authorization",
        ("POST", "/token"): "create_token",
        ("GET", "/authorize"): "authorize",
        ("GET", "/device"): "device_page",
        ("POST", "/device/approve"): "device_approve_form",
        ("GET", "/federation/credentials"): "role_credentials",
        ("GET", "/assignment/accounts"): "list_accounts",
        ("GET", "/assignment/roles"): "list_roles",
        ("POST", "/logout"): "logout",
    }

    def answer(self, method, path, query, headers, body):
        if path.startswith(("/assignment/", "/federation/")):
            with self.lock:
                self.in_flight += 1
                self.most_in_flight = max(self.most_in_flight, self.in_flight)
            try:
                if path == "/assignment/roles" and self.roles_gate is not None:
                    with self.lock:
                        self.roles_asked += 1
                        held = self.roles_asked > self.roles_free
                    if held:
                        self.roles_gate.wait(60)  # a test looks at the progress meanwhile
                if self.latency:
                    time.sleep(self.latency)  # a slow portal: the client's calls must overlap to be fast
                return self._answer(method, path, query, headers, body)
            finally:
                with self.lock:
                    self.in_flight -= 1
        return self._answer(method, path, query, headers, body)

    def _answer(self, method, path, query, headers, body):
        with self.lock:
            self.requests.append({"method": method, "path": path, "query": query, "headers": headers, "body": body})
            handler = self.ROUTES.get((method, path))
            try:
                if handler is None:
                    raise Answer(404, {"message": "no such operation"}, "ResourceNotFoundException")
                result = getattr(self, handler)(query, headers, body)
            except Answer as exc:
                result = exc
        if isinstance(result, Answer):
            extra = list(result.headers)
            if result.error_type:
                extra.append(("x-amzn-ErrorType", result.error_type))
            if isinstance(result.doc, bytes):
                return result.status, result.doc, extra
            return result.status, json.dumps(result.doc).encode(), extra + [("Content-Type", "application/json")]
        return 200, json.dumps(result).encode(), [("Content-Type", "application/json")]

    def paths(self):
        with self.lock:
            return [r["path"] for r in self.requests]

    def calls(self, path):
        return [r for r in list(self.requests) if r["path"] == path]

    @staticmethod
    def _json(body, required=()):
        try:
            doc = json.loads(body or b"{}")
        except ValueError:
            raise Answer(400, {"message": "body is not JSON"}, "SerializationException") from None
        missing = [key for key in required if not doc.get(key)]
        if missing:
            raise oidc_error("InvalidRequestException", "missing %s" % ", ".join(missing))
        return doc

    def _client(self, doc):
        client = self.clients.get(doc.get("clientId"))
        if client is None or client["secret"] != doc.get("clientSecret") or client["expires"] <= self.now():
            raise oidc_error("InvalidClientException", "Invalid client")
        return client

    # -- sso-oidc -------------------------------------------------------------

    def register(self, query, headers, body):
        doc = self._json(body, ("clientName", "clientType"))
        if doc["clientType"] != "public":
            raise oidc_error("InvalidRequestException", "clientType must be public")
        client_id, issued = "client-" + secrets.token_hex(8), int(self.now())
        self.clients[client_id] = {"secret": "clientsecret-" + secrets.token_hex(16),
                                   "expires": issued + self.registration_lifetime,
                                   "scopes": doc.get("scopes") or [], "grantTypes": doc.get("grantTypes") or [],
                                   "redirectUris": doc.get("redirectUris") or [], "name": doc["clientName"]}
        client = self.clients[client_id]
        return {"clientId": client_id, "clientSecret": client["secret"], "clientIdIssuedAt": issued,
                "clientSecretExpiresAt": client["expires"]}

    def device_authorization(self, query, headers, body):
        doc = self._json(body, ("clientId", "clientSecret", "startUrl"))
        self._client(doc)
        code = "devcode-" + secrets.token_hex(16)
        user_code = "%s-%s" % (secrets.token_hex(2).upper(), secrets.token_hex(2).upper())
        self.devices[code] = {"client": doc["clientId"], "user_code": user_code, "state": "pending",
                              "expires": self.clock() + self.device_lifetime, "last": None,
                              "interval": self.interval, "start_url": doc["startUrl"]}
        page = self.url + "/device"
        return {"deviceCode": code, "userCode": user_code, "verificationUri": page,
                "verificationUriComplete": page + "?user_code=" + user_code,
                "expiresIn": self.device_lifetime, "interval": self.interval}

    def create_token(self, query, headers, body):
        doc = self._json(body, ("clientId", "clientSecret", "grantType"))
        client = self._client(doc)
        grant = doc["grantType"]
        if grant == DEVICE_GRANT:
            return self._device_token(doc)
        if grant == "authorization_code":
            return self._code_token(doc, client)
        if grant == "refresh_token":
            return self._refresh_token(doc)
        raise oidc_error("UnsupportedGrantTypeException")

    def _device_token(self, doc):
        device = self.devices.get(doc.get("deviceCode"))
        if device is None or device["client"] != doc["clientId"] or device["state"] == "used":
            raise oidc_error("InvalidGrantException", "Invalid device code")
        now = self.clock()
        if now >= device["expires"]:
            raise oidc_error("ExpiredTokenException", "Device code has expired")
        if device["state"] == "denied":
            raise oidc_error("AccessDeniedException", "Access denied")
        last, device["last"] = device["last"], now
        if last is not None and now - last < device["interval"]:
            raise oidc_error("SlowDownException", "Client is polling too fast")
        if device["state"] != "approved":
            raise oidc_error("AuthorizationPendingException", "Authorization is still pending")
        device["state"] = "used"
        return self._issue(doc["clientId"])

    def _code_token(self, doc, client):
        grant = self.codes.get(doc.get("code"))
        if grant is None or grant["used"] or grant["client"] != doc["clientId"]:
            raise oidc_error("InvalidGrantException", "Invalid authorization code")
        grant["used"] = True
        if _challenge(doc.get("codeVerifier") or "") != grant["challenge"]:
            raise oidc_error("InvalidGrantException", "code_verifier does not match the challenge")
        if doc.get("redirectUri") != grant["redirect_uri"]:
            raise oidc_error("InvalidGrantException", "redirectUri does not match")
        return self._issue(doc["clientId"])

    def _refresh_token(self, doc):
        token = self.refresh_tokens.get(doc.get("refreshToken"))
        if token is None or token["dead"] or token["client"] != doc["clientId"]:
            raise oidc_error("InvalidGrantException", "Invalid refresh token")
        token["dead"] = True  # rotated
        return self._issue(doc["clientId"])

    def _issue(self, client_id):
        access = "ssoaccess-" + secrets.token_hex(24)
        self.tokens[access] = {"client": client_id, "expires": self.now() + self.token_lifetime, "revoked": False}
        answer = {"accessToken": access, "tokenType": "Bearer", "expiresIn": self.token_lifetime}
        if self.clients[client_id]["scopes"]:  # refresh tokens only for registrations with scopes
            refresh = "ssorefresh-" + secrets.token_hex(24)
            self.refresh_tokens[refresh] = {"client": client_id, "dead": False}
            answer["refreshToken"] = refresh
        return answer

    def authorize(self, query, headers, body):
        client = self.clients.get(query.get("client_id"))
        redirect = query.get("redirect_uri", "")
        parts = urllib.parse.urlsplit(redirect)
        if client is None or "authorization_code" not in client["grantTypes"]:
            raise Answer(400, b"unknown client", None, [("Content-Type", "text/plain")])
        if query.get("response_type") != "code" or parts.hostname not in ("127.0.0.1", "localhost") \
                or parts.path != "/oauth/callback" or query.get("code_challenge_method") != "S256" \
                or not query.get("code_challenge") or not query.get("state"):
            raise Answer(400, b"bad authorize request", None, [("Content-Type", "text/plain")])
        if self.deny_authorize:
            target = redirect + "?" + urllib.parse.urlencode({"error": "access_denied", "state": query["state"]})
        else:
            code = "authcode-" + secrets.token_hex(16)
            self.codes[code] = {"client": query["client_id"], "challenge": query["code_challenge"],
                                "redirect_uri": redirect, "used": False, "scopes": query.get("scopes", "")}
            target = redirect + "?" + urllib.parse.urlencode({"code": code, "state": query["state"]})
        raise Answer(302, b"", None, [("Location", target)])

    def device_page(self, query, headers, body):
        """The verification page: the user code and Approve / Deny buttons."""
        code = html.escape(query.get("user_code", ""))
        page = ("<!doctype html><title>Authorize request</title><h1>Authorize request</h1>"
                "<p id=code>%s</p><form method=post action=/device/approve><input type=hidden name=user_code "
                "value='%s'><button name=decision value=approve>Approve</button>"
                "<button name=decision value=deny>Deny</button></form>" % (code, code))
        raise Answer(200, page.encode(), None, [("Content-Type", "text/html")])

    def device_approve_form(self, query, headers, body):
        form = dict(urllib.parse.parse_qsl(body.decode()))
        found = self._decide(form.get("user_code", ""), form.get("decision") == "approve")
        text = "Request approved" if found and form.get("decision") == "approve" else "Request denied"
        raise Answer(200, ("<!doctype html><title>%s</title><h1 id=result>%s</h1>" % (text, text)).encode(),
                     None, [("Content-Type", "text/html")])

    def _decide(self, user_code, approve):
        for device in self.devices.values():
            if device["user_code"] == user_code and device["state"] == "pending":
                device["state"] = "approved" if approve else "denied"
                return True
        return False

    # -- test hooks -------------------------------------------------------------

    def approve(self, user_code):
        with self.lock:
            return self._decide(user_code, True)

    def deny(self, user_code):
        with self.lock:
            return self._decide(user_code, False)

    def end_session(self):
        """The portal session is over: refresh tokens and access tokens die."""
        with self.lock:
            for token in self.refresh_tokens.values():
                token["dead"] = True
            for token in self.tokens.values():
                token["revoked"] = True

    def revoke_tokens(self):
        with self.lock:
            for token in self.tokens.values():
                token["revoked"] = True

    def add_token(self, lifetime=3600, with_refresh=False, scopes=("sso:account:access",)):
        """A token as if `aws sso login` had signed in: (token doc fields)."""
        register = self.register({}, {}, json.dumps({"clientName": "botocore-client-test", "clientType": "public",
                                                     "scopes": list(scopes) if with_refresh else []}).encode())
        with self.lock:
            answer = self._issue(register["clientId"])
            self.tokens[answer["accessToken"]]["expires"] = self.now() + lifetime
        return dict(answer, clientId=register["clientId"], clientSecret=register["clientSecret"],
                    registrationExpiresAt=register["clientSecretExpiresAt"])

    # -- portal -----------------------------------------------------------------

    def _bearer(self, headers):
        if self.portal_down:
            raise Answer(503, {"message": "Service unavailable"}, "ServiceUnavailableException")
        if self.throttle_portal:
            self.throttle_portal -= 1
            raise portal_error(429, "TooManyRequestsException", "Too many requests")
        if self.rate:
            now = time.monotonic()
            while self.recent and now - self.recent[0] >= 1.0:
                self.recent.popleft()
            if len(self.recent) >= self.rate:
                self.refused += 1
                error = portal_error(429, "TooManyRequestsException", "Rate exceeded")
                error.headers = list(error.headers) + [("Retry-After", "1")]
                raise error
            self.recent.append(now)
        if self.fail_portal:
            self.fail_portal -= 1
            raise portal_error(500, "InternalServerException", "Internal failure")
        token = self.tokens.get(headers.get("x-amz-sso_bearer_token"))
        if token is None or token["revoked"] or token["expires"] <= self.now():
            raise portal_error(401, "UnauthorizedException", "Session token not found or invalid")
        return token

    def role_credentials(self, query, headers, body):
        self._bearer(headers)
        account = self.assignments.get(query.get("account_id"))
        if account is None or query.get("role_name") not in account["roles"]:
            raise portal_error(403, "ForbiddenException", "No access")
        key = "ASIA" + secrets.token_hex(8).upper()
        self.issued_keys.append(key)
        return {"roleCredentials": {"accessKeyId": key, "secretAccessKey": "ssoSecret" + secrets.token_hex(12),
                                    "sessionToken": "ssoSession" + secrets.token_hex(24),
                                    "expiration": int((self.now() + self.role_lifetime) * 1000)}}

    def _page(self, items, query):
        size = min(int(query.get("max_result") or 100), self.page_cap)
        start = int(query.get("next_token") or 0)
        doc = {"items": items[start:start + size]}
        if start + size < len(items):
            doc["nextToken"] = str(start + size)
        return doc

    def list_accounts(self, query, headers, body):
        self._bearer(headers)
        accounts = [{"accountId": number, "accountName": account["name"],
                     "emailAddress": "%s@example.com" % account["name"]}
                    for number, account in sorted(self.assignments.items())]
        doc = self._page(accounts, query)
        doc["accountList"] = doc.pop("items")
        return doc

    def list_roles(self, query, headers, body):
        self._bearer(headers)
        account = self.assignments.get(query.get("account_id"))
        if account is None:
            raise portal_error(403, "ForbiddenException", "No access")
        doc = self._page([{"roleName": role, "accountId": query["account_id"]} for role in account["roles"]], query)
        doc["roleList"] = doc.pop("items")
        return doc

    def logout(self, query, headers, body):
        token = self.tokens.get(headers.get("x-amz-sso_bearer_token"))
        if token is not None:
            token["revoked"] = True
        raise Answer(200, b"", None)
