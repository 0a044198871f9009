#!/usr/bin/env bash
# bench/bench.sh: ephttpd, nginx, H2O, lighttpd and a bare-epoll ceiling side by side on the same files, round by round.
#
#   bench/bench.sh [ROUNDS] [SECONDS]     (defaults: 3 rounds of 5 s per scenario)
#
# All servers get the same worker count (H2O: num-threads; lighttpd is one
# process, server.max-worker = WORKERS when WORKERS > 1), the same document
# root and access logs off; nginx has sendfile on (H2O 2.2 has no sendfile).
# Otherwise each peer runs with its defaults, except the connection limits
# that the c1000 scenario needs (nginx worker_connections 4096, H2O
# max-connections 4096, lighttpd server.max-connections 4096; ephttpd's
# default worker_connections is 4096). lighttpd 1.4.69 keeps its default
# server.max-keep-alive-requests (1000: wrk reconnects after it, costing a
# connection per 1000 requests). The script raises its soft descriptor limit
# to the hard one, for the clients and every server.
# The ceiling (bench/ceiling.c, built here with cc -O2) is one thread of a
# bare level-triggered epoll loop answering every request with the same
# fixed response (the 38-byte body, a head as long as ephttpd's): the most a
# server could do on one core. It runs only in the small-file keep-alive
# scenarios (small, small-c1000), is always one thread (with WORKERS=2 too:
# read its per CPU-s figure then), and the output gives ephttpd/ceiling.
# lighttpd and the ceiling take part in the plain HTTP/1.1 scenarios only
# (not tls-*, h2*, reload).
# With WORKERS=1 (the default) each server is pinned to CPU 0 and the clients
# to CPU 1, so the figure is one core's worth of serving. Rounds rotate the
# order of the servers so that machine noise hits all of them.
# Prints requests/s per round with the share of its core each server used,
# the medians, and ephttpd/nginx and ephttpd/h2o; then the same per second
# of the server's CPU time, which still compares servers when the machine's
# other work takes their core, or when the client is the bottleneck (tls-hs:
# one core of ab cannot keep a server busy with full handshakes).
# Before a scenario is measured, every server must serve its file whole, twice
# on one connection (keep-alive), or the script stops.
# Scenario "reload" (not in the default list; ephttpd and nginx only; run it as
#   SCENARIOS=reload WORKERS=2 bench/bench.sh 1 10
# ) drives each server with wrk -c100 keep-alive for SECONDS while the
# master gets a SIGHUP twice a second, and counts wrk's failed requests.
# With BASE=<git revision>, the peer is not nginx but ephttpd built from that
# revision (in a temporary worktree), so a change is measured against the
# commit before it, side by side: "nginx" in the output then means the base,
# and H2O and lighttpd are left out (the ceiling stays).
# HTTPS scenarios (not in the default list): tls-small, tls-large (wrk over
# https, keep-alive) and tls-hs (ab over https: a full handshake per request).
# Every server gets an HTTPS listener with the same ECDSA P-256 certificate,
# TLS 1.2 and 1.3, ephttpd's default TLS 1.2 cipher list in the server's
# order, OpenSSL's TLS 1.3 suites; the script checks that each server
# negotiates the same protocol, cipher and key exchange, and prints them.
# HTTP/2 scenarios (not in the default list): h2-small (h2load over https, ALPN
# h2, -n 200000 -c 10 -m 32 on the 38-byte file), h2-large (the 954 KB file,
# -m 4, -n H2_LARGE_N) and h2c-small (as h2-small, cleartext, prior knowledge).
# ephttpd's listeners have http2 = true (its cleartext port serves both h2c and
# HTTP/1.1, so the plain scenarios run against an http2 listener; EP_HTTP2=0
# takes it off to compare); nginx gets "ssl http2" on its TLS port and an
# extra h2c-only port (an nginx http2 listener without ssl speaks no
# HTTP/1.1); H2O speaks h2 by ALPN and h2c on its cleartext port by default.
# Each h2load run, and a check of two requests on one connection before
# measuring, must report the protocol h2 (h2c), every request succeeded with
# a 2xx, and the file's bytes times the requests as DATA, or the script stops.
# Scenario "small-c1000": the small file with wrk -t1 -c1000. Scenario "many":
# 10,000 files of 38..2000 bytes in 100 folders (many/NN/fNNNNN.html, sizes
# drawn with a fixed seed), requested at random by wrk -c100 with
# bench/many.lua from one path list that every server gets, in the same order;
# before it, every server must serve a sample of 50 of them whole, twice on one
# connection each.
# Scenarios "small-paced", "medium-paced" and "large-paced" (not in the
# default list): the same offered load for every server, h2load --h1 at a
# fixed rate (small: 500 connections at 200 requests/s each; medium: 100 at
# 300/s; large: 100 at 40/s; 3 s, under
# the 1000 requests a connection that every server's default keep-alive
# limit allows, as h2load does not reconnect). Their requests/s are equal by
# construction: read the per CPU-s and CPU µs/req lines. A closed-loop wrk
# run measures a server's CPU at the load it can drive wrk to: a server that
# outruns the one-core client then runs smaller batches (more epoll_waits
# and wakeups a request) than one the client keeps busy, and pays for its
# speed per CPU-second; at one offered load the CPU a request costs compares
# like for like. Every request must succeed with a 2xx and the file's bytes.
# Each scenario also prints every server's CPU time per request (µs, from the
# median of its requests per CPU-second).
# STRACE=1: after a scenario's rounds, for each server, one run of SECONDS
# without tracing that reads the user and system CPU time of its processes
# from /proc/PID/stat (per request), then one with strace -c -f attached to
# its workers (the children of the process started, or the process itself for
# H2O, the ceiling and a one-process lighttpd), which prints system calls per
# request (calls over the client's completed requests) and the most frequent
# calls. strace slows the servers several times over: read its counts, not
# its rates. Plain HTTP/1.1 scenarios only.
# EP_EXTRA: lines appended to ephttpd's generated configuration (and the
# base's, with BASE, unless BASE_EXTRA gives the base its own), e.g.
# EP_EXTRA='open_file_cache = 10000;'. EP_LISTEN (BASE_LISTEN): settings
# added to ephttpd's (the base's) listeners, e.g. ' deferred = false;'.
# A default is measured against another value side by side with the same
# build as the base, e.g. BASE=HEAD BASE_EXTRA='small_file_max = 128k;'.
# Environment: WORKERS (1), SCENARIOS ("small medium large ab"), BUILD (build-bench),
# NGINX_LISTEN (extra nginx listen parameters, e.g. "deferred" to give nginx the
# deferred accept that ephttpd's listeners use by default), EP_HTTP2 (1),
# H2_LARGE_N (h2-large's requests per run: 800 per SECONDS, a run of a few seconds here).
set -euo pipefail

