#!/usr/bin/env bash
# bench/cold.sh: does a server's event loop wait for the disk? Hot requests' latency while cold files are read.
#
#   bench/cold.sh [ROUNDS] [SECONDS]     (defaults: 3 rounds of 8 s; as root)
#
# Each server (ephttpd with its defaults, nginx, H2O 2.2.5 and lighttpd
# 1.4.69, each with its defaults: one worker, access log off) is pinned to
# CPU 0, the clients to CPU 1. Per round and server, two runs of SECONDS:
#   alone: wrk -t1 -c10 --latency on a 38-byte file (the hot client);
#   cold:  the same hot client, while bench/cold.py's THREADS (8) keep-alive
#          connections fetch COLD_FILES (64) files of COLD_SIZE (512 KB) round
#          and round, each dropped from the page cache (posix_fadvise
#          DONTNEED) right before it is requested, so that every cold
#          request reads the disk, each connection pausing PAUSE_MS (20)
#          after each file so that the cold load leaves the server's core
#          mostly free (else hot requests wait for the CPU, not the disk);
#          cold.py checks every body's length.
# A server that reads files on its event loop makes the hot requests queued
# behind a cold read wait for the disk: their p99 and maximum grow with the
# disk's latency. ephttpd sends a file range from the loop only when
# cachestat (or a 1-byte RWF_NOWAIT probe) says its pages are cached;
# otherwise a write-queue thread sends it. nginx without "aio threads",
# H2O and lighttpd read on the loop.
# Prints per run the hot client's requests/s and latency p50/p99/max, and the
# cold client's files/s and MB/s; then per server the medians, and hot p99
# cold/alone, and how long each server's event loop waited for block I/O
# (delay accounting) during the cold run. EP_EXTRA adds lines to ephttpd's configuration (e.g.
# EP_EXTRA='write_queue_threads = 16;'). The disk's cold read speed is
# printed first (one file read after DONTNEED).
set -euo pipefail

ROUNDS=${1:-3}
SECS=${2:-8}
COLD_FILES=${COLD_FILES:-64}
COLD_SIZE=${COLD_SIZE:-524288}
THREADS=${THREADS:-8}
PAUSE_MS=${PAUSE_MS:-20}
EP_EXTRA=${EP_EXTRA-}
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build-bench}
PY=/usr/bin/python3
[ -x "$PY" ] || PY=python3

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need h2o || ! need lighttpd || ! need wrk || ! need cmake; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nginx-light h2o lighttpd wrk cmake gcc make pkg-config libconfig-dev libyaml-dev \
        libssl-dev libnghttp2-dev libxxhash-dev >/dev/null
    if [ -d /run/systemd/system ]; then systemctl disable --now lighttpd >/dev/null 2>&1 || true; fi
fi
if [ ! -x "$BUILD/ephttpd" ]; then
    cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEP_TESTS=OFF >/dev/null
    cmake --build "$BUILD" -j"$(nproc)" >/dev/null
fi
ulimit -n "$(ulimit -Hn)"

WORK=$(mktemp -d /tmp/ephttpd-cold.XXXXXX)
declare -A PORT=([ep]=18280 [ng]=18282 [h2]=18284 [lt]=18286)
declare -A NAME=([ep]=ephttpd [ng]=nginx [h2]=h2o [lt]=lighttpd)
declare -A PID=()
SERVERS="ep ng h2 lt"
cleanup() {
    local p
    for p in "${PID[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    [ -z "${DELAYACCT:-}" ] || echo "$DELAYACCT" >/proc/sys/kernel/task_delayacct
    rm -rf "$WORK"
}
trap cleanup EXIT

DELAYACCT=$(cat /proc/sys/kernel/task_delayacct 2>/dev/null || echo)
if [ -n "$DELAYACCT" ]; then echo 1 >/proc/sys/kernel/task_delayacct; fi

ROOT=$WORK/root
mkdir -p "$ROOT/cold"
chmod 755 "$WORK" "$ROOT" "$ROOT/cold"
printf '<html><body>a 38-byte page</body></html>' | head -c 38 >"$ROOT/small.html"
COLD_PATHS=()
for i in $(seq -w 1 "$COLD_FILES"); do
    head -c "$COLD_SIZE" /dev/urandom >"$ROOT/cold/c$i.bin"
    COLD_PATHS+=("/cold/c$i.bin")
