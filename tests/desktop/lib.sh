# Shell helpers shared by tests/desktop/e2e.sh and tests/desktop/bench-memory.sh (sourced).

# tauri-driver is installed by `cargo install` (.ci/install-deps.sh), whose bin directory is not
# always on PATH.
PATH="$PATH:${CARGO_HOME:-$HOME/.cargo}/bin"

# Inside xvfb-run: make GTK use the virtual X display even when the caller's session is Wayland.
use_xvfb_display() {
  unset WAYLAND_DISPLAY
  export GDK_BACKEND=x11
}

# The cargo target directory (CARGO_TARGET_DIR or ROOT/target), made absolute: relative values
# are relative to the repository root, where cargo runs.
desktop_target_dir() { # ROOT
  local dir=${CARGO_TARGET_DIR:-$1/target}
  case "$dir" in /*) ;; *) dir="$1/$dir" ;; esac
  printf '%s\n' "$dir"
}

# The descendants of a process, from /proc (pgrep -P), deepest last.
tree_pids() { # PID
  local child
  for child in $(pgrep -P "$1" 2>/dev/null); do
    echo "$child"
    tree_pids "$child"
  done
}

# Stops a process and everything below it, by pid: TERM (children first), up to 5 s for them to
# exit, then KILL whatever is left.
stop_tree() { # PID
  local pids p alive
  pids="$(tree_pids "$1" | tac) $1"
  for p in $pids; do kill -TERM "$p" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for p in $pids; do kill -0 "$p" 2>/dev/null && alive=1; done
    [ $alive -eq 0 ] && return 0
    sleep 0.1
  done
  for p in $pids; do kill -KILL "$p" 2>/dev/null || true; done
}

free_port() {
  node -e 'const s = require("net").createServer(); s.listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); });'
}

# Starts tauri-driver on free ports with its output appended to LOG, and waits until it answers.
# Sets DRIVER_PID and DRIVER_URL; returns non-zero (with the reason on stderr) if it does not come
# up within 10 s.
start_tauri_driver() { # LOG
  local port native_port
  port=$(free_port)
  native_port=$(free_port)
  while [ "$native_port" = "$port" ]; do native_port=$(free_port); done
  tauri-driver --port "$port" --native-port "$native_port" >>"$1" 2>&1 &
  DRIVER_PID=$!
  DRIVER_URL="http://127.0.0.1:$port"
  for _ in $(seq 1 100); do
    kill -0 "$DRIVER_PID" 2>/dev/null || { echo "tauri-driver exited" >&2; return 1; }
    if node -e 'fetch(process.argv[1]).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' \
      "$DRIVER_URL/status" 2>/dev/null; then
      return 0
    fi
    sleep 0.1
  done
  echo "tauri-driver not answering on $DRIVER_URL within 10 s" >&2
  return 1
}

# Writes an executable wrapper for tauri-driver to launch: it appends the app's output to LOG and
# execs BIN (so the app keeps the wrapper's pid and gets WebKitWebDriver's arguments).
write_app_wrapper() { # WRAPPER BIN LOG
  printf '#!/bin/sh\nexec "%s" "$@" >>"%s" 2>&1\n' "$2" "$3" >"$1"
  chmod +x "$1"
}
