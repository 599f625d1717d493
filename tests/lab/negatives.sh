#!/bin/bash
# negatives.sh up|record NAME|down|list — real look-alike traffic (negatives for the VPN-over-DNS,
# VPN-over-ICMP, infrastructure-contact and TLS-VPN detectors), recorded in namespaces of its own
# (sn-*), never touching the se-* (main lab) or si-* (infra lab) namespaces.
#
#   sn-cli 10.79.1.2 sn-c0 ── sn-r0 10.79.1.1 [sn-rtr] sn-r1 10.79.2.1 ── sn-s0 sn-srv 10.79.2.2
#   (dig, ping, hping3,            │        SENSOR = sn-r1            .53 unbound (validating resolver)
#    ddclient, inadyn,             │ sn-r2 10.79.3.1                  .10 ddns.lab / checkip.lab (python3)
#    openconnect, nmblookup)       │                                  .20 vpn.lab ocserv (tcp+udp 443)
#                            sn-a0 10.79.3.53 sn-auth                 .2  nmbd (netbios name LABSRV)
#                            bind9: authoritative, signed "." and "lab."
#
# The capture is taken on sn-r1 (router side of the server link): it sees every client <-> server
# packet AND the resolver <-> authoritative leg (sn-srv -> sn-rtr -> sn-auth), so both DNS legs are
# in neg_dns_*.pcap. IPv6: ULA fd79:1::/64 (cli), fd79:2::/64 (srv) only, for ping6; no default
# route anywhere, no link to the host namespace: nothing can leave. resolv.conf of sn-cli and sn-srv
# -> 10.79.2.53 (the lab resolver). State: $SN_OUT (default /var/lib/sealert-lab-neg).
set -euo pipefail
LAB_DIR="$(cd "$(dirname "$0")" && pwd)"
REPO_DIR="$(cd "$LAB_DIR/../.." && pwd)"
OUT="${SN_OUT:-/var/lib/sealert-lab-neg}"
PIDF="$OUT/pids"
DATA="$REPO_DIR/testdata/lab4"
NSS=(sn-cli sn-rtr sn-srv sn-auth)
SENSOR_NS=sn-rtr
SENSOR_IF=sn-r1
SCEN=(neg_dns_dnssec neg_ping_patterns neg_ddns_clients neg_ocserv neg_nbns)

log() { echo "[neg] $*" >&2; }
die() { echo "[neg] ERROR: $*" >&2; exit 1; }
nsx() { local ns=$1; shift; ip netns exec "$ns" "$@"; }
[ "$(id -u)" = 0 ] || die "must run as root"

start_bg() { # start_bg NAME NS CMD... -> records "NAME PID" in $PIDF
  local name=$1 ns=$2; shift 2
  setsid ip netns exec "$ns" "$@" >"$OUT/logs/$name.log" 2>&1 </dev/null &
  echo "$name $!" >>"$PIDF"
}

descendants() { local p=$1 c; for c in $(pgrep -P "$p" 2>/dev/null || true); do echo "$c"; descendants "$c"; done; }

kill_named() { # kill_named NAME... : TERM then KILL the recorded PIDs with these names (+ children)
  [ -f "$PIDF" ] || return 0
  local all="" n p keep
  keep=$(mktemp)
  while read -r n p; do
    local hit=0
    if [ $# = 0 ]; then hit=1; else for x in "$@"; do [ "$x" = "$n" ] && hit=1; done; fi
    if [ $hit = 1 ]; then
      kill -0 "$p" 2>/dev/null && all="$all $p $(descendants "$p" | tr '\n' ' ')"
    else
      echo "$n $p" >>"$keep"
    fi
  done <"$PIDF"
  for p in $all; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 50); do
    local alive=0; for p in $all; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive = 0 ] && break; sleep 0.1
  done
  for p in $all; do kill -KILL "$p" 2>/dev/null || true; done
  mv "$keep" "$PIDF"
}

