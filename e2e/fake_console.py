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
session it was opened with.  Standard library only."""

import html
import json
import secrets
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeConsole:
    def __init__(self, accept):
        self.accept = accept
        self.tokens = {}  # SigninToken -> the session JSON it was issued for
        self.requests = []
        self.lock = threading.Lock()
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                path, _, query = self.path.partition("?")
                status, kind, body = fake.answer(path, dict(urllib.parse.parse_qsl(query)))
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = "http://127.0.0.1:%d/federation" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def answer(self, path, query):
        with self.lock:
            self.requests.append((path, query))
        if path != "/federation":
            return 404, "text/plain", b"not found"
        action = query.get("Action")
        if action == "getSigninToken":
            return self.signin_token(query)
        if action == "login":
            return self.login(query)
        return 400, "text/plain", b"unknown Action"

    def signin_token(self, query):
        try:
            session = json.loads(query.get("Session", ""))
        except ValueError:
            return 400, "text/plain", b"Session is not JSON"
        if not isinstance(session, dict) or set(session) != {"sessionId", "sessionKey", "sessionToken"} \
                or not self.accept(session):
            return 400, "text/plain", b"invalid session"
        token = "signintoken-" + secrets.token_hex(24)
        with self.lock:
            self.tokens[token] = session
        return 200, "application/json", json.dumps({"SigninToken": token}).encode()

    def login(self, query):
        with self.lock:
            session = self.tokens.pop(query.get("SigninToken", ""), None)  # a token is good once
        if session is None or not query.get("Destination") or not query.get("Issuer"):
            return 400, "text/plain", b"invalid sign-in"
        page = ("<!doctype html><title>AWS Management Console (fake)</title><h1>AWS Management Console</h1>"
                "<p id=destination>%s</p><p id=session>%s</p><p id=issuer>%s</p>"
                % (html.escape(query["Destination"]), html.escape(session["sessionId"]),
                   html.escape(query["Issuer"])))
        return 200, "text/html", page.encode()
