#!/usr/bin/env bash
# Memory benchmark of the desktop app with a large registry (not run in CI): seeds a throwaway
# registry with 10,000 prompts (`promptdesk import` of a generated export), starts the real app
# through tauri-driver under Xvfb, waits until the Prompts tree lists all of them, and records the
# resident memory of the app and its WebKit child processes. The demo registry (3 prompts) is
# measured in the same run as the baseline.
#
#   tests/desktop/bench-memory.sh
#
# Environment:
#   CARGO_TARGET_DIR       honoured (default: <repo>/target)
#   BENCH_PROMPTS          how many prompts (default 10000)
#   BENCH_SKIP_BUILD=1     reuse the existing ui/dist and binaries
#
# Writes tests/artifacts/figures/desktop-memory.json, and desktop-memory-app.log /
# desktop-memory-driver.log under tests/artifacts/. Same build as tests/desktop/e2e.sh (debug,
# tauri/custom-protocol), so the two share one compiled binary.
set -uo pipefail

SELF=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$(basename "${BASH_SOURCE[0]}")
HERE=$(dirname "$SELF")
ROOT=$(cd "$HERE/../.." && pwd)
ARTIFACTS="$ROOT/tests/artifacts"
APP_LOG="$ARTIFACTS/desktop-memory-app.log"
DRIVER_LOG="$ARTIFACTS/desktop-memory-driver.log"
FIGURES="$ARTIFACTS/figures/desktop-memory.json"
COUNT=${BENCH_PROMPTS:-10000}

# shellcheck source=tests/desktop/lib.sh
. "$HERE/lib.sh"

die() { printf 'bench-memory: %s\n' "$*" >&2; exit 1; }

# --- inside Xvfb + D-Bus session ---------------------------------------------------------------
if [ "${1:-}" = "--inside-display" ]; then
  use_xvfb_display
  DRIVER_PID=""
  trap '[ -n "$DRIVER_PID" ] && stop_tree "$DRIVER_PID"' EXIT
  trap 'exit 130' INT TERM
  start_tauri_driver "$DRIVER_LOG" || exit 1
  BENCH_DRIVER_URL="$DRIVER_URL" BENCH_DRIVER_PID="$DRIVER_PID" node "$HERE/bench-memory.mjs" measure
  exit
fi

# --- outside -----------------------------------------------------------------------------------
for tool in npm node cargo xvfb-run dbus-run-session tauri-driver WebKitWebDriver pgrep; do
  command -v "$tool" >/dev/null 2>&1 || die "missing tool '$tool' (run .ci/install-deps.sh)"
done
mkdir -p "$ARTIFACTS/figures"
rm -f "$APP_LOG" "$DRIVER_LOG"

TARGET_DIR=$(desktop_target_dir "$ROOT")
export CARGO_TARGET_DIR="$TARGET_DIR"
BIN="$TARGET_DIR/debug/promptdesk-app"
CLI="$TARGET_DIR/debug/promptdesk"
if [ "${BENCH_SKIP_BUILD:-}" != 1 ]; then
  (cd "$ROOT/ui" && npm run --silent build) >/dev/null || die "ui build failed"
  (cd "$ROOT" && cargo build -q -p promptdesk-app --features tauri/custom-protocol) || die "app build failed"
  (cd "$ROOT" && cargo build -q -p promptdesk-cli) || die "cli build failed"
fi
[ -x "$BIN" ] && [ -x "$CLI" ] || die "$BIN or $CLI missing"

WORK=$(mktemp -d)
XVFB_PID=""
cleanup() {
  [ -n "$XVFB_PID" ] && stop_tree "$XVFB_PID"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The baseline registry (the demo), and a version file from its export to copy into every prompt.
"$CLI" --registry "$WORK/demo.db" demo >/dev/null || die "promptdesk demo failed"
"$CLI" --registry "$WORK/demo.db" export "$WORK/demo-export" >/dev/null || die "promptdesk export failed"
VERSION_FILE=$(find "$WORK/demo-export/prompts" -name _v0001.prompt -path '*policies/refunds*' | head -n1)
[ -n "$VERSION_FILE" ] || die "no policies/refunds/_v0001.prompt in the demo export"

start=$(date +%s%N)
node "$HERE/bench-memory.mjs" generate "$WORK/big-export" "$COUNT" "$VERSION_FILE" || die "generating the export failed"
"$CLI" --registry "$WORK/big.db" import "$WORK/big-export" >/dev/null || die "promptdesk import failed"
seed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
listed=$("$CLI" --registry "$WORK/big.db" --json list | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const v=JSON.parse(s);console.log(v.length)})')
echo "bench-memory: seeded $listed prompts in ${seed_ms} ms (generate + import)"

