#!/usr/bin/env bash
# Runs `npm ci` in ui/ only when package-lock.json changed since the last install.
set -euo pipefail
cd "$(dirname "$0")/../ui"
stamp=node_modules/.countersign-lock-sha256
want=$(sha256sum package-lock.json | cut -d' ' -f1)
if [[ -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
npm ci --no-audit --no-fund --loglevel=error
echo "$want" > "$stamp"