ROUNDS=${1:-3}
SECS=${2:-5}
WORKERS=${WORKERS:-1}
SCENARIOS=${SCENARIOS:-"small medium large ab"}
NGINX_LISTEN=${NGINX_LISTEN:-}
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build-bench}
BASE=${BASE:-}
BASE_NO_HTTP2=""
EP_HTTP2=${EP_HTTP2:-1}
H2_LARGE_N=${H2_LARGE_N:-$((SECS * 800))}
EP_EXTRA=${EP_EXTRA-}
BASE_EXTRA=${BASE_EXTRA-$EP_EXTRA}
EP_LISTEN=${EP_LISTEN-}
BASE_LISTEN=${BASE_LISTEN-$EP_LISTEN}
EP_KEEPALIVE="" NG_KEEPALIVE=""
case " $SCENARIOS " in *" h2"*) EP_KEEPALIVE="keepalive_requests = 1000000;" NG_KEEPALIVE="keepalive_requests 1000000;" ;; esac
STRACE=${STRACE:-}
case " $SCENARIOS " in *" tls-"* | *" h2-"*) TLS=1 ;; *) TLS="" ;; esac
# Short names: ep ephttpd, ng nginx (or the base revision), h2 H2O, lt
# lighttpd, cl the ceiling. SERVERS take part in every scenario (TLS, HTTP/2);
# PLAIN in the plain HTTP/1.1 ones; the ceiling in small and small-c1000.
SERVERS="ep ng"
PLAIN="ep ng"
if [ -z "$BASE" ]; then
    SERVERS="ep ng h2"
    PLAIN="ep ng h2 lt"
fi
declare -A NAME=([ep]=ephttpd [ng]=nginx [h2]=h2o [lt]=lighttpd [cl]=ceiling)
declare -A PORT=([ep]=18081 [ng]=18082 [h2]=18085 [lt]=18088 [cl]=18089)
declare -A TLS_PORT=([ep]=18083 [ng]=18084 [h2]=18086)
# h2c by prior knowledge: ephttpd and H2O on their cleartext port, nginx on one of its own.
declare -A H2C_PORT=([ep]=18081 [ng]=18087 [h2]=18085)
[ -z "$BASE" ] || H2C_PORT[ng]=${PORT[ng]}
declare -A PID=()

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need h2o || ! need lighttpd || ! need wrk || ! need ab || ! need h2load || ! need cmake ||
    ! need strace || ! need python3 || ! pkg-config --exists cmocka 2>/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    # lighttpd's package enables its service; where systemd runs, it is
    # stopped and disabled: the script runs its own, on its own port.
    apt-get install -y -qq nginx-light h2o lighttpd wrk apache2-utils nghttp2-client strace python3 cmake gcc make \
        pkg-config libcmocka-dev >/dev/null
    if [ -d /run/systemd/system ]; then systemctl disable --now lighttpd >/dev/null 2>&1 || true; fi
fi
# STRACE=1 counts system calls with perf too, where it can count the syscall tracepoint.
PERF=""
[ -z "$STRACE" ] || ! need perf || ! perf stat -e raw_syscalls:sys_enter -o /dev/null true 2>/dev/null || PERF=1
# wrk -c1000 and the servers' 1000 connections: the soft descriptor limit up to the hard one.
ulimit -n "$(ulimit -Hn)"

cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEP_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
EPHTTPD=$BUILD/ephttpd

WORK=$(mktemp -d /tmp/ephttpd-bench.XXXXXX)
cc -O2 -o "$WORK/ceiling" "$REPO/bench/ceiling.c"
if [ -n "$BASE" ]; then
    git -C "$REPO" worktree add -q --detach "$WORK/base-src" "$BASE"
    cmake -S "$WORK/base-src" -B "$WORK/base-build" -DCMAKE_BUILD_TYPE=Release -DEP_TESTS=OFF >/dev/null
    cmake --build "$WORK/base-build" -j"$(nproc)" >/dev/null
    BASE_BIN=$WORK/base-build/ephttpd
    # A revision from before HTTP/2 would reject the listeners' http2 setting.
    grep -q '"http2"' "$WORK/base-src/src/config/directives.c" || BASE_NO_HTTP2=1
    git -C "$REPO" worktree remove --force "$WORK/base-src"
