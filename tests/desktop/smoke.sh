#!/usr/bin/env bash
# Desktop smoke test: builds the UI and the real Tauri binary, starts it under Xvfb, and checks
# from a screenshot that the window opened, the page rendered and the backend answered over IPC.
#
#   tests/desktop/smoke.sh
#
# Environment:
#   CARGO_TARGET_DIR    honoured (default: <repo>/target)
#   SMOKE_TIMEOUT       seconds to wait for the window, and again for the UI to settle (default 60)
#   SMOKE_SKIP_BUILD=1  reuse existing ui/dist and binary (for iterating on this script)
#
# Writes tests/artifacts/desktop-smoke.png (the screenshot) and desktop-smoke-app.log (the app's
# output). The last line is always "desktop smoke: N passed, M failed"; the exit status is
# non-zero when anything failed.
#
# How the screenshot is read: ui/src/style.css gives the top bar and the status pill distinct
# colours. Indigo in the screenshot means the page rendered (not just an empty webview); the
# teal "connected" pill appears only after `invoke('app_info')` succeeded under the app's CSP
# and capabilities. A red pill means the UI loaded but the backend call failed.
set -uo pipefail

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
ROOT=$(cd "$(dirname "$SELF")/../.." && pwd)
ARTIFACTS="$ROOT/tests/artifacts"
SHOT="$ARTIFACTS/desktop-smoke.png"
APP_LOG="$ARTIFACTS/desktop-smoke-app.log"
TIMEOUT=${SMOKE_TIMEOUT:-60}

# Colours from ui/src/style.css.
COLOUR_TOPBAR='#4f46e5'
COLOUR_OK='#0f9f8f'
COLOUR_ERROR='#dc2626'

# ImageMagick by an unambiguous name (IM 7: magick; Debian's IM 6: convert-im6.q16), since another
# program named convert may come first on PATH.
IM_CONVERT=${IM_CONVERT:-$(command -v magick || command -v convert-im6.q16 || echo convert-im6.q16)}

# Counts the pixels of a screenshot within a small distance of one colour.
count_colour() { # FILE COLOUR
  "$IM_CONVERT" "$1" -alpha off -fuzz 3% -fill black +opaque "$2" -fill white -opaque "$2" \
    -colorspace gray -format '%[fx:round(mean*w*h)]' info: 2>/dev/null || echo 0
}

