"""A fake AWS Sign-In of ours (aws login's service) on 127.0.0.1.

Built from botocore 1.43's `signin` model (rest-json, CreateOAuth2Token at
POST /v1/token with the tokenInput members as the JSON body, tokenOutput as
the answer, AccessDeniedException / ValidationException with {"error",
"message"}) and from the AWS CLI v2's login command (GET /v1/authorize with
response_type, client_id, state, code_challenge_method SHA-256, scope openid,
redirect_uri and the challenge; /v1/sessions/confirmation showing base64 of
"state=...&code=..." for the cross-device client).  It is proven with
botocore's own LoginProvider (its native extension, awscrt, making real DPoP
proofs) in e2e/test_login_fake_botocore.py before it judges runas-meta.

What it checks, with `cryptography`: every CreateOAuth2Token carries a DPoP
proof whose ES256 signature verifies with its own JWK, typ dpop+jwt, htm
POST, htu this very URL, iat within 300 s of its clock, a jti never seen
before; a refresh token is bound to the key that first used it (cnf.jkt, the
JWK's thumbprint) and is good once (the answer brings the next); a code is
good once, with its PKCE verifier, client and redirect URI.  Test hooks:
end a session (USER_CREDENTIALS_CHANGED), expire it (TOKEN_EXPIRED), and
approve an authorization (the user's console sign-in).
"""

import base64
import hashlib
import json
import secrets
import threading
import time
import urllib.parse

from e2e._peers import serve_fake

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

SESSION = "arn:aws:iam::123456789012:user/alice"
CLIENTS = ("arn:aws:signin:::devtools/same-device", "arn:aws:signin:::devtools/cross-device")


class Answer(Exception):
    def __init__(self, status, doc, error_type=None):
        super().__init__(error_type or status)
        self.status, self.doc, self.error_type = status, doc, error_type


def denied(error, message, status=401):
    return Answer(status, {"error": error, "message": message}, "AccessDeniedException")


def invalid(message):
    return Answer(400, {"error": "INVALID_REQUEST", "message": message}, "ValidationException")


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def thumbprint(jwk):
    """RFC 7638: SHA-256 of the required members in lexical order."""
    canonical = json.dumps({k: jwk[k] for k in ("crv", "kty", "x", "y")}, separators=(",", ":"), sort_keys=True)
    return b64url(hashlib.sha256(canonical.encode()).digest())


def fake_jwt(claims):
    return "%s.%s.fakesignature" % (b64url(json.dumps({"alg": "RS256"}).encode()), b64url(json.dumps(claims).encode()))


