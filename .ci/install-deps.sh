#!/usr/bin/env bash
# Installs what building and testing the Promptdesk desktop app needs on Debian 12:
# the Tauri 2 build packages, the packages the desktop smoke test uses, and ui/'s npm packages.
#
# Idempotent: apt-get runs only when a package is missing, and `npm install` only when
# ui/package.json or ui/package-lock.json changed since the last successful install.
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
)
# Running the app headless and checking it: tests/desktop/smoke.sh, and browser tests later.
TEST_PACKAGES=(
  xvfb xauth dbus dbus-x11 imagemagick xdotool x11-utils chromium fonts-dejavu-core
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

# --- ui/ npm packages --------------------------------------------------------------------------
UI="$ROOT/ui"
[ -f "$UI/package-lock.json" ] || die "ui/package-lock.json not found"
STAMP="$UI/node_modules/.promptdesk-install-stamp"
fingerprint() {
  { cat "$UI/package.json" "$UI/package-lock.json"; echo "node $node_version"; } | sha256sum | cut -d' ' -f1
}
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(fingerprint)" ]; then
  say "ui: node_modules up to date with package-lock.json"
else
  say "ui: npm install"
  (cd "$UI" && npm install --no-audit --no-fund) || die "npm install in ui/ failed"
  # npm may normalise the lock file; fingerprint what is there after the install.
  fingerprint > "$STAMP"
  say "ui: done"
fi

say "ok"
