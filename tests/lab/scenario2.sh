#!/bin/bash
# scenario2.sh NAME — lab2 (generalisation set) scenarios: SoftEther settings and network
# conditions the detector was not tuned on, plus more look-alike negatives.
# scenario2.sh --list — same table format as scenario.sh. Record with record2.sh
# (-> testdata/lab2/). Positive files hold exactly one SoftEther session (except
# multi_session4: four); through the tunnel each does 6 pings of 1,200 B and a 150 KB HTTP
# download (bulk_*: 2 MB; multi_session4: 8 pings per session) to keep files small.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

LONG_HUB=HUB_generalisation_test_0123456789abcdef   # 40 characters
LONG_USER=user_generalisation_test_0123456789abcd   # 40 characters
R500="RTT 500 ms, jitter +/-30 ms per direction, loss 1.5 %"

# name | label | variant | outcome | server | sessions | note
TABLE=$(cat <<EOF
tls12_server|positive|TCP|established|10.77.2.2:443|1|direct 443; vpnserver limited to TLS 1.2 (OPENSSL_CONF MaxProtocol=TLSv1.2; 5.01 has no Tls_Disable1_3 key); default client settings
tls12_server_http_proxy|positive|HTTP Proxy|established|10.77.3.2:3128|1|squid CONNECT 10.77.2.2:443; vpnserver limited to TLS 1.2
hostname_direct|positive|TCP|established|10.77.2.2:443|1|direct; client account /SERVER:vpn.lab:443 (host name from /etc/netns/se-cli/hosts; SNI vpn.lab)
hostname_http_proxy|positive|HTTP Proxy|established|10.77.3.2:3128|1|squid; client account /SERVER:vpn.lab:443 (CONNECT vpn.lab:443, SNI vpn.lab)
direct_443_rtt500|positive|TCP|established|10.77.2.2:443|1|direct 443, default settings; $R500
http_proxy_rtt500|positive|HTTP Proxy|established|10.77.3.2:3128|1|squid CONNECT 10.77.2.2:443; $R500 (client-proxy)
tls12_server_idle|positive|TCP|established|10.77.2.2:443|1|direct 443; vpnserver limited to TLS 1.2; connect, 2 pings, then idle 40 s (TLS 1.2 keep-alives)
socks5_rtt500|positive|SOCKS5 Proxy|established|10.77.3.2:1080|1|dante SOCKS5 to 10.77.2.2:443; $R500 (client-proxy); 2 ICMP 'fragment reassembly time exceeded' stragglers of the previous (direct_rtt500) session removed; 1 late FIN 192.168.30.10->10.77.9.1:80 of the inner HTTP connection leaks onto the LAN after the tunnel closes (kept)
bulk_maxtcp4|positive|TCP|established|10.77.2.2:443|1|AccountDetailSet /MAXTCP:4 /HALF:yes /INTERVAL:1; 2 MB HTTP download through the tunnel
bulk_maxtcp1|positive|TCP|established|10.77.2.2:443|1|AccountDetailSet /MAXTCP:1 /HALF:no (single bulk TCP); 2 MB HTTP download through the tunnel
long_account|positive|TCP|established|10.77.2.2:443|1|direct 443; 40-char hub name $LONG_HUB and 40-char user name $LONG_USER (password 20 chars)
long_account_http_proxy|positive|HTTP Proxy|established|10.77.3.2:3128|1|squid CONNECT 10.77.2.2:443; 40-char hub and user names
noqos_noudp|positive|TCP|established|10.77.2.2:443|1|direct 443; AccountDetailSet /MAXTCP:1 /NOQOS:yes /DISABLEUDP:yes (no UDP acceleration, no QoS)
ssh_forward_aes128ctr|positive|SSH|established|10.77.3.2:22|1|ssh -c aes128-ctr -m hmac-sha2-256 -N -L 127.0.0.1:14443:10.77.2.2:443 (non-AEAD, MAC separate); vpnclient to 127.0.0.1:14443 with /DISABLEUDP:yes
ssh_forward_shell_rtt200|positive|SSH|established|10.77.3.2:22|1|ssh -tt -L 127.0.0.1:14443:10.77.2.2:443 + interactive shell typed at human pace in the same SSH connection; RTT 200 ms, jitter +/-15 ms, loss 1 %; vpnclient with /DISABLEUDP:yes
neg_https_post|negative|-|-|10.77.2.3:443|0|curl -k --http1.1 20 POSTs of 2-4 KB bodies on one keep-alive connection to nginx (return 200), --rate 30/m
neg_openssl_post|negative|-|-|10.77.2.3:443|0|openssl s_client (no ALPN, TLS 1.3) to nginx; 6 hand-timed POSTs of 1-3 KB, 1.5-4 s apart
neg_stunnel|negative|-|-|10.77.2.3:8443|0|stunnel client (se-cli) -> stunnel server (TLS) -> plain TCP line service; request/response messages 0.3-3 s apart + 200 KB transfer
neg_openvpn_squid|negative|-|-|10.77.3.2:3128|0|OpenVPN 2.6 TCP via squid (http-proxy option, CONNECT 10.77.2.3:1194); ping + 300 KB through the tunnel
neg_tls_keepalive|negative|-|-|10.77.2.3:9443|0|long-lived TLS 1.3 (python ssl): server sends unsolicited 40-200 B messages every 3-5 s, client sends 30-120 B every 4 s, 50 s
multi_session4|positive|TCP|established|10.77.2.2:443|4|four concurrent sessions of one client host to 10.77.2.2:443 (default settings, 2 TCP each), four users (labuser, labuser2-4) and four vpnclient accounts on four virtual NICs (se0-se3), connected 2 s apart; 8 pings of 1,200 B through each, concurrently; then disconnected 1 s apart
neg_ssh_websocket|negative|-|-|10.77.3.2:22|0|ssh -N -L 127.0.0.1:14443:10.77.2.3:8765 (default cipher); python WebSocket over TLS 1.3 (ws_tls.py, RFC 6455) through the forward: upgrade, first client message 2-4 KB (server acks ~10 B), then client 50-200 B every 1-2 s, server pushes 40-300 B every 1.5-3 s, 40 s
neg_ssh_websocket_bigfirst|negative|-|-|10.77.3.2:22|0|as neg_ssh_websocket, but the server answers the first client message (2-4 KB) with a 1-2 KB message (like a SoftEther hello answering the watermark)
neg_ssh_websocket_setup|negative|-|-|10.77.3.2:22|0|as neg_ssh_websocket, but the first exchanges have SoftEther's set-up sizes (watermark/hello/login/welcome look-alike): client 2-3.5 KB, server answers 0.3-1.4 KB, client 2-4 KB, server answers 1.5-3 KB (WebSocket payload sizes, each message sent after the previous answer; ws_tls.py --setup / --setup-replies), then client 50-200 B every 1-2 s, server pushes 40-300 B every 1.5-3 s (unprompted, starting after the set-up), 40 s
EOF
)