fi
cleanup() {
    local p
    for p in "${PID[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$WORK"
    [ -z "$BASE" ] || git -C "$REPO" worktree prune
}
trap cleanup EXIT

# The seed benchmark's file sizes: a 38-byte page, a 98 KB stylesheet, a ~1 MB page.
ROOT=$WORK/root
mkdir -p "$ROOT"
printf '<html><body>a 38-byte page</body></html>' | head -c 38 >"$ROOT/small.html"
filler() { base64 -w 100 /dev/urandom | head -c "$1" || true; } # head ends base64 with SIGPIPE
filler 98620 >"$ROOT/medium.css"
filler 954824 >"$ROOT/large.html"
# "many": 10,000 files of 38..2000 bytes, 100 to a folder, and their paths in random order.
python3 - "$ROOT" "$WORK/many.list" <<'EOF'
import os, random, sys
root, listing = sys.argv[1], sys.argv[2]
rnd = random.Random(16)
block = bytes(rnd.choice(b"abcdefghijklmnopqrstuvwxyz0123456789 ") for _ in range(4096))
paths = []
for i in range(10000):
    folder = "many/%02d" % (i % 100)
    os.makedirs(os.path.join(root, folder), exist_ok=True)
    path = "/%s/f%05d.html" % (folder, i)
    size, at = rnd.randint(38, 2000), rnd.randint(0, 2000)
    with open(root + path, "wb") as f:
        f.write(block[at:at + size])
    paths.append(path)
rnd.shuffle(paths)
with open(listing, "w") as f:
    f.write("\n".join(paths) + "\n")
EOF
chmod -R a+rX "$WORK" # nginx's and H2O's workers run as nobody
CIPHERS=""
if [ -n "$TLS" ]; then
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
    chmod 644 "$WORK/key.pem"
    # ephttpd's built-in TLS 1.2 list, read from its source so that the peers
    # cannot drift from it; they are told to prefer it in the same order.
    CIPHERS=$(sed -n '/^#define CFG_TLS_CIPHERS_DEFAULT/,/^$/p' "$REPO/src/config/model.h" |
        grep -o '"[^"]*"' | tr -d '"\n')
    [ -n "$CIPHERS" ] || { echo "CFG_TLS_CIPHERS_DEFAULT not found in src/config/model.h" >&2; exit 1; }
fi

if [ "$WORKERS" = 1 ] && [ "$(nproc)" -ge 2 ]; then
    SRV="taskset -c 0"
    CLI="taskset -c 1"
else
    SRV=""
    CLI=""
fi

cat >"$WORK/nginx.conf" <<EOF
worker_processes $WORKERS;
daemon off;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log error;
events { worker_connections 4096; }
http {
    access_log off;
    sendfile on;
    tcp_nopush on;
    $NG_KEEPALIVE
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:${PORT[ng]} $NGINX_LISTEN; # backlog 511, as ephttpd
        listen 127.0.0.1:${H2C_PORT[ng]} http2 $NGINX_LISTEN; # h2c only: no HTTP/1.1 on this port
        ${TLS:+listen 127.0.0.1:${TLS_PORT[ng]} ssl http2; ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem;}
        ${TLS:+ssl_protocols TLSv1.2 TLSv1.3; ssl_session_tickets on;}
        ${TLS:+ssl_ciphers $CIPHERS; ssl_prefer_server_ciphers on;}
        root $ROOT;
    }
}
EOF

# H2O 2.2.5 (Debian): without an access-log line there is no access log, and
# keep-alive has no request limit. neverbleed off: the key stays in the
# worker, as in ephttpd and nginx, not in a helper process that signs over a
# socket (2.2.5's helper takes RSA keys only). No OCSP stapling: a
# self-signed certificate names no responder.
H2O_TLS=""
[ -z "$TLS" ] || H2O_TLS="
listen:
  host: 127.0.0.1
  port: ${TLS_PORT[h2]}
  ssl:
    certificate-file: $WORK/cert.pem
    key-file: $WORK/key.pem
    minimum-version: TLSv1.2
    cipher-suite: \"$CIPHERS\"
    cipher-preference: server
    neverbleed: OFF
    ocsp-update-interval: 0"
H2O_USER=""
[ "$(id -u)" != 0 ] || H2O_USER="user: nobody"
cat >"$WORK/h2o.conf" <<EOF
num-threads: $WORKERS
max-connections: 4096
error-log: $WORK/h2o-error.log
$H2O_USER
listen:
  host: 127.0.0.1
  port: ${PORT[h2]}$H2O_TLS
hosts:
  default:
    paths:
      /:
        file.dir: $ROOT
EOF

# lighttpd 1.4.69 (Debian): without mod_accesslog there is no access log;
# mod_staticfile, mod_indexfile and mod_dirlisting load by default. Debian's
# own configuration is not used (it turns on h2c, URL normalizations and
# more); the MIME types are Debian's, as for nginx. Its default is one
# process; server.max-worker forks that many workers. Its error log is its
# stderr (lighttpd.log): it opens a log file after dropping to nobody.
LT_USER=""
[ "$(id -u)" != 0 ] || LT_USER='server.username = "nobody"
server.groupname = "nogroup"'
LT_WORKERS=""
[ "$WORKERS" = 1 ] || LT_WORKERS="server.max-worker = $WORKERS"
cat >"$WORK/lighttpd.conf" <<EOF
server.document-root = "$ROOT"
server.bind = "127.0.0.1"
server.port = ${PORT[lt]}
server.max-connections = 4096
server.max-fds = 16384
$LT_WORKERS
$LT_USER
include_shell "/usr/share/lighttpd/create-mime.conf.pl"
EOF

