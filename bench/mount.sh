#!/usr/bin/env bash
# bench/mount.sh: the cost of `strata mount`, first time (layers unpacked into the store) and
# again (layers already there), next to `strata extract` of the same image.
#
# Uses the image bench/extract.sh generates (run that first, or set IMAGE to any image archive
# or layout). Targets: a mount whose layers are already in the store <= 50 ms; the first mount
# no slower than extract. Store, mountpoint and extract destination are on /dev/shm. Run as root:
#   bash bench/mount.sh
# Environment: STRATA (binary, default: release build), IMAGE, RUNS (default 5).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
IMAGE=${IMAGE:-/tmp/strata-bench-extract/image}
RUNS=${RUNS:-5}
if [ -z "${STRATA:-}" ]; then
  (cd "$ROOT" && cargo build --release -q)
  STRATA=$ROOT/target/release/strata
fi
[ -e "$IMAGE" ] || { echo "no image at $IMAGE: run bench/extract.sh first or set IMAGE" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "mounting needs root" >&2; exit 2; }

WORK=$(mktemp -d /dev/shm/strata-bench-mount.XXXXXX)
trap 'umount -l "$WORK/mnt" 2>/dev/null || true; rm -rf "$WORK"' EXIT
mkdir -p "$WORK/mnt"

now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.3f}')" "$1" "$2"; }

best_extract=
for _ in $(seq "$RUNS"); do
  rm -rf "$WORK/extract"
  t0=$(now); "$STRATA" extract "$IMAGE" "$WORK/extract" >/dev/null; t1=$(now)
  e=$(elapsed "$t0" "$t1")
  best_extract=$(python3 -c "import sys; a=sys.argv[1]; print(min(float(x) for x in [a, sys.argv[2]] if x))" "$best_extract" "$e")
done
rm -rf "$WORK/extract"

best_first=
for _ in $(seq "$RUNS"); do
  rm -rf "$WORK/store"
  t0=$(now); "$STRATA" mount --store "$WORK/store" "$IMAGE" "$WORK/mnt" >/dev/null; t1=$(now)
  "$STRATA" umount --store "$WORK/store" "$WORK/mnt" >/dev/null
  e=$(elapsed "$t0" "$t1")
  best_first=$(python3 -c "import sys; a=sys.argv[1]; print(min(float(x) for x in [a, sys.argv[2]] if x))" "$best_first" "$e")
done

best_again=
for _ in $(seq "$RUNS"); do
  t0=$(now); "$STRATA" mount --store "$WORK/store" "$IMAGE" "$WORK/mnt" >/dev/null; t1=$(now)
  "$STRATA" umount --store "$WORK/store" "$WORK/mnt" >/dev/null
  e=$(elapsed "$t0" "$t1")
  best_again=$(python3 -c "import sys; a=sys.argv[1]; print(min(float(x) for x in [a, sys.argv[2]] if x))" "$best_again" "$e")
done

python3 - "$best_extract" "$best_first" "$best_again" <<'PY'
import sys
extract, first, again = map(float, sys.argv[1:])
print(f"strata extract                 {extract:7.3f} s")
print(f"strata mount, first time       {first:7.3f} s   (unpacks every layer into the store)")
print(f"strata mount, layers present   {again*1000:7.1f} ms")
ok = lambda b: "PASS" if b else "FAIL"
print(f"mount again <= 50 ms           {ok(again <= 0.050)}")
print(f"first mount <= extract ({first/extract:.2f}x)  {ok(first <= extract * 1.05)}  (5% noise allowance)")
PY
