# shellcheck shell=bash
# Common definitions for the sealert real-traffic lab (sourced by lab.sh, scenario.sh, record.sh).

LAB_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$LAB_DIR/../.." && pwd)"
# Configs, keys, logs and run-time files of the daemons: outside the checkout,
# which may sit under a directory only root can read (squid runs as "proxy",
# dante's helpers as "nobody"); one place per machine, as the namespace names
# are, so that a later run finds an earlier run's leftovers (LAB_OUT overrides).
# Not under /run: sshd runs with a private tmpfs mounted over /run.
OUT="${LAB_OUT:-/var/lib/sealert-lab}"
PIDS="$OUT/pids"
umask 022
DATA="${LAB_DATA:-$REPO_DIR/testdata/lab}"   # LAB_DATA=testdata/lab2 for the second set

NS_CLI=se-cli
NS_RTR=se-rtr
NS_SRV=se-srv
NS_PX=se-px
ALL_NS=("$NS_CLI" "$NS_RTR" "$NS_SRV" "$NS_PX")

# Addresses
CLI_IP=10.77.1.2        # client LAN (se-cli, if c-rtr)
RTR_CLI_IP=10.77.1.1    # router, client side (se-rtr, if r-cli = SENSOR interface)
RTR_SRV_IP=10.77.2.1
RTR_PX_IP=10.77.3.1
SRV_IP=10.77.2.2        # SoftEther VPN server (se-srv)
WEB_IP=10.77.2.3        # nginx + openvpn (se-srv, second address)
INNER_IP=10.77.9.1      # HTTP server only reachable through the VPN tunnel (se-srv lo)
PX_IP=10.77.3.2         # squid :3128, dante :1080, sshd :22 (se-px)
PXL_PX=10.77.4.1        # direct link se-px <-> se-srv (not seen by the sensor)
PXL_SRV=10.77.4.2
SENSOR_IF=r-cli

# SoftEther
SE_ADMIN_PW=labadmin
SE_HUB=LAB
SE_USER=labuser
SE_PASS=labpass
SE_UNUSUAL_PORT=31337
SE_NIC=se0              # vpnclient NIC name -> Linux interface vpn_se0
VPN_CLI_IP=192.168.30.10
VPN_GW_IP=192.168.30.1  # SecureNAT virtual host

SQUID_PORT=3128
DANTE_PORT=1080

SE_BIN=/usr/libexec/softether
SE_HAMCORE=/usr/share/softether-common/hamcore.se2

log() { echo "[lab] $*" >&2; }
die() { echo "[lab] ERROR: $*" >&2; exit 1; }

nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

# proc_start PID : the process's start time (clock ticks since boot; fails if gone).
# A recorded PID is ours only while its start time is the one recorded.
proc_start() {
  local s
  s=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  s=${s##*) }
  # shellcheck disable=SC2086
  set -- $s
  echo "${20}"
}

# start_bg NAME NS CMD... : start a daemon in its own session inside namespace NS,
# record "NAME PID START" in $PIDS. stdout/stderr -> $OUT/logs/NAME.log
start_bg() {
  local name=$1 ns=$2; shift 2
  mkdir -p "$OUT/logs"
  setsid ip netns exec "$ns" "$@" >"$OUT/logs/$name.log" 2>&1 </dev/null &
  local pid=$!
  echo "$name $pid $(proc_start "$pid" || echo 0)" >>"$PIDS"
  echo "$pid"
}

# kill_tree PID... : TERM the processes and their descendants, wait up to 10 s, then KILL.
kill_tree() {
  local all="" p q
  for p in "$@"; do all="$all $p $(descendants "$p" | tr '\n' ' ')"; done
  for q in $all; do kill -TERM "$q" 2>/dev/null || true; done
  for _ in $(seq 100); do
    local alive=0
    for q in $all; do kill -0 "$q" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break
    sleep 0.1
  done
  for q in $all; do kill -KILL "$q" 2>/dev/null || true; done
}

descendants() { # descendants PID : print PID's descendants (depth first)
  local k
  for k in $(pgrep -P "$1" 2>/dev/null || true); do echo "$k"; descendants "$k"; done
}

stop_named() { # stop_named NAME : stop all recorded processes with that name (and their children)
  local name=$1 n p st
  [ -f "$PIDS" ] || return 0
  local keep; keep=$(mktemp)
  while read -r n p st; do
    if [ "$n" = "$name" ]; then
      # only while it is the process recorded (not a later one with the same PID)
      if [ -z "$st" ] || [ "$(proc_start "$p" || true)" = "$st" ]; then kill_tree "$p"; fi
    else
      echo "$n $p $st" >>"$keep"
    fi
  done <"$PIDS"
  cat "$keep" >"$PIDS"; rm -f "$keep"
}

# Run a SoftEther binary with the Debian compiled-in state dirs
# (/var/lib/softether, /var/log/softether, /run/softether) bind-mounted
# from a private directory, inside a private mount namespace.
se_wrap() { # se_wrap INSTDIR CMD...
  local d=$1; shift
  unshare -m --propagation private "$LAB_DIR/se-run.sh" "$d" "$@"
}

vpncmd_client() { # vpncmd_client ARGS... (runs in se-cli against local vpnclient)
  nsx "$NS_CLI" unshare -m --propagation private "$LAB_DIR/se-run.sh" "$OUT/vpncmd" \
    "$OUT/vpncmd/vpncmd" localhost /CLIENT "$@"
}
vpncmd_server() { # vpncmd_server ARGS... (runs in se-srv against local vpnserver)
  nsx "$NS_SRV" unshare -m --propagation private "$LAB_DIR/se-run.sh" "$OUT/vpncmd" \
    "$OUT/vpncmd/vpncmd" localhost:5555 /SERVER /PASSWORD:"$SE_ADMIN_PW" "$@"
}
