"""A fake AWS federation endpoint and console of ours, on 127.0.0.1.

The real endpoint (signin.aws.amazon.com/federation) has two actions, both
GETs: getSigninToken, whose `Session` parameter is the JSON
{"sessionId", "sessionKey", "sessionToken"} of temporary credentials and
whose answer is {"SigninToken": ...}; and login, with Issuer, Destination and
SigninToken, which opens the console.  No SDK drives it (it is the console's,
not an API's), so this fake is built from AWS's documentation ("Enable custom
identity broker access to the AWS console").

It checks the session JSON against the credentials the test says are
served (`accept(session) -> bool`), answers 400 for anything else, and its
login action is the "console": a page that names the destination and the
session it was opened with.  Standard library only (t.FakeHTTP)."""

import html
import json
import secrets
import threading

import test_runas_meta as t


class FakeConsole(t.FakeHTTP):
    def __init__(self, accept):
        super().__init__()
        self.accept = accept
        self.tokens = {}  # SigninToken -> the session JSON it was issued for
        self.lock = threading.Lock()
        self.url = self.base + "/federation"

    def route(self, method, path, query, form, body, cookies):
        if path != "/federation":
            return self.text(404, "not found")
        action = query.get("Action")
        if method == "GET" and action == "getSigninToken":
            return self.signin_token(query)
        if method == "GET" and action == "login":
            return self.login(query)
        return self.text(400, "unknown Action")

    @staticmethod
    def text(status, message):
        return status, [("Content-Type", "text/plain")], message

    def signin_token(self, query):
        try:
            session = json.loads(query.get("Session", ""))
        except ValueError:
            return self.text(400, "Session is not JSON")
        if not isinstance(session, dict) or set(session) != {"sessionId", "sessionKey", "sessionToken"} \
                or not self.accept(session):
            return self.text(400, "invalid session")
        token = "signintoken-" + secrets.token_hex(24)
        with self.lock:
            self.tokens[token] = session
        return 200, [("Content-Type", "application/json")], json.dumps({"SigninToken": token})

    def login(self, query):
        with self.lock:
            session = self.tokens.pop(query.get("SigninToken", ""), None)  # a token is good once
        if session is None or not query.get("Destination") or not query.get("Issuer"):
            return self.text(400, "invalid sign-in")
        page = ("<!doctype html><title>AWS Management Console (fake)</title><h1>AWS Management Console</h1>"
                "<p id=destination>%s</p><p id=session>%s</p><p id=issuer>%s</p>"
                % (html.escape(query["Destination"]), html.escape(session["sessionId"]),
                   html.escape(query["Issuer"])))
        return 200, [("Content-Type", "text/html")], page
