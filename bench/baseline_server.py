"""The baseline: the fastest a stdlib ThreadingHTTPServer serves a constant
credential document, tuned as REFERENCE §7 says (the whole answer in one
write, TCP_NODELAY, a deep listen backlog, quiet on hang-ups).  Prints
{"port": N} and serves until killed."""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BODY = json.dumps({"AccessKeyId": "ASIABASELINE00000000", "SecretAccessKey": "b" * 40, "Token": "t" * 600,
                   "Expiration": "2099-01-01T00:00:00Z", "RoleArn": "arn:aws:iam::123456789012:role/bench",
                   "AccountId": "123456789012"}).encode()
ANSWER = (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n" % len(BODY)) + BODY


TOKEN = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 8\r\n\r\nbaseline"
ROLE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\nbench"


class Handler(BaseHTTPRequestHandler):
    """Constant answers: the credential document, and for the SDK pattern a
    token (PUT) and the role name (a path ending in /)."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def do_GET(self):
        self.wfile.write(ROLE if self.path.endswith("/") else ANSWER)

    def do_PUT(self):
        self.wfile.write(TOKEN)

    def log_message(self, *args):
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        pass


if __name__ == "__main__":
    server = Server(("127.0.0.1", 0), Handler)
    sys.stdout.write(json.dumps({"port": server.server_address[1]}) + "\n")
    sys.stdout.flush()
    server.serve_forever()
