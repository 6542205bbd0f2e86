#!/usr/bin/env bash
# An MLflow tracking server (from PyPI, in a virtualenv made here under tests/.venv-mlflow) on a
# temporary SQLite file, with one text prompt whose `production` alias is set: the baseline of
# src-tauri/crates/server/benches/runtime_load.rs, which starts and stops this script.
#
#   bash tests/mlflow/serve.sh [--until-stdin-closes]
#
# The server runs with `mlflow server`'s defaults (uvicorn, its default worker count) on
# 127.0.0.1 and a free port. When it answers and the prompt is in place, this prints `key=value`
# lines (version, server, the URL that resolves the alias, the requests that
# mlflow.genai.load_prompt sends) and then `ready`, and keeps the server up until SIGTERM/SIGINT
# (or, with --until-stdin-closes, until its stdin closes, so a benchmark that dies takes the
# server with it). Everything it writes at run time goes to a temporary directory it removes.
# Progress and errors go to stderr; the server's own log is repeated there if it fails to start.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
VENV="$ROOT/tests/.venv-mlflow"
MLFLOW_VERSION=3.17.2 # the full `mlflow` package, which brings the server and its dependencies
NAME=support-refund-reply
STDIN_MODE=0
[ "${1:-}" = "--until-stdin-closes" ] && STDIN_MODE=1

installed() {
  "$VENV/bin/python" -c "import mlflow, sys; sys.exit(mlflow.__version__ != '$MLFLOW_VERSION')" 2>/dev/null
}
if [ ! -x "$VENV/bin/python" ] || ! installed; then
  echo "installing mlflow==$MLFLOW_VERSION into tests/.venv-mlflow" >&2
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "mlflow==$MLFLOW_VERSION" >&2
fi

# No usage reports (MLflow sends them by default) from the client or the server.
export MLFLOW_DISABLE_TELEMETRY=true DO_NOT_TRACK=true

WORK=$(mktemp -d)
SERVER_PID=
stop() {
  # Once stopping, a further signal (closing stdin and SIGTERM both arrive) must not cut it short.
  trap - EXIT
  trap '' INT TERM PIPE
  if [ -n "$SERVER_PID" ]; then
    # The server runs in its own session and process group (the mlflow CLI, uvicorn and its
    # workers, the job runner and its consumers): stop them all, gently first, and reap the CLI.
    kill -TERM -- "-$SERVER_PID" 2>/dev/null || true
    (sleep 10 && kill -KILL -- "-$SERVER_PID" 2>/dev/null) &
    watchdog=$!
    wait "$SERVER_PID" 2>/dev/null || true
    for _ in $(seq 50); do
      kill -0 -- "-$SERVER_PID" 2>/dev/null || break
      sleep 0.1
    done
    kill -KILL -- "-$SERVER_PID" 2>/dev/null || true
    kill -KILL "$watchdog" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap stop EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
# A reader that went away (a benchmark that died while this started) stops it too.
trap 'exit 141' PIPE

PORT=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
BASE="http://127.0.0.1:$PORT"
# Started from the temporary directory, so the default artifact store (./mlartifacts) lands
# there too.
(
  cd "$WORK"
  exec setsid "$VENV/bin/mlflow" server \
    --backend-store-uri "sqlite:///$WORK/mlflow.db" --host 127.0.0.1 --port "$PORT" \
    >"$WORK/server.log" 2>&1 </dev/null
) &
SERVER_PID=$!

healthy=0
for _ in $(seq 600); do
  if ! kill -0 "$SERVER_PID" 2>/dev/null; then
    break
  fi
  if "$VENV/bin/python" -c "import urllib.request, sys; urllib.request.urlopen('$BASE/health', timeout=1)" 2>/dev/null; then
    healthy=1
    break
  fi
  sleep 0.2
done
if [ "$healthy" != 1 ]; then
  echo "mlflow server did not become healthy on $BASE; its log:" >&2
  cat "$WORK/server.log" >&2 || true
  exit 1
fi

SEED=$(MLFLOW_TRACKING_URI="$BASE" "$VENV/bin/python" "$ROOT/tests/mlflow/seed.py" "$NAME")
# What `mlflow server` chose: the HTTP server it started, its --workers, the workers running.
HTTP_PID=$(pgrep -P "$SERVER_PID" -f 'uvicorn|gunicorn|waitress' | head -n1 || true)
HTTP_CMD=$(tr '\0' '\n' <"/proc/$HTTP_PID/cmdline" 2>/dev/null || true)
SERVER=$(grep -o -m1 -E 'uvicorn|gunicorn|waitress' <<<"$HTTP_CMD" || echo unknown)
WORKERS_FLAG=$(grep -A1 -x -E -- '--workers|-w' <<<"$HTTP_CMD" | tail -n1 || true)
WORKER_PROCESSES=$(ps --ppid "${HTTP_PID:-0}" -o args= 2>/dev/null | grep -c -v resource_tracker || true)
echo "server=$SERVER"
echo "workers=$WORKERS_FLAG"
echo "worker_processes=$WORKER_PROCESSES"
echo "session=$SERVER_PID"
echo "base=$BASE"
echo "$SEED"
echo "url=$BASE/api/2.0/mlflow/registered-models/alias?name=$NAME&alias=production"
echo "ready"

if [ "$STDIN_MODE" = 1 ]; then
  # Returns when stdin closes; a trapped signal ends it too.
  while read -r _; do :; done
else
  while kill -0 "$SERVER_PID" 2>/dev/null; do
    sleep 1
  done
  echo "mlflow server exited" >&2
  exit 1
fi
