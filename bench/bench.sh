#!/usr/bin/env bash
# bench/bench.sh: ephttpd and nginx side by side on the same files, round by round.
#
#   bench/bench.sh [ROUNDS] [SECONDS]     (defaults: 3 rounds of 5 s per scenario)
#
# Both servers get the same worker count, the same document root, access logs
# off and sendfile on. With WORKERS=1 (the default) each server is pinned to
# CPU 0 and the clients to CPU 1, so the figure is one core's worth of
# serving. Rounds alternate the servers so that machine noise hits both.
# Prints requests/s per round, the median, and ephttpd/nginx.
# Scenario "reload" (not in the default list; run it as
#   SCENARIOS=reload WORKERS=2 bench/bench.sh 1 10
# ) drives each server with wrk -c100 keep-alive for SECONDS while the
# master gets a SIGHUP twice a second, and counts wrk's failed requests.
# With BASE=<git revision>, the peer is not nginx but ephttpd built from that
# revision (in a temporary worktree), so a change is measured against the
# commit before it, side by side: "nginx" in the output then means the base.
# HTTPS scenarios (not in the default list): tls-small, tls-large (wrk over
# https, keep-alive) and tls-hs (ab over https: a full handshake per request);
# both servers get an HTTPS listener with the same ECDSA P-256 certificate.
# Environment: WORKERS (1), SCENARIOS ("small medium large ab"), BUILD (build-bench),
# NGINX_LISTEN (extra nginx listen parameters, e.g. "deferred" to give nginx the
# deferred accept that ephttpd's listeners use by default).
set -euo pipefail

ROUNDS=${1:-3}
SECS=${2:-5}
WORKERS=${WORKERS:-1}
SCENARIOS=${SCENARIOS:-"small medium large ab"}
NGINX_LISTEN=${NGINX_LISTEN:-}
REPO=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$REPO/build-bench}
PORT_EP=18081
PORT_NG=18082
PORT_EP_TLS=18083
PORT_NG_TLS=18084
case " $SCENARIOS " in *" tls-"*) TLS=1 ;; *) TLS="" ;; esac

need() { command -v "$1" >/dev/null 2>&1; }
if ! need nginx || ! need wrk || ! need ab || ! need cmake || ! pkg-config --exists cmocka 2>/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nginx-light wrk apache2-utils cmake gcc make pkg-config libcmocka-dev \
        >/dev/null
fi

cmake -S "$REPO" -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DEP_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null
EPHTTPD=$BUILD/ephttpd

WORK=$(mktemp -d /tmp/ephttpd-bench.XXXXXX)
BASE=${BASE:-}
if [ -n "$BASE" ]; then
    git -C "$REPO" worktree add -q --detach "$WORK/base-src" "$BASE"
    cmake -S "$WORK/base-src" -B "$WORK/base-build" -DCMAKE_BUILD_TYPE=Release -DEP_TESTS=OFF >/dev/null
    cmake --build "$WORK/base-build" -j"$(nproc)" >/dev/null
    BASE_BIN=$WORK/base-build/ephttpd
    git -C "$REPO" worktree remove --force "$WORK/base-src"
fi
EP_PID=""
NG_PID=""
cleanup() {
    [ -n "$EP_PID" ] && kill "$EP_PID" 2>/dev/null || true
    [ -n "$NG_PID" ] && kill "$NG_PID" 2>/dev/null || true
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
chmod -R a+rX "$WORK" # nginx's workers run as nobody
if [ -n "$TLS" ]; then
    [ -z "$BASE" ] || { echo "tls-* scenarios compare with nginx only" >&2; exit 2; }
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost \
        -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
    chmod 644 "$WORK/key.pem"
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
    keepalive_requests 1000000;
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    server {
        listen 127.0.0.1:$PORT_NG $NGINX_LISTEN; # backlog 511, as ephttpd
        ${TLS:+listen 127.0.0.1:$PORT_NG_TLS ssl; ssl_certificate $WORK/cert.pem; ssl_certificate_key $WORK/key.pem;}
        ${TLS:+ssl_protocols TLSv1.2 TLSv1.3; ssl_session_tickets on;}
        root $ROOT;
    }
}
EOF

wait_port() {
    for _ in $(seq 100); do
        curl -s -o /dev/null "http://127.0.0.1:$1/small.html" && return 0
        sleep 0.05
    done
    echo "server on port $1 did not start" >&2
    exit 1
}

EP_TLS_LISTEN=""
EP_TLS_PAIR=""
if [ -n "$TLS" ]; then
    EP_TLS_LISTEN=", { address = \"127.0.0.1\"; port = $PORT_EP_TLS; tls = true; }"
    EP_TLS_PAIR=" tls_certificate = \"$WORK/cert.pem\"; tls_certificate_key = \"$WORK/key.pem\";"
fi

# ephttpd runs from a configuration file (as an installed one would, and so
# that SIGHUP has something to reload); as root its workers are www-data.
cat >"$WORK/ephttpd.conf" <<EOF
workers = $WORKERS;
pid_file = "$WORK/ephttpd.pid";
listen = ( { address = "127.0.0.1"; port = $PORT_EP; }$EP_TLS_LISTEN );
servers = ( { root = "$ROOT"; access_log = "off";$EP_TLS_PAIR } );
EOF

