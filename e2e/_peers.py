"""Finding the real third-party peers the e2e suites need.

Without RUNAS_META_FULL=1 a missing peer skips its suite, so
`python -m unittest` works on a bare machine.  With it (as in .ci/run) a
missing peer fails the run instead.
"""

import importlib
import logging
import os
import shutil
import tempfile
import threading
import unittest

FULL = os.environ.get("RUNAS_META_FULL") == "1"
HINT = "pip install -r requirements-test.txt (see README)"
# Long-term keys for a profile whose STS is moto's (which accepts any signature).
MOTO_CREDENTIALS = "[base]\naws_access_key_id = AKIAIOSFODNN7EXAMPLE\naws_secret_access_key = moto/secret\n"


def need(module):
    try:
        return importlib.import_module(module)
    except ImportError:
        if FULL:
            raise
        raise unittest.SkipTest("%s is not installed: %s" % (module, HINT)) from None


def need_command(name):
    path = shutil.which(name)
    if path is None:
        if FULL:
            raise AssertionError("the %r command is not installed: %s" % (name, HINT))
        raise unittest.SkipTest("the %r command is not installed: %s" % (name, HINT))
    return path


class MotoSTS:
    """moto's server on 127.0.0.1, a real STS emulator for the happy path."""

    def __init__(self):
        server_module = need("moto.server")
        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.server = server_module.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
        self.server.start()
        self.url = "http://%s:%d" % self.server.get_host_and_port()

    def stop(self):
        self.server.stop()

    def identity(self, access_key, secret_key, token):
        boto3 = need("boto3")
        client = boto3.client("sts", endpoint_url=self.url, region_name="us-east-1",
                              aws_access_key_id=access_key, aws_secret_access_key=secret_key,
                              aws_session_token=token)
        return client.get_caller_identity()


def empty_file(test):
    handle, path = tempfile.mkstemp(prefix="runas-meta-empty-")
    os.close(handle)
    test.addCleanup(os.unlink, path)
    return path


def serve_fake(respond):
    """A fake of ours on 127.0.0.1: `respond(handler, method, body)` ->
    (status, [(header, value)], body bytes) answers each GET and POST
    (HTTP/1.1, Content-Length, quiet); (server, its base URL)."""
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self):
            self.answer(*respond(self, "GET", b""))

        def do_POST(self):
            self.answer(*respond(self, "POST", self.rfile.read(int(self.headers.get("Content-Length") or 0))))

        def answer(self, status, headers, data):
            self.send_response(status)
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    return server, "http://127.0.0.1:%d" % server.server_address[1]
