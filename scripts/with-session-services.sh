#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with a real, unlocked Secret Service
# (gnome-keyring) whose files live in a throw-away HOME, so tests touch the real OS keychain
# code path without touching the developer's own keyring.
# Usage: scripts/with-session-services.sh COMMAND [ARGS...]
set -euo pipefail

if [[ "${COUNTERSIGN_SESSION_INNER:-}" != 1 ]]; then
  scratch=$(mktemp -d)
  trap 'rm -rf "$scratch"' EXIT
  mkdir -m 700 "$scratch/run"
  # The keyring's files go to the scratch HOME; cargo and rustup must keep the real one.
  export CARGO_HOME="${CARGO_HOME:-$HOME/.cargo}" RUSTUP_HOME="${RUSTUP_HOME:-$HOME/.rustup}"
  COUNTERSIGN_SESSION_INNER=1 HOME="$scratch" XDG_DATA_HOME="$scratch/.local/share" \
    XDG_CONFIG_HOME="$scratch/.config" XDG_RUNTIME_DIR="$scratch/run" \
    dbus-run-session -- "$0" "$@"
  exit $?
fi

# The password only unlocks this throw-away keyring.
eval "$(printf '%s' countersign-test | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL COUNTERSIGN_REQUIRE_SECRET_SERVICE=1
"$@"
