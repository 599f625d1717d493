#!/bin/bash
# scenario.sh NAME — run one lab scenario on the client side (lab must be up).
# scenario.sh --list  — print "NAME<TAB>label<TAB>variant<TAB>outcome<TAB>server<TAB>sessions<TAB>note" for all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

SSH_CFG="$OUT/ssh/ssh_config"
FWD_PORT=14443
CURL_OPTS=(-s -k --max-time 60 -o /dev/null)
V=${LAB_VERBOSE:-0}

# ----------------------------------------------------------- scenario table
# name | label | variant | outcome | server | sessions | note
TABLE=$(cat <<'EOF'
direct_443|positive|TCP|established|10.77.2.2:443|1|direct, port 443, default settings (max_connection default: 2 TCP)
direct_5555|positive|TCP|established|10.77.2.2:5555|1|direct, port 5555
direct_992|positive|TCP|established|10.77.2.2:992|1|direct, port 992
direct_unusual_port|positive|TCP|established|10.77.2.2:31337|1|direct, unusual port 31337
multi_tcp|positive|TCP|established|10.77.2.2:443|1|AccountDetailSet /MAXTCP:8 /HALF:yes (8 TCP connections)
compression|positive|TCP|established|10.77.2.2:443|1|AccountCompressEnable
encrypt_off|positive|TCP|established|10.77.2.2:443|1|AccountEncryptDisable (frames in clear after welcome)
idle|positive|TCP|established|10.77.2.2:443|1|connect, 2 pings, then idle 75 s (keep-alives only)
fail_password|positive|TCP|attempt|10.77.2.2:443|1|wrong password; AccountRetrySet /NUM:2 /INTERVAL:5 (client gives up after the attempts in file)
fail_hub|positive|TCP|attempt|10.77.2.2:443|1|wrong hub name; AccountRetrySet /NUM:2 /INTERVAL:5
http_proxy|positive|HTTP Proxy|established|10.77.3.2:3128|1|squid CONNECT 10.77.2.2:443
socks5|positive|SOCKS5 Proxy|established|10.77.3.2:1080|1|dante SOCKS5, no auth, to 10.77.2.2:443
socks4|positive|SOCKS4 Proxy|established|10.77.3.2:1080|1|dante SOCKS4, to 10.77.2.2:443
ssh_forward|positive|SSH|established|10.77.3.2:22|1|ssh -N -L 127.0.0.1:14443:10.77.2.2:443, default cipher (chacha20-poly1305); vpnclient to 127.0.0.1:14443 with /DISABLEUDP:yes
ssh_forward_compress|positive|SSH|established|10.77.3.2:22|1|ssh -C -N -L 127.0.0.1:14443:10.77.2.2:443; vpnclient to 127.0.0.1:14443 with /DISABLEUDP:yes
ssh_forward_aes256gcm|positive|SSH|established|10.77.3.2:22|1|ssh -c aes256-gcm@openssh.com -N -L 127.0.0.1:14443:10.77.2.2:443; vpnclient to 127.0.0.1:14443 with /DISABLEUDP:yes
ssh_forward_chacha20|positive|SSH|established|10.77.3.2:22|1|ssh -c chacha20-poly1305@openssh.com -N -L 127.0.0.1:14443:10.77.2.2:443; vpnclient to 127.0.0.1:14443 with /DISABLEUDP:yes
ssh_forward_lanaddr|positive|SSH|established|10.77.3.2:22|1|ssh -N -L 10.77.1.2:14443:10.77.2.2:443 (forward bound to LAN address)
ssh_forward_hostname|positive|SSH|established|10.77.3.2:22|1|ssh -N -L cli.lab:14443:vpn.lab:443 (hostnames); vpnclient to cli.lab:14443
ssh_forward_shell|positive|SSH|established|10.77.3.2:22|1|ssh -tt -L 127.0.0.1:14443:10.77.2.2:443 + interactive shell (typed at human pace) in the same SSH connection; vpnclient to 127.0.0.1:14443 with /DISABLEUDP:yes
direct_443_rtt40|positive|TCP|established|10.77.2.2:443|1|direct 443; RTT 40 ms, jitter +/-4 ms per direction, loss 0.5 %
direct_443_rtt200|positive|TCP|established|10.77.2.2:443|1|direct 443; RTT 200 ms, jitter +/-15 ms per direction, loss 1 %
http_proxy_rtt40|positive|HTTP Proxy|established|10.77.3.2:3128|1|squid CONNECT; RTT 40 ms (client-proxy), jitter +/-4 ms, loss 0.5 %
http_proxy_rtt200|positive|HTTP Proxy|established|10.77.3.2:3128|1|squid CONNECT; RTT 200 ms (client-proxy), jitter +/-15 ms, loss 1 %
ssh_forward_rtt40|positive|SSH|established|10.77.3.2:22|1|ssh -N -L default cipher; RTT 40 ms, jitter +/-4 ms, loss 0.5 %; vpnclient to 127.0.0.1:14443 with /DISABLEUDP:yes
ssh_forward_rtt200|positive|SSH|established|10.77.3.2:22|1|ssh -N -L default cipher; RTT 200 ms, jitter +/-15 ms, loss 1 %; vpnclient to 127.0.0.1:14443 with /DISABLEUDP:yes
admin|admin|TCP|-|10.77.2.2:443|0|vpncmd 10.77.2.2:443 /SERVER ServerInfoGet + HubList (one admin connection)
neg_https_h1|negative|-|-|10.77.2.3:443|0|nginx HTTPS curl --http1.1: index + 1.5 MB
neg_https_h2|negative|-|-|10.77.2.3:443|0|nginx HTTPS curl --http2: index + 20 small + 1.5 MB on one connection
neg_https_big|negative|-|-|10.77.2.3:443|0|nginx HTTPS one 6 MB download (HTTP/1.1)
neg_https_many_small|negative|-|-|10.77.2.3:443|0|100 small requests on one HTTP/1.1 keep-alive connection, 0.1-0.4 s apart
neg_https_longlived|negative|-|-|10.77.2.3:443|0|one HTTPS connection (python ssl), small GET every 2-6 s for 70 s
neg_http_plain|negative|-|-|10.77.2.3:80|0|plain HTTP: index + small files + 1.5 MB
neg_ssh_interactive|negative|-|-|10.77.3.2:22|0|ssh -tt shell, keystrokes at human pace for ~30 s
neg_scp|negative|-|-|10.77.3.2:22|0|scp of 3 MB from jump host
neg_ssh_forward_https|negative|-|-|10.77.3.2:22|0|ssh -N -L to nginx 10.77.2.3:443; curl requests + one long-lived HTTPS connection (40 s)
neg_openvpn_tcp|negative|-|-|10.77.2.3:1194|0|OpenVPN 2.6 TCP (TLS, AES-256-GCM); ping + 1.5 MB HTTP through tunnel
neg_squid_https|negative|-|-|10.77.3.2:3128|0|curl -x squid HTTPS (CONNECT) index + 1.5 MB + smalls
neg_socks5_https|negative|-|-|10.77.3.2:1080|0|curl --socks5 HTTPS index + 1.5 MB + smalls
neg_socks4_https|negative|-|-|10.77.3.2:1080|0|curl --socks4 HTTPS index + 1.5 MB + smalls
neg_https_rtt200|negative|-|-|10.77.2.3:443|0|HTTPS h1 + h2 requests; RTT 200 ms, jitter +/-15 ms, loss 1 %
neg_ssh_interactive_rtt100|negative|-|-|10.77.3.2:22|0|ssh -tt shell at human pace + 1 MB scp; RTT 100 ms, jitter +/-8 ms, loss 0.5 %
EOF
)

