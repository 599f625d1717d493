#!/usr/bin/env python3
"""tls_records.py FILE.pcap [PORT] — per TCP connection to PORT (default: any server port
< 32768 seen with TLS), print the first TLS records per direction (C>/S< length) and,
for long connections, the gaps between records after the first 3 s (keep-alive cadence).
Needs tshark."""
import collections
import subprocess
import sys

f = sys.argv[1]
port = sys.argv[2] if len(sys.argv) > 2 else None
flt = "tls.record" + (f" && tcp.port=={port}" if port else "")
out = subprocess.run(
    ["tshark", "-r", f, "-Y", flt, "-T", "fields", "-e", "frame.time_relative", "-e", "ip.src",
     "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "tls.record.length"],
    capture_output=True, text=True).stdout
conns = collections.OrderedDict()
for line in out.splitlines():
    t, src, sp, dp, lens = (line.split("\t") + [""] * 5)[:5]
    if not lens:
        continue
    sp, dp = int(sp), int(dp)
    cli = src.startswith("10.77.1.")
    key = (sp, dp) if cli else (dp, sp)
    c = conns.setdefault(key, {"t0": float(t), "recs": []})
    for L in lens.split(","):
        c["recs"].append((float(t), "C>" if cli else "S<", int(L)))
for (cp, sp), c in conns.items():
    recs = c["recs"]
    print(f"conn {cp}->{sp} start {c['t0']:.3f}s records {len(recs)}")
    print("  first:", " ".join(f"{d}{L}" for _, d, L in recs[:16]))
    late = [(t, d, L) for t, d, L in recs if t - c["t0"] > 3]
    if len(late) > 4:
        for d in ("C>", "S<"):
            ts = [t for t, dd, _ in late if dd == d]
            gaps = [round(b - a, 2) for a, b in zip(ts, ts[1:])]
            sizes = [L for _, dd, L in late if dd == d]
            if gaps:
                print(f"  {d} after 3s: n={len(ts)} gaps {sorted(gaps)[:3]}..{sorted(gaps)[-3:]} "
                      f"median {sorted(gaps)[len(gaps)//2]} sizes {min(sizes)}-{max(sizes)}")
