#!/usr/bin/env bash
# Brings a machine to the point where `npm run build`, `npm start` and `npm test` work.
#
# Idempotent and quick when everything is present: each step prints one line saying whether it
# was skipped (with the reason) or what it installed. Installs come only from package registries
# (Debian apt, crates.io through `cargo install`, npm through `npm ci`); nothing downloads a
# prebuilt binary from anywhere else. Runs unattended (CI=true, no stdin), as root or through
# `sudo -n` for apt.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"

say() { printf 'setup: %-16s %s\n' "$1" "$2"; }
die() {
  printf 'setup: %-16s FAILED: %s\n' "$1" "$2" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then
    "$@"
  elif command -v sudo >/dev/null; then
    sudo -n "$@"
  else
    return 1
  fi
}

apt_updated=0
apt_install() {
  command -v apt-get >/dev/null || return 1
  if [ "$apt_updated" = 0 ]; then
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq </dev/null >/dev/null || return 1
    apt_updated=1
  fi
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" \
    </dev/null >/dev/null
}

# 1. Host Rust: cargo must exist; we never fetch rustup ourselves.
step_rust() {
  command -v cargo >/dev/null ||
    die rust "cargo not found: install Rust (rustup, or Debian's cargo package) and rerun"
  say rust "skipped ($(cargo --version | cut -d' ' -f1-2) present)"
}

# 2. A way to compile to wasm32: rustup's target if installed, else Debian's rustc + std source.
step_wasm_toolchain() {
  if [ "$(bash scripts/wasm-cargo.sh --which)" = rustup ]; then
    say wasm-toolchain "skipped (rustup target wasm32-unknown-unknown installed)"
    return
  fi
  if [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ] &&
    { [ -x /usr/bin/rust-lld ] || [ -x "$(rustc --print sysroot)/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld" ]; }; then
    say wasm-toolchain "skipped (Debian $(/usr/bin/rustc --version | cut -d' ' -f1-2) + std source present)"
    return
  fi
  apt_install rustc-web rust-web-src rust-web-llvm ||
    die wasm-toolchain "need rustup's wasm32-unknown-unknown target, or apt packages rustc-web rust-web-src rust-web-llvm (apt failed)"
  say wasm-toolchain "installed Debian rustc-web + rust-web-src ($(/usr/bin/rustc --version | cut -d' ' -f2))"
}

# 3. wasm-bindgen CLI at exactly the version of the wasm-bindgen crate in Cargo.lock: the CLI
#    and the crate must agree on the ABI they generate.
step_wasm_bindgen() {
  local want have
  want="$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
  [ -n "$want" ] || die wasm-bindgen "no wasm-bindgen entry in Cargo.lock"
  have="$(wasm-bindgen --version 2>/dev/null | cut -d' ' -f2 || true)"
  if [ "$have" = "$want" ] && wasm-bindgen-test-runner --version >/dev/null 2>&1; then
    say wasm-bindgen "skipped ($want present)"
    return
  fi
  # Without --locked: the CLI's own lockfile pins crates the registry no longer resolves.
  cargo install --quiet wasm-bindgen-cli --version "=$want" </dev/null ||
    die wasm-bindgen "cargo install wasm-bindgen-cli --version =$want failed"
  say wasm-bindgen "installed wasm-bindgen-cli $want"
}

# 4. Headless Chromium for the page tests (Debian's package; playwright-core drives it).
step_chromium() {
  if [ -x /usr/bin/chromium ] || command -v chromium >/dev/null; then
    say chromium "skipped (present)"
    return
  fi
  if apt_install chromium; then
    say chromium "installed Debian chromium"
  else
    say chromium "NOT installed (no apt or no root): page tests will be skipped"
  fi
}

# 5. npm dev dependencies, reinstalled only when package-lock.json changed since the last `npm ci`.
step_npm() {
  local major stamp want
  major="$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo 0)"
  [ "$major" -ge 20 ] || die node "Node.js >= 20 required (found $(node --version 2>/dev/null || echo none))"
  stamp=node_modules/.batchhook-lock.sha256
  want="$(sha256sum package-lock.json | cut -d' ' -f1)"
  if [ -d node_modules ] && [ "$(cat "$stamp" 2>/dev/null)" = "$want" ]; then
    say npm "skipped (node_modules matches package-lock.json)"
    return
  fi
  npm ci --no-audit --no-fund --loglevel=error </dev/null >/dev/null || die npm "npm ci failed"
  echo "$want" >"$stamp"
  say npm "installed (npm ci)"
}

step_rust
step_wasm_toolchain
step_wasm_bindgen
step_chromium
step_npm
