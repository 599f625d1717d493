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
#   icmp_probe  ICMP (id, sequence) pairs on which the client sent the server messages
#               whose data is SHA1(rest) + rest (SoftEther's VPN over ICMP framing,
#               checked with python3's hashlib), when the server sent none back that
#               was not the kernel echoing an echo request (same data): if it did,
#               the pair is a VPN over ICMP session, not a probe.
#   server certificate  server ports whose TLS (<= 1.2) Certificate message carries a
#               certificate that openssl shows with SoftEther's fixed fields (serial 0,
#               subject = issuer = CN=O=OU=host, C=US, CA:TRUE critical, 9 extended
#               key usages, valid until 2037-12-31).
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
  # ICMP data straight from the pcap (tshark leaves data.data empty for types 15/16).
  i=$(python3 - "$f" "$client" "$server" <<'PY'
import sys, struct, hashlib, socket
path, client, server = sys.argv[1], socket.inet_aton(sys.argv[2]), socket.inet_aton(sys.argv[3])
buf = open(path, "rb").read()
magic = buf[:4]
end = "<" if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1") else ">"
link = struct.unpack(end + "I", buf[20:24])[0]
off, tunnel_c, tunnel_s, echoed = 24, set(), set(), set()
while off + 16 <= len(buf):
    _, _, incl, _ = struct.unpack(end + "IIII", buf[off:off + 16])
    pkt = buf[off + 16:off + 16 + incl]
    off += 16 + incl
    ip = pkt[14:] if link == 1 else pkt
    if link == 1 and pkt[12:14] != b"\x08\x00":
        continue
    if len(ip) < 28 or ip[0] >> 4 != 4 or ip[9] != 1:
        continue
    ihl = (ip[0] & 15) * 4
    src, dst, icmp = ip[12:16], ip[16:20], ip[ihl:struct.unpack(">H", ip[2:4])[0]]
    if len(icmp) < 8 + 21:
        continue
    typ, data, key = icmp[0], icmp[8:], icmp[4:8]
    if hashlib.sha1(data[20:]).digest() != data[:20]:
        continue
    if src == client and dst == server:
        tunnel_c.add(key)
        if typ == 8:
            echoed.add(data)
    elif src == server and dst == client and not (typ == 0 and data in echoed):
        tunnel_s.add(key)
print(0 if tunnel_s else len(tunnel_c))  # a server that answers: the pair is an ICMP tunnel
PY
)
  c=$(tshark -r "$f" -Y "ip.src==$server && tls.handshake.certificate" -T fields -e tcp.srcport \
        -e tls.handshake.certificate 2>/dev/null | sort -u | while IFS=$'\t' read -r port cert; do
      cert=${cert%%,*}
      txt=$(echo "$cert" | xxd -r -p | openssl x509 -inform DER -noout -text -nameopt multiline 2>/dev/null) || continue
      subj=$(echo "$cert" | xxd -r -p | openssl x509 -inform DER -noout -subject -nameopt RFC2253)
      iss=$(echo "$cert" | xxd -r -p | openssl x509 -inform DER -noout -issuer -nameopt RFC2253)
      [ "${subj#subject=}" = "${iss#issuer=}" ] || continue
      echo "$txt" | grep -q "Serial Number: 0 (0x0)" || continue
      echo "$txt" | grep -q "Not After : Dec 31 .* 2037 GMT" || continue
      echo "$txt" | grep -A1 "Basic Constraints: critical" | grep -q "CA:TRUE" || continue
      n=$(echo "$txt" | grep -A1 "Extended Key Usage" | tail -1 | tr ',' '\n' | wc -l)
      [ "$n" -eq 9 ] || continue
      echo "$subj" | grep -Eq "^subject=C=US,OU=([^,]+),O=\1,CN=\1$" || continue
      echo "$port"
    done | sort -u)
  for port in $c; do
    printf '%s\tserver\tcertificate\t-\t%s:%s\t1\ttshark + openssl x509: SoftEther self-generated certificate (serial 0, subject = issuer, CA:TRUE critical, 9 EKUs, until 2037-12-31) sent by %s:%s\n' \
      "$(basename "$f")" "$server" "$port" "$server" "$port"
  done
  if [ "$i" -gt 0 ]; then
    printf '%s\ticmp_probe\t-\t%s\t%s\t%s\ttshark + hashlib: ICMP id/seq pairs with SHA1(rest)+rest data from %s, no tunnel answer\n' \
      "$(basename "$f")" "$client" "$server" "$i" "$client"
  fi
done