if [ "${1:-}" = "--list" ]; then echo "$TABLE"; exit 0; fi
NAME=${1:?usage: scenario2.sh NAME | --list}
echo "$TABLE" | grep -q "^$NAME|" || die "unknown scenario $NAME (see --list)"

. "$(dirname "$0")/scenario_lib.sh"

# extra cleanup for lab2 (server TLS mode, long hub) on top of scenario_lib's
cleanup2() {
  cleanup
  if [ -n "${TLS_SET:-}" ]; then "$LAB_DIR/lab.sh" server-tls default || true; fi
  if [ -n "${LONG_HUB_SET:-}" ]; then vpncmd_srv /CMD HubDelete "$LONG_HUB" >/dev/null 2>&1 || true; fi
  if [ -n "${MS_SET:-}" ]; then ms_cleanup; fi
}
trap cleanup2 EXIT

DL_SIZE=${DL_SIZE:-150000}
se_traffic() { # lab2: ping + DL_SIZE bytes through the tunnel
  local n=${1:-6} f="$OUT/www/dl$DL_SIZE.bin"
  [ -f "$f" ] || head -c "$DL_SIZE" /dev/urandom >"$f"
  se_nic_up
  cli ping -q -c "$n" -i 0.5 -s 1200 -W 2 "$VPN_GW_IP" >"$OUT/last_ping" 2>&1 || say "warning: ping through tunnel: $(grep -o "[0-9]*% packet loss" "$OUT/last_ping")"
  cli curl -s --max-time 120 -o /dev/null -w "%{size_download}" "http://$INNER_IP/dl$DL_SIZE.bin" >"$OUT/last_dl" 2>/dev/null || true
  local got; got=$(cat "$OUT/last_dl" 2>/dev/null || echo 0)
  say "downloaded $got bytes through the tunnel"
  [ "$got" = "$DL_SIZE" ] || die "download through the tunnel failed"
}

