"""Fuzzing: the dispatcher with hypothesis-generated requests (never a 500,
never an exception, always a well-formed answer), and the live service with
10,000 raw-socket requests of every shape, after which it still serves."""

import json
import random
import re
import socket
import unittest

from e2e._peers import need

import runas_meta as rm
import test_runas_meta as t

hypothesis = need("hypothesis")
from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402

PATHS = ["/", "/credentials", "/credentials/nomfa", "/credentials/%00", "/latest/api/token", "/profile",
         "/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials/nomfa",
         "/latest/meta-data/iam/security-credentials-extended/x", "/mfa", "/auth", "/refresh", "/status",
         "/list-roles", "/oidc/login", "/oidc/callback", "/latest/dynamic/instance-identity/document",
         "/sso/login", "/sso/device", "/sso/roles", "/oauth/callback", "/console"]
METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", "", "\x00", "G\u00e9T"]
HEADER_NAMES = ["Host", "Origin", "Referer", "Sec-Fetch-Site", "Sec-Fetch-Mode", "X-CSRF-Token", "Authorization",
                "X-aws-ec2-metadata-token", "X-aws-ec2-metadata-token-ttl-seconds", "X-Forwarded-For",
                "Content-Type", "Cookie"]

texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=300)
paths = st.one_of(st.sampled_from(PATHS), st.builds(lambda p, s: p + s, st.sampled_from(PATHS), texts),
                  texts, st.text(max_size=3000))
headers = st.lists(st.tuples(st.one_of(st.sampled_from(HEADER_NAMES), texts), st.one_of(texts, st.sampled_from(
    ["127.0.0.1:9999", "localhost:9999", "http://127.0.0.1:9999", "evil", "none", "same-origin", "cross-site",
     "21600", "0", "-1", "99999999999999999999", "x" * 10000]))), max_size=12)
bodies = st.one_of(st.binary(max_size=2000), st.sampled_from(
    [b"mfa=246810", b"mfa=\xff\xfe", b"{\"mfa\": 1}", b"[]", b"{", b"nomfa", b"\"nomfa\"", b"username=a&password=b",
     b"profile=%00&mfa=000000", b"x" * 70000]))


class DispatcherFuzz(t.ServiceCase):
    @settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    @given(method=st.one_of(st.sampled_from(METHODS), texts), path=paths, extra=headers, body=bodies,
           host=st.sampled_from(["127.0.0.1:9999", "localhost:9999", None, "evil.example", "127.0.0.1:9999\x00"]))
    def test_any_request_gets_a_well_formed_answer(self, method, path, extra, body, host):
        request = rm.Request(method, path, ([("Host", host)] if host else []) + extra, body)
        response = self.service.handle(request)
        self.assertIsInstance(response, rm.Response)
        self.assertTrue(100 <= response.status < 600)
        self.assertNotEqual(response.status, 500, response.body)
        self.assertIsInstance(response.body, bytes)
        if response.content_type == "application/json":
            json.loads(response.body)
        if response.status >= 400:  # echoing what the request itself sent is not a leak
            sent = repr((method, path, extra, body))
            leaked = [s for s in t.secrets_in(response.body.decode("utf-8", "replace")) if s not in sent]
            self.assertEqual(leaked, [])


def raw_requests(rand, port):
    """Every shape a socket can send: valid, truncated, garbage, oversized."""
    host = b"Host: 127.0.0.1:%d\r\n" % port
    path = rand.choice(PATHS).encode()
    shapes = [
        lambda: b"GET " + path + b" HTTP/1.1\r\n" + host + b"Connection: close\r\n\r\n",
        lambda: b"PUT /latest/api/token HTTP/1.1\r\n" + host + b"X-aws-ec2-metadata-token-ttl-seconds: %d\r\n"
                b"Connection: close\r\n\r\n" % rand.randint(-5, 30000),
        lambda: bytes(rand.getrandbits(8) for _ in range(rand.randint(1, 400))),
        lambda: b"GET " + bytes(rand.getrandbits(8) for _ in range(rand.randint(1, 50))) + b" HTTP/1.1\r\n\r\n",
        lambda: b"POST /mfa HTTP/1.1\r\n" + host + b"Content-Length: %d\r\n\r\nmfa=1" % rand.randint(0, 10 ** 9),
        lambda: b"POST /profile HTTP/1.1\r\n" + host + b"Content-Length: abc\r\n\r\n",
        lambda: b"GET / HTTP/1.1\r\n" + host + b"X: " + b"y" * rand.randint(60000, 70000) + b"\r\n\r\n",
        lambda: b"GET /" + b"a" * rand.randint(65000, 70000) + b" HTTP/1.1\r\n\r\n",
        lambda: b"GET /credentials HTTP/1.1\r\n" + host,  # truncated: the client hangs up
        lambda: b"\r\n\r\n",
        lambda: b"GET / HTTP/9.9\r\n\r\n",
        lambda: b"BREW /pot HTCPCP/1.0\r\n\r\n",
        lambda: b"GET /credentials HTTP/1.1\r\n" + host + b"Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
        lambda: (b"GET /status HTTP/1.1\r\n" + host + b"\r\n") * rand.randint(2, 20),  # pipelined
    ]
    return rand.choice(shapes)()


class RawSocketFuzz(t.FakeSTSCase):
    def test_ten_thousand_raw_requests_then_still_serving(self):
        self.sts_server.clock = rm.utcnow
        self.files(t.STANDARD_CONFIG, t.STANDARD_CREDENTIALS)
        config = self.config()
        service = rm.Service(rm.Engine(config, rm.STS(self.environ, timeout=5), environ=self.environ), config)
        service.activate("nomfa")
        server = t.serve(self, service, request_deadline=2.0)
        port = server.server_address[1]
        rand = random.Random(20261127)
        statuses = {}
        for _ in range(10000):
            data = raw_requests(rand, port)
            with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
                try:
                    sock.sendall(data)
                    sock.shutdown(socket.SHUT_WR)
                except OSError:  # the server may answer and hang up before we finish sending
                    pass
                answer = t._read_all(sock)
            for status in (int(s) for s in re.findall(rb"^HTTP/1\.1 (\d{3}) ", answer, re.M)):
                statuses[status] = statuses.get(status, 0) + 1
        self.assertNotIn(500, statuses)
        self.assertGreater(statuses.get(200, 0), 100)
        self.assertGreater(sum(v for k, v in statuses.items() if 400 <= k < 500), 1000)
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"GET /credentials HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nConnection: close\r\n\r\n" % port)
            answer = t._read_all(sock)
        self.assertTrue(answer.startswith(b"HTTP/1.1 200"), answer[:100])
        self.assertIn(b"SecretAccessKey", answer)


if __name__ == "__main__":
    unittest.main()
