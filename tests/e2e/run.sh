#!/usr/bin/env bash
# Drives the real app binary in a real WebKitGTK webview: a private X display (Xvfb), a
# private D-Bus session, tauri-driver in front of WebKitWebDriver, and the Python
# WebDriver tests in this folder. Usage: tests/e2e/run.sh path/to/countersign
set -euo pipefail

app=$(realpath "${1:?usage: $0 path/to/countersign}")
here=$(cd "$(dirname "$0")" && pwd)
export COUNTERSIGN_E2E_ARTIFACTS=${COUNTERSIGN_E2E_ARTIFACTS:-$here/../../target/e2e}
mkdir -p "$COUNTERSIGN_E2E_ARTIFACTS"

if [[ "${COUNTERSIGN_E2E_INNER:-}" != 1 ]]; then
  # Xvfb picks a free display itself and tells us which, so parallel runs never collide.
  fifo=$(mktemp -u); mkfifo "$fifo"
  Xvfb -displayfd 5 -screen 0 1280x800x24 -nolisten tcp 5>"$fifo" 2>"$COUNTERSIGN_E2E_ARTIFACTS/xvfb.log" &
  xvfb_pid=$!
  trap 'kill "$xvfb_pid" 2>/dev/null || true; rm -f "$fifo"' EXIT
  read -r -t 20 display <"$fifo" || { echo "Xvfb did not start; see $COUNTERSIGN_E2E_ARTIFACTS/xvfb.log" >&2; exit 1; }
  export DISPLAY=":$display"
  COUNTERSIGN_E2E_INNER=1 dbus-run-session -- "$0" "$app"
  exit $?
fi

# Inside the private D-Bus session from here on, with a real Secret Service whose files live in
# a throw-away HOME (the password only unlocks that keyring).
scratch=$(mktemp -d)
export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
export HOME="$scratch" XDG_DATA_HOME="$scratch/.local/share" XDG_CONFIG_HOME="$scratch/.config"
eval "$(printf '%s' countersign-e2e | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
# A real notification server on the private bus. Its context menu runs the dmenu script, which
# records the offered actions and picks the line holding the text the test wrote to `pick`.
export COUNTERSIGN_E2E_DMENU_DIR="$scratch/dmenu"
mkdir -p "$COUNTERSIGN_E2E_DMENU_DIR"
cat >"$scratch/dmenu.sh" <<'EOF'
#!/bin/sh
cat >"$COUNTERSIGN_E2E_DMENU_DIR/offered.tmp"
mv "$COUNTERSIGN_E2E_DMENU_DIR/offered.tmp" "$COUNTERSIGN_E2E_DMENU_DIR/offered"
grep -F -- "$(cat "$COUNTERSIGN_E2E_DMENU_DIR/pick" 2>/dev/null || echo '#nothing#')" "$COUNTERSIGN_E2E_DMENU_DIR/offered" | head -n 1
EOF
chmod +x "$scratch/dmenu.sh"
printf '[global]\n    dmenu = %s\n' "$scratch/dmenu.sh" >"$scratch/dunstrc"
dunst -config "$scratch/dunstrc" >"$COUNTERSIGN_E2E_ARTIFACTS/dunst.log" 2>&1 &
dunst_pid=$!
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
native_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
tauri-driver --port "$port" --native-port "$native_port" --native-driver /usr/bin/WebKitWebDriver \
  >"$COUNTERSIGN_E2E_ARTIFACTS/tauri-driver.log" 2>&1 &
driver_pid=$!
trap 'kill "$driver_pid" "$dunst_pid" 2>/dev/null || true; rm -rf "$scratch"' EXIT

# The gateway and the CLI are built beside the app.
export COUNTERSIGN_APP="$app" COUNTERSIGN_WEBDRIVER="http://127.0.0.1:$port"
export COUNTERSIGN_BIN_DIR=$(dirname "$app")
# COUNTERSIGN_E2E_SCRIPT=file.py runs that script (a benchmark) in this setting instead.
if [[ -n "${COUNTERSIGN_E2E_SCRIPT:-}" ]]; then
  cd "$here" && python3 "$COUNTERSIGN_E2E_SCRIPT"
  exit $?
fi
# COUNTERSIGN_E2E_FILTER=word runs only the tests whose name contains it.
python3 -m unittest discover -s "$here" -p 'test_*.py' -v ${COUNTERSIGN_E2E_FILTER:+-k "$COUNTERSIGN_E2E_FILTER"}
