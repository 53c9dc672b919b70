#!/usr/bin/env bash
# The fuzzing campaign: runs each target in turn (never two at once: one libFuzzer process,
# in-process, no -jobs/-workers forks) for a time or a number of executions, then prints per
# target the executions, libFuzzer's final coverage (`cov`: edges, `ft`: features) and the
# crashes saved under fuzz/artifacts/<target>/.
#
#   fuzz/run.sh [-t SECONDS | -n RUNS] [TARGET...]     (default: -t 300, every target)
#
# FUZZ_SANITIZER=none builds without AddressSanitizer (cargo fuzz's default): strata has no
# unsafe code on the paths these targets reach, and they run about 3 times as many inputs a second
# without it, which is what a long campaign needs; the smoke keeps ASan.
#
# New inputs go to fuzz/corpus/<target>/ (committed, minimized with `cargo fuzz cmin`); the
# seeds made by make_seeds.py from testdata/ and ../shared/corpus are read from fuzz/seeds/.
# Logs: fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")"

secs=300
runs=""
while getopts "t:n:" o; do
  case $o in
    t) secs=$OPTARG ;;
    n) runs=$OPTARG ;;
    *) echo "usage: $0 [-t SECONDS | -n RUNS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(rule_engine extract_image archive_readers targuard history)

# Per-target limits: input size, time per input, memory (targuard must stay bounded whatever
# a header claims, so it gets a malloc limit too). Leak checks are off: a layer-reading thread
# that outlives a refused extraction (src/extract/pipe.rs) is reported as a leak, which is
# not what these targets look for.
opts_of() {
  case $1 in
    archive_readers) echo "-max_len=65536 -timeout=20 -rss_limit_mb=2048" ;;
    extract_image) echo "-max_len=65536 -timeout=20 -rss_limit_mb=2048" ;;
    targuard) echo "-max_len=16384 -timeout=20 -rss_limit_mb=1024 -malloc_limit_mb=512" ;;
    rule_engine) echo "-max_len=512 -len_control=20 -timeout=20 -rss_limit_mb=2048" ;;
    history) echo "-max_len=4096 -timeout=10 -rss_limit_mb=1024" ;;
    *) echo "unknown target $1" >&2; exit 2 ;;
  esac
}

if [ ! -d seeds ] && command -v python3 >/dev/null; then
  python3 make_seeds.py >/dev/null
fi
san=${FUZZ_SANITIZER:-address}
cargo +nightly fuzz build -O -s "$san"
mkdir -p logs

summary=()
for t in "${targets[@]}"; do
  mkdir -p "corpus/$t" "artifacts/$t"
  dirs=("corpus/$t")
  [ -d "seeds/$t" ] && dirs+=("seeds/$t")
  limit="-max_total_time=$secs"
  [ -n "$runs" ] && limit="-runs=$runs"
  before=$(find "artifacts/$t" -type f | wc -l)
  echo "== $t ($limit)" >&2
  # shellcheck disable=SC2046
  cargo +nightly fuzz run -O -s "$san" "$t" "${dirs[@]}" -- $(opts_of "$t") $limit \
    -detect_leaks=0 -print_final_stats=1 >"logs/$t.log" 2>&1 || true
  execs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "logs/$t.log" | tail -1 | grep -o '[0-9]*$' || echo "?")
  last=$(grep -E '^#[0-9]+' "logs/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo "?")
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | grep -o '[0-9]*' || echo "?")
  crashes=$(( $(find "artifacts/$t" -type f | wc -l) - before ))
  summary+=("$(printf '%-16s execs %-10s cov %-6s ft %-7s new crashes %s' "$t" "$execs" "$cov" "$ft" "$crashes")")
  echo "${summary[-1]}" >&2
done
echo
printf '%s\n' "${summary[@]}"
