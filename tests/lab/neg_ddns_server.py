#!/usr/bin/env python3
"""neg_ddns_server.py ADDR PORT LOG.jsonl — a lab dyndns2 endpoint for negatives.sh (plain HTTP).

GET /nic/update?hostname=H&myip=IP with Basic auth labuser:labpass -> "good IP" (or "nochg IP" when
the same host/IP was set before; "badauth" with 401 otherwise). Anything else (checkip.lab /, /checkip)
-> the classic checkip.dyndns.org page "Current IP Address: <client ip>". Logs one JSON line a request.
"""
import base64
import json
import sys
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

ADDR, PORT, LOG = sys.argv[1], int(sys.argv[2]), sys.argv[3]
USER, PASS = "labuser", "labpass"
state = {}


def log(rec):
    rec["t"] = time.time()
    with open(LOG, "a") as f:
        f.write(json.dumps(rec) + "\n")


class H(BaseHTTPRequestHandler):
    server_version = "lab-ddns/1.0"
    sys_version = ""

    def send_text(self, code, text, extra=None):
        body = text.encode()
        self.send_response(code)
        self.send_header("Content-Type", "text/plain" if not text.startswith("<") else "text/html")
        self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        u = urlparse(self.path)
        rec = {"client": self.client_address[0], "host": self.headers.get("Host"), "path": self.path,
               "ua": self.headers.get("User-Agent")}
        if u.path == "/nic/update":
            auth = self.headers.get("Authorization", "")
            ok = auth.startswith("Basic ") and base64.b64decode(auth[6:]).decode(errors="replace") == f"{USER}:{PASS}"
            if not ok:
                rec["answer"] = "badauth"
                log(rec)
                return self.send_text(401, "badauth", {"WWW-Authenticate": 'Basic realm="lab ddns"'})
            q = parse_qs(u.query)
            ip = (q.get("myip") or [self.client_address[0]])[0]
            answers = []
            for h in (q.get("hostname") or [""])[0].split(","):
                answers.append(("nochg " if state.get(h) == ip else "good ") + ip)
                state[h] = ip
            rec["answer"] = answers
            log(rec)
            return self.send_text(200, "\n".join(answers))
        rec["answer"] = "checkip"
        log(rec)
        ip = self.client_address[0]
        return self.send_text(200, "<html><head><title>Current IP Check</title></head>"
                              f"<body>Current IP Address: {ip}</body></html>\r\n")

    def log_message(self, *a):
        pass


log({"start": f"{ADDR}:{PORT}"})
ThreadingHTTPServer((ADDR, PORT), H).serve_forever()
