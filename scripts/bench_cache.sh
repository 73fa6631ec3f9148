#!/usr/bin/env bash
# The result cache across jobs (issue 20 item 3), on the production path
# (`molbatch serve` on Postgres + Redis, the cache scoped per tenant): all
# 176,074 molecules of moses/test.csv.gz, then the same file again, then a
# file overlapping it by 90% (its last 10% replaced by as many molecules of
# moses/train), each timed by `molbatch submit --wait` with the automatic
# analyses of the previous job finished first. The second job's results and
# the overlapping job's first 90% must equal the first job's byte for byte
# (the CSV of every column, fingerprints included). Called by bench.sh;
# runs alone after `make bench`'s build.
set -euo pipefail
cd "$(dirname "$0")/.."

DATA=${MOLBATCH_SHARED_DATA:-$(cd .. && pwd)/shared/data}
TARGET=${CARGO_TARGET_DIR:-target}
MOLBATCH="$TARGET/release/molbatch"
PG_ADMIN=${MOLBATCH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${MOLBATCH_TEST_REDIS_URL:-redis://127.0.0.1:6379}
work=$(mktemp -d)
# shellcheck source=scripts/bench_lib.sh
. scripts/bench_lib.sh

{ zcat "$DATA/moses/test.csv.gz" || true; } > "$work/library.csv"
total=$(($(wc -l < "$work/library.csv") - 1))
keep=$((total * 9 / 10))
{
  head -n $((keep + 1)) "$work/library.csv"
  { zcat "$DATA/moses/train.csv.gz" | tail -n +2 || true; } | head -n $((total - keep))
} > "$work/overlap.csv"
echo "== the result cache: $total molecules of moses/test.csv.gz, again, and 90% overlapping ($keep the same), Postgres + Redis"

db="molbatch_bench_cache_$$"
psql "$PG_ADMIN" -qc "create database $db" > /dev/null
MOLBATCH_RESULT_CACHE=tenant start_serve cache --postgres "${PG_ADMIN%/*}/$db" --redis "$REDIS_URL"

# Submits $1 and waits for it and its automatic analyses; prints the seconds
# of the submission (the job id goes to $work/job).
timed_submit() {
  local start end
  start=$(date +%s.%N)
  MOLBATCH_SERVER="$serve_url" "$MOLBATCH" submit "$1" --wait 2> /dev/null > "$work/job"
  end=$(date +%s.%N)
  wait_analyses "$(cat "$work/job")"
  echo "$end - $start" | bc -l
}
results() {
  MOLBATCH_SERVER="$serve_url" "$MOLBATCH" results "$1" --format csv --fingerprints -o "$2"
}

t_first=$(timed_submit "$work/library.csv"); first=$(cat "$work/job")
t_again=$(timed_submit "$work/library.csv"); again=$(cat "$work/job")
t_overlap=$(timed_submit "$work/overlap.csv"); overlap=$(cat "$work/job")
peak_rss=$(serve_peak_rss_mib)
results "$first" "$work/first.csv"
results "$again" "$work/again.csv"
results "$overlap" "$work/overlap-results.csv"
stop_serve
psql "$PG_ADMIN" -qc "drop database $db with (force)" > /dev/null

same_again=no; cmp -s "$work/first.csv" "$work/again.csv" && same_again=yes
same_overlap=no
cmp -s <(head -n $((keep + 1)) "$work/first.csv") <(head -n $((keep + 1)) "$work/overlap-results.csv") \
  && same_overlap=yes
printf "first submission        %8.1f s  %6.0f mol/s\n" "$t_first" "$(echo "$total / $t_first" | bc -l)"
printf "the same again          %8.1f s  %6.0f mol/s  %5.1fx faster, results identical: %s\n" \
  "$t_again" "$(echo "$total / $t_again" | bc -l)" "$(echo "$t_first / $t_again" | bc -l)" "$same_again"
printf "90%% overlapping         %8.1f s  %6.0f mol/s  %5.1fx faster (target >= 5x), overlapping results identical: %s\n" \
  "$t_overlap" "$(echo "$total / $t_overlap" | bc -l)" "$(echo "$t_first / $t_overlap" | bc -l)" "$same_overlap"
printf "peak RSS of molbatch serve (all four services) over the three jobs: %s MiB\n" "$peak_rss"