done
chmod -R a+rX "$ROOT"
sync # DONTNEED drops clean pages only

RUN_USER=""
[ "$(id -u)" != 0 ] || RUN_USER=1
cat >"$WORK/ephttpd.conf" <<EOF
workers = 1;
pid_file = "$WORK/ephttpd.pid";
listen = ( { address = "127.0.0.1"; port = ${PORT[ep]}; } );
servers = ( { root = "$ROOT"; access_log = "off"; } );
$EP_EXTRA
EOF
cat >"$WORK/nginx.conf" <<EOF
worker_processes 1;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log error;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    server { listen 127.0.0.1:${PORT[ng]}; root $ROOT; }
}
EOF
cat >"$WORK/h2o.conf" <<EOF
num-threads: 1
max-connections: 4096
error-log: $WORK/h2o-error.log
${RUN_USER:+user: nobody}
listen:
  host: 127.0.0.1
  port: ${PORT[h2]}
hosts:
  default:
    paths:
      /:
        file.dir: $ROOT
EOF
cat >"$WORK/lighttpd.conf" <<EOF
server.document-root = "$ROOT"
server.bind = "127.0.0.1"
server.port = ${PORT[lt]}
server.max-connections = 4096
${RUN_USER:+server.username = \"nobody\"}
${RUN_USER:+server.groupname = \"nogroup\"}
include_shell "/usr/share/lighttpd/create-mime.conf.pl"
EOF

taskset -c 0 "$BUILD/ephttpd" -c "$WORK/ephttpd.conf" 2>"$WORK/ephttpd.log" &
PID[ep]=$!
taskset -c 0 nginx -c "$WORK/nginx.conf" 2>>"$WORK/nginx-error.log" &
PID[ng]=$!
taskset -c 0 h2o -c "$WORK/h2o.conf" >"$WORK/h2o.log" 2>&1 &
PID[h2]=$!
taskset -c 0 lighttpd -D -f "$WORK/lighttpd.conf" >"$WORK/lighttpd.log" 2>&1 &
PID[lt]=$!
for s in $SERVERS; do
    ok=""
    for _ in $(seq 100); do
        if [ "$(curl -s "http://127.0.0.1:${PORT[$s]}${COLD_PATHS[0]}" | wc -c)" = "$COLD_SIZE" ] &&
            [ "$(curl -s "http://127.0.0.1:${PORT[$s]}/small.html" | wc -c)" = 38 ]; then
            ok=1
            break
        fi
        sleep 0.1
    done
    [ -n "$ok" ] || { echo "${NAME[$s]} does not serve the files whole" >&2; exit 1; }
done

# The disk, as the servers see it: one cold file read after DONTNEED.
"$PY" - "$ROOT${COLD_PATHS[1]}" <<'EOF'
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
t, n = time.monotonic(), 0
while True:
    b = os.pread(fd, 1 << 20, n)
    if not b:
        break
    n += len(b)
took = time.monotonic() - t
print("disk: a %d-byte file read cold in %.2f ms (%.0f MB/s)" % (n, took * 1e3, n / took / 1e6))
EOF

# Time the event loops spent waiting for block I/O, from the kernel's delay
# accounting (/proc/PID/task/TID/stat, field 42, in clock ticks; switched on
# for the run with kernel.task_delayacct): ephttpd's worker's main thread
# (its write-queue threads are meant to wait), nginx's worker, every thread
# of H2O (2.2 has no I/O threads) and of lighttpd.
loop_tids() { # server
    local p
    case $1 in
    ep) p=$(pgrep -P "${PID[ep]}" | head -1); echo "$p/task/$p" ;;
    ng) p=$(pgrep -P "${PID[ng]}" | head -1); echo "$p/task/$p" ;;
    *) for p in /proc/"${PID[$1]}"/task/*; do echo "${PID[$1]}/task/${p##*/}"; done ;;
    esac
}
blkio_ms() { # server
    local t sum=0
    for t in $(loop_tids "$1"); do
        sum=$((sum + $(sed 's/.*) //' "/proc/$t/stat" | awk '{print $40}')))
    done
    echo $((sum * 1000 / $(getconf CLK_TCK)))
}

