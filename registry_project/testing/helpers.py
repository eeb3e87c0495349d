"""Small helpers for tests (fixtures live in the root ``conftest.py``)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db import connections

from registry_project.api.errors import CATALOGUE

PASSWORD = "correct horse battery staple"  # noqa: S105 - the personas' test password
_NAMES = {kind.value: name for name, kind in CATALOGUE.items()}


def error_of(response: Any) -> tuple[int, str]:
    """(status, error name) of an error envelope, after checking the envelope's shape."""
    body = response.json()
    assert set(body) == {"status", "value", "message", "details"}, body
    assert body["status"] == response.status_code
    return response.status_code, _NAMES[body["value"]]


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run every call in its own thread, all released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results
