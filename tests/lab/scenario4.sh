#!/bin/bash
# scenario4.sh NAME — lab4: the SoftEther VPN server's "other faces" (its built-in OpenVPN
# server over UDP and TCP, its SSTP listener and its self-generated certificate) and real
# look-alikes (an ordinary OpenVPN 2.6 server, nginx with self-signed certificates).
# scenario4.sh --list — same table format as scenario.sh. Record with record4.sh
# (-> testdata/lab4/, labels in testdata/lab4/faces_labels.tsv).
#
# Everything a scenario changes is undone on exit: SecureNAT DHCP (needed by SoftEther's
# OpenVPN L3 mode) is switched off again, the vpnclient NIC vpn_se0 (taken down so that the
# OpenVPN tun owns 192.168.30.0/24 in se-cli) is brought back with its address and route,
# and the helpers started here (openvpn client/server, second nginx) are ended by PID.
# Server-side vpncmd runs inside se-srv against 10.77.2.2:5555: not seen by the sensor.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# name | label | variant | outcome | server | sessions | note
TABLE=$(cat <<EOF
openvpn_udp_softether|positive|server|established|10.77.2.2:1194|1|OpenVPN face over UDP: OpenVPN 2.6.14 client with the config from the server's OpenVpnMakeConfig (vm_openvpn_remote_access_l3.ovpn: dev tun, proto udp, cipher AES-128-CBC, auth SHA1, auth-user-pass, <ca> = the server's self-signed cert), user labuser@LAB; tunnel up (SecureNAT DHCP gives 192.168.30.x), 6 pings of 1,000 B to 192.168.30.1, client stopped (SIGTERM, no explicit-exit-notify)
openvpn_tcp_softether|positive|server|established|10.77.2.2:443|1|OpenVPN face over TCP on the SoftEther TCP 443 listener (same listener as the SoftEther protocol, HTTPS and SSTP): same client config with proto tcp-client, remote 10.77.2.2 443; tunnel up, 6 pings of 1,000 B to 192.168.30.1, client stopped
sstp_tls12_softether|positive|server|-|10.77.2.2:443|0|SSTP face + certificate: curl --tls-max 1.2 SSTP_DUPLEX_POST /sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/ (Content-Length 18446744073709551615; the Debian 5.01 server never answers it, curl gives up after 3 s), then one openssl s_client -tls1_2 handshake; TLS 1.2 shows the server's self-generated certificate (CN=O=OU=host name, C=US) in clear
neg_openvpn_udp_plain|negative|-|-|10.77.2.3:1194|0|OpenVPN look-alike over UDP: ordinary OpenVPN 2.6.14 server (mode server, topology subnet, verify-client-cert none, auth-user-pass-verify, EC P-256 PKI, AEAD data ciphers) and a client whose config has the SoftEther sample's shape (client, auth-user-pass, CA only); 6 pings of 1,000 B through the tunnel
neg_openvpn_tcp_plain|negative|-|-|10.77.2.3:1194|0|OpenVPN look-alike over TCP: the lab's ordinary OpenVPN 2.6.14 p2p tcp-server (TLS mode, EC P-256 PKI, client certificate); 6 pings of 1,000 B through the tunnel
neg_tls12_selfsigned|negative|-|-|10.77.2.3:4443|0|certificate look-alike: nginx with a self-signed RSA 2048 cert from openssl req -x509 -subj /CN=vpn.lab/O=vpn.lab/OU=vpn.lab/C=US (OpenSSL 3 default extensions: SKI, AKI, CA:TRUE); same client actions as sstp_tls12_softether (curl --tls-max 1.2 SSTP_DUPLEX_POST, openssl s_client -tls1_2)
neg_tls12_selfsigned_cnonly|negative|-|-|10.77.2.3:4444|0|certificate look-alike: nginx with a default openssl req -x509 self-signed RSA 2048 cert with only a CN (/CN=web4.lab); same client actions as sstp_tls12_softether
EOF
)

if [ "${1:-}" = "--list" ]; then echo "$TABLE"; exit 0; fi
NAME=${1:?usage: scenario4.sh NAME | --list}
echo "$TABLE" | grep -q "^$NAME|" || die "unknown scenario $NAME (see --list)"

. "$(dirname "$0")/scenario_lib.sh"

