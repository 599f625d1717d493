#!/bin/bash
# strip_stragglers.sh FILE.pcap — remove the previous session's leftovers from a capture:
# UDP-acceleration datagrams the VPN server (10.77.2.2, UDP 40000-44999) keeps sending,
# for ~15 s after a disconnect, to a client port that the client never uses in this file,
# plus the client's ICMP port-unreachable answers to them. Needs tshark/editcap.
set -euo pipefail
f=$1
ports=$(tshark -r "$f" -Y 'udp && !icmp' -T fields -e ip.src -e udp.srcport -e ip.dst -e udp.dstport 2>/dev/null |
  awk '$1=="10.77.1.2"{c[$2]=1} $1=="10.77.2.2"&&$2>=40000&&$2<45000{s[$4]=1} END{for(p in s) if(!(p in c)) print p}')
[ -n "$ports" ] || exit 0
flt=""
for p in $ports; do flt="$flt${flt:+ || }udp.port==$p"; done
tmp="$f.tmp"
tshark -r "$f" -Y "!($flt)" -F pcap -w "$tmp" 2>/dev/null
n0=$(capinfos -c -M "$f" | awk -F': *' '/Number of packets/{print $2}')
n1=$(capinfos -c -M "$tmp" | awk -F': *' '/Number of packets/{print $2}')
mv "$tmp" "$f"
echo "[strip] $(basename "$f"): removed $((n0 - n1)) straggler packets (client ports: $ports)" >&2
