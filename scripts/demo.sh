#!/usr/bin/env bash
# scripts/demo.sh: install what is missing, build, and serve the bundled demo site on :8080.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
"$top/scripts/deps.sh"
cmake -S "$top" -B "$top/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build "$top/build" -j"$(nproc)" --target ephttpd >/dev/null
echo "serving $top/demo on http://localhost:8080/ (Ctrl-C stops)"
exec "$top/build/ephttpd" -r "$top/demo" -p 8080 "$@"