wait_port() {
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$1/small.html" && return 0
        sleep 0.05
    done
    echo "server on port $1 did not start" >&2
    exit 1
}

EP_H2=""
[ "$EP_HTTP2" = 0 ] || EP_H2=" http2 = true;"
EP_TLS_LISTEN=""
EP_TLS_PAIR=""
if [ -n "$TLS" ]; then
    EP_TLS_LISTEN=", { address = \"127.0.0.1\"; port = ${TLS_PORT[ep]}; tls = true;$EP_H2 }"
    EP_TLS_PAIR=" tls_certificate = \"$WORK/cert.pem\"; tls_certificate_key = \"$WORK/key.pem\";"
fi

# ephttpd runs from a configuration file (as an installed one would, and so
# that SIGHUP has something to reload); as root its workers are www-data.
# Otherwise ephttpd's defaults. With an HTTP/2 scenario in the run,
# keepalive_requests = 1000000 for ephttpd and nginx (H2O has no such limit):
# h2load opens one connection per client and counts the requests after a
# GOAWAY as failed.
ep_conf() { # ephttpd's configuration: $1 port, $2 TLS port, $3 pid file, $4 extra listen, $5 extra lines
    local tls_listen=${EP_TLS_LISTEN/port = ${TLS_PORT[ep]};/port = $2;$4}
    printf '%s\n' "workers = $WORKERS;" "$EP_KEEPALIVE" "pid_file = \"$3\";" \
        "listen = ( { address = \"127.0.0.1\"; port = $1;$EP_H2$4 }$tls_listen );" \
        "servers = ( { root = \"$ROOT\"; access_log = \"off\";$EP_TLS_PAIR } );" "$5"
}
ep_conf "${PORT[ep]}" "${TLS_PORT[ep]}" "$WORK/ephttpd.pid" "$EP_LISTEN" "$EP_EXTRA" >"$WORK/ephttpd.conf"
ep_conf "${PORT[ng]}" "${TLS_PORT[ng]}" "$WORK/base.pid" "$BASE_LISTEN" "$BASE_EXTRA" |
    sed -e "${BASE_NO_HTTP2:+s/ http2 = true;//}" >"$WORK/base.conf"

start_servers() {
    local s
    $SRV "$EPHTTPD" -c "$WORK/ephttpd.conf" 2>"$WORK/ephttpd.log" &
    PID[ep]=$!
    if [ -n "$BASE" ]; then
        $SRV "$BASE_BIN" -c "$WORK/base.conf" 2>"$WORK/base.log" &
        PID[ng]=$!
    else
        $SRV nginx -c "$WORK/nginx.conf" 2>>"$WORK/nginx-error.log" &
        PID[ng]=$!
        $SRV h2o -c "$WORK/h2o.conf" >"$WORK/h2o.log" 2>&1 &
        PID[h2]=$!
        $SRV lighttpd -D -f "$WORK/lighttpd.conf" >"$WORK/lighttpd.log" 2>&1 &
        PID[lt]=$!
    fi
    $SRV "$WORK/ceiling" "${PORT[cl]}" 2>"$WORK/ceiling.log" &
    PID[cl]=$!
    for s in $PLAIN cl; do wait_port "${PORT[$s]}"; done
}

# The servers a scenario measures, ephttpd first.
servers_of() { # scenario
    case $1 in
    small | small-c1000 | small-paced) echo "$PLAIN cl" ;;
    medium | large | ab | many | medium-paced | large-paced) echo "$PLAIN" ;;
    *) echo "$SERVERS" ;;
    esac
}

# wrk's output for one run of a scenario on a URL: -c1000 for small-c1000,
# many.lua and the path list for many.
wrk_out() { # scenario url
    local c=100
    local -a script=()
    [ "$1" != small-c1000 ] || c=1000
    [ "$1" != many ] || script=(-s "$REPO/bench/many.lua")
    $CLI wrk -t1 -c"$c" -d"${SECS}s" "${script[@]}" "$2" ${script[0]:+-- "$WORK/many.list"}
}

# wrk's requests/s; errors and non-2xx answers are reported, never counted silently.
run_wrk() { # scenario url
    wrk_out "$1" "$2" | awk '/Requests\/sec/ {print $2}
        /Non-2xx|Socket errors/ {print "wrk: " $0 > "/dev/stderr"}'
}

