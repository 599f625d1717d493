#!/bin/bash
# sealert real-traffic lab: lab.sh up|down|status|sensor-if|delay RTT_MS [JITTER_MS] [LOSS_PCT]|nodelay
set -euo pipefail
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || die "must run as root"

# ---------------------------------------------------------------- helpers
mk_veth() { # mk_veth NS1 IF1 NS2 IF2
  ip link add "$2" netns "$1" type veth peer name "$4" netns "$3"
  nsx "$1" ip link set "$2" up
  nsx "$3" ip link set "$4" up
}

sysctl_ns() { local ns=$1; shift; for kv in "$@"; do nsx "$ns" sysctl -qw "$kv" >/dev/null; done; }

wait_port() { # wait_port NS IP PORT [TIMEOUT_S]
  local ns=$1 ip=$2 port=$3 t=${4:-20} i
  for i in $(seq $((t * 10))); do
    if nsx "$ns" ss -Hltn "src $ip:$port" 2>/dev/null | grep -q .; then return 0; fi
    if nsx "$ns" ss -Hltn "sport = :$port" 2>/dev/null | grep -q "0.0.0.0:$port\|\*:$port"; then return 0; fi
    sleep 0.1
  done
  die "timeout waiting for $ip:$port in $ns"
}

net_up() {
  if [ ! -d /etc/netns ]; then mkdir -p /etc/netns; echo /etc/netns >>"$OUT/created_dirs"; fi
  for ns in "${ALL_NS[@]}"; do
    ip netns add "$ns"
    mkdir -p "/etc/netns/$ns"
    # a resolver that answers nothing: no DNS leaves the lab
    echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
    cat >"/etc/netns/$ns/hosts" <<EOF
127.0.0.1 localhost
$CLI_IP cli.lab
$SRV_IP vpn.lab
$WEB_IP web.lab
$PX_IP px.lab
EOF
    nsx "$ns" ip link set lo up
    sysctl_ns "$ns" net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 \
      net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.default.rp_filter=0
  done
  mk_veth "$NS_CLI" c-rtr "$NS_RTR" r-cli
  mk_veth "$NS_SRV" s-rtr "$NS_RTR" r-srv
  mk_veth "$NS_PX" p-rtr "$NS_RTR" r-px
  mk_veth "$NS_PX" p-srv "$NS_SRV" s-px
  nsx "$NS_CLI" ip addr add "$CLI_IP/24" dev c-rtr
  nsx "$NS_RTR" ip addr add "$RTR_CLI_IP/24" dev r-cli
  nsx "$NS_RTR" ip addr add "$RTR_SRV_IP/24" dev r-srv
  nsx "$NS_RTR" ip addr add "$RTR_PX_IP/24" dev r-px
  nsx "$NS_SRV" ip addr add "$SRV_IP/24" dev s-rtr
  nsx "$NS_SRV" ip addr add "$WEB_IP/24" dev s-rtr
  nsx "$NS_SRV" ip addr add "$PXL_SRV/30" dev s-px
  nsx "$NS_SRV" ip addr add "$INNER_IP/32" dev lo
  nsx "$NS_PX" ip addr add "$PX_IP/24" dev p-rtr
  nsx "$NS_PX" ip addr add "$PXL_PX/30" dev p-srv
  # Only lab prefixes are routed; no default route anywhere.
  nsx "$NS_CLI" ip route add 10.77.0.0/16 via "$RTR_CLI_IP"
  nsx "$NS_SRV" ip route add 10.77.0.0/16 via "$RTR_SRV_IP"
  nsx "$NS_PX" ip route add 10.77.0.0/16 via "$RTR_PX_IP"
  # the jump host reaches the servers over its own direct link, not the router
  nsx "$NS_PX" ip route add 10.77.2.0/24 via "$PXL_SRV" dev p-srv
  sysctl_ns "$NS_RTR" net.ipv4.ip_forward=1
  # NIC offloads off so the capture shows wire-sized segments
  for x in "$NS_CLI c-rtr" "$NS_RTR r-cli" "$NS_RTR r-srv" "$NS_RTR r-px" "$NS_SRV s-rtr" "$NS_PX p-rtr"; do
    set -- $x
    nsx "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
  done
}

