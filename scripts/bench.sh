#!/usr/bin/env bash
# `make bench`: per-molecule throughput on the first N (default 20,000)
# molecules of shared/data/moses/test.csv.gz, median of RUNS (default 3):
#   1. the chemistry core alone on both cores (rayon),
#   2. end to end through `molbatch serve` (upload, chunking, queue, workers,
#      storage) with `molbatch submit --wait`,
#   3. the same per-molecule steps in Python RDKit with multiprocessing on
#      both cores,
# and the ratios core/Python and end-to-end/core; then the queue itself:
# single-molecule tasks leased and completed per second through the
# scheduler on Postgres with 1 and 4 workers. Numbers only, no asserts.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_MOLECULES:-20000}
RUNS=${BENCH_RUNS:-3}
DATA=${MOLBATCH_SHARED_DATA:-$(cd .. && pwd)/shared/data}
TARGET=${CARGO_TARGET_DIR:-target}
MOLBATCH="$TARGET/release/molbatch"
CORE="$TARGET/release/examples/pipeline_bench"
QUEUE="$TARGET/release/examples/queue_bench"
work=$(mktemp -d)
serve_pid=""
cleanup() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT

{ zcat "$DATA/moses/test.csv.gz" || true; } | head -n $((N + 1)) > "$work/batch.csv"  # zcat stops on SIGPIPE
tail -n +2 "$work/batch.csv" > "$work/batch.smi"
echo "== $N molecules from moses/test.csv.gz, $RUNS runs each, $(nproc) cores"

echo "-- chemistry core (rayon)"
"$CORE" "$work/batch.smi" "$RUNS" | tee "$work/core.txt"
core=$(awk '/^core_mol_per_s/ {print $2}' "$work/core.txt")

echo "-- end to end through molbatch serve"
RUST_LOG=warn "$MOLBATCH" serve --data-dir "$work/data" --http 127.0.0.1:0 2> "$work/serve.log" &
serve_pid=$!
for _ in $(seq 1 100); do grep -q "molbatch serving on" "$work/serve.log" && break; sleep 0.1; done
url=$(sed -n 's/^molbatch serving on \([^ ]*\).*/\1/p' "$work/serve.log")
rates=()
for run in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  MOLBATCH_SERVER="$url" "$MOLBATCH" submit "$work/batch.csv" --wait > /dev/null 2> "$work/submit.log"
  end=$(date +%s.%N)
  rate=$(echo "$N / ($end - $start)" | bc -l)
  rates+=("$rate")
  printf "e2e run %d: %d molecules in %.2f s, %.0f mol/s\n" "$run" "$N" "$(echo "$end - $start" | bc -l)" "$rate"
done
e2e=$(printf "%s\n" "${rates[@]}" | sort -g | sed -n "$(( (RUNS + 1) / 2 ))p")

echo "-- Python RDKit (multiprocessing, 2 processes)"
/usr/bin/python3 scripts/bench_python.py "$work/batch.smi" "$RUNS" | tee "$work/python.txt"
python=$(awk '/^python_mol_per_s/ {print $2}' "$work/python.txt")

echo
echo "== summary (median mol/s)"
printf "core (rayon, 2 cores)         %8.0f mol/s\n" "$core"
printf "end to end (molbatch serve)   %8.0f mol/s\n" "$e2e"
printf "python rdkit (2 processes)    %8.0f mol/s\n" "$python"
printf "core / python                 %8.2fx   (target >= 1.5x)\n" "$(echo "$core / $python" | bc -l)"
printf "core / end to end             %8.2fx   (target <= 1.2x)\n" "$(echo "$core / $e2e" | bc -l)"

echo
echo "-- queue on Postgres (single-molecule tasks through the scheduler's gRPC API)"
"$QUEUE" "${BENCH_QUEUE_TASKS:-2000}"