cmd_down() {
  kill_named
  rm -f "$PIDF"
  for ns in "${NSS[@]}"; do
    # anything still running inside our own namespaces was started by this script
    for p in $(ip netns pids "$ns" 2>/dev/null); do kill -KILL "$p" 2>/dev/null || true; done
    ip netns del "$ns" 2>/dev/null || true
    rm -rf "/etc/netns/$ns"
  done
  if [ -f "$OUT/created_netns_dir" ]; then rmdir /etc/netns 2>/dev/null || true; rm -f "$OUT/created_netns_dir"; fi
  log "down"
}

# ---------------------------------------------------------------------------------------------
# DNS: a private signed root "." and a signed "lab." (bind9, sn-auth), unbound validating (sn-srv)
make_zones() {
  local z="$OUT/zones"; rm -rf "$z"; mkdir -p "$z"
  local serial; serial=$(date +%s)
  cat >"$z/db.lab" <<EOF
\$TTL 300
@       IN SOA ns1.lab. hostmaster.lab. ($serial 3600 600 86400 60)
@       IN NS  ns1.lab.
@       IN MX  10 mail.lab.
@       IN TXT "v=spf1 ip4:10.79.0.0/16 -all"
ns1     IN A   10.79.3.53
www     IN A   10.79.2.80
www     IN AAAA fd79:2::80
mail    IN A   10.79.2.25
mail    IN AAAA fd79:2::25
ddns    IN A   10.79.2.10
checkip IN A   10.79.2.10
vpn     IN A   10.79.2.20
srv     IN A   10.79.2.2
cli     IN A   10.79.1.2
alias   IN CNAME www.lab.
txt     IN TXT "hello from the lab" "second string"
_sip._udp IN SRV 10 60 5060 srv.lab.
EOF
  # big.lab: a TXT RRset of ~4 KB (truncated over UDP -> TCP retry by dig / unbound)
  for i in $(seq 1 20); do
    printf 'big     IN TXT "%s"\n' "$(printf 'chunk%02d-' "$i"; head -c 96 /dev/zero | tr '\0' 'x')$(printf '%0100d' "$i" | tr '0' 'y')" >>"$z/db.lab"
  done
  for i in $(seq 1 40); do printf 'many    IN A   10.79.%d.%d\n' $((10 + i / 200)) $((i % 200 + 1)) >>"$z/db.lab"; done
  (cd "$z" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK lab >/dev/null && dnssec-keygen -q -a ECDSAP256SHA256 lab >/dev/null)
  for k in "$z"/Klab.*.key; do echo "\$INCLUDE $k" >>"$z/db.lab"; done
  (cd "$z" && dnssec-signzone -q -S -g -K "$z" -o lab -f db.lab.signed db.lab >/dev/null)
  cat >"$z/db.root" <<EOF
\$TTL 300
.       IN SOA ns1.lab. hostmaster.lab. ($serial 3600 600 86400 60)
.       IN NS  ns1.lab.
lab.    IN NS  ns1.lab.
ns1.lab. IN A  10.79.3.53
EOF
  cat "$z/dsset-lab." >>"$z/db.root"
  (cd "$z" && dnssec-keygen -q -a ECDSAP256SHA256 -f KSK . >/dev/null && dnssec-keygen -q -a ECDSAP256SHA256 . >/dev/null)
  for k in "$z"/K.+*.key; do echo "\$INCLUDE $k" >>"$z/db.root"; done
  (cd "$z" && dnssec-signzone -q -S -K "$z" -o . -f db.root.signed db.root >/dev/null)
  # trust anchor for unbound = the root KSK
  grep -h 'DNSKEY 257' "$z"/K.+*.key | grep -v '^;' >"$OUT/root.anchor"
  cat >"$OUT/named.conf" <<EOF
options {
  directory "$OUT/named";
  pid-file "$OUT/named/named.pid";
  listen-on { 10.79.3.53; };
  listen-on-v6 { none; };
  recursion no;
  allow-query { any; };
  dnssec-validation no;
  notify no;
};
zone "." { type primary; file "$z/db.root.signed"; };
zone "lab" { type primary; file "$z/db.lab.signed"; };
EOF
  mkdir -p "$OUT/named"
  cat >"$OUT/root.hints" <<EOF
.        3600000 NS ns1.lab.
ns1.lab. 3600000 A  10.79.3.53
EOF
  cat >"$OUT/unbound.conf" <<EOF
server:
  interface: 10.79.2.53
  port: 53
  do-ip6: no
  do-daemonize: no
  use-syslog: no
  logfile: ""
  verbosity: 1
  chroot: ""
  username: ""
  directory: "$OUT"
  pidfile: "$OUT/unbound.pid"
  access-control: 10.79.0.0/16 allow
  root-hints: "$OUT/root.hints"
  trust-anchor-file: "$OUT/root.anchor"
  module-config: "validator iterator"
  val-log-level: 1
  qname-minimisation: yes
  prefetch: no
  harden-glue: yes
remote-control:
  control-enable: no
EOF
}

