#!/usr/bin/env bash
# bench/extract.sh: how fast is `strata extract IMAGE DEST` next to umoci and plain tar -x?
#
# Builds strata (release), generates (once per parameter set, deterministically) with
# bench/gen_fs_image.py a 4-layer gzip OCI image layout directory that looks like a real image
# (a deep base tree of ~17k small files plus large files, symlinks and hardlinks; an upgrade layer
# rewriting files; a cleanup layer with .wh. whiteouts and an opaque directory; an app layer):
# >= 500 MB uncompressed, >= 20 000 files; and from it, with bench/oci_to_docker_save.py, the
# same image as a legacy `docker save` archive whose layers are plain (uncompressed) layer.tar
# files, as `docker save` writes them (same config, same diff_ids). Checks `strata verify` on
# both, writes the merged tree as one flat tar with `strata extract IMAGE -` and gzips it with
# GZIP_CMD -6 (neither timed), then runs each tool once as a warm-up (outputs compared: same
# file list, attributes, contents) and $RUNS timed times, round-robin, removing the destination
# (and `sync`) between runs, outside the timing:
#   strata     strata extract IMAGE DEST                            (gzip OCI layout)
#   strata-ds  strata extract IMAGE.docker-save.tar DEST            (uncompressed docker save)
#   umoci      umoci raw unpack --image IMAGE:bench DEST            (gzip OCI; as root: owners)
#   tar -x     tar --same-owner --numeric-owner -xf flat.tar -C DEST     (GNU tar: one already-
#              merged, uncompressed stream, nothing to decompress, hash or hide)
#   tar -xz    tar --same-owner --numeric-owner -xzf flat.tar.gz -C DEST (the same, gzipped:
#              GNU tar runs `gzip -d` in a pipe)
# Like for like: strata-ds against tar -x (both read uncompressed tar), strata against tar -xz
# (both inflate gzip). Wall time, CPU time and peak RSS come from GNU time
# (`/usr/bin/time -f "%e %M %U %S"`; children such as tar's gzip included); the inputs are read
# into the page cache right before each run (no cache dropping). The trees go to a tmpfs
# (/dev/shm) by default, DEST_ON=disk writes them under $BENCH_DIR (see below). Prints a report
# with the targets: strata/umoci <= 0.5, strata-ds/tar-x <= 1.3 (the tar target), strata/tar-xz
# <= 1.3 (for information), strata's peak RSS <= 64 MiB (both strata rows). strata/tar-x (gzip
# against uncompressed, not like for like) is still printed, without a target.
# Exits 0 whatever the numbers (it is a report); 2 if something failed to run.
#
# Not run by .ci/run: it takes a few minutes, ~2.5 GB of disk under $BENCH_DIR (5 GB more with
# DEST_ON=disk, freed at the end) and ~1.2 GB of /dev/shm. Run it by hand, as root:
#   bash bench/extract.sh
# Environment: STRATA=path (skip the build, use that binary), BENCH_DIR (default
# /tmp/strata-bench-extract), SEED (default 20240601), SCALE (default 1.0; file counts and large
# file sizes are multiplied by it, e.g. 0.05 for a quick try, best with its own BENCH_DIR: other
# parameters regenerate the image there), RUNS (default 3), GZIP_CMD
# (default: pigz if installed, else gzip; both at -6), DEST_ON (tmpfs, the default, or disk).
# Needs bash, python3 >= 3.11, gzip, GNU tar, cargo, umoci and GNU time as /usr/bin/time (the
# script installs the Debian packages `umoci` and `time` with apt-get when they are missing).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BENCH_DIR=${BENCH_DIR:-/tmp/strata-bench-extract}
SEED=${SEED:-20240601}
SCALE=${SCALE:-1.0}
RUNS=${RUNS:-3}
DEST_ON=${DEST_ON:-tmpfs}
if [ -z "${GZIP_CMD:-}" ]; then
  if command -v pigz >/dev/null; then GZIP_CMD=pigz; else GZIP_CMD=gzip; fi
