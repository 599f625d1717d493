#!/bin/bash
# record3.sh [NAME...] — record the lab3 (VPN over ICMP / DNS) scenarios of scenario3.sh into
# testdata/lab3/NAME.pcap + testdata/lab3/labels.tsv (same format as testdata/lab).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
LAB_SCENARIO=scenario3.sh LAB_DATA="$(cd "$here/../.." && pwd)/testdata/lab3" exec "$here/record.sh" "$@"
