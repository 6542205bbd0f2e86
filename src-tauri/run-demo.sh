#!/usr/bin/env bash
# Opens Promptdesk on the default registry, seeded with the demo the first time.
# Installs what is missing first; safe to run twice (an existing registry is never reseeded).
#   PROMPTDESK_REGISTRY=PATH   use another registry file
#   PROMPTDESK_UI_PORT=N       web mode (no display) on this port
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf 'promptdesk: %s\n' "$*"; }

bash .ci/install-deps.sh

say "building the promptdesk CLI"
cargo build -q -p promptdesk-cli
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PD="$TARGET_DIR/debug/promptdesk"

# Seed the demo into the registry only when it holds no prompts yet.
"$PD" init >/dev/null
if [ "$("$PD" --json list)" = "[]" ]; then
  "$PD" demo
else
  say "the registry already has prompts; leaving them as they are"
fi
REGISTRY=$("$PD" --json init | sed -n 's/.*"registry": *"\([^"]*\)".*/\1/p')
export PROMPTDESK_REGISTRY=${PROMPTDESK_REGISTRY:-$REGISTRY}

say "building the UI"
(cd ui && npm run -s build)

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  say "building the desktop app"
  cargo build -q -p promptdesk-app --features tauri/custom-protocol
  say "opening the desktop app on $PROMPTDESK_REGISTRY"
  exec "$TARGET_DIR/debug/promptdesk-app"
fi

# No display: the same UI in a browser. `promptdesk ui` prints the address (with its per-run
# token) to open; Ctrl+C stops it.
say "no display found: serving the UI on a loopback port instead (open the address below)"
exec "$PD" ui --ui-dir "$ROOT/ui/dist" ${PROMPTDESK_UI_PORT:+--port "$PROMPTDESK_UI_PORT"}
