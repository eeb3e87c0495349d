#!/usr/bin/env bash
# A throwaway PostgreSQL server for the test suite: installed from Debian's packages when missing,
# initialised in a temporary directory and listening on loopback only.
#   scripts/postgres.sh start DIR PORT   -> prints nothing, server running, superuser "postgres", trust auth
#   scripts/postgres.sh stop DIR
#   scripts/postgres.sh halt DIR         -> the server stops (pg_ctl stop -m fast), its data stays
#   scripts/postgres.sh resume DIR PORT  -> the halted server starts again on its data
# POSTGRES_OPTIONS adds server settings to start and resume (the benches: "-c shared_buffers=6GB").
set -euo pipefail

command=${1:?start|stop}
dir=${2:?data directory}

find_bin() {
  local candidate
  candidate=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -z "$candidate" ]]; then
    echo "PostgreSQL is not installed; installing Debian's postgresql package" >&2
    if [[ $(id -u) -ne 0 ]]; then
      echo "need root to apt-get install postgresql (or install it yourself)" >&2
      exit 1
    fi
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
    candidate=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  fi
  echo "$candidate"
}

as_owner() {
  # initdb and postgres refuse to run as root: run them as the "postgres" system user then.
  if [[ $(id -u) -eq 0 ]]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

serve() {
  as_owner "$1/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $2 -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200 ${POSTGRES_OPTIONS:-}" \
    start >/dev/null
}

case "$command" in
  start)
    port=${3:?port}
    bin=$(find_bin)
    mkdir -p "$dir"
    [[ $(id -u) -eq 0 ]] && chown postgres:postgres "$dir"
    as_owner "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --encoding=UTF8 --locale=C.UTF-8 >/dev/null
    serve "$bin" "$port"
    ;;
  halt)
    bin=$(find_bin)
    as_owner "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    ;;
  resume)
    serve "$(find_bin)" "${3:?port}"
    ;;
  stop)
    bin=$(find_bin)
    if [[ -f "$dir/data/postmaster.pid" ]]; then
      as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null || true
    fi
    rm -rf "$dir"
    ;;
  *)
    echo "usage: $0 start DIR PORT | stop DIR | halt DIR | resume DIR PORT" >&2
    exit 2
    ;;
esac
