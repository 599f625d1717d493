#!/bin/bash
# scenario3.sh NAME — lab3 scenarios (groundwork for issue 11): SoftEther sessions whose
# underlay is not TCP. The server's VPN over ICMP / VPN over DNS function is switched on
# (VpnOverIcmpDnsEnable, via vpncmd inside se-srv: not seen by the sensor) and the router
# (se-rtr) rejects the client's TCP/UDP to the server with policy-routing "prohibit" rules
# (ip rule ... ipproto tcp|udp prohibit: the router answers ICMP "administratively
# prohibited", so the client's TCP connect fails at once and its connect race ends on ICMP
# or DNS). Everything is undone on exit (rules deleted, server function switched off).
# scenario3.sh --list — same table format as scenario.sh. Record with record3.sh
# (-> testdata/lab3/). Through the tunnel: pings of 1,200 B to 192.168.30.1 for ~20 s and a
# 20 KB HTTP download from 10.77.9.1.
set -euo pipefail
. "$(dirname "$0")/lib.sh"

# name | label | variant | outcome | server | sessions | note
TABLE=$(cat <<EOF
icmp_vpn|positive|ICMP|established|10.77.2.2|1|server VpnOverIcmpDnsEnable /ICMP:yes /DNS:no; router rejects TCP and UDP from 10.77.1.0/24 to 10.77.2.2 (ip rule prohibit); default client account 10.77.2.2:443; session over ICMP echo; 40 pings of 1,200 B every 0.5 s + 20 KB HTTP through the tunnel
dns_vpn|positive|DNS|established|10.77.2.2:53|1|server VpnOverIcmpDnsEnable /ICMP:no /DNS:yes; router rejects TCP and UDP except UDP 53 from 10.77.1.0/24 to 10.77.2.2 (ip rule prohibit; ICMP not blocked); default client account 10.77.2.2:443; session over DNS (UDP 53); 40 pings of 1,200 B every 0.5 s + 20 KB HTTP through the tunnel
EOF
)

if [ "${1:-}" = "--list" ]; then echo "$TABLE"; exit 0; fi
NAME=${1:?usage: scenario3.sh NAME | --list}
echo "$TABLE" | grep -q "^$NAME|" || die "unknown scenario $NAME (see --list)"

. "$(dirname "$0")/scenario_lib.sh"

# vpncmd against the server from inside se-srv (not seen by the sensor)
vpncmd_srv() {
  nsx "$NS_SRV" unshare -m --propagation private "$LAB_DIR/se-run.sh" "$OUT/vpncmd" \
    "$OUT/vpncmd/vpncmd" "$SRV_IP:443" /SERVER /PASSWORD:"$SE_ADMIN_PW" "$@"
}
icmpdns() { # icmpdns yes|no yes|no
  vpncmd_srv /CMD VpnOverIcmpDnsEnable /ICMP:"$1" /DNS:"$2" >"$OUT/logs/icmpdns-$NAME.log" 2>&1 \
    || die "VpnOverIcmpDnsEnable failed (see $OUT/logs/icmpdns-$NAME.log)"
  ICMPDNS_SET=1
}

# policy-routing rejects in se-rtr (pref 50-59 belong to this script)
RULES=()
block() { # block PREF SELECTOR... : prohibit client-subnet -> server traffic matching SELECTOR
  local pref=$1; shift
  nsx "$NS_RTR" ip rule add pref "$pref" from 10.77.1.0/24 to "$SRV_IP" "$@" prohibit || die "ip rule $*"
  RULES+=("$pref")
}
allow() { # allow PREF SELECTOR... : route normally (checked before the blocks)
  local pref=$1; shift
  nsx "$NS_RTR" ip rule add pref "$pref" from 10.77.1.0/24 to "$SRV_IP" "$@" lookup main || die "ip rule $*"
  RULES+=("$pref")
}

cleanup3() {
  cleanup
  local p
  for p in "${RULES[@]}"; do nsx "$NS_RTR" ip rule del pref "$p" 2>/dev/null || true; done
  if [ -n "${ICMPDNS_SET:-}" ]; then
    vpncmd_srv /CMD VpnOverIcmpDnsEnable /ICMP:no /DNS:no >/dev/null 2>&1 || true
  fi
}
trap cleanup3 EXIT

se_traffic3() { # ~20 s of pings + a small download through the tunnel
  local f="$OUT/www/dl20000.bin"
  [ -f "$f" ] || head -c 20000 /dev/urandom >"$f"
  se_nic_up
  cli ping -q -c 40 -i 0.5 -s 1200 -W 3 "$VPN_GW_IP" >"$OUT/last_ping" 2>&1 || true
  say "ping through tunnel: $(grep -oE '[0-9]+ received|[0-9.]+% packet loss|rtt.*' "$OUT/last_ping" | tr '\n' ' ')"
  grep -qE ' [1-9][0-9]* received' "$OUT/last_ping" || die "no ping reply through the tunnel"
  cli curl -s --max-time 60 -o /dev/null -w "%{size_download}" "http://$INNER_IP/dl20000.bin" >"$OUT/last_dl" 2>/dev/null || true
  say "downloaded $(cat "$OUT/last_dl" 2>/dev/null || echo 0) bytes through the tunnel"
}

underlay() { # the client's "Physical Underlay Protocol" line
  vpncmd_client /CMD AccountStatusGet $ACCT 2>/dev/null | grep -iE 'Underlay|UDP Accel' | sed 's/  */ /g' || true
}

session3() {
  se_account "$SRV_IP:443"
  se_connect_wait 60
  say "$(underlay | tr '\n' ';')"
  se_traffic3
  se_finish 1
}

case "$NAME" in
  icmp_vpn)
    icmpdns yes no
    block 50 ipproto tcp
    block 51 ipproto udp
    session3 ;;
  dns_vpn)
    icmpdns no yes
    allow 50 ipproto udp dport 53
    block 51 ipproto tcp
    block 52 ipproto udp
    session3 ;;
esac
