#!/usr/bin/env bash
# Desktop end-to-end test: builds the UI and the real Tauri binary, seeds a throwaway registry with
# the demo, and drives the app through tauri-driver (WebKitWebDriver) under Xvfb with plain W3C
# WebDriver calls (tests/desktop/e2e.mjs): the window opens, the tree lists the demo prompts, the
# "Signing keys" dialog appears (this session has no working keyring) and choosing files makes
# signing work and is remembered, search works, opening a prompt shows the template editor,
# typing updates the live preview and the draft is saved, Settings → Team server connects to a
# local `promptdesk serve` and a sync round pushes the registry; after the app closed, the CLI
# finds the typed text in the registry's draft and the server serves the demo's production.
#
#   tests/desktop/e2e.sh
#
# Environment:
#   CARGO_TARGET_DIR     honoured (default: <repo>/target)
#   E2E_TIMEOUT          seconds to wait for each condition in the app (default 30)
#   E2E_SKIP_BUILD=1     reuse the existing ui/dist and binaries (for iterating on this script)
#
# Writes under tests/artifacts/: desktop-e2e.png (screenshot after the UI settled),
# desktop-e2e-app.log (the app's output), desktop-e2e-driver.log (tauri-driver and
# WebKitWebDriver), desktop-e2e-ui-build.log, and figures/desktop.json (start-to-interactive and
# resident memory; printed, never asserted). The last line is always
# "desktop e2e: N passed, M failed"; the exit status is non-zero when anything failed.
set -uo pipefail

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
ROOT=$(cd "$HERE/../.." && pwd)
ARTIFACTS="$ROOT/tests/artifacts"
SHOT="$ARTIFACTS/desktop-e2e.png"
APP_LOG="$ARTIFACTS/desktop-e2e-app.log"
DRIVER_LOG="$ARTIFACTS/desktop-e2e-driver.log"
FIGURES="$ARTIFACTS/figures/desktop.json"
TIMEOUT=${E2E_TIMEOUT:-30}

# shellcheck source=tests/desktop/lib.sh
. "$HERE/lib.sh"

# --- inside Xvfb + D-Bus session: tauri-driver, then the WebDriver checks ----------------------
# Prints "PASS|FAIL<TAB>check<TAB>detail" and "FIGURE<TAB>name<TAB>value" lines on stdout.
if [ "${1:-}" = "--inside-display" ]; then
  use_xvfb_display
  DRIVER_PID=""
  trap '[ -n "$DRIVER_PID" ] && stop_tree "$DRIVER_PID"' EXIT
  trap 'exit 130' INT TERM
  if ! start_tauri_driver "$DRIVER_LOG" 2>>"$DRIVER_LOG"; then
    printf 'FAIL\ttauri-driver\tdid not start (log: tests/artifacts/desktop-e2e-driver.log)\n'
    exit 0
  fi
  printf 'PASS\ttauri-driver\tlistening on %s\n' "$DRIVER_URL"
  E2E_DRIVER_URL="$DRIVER_URL" E2E_DRIVER_PID="$DRIVER_PID" E2E_TIMEOUT_MS=$((TIMEOUT * 1000)) \
    node "$HERE/e2e.mjs"
  rc=$?
  [ $rc -eq 0 ] || printf 'FAIL\tdriver script\tnode exited with %s (log: tests/artifacts/desktop-e2e-driver.log)\n' "$rc"
  exit 0
fi

# --- outside: build, seed, run the inside part under Xvfb, check the registry, report ----------
passed=0
failed=0
pass() { passed=$((passed + 1)); printf 'PASS  %s — %s\n' "$1" "$2"; }
fail() { failed=$((failed + 1)); printf 'FAIL  %s — %s\n' "$1" "$2"; }
finish() {
  [ -s "$SHOT" ] && echo "screenshot: tests/artifacts/desktop-e2e.png"
  [ -s "$FIGURES" ] && echo "figures: tests/artifacts/figures/desktop.json"
  printf 'desktop e2e: %d passed, %d failed\n' "$passed" "$failed"
  [ "$failed" -eq 0 ]
  exit
}
not_run() { # REASON CHECK...
  local reason=$1; shift
  for c in "$@"; do fail "$c" "not run: $reason"; done
}
APP_CHECKS=("desktop session" "draft persisted" "team server has the registry")