if [ "${1:-}" = "--list" ]; then echo "$TABLE"; exit 0; fi
NAME=${1:?usage: scenario.sh NAME | --list}
echo "$TABLE" | grep -q "^$NAME|" || die "unknown scenario $NAME (see --list)"

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

# ----------------------------------------------------------- scenarios
t0=$SECONDS
case "$NAME" in
  direct_443) se_session "$SRV_IP:443" ;;
  direct_5555) se_session "$SRV_IP:5555" ;;
  direct_992) se_session "$SRV_IP:992" ;;
  direct_unusual_port) se_session "$SRV_IP:$SE_UNUSUAL_PORT" ;;
  multi_tcp) SETTLE=8 se_session "$SRV_IP:443" "AccountDetailSet $ACCT /MAXTCP:8 /INTERVAL:1 /TTL:0 /HALF:yes /BRIDGE:no /MONITOR:no /NOTRACK:no /NOQOS:no /DISABLEUDP:no" ;;
  compression) se_session "$SRV_IP:443" "AccountCompressEnable $ACCT" ;;
  encrypt_off) se_session "$SRV_IP:443" "AccountEncryptDisable $ACCT" ;;
  idle)
    se_account "$SRV_IP:443"
    se_connect_wait 40
    se_nic_up
    cli ping -q -c 2 -i 0.5 "$VPN_GW_IP" >/dev/null 2>&1 || true
    say "idling 75 s"
    sleep 75
    se_finish 0 ;;
  fail_password) se_fail "$SE_HUB" wrongpassword ;;
  fail_hub) se_fail NOSUCHHUB "$SE_PASS" ;;
  http_proxy) se_session "$SRV_IP:443" "AccountProxyHttp $ACCT /SERVER:$PX_IP:$SQUID_PORT /USERNAME:none /PASSWORD:none" ;;
  socks5) se_session "$SRV_IP:443" "AccountProxySocks5 $ACCT /SERVER:$PX_IP:$DANTE_PORT /USERNAME:none /PASSWORD:none" ;;
  socks4) se_session "$SRV_IP:443" "AccountProxySocks $ACCT /SERVER:$PX_IP:$DANTE_PORT /USERNAME:none /PASSWORD:none" ;;
  ssh_forward) ssh_fwd_session 127.0.0.1 "$SRV_IP" ;;
  ssh_forward_compress) ssh_fwd_session 127.0.0.1 "$SRV_IP" -C ;;
  ssh_forward_aes256gcm) ssh_fwd_session 127.0.0.1 "$SRV_IP" -c aes256-gcm@openssh.com ;;
  ssh_forward_chacha20) ssh_fwd_session 127.0.0.1 "$SRV_IP" -c chacha20-poly1305@openssh.com ;;
  ssh_forward_lanaddr) ssh_fwd_session "$CLI_IP" "$SRV_IP" ;;
  ssh_forward_hostname) ssh_fwd_session cli.lab vpn.lab ;;
  ssh_forward_shell)
    # one SSH connection: port forward + interactive pty session typed at human pace
    typist 45 | setsid ip netns exec "$NS_CLI" ssh -F "$SSH_CFG" -tt -L "127.0.0.1:$FWD_PORT:$SRV_IP:443" "$PX_IP" >"$OUT/logs/ssh-$NAME.log" 2>&1 &
    BG+=($!)
    wait_fwd 127.0.0.1 "$FWD_PORT"
    sleep 3
    se_session "127.0.0.1:$FWD_PORT" "$NOUDP"
    wait "${BG[@]}" 2>/dev/null || true ;;
  direct_443_rtt40) delay 40 4 0.5; se_session "$SRV_IP:443" ;;
  direct_443_rtt200) delay 200 15 1; se_session "$SRV_IP:443" ;;
  http_proxy_rtt40) delay 40 4 0.5; se_session "$SRV_IP:443" "AccountProxyHttp $ACCT /SERVER:$PX_IP:$SQUID_PORT /USERNAME:none /PASSWORD:none" ;;
  http_proxy_rtt200) delay 200 15 1; se_session "$SRV_IP:443" "AccountProxyHttp $ACCT /SERVER:$PX_IP:$SQUID_PORT /USERNAME:none /PASSWORD:none" ;;
  ssh_forward_rtt40) delay 40 4 0.5; ssh_fwd_session 127.0.0.1 "$SRV_IP" ;;
  ssh_forward_rtt200) delay 200 15 1; ssh_fwd_session 127.0.0.1 "$SRV_IP" ;;
  admin)
    printf 'ServerInfoGet\nHubList\n' >"$OUT/admin.txt"
    nsx "$NS_CLI" unshare -m --propagation private "$LAB_DIR/se-run.sh" "$OUT/vpncmd" "$OUT/vpncmd/vpncmd" "$SRV_IP:443" /SERVER /PASSWORD:"$SE_ADMIN_PW" /IN:"$OUT/admin.txt" >"$OUT/logs/admin.log" 2>&1 || die "admin vpncmd failed"
    grep -q 'SoftEther VPN Server' "$OUT/logs/admin.log" || die "admin output unexpected" ;;
  neg_https_h1)
    cli curl "${CURL_OPTS[@]}" --http1.1 "$H/index.html" -o /dev/null "$H/mid.bin" ;;
  neg_https_h2)
    # shellcheck disable=SC2046
    cli curl -s -k --max-time 60 --http2 $(for u in "$H/index.html" $(smalls 20) "$H/mid.bin"; do echo -o /dev/null "$u"; done) ;;
  neg_https_big)
    cli curl "${CURL_OPTS[@]}" --http1.1 "$H/big.bin" ;;
  neg_https_many_small)
    cli /usr/bin/python3 - "$WEB_IP" <<'PY'
