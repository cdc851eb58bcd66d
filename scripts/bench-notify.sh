#!/usr/bin/env bash
# Submit-to-notification latency and cold start of the release app, with a real gateway and
# a real notification server (tests/e2e/bench_notify.py inside tests/e2e/run.sh's private
# display and session bus). Release builds: that is what reviewers install.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --package countersign --package countersign-gateway --package countersign-cli
COUNTERSIGN_E2E_SCRIPT=bench_notify.py tests/e2e/run.sh target/release/countersign 2>&1 | grep -v -e dbus-daemon -e SpiRegistry -e "X connection"