L4="$OUT/lab4"
mkdir -p "$L4"

# vpncmd against the server from inside se-srv (not seen by the sensor)
vs() {
  nsx "$NS_SRV" unshare -m --propagation private "$LAB_DIR/se-run.sh" "$OUT/vpncmd" \
    "$OUT/vpncmd/vpncmd" "$SRV_IP:5555" /SERVER /PASSWORD:"$SE_ADMIN_PW" "$@"
}

# ---------------------------------------------------------------- clean-up
DHCP_SET=""
NIC_DOWN=""
cleanup4() {
  cleanup # BG processes (TERM by PID, with their children)
  local p i
  for p in "${BG[@]}"; do
    for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
  done
  if [ -n "$DHCP_SET" ]; then
    vs /ADMINHUB:"$SE_HUB" /CMD DhcpDisable >/dev/null 2>&1 || say "warning: DhcpDisable failed"
  fi
  if [ -n "$NIC_DOWN" ]; then se_nic_up || say "warning: could not restore vpn_$SE_NIC"; fi
}
trap cleanup4 EXIT

bg() { # bg LOG NS CMD... : start a helper in namespace NS, remember its PID
  local logf=$1 ns=$2; shift 2
  setsid ip netns exec "$ns" "$@" >"$logf" 2>&1 </dev/null &
  BG+=($!)
}

wait_log() { # wait_log FILE PATTERN SECS
  local i
  for i in $(seq $(($3 * 5))); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.2; done
  return 1
}

stop_last() { # stop the most recent helper (TERM, then wait for it to exit)
  local p=${BG[-1]} i
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
}

pings() { # pings DEV DST
  cli ping -c 6 -i 0.5 -s 1000 -W 2 -I "$1" "$2" >"$OUT/last_ping" 2>&1 || true
  say "ping $2 via $1: $(grep -oE '[0-9]+ received' "$OUT/last_ping" || echo '0 received')"
  grep -qE ' [1-9][0-9]* received' "$OUT/last_ping" || die "no ping reply through the tunnel"
}