# wrk's requests/s, latency p50 and p99 (from --latency) and max, in ms.
hot() { # port
    taskset -c 1 wrk -t1 -c10 -d"${SECS}s" --latency "http://127.0.0.1:$1/small.html" | awk '
        function ms(v) {
            if (v ~ /us$/) return v * 0.001; if (v ~ /ms$/) return v + 0; if (v ~ /m$/) return v * 60000; return v * 1000
        }
        /^    Latency/ {max = ms($4)}
        /^ +50%/ {p50 = ms($2)} /^ +99%/ {p99 = ms($2)}
        /^Requests\/sec/ {rps = $2}
        /Non-2xx|Socket errors/ {print "wrk: " $0 > "/dev/stderr"}
        END {printf "%.0f %.3f %.3f %.3f\n", rps, p50, p99, max}'
}

echo "ephttpd vs nginx, h2o and lighttpd: one worker each on CPU 0; hot: wrk -t1 -c10 on 38 B; cold: $THREADS" \
    "connections over $COLD_FILES files of $COLD_SIZE bytes, each evicted before its request, ${PAUSE_MS} ms" \
    "between a connection's files; $ROUNDS rounds of ${SECS}s"
[ -z "$EP_EXTRA" ] || echo "ephttpd's configuration adds: $EP_EXTRA"
printf '%-9s %-6s %-5s %9s %9s %9s %9s %9s %8s %9s\n' server run round "hot req/s" "p50 ms" "p99 ms" "max ms" \
    "cold f/s" "MB/s" "loop I/O"
read -r -a order <<<"$SERVERS"
for r in $(seq 1 "$ROUNDS"); do
    for s in "${order[@]}"; do
        b0=$(blkio_ms "$s")
        read -r rps p50 p99 max <<<"$(hot "${PORT[$s]}")"
        b1=$(blkio_ms "$s")
        printf '%-9s %-6s %-5s %9s %9s %9s %9s %9s %8s %6s ms\n' "${NAME[$s]}" alone "$r" "$rps" "$p50" "$p99" "$max" \
            - - $((b1 - b0))
        echo "${NAME[$s]} alone $rps $p50 $p99 $max 0 $((b1 - b0))" >>"$WORK/runs"
        taskset -c 1 "$PY" "$REPO/bench/cold.py" "${PORT[$s]}" "$ROOT" "$SECS" "$THREADS" "$PAUSE_MS" "${COLD_PATHS[@]}" \
            >"$WORK/cold.out" &
        cp=$!
        b0=$(blkio_ms "$s")
        read -r rps p50 p99 max <<<"$(hot "${PORT[$s]}")"
        wait $cp || { echo "${NAME[$s]}: the cold client got wrong answers" >&2; exit 1; }
        b1=$(blkio_ms "$s")
        read -r files mbs _ <"$WORK/cold.out"
        printf '%-9s %-6s %-5s %9s %9s %9s %9s %9.1f %8s %6s ms\n' "${NAME[$s]}" cold "$r" "$rps" "$p50" "$p99" \
            "$max" "$(awk -v f="$files" -v t="$SECS" 'BEGIN {print f / t}')" "$mbs" $((b1 - b0))
        echo "${NAME[$s]} cold $rps $p50 $p99 $max $mbs $((b1 - b0))" >>"$WORK/runs"
    done
    order=("${order[@]:1}" "${order[0]}") # rotate: machine noise hits every server
done

echo "medians: hot req/s, p50, p99, max (ms) alone -> with cold reads; cold MB/s; hot p99 cold/alone;" \
    "the loop's wait for block I/O per run"
for s in $SERVERS; do
    "$PY" - "$WORK/runs" "${NAME[$s]}" <<'EOF'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]) if l.split()[0] == sys.argv[2]]
med = lambda run, k: statistics.median(float(r[k]) for r in rows if r[1] == run)
a = [med("alone", k) for k in (2, 3, 4, 5)]
c = [med("cold", k) for k in (2, 3, 4, 5)]
print("%-9s %8.0f %7.3f %7.3f %8.3f  ->  %8.0f %7.3f %7.3f %8.3f   %6.0f MB/s   p99 x%.1f   loop I/O %.0f ms"
      % (sys.argv[2], *a, *c, med("cold", 6), c[2] / a[2] if a[2] else 0, med("cold", 7)))
EOF
done
