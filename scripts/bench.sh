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
# scheduler on Postgres with 1, 16 and 64 workers (goal: 64 workers >= 1,000
# tasks/s); then how far the queue's
# estimated start and end times are from the actual ones; then the synchronous
# AnalyzeMolecules call, one molecule per REST request at 200/s offered,
# p50/p99 against the core alone; then substructure search beside RDKit's
# SubstructLibrary on the same molecules; then (see below) 100,000
# molecules embedded vs Postgres+Redis, the analyses of that batch vs Python,
# the web app's first results page and chemical-space map on that batch; job
# status under load, and honest callers' rate while a forger floods the
# gateway with wrong secrets; and similarity search over MOSES. Numbers
# only, no asserts.
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
# shellcheck source=scripts/bench_lib.sh
. scripts/bench_lib.sh
# Every job computes every molecule: the result cache across jobs would
# serve the repeated runs below (scripts/bench_cache.sh measures it).
export MOLBATCH_RESULT_CACHE=off

{ zcat "$DATA/moses/test.csv.gz" || true; } | head -n $((N + 1)) > "$work/batch.csv"  # zcat stops on SIGPIPE
tail -n +2 "$work/batch.csv" > "$work/batch.smi"
echo "== $N molecules from moses/test.csv.gz, $RUNS runs each, $(nproc) cores"

echo "-- chemistry core (rayon)"
"$CORE" "$work/batch.smi" "$RUNS" | tee "$work/core.txt"
core=$(awk '/^core_mol_per_s/ {print $2}' "$work/core.txt")

echo "-- end to end through molbatch serve"
start_serve e2e
rates=()
for run in $(seq 1 "$RUNS"); do
  start=$(date +%s.%N)
  MOLBATCH_SERVER="$serve_url" "$MOLBATCH" submit "$work/batch.csv" --wait > /dev/null 2> "$work/submit.log"
  end=$(date +%s.%N)
  rate=$(echo "$N / ($end - $start)" | bc -l)
  rates+=("$rate")
  printf "e2e run %d: %d molecules in %.2f s, %.0f mol/s\n" "$run" "$N" "$(echo "$end - $start" | bc -l)" "$rate"
done
e2e=$(printf "%s\n" "${rates[@]}" | sort -g | sed -n "$(( (RUNS + 1) / 2 ))p")
# Stop it before Python runs: each completed job starts its automatic
# analyses, which would otherwise share the cores with the Python bench.
stop_serve

echo "-- Python RDKit (multiprocessing, 2 processes)"
/usr/bin/python3 scripts/bench_python.py "$work/batch.smi" "$RUNS" | tee "$work/python.txt"
python=$(awk '/^python_mol_per_s/ {print $2}' "$work/python.txt")

echo
echo "== summary (median mol/s)"
printf "core (rayon, 2 cores)         %8.0f mol/s\n" "$core"
printf "end to end (molbatch serve)   %8.0f mol/s\n" "$e2e"
printf "python rdkit (2 processes)    %8.0f mol/s\n" "$python"
printf "core / python                 %8.2fx   (target >= 2.5x, issue 20)\n" "$(echo "$core / $python" | bc -l)"
printf "core / end to end             %8.2fx   (target <= 1.2x)\n" "$(echo "$core / $e2e" | bc -l)"

echo
echo "-- queue on Postgres (single-molecule tasks through the scheduler's gRPC API; goal: 64 workers >= 1,000 tasks/s)"
"$QUEUE" "${BENCH_QUEUE_TASKS:-6000}" | tee "$work/queue.txt"

echo
echo "-- queue estimates: estimated vs actual start and end of ${BENCH_ESTIMATE_JOBS:-5} jobs queued behind a running one (molbatch serve)"
start_serve estimate
"$TARGET/release/examples/estimate_bench" \
  "$serve_url" "$work/batch.smi" "${BENCH_ESTIMATE_JOBS:-5}" "${BENCH_ESTIMATE_MOLECULES:-4000}"
stop_serve

