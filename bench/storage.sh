#!/usr/bin/env bash
# bench/storage.sh: what `strata storage check` and `strata history docker-root:` cost on a real
# Docker data root (issue 12's targets: storage check <= 1.3 x reading the same files once with
# `find overlay2 -type f -exec cat {} + >/dev/null`, <= 0.5 x GNU sha256sum over them; history of
# a loaded image <= 50 ms, no layer read).
#
#   bash bench/storage.sh [ARCHIVE...]
#
# Starts a private dockerd on a temp data root (as tests/docker_root.rs does), `docker load`s the
# ARCHIVEs (default: every docker-save archive of ../shared/corpus, plus generated images from
# bench/gen_many_files.py converted to docker save when BIG=1), stops the daemon, then times, best
# of $RUNS (default 3), page cache warm: storage check, the cat baseline, sha256sum, and history.
# Needs root, dockerd (Debian's docker.io) and GNU time. Not run by CI.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
RUNS=${RUNS:-3}
die() { echo "bench/storage.sh: $*" >&2; exit 2; }
say() { echo "== $*" >&2; }
[ "$(id -u)" = 0 ] || die "run as root (dockerd)"
command -v dockerd >/dev/null || die "dockerd not installed (apt-get install docker.io)"
[ -x /usr/bin/time ] || die "GNU time needed (apt-get install time)"

if [ -n "${STRATA:-}" ]; then
  [ -x "$STRATA" ] || die "STRATA=$STRATA is not an executable"
else
  (cd "$ROOT" && cargo build --release --quiet) || die "building strata failed"
  STRATA=$ROOT/target/release/strata
fi

work=$(mktemp -d /tmp/strata-bench-storage.XXXXXX)
data=$work/root
sock=$work/docker.sock
cleanup() {
  [ -f "$work/pid" ] && kill "$(cat "$work/pid")" 2>/dev/null && sleep 2
  rm -rf "$work"
}
trap cleanup EXIT
[ -n "${KEEP:-}" ] && trap - EXIT
dockerd --data-root "$data" --exec-root "$work/exec" --host "unix://$sock" --pidfile "$work/pid" \
  --storage-driver overlay2 --iptables=false --ip6tables=false --bridge=none --ip-masq=false \
  >"$work/dockerd.log" 2>&1 &
for _ in $(seq 60); do docker -H "unix://$sock" version >/dev/null 2>&1 && break; sleep 0.5; done
docker -H "unix://$sock" version >/dev/null 2>&1 || { tail "$work/dockerd.log" >&2; die "dockerd did not start"; }

archives=("$@")
if [ ${#archives[@]} -eq 0 ]; then
  for d in "$ROOT"/../shared/corpus/*/; do
    for f in "$d"*.tar; do
      [ -f "$f" ] && tar -tf "$f" manifest.json >/dev/null 2>&1 && archives+=("$f")
    done
  done
fi
first=""
for a in "${archives[@]}"; do
  if out=$(docker -H "unix://$sock" load -i "$a" 2>/dev/null); then
    say "loaded $(basename "$a")"
    [ -n "$first" ] || first=$(sed -n 's/^Loaded image: //p; s/^Loaded image ID: //p' <<<"$out" | head -1)
  fi
done
kill "$(cat "$work/pid")"; sleep 3; rm -f "$work/pid"
[ -n "$first" ] || die "no archive loaded"

# best CMD...: the best wall time (s) of $RUNS runs.
best() {
  local b=""
  for _ in $(seq "$RUNS"); do
    # storage check exits 1 when it has findings (a loaded untagged image is one): still timed.
    rc=0
    /usr/bin/time -o "$work/t" -f "%e" "$@" >/dev/null 2>"$work/err" || rc=$?
    [ "$rc" -le 1 ] || { cat "$work/err" >&2; die "failed: $*"; }
    t=$(cat "$work/t" | tail -1)
    if [ -z "$b" ] || awk -v a="$t" -v b="$b" 'BEGIN { exit !(a < b) }'; then b=$t; fi
  done
  echo "$b"
}
files=$(find "$data/overlay2" -type f | wc -l)
bytes=$(find "$data/overlay2" -type f -printf '%s\n' | awk '{ s += $1 } END { print s }')
say "data root: $files files, $bytes bytes under overlay2/"
check=$(best "$STRATA" storage check docker-root: --docker-root "$data")
cat_t=$(best sh -c "find '$data/overlay2' -type f -exec cat {} + >/dev/null")
sha=$(best sh -c "find '$data/overlay2' -type f -exec sha256sum {} + >/dev/null")
hist=$(best "$STRATA" history "docker-root:$first" --docker-root "$data")
printf '%-34s %8s\n' measure seconds
printf '%-34s %8s\n' "storage check" "$check"
printf '%-34s %8s\n' "find | cat (read once)" "$cat_t"
printf '%-34s %8s\n' "find | sha256sum" "$sha"
printf '%-34s %8s\n' "history docker-root:$first" "$hist"
awk -v c="$check" -v r="$cat_t" -v s="$sha" 'BEGIN {
  printf "storage check / read once: %.2f (target <= 1.30)\n", c / r
  printf "storage check / sha256sum: %.2f (target <= 0.50)\n", c / s }'
awk -v h="$hist" 'BEGIN { printf "history: %.0f ms (target <= 50 ms)\n", h * 1000 }'