# --- inside Xvfb + D-Bus session: start the app, wait, take the screenshot ----------------------
# Prints result lines "PASS|FAIL<TAB>check<TAB>detail" to stdout (collected by the outer part).
if [ "${1:-}" = "--inside-display" ]; then
  BIN=$2
  result() { printf '%s\t%s\t%s\n' "$1" "$2" "$3"; }

  "$BIN" >"$APP_LOG" 2>&1 &
  APP_PID=$!
  stop_app() {
    kill "$APP_PID" 2>/dev/null || return 0
    for _ in $(seq 1 50); do kill -0 "$APP_PID" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$APP_PID" 2>/dev/null || true
  }
  trap stop_app EXIT

  # 1. The main window exists (GTK sets its name from the configured title).
  wid=""
  deadline=$((SECONDS + TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    kill -0 "$APP_PID" 2>/dev/null || break
    wid=$(xdotool search --onlyvisible --name '^Promptdesk$' 2>/dev/null | head -n1 || true)
    [ -n "$wid" ] && break
    sleep 0.5
  done
  if [ -z "$wid" ]; then
    if kill -0 "$APP_PID" 2>/dev/null; then why="no window named Promptdesk within ${TIMEOUT}s"
    else why="the app exited before opening a window (see $APP_LOG)"; fi
    result FAIL "window appears" "$why"
    for c in "screenshot not blank" "page rendered" "backend connected"; do
      result FAIL "$c" "not run: no window"
    done
    exit 0
  fi
  geometry=$(xwininfo -id "$wid" 2>/dev/null | awk '/Width:/{w=$2} /Height:/{h=$2} END{print w "x" h}')
  result PASS "window appears" "window $wid, $geometry"

  # 2. Let the UI settle: poll screenshots until the status pill leaves its "Checking…" state.
  settled=no
  deadline=$((SECONDS + TIMEOUT))
  while [ $SECONDS -lt $deadline ]; do
    import -silent -window root "$SHOT" 2>/dev/null || true
    if [ -s "$SHOT" ] && { [ "$(count_colour "$SHOT" "$COLOUR_OK")" -gt 300 ] ||
                           [ "$(count_colour "$SHOT" "$COLOUR_ERROR")" -gt 300 ]; }; then
      settled=yes
      break
    fi
    kill -0 "$APP_PID" 2>/dev/null || break
    sleep 1
  done
  # One more second for fonts and late layout, then the screenshot that is kept and judged.
  sleep 1
  import -silent -window root "$SHOT" 2>/dev/null || true

  # 3. Not blank: an empty or failed webview gives an (almost) uniform screen.
  if [ -s "$SHOT" ]; then
    sd=$(identify -format '%[fx:standard_deviation]' "$SHOT" 2>/dev/null || echo 0)
    if awk -v sd="$sd" 'BEGIN { exit !(sd > 0.02) }'; then
      result PASS "screenshot not blank" "standard deviation $sd"
    else
      result FAIL "screenshot not blank" "standard deviation $sd (uniform screen)"
    fi
  else
    result FAIL "screenshot not blank" "no screenshot was written"
  fi

  # 4. The page's own styles are visible: the indigo top bar.
  n=$(count_colour "$SHOT" "$COLOUR_TOPBAR")
  if [ "$n" -gt 5000 ]; then result PASS "page rendered" "$n top-bar pixels"
  else result FAIL "page rendered" "only $n top-bar pixels (UI not rendered?)"; fi

  # 5. IPC round trip: the pill turned teal after app_info answered.
  ok=$(count_colour "$SHOT" "$COLOUR_OK"); bad=$(count_colour "$SHOT" "$COLOUR_ERROR")
  if [ "$ok" -gt 300 ] && [ "$bad" -le 300 ]; then
    result PASS "backend connected" "app_info answered ($ok status pixels)"
  elif [ "$bad" -gt 300 ]; then
    result FAIL "backend connected" "the UI shows 'Backend unavailable' (invoke failed)"
  else
    result FAIL "backend connected" "no status after ${TIMEOUT}s (settled=$settled)"
  fi
  exit 0
fi

# --- outside: build, run the inside part under Xvfb, report ----------------------------------
passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'ok    %s — %s\n' "$1" "$2"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s — %s\n' "$1" "$2"; }
finish() {
  printf 'desktop smoke: %d passed, %d failed\n' "$passed" "$failed"
  [ "$failed" -eq 0 ]
  exit
}
not_run() { # REASON CHECK...
  local reason=$1; shift
  for c in "$@"; do fail "$c" "not run: $reason"; done
}
APP_CHECKS=("window appears" "screenshot not blank" "page rendered" "backend connected")

for tool in npm cargo xvfb-run dbus-run-session xdotool xwininfo import identify "$IM_CONVERT"; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "desktop smoke: missing tool '$tool' (run .ci/install-deps.sh)" >&2
    not_run "missing tool $tool" "ui build" "app build" "${APP_CHECKS[@]}"
    finish
  fi
done

mkdir -p "$ARTIFACTS"
rm -f "$SHOT" "$APP_LOG"

# Relative CARGO_TARGET_DIR values are relative to where cargo runs: the repository root.
TARGET_DIR=${CARGO_TARGET_DIR:-$ROOT/target}
case "$TARGET_DIR" in /*) ;; *) TARGET_DIR="$ROOT/$TARGET_DIR" ;; esac
export CARGO_TARGET_DIR="$TARGET_DIR"
BIN="$TARGET_DIR/debug/promptdesk-app"

if [ "${SMOKE_SKIP_BUILD:-}" = 1 ]; then
  echo "desktop smoke: SMOKE_SKIP_BUILD=1, reusing ui/dist and $BIN"
else
  [ -d "$ROOT/ui/node_modules" ] || echo "desktop smoke: ui/node_modules missing (run .ci/install-deps.sh)" >&2
  start=$SECONDS
  if (cd "$ROOT/ui" && npm run --silent build) >"$ARTIFACTS/desktop-smoke-ui-build.log" 2>&1; then
    pass "ui build" "ui/dist in $((SECONDS - start))s"
  else
    tail -n 30 "$ARTIFACTS/desktop-smoke-ui-build.log" >&2
    fail "ui build" "npm run build failed (log: tests/artifacts/desktop-smoke-ui-build.log)"
    not_run "ui build failed" "app build" "${APP_CHECKS[@]}"
    finish
  fi

  # custom-protocol: the binary serves the embedded ui/dist instead of loading the dev server.
  start=$SECONDS
  if (cd "$ROOT" && cargo build -p promptdesk-app --features tauri/custom-protocol); then
    pass "app build" "$(basename "$BIN") in $((SECONDS - start))s"
  else
    fail "app build" "cargo build -p promptdesk-app failed"
    not_run "app build failed" "${APP_CHECKS[@]}"
    finish
  fi
fi
[ -x "$BIN" ] || { fail "app binary" "$BIN not found"; not_run "no binary" "${APP_CHECKS[@]}"; finish; }

# The app works on a throwaway registry seeded with the demo, never on the developer's own.
SMOKE_REGISTRY_DIR=$(mktemp -d)
export PROMPTDESK_REGISTRY="$SMOKE_REGISTRY_DIR/registry.db"
if (cd "$ROOT" && cargo build -q -p promptdesk-cli) && "$TARGET_DIR/debug/promptdesk" demo >/dev/null; then
  pass "demo registry" "seeded $PROMPTDESK_REGISTRY"
else
  fail "demo registry" "could not seed a demo registry with the promptdesk CLI"
fi

# The environment passes through to the app. Xvfb here renders fine as is; on a machine where the
# window stays empty, WEBKIT_DISABLE_DMABUF_RENDERER=1 is the usual WebKitGTK switch to try.
export SMOKE_TIMEOUT="$TIMEOUT"
RESULTS=$(mktemp)
trap 'rm -rf "$RESULTS" "$SMOKE_REGISTRY_DIR"' EXIT
xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- bash "$SELF" --inside-display "$BIN" >"$RESULTS" 2>"$ARTIFACTS/desktop-smoke-xvfb.log"
rc=$?

seen=0
while IFS=$'\t' read -r status check detail; do
  case "$status" in
    PASS) pass "$check" "$detail"; seen=$((seen + 1)) ;;
    FAIL) fail "$check" "$detail"; seen=$((seen + 1)) ;;
  esac
done <"$RESULTS"
if [ "$seen" -lt ${#APP_CHECKS[@]} ]; then
  tail -n 20 "$ARTIFACTS/desktop-smoke-xvfb.log" >&2
  fail "display session" "xvfb-run exited with $rc after $seen of ${#APP_CHECKS[@]} checks (log: tests/artifacts/desktop-smoke-xvfb.log)"
fi
[ -s "$SHOT" ] && echo "screenshot: tests/artifacts/desktop-smoke.png"
finish
