#!/usr/bin/env bash
# CI's fuzz smoke: replays every input of the saved corpus (fuzz/corpus/<target>/, `-runs=0`)
# and the crash inputs kept in fuzz/regressions/,
# then fuzzes each target for a short while (default 20 s; at most 30) starting from it. New
# inputs and crash files go to a temp dir, so the checkout is left as it was. Exits non-zero
# when replaying the saved corpus or a kept regression crashes (that is a regression). A crash
# that the short random run happens to find is new, not a regression: it is printed as FOUND
# with its input on stderr, and fails the run only with FUZZ_SMOKE_STRICT=1 (a random search
# must not make CI flaky). Exits 0 with a note on stderr when there is no nightly toolchain
# (libFuzzer instrumentation needs one).
#
#   fuzz/smoke.sh [SECONDS_PER_TARGET]
set -euo pipefail
cd "$(dirname "$0")"

secs=${1:-20}
[ "$secs" -le 30 ] || secs=30
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz smoke skipped: no nightly toolchain (rustup toolchain list shows none)" >&2
  exit 0
fi
if ! cargo +nightly fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked
fi
cargo +nightly fuzz build -O

scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
status=0
for t in rule_engine extract_image archive_readers targuard history; do
  # cargo fuzz builds under CARGO_TARGET_DIR when it is set (an absolute path), else fuzz/target.
  tdir=${CARGO_TARGET_DIR:-target}
  bin=$tdir/x86_64-unknown-linux-gnu/release/$t
  [ -x "$bin" ] || bin=$(find "$tdir" -path "*/release/$t" -type f | head -1)
  mkdir -p "corpus/$t" "$scratch/$t" "$scratch/artifacts-$t"
  # Leaks off, as in run.sh.
  common=(-artifact_prefix="$scratch/artifacts-$t/" -rss_limit_mb=2048 -timeout=20 -detect_leaks=0)
  [ "$t" = targuard ] && common+=(-malloc_limit_mb=512)
  n=$(find "corpus/$t" -type f | wc -l)
  # The saved corpus, and the crash inputs kept under regressions/ (named TARGET-what-broke).
  regressions=()
  for f in regressions/"$t"-*; do
    [ -e "$f" ] && regressions+=("$f")
  done
  if ! { "$bin" "${common[@]}" -runs=0 "corpus/$t" &&
    { [ ${#regressions[@]} -eq 0 ] || "$bin" "${common[@]}" "${regressions[@]}"; }; } \
    >"$scratch/$t.replay.log" 2>&1; then
    echo "FAIL $t: replaying the saved corpus crashed:" >&2
    tail -40 "$scratch/$t.replay.log" >&2
    status=1
    continue
  fi
  if ! "$bin" "${common[@]}" -max_len=65536 -max_total_time="$secs" -print_final_stats=1 \
    "$scratch/$t" "corpus/$t" >"$scratch/$t.log" 2>&1; then
    echo "FOUND $t: a new crash in $secs s of fuzzing (keep the input below as a regression):" >&2
    tail -40 "$scratch/$t.log" >&2
    for a in "$scratch/artifacts-$t"/*; do
      [ -e "$a" ] && { echo "input $a (base64):" >&2; base64 -w0 "$a" >&2; echo >&2; }
    done
    [ "${FUZZ_SMOKE_STRICT:-0}" = 1 ] && status=1
    continue
  fi
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "$scratch/$t.log" | grep -o '[0-9]*$' || echo "?")
  cov=$(grep -E '^#[0-9]+' "$scratch/$t.log" | tail -1 | grep -o 'cov: [0-9]* ft: [0-9]*' || echo "cov: ?")
  echo "ok $t: corpus of $n and ${#regressions[@]} regression input(s) replayed; $execs execs in ${secs}s, $cov"
done
exit $status