for tool in npm node cargo xvfb-run dbus-run-session tauri-driver WebKitWebDriver pgrep; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "desktop e2e: missing tool '$tool' (run .ci/install-deps.sh)" >&2
    not_run "missing tool $tool" "ui build" "app build" "demo registry" "${APP_CHECKS[@]}"
    finish
  fi
done

mkdir -p "$ARTIFACTS/figures"
rm -f "$SHOT" "$APP_LOG" "$DRIVER_LOG" "$FIGURES"

TARGET_DIR=$(desktop_target_dir "$ROOT")
export CARGO_TARGET_DIR="$TARGET_DIR"
BIN="$TARGET_DIR/debug/promptdesk-app"
CLI="$TARGET_DIR/debug/promptdesk"

if [ "${E2E_SKIP_BUILD:-}" = 1 ]; then
  echo "desktop e2e: E2E_SKIP_BUILD=1, reusing ui/dist, $BIN and $CLI"
else
  [ -d "$ROOT/ui/node_modules" ] || echo "desktop e2e: ui/node_modules missing (run .ci/install-deps.sh)" >&2
  start=$SECONDS
  if (cd "$ROOT/ui" && npm run --silent build) >"$ARTIFACTS/desktop-e2e-ui-build.log" 2>&1; then
    pass "ui build" "ui/dist in $((SECONDS - start))s"
  else
    tail -n 30 "$ARTIFACTS/desktop-e2e-ui-build.log" >&2
    fail "ui build" "npm run build failed (log: tests/artifacts/desktop-e2e-ui-build.log)"
    not_run "ui build failed" "app build" "demo registry" "${APP_CHECKS[@]}"
    finish
  fi

  # custom-protocol: the binary serves the embedded ui/dist instead of loading the dev server.
  start=$SECONDS
  if (cd "$ROOT" && cargo build -p promptdesk-app --features tauri/custom-protocol); then
    pass "app build" "$(basename "$BIN") in $((SECONDS - start))s"
  else
    fail "app build" "cargo build -p promptdesk-app --features tauri/custom-protocol failed"
    not_run "app build failed" "demo registry" "${APP_CHECKS[@]}"
    finish
  fi
  if ! (cd "$ROOT" && cargo build -q -p promptdesk-cli -p promptdesk-fakellm); then
    fail "cli build" "cargo build -p promptdesk-cli -p promptdesk-fakellm failed"
    not_run "cli build failed" "demo registry" "${APP_CHECKS[@]}"
    finish
  fi
fi
[ -x "$BIN" ] || { fail "app binary" "$BIN not found"; not_run "no binary" "demo registry" "${APP_CHECKS[@]}"; finish; }
[ -x "$CLI" ] || { fail "cli binary" "$CLI not found"; not_run "no CLI" "demo registry" "${APP_CHECKS[@]}"; finish; }