echo
echo "-- AnalyzeMolecules: one molecule per REST call at ${BENCH_ANALYZE_RATE:-200} requests/s offered (open loop), vs the core alone"
start_serve analyze
"$TARGET/release/examples/analyze_bench" \
  "$serve_url" "$work/batch.smi" "${BENCH_ANALYZE_RATE:-200}" "${BENCH_ANALYZE_SECONDS:-20}"
stop_serve

echo
echo "-- substructure search: 48 queries over the $N molecules (every hit), beside RDKit's SubstructLibrary, both cores each"
"$TARGET/release/examples/substructure_bench" "$work/batch.smi" \
  crates/chem/tests/fixtures/substructure_queries.tsv "$RUNS"

# ---------------------------------------------------------------------------
# 100,000 molecules end to end (BENCH_BIG_MOLECULES), embedded against
# Postgres + Redis, with the queue's share of the batch time; then the four
# cheap-to-medium analyses of that batch against the same steps in Python
# (RDKit + pandas + scikit-learn) in the same run; then similarity search over
# all of MOSES train (BENCH_SKIP_SEARCH=1 skips it).
BIG=${BENCH_BIG_MOLECULES:-100000}
PG_ADMIN=${MOLBATCH_TEST_POSTGRES_URL:-postgres://postgres@127.0.0.1:5432/test}
REDIS_URL=${MOLBATCH_TEST_REDIS_URL:-redis://127.0.0.1:6379}
{ zcat "$DATA/moses/train.csv.gz" || true; } | head -n $((BIG + 1)) > "$work/big.csv"
echo
echo "== $BIG molecules from moses/train.csv.gz end to end"

# Submits big.csv and waits; prints the seconds (it runs in a command
# substitution, so the job id goes to $work/big_job).
run_big() {
  local start end
  start=$(date +%s.%N)
  MOLBATCH_SERVER="$serve_url" "$MOLBATCH" submit "$work/big.csv" --wait 2> /dev/null > "$work/big_job"
  end=$(date +%s.%N)
  echo "$end - $start" | bc -l
}

start_serve embedded
t_embedded=$(run_big)
embedded_job=$(cat "$work/big_job")
printf "embedded (SQLite, in-process cache)  %8.1f s  %6.0f mol/s  peak RSS %s MiB\n" "$t_embedded" "$(echo "$BIG / $t_embedded" | bc -l)" "$(serve_peak_rss_mib)"

# The analyses of the embedded batch are timed before anything else runs: the
# automatic deduplication and statistics start as the job completes, and the
# Postgres run must not share the cores with them. Python runs after it.
echo "-- analyses of the $BIG-molecule batch (embedded)"
# When an analysis was created and when it finished, as epoch seconds.
analysis_times() {
  MOLBATCH_SERVER="$serve_url" "$MOLBATCH" --output json analytics "$embedded_job" "$1" \
    | /usr/bin/python3 -c 'import json,sys,datetime as d
a=json.load(sys.stdin); p=lambda t: d.datetime.fromisoformat(t.replace("Z","+00:00")).timestamp()
print(p(a["createTime"]), p(a["updateTime"]))'
}
wait_analyses "$embedded_job"
MOLBATCH_SERVER="$serve_url" "$MOLBATCH" analytics "$embedded_job" --run scaffolds --wait > /dev/null
MOLBATCH_SERVER="$serve_url" "$MOLBATCH" analytics "$embedded_job" --run chemical_space --wait > /dev/null
# Each analysis's own create-to-done time (queue wait and result loading
# included); the total counts the two automatic ones, which run side by
# side, by the wall time from the first start to the last finish.
read -r dedup_start dedup_end <<< "$(analysis_times deduplication)"
read -r stats_start stats_end <<< "$(analysis_times statistics)"
read -r scaf_start scaf_end <<< "$(analysis_times scaffolds)"
read -r space_start space_end <<< "$(analysis_times chemical_space)"
printf "molbatch %-16s %8.2f s\n" deduplication "$(echo "$dedup_end - $dedup_start" | bc -l)" \
  statistics "$(echo "$stats_end - $stats_start" | bc -l)" \
  scaffolds "$(echo "$scaf_end - $scaf_start" | bc -l)" \
  chemical_space "$(echo "$space_end - $space_start" | bc -l)"
automatic=$(/usr/bin/python3 -c "print(max($dedup_end, $stats_end) - min($dedup_start, $stats_start))")
printf "molbatch %-16s %8.2f s  (deduplication and statistics side by side, first start to last finish)\n" \
  automatic "$automatic"
ours=$(echo "$automatic + $scaf_end - $scaf_start + $space_end - $space_start" | bc -l)
MOLBATCH_SERVER="$serve_url" "$MOLBATCH" results "$embedded_job" --format csv --fingerprints -o "$work/big-results.csv"

# The web app on the same batch (web/tests/bench/first-page.ts): opening the
# job's page in headless Chromium to its first results page with all 50
# structures drawn, the REST result pages alone (input order, first sort,
# sorted), and the gzip size of the app's JavaScript.
echo
echo "-- the web app on the $BIG-molecule batch (headless Chromium)"
(cd web && MOLBATCH_TEST_SERVER="$serve_url" MOLBATCH_TEST_ADMIN_KEY="$(cat "$MOLBATCH_API_KEY_FILE")" \
  BENCH_JOB_ID="$embedded_job" npm run --silent bench:browser -- tests/bench/first-page.ts 2>&1 \
  | grep -E "REST result pages|first results page with|app JavaScript") || echo "the web app bench failed"
# The chemical-space map of the same batch (web/tests/bench/chemical-space.ts):
# navigation to the frame with every point drawn, frame times while panning
# and zooming.
(cd web && MOLBATCH_TEST_SERVER="$serve_url" MOLBATCH_TEST_ADMIN_KEY="$(cat "$MOLBATCH_API_KEY_FILE")" \
  BENCH_JOB_ID="$embedded_job" npm run --silent bench:browser -- tests/bench/chemical-space.ts 2>&1 \
  | grep -E "GetAnalysis chemical_space|navigation to the frame|panning|zooming") || echo "the chemical-space bench failed"

# The batch report of the same batch: HTML and PDF through `molbatch export`,
# each timed from CreateExport to the downloaded file. Statistics, scaffolds
# and chemical space are stored by now, so this is the report's own cost (one
# pass over the results, structures, plots, layout).
echo
echo "-- the batch report of the $BIG-molecule batch (target < 30 s each)"
for format in report report_pdf; do
  start=$(date +%s.%N)
  if MOLBATCH_SERVER="$serve_url" "$MOLBATCH" export "$embedded_job" --format "$format" \
      -o "$work/big.$format" 2> "$work/export-$format.log"; then
    end=$(date +%s.%N)
    printf "report %-10s %8.2f s  %9d bytes\n" "$format" "$(echo "$end - $start" | bc -l)" \
      "$(stat -c %s "$work/big.$format")"
  else
    echo "report $format failed: $(tail -n 1 "$work/export-$format.log")"
  fi
done
stop_serve

db="molbatch_bench_$$"
psql "$PG_ADMIN" -qc "create database $db" > /dev/null
pg_url="${PG_ADMIN%/*}/$db"
start_serve production --postgres "$pg_url" --redis "$REDIS_URL"
t_production=$(run_big)
rss_production=$(serve_peak_rss_mib)
stop_serve
psql "$PG_ADMIN" -qc "drop database $db with (force)" > /dev/null
printf "Postgres + Redis                     %8.1f s  %6.0f mol/s  peak RSS %s MiB\n" "$t_production" "$(echo "$BIG / $t_production" | bc -l)" "$rss_production"
printf "Postgres+Redis / embedded            %8.2fx\n" "$(echo "$t_production / $t_embedded" | bc -l)"
# The queue's own cost: one lease + one completion per 1,000-molecule chunk
# at the measured single-worker rate of the queue bench above.
queue_rate=$(awk '/ 1 worker\(s\):/ {print $(NF-1)}' "$work/queue.txt" 2>/dev/null || true)
if [ -n "$queue_rate" ]; then
  chunks=$(( (BIG + 999) / 1000 ))
  printf "queue overhead: %d tasks at %.0f tasks/s = %.3f s, %.3f%% of the Postgres batch (target < 2%%)\n" \
    "$chunks" "$queue_rate" "$(echo "$chunks / $queue_rate" | bc -l)" \
    "$(echo "100 * $chunks / $queue_rate / $t_production" | bc -l)"
fi

echo
echo "-- the same analyses in Python (RDKit + pandas + scikit-learn)"
/usr/bin/python3 scripts/bench_analyses.py "$work/big-results.csv" | tee "$work/py-analyses.txt"
theirs=$(awk '/^python_total_s/ {print $2}' "$work/py-analyses.txt")
printf "analyses total: molbatch %.2f s, Python %.2f s, speed-up %.2fx (target >= 3x)\n" \
  "$ours" "$theirs" "$(echo "$theirs / $ours" | bc -l)"

# ---------------------------------------------------------------------------
# Job status under concurrent load on loopback (the API's hottest path): gRPC
# GetJob from a Rust load client and REST GET /v1/jobs/{id} from wrk, both
# authenticated with an API key, against `molbatch serve` on embedded storage.
echo
echo "-- job status under load (target >= 5,000 req/s, p99 < 25 ms)"
start_serve load
printf 'CCO\nc1ccccc1\n' > "$work/two.smi"
load_job=$(MOLBATCH_SERVER="$serve_url" "$MOLBATCH" submit "$work/two.smi" --wait 2> /dev/null)
# The default tenant's rate limit would otherwise be what is measured.
MOLBATCH_SERVER="$serve_url" "$MOLBATCH" admin tenants update default \
  --requests-per-second 1000000 --burst 1000000 > /dev/null
key=$(cat "$MOLBATCH_API_KEY_FILE")
# As fast as answers come (saturation), then at the target's 5,000 req/s
# offered on a fixed schedule (latency at that load).
for rate in 0 5000; do
  MOLBATCH_API_KEY="$key" "$TARGET/release/examples/get_job_load" "$serve_url" "$load_job" \
    "${BENCH_LOAD_SECONDS:-10}" 64 4 "$rate"
done
if command -v wrk > /dev/null; then
  wrk -t 2 -c 64 -d "${BENCH_LOAD_SECONDS:-10}s" --latency -H "Authorization: Bearer $key" \
    "$serve_url/v1/jobs/$load_job" | sed -n '/Latency Distribution/,/Requests\/sec/p'
else
  echo "wrk not installed (make deps installs it): REST load skipped"
fi
echo
echo "-- honest callers while a forger sends ${BENCH_FORGED_RATE:-1000} wrong secrets/s for their key id (Argon2 bounded per key id and address)"
MOLBATCH_API_KEY="$key" "$TARGET/release/examples/forged_key_load" "$serve_url" "$load_job" \
  "${BENCH_LOAD_SECONDS:-10}" "${BENCH_FORGED_RATE:-1000}" "$serve_pid"
stop_serve

if [ "${BENCH_SKIP_SEARCH:-0}" != 1 ]; then
  echo
  echo "-- similarity search over MOSES train (fingerprints cached under $TARGET/bench-data)"
  "$TARGET/release/examples/search_bench" --cache-dir "$TARGET/bench-data"
fi

# ---------------------------------------------------------------------------
# The result cache across jobs (BENCH_SKIP_CACHE=1 skips it): MOSES test
# submitted, submitted again and submitted 90% overlapping, on Postgres +
# Redis, with the results compared (scripts/bench_cache.sh).
if [ "${BENCH_SKIP_CACHE:-0}" != 1 ]; then
  echo
  MOLBATCH_RESULT_CACHE=tenant scripts/bench_cache.sh
fi

# ---------------------------------------------------------------------------
# Structure-activity (BENCH_SKIP_SAR=1 skips it): the mmp analysis (pipeline
# with the activity column, fragmentation, pairing, activity cliffs) per
# ChEMBL activity set with the agreement of the cliff flags with
# MoleculeACE's cliff_mol labels, and for CHEMBL214_Ki the rgroups analysis
# (proposed Murcko core, and the arylpiperazine core c1ccc(N2CCNCC2)cc1);
# then MMP fragment + index of all five sets
# together, and mmpdb's fragment + index of the same standardised SMILES in
# the same run (scripts/mmp_fixtures.py says how to install mmpdb on
# Debian's RDKit; MMPDB overrides its path), with the ratio.
if [ "${BENCH_SKIP_SAR:-0}" != 1 ]; then
  echo
  echo "== structure-activity on shared/data/chembl-activity"
  cargo build --release -q -p molbatch-analytics --example sar_bench
  sar_data="$DATA/chembl-activity"
  sar_sets=(CHEMBL214_Ki CHEMBL2047_EC50 CHEMBL237_EC50 CHEMBL1862_Ki CHEMBL4203_Ki)
  sar_files=()
  for set in "${sar_sets[@]}"; do sar_files+=("$sar_data/$set.csv"); done
  # Through a file, not `tee /dev/stderr`: reopening stderr truncates it when
  # the bench's output is redirected to a log file.
  "$TARGET/release/examples/sar_bench" --smi="$work/sar_all.smi" "${sar_files[@]}" 2>&1 \
    | tee "$work/sar.txt"
  sar_out=$(cat "$work/sar.txt")
  mmpdb="${MMPDB:-/root/.cache/molbatch/mmpdb-venv/bin/mmpdb}"
  if [ -x "$mmpdb" ]; then
    start=$(date +%s.%N)
    "$mmpdb" fragment "$work/sar_all.smi" -o "$work/sar_all.fragdb" --num-cuts 3 \
      --max-heavies none --max-rotatable-bonds 1000 --salt-remover '<none>' -j "$(nproc)" \
      > /dev/null 2>&1
    "$mmpdb" index "$work/sar_all.fragdb" --out csv -o "$work/sar_all.pairs.csv" \
      --max-variable-heavies 10 > /dev/null 2>&1
    mmpdb_s=$(echo "$(date +%s.%N) - $start" | bc)
    ours_s=$(echo "$sar_out" | sed -n 's/.*MMP fragment+index \([0-9.]*\) s.*/\1/p')
    echo "mmpdb fragment+index of the same molecules: ${mmpdb_s} s ($(wc -l < "$work/sar_all.pairs.csv") pair rows)"
    echo "mmpdb / molbatch: $(echo "scale=1; $mmpdb_s / $ours_s" | bc)x"
  else
    echo "mmpdb not installed at $mmpdb: MMP comparison skipped"
  fi
fi

# ---------------------------------------------------------------------------
# Matched pairs at scale (BENCH_MMP_SCALE=1; about an hour with mmpdb):
# the mmp analysis on 50,000 MOSES molecules beside mmpdb 3.1.4, then alone on
# 500,000 under a 4 GiB cap: scripts/bench_mmp.sh.
if [ "${BENCH_MMP_SCALE:-0}" = 1 ]; then
  echo
  scripts/bench_mmp.sh
fi

# ---------------------------------------------------------------------------
# The mmp analysis's parts shared by analytics workers (BENCH_MMP_WORKERS=1;
# a few minutes): one worker of one core against two, on Postgres:
# scripts/bench_mmp_workers.sh.
if [ "${BENCH_MMP_WORKERS:-0}" = 1 ]; then
  echo
  scripts/bench_mmp_workers.sh
fi

# ---------------------------------------------------------------------------
# A million molecules on the production path, with every process's memory
# sampled (BENCH_MILLION=1; over an hour on 2 cores): scripts/bench_million.sh.
if [ "${BENCH_MILLION:-0}" = 1 ]; then
  echo
  scripts/bench_million.sh
fi