cmd_up() {
  cmd_down 2>/dev/null || true
  mkdir -p "$OUT/logs"
  : >"$PIDF"
  if [ ! -d /etc/netns ]; then mkdir -p /etc/netns; touch "$OUT/created_netns_dir"; fi
  trap 'log "up failed; tearing down"; cmd_down' ERR
  for ns in "${NSS[@]}"; do
    ip netns add "$ns"
    nsx "$ns" ip link set lo up
    nsx "$ns" sysctl -qw net.ipv6.conf.all.accept_ra=0 net.ipv6.conf.default.accept_ra=0 >/dev/null
  done
  nsx sn-auth sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 >/dev/null
  for ns in sn-cli sn-srv; do
    mkdir -p "/etc/netns/$ns"
    echo "nameserver 10.79.2.53" >"/etc/netns/$ns/resolv.conf"
    printf '127.0.0.1 localhost\n' >"/etc/netns/$ns/hosts"
  done
  ip link add sn-c0 netns sn-cli type veth peer name sn-r0 netns sn-rtr
  ip link add sn-s0 netns sn-srv type veth peer name sn-r1 netns sn-rtr
  ip link add sn-a0 netns sn-auth type veth peer name sn-r2 netns sn-rtr
  for x in "sn-cli sn-c0" "sn-rtr sn-r0" "sn-rtr sn-r1" "sn-rtr sn-r2" "sn-srv sn-s0" "sn-auth sn-a0"; do
    set -- $x; nsx "$1" ip link set "$2" up; nsx "$1" ethtool -K "$2" tso off gso off gro off >/dev/null 2>&1 || true
  done
  nsx sn-cli ip addr add 10.79.1.2/24 dev sn-c0
  nsx sn-rtr ip addr add 10.79.1.1/24 dev sn-r0
  nsx sn-rtr ip addr add 10.79.2.1/24 dev sn-r1
  nsx sn-rtr ip addr add 10.79.3.1/24 dev sn-r2
  nsx sn-auth ip addr add 10.79.3.53/24 dev sn-a0
  nsx sn-srv ip addr add 10.79.2.2/24 dev sn-s0
  for a in 10.79.2.10 10.79.2.20 10.79.2.53; do nsx sn-srv ip addr add "$a/24" dev sn-s0; done
  nsx sn-cli ip -6 addr add fd79:1::2/64 dev sn-c0 nodad
  nsx sn-rtr ip -6 addr add fd79:1::1/64 dev sn-r0 nodad
  nsx sn-rtr ip -6 addr add fd79:2::1/64 dev sn-r1 nodad
  nsx sn-srv ip -6 addr add fd79:2::2/64 dev sn-s0 nodad
  # only the lab prefixes are routed; no default route anywhere
  nsx sn-cli ip route add 10.79.0.0/16 via 10.79.1.1
  nsx sn-srv ip route add 10.79.0.0/16 via 10.79.2.1
  nsx sn-auth ip route add 10.79.0.0/16 via 10.79.3.1
  nsx sn-cli ip -6 route add fd79::/16 via fd79:1::1
  nsx sn-srv ip -6 route add fd79::/16 via fd79:2::1
  nsx sn-rtr sysctl -qw net.ipv4.ip_forward=1 net.ipv6.conf.all.forwarding=1
  make_zones
  named-checkconf "$OUT/named.conf"
  start_bg named sn-auth /usr/sbin/named -g -c "$OUT/named.conf"
  start_bg unbound sn-srv /usr/sbin/unbound -d -c "$OUT/unbound.conf"
  for _ in $(seq 50); do nsx sn-srv ss -Hlun 'sport = :53' | grep -q 10.79.2.53 && break; sleep 0.1; done
  for _ in $(seq 50); do nsx sn-auth ss -Hlun 'sport = :53' | grep -q 10.79.3.53 && break; sleep 0.1; done
  # ddns/checkip endpoint (dyndns2), plain HTTP
  start_bg ddns_http sn-srv /usr/bin/python3 "$LAB_DIR/neg_ddns_server.py" 10.79.2.10 80 "$OUT/ddns.jsonl"
  # check: validation works end to end (AD bit), then forget the cache so captures start cold
  local ok=0
  for _ in $(seq 30); do
    if nsx sn-cli dig +time=1 +tries=1 @10.79.2.53 www.lab A | grep -q 'flags:.* ad'; then ok=1; break; fi
    sleep 0.3
  done
  [ $ok = 1 ] || die "unbound does not validate lab. (see $OUT/logs/unbound.log)"
  kill_named unbound; start_bg unbound sn-srv /usr/sbin/unbound -d -c "$OUT/unbound.conf"
  for _ in $(seq 50); do nsx sn-srv ss -Hlun 'sport = :53' | grep -q 10.79.2.53 && break; sleep 0.1; done
  trap - ERR
  log "up (sensor: $SENSOR_IF in $SENSOR_NS)"
}