# h2load's requests/s and its run's length in ns. The run must have spoken the scenario's protocol (h2
# by ALPN over https, h2c by prior knowledge over http), every request must
# have succeeded with a 2xx, and DATA must be the file's size times the
# requests: otherwise the script stops, naming the server's answer.
# h2load offers TLS 1.3's AES-128 suite first, where wrk, ab and s_client
# (check_tls) offer AES-256 first; H2O takes the client's order, nginx and
# ephttpd their own (AES-256 first): without this, H2O alone would run the
# cheaper cipher. Every h2 run is checked to have used it.
H2_SUITE=TLS_AES_256_GCM_SHA384
run_h2load() { # requests connections streams-per-connection url
    local out want suite=""
    out=$($CLI h2load --tls13-ciphers=$H2_SUITE -t1 -c"$2" -m"$3" -n"$1" "$4" 2>&1) || true
    want=h2
    if [ "${4%%:*}" = https ]; then suite=$H2_SUITE; else want=h2c; fi
    want=$(awk -v n="$1" -v size="$(stat -c %s "$ROOT/${4##*/}")" -v proto="$want" -v suite="$suite" '
        /^Application protocol:/ {p = $3}
        /^Cipher:/ {c = $2}
        /^requests:/ {total = $2; ok = $8; bad = $10 + $12 + $14}
        /^status codes:/ {two = $3; other = $5 + $7 + $9}
        /^traffic:/ {for (i = 1; i <= NF; i++) if ($i == "data") {data = $(i - 1); gsub(/[()]/, "", data)}}
        /^finished in/ {rate = $4; span = $3 + 0; unit = $3; sub(/^[0-9.]+/, "", unit)
            span *= unit ~ /^ms/ ? 1e6 : unit ~ /^us/ ? 1e3 : 1e9}
        END {
            if (p != proto) print "protocol \"" p "\", want " proto
            else if (c != suite) print "cipher \"" c "\", want \"" suite "\""
            else if (total != n || ok != n || bad != 0) print "requests: " total " total, " ok " succeeded, " bad " failed/errored/timed out"
            else if (two != n || other != 0) print "status codes: " two " 2xx, " other " other"
            else if (data + 0 != n * size) printf "DATA %s bytes, want %.0f\n", data, n * size
            else printf "ok %s %.0f\n", rate, span
        }' <<<"$out")
    if [ "${want%% *}" != ok ]; then
        printf 'h2load %s: %s\n%s\n' "$4" "$want" "$out" >&2
        return 1
    fi
    echo "${want#ok }"
}

# h2load --h1 at a fixed rate for 3 s: its requests/s and span (ns), as
# run_h2load; every request must have succeeded with a 2xx and DATA must be
# the file's size times the requests done, or the script stops.
run_paced() { # connections requests/s-per-connection url
    local out want
    out=$($CLI h2load --h1 -t1 -c"$1" --rps="$2" -D 3 "$3" 2>&1) || true
    want=$(awk -v size="$(stat -c %s "$ROOT/${3##*/}")" '
        /^requests:/ {started = $4; done = $6; ok = $8; bad = $10 + $12 + $14}
        /^status codes:/ {two = $3; other = $5 + $7 + $9}
        /^traffic:/ {for (i = 1; i <= NF; i++) if ($i == "data") {data = $(i - 1); gsub(/[()]/, "", data)}}
        /^finished in/ {span = $3 + 0; unit = $3; sub(/^[0-9.]+/, "", unit)
            span *= unit ~ /^ms/ ? 1e6 : unit ~ /^us/ ? 1e3 : 1e9}
        END {
            # The run stops on the clock: the heads and bytes of the requests
            # still under way when it does are counted too.
            if (done == 0 || ok != done || bad != 0) print "requests: " done " done, " ok " succeeded, " bad " failed/errored/timed out"
            else if (two < done || two > started || other != 0) print "status codes: " two " 2xx, " other " other"
            else if (data + 0 < done * size || data + 0 > started * size) printf "DATA %s bytes, want %.0f to %.0f\n", data, done * size, started * size
            else printf "ok %.2f %.0f\n", done / span * 1e9, span
        }' <<<"$out")
    if [ "${want%% *}" != ok ]; then
        printf 'h2load --h1 %s: %s\n%s\n' "$3" "$want" "$out" >&2
        return 1
    fi
    echo "${want#ok }"
}

run_ab() { # count concurrency url
    $CLI ab -q -n "$1" -c "$2" -r "$3" 2>/dev/null |
        awk '/Requests per second/ {print $4} /Failed requests/ {if ($3 > 0) print "failed:" $3 > "/dev/stderr"}'
}

# The URL a scenario fetches from one server.
url_of() { # scenario server
    case $1 in
    small | small-c1000 | small-paced | ab) echo "http://127.0.0.1:${PORT[$2]}/small.html" ;;
    many) echo "http://127.0.0.1:${PORT[$2]}" ;; # many.lua gives the paths
    medium | medium-paced) echo "http://127.0.0.1:${PORT[$2]}/medium.css" ;;
    large | large-paced) echo "http://127.0.0.1:${PORT[$2]}/large.html" ;;
    tls-small | tls-hs) echo "https://127.0.0.1:${TLS_PORT[$2]}/small.html" ;;
    tls-large | h2-large) echo "https://127.0.0.1:${TLS_PORT[$2]}/large.html" ;;
    h2-small) echo "https://127.0.0.1:${TLS_PORT[$2]}/small.html" ;;
    h2c-small) echo "http://127.0.0.1:${H2C_PORT[$2]}/small.html" ;;
    *) echo "unknown scenario '$1'" >&2; return 2 ;;
    esac
}

# CPU time (ns) of a server's processes, every thread: the process and its
# children (ephttpd's and nginx's workers). From schedstat, not the tick
# counts of /proc/PID/stat: an h2load run on the small file can be over in
# half a second, which 10 ms ticks would measure to 5% at best.
cpu_ns() { # pid
    local p
    for p in $1 $(pgrep -P "$1"); do
        cat "/proc/$p/task/"*/schedstat 2>/dev/null || true
    done | awk '{t += $1} END {printf "%.0f\n", t}'
}