HTTPPX="AccountProxyHttp $ACCT /SERVER:$PX_IP:$SQUID_PORT /USERNAME:none /PASSWORD:none"
SOCKS5="AccountProxySocks5 $ACCT /SERVER:$PX_IP:$DANTE_PORT /USERNAME:none /PASSWORD:none"
detail() { # detail MAXTCP HALF NOQOS DISABLEUDP
  echo "AccountDetailSet $ACCT /MAXTCP:$1 /INTERVAL:1 /TTL:0 /HALF:$2 /BRIDGE:no /MONITOR:no /NOTRACK:no /NOQOS:$3 /DISABLEUDP:$4"
}

# vpncmd against the server from inside se-srv (not seen by the sensor). lib.sh's
# vpncmd_server uses localhost:5555, but the server listens on $SRV_IP only after setup.
vpncmd_srv() {
  nsx "$NS_SRV" unshare -m --propagation private "$LAB_DIR/se-run.sh" "$OUT/vpncmd" \
    "$OUT/vpncmd/vpncmd" "$SRV_IP:5555" /SERVER /PASSWORD:"$SE_ADMIN_PW" "$@"
}

tls12() { "$LAB_DIR/lab.sh" server-tls 1.2; TLS_SET=1; }

long_account_setup() {
  LONG_HUB_SET=1
  vpncmd_srv /CMD HubDelete "$LONG_HUB" >/dev/null 2>&1 || true
  cat >"$OUT/longhub.txt" <<EOF
HubCreate $LONG_HUB /PASSWORD:labhubpw
Hub $LONG_HUB
UserCreate $LONG_USER /GROUP:none /REALNAME:none /NOTE:none
UserPasswordSet $LONG_USER /PASSWORD:longpass_0123456789
SecureNatEnable
DhcpDisable
EOF
  vpncmd_srv /IN:"$OUT/longhub.txt" >"$OUT/logs/longhub.log" 2>&1 || die "long hub setup failed"
}
long_session() { # long_session [extra vpncmd commands...]
  SE_ACCT_USED=1
  vc AccountDisconnect $ACCT >/dev/null 2>&1 || true
  vc AccountDelete $ACCT >/dev/null 2>&1 || true
  vc AccountCreate $ACCT /SERVER:"$SRV_IP:443" /HUB:"$LONG_HUB" /USERNAME:"$LONG_USER" /NICNAME:"$SE_NIC" || die "AccountCreate"
  vc AccountPasswordSet $ACCT /PASSWORD:longpass_0123456789 /TYPE:standard || die "AccountPasswordSet"
  vc AccountRetrySet $ACCT /NUM:0 /INTERVAL:5 || die "AccountRetrySet"
  local c
  for c in "$@"; do eval "vc $c" || die "vpncmd $c failed"; done
  se_connect_wait 40
  se_traffic
  se_finish 1
}

