#!/usr/bin/env bash
# bench/verify.sh: how fast is `strata verify` on a big gzip image, next to the plain tools?
#
# Builds strata (release) and bench/gunzip-baseline, generates (once, deterministically) a
# ~1.5 GiB-uncompressed gzip OCI archive with bench/gen_image.py, then times, best of $RUNS:
#   strata   `strata verify image.tar` (all layers: sha256 of the blob, gunzip, sha256 of the tar,
#            tar header walk)
#   (a)      `gzip -dc BLOB | sha256sum` for each layer blob (extracted beforehand, not timed),
#            one after the other; the time is the sum over the layers
#   (b)      bench/gunzip-baseline: flate2 + zlib-rs MultiGzDecoder over every layer blob into a
#            256 KiB buffer, nothing else (the floor for strata's decompression)
# For information it also times strata with RAYON_NUM_THREADS=1 and, first, how much a second
# core really gives on this machine (one gunzip-baseline alone vs two at once).
# It prints a report with the targets: strata/(a) <= 0.4, strata/(b) <= 1.2, strata's peak
# RSS <= 64 MiB. Exits 0 whatever the numbers (it is a report); 2 if something failed to run.
#
# Not run by .ci/run: it takes minutes and ~3 GB of disk. Run it by hand:
#   bash bench/verify.sh
# Environment: STRATA=path (skip the build and use that binary), STRATA_REV=git-rev (build that
# commit from `git archive` under $BENCH_DIR instead of the work tree), BENCH_DIR (default
# /tmp/strata-bench), LAYERS_MIB (default 1024,256,160,96), SEED (default 20240501), RUNS
# (default 3), GZIP_CMD (default gzip; pigz also works, but gives different blobs).
# Needs bash, python3 >= 3.11, gzip, sha256sum, tar, cargo, and GNU time as /usr/bin/time (the
# script installs the Debian package `time` with apt-get if it is missing).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(dirname "$HERE")
BENCH_DIR=${BENCH_DIR:-/tmp/strata-bench}
LAYERS_MIB=${LAYERS_MIB:-1024,256,160,96}
SEED=${SEED:-20240501}
RUNS=${RUNS:-3}
GZIP_CMD=${GZIP_CMD:-gzip}

die() { echo "bench/verify.sh: $*" >&2; exit 2; }
say() { echo "== $*" >&2; }

# ---- tools -------------------------------------------------------------------------------------
if [ ! -x /usr/bin/time ]; then
  say "installing GNU time (/usr/bin/time)"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq time >/dev/null \
    || die "cannot install GNU time"
fi
for t in python3 gzip sha256sum tar cargo awk "$GZIP_CMD"; do
  command -v "$t" >/dev/null || die "$t not found"
done
python3 -c 'import sys; sys.exit(sys.version_info < (3, 11))' || die "python3 >= 3.11 needed"

# ---- 1. binaries -------------------------------------------------------------------------------
if [ -n "${STRATA:-}" ]; then
  [ -x "$STRATA" ] || die "STRATA=$STRATA is not an executable"
elif [ -n "${STRATA_REV:-}" ]; then
  # A committed revision, exported from git and built apart from the work tree (useful while
  # the work tree is mid-edit).
  rev=$(git -C "$ROOT" rev-parse --verify "$STRATA_REV^{commit}") || die "bad STRATA_REV=$STRATA_REV"
  src=$BENCH_DIR/strata-src-${rev:0:12}
  if [ ! -x "$src/target/release/strata" ]; then
    say "cargo build --release (strata at ${rev:0:12}, in $src)"
    rm -rf "$src" && mkdir -p "$src"
    git -C "$ROOT" archive "$rev" | tar -x -C "$src" || die "git archive $rev failed"
    (cd "$src" && cargo build --release --target-dir "$src/target") || die "building strata failed"
  fi
  STRATA=$src/target/release/strata
else
  say "cargo build --release (strata)"
  (cd "$ROOT" && cargo build --release) || die "building strata failed"
  STRATA=${CARGO_TARGET_DIR:-$ROOT/target}/release/strata
