"""SQLite's write-ahead log stays bounded under a large import while readers are busy: the writer whose commit
leaves it past ``DATABASE_WAL_LIMIT`` checkpoints and truncates it (framework/db/sqlite3/base.py). Without
that, readers keep SQLite's own (passive) checkpoints from ever restarting the log, and the file keeps the
size it grew to (issue 23: 5.5 GB beside a 415 MB database)."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from django.db import connections
from django.test import override_settings

from items_app.models import Item
from tenants_app.tenancy import using_tenant
from testing.helpers import run_together

pytestmark = pytest.mark.skipif(
    os.environ.get("DATABASE", "sqlite:").startswith("postgres"), reason="SQLite's write-ahead log"
)

LIMIT = 1024 * 1024  # a large batch here writes several times this much to the log
WRITERS, BATCHES, ITEMS = 2, 3, 300


def write_ahead_log(acme: Any) -> Path:
    with using_tenant(acme.tenant) as active:
        return Path(f"{connections[active.alias].settings_dict['NAME']}-wal")


def batch(writer: int, number: int) -> list[dict[str, Any]]:
    return [
        {
            "name": f"model-{writer}-{number}-{index}",
            "description": "imported in bulk " * 4,
            "tags": [f"tag-{index % 7}", f"team-{writer}", "bulk", f"batch-{number}", "imported"],
            "metadata": [{"name": f"key{field}", "value": f"value {index} {field}"} for field in range(10)],
        }
        for index in range(ITEMS)
    ]


def importing(acme: Any, writer: int) -> Callable[[], None]:
    def run() -> None:
        client = acme.client("reggie")
        for number in range(BATCHES):
            response = client.post("/v1/models", batch(writer, number), format="json")
            assert response.status_code == 201, response.content

    return run


def reading_until(acme: Any, done: threading.Event) -> Callable[[], int]:
    def run() -> int:
        client, reads = acme.client("olive"), 0
        while not done.is_set():
            assert client.get("/v1/models?limit=50").status_code == 200
            reads += 1
        return reads

    return run


def test_the_log_ends_below_its_limit_after_a_large_import_beside_busy_readers(acme):
    done, writing, lock = threading.Event(), [WRITERS], threading.Lock()

    def import_then_stop_the_readers(writer: int) -> Callable[[], None]:
        def run() -> None:
            try:
                importing(acme, writer)()
            finally:
                with lock:
                    writing[0] -= 1
                    if not writing[0]:  # the last writer is done: so are the readers
                        done.set()

        return run

    with override_settings(DATABASE_WAL_LIMIT=LIMIT):
        results = run_together(
            *(import_then_stop_the_readers(writer) for writer in range(WRITERS)),
            *(reading_until(acme, done) for _reader in range(3)),
        )

    assert all(reads > 0 for reads in results[WRITERS:])  # the readers were busy while the import ran
    assert acme.count(Item) == WRITERS * BATCHES * ITEMS
    assert write_ahead_log(acme).stat().st_size <= LIMIT
