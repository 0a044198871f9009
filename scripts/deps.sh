#!/usr/bin/env bash
# scripts/deps.sh: install the Debian packages ephttpd needs to build and test, if missing.
set -euo pipefail
pkgs=(gcc make cmake pkg-config libcmocka-dev libconfig-dev libyaml-dev libpcre2-dev libssl-dev
      libnghttp2-dev libxxhash-dev python3 python3-h2 nghttp2-client curl openssl clang libclang-rt-14-dev)
# the Debian package and its test: build, lint, verify the units and man
# pages, rotate logs
pkgs+=(dpkg-dev debhelper lintian systemd man-db logrotate)
# the status page's real consumers: promtool checks the exposition, a
# Prometheus server scrapes it (test_status.py; where systemd runs, Debian's
# package also starts its own service on :9090, which the test does not use)
pkgs+=(prometheus)
# the access logs' real consumers: jq reads the JSON lines, GoAccess the Combined log
pkgs+=(jq goaccess)
# several instances behind a load balancer (test_lb.py): network namespaces
# and veth pairs made with ip, Debian's HAProxy in front
pkgs+=(iproute2 haproxy)
[ "${1:-}" = "--bench" ] && pkgs+=(nginx-light wrk apache2-utils)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -ne 0 ] && SUDO=sudo
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
        "${missing[@]}" >/dev/null
fi
