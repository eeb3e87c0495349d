"""Small helpers for tests (fixtures live in the root ``conftest.py``)."""

from __future__ import annotations

from typing import Any

from registry_project.api.errors import CATALOGUE

PASSWORD = "correct horse battery staple"  # noqa: S105 - the personas' test password
_NAMES = {kind.value: name for name, kind in CATALOGUE.items()}


def error_of(response: Any) -> tuple[int, str]:
    """(status, error name) of an error envelope, after checking the envelope's shape."""
    body = response.json()
    assert set(body) == {"status", "value", "message", "details"}, body
    assert body["status"] == response.status_code
    return response.status_code, _NAMES[body["value"]]
