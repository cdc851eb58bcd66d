#!/usr/bin/env bash
# `make fuzz`: runs every cargo-fuzz target in fuzz/ for FUZZ_SECONDS each (default 60) and
# prints one `RELIABILITY fuzz ...` line per target, with libFuzzer's own execution count.
# Needs a nightly toolchain (cargo-fuzz builds with -Zsanitizer=address); installs cargo-fuzz
# when it is missing. Not part of `make test` or CI, which use stable only.
#
# FUZZ_TARGETS limits the run to some targets; FUZZ_TOOLCHAIN names the nightly to use.
# A crash leaves its input in fuzz/artifacts/<target>/ and makes the script fail at the end.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
seconds=${FUZZ_SECONDS:-60}
toolchain=${FUZZ_TOOLCHAIN:-nightly}
read -r -a targets <<<"${FUZZ_TARGETS:-protojson job_hash gateway_response sse_stream ledger_export ledger_chain}"
target_dir="${CARGO_TARGET_DIR:-$root/target}/fuzz"
logs="$target_dir/logs"

if ! rustup toolchain list | grep -q "^$toolchain"; then
  echo "make fuzz needs the $toolchain toolchain: rustup toolchain install $toolchain" >&2
  exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --locked
mkdir -p "$logs"
# The ledger targets write a file per input and the ledger fsyncs every commit: on tmpfs that
# costs nothing, on a disk it is most of the run.
if [[ -d /dev/shm && -w /dev/shm ]]; then
  export TMPDIR=/dev/shm
fi

fuzz() {
  cargo "+$toolchain" fuzz "$1" --fuzz-dir fuzz --target-dir "$target_dir" "${@:2}"
}

# One build for all targets, so that the seconds below are fuzzing only.
fuzz build

failed=0
summary=()
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus"
  inputs=("$corpus")
  [[ -d "fuzz/seeds/$target" ]] && inputs+=("fuzz/seeds/$target")
  options=(-max_total_time="$seconds" -print_final_stats=1 -timeout=10)
  case "$target" in
    job_hash) ;;
    # A few hundred inputs a second: without this, libFuzzer's slow growth of the input
    # length keeps every input to a couple of entries for the whole run.
    ledger_chain) options+=(-len_control=0 -max_len=4096) ;;
    *) options+=(-dict=fuzz/dicts/json.dict) ;;
  esac
  log="$logs/$target.log"
  started=$(date +%s)
  # libFuzzer exits non-zero on a crash; the log says which.
  fuzz run "$target" "${inputs[@]}" -- "${options[@]}" >"$log" 2>&1 || true
  elapsed=$(($(date +%s) - started))
  execs=$(awk '/^stat::number_of_executed_units:/ { n = $2 } END { print n + 0 }' "$log")
  crashes=$(grep -c 'Test unit written to' "$log" || true)
  line="RELIABILITY fuzz target=$target execs=$execs crashes=$crashes seconds=$elapsed"
  echo "$line"
  summary+=("$line")
  if ((crashes > 0)); then
    failed=1
    grep -m1 -B2 'Test unit written to' "$log" >&2 || true
  fi
done

echo
printf '%s\n' "${summary[@]}"
if ((failed)); then
  echo "fuzzing found crashes: see fuzz/artifacts/ and $logs" >&2
  exit 1
fi