# One measurement: prints requests/s and the share of one CPU the server
# used meanwhile. On a busy machine (or with a client that cannot keep up) a
# server gets less than its core; requests per CPU-second still compare.
# The share is over the client's own measured span when it gives one
# (h2load): a fixed number of requests can take H2O a fifth of a second, and
# the client's start-up, counted in, would inflate its requests per
# CPU-second by a tenth.
measure() { # scenario server
    local url rate c0 c1 t0 t1 span=""
    url=$(url_of "$1" "$2")
    c0=$(cpu_ns "${PID[$2]}")
    t0=$(date +%s%N)
    case $1 in
    ab) rate=$(run_ab 50000 100 "$url") ;;
    tls-hs) rate=$(run_ab 5000 50 "$url") ;;
    h2-small | h2c-small) rate=$(run_h2load 200000 10 32 "$url") ;;
    h2-large) rate=$(run_h2load "$H2_LARGE_N" 10 4 "$url") ;;
    small-paced) rate=$(run_paced 500 200 "$url") ;;
    medium-paced) rate=$(run_paced 100 300 "$url") ;;
    large-paced) rate=$(run_paced 100 40 "$url") ;;
    *) rate=$(run_wrk "$1" "$url") ;;
    esac
    t1=$(date +%s%N)
    c1=$(cpu_ns "${PID[$2]}")
    read -r rate span <<<"$rate"
    awk -v r="$rate" -v c=$((c1 - c0)) -v ns="${span:-$((t1 - t0))}" 'BEGIN {print r, c / ns}'
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# A benchmark of error pages proves nothing: every server must serve the
# scenario's file whole, twice on one connection (the keep-alive that wrk
# counts on; ab's scenarios do not use it, but the check costs nothing).
# HTTP/2 scenarios check with h2load itself, two requests on one connection,
# and its checks (run_h2load): protocol, statuses, DATA bytes. (Debian's curl
# 7.88.1 loses the second request of a reused prior-knowledge connection:
# curl PR 10643.)
check_servers() { # scenario
    local s url f got want
    [ "$1" != many ] || { check_many; return; }
    for s in $(servers_of "$1"); do
        url=$(url_of "$1" "$s") || exit 2
        case $1 in
        h2*)
            run_h2load 2 1 1 "$url" >/dev/null || { echo "${NAME[$s]} fails the check above" >&2; exit 1; }
            continue
            ;;
        esac
        f=$ROOT/${url##*/}
        got=$(curl -sk --http1.1 -o /dev/null -o /dev/null -w '%{http_code} %{size_download} %{num_connects} ' "$url" "$url")
        want="200 $(stat -c %s "$f") 1 200 $(stat -c %s "$f") 0 "
        if [ "$got" != "$want" ]; then
            echo "${NAME[$s]} $url: got (status, bytes, new connections; twice) '$got', want '$want'" >&2
            exit 1
        fi
    done
}

# "many": a sample of 50 of the files (every 200th of the list), each
# twice on one connection, each whole, from every server.
check_many() {
    local s p got want
    local -a paths args
    mapfile -t paths < <(awk 'NR % 200 == 1' "$WORK/many.list")
    for s in $(servers_of many); do
        args=()
        want=""
        for p in "${paths[@]}"; do
            args+=(-o /dev/null "http://127.0.0.1:${PORT[$s]}$p" -o /dev/null "http://127.0.0.1:${PORT[$s]}$p")
            want+="200 $(stat -c %s "$ROOT$p") 200 $(stat -c %s "$ROOT$p") "
        done
        # One curl: the first transfer opens the connection, every other one reuses it.
        got=$(curl -s --http1.1 -w '%{http_code} %{size_download} %{num_connects}\n' "${args[@]}" |
            awk '{n += $3; printf "%s %s ", $1, $2} END {if (n != 1) printf "(%d connections) ", n}')
        if [ "$got" != "$want" ]; then
            echo "${NAME[$s]} many: got (status, bytes each) '$got', want '$want'" >&2
            exit 1
        fi
    done
}

# What a default OpenSSL 3 client (as wrk and ab are) negotiates: protocol,
# cipher, key exchange. Servers on different ciphers would not be compared.
tls_params() { # server [s_client option]
    local s=$1
    shift
    openssl s_client -connect "127.0.0.1:${TLS_PORT[$s]}" -servername localhost "$@" </dev/null 2>/dev/null |
        awk '/^New, / {sub(",", "", $2); p = $2 " " $NF} /^Server Temp Key:/ {sub(",", "", $4); k = $4}
             /^ALPN protocol:/ {a = " ALPN " $3} END {print p " " k a}'
}

check_tls() {
    local s v first got alpn
    # With an h2 scenario: the same again offering h2 and http/1.1 by ALPN,
    # as h2load does; every server must choose h2.
    case " $SCENARIOS " in *" h2-"*) alpn="-alpn h2,http/1.1" ;; *) alpn="" ;; esac
    for v in "" -tls1_2 ${alpn:+"$alpn"}; do
        first=""
        for s in $SERVERS; do
            # shellcheck disable=SC2086 # $v is none, one option, or -alpn and its list
            got=$(tls_params "$s" $v)
            [ -n "$first" ] || first=$got
            case $v in -alpn*) [ "${got% ALPN h2}" != "$got" ] || got="$got (no h2)" ;; esac
            if [ "$got" != "$first" ] || [ -z "${got// /}" ] || [ "${got% (no h2)}" != "$got" ]; then
                echo "TLS${v:+ ($v)}: ${NAME[$s]} negotiates '$got', ephttpd '$first'" >&2
                exit 1
            fi
        done
        echo "TLS${v:+ ($v)}, every server: $first"
    done
    # Not made equal, but part of tls-hs's work: each TLS 1.3 ticket is one
    # more encryption and record per handshake (wrk and ab resume none).
    local t=""
    for s in $SERVERS; do
        t+=" ${NAME[$s]} $(printf 'GET /small.html HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n' |
            openssl s_client -connect "127.0.0.1:${TLS_PORT[$s]}" -servername localhost -ign_eof 2>/dev/null |
            grep -c 'Post-Handshake New Session Ticket')"
    done
    echo "TLS 1.3 session tickets sent per full handshake (each server's default):$t"
}

