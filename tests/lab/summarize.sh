#!/bin/bash
# summarize.sh [FILE.pcap...] — per capture: size, duration, TCP/UDP conversations, label.
# Needs tshark. Default: every testdata/lab/*.pcap.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
[ $# -gt 0 ] || set -- "$DATA"/*.pcap
printf '%-30s %7s %6s %4s %4s  %s\n' file size dur_s tcp udp label/variant/outcome
for f in "$@"; do
  b=$(basename "$f")
  size=$(du -h "$f" | cut -f1)
  dur=$(capinfos -u -M "$f" 2>/dev/null | awk -F': *' '/Capture duration/{printf "%.0f", $2}')
  tcp=$(tshark -r "$f" -q -z conv,tcp 2>/dev/null | grep -c '<->' || true)
  udp=$(tshark -r "$f" -q -z conv,udp 2>/dev/null | grep -c '<->' || true)
  lab=$(awk -F'\t' -v f="$b" '$1==f{print $2"/"$3"/"$4}' "$DATA/labels.tsv")
  printf '%-30s %7s %6s %4s %4s  %s\n' "$b" "$size" "${dur:-?}" "$tcp" "$udp" "$lab"
done