# ----------------------------------------------------------- multi_session4
# Four sessions of one client host: accounts ms1..ms4 (users labuser, labuser2..4) on NICs
# se0 (from lab.sh up) and se1..se3 (created here), addresses 192.168.30.10..13/24. All four
# NICs are ports of the same virtual hub (one L2 segment), so se-cli answers ARP only on the
# interface holding the address (arp_ignore=1/arp_announce=2) and each ping is bound to its
# interface (ping -I). Extra users, NICs and accounts are removed on exit.
MS_N=4
ms_user() { if [ "$1" = 1 ]; then echo "$SE_USER"; else echo "labuser$1"; fi; }
ms_cleanup() {
  local i
  for i in $(seq $MS_N); do vc AccountDisconnect "ms$i" >/dev/null 2>&1 || true; done
  sleep 1
  for i in $(seq $MS_N); do vc AccountDelete "ms$i" >/dev/null 2>&1 || true; done
  for i in $(seq 2 $MS_N); do
    vc NicDelete "se$((i - 1))" >/dev/null 2>&1 || true
    vpncmd_srv /ADMINHUB:"$SE_HUB" /CMD UserDelete "$(ms_user "$i")" >/dev/null 2>&1 || true
  done
  cli sysctl -qw net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.all.arp_announce=0 >/dev/null 2>&1 || true
}
ms_status() { vpncmd_client /CMD AccountStatusGet "ms$1" 2>/dev/null | grep -E '^Session Status' | sed 's/.*|//'; }
multi_session() {
  MS_SET=1
  local i t0 st ok
  {
    echo "Hub $SE_HUB"
    for i in $(seq 2 $MS_N); do
      echo "UserCreate $(ms_user "$i") /GROUP:none /REALNAME:none /NOTE:none"
      echo "UserPasswordSet $(ms_user "$i") /PASSWORD:$SE_PASS"
    done
  } >"$OUT/ms_users.txt"
  vpncmd_srv /IN:"$OUT/ms_users.txt" >"$OUT/logs/ms_users.log" 2>&1 || die "user setup failed"
  cli sysctl -qw net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2 >/dev/null
  for i in $(seq $MS_N); do
    local nic="se$((i - 1))"
    if [ "$i" -gt 1 ]; then
      vc NicCreate "$nic" || die "NicCreate $nic"
    fi
    vc AccountDelete "ms$i" >/dev/null 2>&1 || true
    vc AccountCreate "ms$i" /SERVER:"$SRV_IP:443" /HUB:"$SE_HUB" /USERNAME:"$(ms_user "$i")" /NICNAME:"$nic" || die "AccountCreate ms$i"
    vc AccountPasswordSet "ms$i" /PASSWORD:"$SE_PASS" /TYPE:standard || die "AccountPasswordSet ms$i"
    vc AccountRetrySet "ms$i" /NUM:0 /INTERVAL:5 || die "AccountRetrySet ms$i"
  done
  for i in $(seq 2 $MS_N); do
    for _ in $(seq 50); do cli ip link show "vpn_se$((i - 1))" >/dev/null 2>&1 && break; sleep 0.1; done
  done
  # connect 2 s apart (deadline-based: vpncmd itself takes a moment)
  t0=$(date +%s.%N)
  for i in $(seq $MS_N); do
    sleep "$(awk -v t0="$t0" -v i="$i" -v now="$(date +%s.%N)" 'BEGIN{d=t0+2*(i-1)-now; print (d>0?d:0)}')"
    vc AccountConnect "ms$i" || die "AccountConnect ms$i"
    say "ms$i ($(ms_user "$i"), NIC se$((i - 1))) connect at +$(awk -v t0="$t0" -v now="$(date +%s.%N)" 'BEGIN{printf "%.1f", now-t0}') s"
  done
  for _ in $(seq 160); do
    ok=0
    for i in $(seq $MS_N); do st=$(ms_status "$i" || true); case "$st" in *Established*) ok=$((ok + 1)) ;; esac; done
    [ $ok = $MS_N ] && break
    sleep 0.25
  done
  [ $ok = $MS_N ] || die "only $ok of $MS_N sessions established"
  say "all $MS_N sessions established"
  local pids=()
  for i in $(seq $MS_N); do
    local dev="vpn_se$((i - 1))" ip="192.168.30.$((9 + i))"
    cli ip link set "$dev" up
    cli ip addr replace "$ip/24" dev "$dev"
    cli ping -q -I "$dev" -c 8 -i 0.5 -s 1200 -W 2 "$VPN_GW_IP" >"$OUT/ms_ping$i" 2>&1 &
    pids+=($!)
  done
  for i in $(seq $MS_N); do
    wait "${pids[$((i - 1))]}" || true
    say "ms$i ping: $(grep -o '[0-9]* received' "$OUT/ms_ping$i" || echo failed)"
  done
  sleep 1
  for i in $(seq $MS_N); do vc AccountDisconnect "ms$i" || true; sleep 1; done
}

