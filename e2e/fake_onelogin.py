"""A fake OneLogin of ours, on 127.0.0.1, from the wire shapes aws-runas
3.8 sends and reads (../shared/research/idp-onelogin-azuread-forgerock.md
§1.2-1.6).  No OneLogin runs offline, so this fake checks what a client
sends (Basic auth for the API token, the bearer on every API call, the JSON
fields, the state token, the session token and cookie) and answers with the
shapes and error bodies the research records: the v2 API for SAML, the v1
login API, the session exchange and /oidc/2 for OIDC.

Users: name -> {"password", "mfa": None | "code" | "push", "otp": "...",
"push": "approve" | "reject" | "never"}.  Standard library only."""

import base64
import json
import secrets
import urllib.parse

import test_runas_meta as t

JSON = [("Content-Type", "application/json")]
PROBE_COOKIE = "sub_session_onelogin.com"


class FakeOneLogin(t.FakeHTTP):
    APP_ID = "98765"

    def __init__(self, users, roles, client_id, client_secret):
        self.users, self.roles = users, roles
        self.client_id, self.client_secret = client_id, client_secret
        self.api_tokens, self.states, self.session_tokens, self.sessions, self.codes = set(), {}, {}, {}, {}
        self.polls, self.pushes = {}, 0  # pushes: verify calls that notified the phone
        self.user_ids = {name: 100 + i for i, name in enumerate(sorted(users))}
        super().__init__()
        token = base64.b64encode(("%s:%s" % (client_id, client_secret)).encode()).decode()
        self.token = token
        self.saml_url = "%s/trust/saml2/launch/4242?app_id=%s&token=%s" % (self.base, self.APP_ID, token)
        self.oidc_url = "%s/oidc/2?token=%s" % (self.base, token)

    def route(self, method, path, query, form, body, cookies):
        if path == "/auth/oauth2/v2/token":
            return self.api_token(body)
        if path.startswith("/api/"):
            if self.tls.headers.get("authorization", "").split(" ", 1)[-1] not in self.api_tokens:
                return 401, JSON, json.dumps({"statusCode": 401, "name": "Unauthorized", "message": "Unauthorized"})
            return self.api(method, path, body)
        if path == "/session_via_api_token":
            user = self.session_tokens.pop(form.get("session_token"), None)
            if user is None:
                return 400, [("Content-Type", "text/plain")], "bad session token"
            sid = "olsession-" + secrets.token_hex(8)
            self.sessions[sid] = user
            return 200, [("Set-Cookie", "%s=%s; Path=/" % (PROBE_COOKIE, sid))] + t.html_page("ok")[1], "ok"
        if path == "/oidc/2/.well-known/openid-configuration":
            issuer = self.base + "/oidc/2"
            return 200, JSON, json.dumps({"issuer": issuer, "authorization_endpoint": issuer + "/auth",
                                          "token_endpoint": issuer + "/token"})
        if path == "/oidc/2/auth":
            user = self.sessions.get(cookies.get(PROBE_COOKIE))
            if user is None:
                return t.html_page("<h1>OneLogin</h1><form><input name=username></form>")
            code = secrets.token_hex(8)
            self.codes[code] = dict(query, user=user)
            target = "%s?%s" % (query["redirect_uri"], urllib.parse.urlencode({"code": code, "state": query["state"]}))
            return 302, [("Location", target)], ""
        if path == "/oidc/2/token":
            return t.FakeKeycloak.token(self, form)
        # anything else (the portal launch URL too): OneLogin's cookie names it (the probe)
        return 404, [("Set-Cookie", "%s=probe; Path=/" % PROBE_COOKIE)], "not found"

    def api_token(self, body):
        expected = "Basic " + base64.b64encode(("%s:%s" % (self.client_id, self.client_secret)).encode()).decode()
        if self.tls.headers.get("authorization") != expected or body.get("grant_type") != "client_credentials":
            return 401, JSON, json.dumps({"status": {"error": True, "code": 401, "type": "Unauthorized",
                                                     "message": "Authentication Failure"}})
        token = "olapitoken-" + secrets.token_hex(8)
        self.api_tokens.add(token)
        return 200, JSON, json.dumps({"access_token": token, "account_id": 12345, "created_at": "2026-11-30T00:00:00Z",
                                      "expires_in": 36000, "token_type": "bearer"})

    def api(self, method, path, body):
        if path == "/api/2/saml_assertion":
            return self.login(body, v2=True)
        if path == "/api/1/login/auth":
            return self.login(body, v2=False)
        if path.startswith("/api/2/mfa/users/") and path.endswith("/devices"):
            return self.devices(path.split("/")[5])
        if path in ("/api/2/saml_assertion/verify_factor", "/api/1/login/verify_factor"):
            return self.verify(body, v2=path.startswith("/api/2/"))
        return 404, JSON, json.dumps({"statusCode": 404, "message": "Not found"})

    def login(self, body, v2):
        name = body.get("username_or_email")
        user = self.users.get(name)
        if v2 and body.get("app_id") != self.APP_ID:
            return 400, JSON, json.dumps({"statusCode": 400, "message": "app_id is invalid"})
        if user is None or user["password"] != body.get("password") or body.get("subdomain") != "127":
            if v2:
                return 401, JSON, json.dumps({"statusCode": 401, "name": "Unauthorized",
                                              "message": "Authentication Failed: Invalid user credentials"})
            return 401, JSON, json.dumps({"status": {"error": True, "code": 401, "type": "Unauthorized",
                                                     "message": "Authentication Failed: Invalid user credentials"}})
        if not user.get("mfa"):
            return 200, JSON, json.dumps(self.success(name, v2))
        state = secrets.token_hex(8)
        self.states[state] = name
        kind = "saml_assertion" if v2 else "login"
        mfa = {"state_token": state, "user": {"id": self.user_ids[name]},
               "callback_url": "http://onelogin.invalid/api/%d/%s/verify_factor" % (2 if v2 else 1, kind),
               "devices": [{"device_type": "whatever", "device_id": 1}]}
        if v2:
            return 200, JSON, json.dumps(dict(mfa, message="MFA is required for this user"))
        return 200, JSON, json.dumps({"status": {"error": False, "code": 200, "type": "success",
                                                 "message": "MFA is required for this user"}, "data": [mfa]})

    def success(self, name, v2):
        if v2:
            return {"data": t.saml_response(self.roles, session=name), "message": "success"}
        token = secrets.token_hex(8)
        self.session_tokens[token] = name
        envelope = {"error": False, "code": 200, "type": "success", "message": "success"}
        return {"status": envelope, "data": [{"status": "SUCCESS", "session_token": token}]}

    def devices(self, user_id):
        name = next((n for n, i in self.user_ids.items() if str(i) == user_id), None)
        if name is None:
            return 400, JSON, json.dumps({"statusCode": 400, "message": "no such user"})
        if self.users[name]["mfa"] == "code":
            return 200, JSON, json.dumps([{"device_id": "555", "auth_factor_name": "Google Authenticator",
                                           "type_display_name": "Authenticator", "default": True,
                                           "user_display_name": "Bob's iPhone"}])  # a name as users give it
        return 200, JSON, json.dumps([{"device_id": "666", "auth_factor_name": "OneLogin", "default": True,
                                       "type_display_name": "OneLogin Protect", "user_display_name": "OneLogin Protect"},
                                      {"device_id": "777", "auth_factor_name": "SMS", "default": False,
                                       "user_display_name": "SMS"}])

    def verify(self, body, v2):
        name = self.states.get(body.get("state_token"))
        if name is None:
            return 401, JSON, self.error(v2, "Invalid state token")
        user = self.users[name]
        if body.get("device_id") == "555":
            if body.get("otp_token") != user["otp"] or body.get("do_not_notify") is not True:
                return 401, JSON, self.error(v2, "Failed authentication with this factor")
            del self.states[body["state_token"]]
            return 200, JSON, json.dumps(self.verified(name, v2))
        if body.get("device_id") == "666" and body.get("otp_token"):  # OneLogin Protect shows codes too
            if body["otp_token"] != user.get("otp"):
                return 401, JSON, self.error(v2, "Failed authentication with this factor")
            del self.states[body["state_token"]]
            return 200, JSON, json.dumps(self.verified(name, v2))
        if body.get("device_id") != "666":
            return 401, JSON, self.error(v2, "Failed authentication with this factor")
        polls = self.polls[body["state_token"]] = self.polls.get(body["state_token"], 0) + 1
        if polls == 1 and body.get("do_not_notify") is not False:
            return 400, JSON, self.error(v2, "the first call must send the push (do_not_notify false)")
        if polls == 1:
            self.pushes += 1
        if user["push"] == "reject" and polls > 1:
            return 401, JSON, self.error(v2, "Push request denied by the user")
        if user["push"] == "approve" and polls > 2:
            return 200, JSON, json.dumps(self.verified(name, v2))
        pending = "Authentication pending on OL Protect"
        if v2:
            return 200, JSON, json.dumps({"message": pending, "data": ""})
        return 200, JSON, json.dumps({"status": {"error": False, "code": 200, "type": "pending", "message": pending}})

    def verified(self, name, v2):
        if v2:
            return {"data": t.saml_response(self.roles, session=name), "message": "success"}
        return self.success(name, v2)

    @staticmethod
    def error(v2, message):
        if v2:
            return json.dumps({"statusCode": 401, "message": message})
        return json.dumps({"status": {"error": True, "code": 401, "type": "Unauthorized", "message": message}})
