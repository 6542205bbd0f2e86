#!/usr/bin/env bash
# Installs what building and testing the Promptdesk desktop app needs on Debian 12:
# the Tauri 2 build packages, the packages the desktop and browser end-to-end tests use
# (WebKitWebDriver from webkit2gtk-driver, and tauri-driver from crates), PostgreSQL (the registry
# server's tests start their own instance from it), ui/'s npm packages and
# tests/e2e/'s npm packages. (tests/langfuse/run.sh makes its own virtualenv from PyPI.)
#
# Idempotent: apt-get runs only when a package is missing, `cargo install tauri-driver` only when
# tauri-driver is not on PATH (nor in cargo's bin directory), and `npm install` in ui/ or tests/e2e/
# only when that directory's package.json or package-lock.json changed since its last successful
# install.
# Run as root (CI) or as a user with sudo. The Rust toolchain and Node.js (>= 20.19, which
# Vite needs; Debian 12's own nodejs is too old) are expected to be installed already.
set -euo pipefail

say() { printf 'install-deps: %s\n' "$*"; }
die() { printf 'install-deps: ERROR: %s\n' "$*" >&2; exit 1; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

# Tauri 2 build dependencies (WebKitGTK 4.1 and friends).
BUILD_PACKAGES=(
  build-essential pkg-config file libssl-dev
  libwebkit2gtk-4.1-dev libgtk-3-dev libsoup-3.0-dev libjavascriptcoregtk-4.1-dev
  librsvg2-dev libayatana-appindicator3-dev libxdo-dev
  libdbus-1-dev
)
# Running the app headless and checking it: tests/desktop/e2e.sh (WebKitWebDriver, driven through
# tauri-driver) and the browser suite in tests/e2e/ (Debian's chromium); the server's tests run
# every case on PostgreSQL too (initdb/pg_ctl from postgresql; no cluster of its own is used).
TEST_PACKAGES=(
  xvfb xauth dbus dbus-x11 imagemagick xdotool x11-utils chromium fonts-dejavu-core
  webkit2gtk-driver
  gnome-keyring libsecret-tools
  python3-venv
  postgresql
)

command -v dpkg-query >/dev/null 2>&1 || die "dpkg-query not found: this script supports Debian (12) only"

# --- system packages -------------------------------------------------------------------------
missing=()
for pkg in "${BUILD_PACKAGES[@]}" "${TEST_PACKAGES[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$pkg" 2>/dev/null || true)
  [ "$status" = installed ] || missing+=("$pkg")
done

if [ ${#missing[@]} -eq 0 ]; then
  say "system packages: all $(( ${#BUILD_PACKAGES[@]} + ${#TEST_PACKAGES[@]} )) present"
else
  if [ "$(id -u)" -eq 0 ]; then
    SUDO=()
  elif command -v sudo >/dev/null 2>&1; then
    SUDO=(sudo)
  else
    die "missing packages (${missing[*]}) and not root, and sudo is not available"
  fi
  say "system packages: installing ${#missing[@]} missing: ${missing[*]}"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q \
    || die "apt-get update failed"
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]}"
  say "system packages: done"
fi

# --- toolchains (checked, not installed) ------------------------------------------------------
command -v cargo >/dev/null 2>&1 || die "cargo not found: install the Rust toolchain (rustup) first"
command -v node >/dev/null 2>&1 || die "node not found: install Node.js >= 20.19 first"
command -v npm >/dev/null 2>&1 || die "npm not found: install Node.js >= 20.19 (with npm) first"
node_version=$(node -p 'process.versions.node')
node -e '
  const [maj, min] = process.versions.node.split(".").map(Number);
  process.exit(maj > 22 || (maj === 22 && min >= 12) || (maj === 20 && min >= 19) ? 0 : 1);
' || die "Node.js $node_version is too old: Vite needs 20.19+ or 22.12+"
say "toolchains: $(cargo --version | cut -d' ' -f1-2), node $node_version, npm $(npm --version)"

# --- tauri-driver (the WebDriver server tests/desktop/e2e.sh talks to) -------------------------
# cargo installs into $CARGO_HOME/bin (default ~/.cargo/bin), which may not be on PATH in CI.
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
if command -v tauri-driver >/dev/null 2>&1; then
  say "tauri-driver: present ($(command -v tauri-driver))"
elif [ -x "$CARGO_BIN/tauri-driver" ]; then
  say "tauri-driver: present ($CARGO_BIN/tauri-driver; that directory is not on PATH)"
else
  say "tauri-driver: cargo install tauri-driver --locked"
  cargo install tauri-driver --locked || die "cargo install tauri-driver failed"
  say "tauri-driver: done"
fi

# --- npm packages (ui/, tests/e2e/) ------------------------------------------------------------
# One stamp per directory: a fingerprint of package.json, package-lock.json and the Node version,
# written after a successful install.
npm_fingerprint() { # DIR
  { cat "$1/package.json" "$1/package-lock.json"; echo "node $node_version"; } | sha256sum | cut -d' ' -f1
}
npm_install_stamped() { # DIR LABEL
  local dir=$1 label=$2 stamp
  [ -f "$dir/package.json" ] || die "$label/package.json not found"
  [ -f "$dir/package-lock.json" ] || die "$label/package-lock.json not found"
  stamp="$dir/node_modules/.promptdesk-install-stamp"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$(npm_fingerprint "$dir")" ]; then
    say "$label: node_modules up to date with package-lock.json"
  else
    say "$label: npm install"
    # Not `npm ci`: it fails when the registry mirror lacks optional platform packages.
    (cd "$dir" && npm install --no-audit --no-fund) || die "npm install in $label/ failed"
    # npm may normalise the lock file; fingerprint what is there after the install.
    mkdir -p "$dir/node_modules"
    npm_fingerprint "$dir" > "$stamp"
    say "$label: done"
  fi
}
npm_install_stamped "$ROOT/ui" ui
# tests/e2e/ holds the browser suite's packages (and is where desktop tests may add theirs).
if [ -f "$ROOT/tests/e2e/package.json" ]; then
  npm_install_stamped "$ROOT/tests/e2e" tests/e2e
else
  say "tests/e2e: no package.json, nothing to install"
fi

say "ok"
