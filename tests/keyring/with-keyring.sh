#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (Secret Service),
# so the OS keyring is real but nothing touches the user's own keyrings:
#   tests/keyring/with-keyring.sh COMMAND [ARGS...]
# The keyring's files live in a throwaway XDG_DATA_HOME; HOME is left alone so cargo and rustup
# keep finding their toolchains.
set -euo pipefail
if [ "${1:-}" != "--inside" ]; then
  exec dbus-run-session -- bash "$0" --inside "$@"
fi
shift
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
export XDG_DATA_HOME="$scratch/data" XDG_RUNTIME_DIR="$scratch/run"
mkdir -p "$XDG_DATA_HOME" "$XDG_RUNTIME_DIR"
chmod 700 "$XDG_RUNTIME_DIR"
# A non-empty password creates and unlocks the login keyring.
eval "$(printf 'promptdesk-test' | gnome-keyring-daemon --unlock --components=secrets)"
export GNOME_KEYRING_CONTROL
"$@"
