import ssl, socket, time, os
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT); ctx.check_hostname=False; ctx.verify_mode=ssl.CERT_NONE
c = ctx.wrap_socket(socket.create_connection(("127.0.0.1",48443)), server_hostname="api.example")
def req(path_len_resp, body_len):
    body = os.urandom(body_len//2).hex().encode()[:body_len]
    c.sendall(b"POST /soap/%d HTTP/1.1\r\nHost: api.example\r\nContent-Type: text/xml\r\nContent-Length: %d\r\n\r\n" % (path_len_resp, len(body)) + body)
    got=b""
    while b"\r\n\r\n" not in got: got += c.recv(65536)
    head, rest = got.split(b"\r\n\r\n",1)
    n = int([l for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0].split(b":")[1])
    while len(rest) < n: rest += c.recv(65536)
req(700, 2100); req(3000, 3400)
for i in range(8):
    time.sleep(0.2 if i == 0 else 2); req(250, 100)
c.close()
