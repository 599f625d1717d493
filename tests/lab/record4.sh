#!/bin/bash
# record4.sh [NAME...] — record the lab4 scenarios of scenario4.sh (the SoftEther server's
# OpenVPN / SSTP / certificate faces and their look-alikes) into testdata/lab4/NAME.pcap,
# labels in testdata/lab4/faces_labels.tsv (same columns as testdata/lab2/labels.tsv).
# Capturing is record.sh's (sensor r-cli in se-rtr, tcpdump -s 0, quiet period before each
# file, strip_stragglers.sh); afterwards the server certificates are extracted from the
# captures with tshark (softether_server_cert.der, neg_*.der).
# Needs the lab up; take the lab lock around the whole run, e.g.
#   flock /run/sealert-lab.lock sh -c 'tests/lab/lab.sh up && tests/lab/record4.sh; tests/lab/lab.sh down'
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
data="$(cd "$here/../.." && pwd)/testdata/lab4"
mkdir -p "$data"
labels="$data/faces_labels.tsv"

# record.sh keeps its rows in DATA/labels.tsv: hand it the faces labels and take them back
[ -f "$labels" ] && cp "$labels" "$data/labels.tsv"
rc=0
LAB_SCENARIO=scenario4.sh LAB_DATA="$data" "$here/record.sh" "$@" || rc=$?
if [ -f "$data/labels.tsv" ]; then mv "$data/labels.tsv" "$labels"; fi

# certificates as sent on the wire (first Certificate message of each capture)
cert_of() { # cert_of PCAP OUT.der [tshark decode-as...]
  local pcap=$1 out=$2; shift 2
  [ -f "$pcap" ] || return 0
  local hex
  hex=$(tshark -r "$pcap" "$@" -Y tls.handshake.certificate -T fields -e tls.handshake.certificate 2>/dev/null |
    head -1 | cut -d, -f1)
  if [ -n "$hex" ]; then
    echo "$hex" | xxd -r -p >"$out"
    echo "[record4] $(basename "$out"): $(openssl x509 -inform DER -in "$out" -noout -subject 2>/dev/null)" >&2
  else
    echo "[record4] no certificate found in $(basename "$pcap")" >&2
  fi
}
cert_of "$data/sstp_tls12_softether.pcap" "$data/softether_server_cert.der"
cert_of "$data/neg_tls12_selfsigned.pcap" "$data/neg_tls12_selfsigned.der" -d tcp.port==4443,tls
cert_of "$data/neg_tls12_selfsigned_cnonly.pcap" "$data/neg_tls12_selfsigned_cnonly.der" -d tcp.port==4444,tls
exit $rc