import socket, ssl, sys, time, random
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((sys.argv[1], 443), timeout=30), server_hostname="web.lab")
r = random.Random(5)
for i in range(100):
    s.sendall(("GET /s%d.txt HTTP/1.1\r\nHost: web.lab\r\nUser-Agent: Mozilla/5.0\r\nAccept: */*\r\n\r\n" % i).encode())
    buf = b""
    while b"\r\n\r\n" not in buf:
        buf += s.recv(4096)
    head, body = buf.split(b"\r\n\r\n", 1)
    clen = int([l.split(b":")[1] for l in head.split(b"\r\n") if l.lower().startswith(b"content-length")][0])
    while len(body) < clen:
        body += s.recv(65536)
    time.sleep(r.uniform(0.1, 0.4))
s.close()
PY
    ;;
  neg_https_longlived)
    n=$(cli bash -c "$(declare -f longlived_https); longlived_https $WEB_IP 443 70"); say "$n polls" ;;
  neg_http_plain)
    # shellcheck disable=SC2046
    cli curl -s --max-time 60 $(for u in index.html s1.txt s2.txt s3.txt mid.bin; do echo -o /dev/null "http://$WEB_IP/$u"; done) ;;
  neg_ssh_interactive)
    typist 30 | cli ssh -F "$SSH_CFG" -tt "$PX_IP" >"$OUT/logs/ssh-$NAME.log" 2>&1 || true ;;
  neg_scp)
    cli scp -F "$SSH_CFG" -q "$PX_IP:$OUT/ssh/payload.bin" "$OUT/scp.bin"; rm -f "$OUT/scp.bin" ;;
  neg_ssh_forward_https)
    ssh_bg -N -L "127.0.0.1:$FWD_PORT:$WEB_IP:443" "$PX_IP"
    wait_fwd 127.0.0.1 "$FWD_PORT"
    F="https://127.0.0.1:$FWD_PORT"
    cli curl "${CURL_OPTS[@]}" --http1.1 "$F/index.html"
    cli curl -s -k --max-time 60 --http2 -o /dev/null "$F/s1.txt" -o /dev/null "$F/s2.txt" -o /dev/null "$F/mid.bin"
    n=$(cli bash -c "$(declare -f longlived_https); longlived_https 127.0.0.1 $FWD_PORT 40"); say "$n polls"
    cli curl "${CURL_OPTS[@]}" --http1.1 "$F/s3.txt" ;;
  neg_openvpn_tcp)
    setsid ip netns exec "$NS_CLI" openvpn --config "$OUT/ovpn/client.conf" --dev tun-ovpn >"$OUT/logs/openvpn-cli.log" 2>&1 </dev/null &
    BG+=($!)
    for i in $(seq 100); do grep -q 'Initialization Sequence Completed' "$OUT/logs/openvpn-cli.log" && break; sleep 0.2; done
    grep -q 'Initialization Sequence Completed' "$OUT/logs/openvpn-cli.log" || die "openvpn did not connect"
    cli ping -q -c 6 -i 0.5 -s 1000 10.8.0.1 >/dev/null || say "warning: ping via openvpn lost packets"
    cli curl -s --max-time 60 -o /dev/null http://10.8.0.1/mid.bin
    sleep 2 ;;
  neg_squid_https)
    cli curl "${CURL_OPTS[@]}" -x "$PX_IP:$SQUID_PORT" "$H/index.html" -o /dev/null "$H/mid.bin" -o /dev/null "$H/s1.txt" ;;
  neg_socks5_https)
    cli curl "${CURL_OPTS[@]}" --socks5 "$PX_IP:$DANTE_PORT" "$H/index.html" -o /dev/null "$H/mid.bin" -o /dev/null "$H/s1.txt" ;;
  neg_socks4_https)
    cli curl "${CURL_OPTS[@]}" --socks4 "$PX_IP:$DANTE_PORT" "$H/index.html" -o /dev/null "$H/mid.bin" -o /dev/null "$H/s1.txt" ;;
  neg_https_rtt200)
    delay 200 15 1
    cli curl "${CURL_OPTS[@]}" --http1.1 "$H/index.html" -o /dev/null "$H/300k.bin"
    # shellcheck disable=SC2046
    cli curl -s -k --max-time 60 --http2 $(for u in $(smalls 10); do echo -o /dev/null "$u"; done) ;;
  neg_ssh_interactive_rtt100)
    delay 100 8 0.5
    typist 25 | cli ssh -F "$SSH_CFG" -tt "$PX_IP" >"$OUT/logs/ssh-$NAME.log" 2>&1 || true
    cli bash -c "head -c 1000000 '$OUT/ssh/payload.bin' > '$OUT/ssh/payload1m.bin'"
    cli scp -F "$SSH_CFG" -q "$PX_IP:$OUT/ssh/payload1m.bin" "$OUT/scp.bin"; rm -f "$OUT/scp.bin" ;;
  *) die "scenario $NAME not implemented" ;;
esac
say "done in $((SECONDS - t0)) s"
