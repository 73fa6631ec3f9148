#!/usr/bin/env bash
# A million molecules end to end on the production path (issue 20 item 1;
# `BENCH_MILLION=1 make bench`, or alone after `make bench`'s build): the
# first BENCH_MILLION_MOLECULES (1,000,000) of moses/train.csv.gz through the
# four services as separate processes (molbatch-gateway, -scheduler,
# -analytics, -storage, as on Kubernetes) on Postgres + Redis, the result
# cache off. Prints the throughput, every process's resident memory sampled
# through the run (the peak, and the size at each quarter of the batch: the
# gateway's, scheduler's and storage's must not grow with it), the time of the
# automatic analyses, bytes in Postgres per molecule, the time of the first
# and the last page of results (input order and sorted), and a full CSV
# export's time and each process's peak memory while it is written. Then the
# embedded path (`molbatch serve` on SQLite, one process) on all 176,074
# molecules of moses/test.csv.gz (BENCH_MILLION_EMBEDDED_MOLECULES) with the
# same sampling. Takes over an hour
# on 2 cores; numbers only, no asserts.
set -euo pipefail
cd "$(dirname "$0")/.."

N=${BENCH_MILLION_MOLECULES:-1000000}
DATA=${MOLBATCH_SHARED_DATA:-$(cd .. && pwd)/shared/data}
TARGET=${CARGO_TARGET_DIR:-target}
BIN="$TARGET/release"
MOLBATCH="$BIN/molbatch"
PG_ADMIN=${MOLBATCH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${MOLBATCH_TEST_REDIS_URL:-redis://127.0.0.1:6379}
work=$(mktemp -d)
# shellcheck source=scripts/bench_lib.sh
. scripts/bench_lib.sh
export MOLBATCH_RESULT_CACHE=off

# The services' pids by name, and the memory sampler's.
declare -A pids=()
sampler=""
db="molbatch_bench_million_$$"
stop_all() {
  [ -n "$sampler" ] && kill "$sampler" 2> /dev/null
  for pid in "${pids[@]}"; do kill "$pid" 2> /dev/null || true; done
  wait 2> /dev/null || true
  psql "$PG_ADMIN" -qc "drop database if exists $db with (force)" > /dev/null 2>&1 || true
  cleanup
}
trap stop_all EXIT
trap "exit 143" TERM INT

# Every 2 s, each named process's resident memory: "seconds name KiB".
sample_memory() {
  local start=$SECONDS name
  while :; do
    for name in "$@"; do
      awk -v t=$((SECONDS - start)) -v n="$name" '/^VmRSS:/ {print t, n, $2}' \
        "/proc/${pids[$name]}/status" 2> /dev/null || true
    done
    sleep 2
  done
}
# Clears the kernel's record of each process's peak memory (VmHWM), so the
# next phase's peak can be read on its own.
reset_peaks() { for pid in "$@"; do echo 5 > "/proc/$pid/clear_refs"; done; }
# The table of a sample file: per process, the peak of the samples and the
# sample nearest each quarter of [0, $2] seconds, in MiB.
memory_table() {
  awk -v end="$2" '
    { if (!($2 in peak)) order[++n] = $2
      if ($3 > peak[$2]) peak[$2] = $3
      for (q = 1; q <= 4; q++) {
        d = $1 - end * q / 4; if (d < 0) d = -d
        if (!(($2, q) in best) || d < best[$2, q]) { best[$2, q] = d; at[$2, q] = $3 }
      } }
    END {
      printf "%-12s %9s %9s %9s %9s %9s\n", "process", "peak", "25%", "50%", "75%", "100%"
      for (i = 1; i <= n; i++) { p = order[i]
        printf "%-12s %5.0f MiB %5.0f MiB %5.0f MiB %5.0f MiB %5.0f MiB\n", p, peak[p] / 1024,
          at[p, 1] / 1024, at[p, 2] / 1024, at[p, 3] / 1024, at[p, 4] / 1024 } }' "$1"
}
# One GET of the REST API, timed: "<seconds> <results on the page>".
timed_get() {
  local start body
  start=$(date +%s.%N)
  body=$(curl -sf -H "Authorization: Bearer $key" "$gateway_url$1")
  printf "%.3f %s\n" "$(echo "$(date +%s.%N) - $start" | bc -l)" \
    "$(echo "$body" | /usr/bin/python3 -c 'import json,sys; print(len(json.load(sys.stdin).get("results", [])))')"
}

{ zcat "$DATA/moses/train.csv.gz" || true; } | head -n $((N + 1)) > "$work/million.csv"
N=$(($(wc -l < "$work/million.csv") - 1))
echo "== $N molecules from moses/train.csv.gz through the four services on Postgres + Redis, $(nproc) cores"

psql "$PG_ADMIN" -qc "create database $db" > /dev/null
pg_url="${PG_ADMIN%/*}/$db"
storage_port=$(free_port); scheduler_port=$(free_port); analytics_port=$(free_port); gateway_port=$(free_port)
export MOLBATCH_STORAGE_URL="http://127.0.0.1:$storage_port"
export MOLBATCH_SCHEDULER_URL="http://127.0.0.1:$scheduler_port"
export RUST_LOG=warn
"$BIN/molbatch-storage" --storage-listen "127.0.0.1:$storage_port" \
  --storage-database-url "$pg_url" --storage-cache-url "$REDIS_URL" 2> "$work/storage.log" &
pids[storage]=$!
wait_port storage "$storage_port"
"$BIN/molbatch-scheduler" --scheduler-listen "127.0.0.1:$scheduler_port" \
  --scheduler-database-url "$pg_url" 2> "$work/scheduler.log" &
pids[scheduler]=$!
wait_port scheduler "$scheduler_port"
"$BIN/molbatch-analytics" --analytics-listen "127.0.0.1:$analytics_port" 2> "$work/analytics.log" &
pids[analytics]=$!
wait_port analytics "$analytics_port"
"$BIN/molbatch-gateway" --http "127.0.0.1:$gateway_port" \
  --analytics-url "http://127.0.0.1:$analytics_port" --redis "$REDIS_URL" \
  --redis-prefix "molbatch-bench-$$:" --bootstrap-key-file "$work/admin.key" 2> "$work/gateway.log" &
pids[gateway]=$!
wait_port gateway "$gateway_port"
for _ in $(seq 1 100); do [ -s "$work/admin.key" ] && break; sleep 0.1; done
key=$(cat "$work/admin.key")
gateway_url="http://127.0.0.1:$gateway_port"
export MOLBATCH_SERVER="$gateway_url" MOLBATCH_API_KEY_FILE="$work/admin.key"

names=(gateway scheduler storage analytics)
sample_memory "${names[@]}" > "$work/rss.txt" &
sampler=$!

start=$(date +%s.%N)
"$MOLBATCH" submit "$work/million.csv" --wait 2> "$work/submit.log" > "$work/job"
end=$(date +%s.%N)
job=$(cat "$work/job")
t_batch=$(echo "$end - $start" | bc -l)
batch_secs=$(printf "%.0f" "$t_batch")
printf "batch: %.1f s, %.0f mol/s\n" "$t_batch" "$(echo "$N / $t_batch" | bc -l)"

# The automatic analyses of the batch, each from its creation to its end.
a_start=$(date +%s.%N)
wait_analyses "$job" 7200
printf "automatic analyses (deduplication, statistics): done %.1f s after the batch\n" \
  "$(echo "$(date +%s.%N) - $a_start" | bc -l)"
kill "$sampler"; wait "$sampler" 2> /dev/null || true; sampler=""

echo "-- resident memory through the batch and its analyses (sampled every 2 s; quarters of the batch's $batch_secs s)"
memory_table "$work/rss.txt" "$batch_secs"

echo "-- Postgres"
psql "$PG_ADMIN" -Atc "select pg_database_size('$db')" | awk -v n="$N" \
  '{printf "database: %.0f MiB, %.0f bytes per molecule\n", $1 / 1048576, $1 / n}'
psql "$pg_url" -Atc "select s.nspname || '.' || c.relname, pg_total_relation_size(c.oid)
  from pg_class c join pg_namespace s on s.oid = c.relnamespace
  where c.relkind = 'r' and s.nspname not in ('pg_catalog', 'information_schema')
  order by 2 desc limit 4" \
  | awk -F'|' -v n="$N" '{printf "  %-32s %7.0f MiB, %5.0f bytes per molecule\n", $1, $2 / 1048576, $2 / n}'

echo "-- pages of 100 results over REST (seconds, results)"
echo "input order, first page:       $(timed_get "/v1/jobs/$job/results?pageSize=100")"
echo "input order, last page:        $(timed_get "/v1/jobs/$job/results?pageSize=100&pageToken=$((N - 100))")"
echo "by molWt desc, first request:  $(timed_get "/v1/jobs/$job/results?pageSize=100&orderBy=molWt%20desc")"
echo "by molWt desc, again:          $(timed_get "/v1/jobs/$job/results?pageSize=100&orderBy=molWt%20desc")"
echo "by molWt asc (the other end):  $(timed_get "/v1/jobs/$job/results?pageSize=100&orderBy=molWt%20asc")"

echo "-- a full CSV export (every column but fingerprints), each process's peak memory while it is written"
reset_peaks "${pids[@]}"
start=$(date +%s.%N)
"$MOLBATCH" export "$job" --format csv -o "$work/export.csv" 2> "$work/export.log"
printf "export: %.1f s, %d MiB, %d rows\n" "$(echo "$(date +%s.%N) - $start" | bc -l)" \
  "$(($(stat -c %s "$work/export.csv") >> 20))" "$(($(wc -l < "$work/export.csv") - 1))"
for name in "${names[@]}"; do printf "  %-10s peak %5s MiB\n" "$name" "$(peak_rss_mib "${pids[$name]}")"; done
for name in "${names[@]}"; do kill "${pids[$name]}"; done
wait "${pids[@]}" 2> /dev/null || true
pids=()
psql "$PG_ADMIN" -qc "drop database $db with (force)" > /dev/null
rm -f "$work/million.csv" "$work/export.csv"

# ---------------------------------------------------------------------------
echo
{ zcat "$DATA/moses/test.csv.gz" || true; } \
  | head -n $((${BENCH_MILLION_EMBEDDED_MOLECULES:-1000000000} + 1)) > "$work/test.csv"
n_test=$(($(wc -l < "$work/test.csv") - 1))
echo "== $n_test molecules from moses/test.csv.gz through molbatch serve (embedded: SQLite, in-process cache)"
start_serve million-embedded
pids[serve]=$serve_pid
sample_memory serve > "$work/rss-serve.txt" &
sampler=$!
start=$(date +%s.%N)
MOLBATCH_SERVER="$serve_url" "$MOLBATCH" submit "$work/test.csv" --wait 2> /dev/null > "$work/job"
t_embedded=$(echo "$(date +%s.%N) - $start" | bc -l)
job=$(cat "$work/job")
printf "batch: %.1f s, %.0f mol/s\n" "$t_embedded" "$(echo "$n_test / $t_embedded" | bc -l)"
wait_analyses "$job"
kill "$sampler"; wait "$sampler" 2> /dev/null || true; sampler=""
memory_table "$work/rss-serve.txt" "$(printf "%.0f" "$t_embedded")"
reset_peaks "$serve_pid"
start=$(date +%s.%N)
MOLBATCH_SERVER="$serve_url" "$MOLBATCH" export "$job" --format csv -o "$work/export.csv" 2> /dev/null
printf "CSV export: %.1f s, %d MiB, %d rows, peak %s MiB while it is written\n" \
  "$(echo "$(date +%s.%N) - $start" | bc -l)" "$(($(stat -c %s "$work/export.csv") >> 20))" \
  "$(($(wc -l < "$work/export.csv") - 1))" "$(serve_peak_rss_mib)"
pids=()
stop_serve
