#!/usr/bin/env bash
# tests/package/nspawn_check.sh: boots Debian 12 with the built package in systemd-nspawn and checks what needs a running systemd.
#
# Run by hand, as root; CI does not run it (it debootstraps, boots a
# container and takes a few minutes). tests/package/test_deb.py covers the
# package where systemd is not PID 1; this covers the service itself:
#   the service is active and GET / is 200; a configuration with a typo fails
#   "systemctl restart" once, without a restart loop, with the reason in the
#   journal; "systemctl stop" is fast with an idle keep-alive connection and
#   bounded (stop_timeout + margin) with a slow download in flight; "systemctl
#   reload" with an access_log in a missing folder fails at once, the service
#   keeps serving and the journal names the file; a log in /srv/logs is
#   refused until a drop-in adds ReadWritePaths=/srv/logs (ephttpd(8),
#   SANDBOX); the documented switch to ephttpd.socket works; purge leaves no
#   unit link behind.
#
# Usage: tests/package/nspawn_check.sh [DEB]   (default: the newest build-deb/ephttpd_*.deb)
# EPHTTPD_NSPAWN_CACHE (default /var/cache/ephttpd-nspawn) keeps the
# debootstrapped root between runs; each run boots a copy of it, removed at
# the end (KEEP=1 keeps it). The mirror is the Debian one in the machine's
# apt sources. The container has its own network (--private-network): every
# request goes to its loopback. The last line says "N passed, N failed".
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
deb=${1:-$(ls -t "$top"/build-deb/ephttpd_*.deb 2>/dev/null | head -1)}
cache=${EPHTTPD_NSPAWN_CACHE:-/var/cache/ephttpd-nspawn}
# What the checks need inside, besides the package's own dependencies.
include=systemd,systemd-sysv,dbus,curl,python3,libconfig9,libyaml-0-2,libpcre2-8-0,logrotate,procps,iproute2
machine=ephttpd-check

[ "$(id -u)" -eq 0 ] || { echo "nspawn_check: run as root" >&2; exit 2; }
[ -f "$deb" ] || { echo "nspawn_check: no package: build one with packaging/build-deb.sh" >&2; exit 2; }
deb=$(cd "$(dirname "$deb")" && pwd)/$(basename "$deb")

missing=()
for p in debootstrap systemd-container; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# ---- the root file system, debootstrapped once ------------------------------

mirror() { # the first Debian archive (not -security) in the apt sources
    { cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources 2>/dev/null || true; } |
        grep -oE '^(URIs:[[:space:]]*|deb[[:space:]]+(\[[^]]*\][[:space:]]+)?)[a-z]+://[^[:space:]]+' |
        grep -oE '[a-z]+://[^[:space:]]+' | grep -E '/debian/?$' | head -1
}
if [ ! -d "$cache/bookworm" ] || [ "$(cat "$cache/bookworm.include" 2>/dev/null)" != "$include" ]; then
    url=$(mirror)
    [ -n "$url" ] || { echo "nspawn_check: no Debian mirror in /etc/apt/sources.list*" >&2; exit 2; }
    echo "debootstrap bookworm from $url into $cache/bookworm"
    mkdir -p "$cache"
    rm -rf "$cache/bookworm" "$cache/bookworm.tmp"
    debootstrap --variant=minbase --include="$include" bookworm "$cache/bookworm.tmp" "$url" \
        >"$cache/debootstrap.log" 2>&1 || { tail -20 "$cache/debootstrap.log"; exit 2; }
    mv "$cache/bookworm.tmp" "$cache/bookworm"
    echo "$include" >"$cache/bookworm.include"
fi

work=$(mktemp -d /var/tmp/ephttpd-nspawn.XXXXXX)
root=$work/root
cp -a "$cache/bookworm" "$root"
cp "$deb" "$root/root/ephttpd.deb"

# ---- boot -------------------------------------------------------------------

# systemd-nspawn removes its propagation folder below /run/systemd/nspawn
# only from a tmpfs; where /run is on disk (some build containers), a
# private mount namespace gets one. --keep-unit and --register=no: no
# systemd-machined needed on the host.
setsid unshare -m --propagation private sh -c '
    [ "$(stat -f -c %T /run)" = tmpfs ] || { mkdir -p /run/systemd/nspawn &&
        mount -t tmpfs -o mode=0755 ephttpd-nspawn /run/systemd/nspawn; }
    exec systemd-nspawn -q -b -D "$1" -M "$2" --private-network --register=no --keep-unit --console=passive
' sh "$root" "$machine" >"$work/boot.log" 2>&1 </dev/null &
launcher=$!

