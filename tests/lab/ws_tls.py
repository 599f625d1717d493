#!/usr/bin/env python3
"""WebSocket over TLS (RFC 6455), stdlib only — lab2 look-alike negatives (neg_ssh_websocket*).

  ws_tls.py server BIND_IP PORT CERT KEY [--first-reply MIN-MAX | --setup-replies LIST] [--seed N]
  ws_tls.py client HOST PORT SECS [--setup LIST] [--seed N]
  (LIST = MIN-MAX[,MIN-MAX...], message sizes in bytes of WebSocket payload)

Server: accepts TLS connections, answers the HTTP Upgrade with 101, echoes a short ack to
each client message (or MIN-MAX random bytes, base64 text, to the FIRST message with
--first-reply, like a SoftEther hello answering the watermark) and pushes 40-300 B JSON
text frames every 1.5-3 s until the client closes.
--setup-replies LIST: answer the first len(LIST) client messages with messages of those
sizes (like SoftEther's hello and welcome answering watermark and login) and start the
pushes only after the last of these answers.
Client: TLS to HOST:PORT (SNI ws.lab), Upgrade handshake, a first text message of 2-4 KB,
then 50-200 B messages every 1-2 s for SECS seconds, then a close frame. Prints
"sent N received M".
--setup LIST: instead of the one 2-4 KB first message, send len(LIST) messages of those
sizes, each after the server's answer to the previous one (the first right after the
upgrade), then the timed messages.
"""
import base64
import hashlib
import json
import os
import random
import socket
import ssl
import struct
import sys
import threading
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B41"
OP_TEXT, OP_CLOSE, OP_PING, OP_PONG = 0x1, 0x8, 0x9, 0xA


def frame(opcode, payload, mask):
    """One FIN frame; client frames are masked (RFC 6455 5.3)."""
    head = bytearray([0x80 | opcode])
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head.append(mbit | n)
    elif n < 65536:
        head.append(mbit | 126)
        head += struct.pack("!H", n)
    else:
        head.append(mbit | 127)
        head += struct.pack("!Q", n)
    if mask:
        key = os.urandom(4)
        head += key
        payload = bytes(b ^ key[i & 3] for i, b in enumerate(payload))
    return bytes(head) + payload


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def exact(self, n):
        while len(self.buf) < n:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def until(self, sep):
        while sep not in self.buf:
            d = self.sock.recv(65536)
            if not d:
                raise EOFError
            self.buf += d
        i = self.buf.index(sep) + len(sep)
        out, self.buf = self.buf[:i], self.buf[i:]
        return out

    def frame(self):
        b0, b1 = self.exact(2)
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self.exact(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self.exact(8))[0]
        key = self.exact(4) if b1 & 0x80 else None
        data = self.exact(n)
        if key:
            data = bytes(b ^ key[i & 3] for i, b in enumerate(data))
        return b0 & 0x0F, data


def accept_key(key):
    return base64.b64encode(hashlib.sha1(key.encode() + GUID).digest()).decode()


def text(r, kind, seq, lo, hi):
    """A JSON text message of lo..hi bytes."""
    msg = {"type": kind, "seq": seq, "ts": round(time.time(), 3), "data": ""}
    base = len(json.dumps(msg))
    n = max(0, r.randrange(lo, hi + 1) - base)
    msg["data"] = base64.b64encode(os.urandom(n))[:n].decode()
    return json.dumps(msg).encode()


