#!/bin/bash
# scenario.sh NAME — run one lab scenario on the client side (lab must be up).
# scenario.sh --list  — print "NAME<TAB>label<TAB>variant<TAB>outcome<TAB>server<TAB>sessions<TAB>note" for all.
set -euo pipefail
. "$(dirname "$0")/lib.sh"


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

. "$(dirname "$0")/scenario_lib.sh"

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
