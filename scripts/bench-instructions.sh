#!/usr/bin/env bash
# Instruction counts (callgrind) of job_hash vs a bare SHA-256 of the same canonical bytes.
# Deterministic for a given binary and input, whatever the machine's load.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
cargo build --quiet --profile bench -p countersign-core --example hash_instructions
binary=target/release/examples/hash_instructions
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

count() {
  valgrind --tool=callgrind --toggle-collect='*measured_*' \
    --callgrind-out-file="$scratch/out" "$binary" "$1" "$2" >/dev/null 2>&1
  # "summary: N" (or "totals: N") is the number of instructions counted while toggled on.
  awk '/^(summary|totals):/ {print $2; exit}' "$scratch/out"
}

printf '%-14s %16s %16s %8s\n' payload_bytes job_hash bare_sha256 ratio
for size in 700 102400 1048576; do
  hash=$(count job-hash "$size")
  bare=$(count sha256 "$size")
  printf '%-14s %16s %16s %8s\n' "$size" "$hash" "$bare" "$(awk -v a="$hash" -v b="$bare" 'BEGIN {printf "%.3f", a/b}')"
done
