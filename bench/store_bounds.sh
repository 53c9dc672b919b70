#!/usr/bin/env bash
# bench/store_bounds.sh: the rows of issue 8 section 5, measured (as root).
#
#   bash bench/store_bounds.sh                 # builds strata --release from the work tree
#   STRATA=/path/to/strata bash bench/store_bounds.sh
#
# Images come from bench/gen_bounds_image.py (Python 3 + the zstd command) under
# ${BENCH_DIR:-/tmp/strata-bench-bounds}; stores on disk there, the bomb onto a 2 GiB tmpfs.
# Prints one line per row; exits 0 whatever the numbers, 2 if a step could not run.
set -uo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BENCH_DIR=${BENCH_DIR:-/tmp/strata-bench-bounds}
if [ -z "${STRATA:-}" ]; then
  (cd "$ROOT" && cargo build --release -q) || exit 2
  STRATA=${CARGO_TARGET_DIR:-$ROOT/target}/release/strata
fi
[ "$(id -u)" = 0 ] || { echo "needs root (overlayfs, tmpfs)" >&2; exit 2; }
mkdir -p "$BENCH_DIR"
GEN="python3 $HERE/gen_bounds_image.py"
W=$BENCH_DIR/work
MNT=$W/mnt

cleanup() {
  umount "$MNT" 2>/dev/null
  umount "$W/small" 2>/dev/null
  rm -rf "$W"
}
trap cleanup EXIT

image() { # NAME ARGS...: generates once
  local name=$1; shift
  [ -e "$BENCH_DIR/$name.tar" ] || $GEN "$BENCH_DIR/$name.tar" "$@" || exit 2
  echo "$BENCH_DIR/$name.tar"
}

fresh() { cleanup; mkdir -p "$MNT"; }

# measure CMD...: sets SECS, RSS_MIB, RC, ERR (last stderr line that is not time's)
measure() {
  /usr/bin/time -f "%e %M" -o "$W/time" "$@" >"$W/out" 2>"$W/err"
  RC=$?
  read -r SECS RSS_KIB < <(tail -1 "$W/time")
  RSS_MIB=$((RSS_KIB / 1024))
  ERR=$(grep -v '^Command exited' "$W/err" | tail -2 | tr '\n' ' ')
}

human() { du -h "$1" | cut -f1; }

echo "strata: $STRATA ($(uname -r), $(nproc) cores)"
printf '%-58s | %s\n' "image" "mount (this branch)"
printf '%-58s-+-%s\n' "$(printf -- '-%.0s' {1..58})" "------------------------------------------"

# 1. Long-path whiteouts: peak RSS.
for n in 4 12; do
  img=$(image "longpath-$n" longpath "$n" 60000)
  fresh
  measure "$STRATA" mount "$img" "$MNT" --store "$W/store"
  umount "$MNT" 2>/dev/null
  printf '%-58s | rc %s, %.1f s, peak RSS %s MiB\n' \
    "$n layers x 60k long-path whiteouts, one blob ($(human "$img"))" "$RC" "$SECS" "$RSS_MIB"
done

# 2. 300 layers x 100k whiteouts: mount against extract.
img=$(image wide-300 wide 300 100000 100000)
fresh
measure "$STRATA" extract "$img" "$W/extracted"
ext=$SECS
fresh
measure "$STRATA" mount "$img" "$MNT" --store "$W/store"
umount "$MNT" 2>/dev/null
printf '%-58s | rc %s, %.2f s, extract %.2f s (%.1fx)\n' \
  "300 layers, top whites out 100k base files ($(human "$img"))" "$RC" "$SECS" "$ext" \
  "$(python3 -c "print($SECS / max($ext, 0.001))")"
img=$(image wide-300-absent wide 300 100000)
fresh
measure "$STRATA" extract "$img" "$W/extracted"
ext=$SECS
fresh
measure "$STRATA" mount "$img" "$MNT" --store "$W/store"
umount "$MNT" 2>/dev/null
printf '%-58s | rc %s, %.2f s, extract %.2f s (%.1fx)\n' \
  "300 layers, top has 100k whiteouts of absent names ($(human "$img"))" "$RC" "$SECS" "$ext" \
  "$(python3 -c "print($SECS / max($ext, 0.001))")"

# 3. 500 layers under ulimit -n 1024.
img=$(image many-500 many 500)
fresh
measure prlimit --nofile=1024 -- "$STRATA" mount "$img" "$MNT" --store "$W/store"
umount "$MNT" 2>/dev/null
printf '%-58s | rc %s, %.2f s %s\n' "500 layers, ulimit -n 1024 ($(human "$img"))" "$RC" "$SECS" \
  "$([ "$RC" = 0 ] || echo "$ERR")"

# 3b. 3000 layers: refused before anything is unpacked.
img=$(image many-3000 many 3000)
fresh
measure "$STRATA" mount "$img" "$MNT" --store "$W/store"
umount "$MNT" 2>/dev/null
stored=$(ls "$W/store/layers/sha256" 2>/dev/null | wc -l)
printf '%-58s | rc %s, %.2f s, %s layer(s) unpacked: %s\n' "3000 layers ($(human "$img"))" \
  "$RC" "$SECS" "$stored" "$ERR"

# 4. An 11,400-deep tree in a layer, then store prune (descriptors limited to 1024).
img=$(image many-1 many 1)
fresh
"$STRATA" mount "$img" "$MNT" --store "$W/store" >/dev/null 2>&1
"$STRATA" umount "$MNT" --store "$W/store" >/dev/null 2>&1
layer=$(ls -d "$W"/store/layers/sha256/*/diff | head -1)
python3 - "$layer" <<'PY'
import os, sys
fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
for _ in range(11400):
    os.mkdir("d", dir_fd=fd)
    nfd = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
    os.close(fd)
    fd = nfd
PY
measure prlimit --nofile=1024 -- "$STRATA" store prune --store "$W/store"
left=$(ls "$W/store/layers/sha256" 2>/dev/null | wc -l)
printf '%-58s | rc %s, %.2f s, %s layer(s) left %s\n' "11,400-deep tree, then store prune" \
  "$RC" "$SECS" "$left" "$([ "$RC" = 0 ] || echo "$ERR")"

# 5. zstd bomb: one 4 GiB file of zeros, onto a 2 GiB tmpfs.
img=$(image bomb bomb 4096)
for what in extract "extract --tar" mount; do
  fresh
  mkdir -p "$W/small" && mount -t tmpfs -o size=2g tmpfs "$W/small"
  case $what in
    extract) measure "$STRATA" extract "$img" "$W/small/out" ;;
    "extract --tar") measure "$STRATA" extract "$img" "$W/small/out.tar" --tar ;;
    mount) measure "$STRATA" mount "$img" "$MNT" --store "$W/small/store"; umount "$MNT" 2>/dev/null ;;
  esac
  used=$(du -sm "$W/small" | cut -f1)
  free=$(df -m --output=avail "$W/small" | tail -1 | tr -d ' ')
  printf '%-58s | rc %s, %.2f s, %s MiB left behind, %s MiB free: %s\n' \
    "zstd bomb $(human "$img") -> 4 GiB, $what on 2 GiB tmpfs" "$RC" "$SECS" "$used" "$free" "$ERR"
  umount "$W/small"
done
