#!/usr/bin/env bash
# Matched pairs at scale (issue 20 item 2; `BENCH_MMP_SCALE=1 make bench`, or
# alone): the `mmp` analysis as the worker computes it (services/analytics/
# examples/mmp_bench.rs: pages gathered and fragmented, the index spilled to
# disk by constant and paired in groups within --memory-mb, pairs and
# transforms cut into stored pages) on the first BENCH_MMP_MOLECULES (50,000)
# of moses/train.csv.gz beside mmpdb 3.1.4's fragment + index of the same
# SMILES with the same options (time and peak memory of each, one run, and
# the two pair sets compared by scripts/compare_mmp_pairs.py); then
# molbatch alone on the first BENCH_MMP_LARGE (500,000) under a memory cap of
# BENCH_MMP_CAP_MB (4,096 MiB: a memory cgroup when one can be made, else
# prlimit's address-space limit). Numbers only, no asserts. mmpdb is looked
# for at MMPDB (default /root/.cache/molbatch/mmpdb-venv/bin/mmpdb; install it
# as scripts/mmp_fixtures.py says).
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_MMP_MOLECULES:-50000}
LARGE=${BENCH_MMP_LARGE:-500000}
CAP_MB=${BENCH_MMP_CAP_MB:-4096}
MEMORY_MB=${BENCH_MMP_MEMORY_MB:-1024}
DATA=${MOLBATCH_SHARED_DATA:-$(cd .. && pwd)/shared/data}
TARGET=${CARGO_TARGET_DIR:-target}
MMPDB=${MMPDB:-/root/.cache/molbatch/mmpdb-venv/bin/mmpdb}
work=$(mktemp -d)
cgroup=""
cleanup() {
  [ -n "$cgroup" ] && rmdir "$cgroup" 2> /dev/null
  rm -rf "$work"
}
trap cleanup EXIT

cargo build --release -q -p molbatch-analytics --example mmp_bench
bench="$TARGET/release/examples/mmp_bench"
# head closes the pipe early: zcat's SIGPIPE is expected, not a failure.
(set +o pipefail; zcat "$DATA/moses/train.csv.gz" | tail -n +2 | head -n "$LARGE" \
  | awk '{print $1" m"NR-1}' > "$work/large.smi")
[ "$(wc -l < "$work/large.smi")" -eq "$LARGE" ] || { echo "moses/train.csv.gz has fewer than $LARGE molecules" >&2; exit 1; }
head -n "$N" "$work/large.smi" > "$work/small.smi"

# Peak resident memory of a command and its children, in MiB (GNU time).
peak_of() { sed -n 's/.*Maximum resident set size (kbytes): //p' "$1" | awk '{printf "%.0f", $1/1024}'; }

echo "== mmp at scale: $N molecules of moses/train.csv.gz"
/usr/bin/time -v "$bench" "$work/small.smi" --memory-mb="$MEMORY_MB" \
  --pairs-tsv="$work/ours.tsv" 2> "$work/ours.time" | tee "$work/ours.txt"
ours_s=$(sed -n 's/.*total \([0-9.]*\) s.*/\1/p' "$work/ours.txt")
echo "molbatch: ${ours_s} s, peak RSS $(peak_of "$work/ours.time") MiB"
if [ -x "$MMPDB" ]; then
  start=$(date +%s.%N)
  /usr/bin/time -v "$MMPDB" fragment "$work/small.smi" -o "$work/small.fragdb" --num-cuts 3 \
    --max-heavies none --max-rotatable-bonds 1000 --salt-remover '<none>' -j "$(nproc)" \
    > /dev/null 2> "$work/fragment.time"
  /usr/bin/time -v "$MMPDB" index "$work/small.fragdb" --out csv -o "$work/small.pairs.csv" \
    --max-variable-heavies 10 > /dev/null 2> "$work/index.time"
  mmpdb_s=$(echo "$(date +%s.%N) - $start" | bc)
  echo "mmpdb 3.1.4 fragment + index: ${mmpdb_s} s ($(wc -l < "$work/small.pairs.csv") pair rows), peak RSS fragment $(peak_of "$work/fragment.time") MiB, index $(peak_of "$work/index.time") MiB"
  echo "mmpdb / molbatch: $(echo "scale=1; $mmpdb_s / $ours_s" | bc)x"
  /usr/bin/python3 scripts/compare_mmp_pairs.py "$work/ours.tsv" "$work/small.pairs.csv"
else
  echo "mmpdb not installed at $MMPDB: the comparison is skipped"
fi

echo
echo "== mmp at scale: $LARGE molecules under a ${CAP_MB} MiB cap"
cap=()
for root in /sys/fs/cgroup/memory /sys/fs/cgroup; do
  dir="$root/molbatch_mmp_bench_$$"
  if mkdir "$dir" 2> /dev/null; then
    if echo $((CAP_MB << 20)) > "$dir/memory.limit_in_bytes" 2> /dev/null \
      || echo $((CAP_MB << 20)) > "$dir/memory.max" 2> /dev/null; then
      cgroup="$dir"
      break
    fi
    rmdir "$dir"
  fi
done
if [ -n "$cgroup" ]; then
  echo "cap: memory cgroup $cgroup"
  cap=(bash -c "echo \$\$ > '$cgroup/cgroup.procs' && exec \"\$0\" \"\$@\"")
else
  echo "cap: prlimit --as (no memory cgroup could be made)"
  cap=(prlimit --as=$((CAP_MB << 20)))
fi
/usr/bin/time -v "${cap[@]}" "$bench" "$work/large.smi" --memory-mb="$MEMORY_MB" \
  2> "$work/large.time" | tee "$work/large.txt"
status=${PIPESTATUS[0]}
echo "exit status $status, peak RSS $(peak_of "$work/large.time") MiB (cap ${CAP_MB} MiB)"
