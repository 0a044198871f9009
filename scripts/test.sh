#!/usr/bin/env bash
# scripts/test.sh: install what is missing, build, and run every test:
# the full suite (warnings fatal), the Debian package (built, linted,
# installed, served, purged; as root only), again under ASan+UBSan, the
# write-queue stress test under TSan, and a bounded libFuzzer run of every
# fuzz target.
# FUZZ_SECONDS (default 20) bounds each fuzz target; SKIP_FUZZ=1 skips them.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$top/scripts/deps.sh"

step() { printf '\n=== %s\n' "$*"; }

build() { # dir, cmake options...
    local dir=$1
    shift
    cmake -S "$top" -B "$dir" -DEP_WERROR=ON "$@" >/dev/null
    cmake --build "$dir" -j"$jobs" >/dev/null
}

step "build and test (RelWithDebInfo, -Werror)"
build "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo
(cd "$top/build" && ctest -j"$jobs" --output-on-failure)

step "Debian package: build, lintian, install, serve, purge"
if [ "$(id -u)" -eq 0 ]; then
    "$top/tests/package/test_deb.py" "$top/build-deb"
else
    echo "skipped: the package test installs with dpkg and needs root"
fi

step "ASan + UBSan: every test"
build "$top/build-asan" -DCMAKE_BUILD_TYPE=Debug -DEP_ASAN=ON
(cd "$top/build-asan" &&
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 \
        LSAN_OPTIONS=suppressions="$top/tests/lsan.supp" EP_RELOADS=100 ctest -j"$jobs" --output-on-failure)

step "TSan: unit tests, the write-queue stress test and HTTP/2 (a task per stream)"
build "$top/build-tsan" -DCMAKE_BUILD_TYPE=Debug -DEP_TSAN=ON
(cd "$top/build-tsan" && TSAN_OPTIONS=halt_on_error=1 EP_STRESS_REQUESTS=5000 \
    ctest -j"$jobs" --output-on-failure -R 'unit\.|integration\.test_stress|integration\.test_h2$')

if [ "${SKIP_FUZZ:-0}" != 1 ]; then
    step "libFuzzer: ${FUZZ_SECONDS:-20} s per target"
    CC=clang build "$top/build-fuzz" -DCMAKE_BUILD_TYPE=Debug -DEP_FUZZ=ON -DEP_TESTS=OFF
    for f in "$top"/build-fuzz/tests/fuzz/fuzz_*; do
        name=$(basename "$f")
        corpus=$(mktemp -d)
        # the seeds, not the scripts that made them (corpus/h2/make_seeds.py)
        find "$top/tests/fuzz/corpus/${name#fuzz_}" -maxdepth 1 -type f ! -name '*.py' \
            -exec cp -t "$corpus/" {} + 2>/dev/null || true
        echo "--- $name"
        status=0
        (cd "$corpus" && "$f" -max_total_time="${FUZZ_SECONDS:-20}" -print_final_stats=1 \
            "$corpus" >"$corpus.log" 2>&1) || status=$?
        grep -E '^(stat::number_of_executed_units|#[0-9]+ *DONE)|ERROR|SUMMARY' "$corpus.log" || true
        # a failing input makes libFuzzer exit non-zero and leave crash-*,
        # leak-*, timeout-* or oom-* behind
        found=$(find "$corpus" -maxdepth 1 \( -name 'crash-*' -o -name 'leak-*' -o -name 'timeout-*' \
            -o -name 'oom-*' \) -print)
        if [ "$status" != 0 ] || [ -n "$found" ]; then
            echo "$name failed (exit status $status):"
            tail -40 "$corpus.log"
            echo "$found"
            exit 1
        fi
        rm -f "$corpus.log"
        rm -rf "$corpus"
    done
fi
step "all tests passed"