fi
REF=bench

die() { echo "bench/extract.sh: $*" >&2; exit 2; }
say() { echo "== $*" >&2; }

# ---- tools -------------------------------------------------------------------------------------
apt_install() { # apt_install PACKAGE: install, running apt-get update first if that fails
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null 2>&1 \
    || { apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$1" >/dev/null; } \
    || die "cannot install the Debian package $1"
}
[ "$(id -u)" = 0 ] || die "run as root (umoci and tar restore owners only as root)"
if [ ! -x /usr/bin/time ]; then say "installing GNU time (/usr/bin/time)"; apt_install time; fi
if ! command -v umoci >/dev/null; then say "installing umoci"; apt_install umoci; fi
for t in python3 tar cargo awk find sort md5sum sha256sum xargs gzip "$GZIP_CMD" umoci; do
  command -v "$t" >/dev/null || die "$t not found"
done
tar --version | head -n1 | grep -q 'GNU tar' || die "tar is not GNU tar"
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 >= 3.11 needed"

# ---- 1. strata ---------------------------------------------------------------------------------
if [ -n "${STRATA:-}" ]; then
  [ -x "$STRATA" ] || die "STRATA=$STRATA is not an executable"
else
  say "cargo build --release (strata)"
  (cd "$ROOT" && cargo build --release --quiet) || die "building strata failed"
  STRATA=$ROOT/target/release/strata
fi

mkdir -p "$BENCH_DIR"
IMAGE=$BENCH_DIR/image
META=$BENCH_DIR/image.json
STAMP=$BENCH_DIR/image.params
DOCKER=$BENCH_DIR/image.docker-save.tar
DMETA=$BENCH_DIR/image.docker-save.json
DSTAMP=$BENCH_DIR/image.docker-save.params
OUT=$BENCH_DIR/out
rm -rf "$OUT" && mkdir -p "$OUT"

# ---- 2. the image (reused while the generator and its parameters are the same) -----------------
params="gen=$(sha256sum "$HERE/gen_fs_image.py" | cut -c1-16) seed=$SEED scale=$SCALE gzip=$GZIP_CMD ref=$REF"
if [ -d "$IMAGE" ] && [ -f "$META" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$params" ]; then
  say "reusing $IMAGE ($params)"
else
  say "generating $IMAGE ($params); a few minutes"
  rm -rf "$IMAGE" "$IMAGE.tmp" "$META" "$STAMP"
  python3 "$HERE/gen_fs_image.py" "$IMAGE" --seed "$SEED" --scale "$SCALE" --gzip "$GZIP_CMD" \
    --ref "$REF" >"$META.tmp" || die "gen_fs_image.py failed"
  mv "$META.tmp" "$META"
  echo "$params" >"$STAMP"
fi

# The same image as a legacy `docker save` archive with uncompressed layer tars (inflated from
# the blobs above; same config, so same diff_ids), reused like the image.
dparams="$params conv=$(sha256sum "$HERE/oci_to_docker_save.py" | cut -c1-16)"
if [ -f "$DOCKER" ] && [ -f "$DMETA" ] && [ "$(cat "$DSTAMP" 2>/dev/null)" = "$dparams" ]; then
  say "reusing $DOCKER"
else
  say "writing $DOCKER (docker save layout, uncompressed layers)"
  rm -f "$DOCKER" "$DOCKER.tmp" "$DMETA" "$DSTAMP"
  python3 "$HERE/oci_to_docker_save.py" "$IMAGE" "$DOCKER" --ref "$REF" >"$DMETA.tmp" \
    || die "oci_to_docker_save.py failed"
  mv "$DMETA.tmp" "$DMETA"
  echo "$dparams" >"$DSTAMP"
fi

say "strata verify (both archives)"
"$STRATA" verify "$IMAGE" >"$OUT/verify.txt" 2>&1 || { tail -n 20 "$OUT/verify.txt" >&2; die "strata verify $IMAGE failed"; }
"$STRATA" verify "$DOCKER" >"$OUT/verify-docker.txt" 2>&1 || { tail -n 20 "$OUT/verify-docker.txt" >&2; die "strata verify $DOCKER failed"; }
"$STRATA" inspect --json "$DOCKER" >"$OUT/inspect-docker.json" 2>"$OUT/inspect-docker.stderr" \
  || { cat "$OUT/inspect-docker.stderr" >&2; die "strata inspect $DOCKER failed"; }
[ -s "$OUT/inspect-docker.stderr" ] && { cat "$OUT/inspect-docker.stderr" >&2; die "strata inspect $DOCKER warned"; }
python3 -c 'import json, sys
d = json.load(open(sys.argv[1]))
sys.exit(d["source"]["format"] != "docker-save" or any(l["compression"] != "none" for l in d["layers"]))' \
  "$OUT/inspect-docker.json" || die "strata inspect does not see $DOCKER as a docker-save with plain layers"

# ---- 3. the flat tar of the merged tree (not timed) --------------------------------------------
FLAT=$BENCH_DIR/flat.tar
say "strata extract IMAGE - > flat.tar (not timed)"
"$STRATA" extract "$IMAGE" - >"$FLAT.tmp" 2>"$OUT/flat.stderr" || { cat "$OUT/flat.stderr" >&2; die "strata extract IMAGE - failed"; }
mv "$FLAT.tmp" "$FLAT"
# flat.tar.gz for tar -xz, with the layers' compressor and level; remade only when flat.tar changed
FLATGZ=$FLAT.gz
fparams="$(sha256sum "$FLAT" | cut -c1-64) gzip=$GZIP_CMD"
if [ -f "$FLATGZ" ] && [ "$(cat "$FLATGZ.params" 2>/dev/null)" = "$fparams" ]; then
  say "reusing flat.tar.gz"
else
  say "$GZIP_CMD -6 flat.tar > flat.tar.gz (not timed)"
  rm -f "$FLATGZ" "$FLATGZ.params"
  "$GZIP_CMD" -6 -n -c "$FLAT" >"$FLATGZ.tmp" || die "$GZIP_CMD flat.tar failed"
  mv "$FLATGZ.tmp" "$FLATGZ"
  echo "$fparams" >"$FLATGZ.params"
fi

# ---- 4. runs -----------------------------------------------------------------------------------
# Where the trees are written. tmpfs (default): measures the tools, not the disk. disk: under
# $BENCH_DIR/trees. This machine's root is ext4 without a journal, whose inode allocator skips
# inodes freed less than 60 s ago (360 s when their inode-table block is dirty again), reading
# each one's inode-table block (ext4 recently_deleted()): creating 25 000 files right after
# deleting 25 000 costs any tool ~15 s of system time. So on disk a finished tree is not deleted
# but moved aside (and synced) and all of them are deleted at the end: ~0.6 GB per run.
case $DEST_ON in
  tmpfs) DEST_PARENT=/dev/shm/strata-bench-extract
         [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ] || die "/dev/shm is not a tmpfs (use DEST_ON=disk)" ;;
  disk)  DEST_PARENT=$BENCH_DIR/trees ;;
  *)     die "DEST_ON must be tmpfs or disk" ;;
