#!/usr/bin/env bash
# Collects the proving-ground suites' own summary lines (`RELIABILITY <suite> key=value ...`,
# issue 13) from test logs into target/reliability.txt and prints them: RELIABILITY.md quotes
# them from there.
set -euo pipefail
out=target/reliability.txt
grep -h -o 'RELIABILITY .*' "$@" 2>/dev/null | sed 's/ ok$//' | sort -u -k2,2 > "$out" || true
echo "--- proving-ground figures ($out) ---"
cat "$out"
