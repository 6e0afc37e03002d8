"""Our SigV4 signer against botocore's SigV4Auth on varied requests."""

import datetime as dt
import random
import unittest
from unittest import mock

from e2e._peers import need

import runas_meta as rm

botocore_auth = need("botocore.auth")
from botocore.awsrequest import AWSRequest  # noqa: E402  (after the peer check)
from botocore.credentials import Credentials  # noqa: E402

NOW = dt.datetime(2026, 3, 4, 5, 6, 7)

METHODS = ["GET", "POST", "PUT", "DELETE", "HEAD", "PATCH"]
PATHS = ["/", "/a/b", "/a/../b/./c", "/with space/\u00fc", "//double//slash/", "/~tilde-_.",
         "/path%20enc", "/x/y/", "/%E2%82%AC", "/a+b=c;d,e"]
QUERIES = [[], [("a", "1")], [("b", "2"), ("a", "1"), ("a", "0")], [("sp ace", "v a l")],
           [("reserved", "x=y&z/+*~")], [("unicode", "\u00e9\u4e2d")], [("empty", "")],
           [("Action", "GetSessionToken"), ("Version", "2011-06-15")], [("~key", "*")]]
HEADERS = [[], [("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")],
           [("X-Odd", "  spaced    out   value  ")], [("X-Amz-Meta-A", "1"), ("x-amz-meta-b", "two  words")],
           [("MiXeD-CaSe", "Value")], [("X-Empty", "")], [("X-Multi", "a"), ("X-Multi", "b")],
           [("User-Agent", "not-signed/1.0"), ("Expect", "100-continue")]]
BODIES = [b"", b"Action=GetCallerIdentity&Version=2011-06-15", b"\x00\xff" * 10, b"x" * (1 << 20)]
REGIONS = [("us-east-1", "sts"), ("eu-west-1", "sts"), ("cn-north-1", "sts"), ("us-west-2", "service"),
           ("ap-southeast-2", "execute-api")]
HOSTS = ["https://sts.amazonaws.com", "https://example.amazonaws.com:8443", "http://127.0.0.1:4566",
         "http://[::1]:8080"]


def cases(count=120, seed=7):
    rand = random.Random(seed)
    for number in range(count):
        yield {
            "method": METHODS[number % len(METHODS)],
            "host": HOSTS[number % len(HOSTS)],
            "path": rand.choice(PATHS),
            "query": rand.choice(QUERIES),
            "headers": rand.choice(HEADERS),
            "body": BODIES[number % len(BODIES)] if number % 5 else b"",
            "region": rand.choice(REGIONS),
            "token": "FwoGZXIvYXdzE" + "x" * rand.randint(0, 300) if number % 3 == 0 else "",
            "secret": "secret/%d+key" % number,
        }


def wire_path(case):
    """The path as it goes over the wire, percent-encoded once (as botocore's
    serializers build it); both signers get this same URL."""
    return rm.urllib.parse.quote(case["path"], safe="/~%+=;,")


def botocore_signature(case):
    region, service = case["region"]
    request = AWSRequest(method=case["method"], url=case["host"] + wire_path(case),
                         params=case["query"] or None, data=case["body"])
    for name, value in case["headers"]:
        request.headers[name] = value
    creds = Credentials("AKIDEXAMPLE", case["secret"], case["token"] or None)
    with mock.patch.object(botocore_auth, "get_current_datetime", return_value=NOW):
        botocore_auth.SigV4Auth(creds, service, region).add_auth(request)
    return request.headers["Authorization"], request.headers["X-Amz-Date"]


def our_signature(case):
    region, service = case["region"]
    query = rm.urllib.parse.urlencode(case["query"], quote_via=rm.urllib.parse.quote)
    url = case["host"] + wire_path(case) + ("?" + query if query else "")
    headers = dict(rm.sign_request(case["method"], url, list(case["headers"]), case["body"], "AKIDEXAMPLE",
                                   case["secret"], region, service, NOW.replace(tzinfo=dt.timezone.utc),
                                   case["token"]))
    return headers["Authorization"], headers["X-Amz-Date"]


class SignerAgainstBotocore(unittest.TestCase):
    def test_same_signature_on_varied_requests(self):
        compared = 0
        for case in cases():
            with self.subTest(case={k: v for k, v in case.items() if k != "body"}):
                self.assertEqual(our_signature(case), botocore_signature(case))
                compared += 1
        self.assertGreaterEqual(compared, 100)

    def test_a_changed_byte_changes_the_signature(self):
        case = next(cases())
        changed = dict(case, body=case["body"] + b"!")
        self.assertNotEqual(our_signature(case), our_signature(changed))