# ---------------------------------------------------------------------------------------------
# scenarios (client side; the capture runs around them)
cli() { nsx sn-cli "$@"; }

scen_neg_dns_dnssec() {
  local D="dig +time=2 +tries=1"
  cli $D www.lab A >/dev/null
  cli $D www.lab AAAA >/dev/null
  cli $D lab MX >/dev/null
  cli $D lab TXT >/dev/null
  cli $D txt.lab TXT >/dev/null
  cli $D alias.lab A >/dev/null
  cli $D _sip._udp.lab SRV >/dev/null
  cli $D +dnssec lab DNSKEY >/dev/null
  cli $D +dnssec . DNSKEY >/dev/null
  cli $D . DNSKEY >/dev/null
  cli $D +dnssec lab DS >/dev/null
  cli $D +dnssec www.lab A >/dev/null
  cli $D nosuchname.lab A >/dev/null
  cli $D +dnssec nosuchname2.lab AAAA >/dev/null
  cli $D deadbeef DNSKEY >/dev/null
  cli $D +dnssec 0a1b2c3d.lab DNSKEY >/dev/null
  cli $D 8f3e2a1c A >/dev/null
  cli $D +dnssec 5e7a9c01 DNSKEY >/dev/null
  cli $D c0ffee42.lab DNSKEY >/dev/null
  cli $D +bufsize=4096 +dnssec 1f2e3d4c DNSKEY >/dev/null
  cli $D big.lab TXT >/dev/null            # > 1232 B: TC over UDP, dig retries over TCP
  cli $D +dnssec many.lab A >/dev/null
  cli $D +tcp +dnssec lab DNSKEY >/dev/null
  cli $D +nocookie www.lab A >/dev/null
  cli $D +norecurse www.lab A >/dev/null
  cli $D @10.79.3.53 +norecurse +dnssec lab DNSKEY >/dev/null   # direct to the authoritative
  cli $D -x 10.79.2.2 >/dev/null
  # the same hex-looking DNSKEY look-ups a few times, like a tool retrying
  for i in 1 2 3; do cli $D "$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')" DNSKEY >/dev/null; done
  for n in www mail ddns vpn; do cli getent ahostsv4 "$n.lab" >/dev/null || true; done
  cli $D +dnssec www.lab A >/dev/null      # now from the resolver's cache
  # restart the resolver: its idle TCP connection to the authoritative closes inside this capture
  kill_named unbound; start_bg unbound sn-srv /usr/sbin/unbound -d -c "$OUT/unbound.conf"
}