# ----------------------------------------------------------- negatives helpers
W=$WEB_IP

ssh_websocket() { # ssh_websocket SECS [ws_tls.py server options] [-- client options]: WebSocket/TLS through ssh -L
  local secs=$1; shift
  local copts=() sopts=()
  while [ $# -gt 0 ]; do
    if [ "$1" = -- ]; then shift; copts=("$@"); break; fi
    sopts+=("$1"); shift
  done
  set -- ${sopts[@]+"${sopts[@]}"}
  local d="$OUT/ws" port=8765; mkdir -p "$d"
  [ -f "$d/ws.crt" ] || openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=ws.lab" -keyout "$d/ws.key" -out "$d/ws.crt" 2>/dev/null
  setsid ip netns exec "$NS_SRV" /usr/bin/python3 "$LAB_DIR/ws_tls.py" server "$W" "$port" "$d/ws.crt" "$d/ws.key" "$@" \
    >"$OUT/logs/ws_server.log" 2>&1 </dev/null &
  BG+=($!)
  local i; for i in $(seq 50); do nsx "$NS_SRV" ss -Hltn "sport = :$port" | grep -q . && break; sleep 0.1; done
  ssh_bg -N -L "127.0.0.1:$FWD_PORT:$W:$port" "$PX_IP"
  wait_fwd 127.0.0.1 "$FWD_PORT"
  sleep 1
  # (not in $(...): BG must stay in this shell so cleanup stops ssh and the server)
  cli /usr/bin/python3 "$LAB_DIR/ws_tls.py" client 127.0.0.1 "$FWD_PORT" "$secs" ${copts[@]+"${copts[@]}"} >"$OUT/ws_client.out"
  say "websocket client: $(cat "$OUT/ws_client.out")"
  sleep 1
}

tls_keepalive() { # server in se-srv, client in se-cli
  local secs=$1
  cat >"$OUT/ka_server.py" <<'PY'
import socket, ssl, sys, time, random, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[2], sys.argv[3])
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind((sys.argv[1], 9443)); ls.listen(1)
c, _ = ls.accept(); s = ctx.wrap_socket(c, server_side=True)
r = random.Random(11); stop = False
def reader():
    global stop
    while True:
        d = s.recv(4096)
        if not d: stop = True; return
        s.sendall(b'{"ack":%d}' % len(d))
threading.Thread(target=reader, daemon=True).start()
n = 0
while not stop:
    time.sleep(r.uniform(3.0, 5.0))
    if stop: break
    n += 1
    try: s.sendall(('{"type":"event","seq":%d,"data":"%s"}' % (n, "x" * r.randrange(10, 170))).encode())
    except OSError: break
PY
  cat >"$OUT/ka_client.py" <<'PY'
import socket, ssl, sys, time, random, threading
ctx = ssl.create_default_context(); ctx.check_hostname = False; ctx.verify_mode = ssl.CERT_NONE
s = ctx.wrap_socket(socket.create_connection((sys.argv[1], 9443), timeout=30), server_hostname="web.lab")
def reader():
    while True:
        try:
            d = s.recv(4096)
        except OSError: return
        if not d: return
threading.Thread(target=reader, daemon=True).start()
r = random.Random(13); end = time.time() + float(sys.argv[2]); n = 0
while time.time() < end:
    time.sleep(4.0)
    n += 1
    s.sendall(('{"type":"ping","seq":%d,"pad":"%s"}' % (n, "y" * r.randrange(0, 90))).encode())
time.sleep(1); s.close(); print(n)
PY
  setsid ip netns exec "$NS_SRV" /usr/bin/python3 "$OUT/ka_server.py" "$W" "$OUT/tls/web.crt" "$OUT/tls/web.key" >"$OUT/logs/ka_server.log" 2>&1 </dev/null &
  BG+=($!)
  local i; for i in $(seq 50); do nsx "$NS_SRV" ss -Hltn "sport = :9443" | grep -q . && break; sleep 0.1; done
  cli /usr/bin/python3 "$OUT/ka_client.py" "$W" "$secs"
}