esac
rm -rf "$DEST_PARENT"
mkdir -p "$DEST_PARENT/aside"
trap 'rm -rf "$DEST_PARENT"' EXIT
DEST_FS="$DEST_ON, $(stat -f -c %T "$DEST_PARENT")"
DEST=$DEST_PARENT/dest
N_ASIDE=0
clean_dest() {
  if [ "$DEST_ON" = disk ] && [ -e "$DEST" ]; then
    N_ASIDE=$((N_ASIDE + 1))
    mv "$DEST" "$DEST_PARENT/aside/$N_ASIDE"
  fi
  rm -rf "$DEST" "$DEST_PARENT"/.dest.strata-tmp-* && sync
}
# warm_inputs TOOL: read the tool's input into the page cache, outside the timing (this VM pages
# out page cache left unused for about a minute).
warm_inputs() {
  case $1 in
    tar)       cat "$FLAT" >/dev/null ;;
    tar-z)     cat "$FLATGZ" >/dev/null ;;
    strata-ds) cat "$DOCKER" >/dev/null ;;
    *)         cat "$IMAGE"/blobs/sha256/* >/dev/null ;;
  esac
}

# run_one TOOL: one run into $DEST (not cleaned afterwards); sets T_S (wall s), T_KB (peak KiB),
# T_CPU (user + system s).
run_one() {
  local tool=$1 rc=0
  clean_dest
  warm_inputs "$tool"
  case $tool in
    strata) /usr/bin/time -f "%e %M %U %S" -o "$OUT/time" "$STRATA" extract "$IMAGE" "$DEST" \
              >"$OUT/$tool.stdout" 2>"$OUT/$tool.stderr" || rc=$? ;;
    strata-ds) /usr/bin/time -f "%e %M %U %S" -o "$OUT/time" "$STRATA" extract "$DOCKER" "$DEST" \
              >"$OUT/$tool.stdout" 2>"$OUT/$tool.stderr" || rc=$? ;;
    umoci)  /usr/bin/time -f "%e %M %U %S" -o "$OUT/time" umoci raw unpack --image "$IMAGE:$REF" "$DEST" \
              >"$OUT/$tool.stdout" 2>"$OUT/$tool.stderr" || rc=$? ;;
    tar)    mkdir "$DEST"
            /usr/bin/time -f "%e %M %U %S" -o "$OUT/time" tar --same-owner --numeric-owner -xf "$FLAT" -C "$DEST" \
              >"$OUT/$tool.stdout" 2>"$OUT/$tool.stderr" || rc=$? ;;
    tar-z)  mkdir "$DEST"
            /usr/bin/time -f "%e %M %U %S" -o "$OUT/time" tar --same-owner --numeric-owner -xzf "$FLATGZ" -C "$DEST" \
              >"$OUT/$tool.stdout" 2>"$OUT/$tool.stderr" || rc=$? ;;
    *)      die "run_one: unknown tool $tool" ;;
  esac
  if [ "$rc" != 0 ]; then
    tail -n 30 "$OUT/$tool.stdout" "$OUT/$tool.stderr" "$OUT/time" >&2
    die "$tool failed (exit $rc)"
  fi
  local u sy
  read -r T_S T_KB u sy < <(tail -n 1 "$OUT/time")
  T_CPU=$(awk -v a="$u" -v b="$sy" 'BEGIN { printf "%.2f", a + b }')
}

# listing DIR: one line per entry (path, type, mode, owner, size, link target, link count,
# mtime; directories without size and link count, which depend on the filesystem's history)
listing() {
  (cd "$1" && find . -mindepth 1 \( -type d -printf '%P|d|%m|%U:%G|%T@\n' \) \
     -o -printf '%P|%y|%m|%U:%G|%s|%l|%n|%T@\n' | LC_ALL=C sort)
}
contents() {
  (cd "$1" && find . -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 -r md5sum)
}

TOOLS=(strata strata-ds umoci tar tar-z)
declare -A BEST_S BEST_KB BEST_CPU ALL
LOAD0=$(cut -d" " -f1-3 /proc/loadavg)
ANOM=()
say "warm-up runs (outputs kept and compared)"
for tool in "${TOOLS[@]}"; do
  run_one "$tool"
  ALL[$tool]="($T_S)"
  listing "$DEST" >"$OUT/$tool.list"
  contents "$DEST" >"$OUT/$tool.md5"
  case $tool in strata*) cp "$OUT/$tool.stdout" "$OUT/$tool.summary" ;; esac
  echo "   $tool: ${T_S}s, $((T_KB / 1024)) MiB" >&2
done
clean_dest
cut -d'|' -f1 "$OUT/strata.list" >"$OUT/strata.names"
for tool in strata-ds umoci tar tar-z; do
  cut -d'|' -f1 "$OUT/$tool.list" >"$OUT/$tool.names"
  if ! diff -q "$OUT/strata.names" "$OUT/$tool.names" >/dev/null; then
    n=$(diff "$OUT/strata.names" "$OUT/$tool.names" | grep -c '^[<>]' || true)
    ANOM+=("file lists differ: strata vs $tool, $n paths (diff $OUT/strata.names $OUT/$tool.names)")
  fi
  n=$(diff "$OUT/strata.list" "$OUT/$tool.list" | grep -c '^<' || true)
  if [ "$n" != 0 ]; then
    nd=$(diff "$OUT/strata.list" "$OUT/$tool.list" | grep '^<' | grep -c '|d|' || true)
    nm=$(diff <(sed 's/|[^|]*$//' "$OUT/strata.list") <(sed 's/|[^|]*$//' "$OUT/$tool.list") | grep -c '^<' || true)
    hint=""
    if [ "${tool%-z}" = tar ] && [ "$nm" = 0 ] && [ "$nd" = "$n" ]; then
      hint=" - expected: GNU tar swaps in symlinks with absolute or .. targets at the end, after setting directory mtimes"
    fi
    ANOM+=("attributes differ: strata vs $tool, $n entries ($nd of them directories; $((n - nm)) differ in mtime only; diff $OUT/strata.list $OUT/$tool.list)$hint")
  fi
  if ! diff -q "$OUT/strata.md5" "$OUT/$tool.md5" >/dev/null; then
    n=$(diff "$OUT/strata.md5" "$OUT/$tool.md5" | grep -c '^<' || true)
    ANOM+=("file contents differ: strata vs $tool, $n files (diff $OUT/strata.md5 $OUT/$tool.md5)")
  fi
done
[ -s "$OUT/strata.stderr" ] && ANOM+=("strata extract wrote to stderr: $(head -c 300 "$OUT/strata.stderr")")
[ -s "$OUT/strata-ds.stderr" ] && ANOM+=("strata extract (docker save) wrote to stderr: $(head -c 300 "$OUT/strata-ds.stderr")")

for ((i = 1; i <= RUNS; i++)); do
  say "timed round $i of $RUNS"
  for tool in "${TOOLS[@]}"; do
    run_one "$tool"
    ALL[$tool]+=" $T_S"
    if [ -z "${BEST_S[$tool]:-}" ] || awk -v a="$T_S" -v b="${BEST_S[$tool]}" 'BEGIN { exit !(a < b) }'; then
      BEST_S[$tool]=$T_S
    fi
    if [ -z "${BEST_CPU[$tool]:-}" ] || awk -v a="$T_CPU" -v b="${BEST_CPU[$tool]}" 'BEGIN { exit !(a < b) }'; then
      BEST_CPU[$tool]=$T_CPU
    fi
    if [ -z "${BEST_KB[$tool]:-}" ] || [ "$T_KB" -gt "${BEST_KB[$tool]}" ]; then
      BEST_KB[$tool]=$T_KB  # the highest peak RSS seen over the timed runs
    fi
    echo "   $tool: ${T_S}s (cpu ${T_CPU}s), $((T_KB / 1024)) MiB" >&2
  done
done
LOAD1=$(cut -d" " -f1-3 /proc/loadavg)
rm -rf "$DEST_PARENT"
clean_dest

# The load average before the warm-up runs and after the timed runs (whose own load is about 1):
# much more than that means something else competed for the cores.
busy=$(awk -v a="${LOAD0%% *}" 'BEGIN { print (a > 0.5) }')
[ "$busy" = 1 ] && ANOM+=("the machine was busy before the runs (load average $LOAD0): times are noisy")

# ---- 5. report ---------------------------------------------------------------------------------
n_files=$(grep -c '|f|' "$OUT/strata.list" || true)
n_dirs=$(grep -c '|d|' "$OUT/strata.list" || true)
n_links=$(grep -c '|l|' "$OUT/strata.list" || true)
tree_bytes=$(awk -F'|' '$2 == "f" { s += $5 } END { printf "%d", s }' "$OUT/strata.list")
anoms=$(printf '%s\n' "${ANOM[@]+"${ANOM[@]}"}")

python3 - "$META" "$DMETA" "$RUNS" "$n_files" "$n_dirs" "$n_links" "$tree_bytes" \
  "$(stat -c %s "$FLAT")" "$(stat -c %s "$FLATGZ")" \
  "${BEST_S[strata]}" "${BEST_KB[strata]}" "${ALL[strata]}" "${BEST_CPU[strata]}" \
  "${BEST_S[strata-ds]}" "${BEST_KB[strata-ds]}" "${ALL[strata-ds]}" "${BEST_CPU[strata-ds]}" \
  "${BEST_S[umoci]}" "${BEST_KB[umoci]}" "${ALL[umoci]}" "${BEST_CPU[umoci]}" \
  "${BEST_S[tar]}" "${BEST_KB[tar]}" "${ALL[tar]}" "${BEST_CPU[tar]}" \
  "${BEST_S[tar-z]}" "${BEST_KB[tar-z]}" "${ALL[tar-z]}" "${BEST_CPU[tar-z]}" \
  "$(cat "$OUT/strata.summary")" "$(cat "$OUT/strata-ds.summary")" "$anoms" "$(uname -r)" \
  "$(nproc)" "$("$STRATA" --version)" "$(umoci --version)" "$(tar --version | head -n1)" \
  "$GZIP_CMD" "$LOAD0" "$LOAD1" "$DEST_FS" <<'EOF'
import json, sys
a = sys.argv[1:]
meta = json.load(open(a[0]))
dmeta = json.load(open(a[1]))
runs = a[2]
n_files, n_dirs, n_links, tree_bytes = int(a[3]), int(a[4]), int(a[5]), int(a[6])
flat_size, flatgz_size = int(a[7]), int(a[8])
NAMES = ("strata", "strata-ds", "umoci", "tar -x", "tar -xz")
INPUT = {"strata": "gzip OCI layout", "strata-ds": "docker save, plain layers",
         "umoci": "gzip OCI layout", "tar -x": "flat.tar", "tar -xz": "flat.tar.gz"}
tools = {}
for i, name in enumerate(NAMES):
    s, kb, allruns, cpu = a[9 + 4 * i: 13 + 4 * i]
    tools[name] = (float(s), int(kb), allruns, float(cpu))
(summary, dsummary, anoms, kernel, cores, sv, uv, tv, gz, load0, load1,
 dest_on) = a[9 + 4 * len(NAMES):]
MB = 1e6
print()
print("strata extract benchmark")
print(f"machine: {cores} cores, Linux {kernel}; {sv}; {uv}; {tv}")
print(f"load average: {load0} before the runs, {load1} after; trees written to {dest_on} "
      f"filesystem")
print(f"image: OCI layout directory, {len(meta['layers'])} gzip layers ({gz} -6), seed {meta['seed']}, "
      f"scale {meta['scale']}")
print(f"  compressed {meta['compressed'] / MB:.1f} MB, uncompressed (layer tars) "
      f"{meta['uncompressed'] / MB:.1f} MB, ratio {meta['uncompressed'] / meta['compressed']:.2f}")
for i, l in enumerate(meta["layers"]):
    print(f"  layer {i}: {l['entries']:6d} entries, {l['size'] / MB:7.1f} MB gzip, "
          f"{l['uncompressed'] / MB:7.1f} MB tar")
print(f"the same image as a docker save (legacy layout, <id>/layer.tar uncompressed): "
      f"{dmeta['size'] / MB:.1f} MB")
print(f"flat tar of the merged tree: {flat_size / MB:.1f} MB, gzipped ({gz} -6) "
      f"{flatgz_size / MB:.1f} MB")
m = meta["merged"]
print(f"merged tree: {n_files} regular files ({tree_bytes / MB:.1f} MB), {n_dirs} directories, "
      f"{n_links} symlinks (generator expected {m['files'] + m['hardlinks']} files incl. "
      f"{m['hardlinks']} hardlinks, {m['dirs']} dirs, {m['symlinks']} symlinks)")
print(f"strata says (OCI):         {summary.strip()}")
print(f"strata says (docker save): {dsummary.strip()}")
print()
print(f"times (best of {runs} after one warm-up, warm page cache; wall seconds, CPU seconds "
      f"(user+sys, best), peak RSS (highest), throughput over the tree's bytes; all wall times in "
      f"order, warm-up in parentheses)")
for name, (s, kb, allruns, cpu) in tools.items():
    print(f"  {name:9s} {INPUT[name]:26s} {s:7.2f} s  cpu {cpu:6.2f} s  {kb / 1024:7.1f} MiB  "
          f"{tree_bytes / MB / s:7.1f} MB/s   [{allruns}]")
print()
def verdict(label, value, target, unit="", note=""):
    ok = value <= target
    print(f"  {label:36s} {value:7.2f}{unit}  (target <= {target}{unit})  "
          f"{'PASS' if ok else 'FAIL'}{note}")
st, ds, um = tools["strata"], tools["strata-ds"], tools["umoci"]
tx, tz = tools["tar -x"], tools["tar -xz"]
print("verdicts:")
verdict("strata-ds / tar -x   (uncompressed)", ds[0] / tx[0], 1.3,
        note="   <- the tar -x target, like for like")
verdict("strata / tar -xz     (gzip)", st[0] / tz[0], 1.3, note="   (for information)")
verdict("strata / umoci       (gzip OCI)", st[0] / um[0], 0.5)
verdict("strata peak RSS      (OCI)", st[1] / 1024, 64, " MiB")
verdict("strata-ds peak RSS   (docker save)", ds[1] / 1024, 64, " MiB")
print(f"  {'strata / tar -x      (gzip vs plain)':36s} {st[0] / tx[0]:7.2f}  (no target: strata "
      f"inflates gzip, tar -x reads an uncompressed tar)")
def median_of(allruns):
    timed = sorted(float(t) for t in allruns.split(")")[-1].split())
    return timed[len(timed) // 2] if len(timed) % 2 else sum(timed[len(timed) // 2 - 1:][:2]) / 2
print(f"  medians of the timed runs (for information; the verdicts use the best): strata-ds/tar -x "
      f"{median_of(ds[2]) / median_of(tx[2]):.2f}, strata/umoci "
      f"{median_of(st[2]) / median_of(um[2]):.2f}")
print(f"  CPU-time ratios, less sensitive to a busy machine: strata-ds/tar -x "
      f"{ds[3] / tx[3]:.2f}, strata/tar -xz {st[3] / tz[3]:.2f}, strata/umoci {st[3] / um[3]:.2f}, "
      f"strata/tar -x {st[3] / tx[3]:.2f}")
print()
if anoms.strip():
    print("anomalies:")
    for line in anoms.strip().split("\n"):
        print("  - " + line)
else:
    print("outputs: strata on both archives, umoci, and tar -x / tar -xz of strata's flat tar gave "
          "the same tree (names, types, modes, owners, sizes, link targets and counts, mtimes, "
          "contents)")
EOF
exit 0