gen_files() {
  mkdir -p "$OUT/www" "$OUT/tls" "$OUT/ssh" "$OUT/ovpn"
  # web content
  head -c 6000000 /dev/urandom >"$OUT/www/big.bin"
  head -c 1500000 /dev/urandom >"$OUT/www/mid.bin"
  head -c 300000 /dev/urandom >"$OUT/www/300k.bin"
  for i in $(seq 0 99); do head -c $((500 + (i * 97) % 4500)) /dev/urandom | base64 >"$OUT/www/s$i.txt"; done
  echo '<html><head><title>lab</title></head><body>sealert lab</body></html>' >"$OUT/www/index.html"
  # TLS cert for nginx
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj "/CN=web.lab" \
    -addext "subjectAltName=DNS:web.lab,IP:$WEB_IP" \
    -keyout "$OUT/tls/web.key" -out "$OUT/tls/web.crt" 2>/dev/null
  # SSH host + user keys
  ssh-keygen -q -t ed25519 -N '' -f "$OUT/ssh/ssh_host_ed25519_key" -C lab-host
  ssh-keygen -q -t ed25519 -N '' -f "$OUT/ssh/id_ed25519" -C lab-user
  cp "$OUT/ssh/id_ed25519.pub" "$OUT/ssh/authorized_keys"
  head -c 3000000 /dev/urandom >"$OUT/ssh/payload.bin"
  # small OpenVPN PKI (EC P-256)
  local o="$OUT/ovpn"
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 3650 \
    -subj "/CN=lab-ca" -keyout "$o/ca.key" -out "$o/ca.crt" 2>/dev/null
  for n in server client; do
    local eku=serverAuth; [ $n = client ] && eku=clientAuth
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$n" \
      -keyout "$o/$n.key" -out "$o/$n.csr" 2>/dev/null
    printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyAgreement\nextendedKeyUsage=%s\n' $eku >"$o/$n.ext"
    openssl x509 -req -in "$o/$n.csr" -CA "$o/ca.crt" -CAkey "$o/ca.key" -CAcreateserial \
      -days 3650 -extfile "$o/$n.ext" -out "$o/$n.crt" 2>/dev/null
  done
}

start_nginx() {
  local d="$OUT/nginx"; mkdir -p "$d/tmp"
  cat >"$d/nginx.conf" <<EOF
user root;
worker_processes 1;
daemon off;
master_process on;
pid $d/nginx.pid;
error_log $d/error.log warn;
events { worker_connections 256; }
http {
  types { text/html html; text/plain txt; application/octet-stream bin; }
  default_type application/octet-stream;
  access_log $d/access.log;
  client_body_temp_path $d/tmp/body; proxy_temp_path $d/tmp/proxy;
  fastcgi_temp_path $d/tmp/fcgi; uwsgi_temp_path $d/tmp/uwsgi; scgi_temp_path $d/tmp/scgi;
  keepalive_requests 10000; keepalive_timeout 300s;
  http2_idle_timeout 300s;
  sendfile on;
  server {
    listen $WEB_IP:443 ssl http2;
    server_name web.lab;
    ssl_certificate $OUT/tls/web.crt; ssl_certificate_key $OUT/tls/web.key;
    root $OUT/www;
    # lab2 neg_https_post / neg_openssl_post: accept POST bodies, answer a short 200
    location = /post { return 200 "ok"; }
  }
  server { listen 80; server_name _; root $OUT/www; }
}
EOF
  start_bg nginx "$NS_SRV" nginx -e "$d/error.log" -c "$d/nginx.conf" -p "$d" >/dev/null
}

