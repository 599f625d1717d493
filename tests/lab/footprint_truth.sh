#!/usr/bin/env bash
# Ground truth for footprint.tsv rows, from tshark and SoftEther's documented
# constants only (never from sealert): prints one row per capture and kind.
#   udp_accel   UDP conversations between the session's client and server in which
#               both sides sent and the server's port is in SoftEther's UDP
#               acceleration range 40000-44999 (UdpAccel.h; the detector does not
#               use the port).
#   dns_probe   UDP conversations client -> server:53 whose queries are DNSKEY
#               (type 48) for a single 8-hex-digit label (the connect race's VPN
#               over DNS probe) and that got no DNSKEY answer.
# Usage: footprint_truth.sh CLIENT SERVER FILE...
set -euo pipefail
client=$1 server=$2
shift 2
for f in "$@"; do
  n=$(tshark -r "$f" -q -z conv,udp 2>/dev/null | awk -v c="$client" -v s="$server" '
    / <-> / {
      split($1, a, ":"); split($3, b, ":");
      if (!((a[1]==c && b[1]==s) || (a[1]==s && b[1]==c))) next;
      sp = (a[1]==s) ? a[2] : b[2];
      if (sp < 40000 || sp > 44999) next;
      if ($4 > 0 && $6 > 0) n++          # frames each way
    } END { print n+0 }')
  [ "$n" -gt 0 ] && printf '%s\tudp_accel\t-\t%s\t%s\t%s\ttshark conv,udp: both-way conversations to %s UDP 40000-44999\n' \
    "$(basename "$f")" "$client" "$server" "$n" "$server"
  p=$(tshark -r "$f" -Y "ip.src==$client && ip.dst==$server && udp.dstport==53 && dns.qry.type==48 && dns.qry.name matches \"^[0-9a-fA-F]{8}\$\"" \
        -T fields -e udp.srcport 2>/dev/null | sort -u | wc -l)
  a=$(tshark -r "$f" -Y "ip.src==$server && udp.srcport==53 && dns.resp.type==48" -T fields -e udp.dstport 2>/dev/null | sort -u | wc -l)
  if [ "$p" -gt 0 ] && [ "$a" -eq 0 ]; then
    printf '%s\tdns_probe\t-\t%s\t%s:53\t%s\ttshark: client ports sending DNSKEY queries for one 8-hex label to %s:53, no DNSKEY answer\n' \
      "$(basename "$f")" "$client" "$server" "$p" "$server"
  fi
done
