#!/usr/bin/env bash
# bench/explore.sh: what `strata ls` and `strata diff` cost next to `strata inspect`, which also
# decompresses and hashes every layer once (issue 10's targets: ls and diff <= 1.3 x inspect on
# a big image; ls --json of 1 million files in 5 layers under 512 MiB peak RSS, time linear in
# entries).
#
#   bash bench/explore.sh
#
# 1. The realistic image of bench/extract.sh (gen_fs_image.py: 4 gzip layers, ~720 MB, ~22k
#    files, whiteouts, an opaque dir, hardlinks), generated once under $BENCH_DIR (default
#    /tmp/strata-bench-explore; SCALE as in extract.sh) and reused. Best of $RUNS (default 3)
#    wall times for inspect, ls --json, ls --tree, diff --json, waste --json; prints each ratio to
#    inspect, in wall and in CPU time.
# 2. gen_many_files.py images of 100k, 300k and 1M files in 5 uncompressed layers: inspect,
#    ls --json, diff --json and waste --json, wall time, CPU time and peak RSS, and the time per 100k entries at each size
#    (flat when linear).
# Wall time, CPU and peak RSS from GNU time (`/usr/bin/time -f "%e %U %S %M"`). Exits 0 whatever
# the numbers (it is a report); 2 if something failed to run. Not run by CI.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BENCH_DIR=${BENCH_DIR:-/tmp/strata-bench-explore}
SCALE=${SCALE:-1.0}
RUNS=${RUNS:-3}
SIZES=${SIZES:-"100000 300000 1000000"}

die() { echo "bench/explore.sh: $*" >&2; exit 2; }
say() { echo "== $*" >&2; }

[ -x /usr/bin/time ] || die "GNU time (/usr/bin/time) is needed: apt-get install time"
command -v python3 >/dev/null || die "python3 is needed"
mkdir -p "$BENCH_DIR"

if [ -n "${STRATA:-}" ]; then
  [ -x "$STRATA" ] || die "STRATA=$STRATA is not an executable"
else
  say "cargo build --release"
  (cd "$ROOT" && cargo build --release --quiet) || die "building strata failed"
  STRATA=$ROOT/target/release/strata
fi

# measure NAME CMD...: runs CMD (stdout to /dev/null) and prints "wall cpu rss_kib".
measure() {
  /usr/bin/time -o "$BENCH_DIR/time.out" -f "%e %U %S %M" "$@" >/dev/null 2>"$BENCH_DIR/stderr.out" \
    || { cat "$BENCH_DIR/stderr.out" >&2; die "failed: $*"; }
  awk '{ printf "%.3f %.2f %d\n", $1, $2 + $3, $4 }' "$BENCH_DIR/time.out"
}

# best NAME CMD...: the best wall time of $RUNS runs ("wall cpu rss").
best() {
  local b="" r
  for _ in $(seq "$RUNS"); do
    r=$(measure "$@")
    if [ -z "$b" ] || awk -v a="$r" -v b="$b" 'BEGIN { split(a, x); split(b, y); exit !(x[1] < y[1]) }'; then
      b=$r
    fi
  done
  echo "$b"
}

# ---- 1. a realistic image ------------------------------------------------------------------------
IMAGE=$BENCH_DIR/image
params="gen=$(sha256sum "$HERE/gen_fs_image.py" | cut -c1-16) scale=$SCALE"
if [ -d "$IMAGE" ] && [ "$(cat "$BENCH_DIR/image.params" 2>/dev/null)" = "$params" ]; then
  say "reusing $IMAGE"
else
  say "generating $IMAGE (a few minutes)"
  rm -rf "$IMAGE" "$IMAGE.tmp"
  python3 "$HERE/gen_fs_image.py" "$IMAGE" --scale "$SCALE" >/dev/null || die "gen_fs_image.py failed"
  echo "$params" >"$BENCH_DIR/image.params"
fi
entries=$("$STRATA" ls --json "$IMAGE" | grep -c '"path"') || die "strata ls failed on $IMAGE"
say "timing on $IMAGE ($entries paths in the merged tree)"
base=$(best "$STRATA" inspect "$IMAGE")
# The ratios are given in wall time and in CPU time (user + sys): on a loaded machine the CPU
# ratio is the steadier one.
printf '%-22s %8s %8s %9s %8s %8s\n' command wall cpu "rss MiB" "/inspect" "cpu/insp"
printf '%-22s %8s %8s %9s %8s %8s\n' "inspect" $(awk '{ print $1, $2, int($3 / 1024), "1.00", "1.00" }' <<<"$base")
for cmd in "ls --json" "ls --tree" "diff --json" "waste --json"; do
  # shellcheck disable=SC2086
  r=$(best "$STRATA" $cmd "$IMAGE")
  printf '%-22s %8s %8s %9s %8s %8s\n' "$cmd" $(awk -v b="$base" '{ split(b, x); printf "%s %s %d %.2f %.2f", $1, $2, $3 / 1024, $1 / x[1], $2 / x[2] }' <<<"$r")
done
echo "target: ls, diff and waste <= 1.30 x inspect"

# ---- 2. many files -----------------------------------------------------------------------------
echo
printf '%-9s %-12s %8s %8s %9s %14s\n' files command wall cpu "rss MiB" "s / 100k paths"
for n in $SIZES; do
  img=$BENCH_DIR/many-$n.tar
  if [ ! -f "$img" ] || [ "$(cat "$img.params" 2>/dev/null)" != "$(sha256sum "$HERE/gen_many_files.py" | cut -c1-16)" ]; then
    say "generating $img"
    python3 "$HERE/gen_many_files.py" "$img.tmp" "$n" 5 || die "gen_many_files.py failed"
    mv "$img.tmp" "$img"
    sha256sum "$HERE/gen_many_files.py" | cut -c1-16 >"$img.params"
  fi
  for cmd in "inspect" "ls --json" "diff --json" "waste --json"; do
    # shellcheck disable=SC2086
    r=$(best "$STRATA" $cmd "$img")
    printf '%-9s %-12s %8s %8s %9s %14s\n' "$n" "$cmd" $(awk -v n="$n" '{ printf "%s %s %d %.3f", $1, $2, $3 / 1024, $1 / n * 100000 }' <<<"$r")
  done
done
echo "target: ls --json of 1M files <= 512 MiB peak RSS; s / 100k paths about flat (linear)"
