"""A fake Okta Identity Engine org of ours, for okta-aws-cli's `web` flow.

Built from Okta's documented endpoints and the captures okta-aws-cli keeps
(test/fixtures/vcr: /.well-known/okta-organization with "pipeline": "idx",
POST /oauth2/v1/device/authorize with client_id and scope answering
device_code, user_code, verification_uri(_complete), expires_in 600,
interval 5; POST /oauth2/v1/token polled with the device grant answering 400
{"error": "authorization_pending", "error_description": "The device
authorization is pending. Please try again later."} and then token_type,
expires_in, access_token, scope, id_token) and from okta-aws-cli's source
(the RFC 8693 exchange: actor_token the access token, subject_token the
id_token, requested_token_type urn:okta:oauth:token-type:web_sso_token,
audience urn:okta:apps:<AWS app>; POST /login/token/sso with the form field
`token` answering the AWS app's HTML form with SAMLResponse).  The admin
set-up the org needs: the OIDC app's grant types (device, authorization
code, token exchange), the okta.apps.sso scope, and the AWS app's Allowed
Web SSO Client; each missing piece answers with Okta's OAuth error
(unauthorized_client, invalid_scope, invalid_target).  Also /oauth2/v1/
authorize for the browser with PKCE (S256), an /activate page to approve a
code, refresh tokens with offline_access.  Standard library only.
"""

import base64
import hashlib
import html
import json
import secrets
import threading
import time
import urllib.parse

from e2e._peers import serve_fake

GRANTS = {"device": "urn:ietf:params:oauth:grant-type:device_code", "code": "authorization_code",
          "exchange": "urn:ietf:params:oauth:grant-type:token-exchange", "refresh": "refresh_token"}
PENDING = {"error": "authorization_pending",
           "error_description": "The device authorization is pending. Please try again later."}


class Refusal(Exception):
    def __init__(self, status, error, description):
        super().__init__(error)
        self.status, self.doc = status, {"error": error, "error_description": description}


