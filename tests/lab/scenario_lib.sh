# shellcheck shell=bash
# Helpers shared by scenario.sh and scenario2.sh (sourced after NAME is set).
SSH_CFG="$OUT/ssh/ssh_config"
FWD_PORT=14443
CURL_OPTS=(-s -k --max-time 60 -o /dev/null)
V=${LAB_VERBOSE:-0}

say() { echo "[scenario $NAME] $*" >&2; }
cli() { nsx "$NS_CLI" "$@"; }
vc() { # vc CMD ARGS... (one vpncmd client command, quiet unless it fails)
  local out
  if ! out=$(vpncmd_client /CMD "$@" 2>&1); then
    [ "$V" = 1 ] && echo "$out" >&2
    return 1
  fi
  [ "$V" = 1 ] && echo "$out" >&2
  return 0
}

# background helpers started by this scenario (killed by PID at exit)
BG=()
cleanup() {
  local p
  for p in "${BG[@]}"; do
    for q in $(descendants "$p") "$p"; do kill -TERM "$q" 2>/dev/null || true; done
  done
  if [ -n "${SE_ACCT_USED:-}" ]; then
    vpncmd_client /CMD AccountDisconnect $ACCT >/dev/null 2>&1 || true
    vpncmd_client /CMD AccountDelete $ACCT >/dev/null 2>&1 || true
  fi
  if [ -n "${DELAY_SET:-}" ]; then "$LAB_DIR/lab.sh" nodelay || true; fi
}
trap cleanup EXIT

delay() { "$LAB_DIR/lab.sh" delay "$@"; DELAY_SET=1; }

# ----------------------------------------------------------- SoftEther client
ACCT=lab
se_account() { # se_account SERVER:PORT [HUB] [PASSWORD]
  local srv=$1 hub=${2:-$SE_HUB} pw=${3:-$SE_PASS}
  SE_ACCT_USED=1
  vc AccountDisconnect $ACCT >/dev/null 2>&1 || true
  vc AccountDelete $ACCT >/dev/null 2>&1 || true
  vc AccountCreate $ACCT /SERVER:"$srv" /HUB:"$hub" /USERNAME:"$SE_USER" /NICNAME:"$SE_NIC" || die "AccountCreate"
  vc AccountPasswordSet $ACCT /PASSWORD:"$pw" /TYPE:standard || die "AccountPasswordSet"
  vc AccountRetrySet $ACCT /NUM:0 /INTERVAL:5 || die "AccountRetrySet"
}

se_status() { vpncmd_client /CMD AccountStatusGet $ACCT 2>/dev/null | grep -E '^Session Status' | sed 's/.*|//'; }

se_connect_wait() { # wait until session established (timeout s)
  local t=${1:-30} i st=""
  vc AccountConnect $ACCT || die "AccountConnect"
  for i in $(seq $((t * 4))); do
    st=$(se_status || true)
    case "$st" in *Established*) say "session established after ~$((i / 4)) s"; return 0 ;; esac
    sleep 0.25
  done
  die "session not established (status: $st)"
}

se_nic_up() { # (re)configure the VPN NIC: the route goes away when the tap goes down
  cli ip link set "vpn_$SE_NIC" up
  cli ip addr replace "$VPN_CLI_IP/24" dev "vpn_$SE_NIC"
  cli ip route replace "$INNER_IP/32" via "$VPN_GW_IP" dev "vpn_$SE_NIC" onlink
}

se_traffic() { # ping + small download through the tunnel
  local n=${1:-6}
  se_nic_up
  cli ping -q -c "$n" -i 0.5 -s 1200 -W 2 "$VPN_GW_IP" >"$OUT/last_ping" 2>&1 || say "warning: ping through tunnel: $(grep -o "[0-9]*% packet loss" "$OUT/last_ping")"
  cli curl -s --max-time 60 -o /dev/null -w "%{size_download}" "http://$INNER_IP/300k.bin" >"$OUT/last_dl" 2>/dev/null || true
  local got; got=$(cat "$OUT/last_dl" 2>/dev/null || echo 0)
  say "downloaded $got bytes through the tunnel"
  [ "$got" = 300000 ] || die "download through the tunnel failed"
}

se_finish() {
  sleep "${1:-1}"
  vc AccountDisconnect $ACCT || true
  sleep 1
  vc AccountDelete $ACCT || true
}

