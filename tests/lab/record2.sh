#!/bin/bash
# record2.sh [NAME...] — record the lab2 (generalisation) scenarios of scenario2.sh into
# testdata/lab2/NAME.pcap + testdata/lab2/labels.tsv (same format as testdata/lab).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
LAB_SCENARIO=scenario2.sh LAB_DATA="$(cd "$here/../.." && pwd)/testdata/lab2" exec "$here/record.sh" "$@"
