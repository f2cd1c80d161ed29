#!/usr/bin/env bash
# Fuzz every cargo-fuzz target in fuzz/ for a bounded time each, then print executions per
# target. No input may panic; a crash fails the run and its input is kept in fuzz/artifacts/.
#
#   bash scripts/fuzz.sh                  # 60 s per target (npm run fuzz)
#   bash scripts/fuzz.sh 300              # 300 s per target
#   bash scripts/fuzz.sh --smoke          # 5 s per target (part of npm test)
#   bash scripts/fuzz.sh 30 list_query    # only the named targets
#   FUZZ_SECONDS=120 FUZZ_SANITIZER=address bash scripts/fuzz.sh
#
# Targets are whatever `cargo fuzz list` reports (the [[bin]] entries of fuzz/Cargo.toml).
# Seeds: tests/fixtures/batch for batch_object, tests/fixtures/event for event_payload, and
# fuzz/seeds/<target>/ for any target that has it. Dictionaries: fuzz/dicts/<target>.dict
# (the two JSON targets share fuzz/dicts/json.dict). The sanitizer defaults to none: it builds on
# stable and runs 2-3x faster; FUZZ_SANITIZER=address adds AddressSanitizer.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds="${FUZZ_SECONDS:-60}"
targets=()
for arg in "$@"; do
  case "$arg" in
    --smoke) seconds="${FUZZ_SMOKE_SECONDS:-5}" ;;
    -h|--help) sed -n '2,17p' "$0"; exit 0 ;;
    ''|*[!0-9]*) targets+=("$arg") ;;
    *) seconds="$arg" ;;
  esac
done
if [ "$seconds" -lt 1 ]; then
  echo "fuzz.sh: the time per target must be at least 1 second" >&2
  exit 2
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz (once, ~2 min)" >&2
  cargo install cargo-fuzz
fi

# cargo-fuzz passes -Z flags to rustc; allow them on the stable toolchain.
export RUSTC_BOOTSTRAP=1
sanitizer="${FUZZ_SANITIZER:-none}"

if [ "${#targets[@]}" -eq 0 ]; then
  mapfile -t targets < <(cd fuzz && cargo fuzz list)
fi

seed_dirs() {
  case "$1" in
    batch_object) echo "tests/fixtures/batch" ;;
    event_payload) echo "tests/fixtures/event" ;;
  esac
  if [ -d "fuzz/seeds/$1" ]; then echo "fuzz/seeds/$1"; fi
}

dict_for() {
  case "$1" in
    batch_object|event_payload) echo "fuzz/dicts/json.dict" ;;
    *) if [ -f "fuzz/dicts/$1.dict" ]; then echo "fuzz/dicts/$1.dict"; fi ;;
  esac
}

echo "fuzz.sh: building ${#targets[@]} target(s) (sanitizer: $sanitizer)" >&2
for target in "${targets[@]}"; do
  (cd fuzz && cargo fuzz build --sanitizer "$sanitizer" "$target")
done

mkdir -p fuzz/artifacts/logs
summary=()
failed=0
for target in "${targets[@]}"; do
  corpus="fuzz/corpus/$target"
  mkdir -p "$corpus" "fuzz/artifacts/$target"
  log="fuzz/artifacts/logs/$target.log"
  args=(-max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1)
  dict="$(dict_for "$target")"
  if [ -n "$dict" ]; then args+=(-dict="$PWD/$dict"); fi
  mapfile -t seeds < <(seed_dirs "$target")
  abs_seeds=()
  for dir in "${seeds[@]}"; do abs_seeds+=("$PWD/$dir"); done
  echo "fuzz.sh: $target for ${seconds}s" >&2
  status=ok
  if ! (cd fuzz && cargo fuzz run --sanitizer "$sanitizer" "$target" "$PWD/../$corpus" "${abs_seeds[@]}" -- "${args[@]}") >"$log" 2>&1; then
    status=CRASH
    failed=1
    tail -n 40 "$log" >&2
  fi
  runs="$(grep -Eo 'Done [0-9]+ runs' "$log" | tail -n1 | grep -Eo '[0-9]+' || true)"
  if [ -z "$runs" ]; then
    runs="$(grep -Eo 'stat::number_of_executed_units: *[0-9]+' "$log" | grep -Eo '[0-9]+$' | tail -n1 || true)"
  fi
  runs="${runs:-?}"
  rate="?"
  if [ "$runs" != "?" ]; then rate=$(( runs / seconds )); fi
  summary+=("$(printf '%-16s %8ss %14s %10s  %s' "$target" "$seconds" "$runs" "$rate" "$status")")
done

printf '%-16s %9s %14s %10s  %s\n' target time executions exec/s result
printf '%s\n' "${summary[@]}"
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: a target crashed; the input is in fuzz/artifacts/<target>/ and the log in fuzz/artifacts/logs/" >&2
  exit 1
fi