fi
say "cargo build --release (bench/gunzip-baseline)"
cargo build --release --quiet --manifest-path "$HERE/gunzip-baseline/Cargo.toml" \
  --target-dir "$HERE/gunzip-baseline/target" || die "building gunzip-baseline failed"
BASELINE=$HERE/gunzip-baseline/target/release/gunzip-baseline

# ---- 2. the image (reused when built before with the same parameters) --------------------------
key=$( { cat "$HERE/gen_image.py"; echo "$LAYERS_MIB $SEED $GZIP_CMD"; "$GZIP_CMD" --version 2>&1 | head -1; } \
       | sha256sum | cut -c1-12)
WORK=$BENCH_DIR/image-$key
IMAGE=$WORK/image.tar
if [ -f "$WORK/meta.json" ] && [ -f "$IMAGE" ]; then
  say "reusing $IMAGE"
else
  say "generating $IMAGE (layers ${LAYERS_MIB} MiB, seed $SEED; takes a few minutes)"
  rm -rf "$WORK"
  mkdir -p "$WORK"
  python3 "$HERE/gen_image.py" "$WORK" --layers-mib "$LAYERS_MIB" --seed "$SEED" --gzip "$GZIP_CMD" \
    || die "generating the image failed"
fi

# Per layer: index digest-hex compressed uncompressed files diff_id-hex
mapfile -t LAYERS < <(python3 - "$WORK/meta.json" <<'EOF'
import json, sys
for l in json.load(open(sys.argv[1]))["layers"]:
    print(l["index"], l["digest"][7:], l["compressed"], l["uncompressed"], l["files"], l["diff_id"][7:])
EOF
)
[ ${#LAYERS[@]} -gt 0 ] || die "no layers in $WORK/meta.json"

# The layer blobs as plain files for the baselines, taken out of image.tar (not timed).
BLOBS=()
members=()
for row in "${LAYERS[@]}"; do
  read -r _ hex _ <<<"$row"
  BLOBS+=("$WORK/extracted/blobs/sha256/$hex")
  members+=("blobs/sha256/$hex")
done
if [ ! -f "$WORK/extracted/.done" ]; then
  say "extracting the layer blobs from image.tar (not timed)"
  rm -rf "$WORK/extracted"
  mkdir -p "$WORK/extracted"
  tar -xf "$IMAGE" -C "$WORK/extracted" "${members[@]}" || die "extracting blobs failed"
  touch "$WORK/extracted/.done"
fi

# ---- 3. timings --------------------------------------------------------------------------------
OUT=$WORK/out
mkdir -p "$OUT"

# run_timed LABEL CMD...: run once under GNU time; sets T_S (wall s), T_KB (peak RSS KiB) and
# T_CPU (user + sys s). Dies, showing the command's output, if it exits non-zero.
run_timed() {
  local label=$1 u sy
  shift
  if ! /usr/bin/time -f "%e %M %U %S" -o "$OUT/time" "$@" >"$OUT/$label.stdout" 2>"$OUT/$label.stderr"; then
    echo "bench/verify.sh: '$*' failed:" >&2
    tail -n 30 "$OUT/$label.stdout" "$OUT/$label.stderr" "$OUT/time" >&2
    exit 2
  fi
  read -r T_S T_KB u sy <"$OUT/time"
  T_CPU=$(awk -v a="$u" -v b="$sy" 'BEGIN { printf "%.2f", a + b }')
}
fadd() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a + b }'; }
# flt A B: A < B, or B is empty
flt() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(b == "" || a + 0 < b + 0) }'; }

# Per measure M: M_BEST (best wall s), M_CPU (CPU s of that run), M_KB (max peak RSS), M_ALL.
record() { # record M WALL CPU KB
  local m=$1 best=${1}_BEST cpu=${1}_CPU kb=${1}_KB all=${1}_ALL
  if flt "$2" "${!best}"; then
    printf -v "$best" %s "$2"
    printf -v "$cpu" %s "$3"
  fi
  if [ -z "${!kb}" ] || [ "$4" -gt "${!kb}" ]; then printf -v "$kb" %s "$4"; fi
  printf -v "$all" %s "${!all} $2"
}
for m in S S1 A B; do
  printf -v "${m}_BEST" %s ""
  printf -v "${m}_CPU" %s ""
  printf -v "${m}_KB" %s ""
  printf -v "${m}_ALL" %s ""
