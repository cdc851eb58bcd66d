#!/usr/bin/env bash
# Instructions (callgrind) the reference gateway spends listing 10,000 pending approvals, 20
# pages of 500 over loopback HTTP: deterministic enough to compare a change on a busy machine.
# The caller's parse of the pages is left out. Not part of `make bench` (it takes minutes).
set -euo pipefail
cd "$(dirname "$0")/.."
command -v valgrind >/dev/null || { echo "valgrind is needed: apt-get install valgrind" >&2; exit 1; }
cargo build --quiet --profile bench -p countersign-gateway --example list_instructions
binary=${CARGO_TARGET_DIR:-target}/release/examples/list_instructions
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

mkdir "$scratch/filled"
"$binary" "$scratch/filled" 0

count() {
  rm -rf "$scratch/run" && cp -r "$scratch/filled" "$scratch/run"
  valgrind --tool=callgrind --toggle-collect='*uncounted_*' --collect-atstart=yes \
    --callgrind-out-file="$scratch/out" "$binary" "$scratch/run" "$1" >/dev/null 2>&1
  awk '/^(summary|totals):/ {print $2; exit}' "$scratch/out"
}

one=$(count 1)
three=$(count 3)
echo "one listing of 10,000 (20 pages of 500): $(( (three - one) / 2 )) instructions"