start_squid() {
  local d="$OUT/squid"; mkdir -p "$d"
  cat >"$d/squid.conf" <<EOF
http_port $PX_IP:$SQUID_PORT
http_access allow all
cache deny all
cache_mem 8 MB
pid_filename $d/squid.pid
access_log stdio:$d/access.log
cache_log $d/cache.log
cache_store_log none
coredump_dir $d
dns_nameservers 127.0.0.1
pinger_enable off
shutdown_lifetime 1 seconds
cache_effective_user proxy
forwarded_for delete
via off
EOF
  chown -R proxy:proxy "$d"
  start_bg squid "$NS_PX" squid -N -f "$d/squid.conf" >/dev/null
}

start_dante() {
  local d="$OUT/dante"; mkdir -p "$d"
  cat >"$d/danted.conf" <<EOF
logoutput: $d/danted.log
internal: $PX_IP port = $DANTE_PORT
external: p-srv
clientmethod: none
socksmethod: none
user.privileged: root
user.unprivileged: nobody
client pass {
  from: 10.77.0.0/16 to: 0.0.0.0/0
}
socks pass {
  from: 0.0.0.0/0 to: 0.0.0.0/0
  command: connect
}
EOF
  start_bg dante "$NS_PX" danted -f "$d/danted.conf" -p "$d/danted.pid" -N 1 >/dev/null
}

start_sshd() {
  local d="$OUT/ssh"
  cat >"$d/sshd_config" <<EOF
Port 22
ListenAddress $PX_IP
HostKey $d/ssh_host_ed25519_key
PidFile $d/sshd.pid
AuthorizedKeysFile $d/authorized_keys
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PasswordAuthentication no
KbdInteractiveAuthentication no
AllowTcpForwarding yes
AllowAgentForwarding no
X11Forwarding no
PrintMotd no
PrintLastLog no
UseDNS no
Compression yes
ClientAliveInterval 0
Subsystem sftp /usr/lib/openssh/sftp-server
EOF
  cat >"$d/ssh_config" <<EOF
Host *
  User root
  IdentityFile $d/id_ed25519
  IdentitiesOnly yes
  UserKnownHostsFile $d/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking no
  BatchMode yes
  LogLevel ERROR
  ServerAliveInterval 0
  ControlPath $d/ctl-%C
EOF
  # sshd needs its privilege-separation dir /run/sshd: give it a private /run
  # (tmpfs in its own mount namespace) instead of touching the host's /run.
  start_bg sshd "$NS_PX" unshare -m --propagation private sh -c \
    'mount -t tmpfs -o mode=755 lab-run /run && mkdir -m 755 /run/sshd && exec /usr/sbin/sshd -D -e -f "$0"' "$d/sshd_config" >/dev/null
}

start_openvpn() {
  local o="$OUT/ovpn"
  cat >"$o/server.conf" <<EOF
dev tun
dev-type tun
proto tcp-server
local $WEB_IP
lport 1194
tls-server
dh none
ca $o/ca.crt
cert $o/server.crt
key $o/server.key
ifconfig 10.8.0.1 10.8.0.2
keepalive 10 60
data-ciphers AES-256-GCM:AES-128-GCM
verb 3
EOF
  cat >"$o/client.conf" <<EOF
dev tun
dev-type tun
proto tcp-client
remote $WEB_IP 1194
nobind
tls-client
remote-cert-tls server
ca $o/ca.crt
cert $o/client.crt
key $o/client.key
ifconfig 10.8.0.2 10.8.0.1
keepalive 10 60
data-ciphers AES-256-GCM:AES-128-GCM
connect-retry-max 3
verb 3
EOF
  start_bg openvpn_srv "$NS_SRV" openvpn --config "$o/server.conf" >/dev/null
}

se_copy() { # se_copy NAME BINARY
  local d="$OUT/$1"; mkdir -p "$d/db" "$d/log" "$d/run"
  cp "$SE_BIN/$2/$2" "$d/$2"; cp -L "$SE_HAMCORE" "$d/hamcore.se2"
}

se_statedirs() {
  for d in /var/lib/softether /var/log/softether /run/softether; do
    if [ ! -d "$d" ]; then mkdir -p "$d"; echo "$d" >>"$OUT/created_dirs"; fi
  done
}