stunnel_run() {
  local d="$OUT/stunnel"; mkdir -p "$d"
  cat >"$d/srv.conf" <<EOF
foreground = yes
pid =
[lab]
accept = $W:8443
connect = 127.0.0.1:7000
cert = $OUT/tls/web.crt
key = $OUT/tls/web.key
EOF
  cat >"$d/cli.conf" <<EOF
foreground = yes
pid =
[lab]
client = yes
accept = 127.0.0.1:7001
connect = $W:8443
EOF
  # plain TCP line service behind the server stunnel
  cat >"$d/svc.py" <<'PY'
import socket, os
ls = socket.socket(); ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 7000)); ls.listen(4)
while True:
    c, _ = ls.accept(); f = c.makefile("rb")
    for line in f:
        line = line.strip()
        if line.startswith(b"GET "):
            n = int(line.split()[1]); c.sendall(b"DATA %d\n" % n + os.urandom(n))
        elif line == b"QUIT":
            break
        else:
            c.sendall(b"OK " + line[:60] + b"\n")
    c.close()
PY
  setsid ip netns exec "$NS_SRV" /usr/bin/python3 "$d/svc.py" >"$OUT/logs/stunnel-svc.log" 2>&1 </dev/null &
  BG+=($!)
  setsid ip netns exec "$NS_SRV" stunnel "$d/srv.conf" >"$OUT/logs/stunnel-srv.log" 2>&1 </dev/null &
  BG+=($!)
  setsid ip netns exec "$NS_CLI" stunnel "$d/cli.conf" >"$OUT/logs/stunnel-cli.log" 2>&1 </dev/null &
  BG+=($!)
  local i
  for i in $(seq 50); do nsx "$NS_SRV" ss -Hltn "sport = :8443" | grep -q . && nsx "$NS_CLI" ss -Hltn "sport = :7001" | grep -q . && break; sleep 0.1; done
  cli /usr/bin/python3 - <<'PY'
import socket, time, random
s = socket.create_connection(("127.0.0.1", 7001), timeout=30); f = s.makefile("rb")
r = random.Random(17)
for i in range(25):
    s.sendall(b"MSG %d %s\n" % (i, b"z" * r.randrange(5, 200))); f.readline()
    time.sleep(r.uniform(0.3, 3.0))
s.sendall(b"GET 200000\n"); hdr = f.readline(); n = int(hdr.split()[1]); got = 0
while got < n:
    got += len(f.read1(65536))
s.sendall(b"QUIT\n"); time.sleep(0.5); s.close()
PY
}

openvpn_squid() {
  sed -e "s/^remote .*/remote $W 1194/" "$OUT/ovpn/client.conf" >"$OUT/ovpn/client-px.conf"
  echo "http-proxy $PX_IP $SQUID_PORT" >>"$OUT/ovpn/client-px.conf"
  setsid ip netns exec "$NS_CLI" openvpn --config "$OUT/ovpn/client-px.conf" --dev tun-ovpn >"$OUT/logs/openvpn-cli-px.log" 2>&1 </dev/null &
  BG+=($!)
  local i
  for i in $(seq 150); do grep -q 'Initialization Sequence Completed' "$OUT/logs/openvpn-cli-px.log" && break; sleep 0.2; done
  grep -q 'Initialization Sequence Completed' "$OUT/logs/openvpn-cli-px.log" || die "openvpn via squid did not connect"
  cli ping -q -c 6 -i 0.5 -s 1000 10.8.0.1 >/dev/null || say "warning: ping via openvpn lost packets"
  cli curl -s --max-time 60 -o /dev/null http://10.8.0.1/300k.bin
  sleep 2
}

