#!/usr/bin/env bash
# Runs `cargo <subcommand> [args…]` for wasm32-unknown-unknown, in target/wasm.
#
# Two toolchain paths, chosen per machine:
# - rustup's wasm32-unknown-unknown target is installed (a normal developer machine): plain
#   `cargo <sub> --target wasm32-unknown-unknown`.
# - it is not (machines that reach only the package registries): Debian's `rustc-web` compiles
#   std from `rust-web-src` (`-Z build-std`, unlocked with RUSTC_BOOTSTRAP because Debian's rustc
#   is a stable build) and `rust-lld` links. rustup's own rustc cannot build Debian's std source,
#   so RUSTC/RUSTDOC point at Debian's binaries while cargo stays the host's.
#
# Environment (each setting gets its own target dir, so switching does not rebuild the other):
#   BATCHHOOK_WASM_SIMD=1   compile with `-C target-feature=+simd128` (std included).
#   BATCHHOOK_WASM_OPT_LEVEL=<level>  the release profile's opt-level (std included on the
#                           build-std path), e.g. `s` for the verifier entry.
#   BATCHHOOK_WASM_IMMEDIATE_ABORT=1  on the build-std path only, `-C panic=immediate-abort`
#                           (std included): a panic traps without formatting a message, which
#                           drops the panic machinery from small entries. The rustup path cannot
#                           pass -Z flags to stable rustc and ignores this.
# `scripts/wasm-cargo.sh --which` prints the path this machine uses (rustup | debian-build-std);
# `scripts/wasm-cargo.sh --target-dir` the target dir the current environment builds into.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
target=wasm32-unknown-unknown

rustup_has_target() {
  local libdir
  libdir="$(rustc --print target-libdir --target "$target" 2>/dev/null)" || return 1
  compgen -G "$libdir/libcore-*.rlib" >/dev/null
}

# The linker rustup ships next to the host toolchain, or Debian's (package rust-web-llvm).
find_rust_lld() {
  local sysroot
  if sysroot="$(rustc --print sysroot 2>/dev/null)" &&
    [ -x "$sysroot/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld" ]; then
    echo "$sysroot/lib/rustlib/x86_64-unknown-linux-gnu/bin/rust-lld"
  elif command -v rust-lld >/dev/null; then
    command -v rust-lld
  else
    echo "wasm-cargo: no rust-lld found (install rustup's stable toolchain or Debian's rust-web-llvm)" >&2
    return 1
  fi
}

if rustup_has_target; then
  path=rustup
else
  path=debian-build-std
fi

dir="$root/target/wasm"
flags=""
if [ "${BATCHHOOK_WASM_SIMD:-0}" = "1" ]; then
  dir="$root/target/wasm-simd"
  flags="-C target-feature=+simd128"
fi
if [ -n "${BATCHHOOK_WASM_OPT_LEVEL:-}" ]; then
  dir="$dir-opt-$BATCHHOOK_WASM_OPT_LEVEL"
  export CARGO_PROFILE_RELEASE_OPT_LEVEL="$BATCHHOOK_WASM_OPT_LEVEL"
fi
if [ "${BATCHHOOK_WASM_IMMEDIATE_ABORT:-0}" = "1" ] && [ "$path" = debian-build-std ]; then
  dir="$dir-immediate-abort"
  flags="$flags -Zunstable-options -Cpanic=immediate-abort"
fi

if [ "${1:-}" = "--which" ]; then
  echo "$path"
  exit 0
fi
if [ "${1:-}" = "--target-dir" ]; then
  echo "$dir"
  exit 0
fi
if [ $# -lt 1 ]; then
  echo "usage: scripts/wasm-cargo.sh <cargo subcommand> [args…]" >&2
  exit 2
fi

sub="$1"
shift

export CARGO_TARGET_DIR="$dir"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUNNER:-wasm-bindgen-test-runner}"
if [ -n "$flags" ]; then
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$flags"
fi

cd "$root"
if [ "$path" = rustup ]; then
  exec cargo "$sub" --target "$target" "$@"
fi

if [ ! -x /usr/bin/rustc ] || [ ! -d /usr/lib/rustlib/src/rust/library ]; then
  echo "wasm-cargo: Debian rustc-web/rust-web-src missing; run scripts/setup.sh first" >&2
  exit 1
fi
export RUSTC=/usr/bin/rustc
export RUSTDOC=/usr/bin/rustdoc
export RUSTC_BOOTSTRAP=1
CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER="$(find_rust_lld)"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_LINKER
exec cargo "$sub" --target "$target" -Z build-std=std,panic_abort "$@"
