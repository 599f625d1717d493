import ssl, socket, threading, os
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain("c.pem","k.pem")
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.1", 48443)); s.listen()
def handle(c):
    c = ctx.wrap_socket(c, server_side=True)
    buf=b""
    while True:
        d = c.recv(65536)
        if not d: break
        buf += d
        while b"\r\n\r\n" in buf:
            head, rest = buf.split(b"\r\n\r\n",1)
            n = 0
            for l in head.split(b"\r\n"):
                if l.lower().startswith(b"content-length:"): n=int(l.split(b":")[1])
            if len(rest) < n: break
            buf = rest[n:]
            body_len = int(head.split(b" ")[1].split(b"/")[-1] or 100)
            body = os.urandom(body_len//2).hex().encode()[:body_len]
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % len(body) + body)
    c.close()
while True:
    c,_ = s.accept(); threading.Thread(target=handle, args=(c,), daemon=True).start()
