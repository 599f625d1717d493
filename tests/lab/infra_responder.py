#!/usr/bin/env python3
"""Lab stand-in for SoftEther's internet infrastructure (tests/lab/infra.sh).

One process, stdlib only, run inside the lab namespace si-inf:
  - DNS (UDP 53): A records for SoftEther's names -> lab addresses, per category;
    AAAA -> NOERROR/no data; anything else -> NXDOMAIN. Every query is logged.
  - TCP 80 and 443: logs every connection's bytes (text + hex). On 443 a first byte
    0x16 is answered with TLS (self-signed cert, SNI logged); anything else is logged raw.
    Plain HTTP requests get "HTTP/1.1 200 OK" with an empty body.
  - UDP 5004 and 80: log every datagram (no reply).
Usage: infra_responder.py LOGFILE CERT KEY
Nothing here talks to anything but the sockets it accepts.
"""
import json, socket, ssl, struct, sys, threading, time

LOG = open(sys.argv[1], "a", buffering=1)
CERT, KEY = sys.argv[2], sys.argv[3]
lock = threading.Lock()
DNS_ADDR = "10.78.2.53"

# name -> lab address (first matching rule wins; names are compared lower-case)
RULES = [
    ("nat-traversal", "10.78.2.20"),
    ("vpnazure", "10.78.2.30"),
    ("keepalive", "10.78.2.40"),
    ("get-my-ip", "10.78.2.10"),
    ("ddns", "10.78.2.10"),
    ("sedns.cn", "10.78.2.10"),
    ("softether.net", "10.78.2.10"),
    ("softether-network.net", "10.78.2.99"),
    ("softether.org", "10.78.2.99"),
    ("softether.com", "10.78.2.99"),
    ("softether.jp", "10.78.2.99"),
    # the server's internet-connectivity checks (asked between the DDNS look-ups)
    ("msftncsi.com", "10.78.2.98"),
    ("bing.com", "10.78.2.98"),
    ("softether.co.jp", "10.78.2.99"),
]


def log(kind, **kw):
    rec = {"t": round(time.time(), 3), "kind": kind, **kw}
    with lock:
        LOG.write(json.dumps(rec) + "\n")


def lookup(name):
    n = name.lower().rstrip(".")
    for key, addr in RULES:
        if key in n:
            return addr
    return None


def parse_qname(msg, off):
    labels = []
    while True:
        ln = msg[off]
        if ln == 0:
            return ".".join(labels), off + 1
        labels.append(msg[off + 1:off + 1 + ln].decode("ascii", "replace"))
        off += 1 + ln


def dns_server():
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((DNS_ADDR, 53))  # bound to the resolver address: glibc drops replies from another source
    while True:
        msg, peer = s.recvfrom(4096)
        try:
            tid, flags, qd = struct.unpack("!HHH", msg[:6])
            name, off = parse_qname(msg, 12)
            qtype, qclass = struct.unpack("!HH", msg[off:off + 4])
            question = msg[12:off + 4]
            addr = lookup(name)
            rd = flags & 0x0100
            if addr is None:
                rcode, answers = 3, b""
            elif qtype == 1:
                rcode = 0
                answers = b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + socket.inet_aton(addr)
            else:
                rcode, answers = 0, b""
            an = 1 if answers else 0
            hdr = struct.pack("!HHHHHH", tid, 0x8400 | rd | 0x0080 | rcode, 1, an, 0, 0)
            s.sendto(hdr + question + answers, peer)
            log("dns", peer=f"{peer[0]}:{peer[1]}", name=name, qtype=qtype, answer=addr if qtype == 1 else None,
                rcode=rcode, size=len(msg))
        except Exception as e:  # malformed: log and ignore
            log("dns_bad", peer=f"{peer[0]}:{peer[1]}", hex=msg.hex(), err=str(e))


def read_some(conn, limit=65536, idle=3.0):
    conn.settimeout(idle)
    data = b""
    try:
        while len(data) < limit:
            b = conn.recv(65536)
            if not b:
                break
            data += b
            # an HTTP request with a complete body: stop reading
            if b"\r\n\r\n" in data:
                head, _, body = data.partition(b"\r\n\r\n")
                cl = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        cl = int(line.split(b":", 1)[1])
                if len(body) >= cl:
                    break
    except (socket.timeout, ssl.SSLError, OSError):
        pass
    return data


def http_reply(data):
    if b"/ncsi.txt" in data.split(b"\r\n", 1)[0]:
        return b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 14\r\nConnection: close\r\n\r\nMicrosoft NCSI"
    return b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"


def handle(conn, peer, port):
    local = conn.getsockname()
    base = dict(peer=f"{peer[0]}:{peer[1]}", local=f"{local[0]}:{local[1]}")
    try:
        conn.settimeout(5)
        first = conn.recv(1, socket.MSG_PEEK)
        if port == 443 and first[:1] == b"\x16":
            sni = {}
            ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            ctx.load_cert_chain(CERT, KEY)
            ctx.sni_callback = lambda so, name, c: sni.__setitem__("sni", name)
            try:
                tconn = ctx.wrap_socket(conn, server_side=True)
            except ssl.SSLError as e:
                log("tls_fail", **base, sni=sni.get("sni"), err=str(e))
                return
            log("tls", **base, sni=sni.get("sni"), version=tconn.version(), cipher=tconn.cipher()[0])
            data = read_some(tconn)
            log("tcp_data", **base, tls=True, size=len(data), text=data[:4000].decode("latin-1"), hex=data[:512].hex())
            if data.startswith((b"GET", b"POST", b"HEAD")):
                tconn.sendall(http_reply(data))
            tconn.close()
        else:
            data = read_some(conn)
            log("tcp_data", **base, tls=False, size=len(data), text=data[:4000].decode("latin-1"), hex=data[:512].hex())
            if data.startswith((b"GET", b"POST", b"HEAD")):
                conn.sendall(http_reply(data))
    except Exception as e:
        log("tcp_err", **base, err=str(e))
    finally:
        try:
            conn.close()
        except OSError:
            pass


def tcp_server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", port))
    s.listen(64)
    while True:
        conn, peer = s.accept()
        log("tcp_accept", peer=f"{peer[0]}:{peer[1]}", local=f"{conn.getsockname()[0]}:{port}")
        threading.Thread(target=handle, args=(conn, peer, port), daemon=True).start()


def udp_sink(port):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("0.0.0.0", port))
    while True:
        msg, peer = s.recvfrom(65536)
        log("udp", peer=f"{peer[0]}:{peer[1]}", port=port, size=len(msg), hex=msg[:512].hex(),
            text=msg[:512].decode("latin-1"))


for target, arg in [(dns_server, None), (tcp_server, 80), (tcp_server, 443), (udp_sink, 5004), (udp_sink, 80)]:
    threading.Thread(target=target, args=(() if arg is None else (arg,)), daemon=True).start()
log("start")
while True:
    time.sleep(3600)