class FakeSignIn:
    def __init__(self, clock=time.time, lifetime=900, session=SESSION):
        self.clock, self.lifetime, self.session = clock, lifetime, session
        self.lock = threading.Lock()
        self.calls, self.proofs, self.refused = [], [], []
        self.jtis = set()
        self.refresh = {}  # refresh token -> {"jkt", "spent", "session"}
        self.codes = {}  # code -> {"client", "challenge", "redirect_uri", "session"}
        self.ended = set()  # sessions ended: their refresh tokens answer USER_CREDENTIALS_CHANGED
        self.expired = set()  # sessions whose refresh tokens answer TOKEN_EXPIRED
        self.issued = 0
        self.server, self.url = serve_fake(self.respond)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    # -- HTTP ----------------------------------------------------------------

    def respond(self, handler, method, body):
        path, _, query = handler.path.partition("?")
        try:
            if method == "POST" and path == "/v1/token":
                status, doc, headers = 200, self.token(handler.headers, body), [("Content-Type", "application/json")]
            elif method == "GET" and path == "/v1/authorize":
                status, doc, headers = 302, None, [("Location", self.authorize(dict(urllib.parse.parse_qsl(query))))]
            elif method == "GET" and path == "/v1/sessions/confirmation":
                status, doc, headers = 200, None, [("Content-Type", "text/html")]
                params = dict(urllib.parse.parse_qsl(query))
                code = base64.b64encode(urllib.parse.urlencode({"state": params.get("state", ""),
                                                                "code": params.get("code", "")}).encode()).decode()
                doc = ("<!doctype html><title>Sign-In</title><p>Enter this code in your tool:</p>"
                       "<p id=\"verification-code\">%s</p>" % code)
            else:
                raise Answer(404, {"message": "no such path"}, "NotFound")
        except Answer as answer:
            status, doc = answer.status, answer.doc
            headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", answer.error_type)]
            with self.lock:
                self.refused.append(answer.doc)
        data = doc.encode() if isinstance(doc, str) else json.dumps(doc).encode() if doc is not None else b""
        return status, headers, data

    # -- /v1/authorize: the console sign-in, approved at once ----------------

    def authorize(self, params):
        for name in ("response_type", "client_id", "state", "code_challenge_method", "scope", "redirect_uri",
                     "code_challenge"):
            if not params.get(name):
                raise invalid("missing %s" % name)
        if (params["response_type"], params["code_challenge_method"], params["scope"]) != ("code", "SHA-256", "openid"):
            raise invalid("unsupported authorize parameters")
        if params["client_id"] not in CLIENTS:
            raise invalid("unknown client")
        cross = params["client_id"] == CLIENTS[1]
        if cross != (params["redirect_uri"] == self.url + "/v1/sessions/confirmation"):
            raise invalid("the cross-device client redirects to Sign-In's confirmation page, the other to loopback")
        if not cross and not params["redirect_uri"].startswith(("http://127.0.0.1:", "http://localhost:")):
            raise invalid("redirect_uri must be loopback")
        code = secrets.token_urlsafe(32)
        with self.lock:
            self.codes[code] = {"client": params["client_id"], "challenge": params["code_challenge"],
                                "redirect_uri": params["redirect_uri"], "session": self.session}
        return params["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": params["state"]})

    # -- /v1/token ------------------------------------------------------------

    def token(self, headers, body):
        jkt = self.check_proof(headers.get("DPoP", ""))
        try:
            request = json.loads(body.decode())
        except ValueError:
            raise invalid("the body is not JSON") from None
        with self.lock:
            self.calls.append(dict(request))
        if request.get("clientId") not in CLIENTS:
            raise invalid("clientId must be a devtools client")
        if request.get("grantType") == "refresh_token":
            return self.refreshed(request, jkt)
        if request.get("grantType") == "authorization_code":
            return self.exchanged(request, jkt)
        raise invalid("grantType must be authorization_code or refresh_token")

    def check_proof(self, proof):
        """The DPoP proof's checks; its key's thumbprint."""
        try:
            header_b64, claims_b64, signature_b64 = proof.split(".")
            header, claims = json.loads(b64url_decode(header_b64)), json.loads(b64url_decode(claims_b64))
            signature = b64url_decode(signature_b64)
            jwk = header["jwk"]
            key = ec.EllipticCurvePublicNumbers(int.from_bytes(b64url_decode(jwk["x"]), "big"),
                                                int.from_bytes(b64url_decode(jwk["y"]), "big"),
                                                ec.SECP256R1()).public_key()
            key.verify(encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")),
                       ("%s.%s" % (header_b64, claims_b64)).encode(), ec.ECDSA(hashes.SHA256()))
        except (ValueError, KeyError, TypeError, InvalidSignature):
            raise invalid("the DPoP proof is missing, malformed or not signed by its key") from None
        if len(signature) != 64 or header.get("typ") != "dpop+jwt" or header.get("alg") != "ES256" or \
                jwk.get("kty") != "EC" or jwk.get("crv") != "P-256":
            raise invalid("the DPoP proof's header is wrong")
        if claims.get("htm") != "POST" or claims.get("htu") != self.url + "/v1/token":
            raise invalid("the DPoP proof is for another request")
        if not isinstance(claims.get("iat"), int) or abs(claims["iat"] - self.clock()) > 300:
            raise invalid("the DPoP proof is too old or from the future")
        with self.lock:
            if not claims.get("jti") or claims["jti"] in self.jtis:
                raise invalid("the DPoP proof's jti was seen before")
            self.jtis.add(claims["jti"])
            self.proofs.append(claims)
        return thumbprint(jwk)

    def refreshed(self, request, jkt):
        with self.lock:
            entry = self.refresh.get(request.get("refreshToken"))
            if entry is None:
                raise denied("TOKEN_EXPIRED", "the refresh token is not valid")
            if entry["jkt"] is None:  # seeded: bound to the key that first uses it
                entry["jkt"] = jkt
            if entry["jkt"] != jkt:
                raise invalid("the DPoP key is not the one this refresh token is bound to")
            if entry["session"] in self.ended:
                raise denied("USER_CREDENTIALS_CHANGED", "the user's credentials changed", 403)
            if entry["spent"] or entry["session"] in self.expired:
                raise denied("TOKEN_EXPIRED", "the refresh token was used or has expired")
            entry["spent"] = True
            return self.output(entry["session"], jkt, id_token=False)

    def exchanged(self, request, jkt):
        with self.lock:
            entry = self.codes.pop(request.get("code"), None)
        if entry is None:
            raise denied("AUTHCODE_EXPIRED", "the authorization code is not valid")
        verifier = request.get("codeVerifier", "")
        challenge = b64url(hashlib.sha256(verifier.encode()).digest())
        if entry["client"] != request["clientId"] or entry["redirect_uri"] != request.get("redirectUri") or \
                challenge != entry["challenge"] or not 43 <= len(verifier) <= 128:
            raise invalid("the code's client, redirect URI or PKCE verifier does not match")
        with self.lock:
            return self.output(entry["session"], jkt, id_token=True)

    def output(self, session, jkt, id_token):
        """tokenOutput: new keys for 15 minutes and the next refresh token (lock held)."""
        self.issued += 1
        token = secrets.token_urlsafe(48)
        self.refresh[token] = {"jkt": jkt, "spent": False, "session": session}
        doc = {"accessToken": {"accessKeyId": "ASIALOGIN%07d" % self.issued,
                               "secretAccessKey": "loginSecret%07d" % self.issued,
                               "sessionToken": "loginToken%07d" % self.issued},
               "tokenType": "aws_sigv4", "expiresIn": self.lifetime, "refreshToken": token}
        if id_token:
            doc["idToken"] = fake_jwt({"sub": session, "iat": int(self.clock())})
        return doc

    # -- test hooks -------------------------------------------------------------

    def seed(self, session=None, jkt=None):
        """A refresh token as a sign-in would have left it (bound to `jkt` on first use when None)."""
        with self.lock:
            token = secrets.token_urlsafe(48)
            self.refresh[token] = {"jkt": jkt, "spent": False, "session": session or self.session}
            return token
