#!/bin/bash
# infra.sh up|record [SECONDS]|down — a SoftEther server inside the monitored network contacting
# SoftEther's infrastructure (DDNS, NAT traversal, VPN Azure, keep-alive), every name answered by a
# lab DNS server with lab addresses. Separate namespaces (si-*) and state dir, so it never touches
# the main lab (se-*). Nothing leaves: the si-* namespaces have no link to the host namespace.
#
#   si-srv  10.78.1.2 si-s0 ──── si-r0 10.78.1.1  [si-rtr: SENSOR = si-r0]  si-r1 10.78.2.1 ──── si-i0  si-inf
#           vpnserver (DDNS on, NAT-T on,                                       10.78.2.53 DNS (infra_responder.py)
#           VPN Azure on, KeepEnable)                                           10.78.2.10 DDNS, .20 NAT-T, .30 Azure,
#           resolv.conf -> 10.78.2.53                                           .40 keepalive, .98 msftncsi/bing, .99 other
#                                                                               TCP 80/443, UDP 80/5004 loggers
# record: capture on si-r0 (si-rtr) -> testdata/lab3/infra_server.pcap, responder log and server
# config/logs -> $IOUT (default /var/lib/sealert-lab-infra).
set -euo pipefail
LAB_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO_DIR="$(cd "$LAB_DIR/../.." && pwd)"
IOUT="${INFRA_OUT:-/var/lib/sealert-lab-infra}"
PIDF="$IOUT/pids"
DATA="$REPO_DIR/testdata/lab3"
NSS=(si-srv si-rtr si-inf)
SE_BIN=/usr/libexec/softether
SE_HAMCORE=/usr/share/softether-common/hamcore.se2
INF_ADDRS=(10.78.2.10 10.78.2.20 10.78.2.30 10.78.2.40 10.78.2.53 10.78.2.98 10.78.2.99)

