#!/usr/bin/env python3
"""A local RFC 3161 time-stamping authority for the tests: HTTP POST of a TimeStampReq
(application/timestamp-query) answered by `openssl ts -reply` with the test TSA's key.

    tsa_server.py DIR PORT_FILE    # DIR holds tsa.cnf, tsa.key, tsa.pem, root.pem

Binds 127.0.0.1 on a free port, writes the port to PORT_FILE, logs one line per request to
DIR/requests.log ("<bytes in> <status>"), and serves until killed. Standard library only.
"""
import http.server
import os
import subprocess
import sys
import tempfile

DIR = sys.argv[1]
PORT_FILE = sys.argv[2]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        query = self.rfile.read(n)
        with tempfile.TemporaryDirectory() as tmp:
            q, r = os.path.join(tmp, "q.tsq"), os.path.join(tmp, "r.tsr")
            with open(q, "wb") as f:
                f.write(query)
            p = subprocess.run(["openssl", "ts", "-reply", "-config", "tsa.cnf", "-queryfile", q, "-inkey", "tsa.key",
                                "-signer", "tsa.pem", "-chain", "root.pem", "-out", r], cwd=DIR, capture_output=True)
            ok = p.returncode == 0 and os.path.exists(r)
            body = open(r, "rb").read() if ok else p.stderr
        status = 200 if ok else 400
        with open(os.path.join(DIR, "requests.log"), "a") as log:
            log.write(f"{len(query)} {status} {self.headers.get('Content-Type')}\n")
        self.send_response(status)
        self.send_header("Content-Type", "application/timestamp-reply" if ok else "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
with open(PORT_FILE + ".tmp", "w") as f:
    f.write(str(server.server_address[1]))
os.rename(PORT_FILE + ".tmp", PORT_FILE)
server.serve_forever()