cleanup() {
    if [ -n "${pid1:-}" ] && kill -0 "$pid1" 2>/dev/null; then
        inside systemctl poweroff >/dev/null 2>&1 || true
        for _ in $(seq 600); do kill -0 "$launcher" 2>/dev/null || break; sleep 0.1; done
    fi
    kill -0 "$launcher" 2>/dev/null && kill "$launcher" 2>/dev/null || true
    wait "$launcher" 2>/dev/null || true
    if [ "${KEEP:-0}" = 1 ]; then echo "kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT

pid1=
container_init() { # the container's PID 1: a descendant of the launcher whose innermost pid is 1
    local p
    for p in $(pgrep -f "systemd-nspawn -q -b -D $root" || true) ; do
        for c in $(pgrep -P "$p" || true); do
            if awk '/^NSpid:/ { exit !($NF == 1 && NF > 2) }' "/proc/$c/status" 2>/dev/null; then
                echo "$c"; return
            fi
        done
    done
}
inside() { # run a command inside the container, with a clean environment; none may hang the check
    nsenter -t "$pid1" -m -u -i -n -p -C -- env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
        timeout 150 "$@"
}
innet() { # run a host command in the container's network namespace
    nsenter -t "$pid1" -n -- "$@"
}

deadline() { echo $(($(date +%s) + $1)); }
end=$(deadline 120)
until [ -n "$pid1" ]; do
    pid1=$(container_init)
    [ "$(date +%s)" -lt "$end" ] || { echo "nspawn_check: the container did not start:"; cat "$work/boot.log"; exit 1; }
    [ -n "$pid1" ] || sleep 0.2
done
end=$(deadline 180)
until state=$(inside systemctl is-system-running 2>/dev/null) || [ "$state" = degraded ]; do
    [ "$(date +%s)" -lt "$end" ] || { echo "nspawn_check: boot did not finish: $state"; inside systemctl --failed --no-pager; exit 1; }
    sleep 0.5
done
echo "booted Debian $(cat "$root/etc/debian_version") in systemd-nspawn ($state), $(inside systemctl --version | head -1)"

# ---- checks -----------------------------------------------------------------

passed=0
failed=0
ok() { passed=$((passed + 1)); echo "ok   - $*"; }
bad() { failed=$((failed + 1)); echo "FAIL - $*"; }
expect() { # what; command...: ok if the command succeeds
    local what=$1; shift
    if "$@"; then ok "$what"; else bad "$what"; fi
}
show() { inside systemctl show -P "$2" "$1"; }
is_active() { test "$(show ephttpd ActiveState)" = active; }
status_of() { innet curl -s -o /dev/null -m 10 -w '%{http_code}' "$@" || true; }
now_ms() { date +%s%3N; }
poll() { # seconds command...: until the command succeeds, or false after seconds
    local end; end=$(deadline "$1"); shift
    until "$@"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.2; done
}
journal_has() { # since pattern
    inside journalctl -u ephttpd -o cat --no-pager --since "@$1" | grep -qE -- "$2"
}
journal_tail() { inside journalctl -u ephttpd -o short --no-pager --since "@$1" | tail -"${2:-6}" | sed 's/^/       /'; }

echo "--- install"
inside dpkg -i /root/ephttpd.deb >"$work/dpkg.log" 2>&1 || { cat "$work/dpkg.log"; bad "dpkg -i"; }
poll 30 is_active || true
expect "service active after install ($(show ephttpd ActiveState), $(show ephttpd StatusText))" \
    test "$(show ephttpd ActiveState)" = active
code=$(status_of http://127.0.0.1/)
expect "GET / -> $code" test "$code" = 200

echo "--- a configuration with a typo: restart fails once, no restart loop"
inside cp /etc/ephttpd.conf /root/ephttpd.conf.good
inside sed -i 's/^workers = /wokers = /' /etc/ephttpd.conf
t0=$(inside date +%s.%6N)  # the journal since this instant, to the microsecond
start_ms=$(now_ms)
rc=0; inside systemctl restart ephttpd >/dev/null 2>&1 || rc=$?
took=$(($(now_ms) - start_ms))
expect "systemctl restart exits non-zero ($rc) after ${took} ms" test "$rc" -ne 0
# systemd decides on a restart when the start fails: a unit it will restart
# is "activating/auto-restart" then, one it gives up on is "failed/failed".
sub=$(show ephttpd SubState); active=$(show ephttpd ActiveState)
expect "no restart scheduled: $active/$sub" test "$active/$sub" = failed/failed
expect "main process exit status 78 (EX_CONFIG): $(show ephttpd ExecMainStatus)" \
    test "$(show ephttpd ExecMainStatus)" = 78
expect "NRestarts=$(show ephttpd NRestarts)" test "$(show ephttpd NRestarts)" = 0
if poll 30 journal_has "$t0" 'wokers'; then
    ok "journal names the setting: $(inside journalctl -u ephttpd -o cat --no-pager --since "@$t0" | grep -m1 wokers)"
else
    bad "journal has no line naming \"wokers\":"; journal_tail "$t0"
fi
starts=$(inside journalctl -u ephttpd -o cat --no-pager --since "@$t0" | grep -c '^Starting ' || true)
expect "one start attempt in the journal ($starts)" test "$starts" = 1
inside cp /root/ephttpd.conf.good /etc/ephttpd.conf
inside systemctl reset-failed ephttpd || true
inside systemctl start ephttpd || true
expect "starts again with the file fixed" test "$(show ephttpd ActiveState)" = active

echo "--- systemctl stop with an idle keep-alive connection"
# A client that makes one keep-alive request and then holds the connection
# (bounded: 60 s), in the container's network namespace.
cat >"$work/idle.py" <<'EOF'
import socket, sys, time
s = socket.create_connection(("127.0.0.1", 80), timeout=60)
s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
data = b""
while b"\r\n\r\n" not in data:
    data += s.recv(65536)
open(sys.argv[1], "w").write("idle\n")
end = time.monotonic() + 60
while time.monotonic() < end and s.recv(65536):
    pass
EOF
rm -f "$work/idle.ready"
innet python3 "$work/idle.py" "$work/idle.ready" &
client=$!
poll 30 test -e "$work/idle.ready" || bad "the keep-alive client got no response"
start_ms=$(now_ms)
inside systemctl stop ephttpd || true
took=$(($(now_ms) - start_ms))
expect "stop took ${took} ms (< 3000), result $(show ephttpd Result)" test "$took" -lt 3000
wait "$client" 2>/dev/null || true

echo "--- systemctl stop with a slow download in flight"
inside systemctl start ephttpd || true
# A large (sparse) file, downloaded slowly while the service stops.
truncate -s 2G "$root/var/www/html/big.bin"
cat >"$work/slow.py" <<'EOF'
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
s.settimeout(60)
s.connect(("127.0.0.1", 80))
s.sendall(b"GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n")
got = len(s.recv(4096))
open(sys.argv[1], "w").write("downloading\n")
end = time.monotonic() + 60     # a 2 GB file at 40 kB/s: still going when the stop ends
try:
    while time.monotonic() < end:
        n = len(s.recv(4096))
        if not n:
            break
        got += n
        time.sleep(0.1)
except OSError:
    pass
print("slow client: %d bytes, then the server closed" % got)
EOF
rm -f "$work/slow.ready"
innet python3 "$work/slow.py" "$work/slow.ready" &
client=$!
poll 30 test -e "$work/slow.ready" || bad "the slow download did not start"
stop_timeout=5
start_ms=$(now_ms)
inside systemctl stop ephttpd || true
took=$(($(now_ms) - start_ms))
result=$(show ephttpd Result)
expect "stop took ${took} ms (stop_timeout ${stop_timeout} s + 5 s margin: < 10000), result $result" \
    test "$took" -lt 10000 -a "$result" = success
kill "$client" 2>/dev/null || true
wait "$client" 2>/dev/null || true
inside rm -f /var/www/html/big.bin
inside systemctl reset-failed ephttpd || true
inside systemctl start ephttpd || true

echo "--- systemctl reload with an access_log in a missing folder"
inside sh -c 'cat > /etc/ephttpd/conf.d/missing-log.conf' <<'EOF'
servers = ( { names = [ "missing.example" ]; root = "/var/www/html";
              access_log = "/var/log/ephttpd/no-such-folder/access.log"; } );
EOF
t0=$(inside date +%s.%6N)  # the journal since this instant, to the microsecond
start_ms=$(now_ms)
rc=0; inside systemctl reload ephttpd >/dev/null 2>&1 || rc=$?
took=$(($(now_ms) - start_ms))
expect "systemctl reload exits non-zero ($rc) after ${took} ms (< 10000)" test "$rc" -ne 0 -a "$took" -lt 10000
expect "service still active ($(show ephttpd ActiveState))" test "$(show ephttpd ActiveState)" = active
code=$(status_of http://127.0.0.1/)
expect "still serving: GET / -> $code" test "$code" = 200
if poll 30 journal_has "$t0" 'no-such-folder'; then
    ok "journal names the file: $(inside journalctl -u ephttpd -o cat --no-pager --since "@$t0" | grep -m1 no-such-folder)"
else
    bad "journal has no line naming the missing folder:"; journal_tail "$t0"
fi
inside rm -f /etc/ephttpd/conf.d/missing-log.conf
rc=0; inside systemctl reload ephttpd || rc=$?
expect "reload with the file removed again exits 0 ($rc)" test "$rc" = 0

echo "--- the sandbox: a log in /srv/logs needs a drop-in, as ephttpd(8), SANDBOX, says"
inside mkdir -p /srv/logs
inside sh -c 'cat > /etc/ephttpd/conf.d/srv-log.conf' <<'EOF'
servers = ( { names = [ "srv.example" ]; root = "/var/www/html"; access_log = "/srv/logs/access.log"; } );
EOF
t0=$(inside date +%s.%6N)
start_ms=$(now_ms)
rc=0; inside systemctl reload ephttpd >/dev/null 2>&1 || rc=$?
took=$(($(now_ms) - start_ms))
expect "reload with a log in read-only /srv/logs exits non-zero ($rc) after ${took} ms, service $(show ephttpd ActiveState)" \
    test "$rc" -ne 0 -a "$took" -lt 10000 -a "$(show ephttpd ActiveState)" = active
if poll 30 journal_has "$t0" '/srv/logs/access.log'; then
    ok "journal: $(inside journalctl -u ephttpd -o cat --no-pager --since "@$t0" | grep -m1 /srv/logs/access.log)"
else
    bad "journal has no line naming /srv/logs/access.log:"; journal_tail "$t0"
fi
inside mkdir -p /etc/systemd/system/ephttpd.service.d
printf '[Service]\nReadWritePaths=/srv/logs\n' | inside sh -c 'cat > /etc/systemd/system/ephttpd.service.d/override.conf'
inside systemctl daemon-reload
rc=0; inside systemctl restart ephttpd || rc=$?
code=$(status_of -H 'Host: srv.example' http://127.0.0.1/)
expect "with the drop-in ReadWritePaths=/srv/logs: restart exits $rc, GET / -> $code" test "$rc" = 0 -a "$code" = 200
inside rm -rf /etc/systemd/system/ephttpd.service.d /etc/ephttpd/conf.d/srv-log.conf /srv/logs
inside systemctl daemon-reload
inside systemctl restart ephttpd || true

echo "--- switching to ephttpd.socket, as ephttpd(8) says"
rc=0; inside systemctl enable --now ephttpd.socket >/dev/null 2>&1 || rc=$?
echo "       (while the service runs, enable --now exits $rc: systemd refuses a socket whose service is active)"
inside systemctl reset-failed ephttpd.socket 2>/dev/null || true
rc=0
inside systemctl stop ephttpd.service || rc=$?
inside systemctl enable --now ephttpd.socket >/dev/null 2>&1 || rc=$?
expect "systemctl stop ephttpd.service; systemctl enable --now ephttpd.socket: exit $rc, socket $(show ephttpd.socket ActiveState)" \
    test "$rc" = 0 -a "$(show ephttpd.socket ActiveState)" = active
code=$(status_of http://127.0.0.1/)
expect "the first connection starts the service: GET / -> $code, service $(show ephttpd ActiveState)" \
    test "$code" = 200 -a "$(show ephttpd ActiveState)" = active
code=$(status_of -g 'http://[::1]/')
expect "IPv6 through the socket too: GET / -> $code" test "$code" = 200
rc=0; inside systemctl reload ephttpd || rc=$?
code=$(status_of http://127.0.0.1/)
expect "reload with the passed sockets: exit $rc, GET / -> $code" test "$rc" = 0 -a "$code" = 200
expect "sockets.target.wants link made" inside test -L /etc/systemd/system/sockets.target.wants/ephttpd.socket

echo "--- purge"
inside dpkg --purge ephttpd >"$work/purge.log" 2>&1 || { cat "$work/purge.log"; bad "dpkg --purge"; }
links=$(inside find /etc/systemd/system -name 'ephttpd.*' | tr '\n' ' ')
expect "no unit link left in /etc/systemd/system: '${links}'" test -z "$links"
expect "socket $(show ephttpd.socket ActiveState), service $(show ephttpd ActiveState) after purge" \
    test "$(show ephttpd.socket ActiveState)" = inactive -a "$(show ephttpd ActiveState)" = inactive
code=$(status_of http://127.0.0.1/)
expect "nothing listens on port 80 (curl: $code)" test "$code" = 000
expect "/run/ephttpd gone" inside test ! -e /run/ephttpd

echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