def serve_one(conn, args, seed):
    r = random.Random(seed)
    rd = Reader(conn)
    head = rd.until(b"\r\n\r\n").decode("latin-1")
    key = [l.split(":", 1)[1].strip() for l in head.split("\r\n") if l.lower().startswith("sec-websocket-key:")][0]
    conn.sendall(("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  "Sec-WebSocket-Accept: %s\r\n\r\n" % accept_key(key)).encode())
    lock = threading.Lock()
    stop = threading.Event()

    def send(op, payload):
        with lock:
            conn.sendall(frame(op, payload, False))

    def pusher():
        n = 0
        while not stop.wait(r.uniform(1.5, 3.0)):
            n += 1
            try:
                send(OP_TEXT, text(r, "event", n, 40, 300))
            except OSError:
                return

    setup = list(args.get("setup_replies") or [])
    if not setup:
        threading.Thread(target=pusher, daemon=True).start()
    first = True
    try:
        while True:
            op, data = rd.frame()
            if op == OP_CLOSE:
                send(OP_CLOSE, data[:2])
                break
            if op == OP_PING:
                send(OP_PONG, data)
                continue
            if setup:
                lo, hi = setup.pop(0)
                send(OP_TEXT, text(r, "welcome", 0, lo, hi))
                if not setup:
                    threading.Thread(target=pusher, daemon=True).start()
            elif first and args.get("first_reply"):
                lo, hi = args["first_reply"]
                send(OP_TEXT, text(r, "welcome", 0, lo, hi))
            else:
                send(OP_TEXT, b'{"ack":%d}' % len(data))
            first = False
    except (EOFError, OSError):
        pass
    stop.set()
    try:
        conn.close()
    except OSError:
        pass


def size_list(arg):
    """"MIN-MAX[,MIN-MAX...]" -> [(MIN, MAX), ...]"""
    out = []
    for part in arg.split(","):
        lo, hi = part.split("-")
        out.append((int(lo), int(hi)))
    return out


def server(argv):
    bind, port, cert, key = argv[0], int(argv[1]), argv[2], argv[3]
    args = {}
    seed = 21
    rest = argv[4:]
    while rest:
        if rest[0] == "--first-reply":
            lo, hi = rest[1].split("-")
            args["first_reply"] = (int(lo), int(hi))
            rest = rest[2:]
        elif rest[0] == "--setup-replies":
            args["setup_replies"] = size_list(rest[1])
            rest = rest[2:]
        elif rest[0] == "--seed":
            seed = int(rest[1])
            rest = rest[2:]
        else:
            sys.exit("unknown option " + rest[0])
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    ctx.set_alpn_protocols(["http/1.1"])
    ls = socket.socket()
    ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    ls.bind((bind, port))
    ls.listen(4)
    i = 0
    while True:
        c, _ = ls.accept()
        try:
            s = ctx.wrap_socket(c, server_side=True)
        except (ssl.SSLError, OSError):
            c.close()
            continue
        i += 1
        threading.Thread(target=serve_one, args=(s, args, seed + i), daemon=True).start()


def client(argv):
    host, port, secs = argv[0], int(argv[1]), float(argv[2])
    seed, setup = 23, None
    rest = argv[3:]
    while rest:
        if rest[0] == "--seed":
            seed = int(rest[1])
        elif rest[0] == "--setup":
            setup = size_list(rest[1])
        else:
            sys.exit("unknown option " + rest[0])
        rest = rest[2:]
    r = random.Random(seed)
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["http/1.1"])
    s = ctx.wrap_socket(socket.create_connection((host, port), timeout=30), server_hostname="ws.lab")
    key = base64.b64encode(os.urandom(16)).decode()
    s.sendall(("GET /live HTTP/1.1\r\nHost: ws.lab\r\nUser-Agent: lab-ws/1.0\r\nUpgrade: websocket\r\n"
               "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n"
               "Origin: https://ws.lab\r\n\r\n" % key).encode())
    rd = Reader(s)
    head = rd.until(b"\r\n\r\n").decode("latin-1")
    if " 101 " not in head.split("\r\n")[0] or accept_key(key) not in head:
        sys.exit("bad upgrade response: " + head.split("\r\n")[0])
    got = [0]
    sent = 0
    if setup:
        # set-up exchange: each message waits for the server's answer (pings answered)
        for lo, hi in setup:
            s.sendall(frame(OP_TEXT, text(r, "subscribe" if sent == 0 else "auth", sent, lo, hi), True))
            sent += 1
            while True:
                op, data = rd.frame()
                if op == OP_PING:
                    s.sendall(frame(OP_PONG, data, True))
                    continue
                if op == OP_CLOSE:
                    sys.exit("server closed during set-up")
                got[0] += 1
                break

    def reader():
        try:
            while True:
                op, _ = rd.frame()
                if op == OP_CLOSE:
                    return
                got[0] += 1
        except (EOFError, OSError):
            return

    t = threading.Thread(target=reader, daemon=True)
    t.start()
    if not setup:
        sent = 1
        s.sendall(frame(OP_TEXT, text(r, "subscribe", 0, 2048, 4096), True))
    end = time.time() + secs
    while True:
        time.sleep(r.uniform(1.0, 2.0))
        if time.time() >= end:
            break
        s.sendall(frame(OP_TEXT, text(r, "msg", sent, 50, 200), True))
        sent += 1
    s.sendall(frame(OP_CLOSE, struct.pack("!H", 1000), True))
    t.join(5)
    s.close()
    print("sent %d received %d" % (sent, got[0]))


if __name__ == "__main__":
    if len(sys.argv) < 2 or sys.argv[1] not in ("server", "client"):
        sys.exit(__doc__)
    (server if sys.argv[1] == "server" else client)(sys.argv[2:])