start_vpnserver() {
  local d="$OUT/vpnserver"
  # $VPNSERVER_ENV (e.g. OPENSSL_CONF=...) is passed to the server process (lab.sh server-tls)
  # shellcheck disable=SC2086
  start_bg vpnserver "$NS_SRV" env ${VPNSERVER_ENV:-} unshare -m --propagation private "$LAB_DIR/se-run.sh" "$d" "$d/vpnserver" execsvc >/dev/null
}

setup_vpnserver() {
  local d="$OUT/vpnserver" cfg="$OUT/vpnserver/db/vpn_server.config"
  se_copy vpnserver vpnserver
  se_copy vpncmd vpncmd
  start_vpnserver
  wait_port "$NS_SRV" 127.0.0.1 5555
  cat >"$OUT/vpnserver/setup.txt" <<EOF
ServerPasswordSet $SE_ADMIN_PW
KeepDisable
VpnAzureSetEnable no
ListenerCreate $SE_UNUSUAL_PORT
ListenerDelete 1194
HubCreate $SE_HUB /PASSWORD:labhubpw
Hub $SE_HUB
UserCreate $SE_USER /GROUP:none /REALNAME:none /NOTE:none
UserPasswordSet $SE_USER /PASSWORD:$SE_PASS
SecureNatEnable
DhcpDisable
Flush
EOF
  nsx "$NS_SRV" unshare -m --propagation private "$LAB_DIR/se-run.sh" "$OUT/vpncmd" \
    "$OUT/vpncmd/vpncmd" localhost:5555 /SERVER /IN:"$OUT/vpnserver/setup.txt" >"$OUT/logs/vpnserver-setup.log" 2>&1 \
    || die "vpncmd server setup failed (see $OUT/logs/vpnserver-setup.log)"
  stop_named vpnserver
  # keys vpncmd cannot set: no DDNS, no NAT traversal, listen only on SRV_IP,
  # user-mode SecureNAT only (no raw/kernel-mode NAT on host interfaces)
  sed -i \
    -e '/declare DDnsClient/,/}/ s/bool Disabled false/bool Disabled true/' \
    -e 's/bool DisableNatTraversal false/bool DisableNatTraversal true/' \
    -e "s/string ListenIP 0.0.0.0/string ListenIP $SRV_IP/" \
    -e 's/bool DisableIpRawModeSecureNAT false/bool DisableIpRawModeSecureNAT true/' \
    -e 's/bool DisableKernelModeSecureNAT false/bool DisableKernelModeSecureNAT true/' \
    -e 's/bool UseKeepConnect true/bool UseKeepConnect false/' \
    -e 's/bool EnableVpnAzure true/bool EnableVpnAzure false/' \
    "$cfg"
  start_vpnserver
  wait_port "$NS_SRV" "$SRV_IP" 443
  verify_server_config
}

verify_server_config() {
  local cfg="$OUT/vpnserver/db/vpn_server.config" bad=0
  awk '/declare DDnsClient/{f=1} f&&/bool Disabled/{print; exit}' "$cfg" | grep -q 'Disabled true' || { log "DDnsClient not disabled"; bad=1; }
  grep -q 'bool EnableVpnAzure true' "$cfg" && { log "VPN Azure enabled"; bad=1; }
  for k in 'bool DisableNatTraversal true' 'bool UseKeepConnect false' "string ListenIP $SRV_IP"; do
    grep -q "$k" "$cfg" || { log "config missing: $k"; bad=1; }
  done
  [ $bad = 0 ] || die "vpn_server.config not as expected"
}