# One launcher per registry: tauri-driver passes its environment on, the launcher sets the registry.
for which in demo big; do
  printf '#!/bin/sh\nPROMPTDESK_REGISTRY="%s" exec "%s" "$@" >>"%s" 2>&1\n' \
    "$WORK/$which.db" "$BIN" "$APP_LOG" >"$WORK/app-$which"
  chmod +x "$WORK/app-$which"
done
export XDG_DATA_HOME="$WORK/data" XDG_CONFIG_HOME="$WORK/config" XDG_CACHE_HOME="$WORK/cache"
export BENCH_BIN="$BIN"
export BENCH_APPS="[{\"label\":\"demo\",\"app\":\"$WORK/app-demo\",\"expect\":3},{\"label\":\"large\",\"app\":\"$WORK/app-big\",\"expect\":$COUNT}]"

xvfb-run -a -s "-screen 0 1280x800x24" \
  dbus-run-session -- bash "$SELF" --inside-display >"$WORK/runs.jsonl" 2>>"$DRIVER_LOG" &
XVFB_PID=$!
wait "$XVFB_PID"
XVFB_PID=""

node - "$WORK/runs.jsonl" "$FIGURES" "$COUNT" "$seed_ms" <<'EOF' || die "no measurement (log: tests/artifacts/desktop-memory-driver.log)"
const fs = require('fs');
const [runsFile, out, count, seedMs] = process.argv.slice(2);
// Other programs in the session (D-Bus activated services) may write to the same stdout.
const runs = fs.readFileSync(runsFile, 'utf8').split('\n').filter((l) => l.startsWith('{"label"')).map((l) => JSON.parse(l));
const by = Object.fromEntries(runs.map((r) => [r.label, r]));
for (const r of runs) if (r.error) console.error(`bench-memory: ${r.label}: ${r.error}`);
if (!by.large || by.large.error) process.exit(1);
const pick = (r) => r && !r.error ? {
  prompts: r.prompts,
  listed_ms: r.listed_ms,
  rss_total_mib: r.after_5s.rss_total_mib,
  pss_total_mib: r.after_5s.pss_total_mib,
  rss_total_mib_at_listed: r.at_listed.rss_total_mib,
  processes: r.after_5s.processes,
} : null;
const figures = {
  note: 'Debug build (tauri/custom-protocol) under Xvfb. rss_total: sum of VmRSS over the app process and its descendants (WebKit web and network processes, render worker) 5 s after the Prompts tree listed every prompt; pss_total: the same with shared pages shared out; listed_ms: from requesting the WebDriver session (launching the app) to the tree listing them all. Measured, not asserted.',
  prompts: Number(count),
  seed_ms: Number(seedMs),
  large: pick(by.large),
  baseline_demo: pick(by.demo),
  rss_growth_mib: by.demo && !by.demo.error ? Math.round((by.large.after_5s.rss_total_mib - by.demo.after_5s.rss_total_mib) * 10) / 10 : null,
  measured_at: new Date().toISOString(),
};
fs.writeFileSync(out, JSON.stringify(figures, null, 2) + '\n');
const f = (r) => r ? `${r.rss_total_mib} MiB RSS (PSS ${r.pss_total_mib} MiB), listed in ${r.listed_ms} ms` : 'not measured';
console.log(`bench-memory: ${count} prompts: ${f(figures.large)}`);
console.log(`bench-memory: demo (3 prompts): ${f(figures.baseline_demo)}`);
console.log(`bench-memory: growth ${figures.rss_growth_mib} MiB RSS; written to tests/artifacts/figures/desktop-memory.json`);
EOF
