#!/bin/bash
# se-run.sh INSTDIR CMD... — must run inside a private mount namespace (unshare -m).
# The Debian SoftEther build has its state dirs compiled in; give each instance
# its own copies under INSTDIR/{db,log,run} so its vpn_*.config stays there.
set -euo pipefail
d=$1; shift
mkdir -p "$d/db" "$d/log" "$d/run"
mount --bind "$d/db" /var/lib/softether
mount --bind "$d/log" /var/log/softether
mount --bind "$d/run" /run/softether
cd "$d"
exec "$@"
