#!/usr/bin/env bash
# Browser end-to-end suite: builds the UI and the CLI, then runs web.test.mjs (Playwright driving
# Debian's Chromium against `promptdesk ui` on a real registry file; the eval tests also run
# promptdesk-fakellm).
# Artifacts: tests/artifacts/screens/*.png, tests/artifacts/figures/ui-web.json.
# The last line is "browser e2e: N passed, M failed".
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
LOGS="$ROOT/tests/artifacts/logs"
mkdir -p "$LOGS"

fail_build() { echo "$1"; echo "browser e2e: 0 passed, 1 failed"; exit 1; }
(cd "$ROOT/ui" && npm run build >"$LOGS/e2e-ui-build.log" 2>&1) || fail_build "ui build failed (see $LOGS/e2e-ui-build.log)"
(cd "$ROOT" && cargo build -q -p promptdesk-cli >"$LOGS/e2e-cli-build.log" 2>&1) || fail_build "CLI build failed (see $LOGS/e2e-cli-build.log)"
# The fake model server the eval tests point a provider at.
(cd "$ROOT" && cargo build -q -p promptdesk-fakellm >"$LOGS/e2e-fakellm-build.log" 2>&1) || fail_build "fakellm build failed (see $LOGS/e2e-fakellm-build.log)"

cd "$HERE"
# Extra arguments go to node --test (say --test-name-pattern='compare outputs' while iterating).
node --test --test-concurrency=1 --test-reporter=spec "$@" web.test.mjs 2>&1 | tee "$LOGS/browser-e2e.log"
status=${PIPESTATUS[0]}
pass=$(sed -n 's/^ℹ pass \([0-9]*\)$/\1/p' "$LOGS/browser-e2e.log" | tail -1)
fail=$(sed -n 's/^ℹ fail \([0-9]*\)$/\1/p' "$LOGS/browser-e2e.log" | tail -1)
pass=${pass:-0}; fail=${fail:-0}
if [ "$status" -ne 0 ] && [ "$fail" -eq 0 ]; then fail=1; fi
echo "browser e2e: $pass passed, $fail failed"
[ "$status" -eq 0 ]