# wrk on the small file while the master gets SIGHUP twice a second.
reload_run() { # name master-pid port
    local out="$WORK/reload.$1" hups=0 end=$((SECONDS + SECS))
    $CLI wrk -t2 -c100 -d"${SECS}s" "http://127.0.0.1:$3/small.html" >"$out" 2>&1 &
    local wrk=$!
    sleep 0.3
    while [ $SECONDS -lt $end ] && kill -0 $wrk 2>/dev/null; do
        kill -HUP "$2" && hups=$((hups + 1))
        sleep 0.5
    done
    wait $wrk
    awk -v n="$1" -v h=$hups '
        /requests in/ {req = $1}
        /Socket errors/ {gsub(",", ""); err = $4 + $6 + $8 + $10; detail = $0}
        /Non-2xx/ {bad = $NF}
        END {printf "%-9s %-12s reloads %3d  requests %8d  failed %6d  (%s%s)\n", "reload", n, h, req,
             err + bad, detail ? detail : "no socket errors", bad ? ", non-2xx " bad : ""}' "$out"
}

# Rounds rotate the order (ep ng h2, ng h2 ep, h2 ep ng, ...) so that drift in
# the machine hits every server alike, and each ratio to ephttpd is taken
# from runs seconds apart; the median of those per-round ratios is the figure.
run_scenario() { # scenario
    local sc=$1 r i s order peer summary servers
    local -a list
    servers=$(servers_of "$sc")
    read -ra list <<<"$servers"
    for s in $servers; do : >"$WORK/$s.$sc"; done
    for r in $(seq "$ROUNDS"); do
        order=""
        for i in "${!list[@]}"; do order+=" ${list[$(((r - 1 + i) % ${#list[@]}))]}"; done
        for s in $order; do measure "$sc" "$s" >>"$WORK/$s.$sc"; done
    done
    for s in $servers; do
        printf '%-11s %-12s %s\n' "$sc" "${NAME[$s]}" \
            "$(awk '{printf "%.0f (%.0f%%) ", $1, 100 * $2}' "$WORK/$s.$sc")"
    done
    local col what summary
    for col in rate percpu; do
        [ $col = rate ] && what="median  " || what="per CPU-s"
        summary=""
        for s in $servers; do
            awk -v c=$col '{print c == "rate" ? $1 : $1 / $2}' "$WORK/$s.$sc" >"$WORK/$col.$s.$sc"
            summary+=" ${NAME[$s]} $(median <"$WORK/$col.$s.$sc" | xargs printf '%.0f') "
        done
        for peer in ${servers#ep }; do
            paste "$WORK/$col.ep.$sc" "$WORK/$col.$peer.$sc" | awk '{print $1 / $2}' >"$WORK/ratio.$peer.$sc"
            [ $col = percpu ] ||
                printf '%-11s %-12s %s\n' "$sc" "ep/${NAME[$peer]}" "$(xargs printf '%.2f ' <"$WORK/ratio.$peer.$sc")"
            summary+=" ephttpd/${NAME[$peer]} $(median <"$WORK/ratio.$peer.$sc" | xargs printf '%.2f') "
        done
        printf '%-11s %-9s%s\n' "$sc" "$what" "$summary"
    done
    # CPU time per request: the inverse of the median requests per CPU-second.
    summary=""
    for s in $servers; do
        summary+=" ${NAME[$s]} $(median <"$WORK/percpu.$s.$sc" | awk '{printf "%.2f", 1e6 / $1}') "
    done
    printf '%-11s %-9s%s\n' "$sc" "CPU µs/req" "$summary"
}

# Requests a server completes in one run of SECONDS of a scenario's client,
# for the STRACE runs; failures are reported on stderr.
count_run() { # scenario server
    local url
    url=$(url_of "$1" "$2")
    case $1 in
    ab)
        $CLI ab -q -t "$SECS" -n 100000000 -c 100 -r "$url" 2>/dev/null |
            awk '/^Complete requests:/ {print $3} /^Failed requests:/ {if ($3 > 0) print "ab: failed " $3 > "/dev/stderr"}'
        ;;
    *)
        wrk_out "$1" "$url" | awk '/ requests in / {print $1}
            /Non-2xx|Socket errors/ {print "wrk: " $0 > "/dev/stderr"}'
        ;;
    esac
}

# User and system CPU ticks of a process and its children (every thread's:
# a process's stat counts all of its threads), from /proc/PID/stat.
stat_ticks() { # pid
    local p
    for p in $1 $(pgrep -P "$1"); do
        # The fields after the command name's ")": utime and stime are its 12th and 13th.
        sed 's/.*) //' "/proc/$p/stat" 2>/dev/null || true
    done | awk '{u += $12; s += $13} END {print u + 0, s + 0}'
}

# The processes strace follows: a server's workers (the children of the
# process started that run the same program: H2O's child is a perl helper
# for backtraces, its workers are threads), or the process itself.
worker_pids() { # pid
    local p kids=""
    for p in $(pgrep -P "$1"); do
        [ "$(readlink "/proc/$p/exe")" != "$(readlink "/proc/$1/exe")" ] || kids+="$p "
    done
    echo "${kids:-$1}"
}

