#!/usr/bin/env bash
# `make test`: lint, the import contracts, types (mypy), Django's checks, then the whole pytest suite twice:
# on SQLite and on a real PostgreSQL server started here (and stopped again, whatever happens).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
export PYTHONDONTWRITEBYTECODE=1

echo "== lint (ruff)"
$BIN/ruff check .
$BIN/ruff format --check .

echo "== layers (import-linter: the import directions of docs/architecture.md)"
$BIN/lint-imports --no-cache

echo "== types (mypy)"
# The django plugin imports the settings, which create directories under DATA_DIR: a throwaway one.
types_data=$(mktemp -d /tmp/registry-types.XXXXXX)
types_status=0
DATA_DIR="$types_data" $BIN/mypy || types_status=$?
rm -rf "$types_data"
[[ $types_status -eq 0 ]] || exit "$types_status"
echo "== types of the client (mypy, as Python 3.9 sees it)"
(cd client && ../$BIN/mypy)

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

# The two runs are independent (own data directory, own S3 server, own ports): run them side by side.
echo "== tests on SQLite and on PostgreSQL (in parallel; each log is printed when both are done)"
pg_port=$($BIN/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
bash scripts/postgres.sh start "$pg_dir" "$pg_port"
# Both runs are split over two pytest-xdist workers, whole files each (a worker has its own catalog, template
# and data directory: testing/environment.py, conftest.py): many tests wait on a server, a browser or a
# lock, and another worker uses the core meanwhile (the SQLite run alone: 8:09 serial, 5:08 on two workers).
(
  DATA_DIR="$work/sqlite" DATABASE="sqlite:///$work/sqlite/registry-catalog.sqlite3" \
    $BIN/pytest -p no:cacheprovider -n 2 --dist loadfile --durations=30 "$@" >"$work/sqlite.log" 2>&1
) &
sqlite_pid=$!
# Under xdist, schemathesis reports the schema fuzz (test_openapi.py) as one test with subtests instead of
# one test per operation, so "passed" is about 70 lower than a serial run's for the same cases.
# Tests that start a registry process of their own on its embedded defaults (SQLite, whatever this run's
# database) run once, in the SQLite run: the client's tests and the server-process tests below. So do the
# browser tests, but for the list page's search (the one page whose query differs per database): a page's
# database work is its service's, which the API tests run on both databases; in Chromium they cost ~2 min.
# The PostgreSQL start-up checks (the catalog created, roles refused) and the two-server test start registry
# processes on the PostgreSQL server with catalogs of their own: they run in the PostgreSQL run (skipped on SQLite).
# (The client's tests are left out by naming the other test directories: pytest's --ignore does not apply
# to a directory of pyproject's testpaths.)
sqlite_only_tests=(
  items_app/tests/test_resumable_uploads_server.py
  registry_project/tests/test_key_revocation_workers.py
  registry_project/tests/test_load_faults.py
  registry_project/tests/test_readme_recipe.py
  registry_project/tests/test_startup_checks.py
  registry_project/tests/test_tls.py
  registry_project/tests/test_workers.py
  items_app/tests/test_pages_aliases.py
  items_app/tests/test_pages_compare.py
  items_app/tests/test_pages_item.py
  items_app/tests/test_cards_browser.py
  registry_project/tests/test_signin_page.py
  tenants_app/tests/test_manage_browser.py
  webhooks_app/tests/test_pages_browser.py
  webhooks_app/tests/test_make_run.py
  # Server-rendered pages call the same services as the API, whose tests run on both databases (the browse
  # page's search, whose query differs per database, is the exception and runs on both):
  algorithms_app/tests/test_algorithm_pages.py
  folksonomy_app/tests/test_vocabulary_pages.py
  items_app/tests/test_pages_rules.py
  tenants_app/tests/test_keys_pages.py
  tenants_app/tests/test_manage_pages.py
  tenants_app/tests/test_signin_tenant_list.py
  # HTTP plumbing, configuration and deployment files: no database work of their own.
  demo_app/tests/test_demo_settings.py
  registry_project/tests/test_compression.py
  registry_project/tests/test_config.py
  registry_project/tests/test_deployment_files.py
  registry_project/tests/test_forwarded_client.py
  registry_project/tests/test_request_log.py
  registry_project/tests/test_wsgi.py
)
server_tests=(registry_project demo_app framework tenants_app folksonomy_app items_app models_app datasets_app algorithms_app webhooks_app seed_app)
(
  DATA_DIR="$work/postgres-data" DATABASE="postgres://postgres@127.0.0.1:$pg_port/registry_catalog" \
    $BIN/pytest -p no:cacheprovider -n 2 --dist loadfile --durations=30 "${sqlite_only_tests[@]/#/--ignore=}" "$@" \
    "${server_tests[@]}" >"$work/postgres.log" 2>&1
) &
postgres_pid=$!
sqlite_status=0
postgres_status=0
wait "$sqlite_pid" || sqlite_status=$?
wait "$postgres_pid" || postgres_status=$?

echo "== tests on SQLite (exit $sqlite_status)"
cat "$work/sqlite.log"
echo "== tests on PostgreSQL (exit $postgres_status)"
cat "$work/postgres.log"
if [[ $sqlite_status -ne 0 || $postgres_status -ne 0 ]]; then
  echo "FAILED: SQLite exit $sqlite_status, PostgreSQL exit $postgres_status"
  exit 1
fi
