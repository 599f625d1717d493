#!/usr/bin/env bash
# Records a hard look-alike negative on loopback: a real Python/OpenSSL HTTPS
# client with NO ALPN (like SoftEther) whose first exchanges have SoftEther's
# sizes (2.1 KB POST → 0.7 KB, 3.4 KB POST → 3 KB), then small polls.
# Usage (root): tests/eval/lookalike/record.sh  → testdata/lookalike/soap_noalpn.pcap
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=$(cd "$here/../../.." && pwd)/testdata/lookalike
work=$(mktemp -d)
trap 'kill "${srv:-}" "${td:-}" 2>/dev/null || true; rm -rf "$work"' EXIT
cd "$work"
openssl req -x509 -newkey rsa:2048 -nodes -keyout k.pem -out c.pem -days 2 -subj /CN=api.example 2>/dev/null
python3 "$here/soap_server.py" & srv=$!
sleep 1
tcpdump -i lo -w "$out/soap_noalpn.pcap" -U port 48443 2>/dev/null & td=$!
sleep 1
python3 "$here/soap_client.py"
sleep 1