# Has strace attached to every thread of these processes?
all_traced() { # pids...
    local p st
    for p in "$@"; do
        for st in /proc/"$p"/task/*/status; do
            awk '/^TracerPid:/ {exit $2 == 0}' "$st" || return 1
        done
    done
}

# STRACE=1: CPU time per request split into user and system, and system
# calls per request counted by perf (an untraced run), then the calls by name
# (a run under strace -c -f, whose slowness makes batches larger: fewer
# epoll_waits per request than untraced).
strace_scenario() { # scenario
    local sc=$1 s n p sp tick
    local -a t0 t1 pids targets
    tick=$(getconf CLK_TCK)
    for s in $(servers_of "$sc"); do
        read -r -a pids <<<"$(worker_pids "${PID[$s]}")"
        targets=()
        for p in "${pids[@]}"; do targets+=(-p "$p"); done
        # The untraced count: perf counts the syscall tracepoint's hits, which
        # costs the server next to nothing, so its batches stay as they are.
        sp=""
        if [ -n "$PERF" ]; then
            # one -p with every worker: perf keeps only the last of several -p
            perf stat -x, -e raw_syscalls:sys_enter -o "$WORK/perf.$s.$sc" -p "$(IFS=,; echo "${pids[*]}")" \
                2>>"$WORK/perf.log" &
            sp=$!
            sleep 0.5
        fi
        read -r -a t0 <<<"$(stat_ticks "${PID[$s]}")"
        n=$(count_run "$sc" "$s")
        read -r -a t1 <<<"$(stat_ticks "${PID[$s]}")"
        [ -z "$sp" ] || { kill -INT "$sp"; wait "$sp" || true; }
        awk -v sc="$sc" -v name="${NAME[$s]}" -v n="$n" -v u=$((t1[0] - t0[0])) -v k=$((t1[1] - t0[1])) \
            -v tick="$tick" 'BEGIN {printf "%-11s %-12s CPU per request (/proc/PID/stat, %d requests): " \
            "user %.2f µs, system %.2f µs\n", sc, name, n, u * 1e6 / tick / n, k * 1e6 / tick / n}'
        [ -z "$sp" ] || awk -F, -v n="$n" -v sc="$sc" -v name="${NAME[$s]}" '$3 == "raw_syscalls:sys_enter" {
            printf "%-11s %-12s system calls per request (perf stat, untraced; includes the idle moments): %.2f\n",
                sc, name, $1 / n}' "$WORK/perf.$s.$sc"
        strace -c -f -o "$WORK/strace.$s.$sc" "${targets[@]}" 2>>"$WORK/strace.log" &
        sp=$!
        for _ in $(seq 200); do all_traced "${pids[@]}" && break; sleep 0.05; done
        all_traced "${pids[@]}" || { echo "strace did not attach to ${NAME[$s]} (${pids[*]})" >&2; exit 1; }
        n=$(count_run "$sc" "$s")
        kill -INT $sp
        wait $sp || true
        # strace -c: % time, seconds, usecs/call, calls, [errors], syscall; last the total.
        awk -v n="$n" -v sc="$sc" -v name="${NAME[$s]}" -v w="${#pids[@]}" '
            $NF == "total" {total = $4; next}
            $4 ~ /^[0-9]+$/ && NF >= 5 {calls[$NF] = $4}
            END {
                printf "%-11s %-12s system calls per request (strace -c, %d requests, %d process(es)): %.2f;",
                    sc, name, n, w, total / n
                k = 0
                while (k < 6) {
                    best = ""
                    for (c in calls) if (best == "" || calls[c] > calls[best]) best = c
                    if (best == "") break
                    printf " %s %.2f", best, calls[best] / n
                    delete calls[best]
                    k++
                }
                print ""
            }' "$WORK/strace.$s.$sc"
    done
}

start_servers
if [ -n "$BASE" ]; then
    peer="ephttpd at $BASE (shown as nginx)"
else
    peer="nginx $(nginx -v 2>&1 | sed 's/.*\///'), h2o $(h2o --version | awk '/version/ {print $3; exit}')"
    peer+=", lighttpd $(lighttpd -v | sed 's/^lighttpd\/\([^ ]*\).*/\1/') and the ceiling"
fi
echo "ephttpd vs $peer, $WORKERS worker(s), $ROUNDS rounds of ${SECS}s, $(nproc) cores"
[ -z "$EP_EXTRA$EP_LISTEN" ] || echo "ephttpd's configuration adds: $EP_EXTRA$EP_LISTEN"
[ -z "$BASE" ] || [ "$BASE_EXTRA$BASE_LISTEN" = "$EP_EXTRA$EP_LISTEN" ] ||
    echo "the base's configuration adds: $BASE_EXTRA$BASE_LISTEN"
[ -z "$EP_KEEPALIVE" ] || echo "an HTTP/2 scenario is in the run: ephttpd and nginx have keepalive_requests 1000000"
[ -z "$TLS" ] || check_tls
echo "Per round: req/s (the server's CPU time over the run's time: under 100% it waited for the client or"
echo "lost its core to other work). Ratios: ephttpd's figure over the peer's, round by round; their median."
echo "per CPU-s: requests per second of the server's CPU time, medians, and the medians of its per-round ratios."
printf '%-11s %-12s %s\n' scenario server "per round"
for sc in $SCENARIOS; do
    if [ "$sc" = reload ]; then
        check_servers small
        sleep 1
        reload_run ephttpd "${PID[ep]}" "${PORT[ep]}"
        reload_run nginx "${PID[ng]}" "${PORT[ng]}"
        check_servers small
        continue
    fi
    check_servers "$sc"
    run_scenario "$sc"
    case $sc in tls-* | h2* | *-paced) continue ;; esac
    [ -z "$STRACE" ] || strace_scenario "$sc"
done
