#!/usr/bin/env bash
# Runs every Promptdesk test on this machine, installing what is missing first (safe to run
# twice): formatting, the Rust workspace (unit, integration, CLI and crash tests), the UI's
# vitest suite, and the desktop smoke test of the real Tauri binary under Xvfb.
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

step "ui: vitest"
if (cd ui && npx vitest run 2>&1) | tee "$LOGS/vitest.log"; then
  n=$(grep -Eo 'Tests +[0-9]+ passed' "$LOGS/vitest.log" | grep -Eo '[0-9]+' | head -1)
  passed=$((passed + ${n:-1}))
else
  failed=$((failed + 1)); failures+=("ui vitest")
fi

step "desktop smoke (Tauri under Xvfb)"
bash tests/desktop/smoke.sh 2>&1 | tee "$LOGS/desktop-smoke.log"
smoke_status=${PIPESTATUS[0]}
read -r p f < <(awk '/^desktop smoke:/ {p = $3; f = $5} END {print p + 0, f + 0}' "$LOGS/desktop-smoke.log")
passed=$((passed + p)); failed=$((failed + f))
if [ "$smoke_status" -ne 0 ]; then
  [ "$f" -eq 0 ] && failed=$((failed + 1))
  failures+=("desktop smoke")
fi

echo
for x in "${failures[@]}"; do echo "FAILED: $x"; done
echo "promptdesk tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
