"""A fake ForgeRock Access Management of ours, on 127.0.0.1, from the REST
shapes aws-runas sends and reads (../shared/research/idp-onelogin-azuread-
forgerock.md §3): /json/realms/.../authenticate with the X-OpenAM-Username
and X-OpenAM-Password headers (RFC 2047 encoded) and Accept-API-Version,
trees chosen by authIndexType=service (mfa_oath_authentication,
mfa_push_authentication) or the realm's default, callbacks (PasswordCallback
for the OATH code, PollingWaitCallback for push), tokenId and the session
cookie on success, 401 {"code", "reason", "message"} on failure; the hosted
IdP's idpssoinit (metaAlias /<realm>/saml-idp); OAuth2 under
/oauth2/realms/... (discovery, authorize, access_token).  Realms may nest
(/realms/root/realms/alpha).  It sends ForgeRock's CORS header (the probe).

Users: name -> {"password", "mfa": None | "code" | "push", "otp", "push"}."""

import base64
import json
import re
import secrets
import urllib.parse

import test_runas_meta as t

COOKIE = "iPlanetDirectoryPro"
CORS = ("Access-Control-Allow-Headers", "X-OpenAM-Username, X-OpenAM-Password, Accept-API-Version")
JSON = [("Content-Type", "application/json"), CORS]
REALM = "/realms/root/realms/alpha"


def _header(value):
    match = re.match(r"=\?UTF-8\?B\?([A-Za-z0-9+/=]*)\?=\Z", value or "")
    return base64.b64decode(match.group(1)).decode() if match else None


class FakeForgeRock(t.FakeHTTP):
    def __init__(self, users, roles):
        self.users, self.roles = users, roles
        self.trees, self.sessions, self.codes, self.polls = {}, {}, {}, {}
        self.pushes = 0  # push trees started: AM sends the push when the tree reaches its push node
        super().__init__()
        self.am = self.base + "/am"
        self.saml_url = self.am + "/json" + REALM + "/authenticate"
        self.issuer = self.am + "/oauth2" + REALM

    def route(self, method, path, query, form, body, cookies):
        user = self.sessions.get(cookies.get(COOKIE))
        if path == "/am/json" + REALM + "/authenticate" and method == "POST":
            return self.authenticate(query, body)
        if path == "/am/idpssoinit":
            if query.get("metaAlias") != "/alpha/saml-idp" or query.get("spEntityID") != "urn:amazon:webservices":
                return 400, JSON, json.dumps({"code": 400, "message": "unknown hosted IdP or SP"})
            if user is None:
                return t.html_page("<div id=login>ForgeRock sign-in (XUI)</div>")
            return t.html_page('<form method="post" action="https://signin.aws.amazon.com/saml"><input type="hidden" '
                               'name="SAMLResponse" value="%s"></form>' % t.saml_response(self.roles, session=user))
        if path == "/am/oauth2" + REALM + "/.well-known/openid-configuration":
            return 200, JSON, json.dumps({"issuer": self.issuer, "authorization_endpoint": self.issuer + "/authorize",
                                          "token_endpoint": self.issuer + "/access_token",
                                          "scopes_supported": ["openid", "profile"]})
        if path == "/am/oauth2" + REALM + "/authorize":
            if user is None:  # AM sends the browser to its login UI
                return 302, [("Location", self.am + "/XUI/?realm=/alpha&goto=" + urllib.parse.quote(path))], ""
            code = secrets.token_hex(8)
            self.codes[code] = dict(query, user=user)
            target = "%s?%s" % (query["redirect_uri"], urllib.parse.urlencode({"code": code, "state": query["state"]}))
            return 302, [("Location", target)], ""
        if path == "/am/oauth2" + REALM + "/access_token":
            return t.FakeKeycloak.token(self, form)
        if path == "/am/XUI/":
            return t.html_page("<div id=login>ForgeRock sign-in (XUI)</div>")
        return 404, JSON, json.dumps({"code": 404, "reason": "Not Found", "message": "Not Found"})

    def failure(self, message="Login failure"):
        return 401, JSON, json.dumps({"code": 401, "reason": "Unauthorized", "message": message})

    def authenticate(self, query, body):
        headers = self.tls.headers
        if headers.get("accept-api-version") != "resource=2.0, protocol=1.0":
            return 400, JSON, json.dumps({"code": 400, "message": "Accept-API-Version is missing"})
        if "x-openam-username" not in headers:
            return self.callbacks(body)
        name, password = _header(headers.get("x-openam-username")), _header(headers.get("x-openam-password"))
        user = self.users.get(name)
        if user is None or user["password"] != password:
            return self.failure()
        service = query.get("authIndexValue") if query.get("authIndexType") == "service" else None
        mfa = user.get("mfa")
        wanted = {"mfa_oath_authentication": "code", "mfa_push_authentication": "push"}.get(service, mfa)
        if service and wanted != mfa:
            return self.failure("No device registered for this authentication tree")
        if not mfa:
            return self.session(name)
        auth_id = "authid-" + secrets.token_hex(8)
        self.trees[auth_id] = {"user": name, "kind": mfa}
        self.polls[auth_id] = 0
        if mfa == "push":
            self.pushes += 1
        if mfa == "code":
            callbacks = [{"type": "PasswordCallback", "output": [{"name": "prompt", "value": "One Time Password"}],
                          "input": [{"name": "IDToken1", "value": ""}]}]
        else:
            callbacks = [{"type": "PollingWaitCallback", "output": [{"name": "waitTime", "value": "1000"},
                                                                     {"name": "message", "value": "Waiting..."}]}]
        return 200, JSON, json.dumps({"authId": auth_id, "stage": "OATH" if mfa == "code" else "Push",
                                      "header": "Sign in", "callbacks": callbacks})

    def session(self, name):
        token = "frsession-" + secrets.token_hex(8)
        self.sessions[token] = name
        return 200, JSON + [("Set-Cookie", "%s=%s; Path=/" % (COOKIE, token))], json.dumps(
            {"tokenId": token, "successUrl": "/am/console", "realm": "/alpha"})

    def callbacks(self, body):
        tree = self.trees.get(body.get("authId"))
        if tree is None:
            return self.failure("Invalid authId")
        user = self.users[tree["user"]]
        if tree["kind"] == "code":
            del self.trees[body["authId"]]  # AM ends the tree on a wrong code too
            values = [i.get("value") for c in body.get("callbacks", []) for i in c.get("input", [])
                      if c.get("type") == "PasswordCallback" and i.get("name") == "IDToken1"]
            if values != [user["otp"]]:
                return self.failure()
            return self.session(tree["user"])
        polls = self.polls[body["authId"]] = self.polls[body["authId"]] + 1
        if user.get("push") == "reject" and polls > 1:
            del self.trees[body["authId"]]
            return self.failure("Push notification rejected")
        if user.get("push") == "approve" and polls > 2:
            del self.trees[body["authId"]]
            return self.session(tree["user"])
        return 200, JSON, json.dumps(body)  # still waiting: the same callbacks
