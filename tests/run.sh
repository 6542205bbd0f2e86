#!/usr/bin/env bash
# Runs every Promptdesk test on this machine, installing what is missing first (safe to run
# twice): formatting, the Rust workspace (unit, integration, CLI, web-mode and crash tests), the
# UI's vitest suite, the browser end-to-end suite (Chromium against `promptdesk ui`) and the
# desktop end-to-end suite (the real Tauri binary under Xvfb through tauri-driver).
# The last line is "promptdesk tests: N passed, M failed".
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
LOGS="$ROOT/tests/artifacts/logs"
mkdir -p "$LOGS"

passed=0
failed=0
failures=()
step() { printf '\n==> %s\n' "$*"; }

bash .ci/install-deps.sh || { echo "promptdesk tests: 0 passed, 1 failed"; exit 1; }

# A clean run builds every crate once; incremental caches would only add gigabytes nobody reuses.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
# Disk is the resource a run most often runs out of (builds, browsers, databases): say how much
# there is before and after, so a failure for lack of space is obvious in the log.
disk_free() { df -h "${CARGO_TARGET_DIR:-$ROOT/target}" 2>/dev/null | awk 'NR == 2 {print $4 " free on " $6}' || true; }
mkdir -p "${CARGO_TARGET_DIR:-$ROOT/target}"
echo "disk before the run: $(disk_free)"

step "cargo fmt --check"
if cargo fmt --all -- --check >"$LOGS/fmt.log" 2>&1; then
  passed=$((passed + 1))
else
  cat "$LOGS/fmt.log" | head -40
  failed=$((failed + 1)); failures+=("formatting (run cargo fmt --all)")
fi

step "cargo test (workspace)"
cargo test --workspace --exclude promptdesk-app --no-fail-fast 2>&1 | tee "$LOGS/cargo-test.log"
cargo_status=${PIPESTATUS[0]}
read -r p f < <(awk '/^test result:/ {for (i = 1; i <= NF; i++) { if ($(i+1) ~ /^passed/) p += $i; if ($(i+1) ~ /^failed/) f += $i } } END {print p + 0, f + 0}' "$LOGS/cargo-test.log")
passed=$((passed + p)); failed=$((failed + f))
if [ "$cargo_status" -ne 0 ] && [ "$f" -eq 0 ]; then
  failed=$((failed + 1)); failures+=("cargo test exited $cargo_status (build failure?)")
elif [ "$f" -ne 0 ]; then
  failures+=("cargo test: $f failed")
fi

step "OS keyring (Secret Service in a private D-Bus session)"
if bash tests/keyring/with-keyring.sh cargo test -p promptdesk-keys --test os_keyring -- --include-ignored \
    >"$LOGS/os-keyring.log" 2>&1; then
  passed=$((passed + 1))
else
  tail -30 "$LOGS/os-keyring.log"
  failed=$((failed + 1)); failures+=("OS keyring test (see $LOGS/os-keyring.log)")
fi

step "Langfuse Python SDK against the registry server"
if bash tests/langfuse/run.sh >"$LOGS/langfuse-sdk.log" 2>&1; then
  passed=$((passed + 1))
else
  tail -30 "$LOGS/langfuse-sdk.log"
  failed=$((failed + 1)); failures+=("Langfuse SDK (see $LOGS/langfuse-sdk.log)")
fi

step "ui: vitest"
# The UI imports values (not only types) from the generated API module, which a clean clone
# does not have until `npm run gen` writes it from the Rust types.
if (cd ui && npm run gen && npx vitest run 2>&1) | tee "$LOGS/vitest.log"; then
  n=$(grep -Eo 'Tests +[0-9]+ passed' "$LOGS/vitest.log" | grep -Eo '[0-9]+' | head -1)
  passed=$((passed + ${n:-1}))
else
  failed=$((failed + 1)); failures+=("ui vitest")
  # Name what failed in the summary: CI shows only the tail of this script's output.
  while IFS= read -r line; do failures+=("  vitest: $line"); done < <(
    sed 's/\x1b\[[0-9;]*m//g' "$LOGS/vitest.log" |
      grep -E '^ *(FAIL|×) |Unhandled|Error: |Test timed out|Worker exited' | sort -u | head -12)
fi

# The two end-to-end suites report "<suite>: N passed, M failed" as their last line.
e2e() { # NAME SCRIPT LOG
  bash "$2" 2>&1 | tee "$LOGS/$3"
  local status=${PIPESTATUS[0]} p f
  read -r p f < <(awk -v name="$1:" '$0 ~ "^" name {p = $(NF-3); f = $(NF-1)} END {print p + 0, f + 0}' "$LOGS/$3")
  passed=$((passed + p)); failed=$((failed + f))
  if [ "$status" -ne 0 ]; then
    [ "$f" -eq 0 ] && failed=$((failed + 1))
    failures+=("$1")
  fi
}

step "browser e2e (Playwright + Chromium against promptdesk ui)"
e2e "browser e2e" tests/e2e/run.sh browser-e2e-run.log

step "desktop e2e (Tauri binary under Xvfb through tauri-driver)"
e2e "desktop e2e" tests/desktop/e2e.sh desktop-e2e-run.log

echo
echo "disk after the run: $(disk_free)"
for x in "${failures[@]}"; do echo "FAILED: $x"; done
echo "promptdesk tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
