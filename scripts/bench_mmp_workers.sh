#!/usr/bin/env bash
# The mmp analysis's parts shared by analytics workers (issue 20 item 2;
# `BENCH_MMP_WORKERS=1 make bench`, or alone after `make bench`'s build): the
# first BENCH_MMP_WORKERS_MOLECULES (20,000) of moses/train.csv.gz through the
# four services as separate processes on Postgres, then the mmp analysis
# timed from RunAnalysis to COMPLETE with one analytics worker, and again with
# a second one started beside it. Each worker is held to one core
# (RAYON_NUM_THREADS=1, one task at a time), so on a 2-core machine the ratio
# shows what a second pod adds: the parts (fragmentation) are shared, the join
# (indexing, pairing, paging) runs on one worker. Both runs must find the same
# pairs and transforms. Numbers only, no asserts.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_MMP_WORKERS_MOLECULES:-20000}
DATA=${MOLBATCH_SHARED_DATA:-$(cd .. && pwd)/shared/data}
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release"
MOLBATCH="$BIN/molbatch"
PG_ADMIN=${MOLBATCH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
work=$(mktemp -d)
# shellcheck source=scripts/bench_lib.sh
. scripts/bench_lib.sh
export MOLBATCH_RESULT_CACHE=off

pids=()
db="molbatch_bench_mmp_workers_$$"
stop_all() {
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  wait 2> /dev/null || true
  psql "$PG_ADMIN" -qc "drop database if exists $db with (force)" > /dev/null 2>&1 || true
  cleanup
}
trap stop_all EXIT
trap "exit 143" TERM INT

# Starts analytics worker $1 on one core.
start_worker() {
  local port
  port=$(free_port)
  RAYON_NUM_THREADS=1 "$BIN/molbatch-analytics" --analytics-listen "127.0.0.1:$port" \
    --concurrent-chunks 1 --worker-id "$1" 2> "$work/$1.log" &
  pids+=($!)
  wait_port "$1" "$port"
  analytics_port=${analytics_port:-$port}
}
# Runs mmp on the job with parameter $1 (a new value starts a new run), timed
# from RunAnalysis to COMPLETE: "<seconds> <pairs> <transforms>".
timed_mmp() {
  local start
  start=$(date +%s.%N)
  "$MOLBATCH" analytics "$job" --run mmp --param "$1" --wait --output json > "$work/mmp.json"
  printf "%.1f %s\n" "$(echo "$(date +%s.%N) - $start" | bc -l)" "$(/usr/bin/python3 -c '
import json, sys
m = json.load(open(sys.argv[1]))["mmp"]
print(m.get("pairCount", 0), m.get("transformCount", 0))' "$work/mmp.json")"
}

{ zcat "$DATA/moses/train.csv.gz" || true; } | head -n $((N + 1)) > "$work/batch.csv"
N=$(($(wc -l < "$work/batch.csv") - 1))
echo "== mmp on $N MOSES molecules, parts shared by analytics workers of one core each ($(nproc) cores)"

psql "$PG_ADMIN" -qc "create database $db" > /dev/null
pg_url="${PG_ADMIN%/*}/$db"
storage_port=$(free_port); scheduler_port=$(free_port); gateway_port=$(free_port)
export MOLBATCH_STORAGE_URL="http://127.0.0.1:$storage_port"
export MOLBATCH_SCHEDULER_URL="http://127.0.0.1:$scheduler_port"
export RUST_LOG=warn
"$BIN/molbatch-storage" --storage-listen "127.0.0.1:$storage_port" \
  --storage-database-url "$pg_url" 2> "$work/storage.log" &
pids+=($!)
wait_port storage "$storage_port"
"$BIN/molbatch-scheduler" --scheduler-listen "127.0.0.1:$scheduler_port" \
  --scheduler-database-url "$pg_url" 2> "$work/scheduler.log" &
pids+=($!)
wait_port scheduler "$scheduler_port"
analytics_port=""
start_worker worker-a
"$BIN/molbatch-gateway" --http "127.0.0.1:$gateway_port" \
  --analytics-url "http://127.0.0.1:$analytics_port" \
  --bootstrap-key-file "$work/admin.key" 2> "$work/gateway.log" &
pids+=($!)
wait_port gateway "$gateway_port"
for _ in $(seq 1 100); do [ -s "$work/admin.key" ] && break; sleep 0.1; done
export MOLBATCH_SERVER="http://127.0.0.1:$gateway_port" MOLBATCH_API_KEY_FILE="$work/admin.key"

# Two workers compute the batch, so it does not take twice as long.
start_worker worker-b
"$MOLBATCH" submit "$work/batch.csv" --wait 2> "$work/submit.log" > "$work/job"
job=$(cat "$work/job")
wait_analyses "$job"
kill "${pids[-1]}"; wait "${pids[-1]}" 2> /dev/null || true; unset 'pids[-1]'

read -r one pairs_one transforms_one < <(timed_mmp max_cuts=3)
echo "one worker:  ${one} s, $pairs_one pairs, $transforms_one transforms"
start_worker worker-c
read -r two pairs_two transforms_two < <(timed_mmp max_variable_heavies=10)
echo "two workers: ${two} s, $pairs_two pairs, $transforms_two transforms"
echo "one / two workers: $(echo "scale=2; $one / $two" | bc)x"
if [ "$pairs_one $transforms_one" != "$pairs_two $transforms_two" ]; then
  echo "the two runs differ"
fi
