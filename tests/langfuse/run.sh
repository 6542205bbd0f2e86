#!/usr/bin/env bash
# The Langfuse Python SDK (from PyPI, in a virtualenv made here) against a real Promptdesk
# server: src-tauri/crates/server/tests/langfuse_sdk.rs drives it. Safe to run twice.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV="$ROOT/tests/.venv"
if [ ! -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import langfuse' 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check 'langfuse>=3,<6'
fi
echo "langfuse SDK $("$VENV/bin/python" -c 'import langfuse; print(langfuse.__version__)' 2>/dev/null || echo '?')"
cd "$ROOT"
PROMPTDESK_LANGFUSE_PYTHON="$VENV/bin/python" \
  cargo test -p promptdesk-server --test langfuse_sdk -- --include-ignored