setup_vpnclient() {
  se_copy vpnclient vpnclient
  start_bg vpnclient "$NS_CLI" unshare -m --propagation private "$LAB_DIR/se-run.sh" "$OUT/vpnclient" "$OUT/vpnclient/vpnclient" execsvc >/dev/null
  wait_port "$NS_CLI" 127.0.0.1 9931
  vpncmd_client /CMD NicCreate "$SE_NIC" >"$OUT/logs/vpnclient-setup.log" 2>&1 || die "NicCreate failed"
  local i; for i in $(seq 50); do nsx "$NS_CLI" ip link show "vpn_$SE_NIC" >/dev/null 2>&1 && break; sleep 0.1; done
  nsx "$NS_CLI" ip link set "vpn_$SE_NIC" up
  nsx "$NS_CLI" ip addr add "$VPN_CLI_IP/24" dev "vpn_$SE_NIC"
  # the "inner" web server is reached only through the tunnel (SecureNAT)
  nsx "$NS_CLI" ip route add "$INNER_IP/32" via "$VPN_GW_IP" dev "vpn_$SE_NIC" onlink
}

# ---------------------------------------------------------------- delay
delay_on() { # RTT_MS JITTER_MS LOSS_PCT
  local rtt=$1 jit=${2:-0} loss=${3:-0}
  delay_off
  start_bg netem "$NS_RTR" /usr/bin/python3 "$LAB_DIR/netem.py" --dev tun-em --delay-ms "$(awk "BEGIN{print $rtt/2}")" \
    --jitter-ms "$jit" --loss-pct "$loss" >/dev/null
  local i; for i in $(seq 50); do nsx "$NS_RTR" ip link show tun-em >/dev/null 2>&1 && break; sleep 0.1; done
  nsx "$NS_RTR" ip link show tun-em >/dev/null 2>&1 || die "netem forwarder did not start"
  nsx "$NS_RTR" ip link set tun-em up
  sysctl_ns "$NS_RTR" net.ipv4.conf.tun-em.rp_filter=0 net.ipv4.conf.tun-em.accept_local=1
  nsx "$NS_RTR" ip route add 10.77.0.0/16 dev tun-em table 100
  for ifc in r-cli r-srv r-px; do nsx "$NS_RTR" ip rule add iif "$ifc" lookup 100 pref 100; done
  echo "$rtt $jit $loss" >"$OUT/delay"
}

delay_off() {
  if ip netns list | grep -qw "$NS_RTR"; then
    while nsx "$NS_RTR" ip rule del pref 100 2>/dev/null; do :; done
    nsx "$NS_RTR" ip route flush table 100 2>/dev/null || true
  fi
  stop_named netem
  rm -f "$OUT/delay"
}

# ---------------------------------------------------------------- server TLS
# lab.sh server-tls 1.2|default : restart vpnserver with TLS <= 1.2 or the default (1.3).
# The Debian 5.01 build has no Tls_Disable1_3 config key (only Tls_Disable1_0/1_1/1_2), so
# TLS 1.3 is disabled through OpenSSL's own config (system_default MaxProtocol), given to
# the server process only via OPENSSL_CONF.
server_tls() {
  local mode=${1:-default} conf="$OUT/vpnserver/openssl-tls12.cnf"
  printf '%s\n' 'openssl_conf = lab_conf' '[lab_conf]' 'ssl_conf = lab_ssl' '[lab_ssl]' \
    'system_default = lab_sys' '[lab_sys]' 'MaxProtocol = TLSv1.2' >"$conf"
  stop_named vpnserver
  case "$mode" in
    1.2) VPNSERVER_ENV="OPENSSL_CONF=$conf" start_vpnserver ;;
    default) start_vpnserver ;;
    *) die "server-tls 1.2|default" ;;
  esac
  wait_port "$NS_SRV" "$SRV_IP" 443
  echo "$mode" >"$OUT/server_tls"
}

# ---------------------------------------------------------------- main
up_failed() { # EXIT trap of cmd_up: a failed start leaves nothing running (LAB_KEEP=1: keep it)
  local rc=$?
  trap - EXIT
  if [ "$rc" != 0 ] && [ "${LAB_KEEP:-0}" != 1 ]; then
    log "up failed (logs in $OUT/logs); tearing down"
    cmd_down
  fi
  exit "$rc"
}