# Everything the run writes outside tests/artifacts/ lives here and is removed on exit: the
# registry, and the app's own data (WebKit's local storage with the edit journal, settings).
WORK=$(mktemp -d)
REGISTRY="$WORK/registry.db"
XVFB_PID=""
TEAM_PID=""
MODEL_PID=""
cleanup() {
  [ -n "$XVFB_PID" ] && stop_tree "$XVFB_PID"
  [ -n "$TEAM_PID" ] && kill "$TEAM_PID" 2>/dev/null
  [ -n "$MODEL_PID" ] && kill "$MODEL_PID" 2>/dev/null
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'fail "interrupted" "stopped by a signal (the app, tauri-driver and Xvfb are stopped on exit)"; finish' INT TERM

if "$CLI" --registry "$REGISTRY" demo >"$WORK/demo.out" 2>&1; then
  pass "demo registry" "seeded $(grep -c '^  ' "$WORK/demo.out") prompts into a throwaway registry"
else
  fail "demo registry" "promptdesk demo failed: $(tail -n 3 "$WORK/demo.out" | tr '\n' ' ')"
  not_run "no registry" "${APP_CHECKS[@]}"
  finish
fi

# The demo's model: no machine here reaches a hosted one, so the demo's `openai` provider points at
# promptdesk-fakellm (it echoes the prompt back), and the app's Compare runs against it.
"$TARGET_DIR/debug/promptdesk-fakellm" --latency-ms 300 >"$WORK/model.out" 2>&1 &
MODEL_PID=$!
for _ in $(seq 1 100); do grep -q '^listening on ' "$WORK/model.out" 2>/dev/null && break; sleep 0.1; done
MODEL_URL=$(sed -n 's/^listening on //p' "$WORK/model.out" | head -n 1)
"$CLI" --registry "$REGISTRY" provider set openai --kind openai --base-url "$MODEL_URL/v1" >/dev/null \
  || fail "demo model" "could not point the demo's openai provider at the local model ($MODEL_URL)"

# A team registry server for the app to sync with: the desktop app connects in Settings → Team
# server and pushes the demo (its acting person, desk, holds an admin token, since the demo's
# records were made by several people; an admin may carry others' changes, each still judged by
# its author's role).
TEAM_DB="$WORK/team.db"
TEAM_PORT=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
TEAM_TOKEN=$("$CLI" --json server --database "sqlite://$TEAM_DB" token create --user desk --role admin \
  | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>process.stdout.write(JSON.parse(s).secret ?? ""))')
# The demo's people have roles on the server (a token each), as they would on a real team.
declare -A PERSON_TOKEN
for person_role in cho:admin ana:editor sam:editor ben:reviewer rita:releaser; do
  PERSON_TOKEN[${person_role%%:*}]=$("$CLI" --json server --database "sqlite://$TEAM_DB" token create \
      --user "${person_role%%:*}" --role "${person_role#*:}" \
    | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>process.stdout.write(JSON.parse(s).secret ?? ""))')
done
PROMPTDESK_SERVER_QUIET=1 "$CLI" serve --database "sqlite://$TEAM_DB" --addr "127.0.0.1:$TEAM_PORT" >"$WORK/team-server.log" 2>&1 &
TEAM_PID=$!
for _ in $(seq 1 100); do
  node -e 'fetch(process.argv[1]).then(() => process.exit(0), () => process.exit(1))' \
    "http://127.0.0.1:$TEAM_PORT/v1/health" && break
  sleep 0.1
done
# A signing key counts on the server only when its owner registered it with their own token (an
# admin carrying the demo cannot give ben or rita a key). So ben and rita each sync a copy of
# the demo under their own token first, as they would from their own machines: their keys reach
# the server (their other changes wait for the admin's push, which carries the rest).
for signer in ben rita; do
  cp "$REGISTRY" "$WORK/$signer.db"
  printf '%s' "${PERSON_TOKEN[$signer]}" | PROMPTDESK_USER=$signer PROMPTDESK_KEYSTORE="file:$WORK/keys-$signer" \
    "$CLI" --registry "$WORK/$signer.db" remote set "http://127.0.0.1:$TEAM_PORT" --token-stdin >/dev/null 2>&1
  PROMPTDESK_USER=$signer PROMPTDESK_KEYSTORE="file:$WORK/keys-$signer" PROMPTDESK_TOKEN="${PERSON_TOKEN[$signer]}" \
    "$CLI" --registry "$WORK/$signer.db" sync >"$WORK/sync-$signer.log" 2>&1 || true
done
export PROMPTDESK_USER=desk E2E_TEAM_URL="http://127.0.0.1:$TEAM_PORT" E2E_TEAM_TOKEN="$TEAM_TOKEN"

# The application tauri-driver launches: a wrapper that sends the app's output to its own log and
# execs the binary (so the app keeps the wrapper's pid and WebKitWebDriver's arguments).
APP="$WORK/promptdesk-app-e2e"
write_app_wrapper "$APP" "$BIN" "$APP_LOG"

# tauri-driver → WebKitWebDriver → the app inherit this environment: the registry, and data
# directories of its own so the developer's WebKit storage and settings are not touched.
export PROMPTDESK_REGISTRY="$REGISTRY"
export XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"
mkdir -p "$XDG_DATA_HOME" "$XDG_CONFIG_HOME" "$XDG_CACHE_HOME"
MARKER=" e2e-typed-$(date +%s)-$$"
export E2E_APP="$APP" E2E_BIN="$BIN" E2E_REGISTRY="$REGISTRY" E2E_MARKER="$MARKER" \
  E2E_SCREENSHOT="$SHOT" E2E_FIGURES="$FIGURES"

RESULTS="$WORK/results"
xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- bash "$SELF" --inside-display >"$RESULTS" 2>>"$DRIVER_LOG" &
XVFB_PID=$!
wait "$XVFB_PID"
rc=$?
XVFB_PID=""

seen=0
while IFS=$'\t' read -r status check detail; do
  case "$status" in
    PASS) pass "$check" "$detail"; seen=$((seen + 1)) ;;
    FAIL) fail "$check" "$detail"; seen=$((seen + 1)) ;;
    FIGURE) printf 'FIGURE %s = %s\n' "$check" "$detail" ;;
  esac
