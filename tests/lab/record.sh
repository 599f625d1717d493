#!/bin/bash
# record.sh [NAME...] — capture each scenario on the router's sensor interface into
# testdata/lab/NAME.pcap and update testdata/lab/labels.tsv. No NAME: all scenarios.
# LAB_SCENARIO=scenario2.sh LAB_DATA=testdata/lab2 (see record2.sh) for the second set.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

ip netns list | grep -qw "$NS_RTR" || die "lab is not up (tests/lab/lab.sh up)"
mkdir -p "$DATA"
LABELS="$DATA/labels.tsv"
HEADER=$'file\tlabel\tvariant\toutcome\tclient\tserver\tsessions\tnote'
[ -f "$LABELS" ] || echo "$HEADER" >"$LABELS"

SCEN="$LAB_DIR/${LAB_SCENARIO:-scenario.sh}"
TABLE=$("$SCEN" --list)
if [ $# -eq 0 ]; then
  mapfile -t NAMES < <(echo "$TABLE" | cut -d'|' -f1)
else
  NAMES=("$@")
fi

rc=0
first=1
for name in "${NAMES[@]}"; do
  # let the previous session's stragglers (server UDP-acceleration packets,
  # FIN retransmits) die out so each file holds only its own scenario
  # (the server keeps sending UDP-acceleration packets for ~15 s after a disconnect):
  # wait for 4 s without any non-ARP packet on the sensor interface (max 40 s).
  [ $first = 1 ] || sleep "${RECORD_GAP:-2}"
  first=0
  for _ in $(seq 10); do
    n=$(timeout 4 ip netns exec "$NS_RTR" tcpdump -i "$SENSOR_IF" -n -c 1 'not arp' 2>/dev/null | wc -l || true)
    [ "$n" = 0 ] && break
  done
  row=$(echo "$TABLE" | grep "^$name|") || die "unknown scenario $name"
  IFS='|' read -r _ label variant outcome server sessions note <<<"$row"
  pcap="$DATA/$name.pcap"
  rm -f "$pcap"
  errf="$OUT/logs/tcpdump-$name.err"
  setsid ip netns exec "$NS_RTR" tcpdump -i "$SENSOR_IF" -s 0 -U -n -w "$pcap" >/dev/null 2>"$errf" &
  tpid=$!
  echo "tcpdump $tpid $(proc_start "$tpid" || echo 0)" >>"$PIDS"
  for _ in $(seq 50); do grep -q 'listening on' "$errf" 2>/dev/null && break; sleep 0.1; done
  sleep 0.5
  t0=$SECONDS
  if "$SCEN" "$name"; then st=ok; else st=FAILED; rc=1; fi
  sleep 1
  stop_named tcpdump
  dur=$((SECONDS - t0))
  if [ "$st" = ok ]; then
    if command -v tshark >/dev/null; then "$LAB_DIR/strip_stragglers.sh" "$pcap" || true; fi
    tmp=$(mktemp)
    { echo "$HEADER"; tail -n +2 "$LABELS" | awk -F'\t' -v f="$name.pcap" '$1 != f'
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$name.pcap" "$label" "$variant" "$outcome" "$CLI_IP" "$server" "$sessions" "$note"
    } >"$tmp"
    { head -1 "$tmp"; tail -n +2 "$tmp" | sort; } >"$LABELS"; rm -f "$tmp"
  else
    rm -f "$pcap"
  fi
  printf '[record] %-28s %-7s %4ss %s\n' "$name" "$st" "$dur" "$( [ -f "$pcap" ] && du -h "$pcap" | cut -f1)" >&2
done
exit $rc
