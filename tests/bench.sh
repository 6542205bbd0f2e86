#!/usr/bin/env bash
# Runs the benchmarks and prints the figures they write to target/figures/*.json:
# render through the worker (template), word-refined diffs (diff), and the registry at
# 10,000 prompts / 200,000 versions (core), and the server's runtime API under 64 connections
# (server). Figures are measurements, never pass/fail. The server benchmark then starts an MLflow
# server from PyPI (tests/mlflow/serve.sh, virtualenv in tests/.venv-mlflow) and drives its
# prompt-by-alias route with the same load, for a ratio; PROMPTDESK_BENCH_MLFLOW=0 skips it.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
FIGURES=${CARGO_TARGET_DIR:-$ROOT/target}/figures
cargo bench -p promptdesk-template --bench render
cargo bench -p promptdesk-diff --bench diff
cargo bench -p promptdesk-core --bench registry
cargo bench -p promptdesk-server --bench runtime_load
cargo bench -p promptdesk-sync --bench sync
cargo bench -p promptdesk-eval --bench eval
cargo bench -p promptdesk-cli --bench eval_cli
for f in "$FIGURES"/*.json; do
  printf '\n%s\n' "$f"
  cat "$f"
done
