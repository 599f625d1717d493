#!/usr/bin/env python3
"""Tiny netem replacement (the lab kernel has no netem qdisc).

Creates a TUN device (IFF_TUN|IFF_NO_PI) in the router namespace. The router
policy-routes forwarded packets into it; every packet read is written back
after a delay (base + uniform jitter, FIFO per direction so TCP is not
reordered) or dropped with probability loss. Packets written back re-enter the
router as coming from the TUN device and are forwarded by the main table.
"""
import argparse
import fcntl
import heapq
import os
import random
import select
import signal
import struct
import sys
import time

TUNSETIFF = 0x400454CA
IFF_TUN = 0x0001
IFF_NO_PI = 0x1000


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", default="tun-em")
    ap.add_argument("--delay-ms", type=float, default=20.0, help="one-way delay")
    ap.add_argument("--jitter-ms", type=float, default=0.0, help="+/- uniform jitter")
    ap.add_argument("--loss-pct", type=float, default=0.0)
    ap.add_argument("--seed", type=int, default=None)
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    fd = os.open("/dev/net/tun", os.O_RDWR)
    fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", a.dev.encode(), IFF_TUN | IFF_NO_PI))
    os.set_blocking(fd, False)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    heap = []  # (release_time, seq, pkt)
    last = {}  # direction -> last release time (keeps FIFO order per direction)
    seq = 0
    base = a.delay_ms / 1000.0
    jit = a.jitter_ms / 1000.0
    loss = a.loss_pct / 100.0
    stats = {"in": 0, "drop": 0}
    while True:
        now = time.monotonic()
        while heap and heap[0][0] <= now:
            _, _, pkt = heapq.heappop(heap)
            try:
                os.write(fd, pkt)
            except OSError:
                pass
        timeout = max(0.0, heap[0][0] - now) if heap else 1.0
        r, _, _ = select.select([fd], [], [], timeout)
        if not r:
            continue
        while True:
            try:
                pkt = os.read(fd, 65536)
            except BlockingIOError:
                break
            if len(pkt) < 20 or (pkt[0] >> 4) != 4:
                continue
            stats["in"] += 1
            if loss and rnd.random() < loss:
                stats["drop"] += 1
                continue
            dst = pkt[16:20]
            t = time.monotonic() + base + (rnd.uniform(-jit, jit) if jit else 0.0)
            t = max(t, last.get(dst, 0.0))
            last[dst] = t
            seq += 1
            heapq.heappush(heap, (t, seq, pkt))


if __name__ == "__main__":
    main()