openssl_post() {
  local i n
  {
    sleep 1.5
    for i in 1 2 3 4 5 6; do
      n=$((1000 + (i * 379) % 2000))
      local conn=keep-alive; [ $i = 6 ] && conn=close
      printf 'POST /post HTTP/1.1\r\nHost: web.lab\r\nContent-Type: application/octet-stream\r\nContent-Length: %d\r\nConnection: %s\r\n\r\n' $n $conn
      head -c $n /dev/urandom
      sleep "$(awk -v i=$i 'BEGIN{srand(i); printf "%.2f", 1.5 + rand()*2.5}')"
    done
  } | cli timeout 60 openssl s_client -connect "$W:443" -servername web.lab -quiet -ign_eof >/dev/null 2>"$OUT/logs/openssl-post.err" || true
}

https_post() {
  local i args=() f
  for i in $(seq 1 20); do
    f="$OUT/post$i.bin"; head -c $((2048 + (i * 613) % 2048)) /dev/urandom >"$f"
    [ $i -gt 1 ] && args+=(--next)
    args+=(-s -k --http1.1 --max-time 120 -o /dev/null -X POST -H 'Content-Type: application/octet-stream' --data-binary "@$f" --rate 30/m "https://$W/post?n=$i")
  done
  cli curl "${args[@]}"
  rm -f "$OUT"/post*.bin
}

# ----------------------------------------------------------- scenarios
t0=$SECONDS
case "$NAME" in
  tls12_server) tls12; se_session "$SRV_IP:443" ;;
  tls12_server_http_proxy) tls12; se_session "$SRV_IP:443" "$HTTPPX" ;;
  hostname_direct) se_session "vpn.lab:443" ;;
  hostname_http_proxy) se_session "vpn.lab:443" "$HTTPPX" ;;
  direct_443_rtt500) delay 500 30 1.5; se_session "$SRV_IP:443" ;;
  http_proxy_rtt500) delay 500 30 1.5; se_session "$SRV_IP:443" "$HTTPPX" ;;
  tls12_server_idle)
    tls12
    se_account "$SRV_IP:443"
    se_connect_wait 40
    se_nic_up
    cli ping -q -c 2 -i 0.5 "$VPN_GW_IP" >/dev/null 2>&1 || true
    say "idling 40 s"
    sleep 40
    se_finish 0 ;;
  socks5_rtt500) delay 500 30 1.5; se_session "$SRV_IP:443" "$SOCKS5" ;;
  bulk_maxtcp4) DL_SIZE=2000000 SETTLE=6 se_session "$SRV_IP:443" "$(detail 4 yes no no)" ;;
  bulk_maxtcp1) DL_SIZE=2000000 se_session "$SRV_IP:443" "$(detail 1 no no no)" ;;
  long_account) long_account_setup; long_session ;;
  long_account_http_proxy) long_account_setup; long_session "$HTTPPX" ;;
  noqos_noudp) se_session "$SRV_IP:443" "$(detail 1 no yes yes)" ;;
  ssh_forward_aes128ctr) ssh_fwd_session 127.0.0.1 "$SRV_IP" -c aes128-ctr -m hmac-sha2-256 ;;
  ssh_forward_shell_rtt200)
    delay 200 15 1
    typist 60 | setsid ip netns exec "$NS_CLI" ssh -F "$SSH_CFG" -tt -L "127.0.0.1:$FWD_PORT:$SRV_IP:443" "$PX_IP" >"$OUT/logs/ssh-$NAME.log" 2>&1 &
    BG+=($!)
    wait_fwd 127.0.0.1 "$FWD_PORT"
    sleep 3
    se_session "127.0.0.1:$FWD_PORT" "$NOUDP"
    wait "${BG[@]}" 2>/dev/null || true ;;
  neg_https_post) https_post ;;
  neg_openssl_post) openssl_post ;;
  neg_stunnel) stunnel_run ;;
  neg_openvpn_squid) openvpn_squid ;;
  neg_tls_keepalive) n=$(tls_keepalive 50); say "$n client messages" ;;
  multi_session4) multi_session ;;
  neg_ssh_websocket) ssh_websocket 40 ;;
  neg_ssh_websocket_bigfirst) ssh_websocket 40 --first-reply 1024-2048 ;;
  neg_ssh_websocket_setup) ssh_websocket 40 --setup-replies 300-1400,1536-3072 -- --setup 2048-3584,2048-4096 ;;
  *) die "scenario $NAME not implemented" ;;
esac
say "done in $((SECONDS - t0)) s"
