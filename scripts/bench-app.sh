#!/usr/bin/env bash
# The release app end to end, with a real gateway and a real notification server, inside
# tests/e2e/run.sh's private display and session bus: submit-to-notification latency (event
# feed and polling), cold start and memory (tests/e2e/bench_notify.py), then the app at 10,000
# pending items (tests/e2e/bench_queue.py). Release builds: that is what reviewers install.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked --package countersign --package countersign-gateway --package countersign-cli
command -v tauri-driver >/dev/null || cargo install tauri-driver@^2 --locked --quiet
for script in bench_notify.py bench_queue.py; do
  COUNTERSIGN_E2E_SCRIPT=$script tests/e2e/run.sh target/release/countersign 2>&1 |
    grep -v -e dbus-daemon -e SpiRegistry -e "X connection"
done