def b64url(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class FakeOktaOIE:
    def __init__(self, client_id="0oaOIDCNATIVE01", app_id="0oaAWSFEDAPP01", saml=lambda: "",
                 clock=time.time, lifetime=3600):
        self.client_id, self.app_id, self.saml, self.clock, self.lifetime = client_id, app_id, saml, clock, lifetime
        self.grants = set(GRANTS)  # the OIDC app's grant types the admin enabled
        self.scopes = {"openid", "okta.apps.sso", "offline_access"}  # granted
        self.web_sso_client = client_id  # the AWS app's Allowed Web SSO Client
        self.lock = threading.Lock()
        self.devices, self.codes, self.access, self.ids, self.refresh, self.web = {}, {}, {}, set(), {}, set()
        self.calls = []
        self.server, self.url = serve_fake(self.respond)

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    @property
    def aws_app_url(self):
        return "%s/home/amazon_aws/%s/272" % (self.url, self.app_id)

    def respond(self, handler, method, body):
        path, _, query = handler.path.partition("?")
        form = dict(urllib.parse.parse_qsl(body.decode() if body else query))
        with self.lock:
            self.calls.append((method, path, dict(form)))
        headers, status = [("Content-Type", "application/json"), ("x-okta-request-id", "fake")], 200
        try:
            route = {("GET", "/.well-known/okta-organization"): self.organization,
                     ("POST", "/oauth2/v1/device/authorize"): self.device_authorize,
                     ("POST", "/oauth2/v1/token"): self.token,
                     ("GET", "/oauth2/v1/authorize"): self.authorize,
                     ("GET", "/activate"): self.activate_page, ("POST", "/activate"): self.activate,
                     ("POST", "/login/token/sso"): self.login_token_sso}.get((method, path))
            if route is None:
                raise Refusal(404, "not_found", "no such path")
            answer = route(form)
        except Refusal as refusal:
            status, answer = refusal.status, refusal.doc
        if isinstance(answer, tuple):  # (status, content type or Location, body)
            status, kind, answer = answer
            headers = [("Location", kind)] if status == 302 else [("Content-Type", kind)]
        data = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
        return status, headers, data

    def organization(self, form):
        return {"id": "00oFAKEORG", "cell": "op3", "_links": {"organization": {"href": self.url}},
                "pipeline": "idx", "settings": {"analyticsCollectionEnabled": False, "bugReportingEnabled": True,
                                                "omEnabled": False, "pssoEnabled": False}}

    def _client(self, form, grant):
        if form.get("client_id") != self.client_id:
            raise Refusal(401, "invalid_client", "Invalid value for 'client_id' parameter.")
        if grant not in self.grants:
            configured = ", ".join(sorted(GRANTS[g] for g in self.grants))
            raise Refusal(400, "unauthorized_client", "The client is not authorized to use the provided grant type. "
                                                      "Configured grant types: [%s]." % configured)

    def _scopes(self, text):
        asked = set(text.split())
        missing = asked - self.scopes
        if missing:
            raise Refusal(400, "invalid_scope", "The following scopes were requested, but not granted: %s."
                          % " ".join(sorted(missing)))
        return asked

    def device_authorize(self, form):
        self._client(form, "device")
        scopes = self._scopes(form.get("scope", ""))
        device, user = secrets.token_hex(16), "".join(secrets.choice("BCDFGHJKLMNPQRSTVWXZ") for _ in range(8))
        with self.lock:
            self.devices[device] = {"user_code": user, "approved": False, "scopes": scopes}
        return {"device_code": device, "user_code": user, "verification_uri": self.url + "/activate",
                "verification_uri_complete": self.url + "/activate?user_code=" + user, "expires_in": 600,
                "interval": 1}

    def approve(self, user_code):
        with self.lock:
            for device in self.devices.values():
                if device["user_code"] == user_code:
                    device["approved"] = True
                    return True
        return False

    def activate_page(self, form):
        code = html.escape(form.get("user_code", ""))
        return 200, "text/html", ("<!doctype html><title>Activate</title><form method=post action=/activate>"
                                  "<input name=user_code value='%s'><button id=approve>Next</button></form>" % code)

    def activate(self, form):
        return 200, "text/html", "<p id=done>%s</p>" % ("Device activated" if self.approve(form.get("user_code"))
                                                         else "Unknown code")

    def authorize(self, form):
        """The browser, signed in to Okta already (its session): straight back with a code."""
        if form.get("client_id") != self.client_id or "code" not in self.grants:
            raise Refusal(400, "unauthorized_client", "The client is not authorized to use the provided grant type.")
        if form.get("response_type") != "code" or form.get("code_challenge_method") != "S256":
            raise Refusal(400, "invalid_request", "PKCE with S256 is required")
        scopes = self._scopes(form.get("scope", ""))
        code = secrets.token_urlsafe(24)
        with self.lock:
            self.codes[code] = {"challenge": form.get("code_challenge"), "redirect_uri": form.get("redirect_uri"),
                                "scopes": scopes}
        return 302, form["redirect_uri"] + "?" + urllib.parse.urlencode({"code": code, "state": form.get("state", "")}), ""

    def token(self, form):
        grant = {v: k for k, v in GRANTS.items()}.get(form.get("grant_type"), "")
        self._client(form, grant)
        if grant == "device":
            with self.lock:
                device = self.devices.get(form.get("device_code"))
            if device is None:
                raise Refusal(400, "invalid_grant", "The device code is invalid or has expired.")
            if not device["approved"]:
                raise Refusal(400, PENDING["error"], PENDING["error_description"])
            with self.lock:
                del self.devices[form["device_code"]]
            return self.issue(device["scopes"])
        if grant == "code":
            with self.lock:
                code = self.codes.pop(form.get("code"), None)
            verifier = form.get("code_verifier", "")
            if code is None or code["redirect_uri"] != form.get("redirect_uri") or \
                    b64url(hashlib.sha256(verifier.encode()).digest()) != code["challenge"]:
                raise Refusal(400, "invalid_grant", "The authorization code is invalid or has expired.")
            return self.issue(code["scopes"])
        if grant == "refresh":
            with self.lock:
                scopes = self.refresh.pop(form.get("refresh_token"), None)
            if scopes is None:
                raise Refusal(400, "invalid_grant", "The refresh token is invalid or expired.")
            return self.issue(scopes)
        return self.exchange(form)

    def issue(self, scopes):
        access, id_token = "oktaAccess-" + secrets.token_hex(8), "oktaId-" + secrets.token_hex(8)
        doc = {"token_type": "Bearer", "expires_in": self.lifetime, "access_token": access,
               "scope": " ".join(sorted(scopes)), "id_token": id_token}
        with self.lock:
            self.access[access] = self.clock() + self.lifetime
            self.ids.add(id_token)
            if "offline_access" in scopes:
                doc["refresh_token"] = "oktaRefresh-" + secrets.token_hex(8)
                self.refresh[doc["refresh_token"]] = scopes
        return doc

    def exchange(self, form):
        expected = {"actor_token_type": "urn:ietf:params:oauth:token-type:access_token",
                    "subject_token_type": "urn:ietf:params:oauth:token-type:id_token",
                    "requested_token_type": "urn:okta:oauth:token-type:web_sso_token"}
        if any(form.get(name) != value for name, value in expected.items()):
            raise Refusal(400, "invalid_request", "The token exchange request is malformed.")
        with self.lock:
            live = self.access.get(form.get("actor_token"), 0) > self.clock() and form.get("subject_token") in self.ids
        if not live:
            raise Refusal(400, "invalid_grant", "The actor_token or subject_token is invalid or has expired.")
        if form.get("audience") != "urn:okta:apps:%s" % self.app_id or self.web_sso_client != self.client_id:
            raise Refusal(400, "invalid_target", "The requested audience is not valid for this client.")
        token = "oktaWebSso-" + secrets.token_hex(8)
        with self.lock:
            self.web.add(token)
        return {"token_type": "N_A", "expires_in": 300, "access_token": token,
                "issued_token_type": "urn:okta:oauth:token-type:web_sso_token"}

    def login_token_sso(self, form):
        with self.lock:
            good = form.get("token") in self.web
            self.web.discard(form.get("token"))
        if not good:
            return 403, "text/html", "<p>The web SSO token is not valid.</p>"
        return 200, "text/html", ('<html><body><form method="POST" action="https://signin.aws.amazon.com/saml">'
                                  '<input type="hidden" name="SAMLResponse" value="%s"/></form></body></html>'
                                  % html.escape(self.saml(), quote=True))
