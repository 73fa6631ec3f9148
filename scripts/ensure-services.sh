#!/usr/bin/env bash
# Makes sure PostgreSQL (127.0.0.1:5432, trust auth for local tests) and Redis
# (127.0.0.1:6379) are up, starting them if they are not. Used by `make test`.
set -euo pipefail

wait_for() { # command... : retries for up to 30 s
  for _ in $(seq 1 60); do "$@" >/dev/null 2>&1 && return 0; sleep 0.5; done
  return 1
}

if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "starting PostgreSQL"
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for pg_isready -h 127.0.0.1 -p 5432 || { echo "PostgreSQL did not start" >&2; exit 1; }
fi
# A `test` database for tests that create their own databases from it.
if ! psql -h 127.0.0.1 -U postgres -d test -c 'select 1' >/dev/null 2>&1; then
  psql -h 127.0.0.1 -U postgres -c 'create database test' >/dev/null 2>&1 \
    || su postgres -c "psql -c 'create database test'" >/dev/null 2>&1 || true
fi

if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "starting Redis"
  mkdir -p /var/lib/redis /var/log/redis
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/molbatch-test.log
  wait_for redis-cli -h 127.0.0.1 -p 6379 ping || { echo "Redis did not start" >&2; exit 1; }
fi
echo "PostgreSQL and Redis are up"