# ---------------------------------------------------------------- SoftEther OpenVPN face
se_ovpn_config() { # se_ovpn_config udp|tcp -> $L4/se_<proto>.ovpn (from OpenVpnMakeConfig)
  local proto=$1 d="$L4/mk"
  rm -rf "$d"; mkdir -p "$d"
  # vpncmd writes the ZIP in its working directory ($OUT/vpncmd); a leading "/" would be
  # taken for a parameter, so the name is relative
  rm -f "$OUT/vpncmd/lab4_openvpn.zip"
  vs /CMD OpenVpnMakeConfig lab4_openvpn >"$OUT/logs/lab4-makeconfig.log" 2>&1 || die "OpenVpnMakeConfig failed"
  (cd "$d" && unzip -q -o "$OUT/vpncmd/lab4_openvpn.zip") || die "unzip of the OpenVPN sample failed"
  rm -f "$OUT/vpncmd/lab4_openvpn.zip"
  local src="$d/vm_openvpn_remote_access_l3.ovpn"
  [ -f "$src" ] || src=$(ls "$d"/*remote_access_l3.ovpn 2>/dev/null | head -1)
  [ -n "$src" ] && [ -f "$src" ] || die "no *_remote_access_l3.ovpn in the sample ZIP"
  cp "$src" "$L4/sample_l3.ovpn"
  printf '%s@%s\n%s\n' "$SE_USER" "$SE_HUB" "$SE_PASS" >"$L4/se_auth.txt"; chmod 600 "$L4/se_auth.txt"
  local remote="remote $SRV_IP 1194" p="proto udp"
  [ "$proto" = tcp ] && { remote="remote $SRV_IP 443"; p="proto tcp-client"; }
  # The sample names the address the server picked for itself (here its lo address 10.77.9.1);
  # the lab client reaches it at 10.77.2.2. Appended: the password file (user@HUB selects the
  # hub), AES-128-CBC in data-ciphers (SoftEther 5.01 answers with cipher AES-128-CBC; OpenVPN
  # 2.6 refuses it unless listed), route-nopull (the server pushes redirect-gateway def1).
  sed -e "s/^remote .*/$remote/" -e "s/^proto .*/$p/" "$src" >"$L4/se_$proto.ovpn"
  cat >>"$L4/se_$proto.ovpn" <<EOF
auth-user-pass $L4/se_auth.txt
data-ciphers AES-256-GCM:AES-128-GCM:AES-128-CBC
route-nopull
connect-retry-max 2
EOF
}

se_ovpn_session() { # se_ovpn_session udp|tcp
  local proto=$1 logf="$OUT/logs/lab4-openvpn-se-$1.log"
  se_ovpn_config "$proto"
  # SoftEther's OpenVPN L3 mode takes the client address from the hub's DHCP server
  vs /ADMINHUB:"$SE_HUB" /CMD DhcpEnable >"$OUT/logs/lab4-dhcp.log" 2>&1 || die "DhcpEnable failed"
  DHCP_SET=1
  # the tun gets 192.168.30.x/24: take the (idle) vpnclient NIC out of the way
  NIC_DOWN=1
  cli ip link set "vpn_$SE_NIC" down
  bg "$logf" "$NS_CLI" openvpn --config "$L4/se_$proto.ovpn" --dev tun-se4
  wait_log "$logf" 'Initialization Sequence Completed' 30 || die "openvpn to SoftEther ($proto) did not connect (see $logf)"
  say "$(grep -oE 'Control Channel: .*|Data Channel: .*' "$logf" | tr '\n' ';')"
  sleep 1
  pings tun-se4 "$VPN_GW_IP"
  sleep 1
  stop_last
}

# ---------------------------------------------------------------- plain OpenVPN look-alikes
plain_udp_session() {
  local o="$OUT/ovpn" srvlog="$OUT/logs/lab4-openvpn-plain-udp-srv.log" clilog="$OUT/logs/lab4-openvpn-plain-udp-cli.log"
  cat >"$L4/check_pw.sh" <<EOF
#!/bin/sh
# auth-user-pass-verify via-file: line 1 user, line 2 password
u=\$(sed -n 1p "\$1"); p=\$(sed -n 2p "\$1")
[ "\$u" = "$SE_USER" ] && [ "\$p" = "$SE_PASS" ]
EOF
  chmod 755 "$L4/check_pw.sh"
  cat >"$L4/plain_udp_server.conf" <<EOF
mode server
tls-server
proto udp
local $WEB_IP
port 1194
dev tun
dev-type tun
topology subnet
server 10.8.4.0 255.255.255.0
ca $o/ca.crt
cert $o/server.crt
key $o/server.key
dh none
verify-client-cert none
username-as-common-name
script-security 2
auth-user-pass-verify $L4/check_pw.sh via-file
tmp-dir $L4
keepalive 10 60
data-ciphers AES-256-GCM:AES-128-GCM
verb 3
EOF
  cat >"$L4/plain_udp_client.ovpn" <<EOF
client
dev tun
proto udp
remote $WEB_IP 1194
nobind
ca $o/ca.crt
remote-cert-tls server
auth-user-pass $L4/se_auth_plain.txt
route-nopull
connect-retry-max 2
verb 3
EOF
  printf '%s\n%s\n' "$SE_USER" "$SE_PASS" >"$L4/se_auth_plain.txt"; chmod 600 "$L4/se_auth_plain.txt"
  bg "$srvlog" "$NS_SRV" openvpn --config "$L4/plain_udp_server.conf" --dev tun-pl4
  wait_log "$srvlog" 'Initialization Sequence Completed' 15 || die "plain UDP openvpn server did not start (see $srvlog)"
  bg "$clilog" "$NS_CLI" openvpn --config "$L4/plain_udp_client.ovpn" --dev tun-pc4
  wait_log "$clilog" 'Initialization Sequence Completed' 30 || die "plain UDP openvpn did not connect (see $clilog)"
  say "$(grep -oE 'Control Channel: .*|Data Channel: .*' "$clilog" | tr '\n' ';')"
  sleep 1
  pings tun-pc4 10.8.4.1
  sleep 1
  stop_last # the client; the server is stopped by cleanup4
}

plain_tcp_session() { # the lab's own p2p tcp-server on 10.77.2.3:1194 (lab.sh start_openvpn)
  local clilog="$OUT/logs/lab4-openvpn-plain-tcp-cli.log"
  bg "$clilog" "$NS_CLI" openvpn --config "$OUT/ovpn/client.conf" --dev tun-pc4
  wait_log "$clilog" 'Initialization Sequence Completed' 30 || die "plain TCP openvpn did not connect (see $clilog)"
  say "$(grep -oE 'Control Channel: .*|Data Channel: .*' "$clilog" | tr '\n' ';')"
  sleep 1
  pings tun-pc4 10.8.0.1
  sleep 1
  stop_last
}

# ---------------------------------------------------------------- TLS 1.2 faces
SSTP_URI='/sra_{BA195980-CD49-458b-9E23-C84EE0ADCD75}/'
tls12_probe() { # tls12_probe IP PORT : the SSTP-like request with curl, then one s_client handshake
  local ip=$1 port=$2 code
  # -g: no URL globbing (the braces are part of the SSTP URI)
  code=$(cli curl -g -k -s -o /dev/null -w '%{http_code}' --tls-max 1.2 --max-time 3 -X SSTP_DUPLEX_POST \
    -H 'SSTPCORRELATIONID: {6D2C5D1E-8A7B-4C3D-9E0F-1A2B3C4D5E6F}' \
    -H 'Content-Length: 18446744073709551615' "https://$ip:$port$SSTP_URI" 2>/dev/null || true)
  say "curl SSTP_DUPLEX_POST https://$ip:$port: HTTP ${code:-none}"
  sleep 1
  cli timeout 10 openssl s_client -connect "$ip:$port" -tls1_2 </dev/null >"$L4/s_client-$NAME.txt" 2>&1 || true
  say "s_client: $(grep -E '^ *Protocol *:|^ *Cipher *:' "$L4/s_client-$NAME.txt" | tr -s ' ' | tr '\n' ' ')"
  grep -q 'Protocol *: TLSv1.2' "$L4/s_client-$NAME.txt" || die "s_client -tls1_2 to $ip:$port failed"
}

nginx4() { # second nginx instance: 10.77.2.3:4443 (vpn.lab O/OU/C cert) and :4444 (CN-only cert)
  local d="$L4/nginx"
  mkdir -p "$d/tmp"
  # the exact commands the labels name (OpenSSL 3 adds SKI, AKI and basicConstraints CA:TRUE)
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=vpn.lab/O=vpn.lab/OU=vpn.lab/C=US" \
    -keyout "$d/vpnlab.key" -out "$d/vpnlab.crt" 2>/dev/null
  openssl req -x509 -newkey rsa:2048 -nodes -subj "/CN=web4.lab" \
    -keyout "$d/cnonly.key" -out "$d/cnonly.crt" 2>/dev/null
  cat >"$d/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 64; }
http {
  default_type text/plain;
  access_log $d/access.log;
  client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fcgi; uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
  server {
    listen $WEB_IP:4443 ssl;
    ssl_certificate $d/vpnlab.crt; ssl_certificate_key $d/vpnlab.key;
    location / { return 200 "ok\n"; }
  }
  server {
    listen $WEB_IP:4444 ssl;
    ssl_certificate $d/cnonly.crt; ssl_certificate_key $d/cnonly.key;
    location / { return 200 "ok\n"; }
  }
}
EOF
  bg "$OUT/logs/lab4-nginx.log" "$NS_SRV" nginx -e "$d/error.log" -c "$d/nginx.conf" -p "$d"
  local i
  for i in $(seq 50); do
    nsx "$NS_SRV" ss -Hltn "src $WEB_IP:4444" 2>/dev/null | grep -q . && return 0
    sleep 0.1
  done
  die "second nginx did not start (see $d/error.log)"
}

case "$NAME" in
  openvpn_udp_softether) se_ovpn_session udp ;;
  openvpn_tcp_softether) se_ovpn_session tcp ;;
  sstp_tls12_softether) tls12_probe "$SRV_IP" 443 ;;
  neg_openvpn_udp_plain) plain_udp_session ;;
  neg_openvpn_tcp_plain) plain_tcp_session ;;
  neg_tls12_selfsigned) nginx4; tls12_probe "$WEB_IP" 4443 ;;
  neg_tls12_selfsigned_cnonly) nginx4; tls12_probe "$WEB_IP" 4444 ;;
esac
