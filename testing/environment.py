"""A pytest plugin loaded before Django starts (``-p`` in pyproject): the test run's environment.

Every run gets its own data directory, so tests never touch a real installation's databases, files
or secrets. ``scripts/test.sh`` sets DATABASE to run the same suite against PostgreSQL.
"""

from __future__ import annotations

import os
import tempfile

os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="registry-test-"))
if worker := os.environ.get("PYTEST_XDIST_WORKER"):
    # Each pytest-xdist worker (``-n``) keeps its files apart: a test's clean-up removes every tenant's files
    # in DATA_DIR, and SQLite tenant databases live beside the catalog file, so a SQLite catalog moves into
    # the worker's directory too. A PostgreSQL catalog gets the worker's suffix from pytest-django.
    os.environ["DATA_DIR"] = os.path.join(os.environ["DATA_DIR"], worker)
    if os.environ.get("DATABASE", "sqlite:").startswith("sqlite:"):
        os.environ.pop("DATABASE", None)  # set again below, inside the worker's DATA_DIR
os.environ.setdefault("DATABASE", f"sqlite:///{os.environ['DATA_DIR']}/registry-catalog.sqlite3")
os.environ.setdefault("ENVIRONMENT", "test")
os.environ.setdefault("ALLOWED_HOSTS", "testserver,localhost,127.0.0.1")
os.environ.setdefault("API_TOKEN", "test-api-token-0123456789")
os.environ.setdefault("JWT_SECRET", "test-jwt-secret-0123456789-0123456789")
os.environ.setdefault("SECRET_KEY", "test-secret-key-0123456789-0123456789-0123456789")