cmd_up() {
  local t0=$SECONDS
  # Sweep what an earlier run left (recorded PIDs, processes in our namespaces).
  SWEEP=1 cmd_down || true
  trap up_failed EXIT
  # keep created_dirs across the wipe
  local cd_keep=""; [ -f "$OUT/created_dirs" ] && cd_keep=$(cat "$OUT/created_dirs")
  if [ -L "$OUT" ]; then die "$OUT is a symbolic link"; fi
  rm -rf "$OUT"; mkdir -p -m 755 "$OUT" "$OUT/logs"; chmod 755 "$OUT"; : >"$PIDS"
  [ -n "$cd_keep" ] && echo "$cd_keep" >"$OUT/created_dirs"
  for b in vpnserver vpnclient vpncmd; do [ -x "$SE_BIN/$b/$b" ] || die "missing $SE_BIN/$b/$b"; done
  se_statedirs
  net_up
  gen_files
  setup_vpnserver
  start_nginx
  start_squid
  start_dante
  start_sshd
  start_openvpn
  setup_vpnclient
  wait_port "$NS_SRV" "$WEB_IP" 443
  wait_port "$NS_PX" "$PX_IP" "$SQUID_PORT"
  wait_port "$NS_PX" "$PX_IP" "$DANTE_PORT"
  wait_port "$NS_PX" "$PX_IP" 22
  wait_port "$NS_SRV" "$WEB_IP" 1194
  # ssh host key
  nsx "$NS_CLI" ssh -F "$OUT/ssh/ssh_config" "$PX_IP" true >/dev/null 2>&1 || die "ssh to jump host failed"
  trap - EXIT
  log "lab up in $((SECONDS - t0)) s; sensor interface: $SENSOR_IF in netns $NS_RTR"
}

cmd_down() {
  delay_off 2>/dev/null || true
  if [ -f "$PIDS" ]; then
    # stop in reverse order
    tac "$PIDS" | awk '{print $1}' | awk '!s[$0]++' | while read -r n; do stop_named "$n"; done
  fi
  # Anything still running in the lab's namespaces (a run that lost its PID
  # file, a scenario's or a test's helper) was started by the lab: end it, by PID.
  local ns left
  for ns in "${ALL_NS[@]}"; do
    if [ -e "/run/netns/$ns" ]; then
      left=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
      # shellcheck disable=SC2086
      if [ -n "${left// /}" ]; then log "ending leftovers in $ns: $left"; kill_tree $left; fi
    fi
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  if [ -f "$OUT/created_dirs" ]; then
    sort -u "$OUT/created_dirs" | while read -r d; do
      mountpoint -q "$d" || rmdir "$d" 2>/dev/null || true
    done
    rm -f "$OUT/created_dirs"
  fi
  [ -n "${SWEEP:-}" ] || log "lab down"
}

cmd_status() {
  ip netns list | grep -E '^se-' || echo "no lab namespaces"
  if [ -f "$PIDS" ]; then
    while read -r n p st; do
      if [ "$(proc_start "$p" || true)" = "$st" ]; then echo "$n $p running"; else echo "$n $p DEAD"; fi
    done <"$PIDS"
  fi
  [ -f "$OUT/delay" ] && echo "delay: $(cat "$OUT/delay") (rtt_ms jitter_ms loss_pct)"
  echo "sensor: netns $NS_RTR interface $SENSOR_IF"
}

case "${1:-}" in
  up) cmd_up ;;
  down) cmd_down ;;
  status) cmd_status ;;
  sensor-if) echo "$SENSOR_IF" ;;
  sensor-ns) echo "$NS_RTR" ;;
  delay) shift; delay_on "$@" ;;
  nodelay) delay_off ;;
  server-tls) shift; server_tls "$@" ;;
  *) echo "usage: $0 up|down|status|sensor-if|sensor-ns|delay RTT_MS [JITTER_MS] [LOSS_PCT]|nodelay|server-tls 1.2|default" >&2; exit 2 ;;
esac