scen_neg_ping_patterns() {
  cli ping -n -c 4 -i 0.5 10.79.2.2 >/dev/null
  cli ping -n -c 4 -i 0.5 -p ff00ff00 10.79.2.2 >/dev/null
  cli ping -n -c 4 -i 0.5 -p 0123456789abcdef 10.79.2.2 >/dev/null
  cli ping -n -c 4 -i 0.5 -s 1200 10.79.2.2 >/dev/null
  cli ping -n -c 4 -i 0.5 -s 16 10.79.2.2 >/dev/null
  cli ping -n -c 4 -i 0.5 -s 1400 -p deadbeef 10.79.2.2 >/dev/null
  cli ping -n -c 20 -i 0.2 10.79.2.2 >/dev/null
  cli ping -n -c 3 -i 0.5 -s 2000 10.79.2.2 >/dev/null     # fragmented echo
  cli ping -6 -n -c 4 -i 0.5 fd79:2::2 >/dev/null
  cli ping -6 -n -c 4 -i 0.5 -s 1200 -p a5a5 fd79:2::2 >/dev/null
  cli ping -n -c 2 -T tsandaddr 10.79.2.2 >/dev/null || true   # IP timestamp option
  cli hping3 -q --icmp --icmp-ts -c 3 -i u300000 10.79.2.2 >/dev/null 2>&1 || true   # type 13
  # hping3 3.0.0a2 refuses types 15/16 ("Unsupported icmp type"): a raw-socket sender instead
  cli python3 "$LAB_DIR/neg_icmp.py" 10.79.2.2 15 3          # type 15 information request, no data
  cli python3 "$LAB_DIR/neg_icmp.py" 10.79.2.2 15 3 59       # type 15 with 59 B of data
  cli hping3 -q --icmp --icmp-addr -c 3 -i u300000 10.79.2.2 >/dev/null 2>&1 || true # type 17 address mask
  cli python3 "$LAB_DIR/neg_icmp.py" 10.79.2.2 16 2 120      # type 16 information reply (unsolicited)
  cli hping3 -q --icmp -C 0 -d 120 -c 2 -i u300000 10.79.2.2 >/dev/null 2>&1 || true # unsolicited echo reply
  cli traceroute -n -q 1 -w 1 -m 4 10.79.2.2 >/dev/null 2>&1 || true
  cli traceroute -n -I -q 1 -w 1 -m 4 10.79.2.2 >/dev/null 2>&1 || true
  cli ping -n -c 2 -i 0.5 10.79.2.99 >/dev/null 2>&1 || true   # unanswered (no such host: router ARP fails)
}

scen_neg_ddns_clients() {
  local d="$OUT/ddns"; rm -rf "$d"; mkdir -p "$d"
  cat >"$d/ddclient.conf" <<EOF
daemon=0
syslog=no
ssl=no
cache=$d/ddclient.cache
pid=$d/ddclient.pid
use=web, web=http://checkip.lab/, web-skip='Current IP Address:'
protocol=dyndns2
server=ddns.lab
login=labuser
password='labpass'
myhost.lab
EOF
  chmod 600 "$d/ddclient.conf"
  cat >"$d/inadyn.conf" <<EOF
period = 300
custom lab {
    ssl            = false
    username       = labuser
    password       = labpass
    checkip-server = checkip.lab
    checkip-path   = /
    checkip-ssl    = false
    ddns-server    = ddns.lab
    ddns-path      = "/nic/update?hostname=%h&myip=%i"
    hostname       = myhost2.lab
}
EOF
  for i in 1 2 3; do
    cli ddclient -daemon=0 -foreground -force -verbose -file "$d/ddclient.conf" -cache "$d/ddclient.cache" >>"$OUT/logs/ddclient.log" 2>&1 || true
    sleep 1
  done
  for i in 1 2 3; do
    cli inadyn -1 --force -f "$d/inadyn.conf" --cache-dir "$d/inadyn-cache" -P "$d/inadyn.pid" -l debug -n >>"$OUT/logs/inadyn.log" 2>&1 || true
    sleep 1
  done
}

