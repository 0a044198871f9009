#!/usr/bin/env bash
# packaging/build-deb.sh: build the Debian binary package (dpkg-buildpackage -us -uc -b) from this tree.
# It stages the source files (git's tracked and unignored ones, as they are in
# the working tree) with packaging/debian as debian/, so that the repository
# root stays free of build products. Usage: packaging/build-deb.sh [OUTDIR]
# (default build-deb/); the .deb, .buildinfo and .changes land in OUTDIR and
# the .deb's path is the last line printed. Run as root, it first installs
# what the build needs (dpkg-dev, and debian/control's Build-Depends through
# apt-get build-dep), as scripts/deps.sh does; otherwise it names what is
# missing.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=$(mkdir -p "${1:-$top/build-deb}" && cd "${1:-$top/build-deb}" && pwd)

apt_updated=0
apt_install() { # apt-get ARGS..., after one apt-get update; as root only
    if [ "$(id -u)" -ne 0 ]; then
        echo "build-deb: missing build dependencies; as root, run: apt-get $*" >&2
        exit 1
    fi
    if [ "$apt_updated" = 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get update -qq
        apt_updated=1
    fi
    DEBIAN_FRONTEND=noninteractive apt-get -y -qq --no-install-recommends "$@" >/dev/null
}
# dpkg-parsechangelog, dpkg-checkbuilddeps and dpkg-buildpackage.
dpkg-query -W -f='${Status}' dpkg-dev 2>/dev/null | grep -q "install ok installed" ||
    apt_install install dpkg-dev

version=$(dpkg-parsechangelog -l "$top/packaging/debian/changelog" -S Version)
cmake_version=$(sed -n 's/^project(ephttpd VERSION \([0-9.]*\).*/\1/p' "$top/CMakeLists.txt")
if [ "${version%%-*}" != "$cmake_version" ]; then
    echo "build-deb: packaging/debian/changelog says $version, CMakeLists.txt says $cmake_version" >&2
    exit 1
fi

stage=$out/ephttpd-$version
rm -rf "$stage" "$out"/ephttpd_"$version"_*
mkdir -p "$stage"
if git -C "$top" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    (cd "$top" && git ls-files -z --cached --others --exclude-standard |
        while IFS= read -r -d '' f; do [ -e "$f" ] && printf '%s\0' "$f"; done |
        tar -c --null -T - -f -) | tar -x -C "$stage"
else
    tar -c -C "$top" --exclude='./build*' -f - . | tar -x -C "$stage"
fi
cp -a "$top/packaging/debian" "$stage/debian"
# Build-Depends (honouring DEB_BUILD_PROFILES=nocheck), from the staged control.
if ! (cd "$stage" && dpkg-checkbuilddeps >/dev/null 2>&1); then
    apt_install build-dep "$stage"
    (cd "$stage" && dpkg-checkbuilddeps)
fi

(cd "$stage" && dpkg-buildpackage -us -uc -b)
rm -rf "$stage"
ls "$out"/ephttpd_"$version"_*.deb
