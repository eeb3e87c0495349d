"""registry_project.wsgi, imported as a gunicorn worker imports it: in a fresh interpreter, nothing loaded before.

It keeps optional extras that a serving worker never uses out of the worker, and the application still
answers; the extras import normally afterwards for any code that needs them.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings

HIDDEN_ON_SQLITE = ("requests", "cryptography", "django.contrib.postgres")

WORKER = """
import importlib, json, sys
from wsgiref.util import setup_testing_defaults

import registry_project.wsgi

loaded = [name for name in {hidden!r} if sys.modules.get(name) is not None]
import rest_framework.compat
postgres_fields = rest_framework.compat.postgres_fields is not None

environ = {{"REQUEST_METHOD": "GET", "PATH_INFO": "/v1/version"}}
setup_testing_defaults(environ)
statuses = []
answer = registry_project.wsgi.application(environ, lambda status, headers, exc_info=None: statuses.append(status))
body = json.loads(b"".join(answer))

importable = []
for name in {hidden!r}:
    try:
        importlib.import_module(name)
    except ImportError:
        continue
    importable.append(name)
print(json.dumps({{
    "loaded": loaded, "postgres_fields": postgres_fields, "status": statuses[0], "body": body,
    "importable": importable,
}}))
"""


def import_as_a_worker(data_dir: Path, database: str) -> dict[str, Any]:
    environment = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "registry_project.settings",
        "DATA_DIR": str(data_dir),
        "DATABASE": database,
    }
    result = subprocess.run(  # noqa: S603 - this interpreter, our own code
        [sys.executable, "-c", WORKER.format(hidden=HIDDEN_ON_SQLITE)],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.fixture(scope="module")
def sqlite_worker(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data = tmp_path_factory.mktemp("wsgi") / "data"
    return import_as_a_worker(data, f"sqlite:///{data / 'catalog.sqlite3'}")


def test_a_worker_on_sqlite_never_loads_requests_cryptography_or_the_postgresql_extras(sqlite_worker):
    assert sqlite_worker["loaded"] == []
    assert sqlite_worker["postgres_fields"] is False


def test_the_application_still_answers(sqlite_worker):
    assert sqlite_worker["status"] == "200 OK"
    assert set(sqlite_worker["body"]) == {"version"}


def test_the_hidden_extras_import_normally_afterwards(sqlite_worker):
    assert sqlite_worker["importable"] == list(HIDDEN_ON_SQLITE)


def test_a_worker_on_postgresql_keeps_the_postgresql_extras_for_rest_framework(tmp_path):
    worker = import_as_a_worker(tmp_path / "data", "postgres://registry@127.0.0.1:1/registry")

    assert worker["loaded"] == ["django.contrib.postgres"]
    assert worker["postgres_fields"] is True
