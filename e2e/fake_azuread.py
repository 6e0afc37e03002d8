"""A fake Azure AD (Entra ID) of ours, on 127.0.0.1, built from the shapes
aws-runas reads (../shared/research/idp-onelogin-azuread-forgerock.md §2):
the ESTS pages with their `$Config` JSON (written, like Microsoft's, inside a
script among other code, with a "};" inside a string that breaks a naive
regex), username then password, error code 50126 for a wrong password,
MFA by BeginAuth/EndAuth (PhoneAppOTP codes, PhoneAppNotification push
polled with Retry), the post-back, "keep me signed in" (/kmsi, LoginOptions
1), then the auto-post form that sets the ESTS session cookie; SAML through
the app's sign-in URL (window.location to the SAMLRequest URL, then the
SAMLResponse form); OIDC v2.0 (discovery, authorize with PKCE, token).  A
guest user's home tenant federates to another IdP, a plain password form.
It sends x-ms-request-id (the probe) on every answer.
Tenant shapes real tenants send (issue 20): a tenant that hides "Stay
signed in?" (`stay_signed_in = False`: the CIS benchmark's setting; Entra also skips it for risky
sign-ins), so the answer to the password or to the MFA post-back is
already the end: the SAML auto-post form or the 302 to the redirect URI;
`proofup = True` interrupts with "More information required"
(urlSkipMfaRegistration); the My Apps page carries a form as well as its
window.location.  Number matching (Microsoft Authenticator since May
2023): BeginAuth answers Entropy, the number the user must choose, and a
push of mode "number" is approved only once `entered` is that number.

Users: name -> {"password", "mfa": None | "code" | "push", "otp", "push",
"guest_of": None or (home username, home password)}.  Standard library only."""

import json
import secrets
import urllib.parse

import test_runas_meta as t

TENANT = "contoso-tenant"
JSON = [("Content-Type", "application/json"), ("x-ms-request-id", "fake")]
HTML = [("Content-Type", "text/html"), ("x-ms-request-id", "fake")]
COOKIE = "ESTSAUTH"


def page(body):
    return 200, HTML, "<!doctype html><html><body>%s</body></html>" % body


def config_page(config):
    """$Config as ESTS writes it: inside a script, among other statements."""
    script = ('//<![CDATA[\nvar note = "a string with }; inside";\n$Config=%s;\n'
              'window.$Do && window.$Do.register("config", 0, true);\n//]]>' % json.dumps(config))
    return page("<script>%s</script><noscript>JavaScript required</noscript>" % script)


