# Shared by the benchmark scripts (sourced, with $work and $MOLBATCH set):
# `molbatch serve` started and stopped around a section, ports for services
# started as their own processes, and the work directory removed on exit.
serve_pid=""
cleanup() { [ -n "$serve_pid" ] && kill "$serve_pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$work"; }
trap cleanup EXIT
# Starts `molbatch serve` on a data directory of its own, with extra
# arguments; sets serve_url and serve_pid, and exports the admin key file.
start_serve() {
  local log="$work/serve-$1.log" dir="$work/data-$1-$RANDOM"; shift
  RUST_LOG=warn "$MOLBATCH" serve --data-dir "$dir" --http 127.0.0.1:0 "$@" 2> "$log" &
  serve_pid=$!
  for _ in $(seq 1 300); do grep -q "molbatch serving on" "$log" && break; sleep 0.1; done
  serve_url=$(sed -n 's/^molbatch serving on \([^ ]*\).*/\1/p' "$log")
  export MOLBATCH_API_KEY_FILE="$dir/admin.key"
}
stop_serve() { kill "$serve_pid" 2>/dev/null; wait "$serve_pid" 2>/dev/null || true; serve_pid=""; }
# Waits until job $1's automatic analyses are done, so they do not share the
# cores with what is timed next: polls every 0.5 s, $2 times at most (default
# 1200, ten minutes), the running serve or else $MOLBATCH_SERVER.
wait_analyses() {
  for kind in deduplication statistics; do
    for _ in $(seq 1 "${2:-1200}"); do
      MOLBATCH_SERVER="${serve_url:-${MOLBATCH_SERVER:-}}" "$MOLBATCH" analytics "$1" "$kind" | grep -q COMPLETE && break
      sleep 0.5
    done
  done
}
# The peak resident memory of process $1 so far, in MiB.
peak_rss_mib() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
# The same of the running `molbatch serve`.
serve_peak_rss_mib() { peak_rss_mib "$serve_pid"; }
# A free loopback port, for a service started as its own process.
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
# Waits until service $1 (its log $work/$1.log) accepts connections on 127.0.0.1 port $2.
wait_port() {
  for _ in $(seq 1 300); do (: > "/dev/tcp/127.0.0.1/$2") 2> /dev/null && return; sleep 0.1; done
  echo "$1 did not start: $(tail -n 3 "$work/$1.log")" >&2
  exit 1
}