log() { echo "[infra] $*" >&2; }
die() { echo "[infra] ERROR: $*" >&2; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
[ "$(id -u)" = 0 ] || die "must run as root"

start_bg() { # start_bg NAME NS CMD... -> records "NAME PID" in $PIDF
  local name=$1 ns=$2; shift 2
  setsid ip netns exec "$ns" "$@" >"$IOUT/logs/$name.log" 2>&1 </dev/null &
  echo "$name $!" >>"$PIDF"
}

kill_recorded() { # TERM then KILL exactly the recorded PIDs and their descendants
  [ -f "$PIDF" ] || return 0
  local all="" n p
  while read -r n p; do
    kill -0 "$p" 2>/dev/null || continue
    all="$all $p $(pgrep -P "$p" | tr '\n' ' ' || true) "
    for c in $(pgrep -P "$p" || true); do all="$all $(pgrep -P "$c" | tr '\n' ' ' || true)"; done
  done <"$PIDF"
  for p in $all; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0; for p in $all; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.1
  done
  for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
  rm -f "$PIDF"
}

cmd_down() {
  kill_recorded
  for ns in "${NSS[@]}"; do
    # anything still running inside our own namespaces (started by this script)
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  if [ -f "$IOUT/created_netns_dir" ]; then rmdir /etc/netns 2>/dev/null || true; rm -f "$IOUT/created_netns_dir"; fi
  log "down"
}

cmd_up() {
  cmd_down 2>/dev/null || true
  mkdir -p "$IOUT/logs"
  if [ ! -d /etc/netns ]; then mkdir -p /etc/netns; touch "$IOUT/created_netns_dir"; fi
  for ns in "${NSS[@]}"; do
    ip netns add "$ns"
    nsx "$ns" ip link set lo up
    nsx "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
  done
  mkdir -p /etc/netns/si-srv
  echo "nameserver 10.78.2.53" >/etc/netns/si-srv/resolv.conf
  printf '127.0.0.1 localhost\n' >/etc/netns/si-srv/hosts
  ip link add si-s0 netns si-srv type veth peer name si-r0 netns si-rtr
  ip link add si-i0 netns si-inf type veth peer name si-r1 netns si-rtr
  for x in "si-srv si-s0" "si-rtr si-r0" "si-rtr si-r1" "si-inf si-i0"; do
    set -- $x; nsx "$1" ip link set "$2" up; nsx "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
  done
  nsx si-srv ip addr add 10.78.1.2/24 dev si-s0
  nsx si-rtr ip addr add 10.78.1.1/24 dev si-r0
  nsx si-rtr ip addr add 10.78.2.1/24 dev si-r1
  nsx si-inf ip addr add 10.78.2.2/24 dev si-i0
  for a in "${INF_ADDRS[@]}"; do nsx si-inf ip addr add "$a/24" dev si-i0; done
  # only the lab prefix is routed; no default route anywhere
  nsx si-srv ip route add 10.78.0.0/16 via 10.78.1.1
  nsx si-inf ip route add 10.78.0.0/16 via 10.78.2.1
  nsx si-rtr sysctl -qw net.ipv4.ip_forward=1
  # lab infrastructure: DNS + TCP/UDP loggers
  [ -f "$IOUT/cert.pem" ] || openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=lab-infra" \
    -keyout "$IOUT/key.pem" -out "$IOUT/cert.pem" >/dev/null 2>&1
  : >"$IOUT/responder.jsonl"
  start_bg responder si-inf /usr/bin/python3 "$LAB_DIR/infra_responder.py" "$IOUT/responder.jsonl" "$IOUT/cert.pem" "$IOUT/key.pem"
  for _ in $(seq 50); do grep -q '"start"' "$IOUT/responder.jsonl" && break; sleep 0.1; done
  # SoftEther instances: private copies, state dirs bind-mounted by se-run.sh
  for b in vpnserver vpncmd; do
    rm -rf "${IOUT:?}/$b"; mkdir -p "$IOUT/$b/db" "$IOUT/$b/log" "$IOUT/$b/run"
    cp "$SE_BIN/$b/$b" "$IOUT/$b/$b"; cp -L "$SE_HAMCORE" "$IOUT/$b/hamcore.se2"
  done
  log "up (responder pid $(awk '$1=="responder"{print $2}' "$PIDF"))"
}

vpncmd_srv() {
  nsx si-srv unshare -m --propagation private "$LAB_DIR/se-run.sh" "$IOUT/vpncmd" \
    "$IOUT/vpncmd/vpncmd" localhost:5555 /SERVER "$@"
}

cmd_record() {
  local secs=${1:-75} pcap="$DATA/infra_server.pcap"
  mkdir -p "$DATA"
  start_bg tcpdump si-rtr tcpdump -i si-r0 -s 0 -U -w "$IOUT/infra_server.pcap"
  sleep 1
  local t0; t0=$(date +%s.%N)
  echo "t0 $t0" >"$IOUT/timeline.txt"
  # first start: default config (DDNS client on, NAT traversal on)
  start_bg vpnserver si-srv unshare -m --propagation private "$LAB_DIR/se-run.sh" "$IOUT/vpnserver" \
    "$IOUT/vpnserver/vpnserver" execsvc
  for _ in $(seq 100); do nsx si-srv ss -Hltn 'sport = :5555' | grep -q . && break; sleep 0.1; done
  echo "vpnserver_listening $(date +%s.%N)" >>"$IOUT/timeline.txt"
  cat >"$IOUT/setup.txt" <<EOF
ServerPasswordSet labadmin
KeepEnable
KeepGet
VpnAzureSetEnable yes
VpnAzureGetStatus
DynamicDnsGetStatus
EOF
  vpncmd_srv /IN:"$IOUT/setup.txt" >"$IOUT/logs/vpncmd-setup.log" 2>&1 || log "vpncmd setup returned $?"
  echo "vpncmd_setup_done $(date +%s.%N)" >>"$IOUT/timeline.txt"
  sleep "$secs"
  vpncmd_srv /PASSWORD:labadmin /CMD DynamicDnsGetStatus >"$IOUT/logs/vpncmd-ddns-end.log" 2>&1 || true
  vpncmd_srv /PASSWORD:labadmin /CMD VpnAzureGetStatus >>"$IOUT/logs/vpncmd-ddns-end.log" 2>&1 || true
  vpncmd_srv /PASSWORD:labadmin /CMD KeepGet >>"$IOUT/logs/vpncmd-ddns-end.log" 2>&1 || true
  echo "end $(date +%s.%N)" >>"$IOUT/timeline.txt"
  sleep 1
  kill_recorded
  cp "$IOUT/infra_server.pcap" "$pcap"
  log "wrote $pcap ($(stat -c %s "$pcap") bytes); responder log $IOUT/responder.jsonl"
}

case "${1:-}" in
  up) cmd_up ;;
  record) shift; cmd_record "$@" ;;
  down) cmd_down ;;
  *) echo "usage: $0 up|record [SECONDS]|down" >&2; exit 2 ;;
esac