done <"$RESULTS"
if [ "$seen" -eq 0 ]; then
  tail -n 20 "$DRIVER_LOG" >&2
  fail "desktop session" "xvfb-run exited with $rc before any check ran (log: tests/artifacts/desktop-e2e-driver.log)"
fi

# The draft the app saved is in the registry, read by another program after the app closed.
want=${MARKER# }
if out=$("$CLI" --registry "$REGISTRY" --json show support/refund-reply@draft 2>&1); then
  template=$(printf '%s' "$out" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const b = JSON.parse(s).draft.content.body;
      process.stdout.write(b.kind === "text" ? b.template : JSON.stringify(b.messages));
    });' 2>&1) || template="(unreadable: $template)"
  if [[ "$template" == *"$want" ]]; then
    pass "draft persisted" "promptdesk show support/refund-reply@draft ends with \"$want\""
  elif [[ "$template" == *"$want"* ]]; then
    pass "draft persisted" "promptdesk show support/refund-reply@draft contains \"$want\" (not at the very end)"
  else
    fail "draft persisted" "the registry's draft does not contain \"$want\"; it ends \"${template: -80}\""
  fi
else
  fail "draft persisted" "promptdesk show failed: $(printf '%s' "$out" | tail -n 3 | tr '\n' ' ')"
fi

# What the app pushed is on the server: the runtime API serves the demo's production version.
served=$(E2E_TEAM_TOKEN="$TEAM_TOKEN" node -e '
  fetch(process.env.E2E_TEAM_URL + "/v1/prompts/support%2Frefund-reply?label=production",
        { headers: { authorization: "Bearer " + process.env.E2E_TEAM_TOKEN } })
    .then(async (r) => { if (!r.ok) throw new Error("HTTP " + r.status); process.stdout.write(String((await r.json()).version)); })
    .catch((e) => { process.stdout.write(e.message); process.exit(1); });' 2>&1)
if [ $? -eq 0 ]; then
  pass "team server has the registry" "GET /v1/prompts/support%2Frefund-reply?label=production → version $served"
else
  fail "team server has the registry" "the server does not serve support/refund-reply@production ($served)"
fi
finish
