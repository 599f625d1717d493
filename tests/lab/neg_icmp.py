#!/usr/bin/env python3
"""neg_icmp.py DST TYPE COUNT [DATA_LEN] — send COUNT ICMP messages of TYPE (code 0, fixed id, rising
seq, DATA_LEN bytes of pattern data) to DST, 0.3 s apart, through a raw socket. For ICMP types
hping3 does not send (15 information request, 16 information reply)."""
import os
import socket
import struct
import sys
import time


def csum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack("!%dH" % (len(b) // 2), b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


dst, typ, count = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
dlen = int(sys.argv[4]) if len(sys.argv) > 4 else 0
data = bytes((i * 7 + 3) & 0xFF for i in range(dlen))
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
ident = os.getpid() & 0xFFFF
for seq in range(count):
    h = struct.pack("!BBHHH", typ, 0, 0, ident, seq) + data
    h = h[:2] + struct.pack("!H", csum(h)) + h[4:]
    s.sendto(h, (dst, 0))
    time.sleep(0.3)
