#!/usr/bin/env bash
# Opens Promptdesk on the default registry, seeded with the demo the first time.
# Installs what is missing first; safe to run twice (an existing registry is never reseeded).
#   PROMPTDESK_REGISTRY=PATH   use another registry file
#   PROMPTDESK_UI_PORT=N       web mode (no display) on this port
#   PROMPTDESK_DEMO_MODEL_PORT=N  where the demo's local model listens (default 8765)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
say() { printf 'promptdesk: %s\n' "$*"; }

bash .ci/install-deps.sh

say "building the promptdesk CLI and the demo's local model"
cargo build -q -p promptdesk-cli -p promptdesk-fakellm
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
PD="$TARGET_DIR/debug/promptdesk"
MODEL_PORT=${PROMPTDESK_DEMO_MODEL_PORT:-8765}
DEMO_MODEL_URL="http://127.0.0.1:$MODEL_PORT/v1"

# Seed the demo into the registry only when it holds no prompts yet. No machine here reaches a
# hosted model, so the demo's `openai` provider points at a local model that echoes the prompt
# back (promptdesk-fakellm): the demo's evals, comparisons and release gate work offline.
"$PD" init >/dev/null
if [ "$("$PD" --json list)" = "[]" ]; then
  "$PD" demo
  "$PD" provider set openai --kind openai --base-url "$DEMO_MODEL_URL" >/dev/null
  say "the demo's openai provider points at a local echo model ($DEMO_MODEL_URL); point it at the real API in Settings → Model providers"
else
  say "the registry already has prompts; leaving them as they are"
fi

# Start the local model when the registry uses it and nothing listens there yet; it stops with
# the app.
MODEL_PID=
PROVIDERS=$("$PD" provider list 2>/dev/null || true)
if [[ "$PROVIDERS" == *"$DEMO_MODEL_URL"* ]] \
    && ! (exec 3<>"/dev/tcp/127.0.0.1/$MODEL_PORT") 2>/dev/null; then
  "$TARGET_DIR/debug/promptdesk-fakellm" --port "$MODEL_PORT" --latency-ms 400 --jitter-ms 300 \
    >/dev/null 2>&1 &
  MODEL_PID=$!
  trap '[ -n "$MODEL_PID" ] && kill "$MODEL_PID" 2>/dev/null || true' EXIT
fi
REGISTRY=$("$PD" --json init | sed -n 's/.*"registry": *"\([^"]*\)".*/\1/p')
export PROMPTDESK_REGISTRY=${PROMPTDESK_REGISTRY:-$REGISTRY}

say "building the UI"
(cd ui && npm run -s build)

if [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; then
  say "building the desktop app"
  cargo build -q -p promptdesk-app --features tauri/custom-protocol
  say "opening the desktop app on $PROMPTDESK_REGISTRY"
  "$TARGET_DIR/debug/promptdesk-app"
  exit
fi

# No display: the same UI in a browser. `promptdesk ui` prints the address (with its per-run
# token) to open; Ctrl+C stops it.
say "no display found: serving the UI on a loopback port instead (open the address below)"
# Not exec: the local model stops when this does.
"$PD" ui --ui-dir "$ROOT/ui/dist" ${PROMPTDESK_UI_PORT:+--port "$PROMPTDESK_UI_PORT"}