se_session() { # se_session SERVER:PORT [extra vpncmd commands...]
  local srv=$1; shift
  se_account "$srv"
  local c
  for c in "$@"; do eval "vc $c" || die "vpncmd $c failed"; done
  se_connect_wait 40
  sleep "${SETTLE:-0}"
  se_traffic
  se_finish 1
}

se_fail() { # se_fail HUB PASSWORD
  se_account "$SRV_IP:443" "$1" "$2"
  vc AccountRetrySet $ACCT /NUM:2 /INTERVAL:5 || die "AccountRetrySet"
  vc AccountConnect $ACCT || die "AccountConnect"
  sleep 14
  say "status after attempts: $(se_status || true)"
  vc AccountDisconnect $ACCT || true
  vc AccountDelete $ACCT || true
}

# ----------------------------------------------------------- SSH helpers
ssh_bg() { # ssh_bg ARGS... : start ssh in se-cli in background, wait for the forward port
  setsid ip netns exec "$NS_CLI" ssh -F "$SSH_CFG" "$@" </dev/null >"$OUT/logs/ssh-$NAME.log" 2>&1 &
  BG+=($!)
}
wait_fwd() { # wait_fwd IP PORT
  local i
  for i in $(seq 100); do
    cli bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null && return 0
    sleep 0.1
  done
  die "forward $1:$2 not ready"
}

typist() { # human-paced keystrokes for an interactive shell, for SECS seconds
  /usr/bin/python3 - "$1" <<'PY'
import sys, time, random
secs = float(sys.argv[1]); end = time.time() + secs
cmds = ["ls -la /", "uptime", "cat /etc/os-release | head -3", "echo hello lab", "df -h | head -5",
        "ps aux | head -5", "date", "id", "uname -a", "free -m", "ls /usr/bin | wc -l", "pwd"]
r = random.Random(7)
time.sleep(1.0)
while time.time() < end:
    for ch in r.choice(cmds) + "\n":
        sys.stdout.write(ch); sys.stdout.flush()
        time.sleep(r.uniform(0.08, 0.35))
    time.sleep(r.uniform(1.0, 3.0))
sys.stdout.write("exit\n"); sys.stdout.flush()
time.sleep(1.0)
PY
}

# Debian 5.01 vpnclient: with the server at 127.0.0.1 and UDP acceleration on, the
# session drops ~0.3 s after "Now connected" (code 3) and retries forever. The
# 127.0.0.1 variants therefore set /DISABLEUDP:yes (UDP cannot cross an SSH -L
# forward anyway); the LAN-address / hostname variants keep the defaults.
NOUDP="AccountDetailSet $ACCT /MAXTCP:2 /INTERVAL:1 /TTL:0 /HALF:no /BRIDGE:no /MONITOR:no /NOTRACK:no /NOQOS:no /DISABLEUDP:yes"
ssh_fwd_session() { # ssh_fwd_session BIND_HOST VPN_TARGET_HOST [ssh opts...]
  local bind=$1 target=$2; shift 2
  ssh_bg "$@" -N -L "$bind:$FWD_PORT:$target:443" "$PX_IP"
  wait_fwd "$bind" "$FWD_PORT"
  if [ "$bind" = 127.0.0.1 ]; then se_session "$bind:$FWD_PORT" "$NOUDP"; else se_session "$bind:$FWD_PORT"; fi
}

# ----------------------------------------------------------- negatives helpers
H="https://$WEB_IP"
smalls() { local n=$1 i; for i in $(seq 0 $((n - 1))); do echo "$H/s$i.txt"; done; }

longlived_https() { # longlived_https HOST PORT SECS
  /usr/bin/python3 - "$@" <<'PY'
import socket, ssl, sys, time, random
host, port, secs = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((host, port), timeout=30), server_hostname="web.lab")
r = random.Random(3); end = time.time() + secs; n = 0
while time.time() < end:
    path = "/s%d.txt" % r.randrange(5)
    s.sendall(("GET %s HTTP/1.1\r\nHost: web.lab\r\nUser-Agent: lab-poller/1.0\r\n\r\n" % path).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, body = buf.split(b"\r\n\r\n", 1)
    clen = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < clen:
        body += s.recv(65536)
    n += 1
    time.sleep(r.uniform(2.0, 6.0))
s.close()
print(n)
PY
}