ocserv_setup() {
  local d="$OUT/ocserv"; rm -rf "$d"; mkdir -p "$d"
  openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=vpn.lab" -addext "subjectAltName=DNS:vpn.lab" \
    -keyout "$d/key.pem" -out "$d/cert.pem" >/dev/null 2>&1
  printf 'labpass\nlabpass\n' | ocpasswd -c "$d/ocpasswd" labuser
  cat >"$d/ocserv.conf" <<EOF
auth = "plain[passwd=$d/ocpasswd]"
listen-host = 10.79.2.20
tcp-port = 443
udp-port = 443
run-as-user = nobody
run-as-group = nogroup
socket-file = $d/ocserv.sock
pid-file = $d/ocserv.pid
server-cert = $d/cert.pem
server-key = $d/key.pem
isolate-workers = false
max-clients = 4
max-same-clients = 4
keepalive = 30
dpd = 90
mobile-dpd = 1800
try-mtu-discovery = false
tls-priorities = "NORMAL:%SERVER_PRECEDENCE"
auth-timeout = 240
cookie-timeout = 300
deny-roaming = false
rekey-time = 172800
rekey-method = ssl
use-occtl = false
log-level = 2
device = sntun
predictable-ips = true
default-domain = lab
ipv4-network = 192.168.99.0
ipv4-netmask = 255.255.255.0
route = 192.168.99.0/255.255.255.0
ping-leases = false
cisco-client-compat = true
dtls-legacy = true
EOF
  chmod 755 "$d"; chmod 644 "$d"/*
  # tunnel set-up script for openconnect: address + the tunnel's own /24 only (no default route)
  cat >"$d/tun-script.sh" <<'EOF'
#!/bin/sh
case "$reason" in
  connect)
    ip link set dev "$TUNDEV" up mtu "${INTERNAL_IP4_MTU:-1300}"
    ip addr add "$INTERNAL_IP4_ADDRESS/32" dev "$TUNDEV"
    ip route add 192.168.99.0/24 dev "$TUNDEV" ;;
esac
exit 0
EOF
  chmod 755 "$d/tun-script.sh"
}

scen_neg_ocserv() {
  local d="$OUT/ocserv" pin
  pin=$(openssl x509 -in "$d/cert.pem" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | base64)
  echo labpass | setsid ip netns exec sn-cli openconnect --protocol=anyconnect --user=labuser --passwd-on-stdin \
    --non-inter --servercert "pin-sha256:$pin" --script "$d/tun-script.sh" --interface sntun0 \
    https://vpn.lab/ >"$OUT/logs/openconnect.log" 2>&1 &
  echo "openconnect $!" >>"$PIDF"
  local up=0
  for _ in $(seq 100); do
    if cli ip -4 addr show dev sntun0 2>/dev/null | grep -q 192.168.99; then up=1; break; fi
    sleep 0.1
  done
  [ $up = 1 ] || { log "openconnect did not come up (see $OUT/logs/openconnect.log)"; return 1; }
  for _ in $(seq 50); do grep -q 'DTLS connected\|Established DTLS' "$OUT/logs/openconnect.log" && break; sleep 0.1; done
  sleep 1
  cli ping -n -c 10 -i 0.3 -s 1000 192.168.99.1 >/dev/null || log "ping through the tunnel failed"
  cli ping -n -c 5 -i 0.3 192.168.99.1 >/dev/null || true
  sleep 1
  kill_named openconnect   # SIGTERM: openconnect sends BYE and logs out
  sleep 1
}

nbns_conf() {
  local d="$OUT/nbns"; mkdir -p "$d"/{lock,state,cache,private,pid}
  cat >"$d/$1.conf" <<EOF
[global]
  workgroup = LABWG
  netbios name = $2
  interfaces = $3
  bind interfaces only = yes
  lock directory = $d/lock/$2
  state directory = $d/state/$2
  cache directory = $d/cache/$2
  private dir = $d/private
  pid directory = $d/pid/$2
  log file = $d/$2.log
  disable netbios = no
  local master = no
  domain master = no
  preferred master = no
  wins support = yes
  name resolve order = wins bcast
EOF
  mkdir -p "$d/lock/$2" "$d/state/$2" "$d/cache/$2" "$d/pid/$2"
}

scen_neg_nbns() {
  local d="$OUT/nbns"
  cli nmblookup -s "$d/cli.conf" -U 10.79.2.2 --recursion LABSRV >/dev/null 2>&1 || true
  cli nmblookup -s "$d/cli.conf" -U 10.79.2.2 --recursion 'LABSRV#20' >/dev/null 2>&1 || true
  cli nmblookup -s "$d/cli.conf" -U 10.79.2.2 --recursion 'LABWG#1b' >/dev/null 2>&1 || true
  cli nmblookup -s "$d/cli.conf" -U 10.79.2.2 --recursion NOSUCHHOST >/dev/null 2>&1 || true
  cli nmblookup -s "$d/cli.conf" -U 10.79.2.2 --recursion DEADBEEF >/dev/null 2>&1 || true
  cli nmblookup -s "$d/cli.conf" -A 10.79.2.2 >/dev/null 2>&1 || true        # node status
  cli nmblookup -s "$d/cli.conf" -U 10.79.2.2 -S LABSRV >/dev/null 2>&1 || true # query + node status
  cli nmblookup -s "$d/cli.conf" -U 10.79.2.20 --recursion LABSRV >/dev/null 2>&1 || true # nobody there: ICMP port unreachable
  cli nmblookup -s "$d/cli.conf" -A 10.79.2.2 >/dev/null 2>&1 || true
}

cmd_record() {
  local name=${1:?record NAME}
  local fn="scen_$name"
  declare -F "$fn" >/dev/null || die "unknown scenario $name (list: ${SCEN[*]})"
  ip netns list | grep -q '^sn-rtr' || die "lab not up (negatives.sh up)"
  mkdir -p "$DATA"
  local tmp="$OUT/$name.pcap" pcap="$DATA/$name.pcap"
  trap 'log "record failed"; kill_named tcpdump ocserv nmbd openconnect; cmd_down' ERR
  # per-scenario daemons (kept out of the other captures: nmbd broadcasts, ocserv is quiet)
  case "$name" in
    neg_dns_dnssec|neg_ddns_clients)  # cold resolver cache, so the resolver<->authoritative leg shows
      kill_named unbound; start_bg unbound sn-srv /usr/sbin/unbound -d -c "$OUT/unbound.conf"
      for _ in $(seq 50); do nsx sn-srv ss -Hlun 'sport = :53' | grep -q 10.79.2.53 && break; sleep 0.1; done ;;
    neg_ocserv)
      ocserv_setup
      start_bg ocserv sn-srv /usr/sbin/ocserv -f -d 1 -c "$OUT/ocserv/ocserv.conf"
      for _ in $(seq 50); do nsx sn-srv ss -Hltn 'sport = :443' | grep -q 10.79.2.20 && break; sleep 0.1; done ;;
    neg_nbns)
      nbns_conf srv LABSRV 10.79.2.2/24
      nbns_conf cli LABCLI 10.79.1.2/24
      start_bg nmbd sn-srv /usr/sbin/nmbd -F --debug-stdout --no-process-group -s "$OUT/nbns/srv.conf"
      sleep 4 ;;  # let its start-up registrations/broadcasts happen before the capture
  esac
  rm -f "$tmp"
  start_bg tcpdump "$SENSOR_NS" tcpdump -i "$SENSOR_IF" -s 0 -U -w "$tmp"
  for _ in $(seq 50); do [ -s "$tmp" ] && break; sleep 0.1; done
  sleep 2
  "$fn"
  sleep 3
  kill_named tcpdump
  case "$name" in
    neg_ocserv) kill_named ocserv openconnect ;;
    neg_nbns) kill_named nmbd ;;
  esac
  trap - ERR
  cp "$tmp" "$pcap"
  log "wrote $pcap ($(stat -c %s "$pcap") bytes, $(capinfos -c -M "$pcap" | awk -F': *' '/Number of packets/{print $2}') packets)"
}

case "${1:-}" in
  up) cmd_up ;;
  record) shift; cmd_record "$@" ;;
  down) cmd_down ;;
  list) printf '%s\n' "${SCEN[@]}" ;;
  *) echo "usage: $0 up|record NAME|down|list" >&2; exit 2 ;;
esac