class FakeAzureAD(t.FakeHTTP):
    def __init__(self, users, roles):
        self.users, self.roles = users, roles
        self.flows, self.sessions, self.codes, self.polls = {}, {}, {}, {}
        self.stay_signed_in, self.proofup = True, False
        self.pushes, self.entered = 0, None
        super().__init__()
        self.app_url = "%s/signin/aws/app-1234?tenantId=%s" % (self.base, TENANT)
        self.issuer = "%s/%s/v2.0" % (self.base, TENANT)

    def route(self, method, path, query, form, body, cookies):
        user = self.sessions.get(cookies.get(COOKIE))
        prefix = "/" + TENANT
        if path == "/signin/aws/app-1234":
            if user is None:
                return self.login_page({"kind": "saml"})
            return page('<form method="POST" action="/myapps/continue"><input type="hidden" name="x" value="1"></form>'
                        "<script>window.location = '%s%s/saml2?SAMLRequest=fZJBT4QwEIX%%2FCpn7LlBcdZuFTTb"
                        "';</script>" % (self.base, prefix))
        if path == prefix + "/saml2":
            if user is None:
                return self.login_page({"kind": "saml"})
            return page('<form method="POST" action="https://signin.aws.amazon.com/saml">'
                        '<input type="hidden" name="SAMLResponse" value="%s"></form>'
                        % t.saml_response(self.roles, session=user))
        if path == prefix + "/v2.0/.well-known/openid-configuration":
            return 200, JSON, json.dumps({"issuer": self.issuer, "scopes_supported": ["openid", "profile", "email"],
                                          "authorization_endpoint": self.base + prefix + "/oauth2/v2.0/authorize",
                                          "token_endpoint": self.base + prefix + "/oauth2/v2.0/token"})
        if path == prefix + "/oauth2/v2.0/authorize":
            if user is None:
                return self.login_page(dict(query, kind="oidc"))
            return self.redirect_with_code(query, user)
        if path == prefix + "/oauth2/v2.0/token":
            return t.FakeKeycloak.token(self, form)
        if path == prefix + "/login":
            return self.login(form)
        if path == prefix + "/federated":
            return self.federated(form)
        if path in ("/common/SAS/BeginAuth", "/common/SAS/EndAuth"):
            return self.sas(path.rsplit("/", 1)[1], body)
        if path == "/kmsi":
            return self.kmsi(form)
        if path == "/proofup/skip":
            flow = self.flows.get(query.get("ctx"))
            if flow is None or flow.get("stage") != "proofup":
                return 400, HTML, "bad"
            return self.signed_in(query["ctx"], flow)
        if path == "/myapps/continue":  # posting the My Apps form only shows the same page again
            return self.route("GET", "/signin/aws/app-1234", {}, {}, {}, cookies)
        if path == "/authend":
            return self.authend(form)
        if path == "/fabrikam/login":
            return self.home_idp(method, query, form)
        return 404, HTML, "not found"

    def login_page(self, flow):
        ctx = secrets.token_hex(8)
        self.flows[ctx] = dict(flow, stage="username", ft="ft-" + secrets.token_hex(6))
        return config_page({"sCtx": ctx, "sFT": self.flows[ctx]["ft"], "sFTName": "flowToken",
                            "urlPost": "/%s/login" % TENANT, "iMaxStackForKnockoutAsyncComponents": 10000})

    def flow(self, form, key="ctx"):
        flow = self.flows.get(form.get(key))
        if flow is None or form.get("flowToken") != flow["ft"]:
            return None
        return flow

    def login(self, form):
        if "request" in form:  # the post-back after MFA
            flow = self.flow(form, "request")
            if flow is None or flow.get("stage") != "mfa-done":
                return config_page({"sErrorCode": "50058", "sErrTxt": "Session information is not sufficient"})
            return self.signed_in(form["request"], flow)
        flow = self.flow(form)
        if flow is None:
            return config_page({"sErrorCode": "50058", "sErrTxt": "Session information is not sufficient"})
        name = form.get("login")
        user = self.users.get(name)
        flow["user"] = name
        if "passwd" not in form:
            credentials = {"PrefCredential": 1, "HasPassword": True}
            if user and user.get("guest_of"):
                credentials["FederationRedirectUrl"] = "%s/fabrikam/login?ctx=%s" % (self.base, form["ctx"])
            return config_page({"sCtx": form["ctx"], "sFT": flow["ft"], "sFTName": "flowToken",
                                "urlPost": "/%s/login" % TENANT,
                                "oGetCredTypeResult": {"Credentials": credentials}})
        if user and user.get("locked"):
            return config_page({"sErrorCode": "50053", "sErrTxt": "Your account is locked.", "sCtx": form["ctx"],
                                "sFT": flow["ft"], "sFTName": "flowToken", "urlPost": "/%s/login" % TENANT})
        if user is None or user.get("guest_of") or user["password"] != form["passwd"]:
            return config_page({"sErrorCode": "50126", "sErrTxt": "Your account or password is incorrect.",
                                "sCtx": form["ctx"], "sFT": flow["ft"], "sFTName": "flowToken",
                                "urlPost": "/%s/login" % TENANT})
        return self.after_password(form["ctx"], flow)

    def after_password(self, ctx, flow):
        user = self.users[flow["user"]]
        if self.proofup and flow.get("stage") != "proofup-done":
            flow["stage"] = "proofup"
            return config_page({"sCtx": ctx, "sFT": flow["ft"], "sFTName": "flowToken",
                                "urlSkipMfaRegistration": "/proofup/skip?ctx=%s" % ctx,
                                "sProofUpTitle": "More information required"})
        if not user.get("mfa"):
            return self.signed_in(ctx, flow)
        flow["stage"] = "mfa"
        proofs = [{"authMethodId": "PhoneAppOTP", "data": "PhoneAppOTP", "display": "+X XXXXXXXX12",
                   "isDefault": user["mfa"] == "code"},
                  {"authMethodId": "PhoneAppNotification", "data": "PhoneAppNotification", "display": "+X XXXXXXXX12",
                   "isDefault": user["mfa"] == "push"}]
        return config_page({"sCtx": ctx, "sFT": flow["ft"], "sFTName": "flowToken", "arrUserProofs": proofs,
                            "urlBeginAuth": self.base + "/common/SAS/BeginAuth",
                            "urlEndAuth": self.base + "/common/SAS/EndAuth",
                            "urlPost": self.base + "/%s/login" % TENANT,
                            "oPerAuthPollingInterval": {"PhoneAppNotification": 1}})

    def signed_in(self, ctx, flow):
        """"Stay signed in?", or, in a tenant that hides it, the end at once."""
        if flow.get("stage") == "proofup":
            flow["stage"] = "proofup-done"
            if self.users[flow["user"]].get("mfa"):
                return self.after_password(ctx, flow)
        if self.stay_signed_in:
            return self.kmsi_page(ctx, flow)
        flow["stage"] = "kmsi"  # what authend checks
        status, headers, body = self.authend({"code": ctx})
        if status == 302 and flow["kind"] == "saml":  # straight on to the app: the SAML form
            cookie = [h for h in headers if h[0] == "Set-Cookie"]
            status, headers, body = self.route("GET", "/%s/saml2" % TENANT, {}, {}, {},
                                               {COOKIE: cookie[0][1].split("=", 1)[1].split(";")[0]})
            return status, list(headers) + cookie, body
        return status, headers, body

    def kmsi_page(self, ctx, flow):
        flow["stage"] = "kmsi"
        return config_page({"sCtx": ctx, "sFT": flow["ft"], "sFTName": "flowToken", "urlPost": "/kmsi"})

    def sas(self, step, body):
        flow = self.flows.get(body.get("Ctx"))
        if flow is None or flow.get("stage") != "mfa" or body.get("FlowToken") != flow["ft"]:
            return 200, JSON, json.dumps({"Success": False, "ErrCode": 50058, "Message": "bad session"})
        user = self.users[flow["user"]]
        method = body.get("AuthMethodId")
        if step == "BeginAuth":
            flow["session"] = secrets.token_hex(6)
            self.polls[body["Ctx"]] = 0
            answer = {"Success": True, "ResultValue": "Success", "AuthMethodId": method,
                      "Ctx": body["Ctx"], "FlowToken": flow["ft"], "SessionId": flow["session"]}
            if method == "PhoneAppNotification":
                self.pushes += 1  # BeginAuth sends the push
                if user.get("push") == "number":
                    flow["entropy"] = answer["Entropy"] = secrets.randbelow(90) + 10
            return 200, JSON, json.dumps(answer)
        if body.get("SessionId") != flow.get("session"):
            return 200, JSON, json.dumps({"Success": False, "ErrCode": 50058, "Message": "bad session"})
        if method == "PhoneAppOTP":
            if body.get("AdditionalAuthData") != user.get("otp"):
                return 200, JSON, json.dumps({"Success": False, "ResultValue": "OathCodeIncorrect", "ErrCode": 0,
                                              "Message": "incorrect mfa code"})
            return self.mfa_done(body["Ctx"], flow)
        polls = self.polls[body["Ctx"]] = self.polls[body["Ctx"]] + 1
        if user.get("push") == "reject" and polls > 1:
            return 200, JSON, json.dumps({"Success": False, "ResultValue": "PhoneAppDenied", "ErrCode": 500121,
                                          "Retry": False, "Message": "You've denied the sign-in request"})
        if user.get("push") == "approve" and polls > 2:
            return self.mfa_done(body["Ctx"], flow)
        if user.get("push") == "number" and self.entered is not None and str(self.entered) == str(flow.get("entropy")):
            return self.mfa_done(body["Ctx"], flow)
        return 200, JSON, json.dumps({"Success": False, "ResultValue": "AuthenticationPending", "Retry": True,
                                      "ErrCode": 0, "Message": "waiting"})

    def mfa_done(self, ctx, flow):
        flow["stage"], flow["ft"] = "mfa-done", "ft-" + secrets.token_hex(6)
        return 200, JSON, json.dumps({"Success": True, "ResultValue": "Success", "Ctx": ctx, "FlowToken": flow["ft"],
                                      "SessionId": flow["session"]})

    def kmsi(self, form):
        flow = self.flow(form)
        if flow is None or flow.get("stage") != "kmsi" or form.get("LoginOptions") != "1":
            return config_page({"sErrorCode": "50058", "sErrTxt": "Session information is not sufficient"})
        return page('<form method="POST" name="hiddenform" action="/authend"><input type="hidden" name="code" '
                    'value="%s"><input type="hidden" name="state" value="x"><noscript>Continue</noscript></form>'
                    % form["ctx"])

    def authend(self, form):
        flow = self.flows.pop(form.get("code"), None)
        if flow is None or flow.get("stage") != "kmsi":
            return 400, HTML, "bad"
        sid = "estsauth-" + secrets.token_hex(8)
        self.sessions[sid] = flow["user"]
        cookie = ("Set-Cookie", "%s=%s; Path=/" % (COOKIE, sid))
        if flow["kind"] == "oidc":
            status, headers, body = self.redirect_with_code(flow, flow["user"])
            return status, headers + [cookie], body
        return 302, HTML + [cookie, ("Location", self.app_url)], ""

    def redirect_with_code(self, query, user):
        code = secrets.token_hex(8)
        self.codes[code] = dict(query, user=user)
        target = "%s?%s" % (query["redirect_uri"], urllib.parse.urlencode({"code": code, "state": query["state"]}))
        return 302, HTML + [("Location", target)], ""

    # -- a guest's home tenant: another IdP with a plain password form ---------

    def home_idp(self, method, query, form):
        if method == "GET":
            return page('<form method="post" action="/fabrikam/login?ctx=%s"><input name="username">'
                        '<input name="password" type="password"></form>' % query.get("ctx", ""))
        guest = next((n for n, u in self.users.items() if u.get("guest_of") and u["guest_of"][0] == form.get("username")),
                     None)
        if guest is None or self.users[guest]["guest_of"][1] != form.get("password"):
            return page('<p>Wrong password</p><form method="post" action="/fabrikam/login?ctx=%s">'
                        '<input name="username"><input name="password" type="password"></form>' % query.get("ctx", ""))
        token = "wresult-" + secrets.token_hex(6)
        self.flows[query.get("ctx")]["home"] = token
        return page('<form method="POST" action="/%s/federated"><input type="hidden" name="wresult" value="%s">'
                    '<input type="hidden" name="wctx" value="%s"></form>' % (TENANT, token, query.get("ctx", "")))

    def federated(self, form):
        flow = self.flows.get(form.get("wctx"))
        if flow is None or flow.get("home") != form.get("wresult"):
            return config_page({"sErrorCode": "50058", "sErrTxt": "federation failed"})
        return self.after_password(form["wctx"], flow)