done

strata_verify() { # strata_verify LABEL [VAR=value...]
  local label=$1
  shift
  run_timed "$label" env "$@" "$STRATA" verify "$IMAGE"
  grep -q "all ok" "$OUT/$label.stdout" || { cat "$OUT/$label.stdout" >&2; die "strata verify did not report all ok"; }
}

say "warming the page cache"
cat "$IMAGE" "${BLOBS[@]}" >/dev/null

# How much the second core really gives: the biggest blob through gunzip-baseline alone, then
# two copies at once. 2.00 = two free cores; a shared or busy machine shows less.
big=0
for j in "${!LAYERS[@]}"; do
  read -r _ _ c _ <<<"${LAYERS[$j]}"
  read -r _ _ cb _ <<<"${LAYERS[$big]}"
  [ "$c" -gt "$cb" ] && big=$j
done
say "machine check: one gunzip-baseline, then two at once"
run_timed probe "$BASELINE" "${BLOBS[$big]}"
P1=$T_S
run_timed probe bash -c '"$1" "$2" >/dev/null & "$1" "$2" >/dev/null; wait' _ "$BASELINE" "${BLOBS[$big]}"
P2=$T_S

# The measurements take turns (strata, a, b, strata, a, b, ...) so that a slow spell of the
# machine (another process, a noisy neighbour) hits all of them alike rather than one.
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for ((i = 1; i <= RUNS; i++)); do
  say "run $i/$RUNS: strata verify"
  strata_verify strata
  record S "$T_S" "$T_CPU" "$T_KB"

  # Information only: one rayon worker, so strata scans the layers one at a time.
  say "run $i/$RUNS: strata verify, RAYON_NUM_THREADS=1"
  strata_verify strata1 RAYON_NUM_THREADS=1
  record S1 "$T_S" "$T_CPU" "$T_KB"

  # (a) gzip -dc | sha256sum per blob, summed; the printed digest must be the layer's diff_id
  say "run $i/$RUNS: (a) gzip -dc | sha256sum"
  total=0 cpu=0 kb=0
  for j in "${!LAYERS[@]}"; do
    read -r _ _ _ _ _ diff <<<"${LAYERS[$j]}"
    run_timed gzip bash -c 'set -o pipefail; gzip -dc "$1" | sha256sum' _ "${BLOBS[$j]}"
    [ "$(cut -d' ' -f1 "$OUT/gzip.stdout")" = "$diff" ] || die "(a): layer $j does not hash to its diff_id"
    total=$(fadd "$total" "$T_S")
    cpu=$(fadd "$cpu" "$T_CPU")
    [ "$T_KB" -gt "$kb" ] && kb=$T_KB
  done
  record A "$total" "$cpu" "$kb"

  # (b) gunzip-baseline over all blobs, one after the other; byte counts must match the layers
  say "run $i/$RUNS: (b) gunzip-baseline"
  run_timed baseline "$BASELINE" "${BLOBS[@]}"
  j=0
  while read -r n _; do
    read -r _ _ _ un _ <<<"${LAYERS[$j]}"
    [ "$n" = "$un" ] || die "(b): layer $j decompressed to $n bytes, expected $un"
    j=$((j + 1))
  done <"$OUT/baseline.stdout"
  [ "$j" = "${#LAYERS[@]}" ] || die "(b): gunzip-baseline reported $j layers, expected ${#LAYERS[@]}"
  record B "$T_S" "$T_CPU" "$T_KB"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# ---- 4. report ---------------------------------------------------------------------------------
