#!/usr/bin/env bash
# `make test`: lint, Django's checks, then the whole pytest suite twice: on SQLite and on a real
# PostgreSQL server started here (and stopped again, whatever happens).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONDONTWRITEBYTECODE=1

echo "== lint (ruff)"
$BIN/ruff check .
$BIN/ruff format --check .

work=$(mktemp -d /tmp/registry-test.XXXXXX)
chmod 755 "$work"
pg_dir="$work/postgres"
cleanup() {
  bash scripts/postgres.sh stop "$pg_dir" || true
  rm -rf "$work"
}
trap cleanup EXIT

bash scripts/ensure-chromium.sh

echo "== django checks"
DATA_DIR="$work/check" $BIN/python manage.py check --fail-level WARNING
DATA_DIR="$work/check" $BIN/python manage.py makemigrations --check --dry-run

echo "== tests on SQLite"
DATA_DIR="$work/sqlite" DATABASE="sqlite:///$work/sqlite/registry-catalog.sqlite3" \
  $BIN/pytest "$@"

echo "== tests on PostgreSQL"
pg_port=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash scripts/postgres.sh start "$pg_dir" "$pg_port"
DATA_DIR="$work/postgres-data" DATABASE="postgres://postgres@127.0.0.1:$pg_port/registry_catalog" \
  $BIN/pytest "$@"