sed -e "s/port = $PORT_EP/port = $PORT_NG/" -e "s/ephttpd.pid/base.pid/" "$WORK/ephttpd.conf" >"$WORK/base.conf"

start_servers() {
    $SRV "$EPHTTPD" -c "$WORK/ephttpd.conf" 2>"$WORK/ephttpd.log" &
    EP_PID=$!
    if [ -n "$BASE" ]; then
        $SRV "$BASE_BIN" -c "$WORK/base.conf" 2>"$WORK/base.log" &
    else
        $SRV nginx -c "$WORK/nginx.conf" 2>>"$WORK/nginx-error.log" &
    fi
    NG_PID=$!
    wait_port $PORT_EP
    wait_port $PORT_NG
}

# wrk's requests/s; errors and non-2xx answers are reported, never counted silently.
run_wrk() {
    $CLI wrk -t1 -c100 -d"${SECS}s" "$1" | awk '/Requests\/sec/ {print $2}
        /Non-2xx|Socket errors/ {print "wrk: " $0 > "/dev/stderr"}'
}

# One measurement: prints requests/s.
measure() { # scenario port
    local url="http://127.0.0.1:$2"
    case $1 in
    small) run_wrk "$url/small.html" ;;
    medium) run_wrk "$url/medium.css" ;;
    large) run_wrk "$url/large.html" ;;
    ab) $CLI ab -q -n 50000 -c 100 -r "$url/small.html" 2>/dev/null |
            awk '/Requests per second/ {print $4} /Failed requests/ {if ($3 > 0) print "failed:" $3 > "/dev/stderr"}' ;;
    tls-small) run_wrk "https://127.0.0.1:$(tls_port "$2")/small.html" ;;
    tls-large) run_wrk "https://127.0.0.1:$(tls_port "$2")/large.html" ;;
    tls-hs) $CLI ab -q -n 5000 -c 50 -r "https://127.0.0.1:$(tls_port "$2")/small.html" 2>/dev/null |
            awk '/Requests per second/ {print $4} /Failed requests/ {if ($3 > 0) print "failed:" $3 > "/dev/stderr"}' ;;
    esac
}

tls_port() { [ "$1" = $PORT_EP ] && echo $PORT_EP_TLS || echo $PORT_NG_TLS; }

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# A benchmark of error pages proves nothing: both must serve every file whole.
check_servers() {
    for f in small.html medium.css large.html; do
        for port in $PORT_EP $PORT_NG; do
            got=$(curl -s -o /dev/null -w '%{http_code} %{size_download}' "http://127.0.0.1:$port/$f")
            want="200 $(stat -c %s "$ROOT/$f")"
            if [ "$got" != "$want" ]; then
                echo "port $port /$f: got '$got', want '$want'" >&2
                exit 1
            fi
        done
    done
}

start_servers
check_servers
peer="nginx $(nginx -v 2>&1 | sed 's/.*\///')"
[ -z "$BASE" ] || peer="ephttpd at $BASE (shown as nginx)"
echo "ephttpd vs $peer, $WORKERS worker(s), $ROUNDS rounds of ${SECS}s, $(nproc) cores"
printf '%-8s %-8s %s\n' scenario server "req/s per round"
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
        END {printf "%-8s %-8s reloads %3d  requests %8d  failed %6d  (%s%s)\n", "reload", n, h, req,
             err + bad, detail ? detail : "no socket errors", bad ? ", non-2xx " bad : ""}' "$out"
}

for sc in $SCENARIOS; do
    if [ "$sc" = reload ]; then
        sleep 1
        reload_run ephttpd "$EP_PID" $PORT_EP
        reload_run nginx "$NG_PID" $PORT_NG
        check_servers
        continue
    fi
    : >"$WORK/ep.$sc"
    : >"$WORK/ng.$sc"
    for r in $(seq "$ROUNDS"); do
        # Alternate which server goes first, so drift in the machine hits both.
        if [ $((r % 2)) = 1 ]; then order="ep ng"; else order="ng ep"; fi
        for s in $order; do
            port=$PORT_EP
            [ $s = ng ] && port=$PORT_NG
            measure "$sc" $port >>"$WORK/$s.$sc"
        done
    done
    ep=$(median <"$WORK/ep.$sc")
    ng=$(median <"$WORK/ng.$sc")
    # The two runs of a round are back to back, so their ratio cancels most of
    # this shared machine's drift; the median of the per-round ratios is the figure.
    paste "$WORK/ep.$sc" "$WORK/ng.$sc" | awk '{print $1 / $2}' >"$WORK/ratio.$sc"
    ratio=$(median <"$WORK/ratio.$sc")
    printf '%-8s %-8s %s\n' "$sc" ephttpd "$(tr '\n' ' ' <"$WORK/ep.$sc")"
    printf '%-8s %-8s %s\n' "$sc" nginx "$(tr '\n' ' ' <"$WORK/ng.$sc")"
    printf '%-8s %-8s %s\n' "$sc" ratio "$(xargs printf '%.2f ' <"$WORK/ratio.$sc")"
    awk -v s="$sc" -v e="$ep" -v n="$ng" -v r="$ratio" 'BEGIN {printf "%-8s median   ephttpd %.0f  nginx %.0f  ratio %.2f (median of rounds)\n", s, e, n, r}'
done