python3 - "$WORK/meta.json" "$IMAGE" "$STRATA" "$RUNS" "$(tail -n 1 "$OUT/strata.stdout")" \
  "$LOAD_BEFORE" "$LOAD_AFTER" "$P1" "$P2" \
  "$S_BEST" "$S_CPU" "$S_KB" "$S_ALL" "$S1_BEST" "$S1_CPU" "$S1_KB" "$S1_ALL" \
  "$A_BEST" "$A_CPU" "$A_KB" "$A_ALL" "$B_BEST" "$B_CPU" "$B_KB" "$B_ALL" <<'PY' | tee "$WORK/report.txt"
import json, os, platform, sys
(meta_path, image, strata, runs, last, load_before, load_after, p1, p2) = sys.argv[1:10]
rest = sys.argv[10:]
m = {}
for i, name in enumerate(("strata", "strata1", "a", "b")):
    best, cpu, kb, all_ = rest[4 * i:4 * i + 4]
    m[name] = (float(best), float(cpu), int(kb) / 1024, [float(x) for x in all_.split()])
meta = json.load(open(meta_path))
MiB = 1 << 20
cpu_model = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo")
                  if l.startswith("model name")), "?")
print(f"strata verify benchmark: {os.cpu_count()} cores, {cpu_model}, Linux {platform.release()}")
print(f"strata {strata}")
print(f"image  {image}  {meta['image_bytes'] / MiB:.1f} MiB, seed {meta['seed']}, gzip -6")
print(f"  {'layer':<6}{'compressed':>14}{'uncompressed':>16}{'ratio':>8}{'files':>8}")
tc = tu = 0
for l in meta["layers"]:
    tc += l["compressed"]
    tu += l["uncompressed"]
    print(f"  {l['index']:<6}{l['compressed'] / MiB:>10.1f} MiB{l['uncompressed'] / MiB:>12.1f} MiB"
          f"{l['uncompressed'] / l['compressed']:>7.2f}:1{l['files']:>8}")
print(f"  {'total':<6}{tc / MiB:>10.1f} MiB{tu / MiB:>12.1f} MiB{tu / tc:>7.2f}:1")
p1, p2 = float(p1), float(p2)
print(f"machine: two gunzips at once got {2 * p1 / p2:.2f}x the throughput of one ({p1:.2f} s alone, "
      f"{p2:.2f} s for two; 2.00 = two free cores); load average before {load_before}, "
      f"after {load_after}")
print(f"times: best of {runs} runs taken in turns: wall s, CPU s (user+sys) of that run, peak RSS "
      f"(max of the runs), uncompressed MiB/s, [every run's wall s]")
rows = (("strata verify image.tar", "strata"),
        ("  info: same, RAYON_NUM_THREADS=1", "strata1"),
        ("(a) gzip -dc BLOB | sha256sum, summed", "a"),
        ("(b) gunzip-baseline (flate2 zlib-rs)", "b"))
for label, key in rows:
    t, cpu, rss, all_ = m[key]
    print(f"  {label:<38}{t:>6.2f} s {cpu:>6.2f} cpu {rss:>6.1f} MiB {tu / MiB / t:>5.0f} MiB/s  "
          f"[{' '.join(f'{x:.2f}' for x in all_)}]")
print(f"strata said: {last}")
for label, key in rows:
    ts = m[key][3]
    if min(ts) > 0 and max(ts) / min(ts) > 1.2:
        print(f"note: {label.strip()}: runs spread {max(ts) / min(ts):.2f}x (was the machine busy?)")
s, a, b, rss = m["strata"][0], m["a"][0], m["b"][0], m["strata"][2]
for label, key in (("(a)", "a"), ("(b)", "b")):
    pairs = [x / y for x, y in zip(m["strata"][3], m[key][3])]
    print(f"info: strata / {label} run by run: {' '.join(f'{r:.2f}' for r in pairs)}")
print("targets")
for label, value, target, unit in (("strata / (a)", s / a, 0.4, ""),
                                   ("strata / (b)", s / b, 1.2, ""),
                                   ("strata peak RSS", rss, 64, " MiB")):
    verdict = "PASS" if value <= target else "FAIL"
    print(f"  {label:<18}{value:>7.2f}{unit:<5} target <= {target}{unit:<5} {verdict}")
PY
echo "(report saved in $WORK/report.txt)" >&2
