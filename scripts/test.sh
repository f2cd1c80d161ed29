#!/usr/bin/env bash
# The whole test suite (`npm test`, run by .ci/run): installs what is missing, then lints,
# tests the Rust core on the host and compiled to wasm32, builds the wasm artefacts, runs the
# Node tests against them (workerd, browsers) and a short fuzz smoke.
#
# Every step runs even after an earlier one failed, unless it needs that step's output (the
# Node tests need the build); the summary at the end lists each step with its time, and the
# script exits non-zero if any step failed.
#
#   NODE_TEST_TIMEOUT_MS   per-test timeout for `node --test` (default 120000)
#   BATCHHOOK_TEST_ONLY    space-separated step names to run (e.g. "build node"); default all
set -uo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

suite_start=$SECONDS
summary=()
failed=()

selected() {
  [ -z "${BATCHHOOK_TEST_ONLY:-}" ] || [[ " $BATCHHOOK_TEST_ONLY " == *" $1 "* ]]
}

# step <name> <command…>: runs the command, records status and duration.
step() {
  local name="$1" start rc
  shift
  if ! selected "$name"; then
    return 0
  fi
  echo
  echo "=== test: $name: $*"
  start=$SECONDS
  "$@"
  rc=$?
  local took=$((SECONDS - start))
  if [ $rc -eq 0 ]; then
    summary+=("$(printf '  %-14s ok      %4ss' "$name" "$took")")
  else
    summary+=("$(printf '  %-14s FAILED  %4ss  (exit %s)' "$name" "$took" "$rc")")
    failed+=("$name")
  fi
  return $rc
}

skip() {
  selected "$1" || return 0
  summary+=("$(printf '  %-14s skipped        (%s)' "$1" "$2")")
}

# Each adapter feature alone: the library and its unit tests (`--profile test` checks with
# cfg(test)). Integration tests under tests/ exercise only the core, which the workspace run
# above already covers, so they are not checked again per feature.
clippy_features() {
  local f rc=0
  for f in worker browser verifier; do
    echo "--- clippy --features $f"
    cargo clippy --quiet -p batchhook --lib --profile test --features "$f" -- -D warnings || rc=1
  done
  return $rc
}

node_tests() {
  local files
  mapfile -t files < <(find tests -name '*.test.mjs' -not -path '*/node_modules/*' | sort)
  if [ ${#files[@]} -eq 0 ]; then
    echo "no tests/**/*.test.mjs files"
    return 1
  fi
  # The gateway emulator is built here once, so no test file spends its timeout building it.
  cargo build --quiet -p gateway-emulator || return 1
  node --test --test-timeout="${NODE_TEST_TIMEOUT_MS:-120000}" "${files[@]}"
}

step setup bash scripts/setup.sh || {
  echo "test: setup failed; nothing else can run" >&2
  printf '%s\n' "${summary[@]}"
  exit 1
}
step fmt cargo fmt --all --check
step clippy cargo clippy --quiet --workspace --all-targets -- -D warnings
step clippy-feat clippy_features
step doc env RUSTDOCFLAGS="-D warnings" cargo doc --quiet --workspace --no-deps --all-features
# Feature `verifier` adds the npm verifier's core and raw exports and, on wasm32, its heap: the
# core's unit tests then run on wasm32 with that heap as their global allocator.
step cargo-test cargo test --quiet --workspace --features batchhook/verifier
step wasm-test bash scripts/wasm-cargo.sh test --lib --features verifier
if step build node scripts/build.mjs; then
  step node node_tests
else
  skip node "needs a successful build"
fi
if [ -f scripts/fuzz.sh ]; then
  step fuzz bash scripts/fuzz.sh --smoke
else
  skip fuzz "scripts/fuzz.sh does not exist yet"
fi

total=$((SECONDS - suite_start))
echo
echo "=== test: summary"
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -eq 0 ]; then
  echo "test: PASSED in $((total / 60))m$((total % 60))s"
else
  echo "test: FAILED (${failed[*]}) in $((total / 60))m$((total % 60))s"
  exit 1
fi
