"""Fixtures of the version tests: the personas' clients and a model to upload to.

The root conftest leaves blob storage empty after every test (local disk and S3).

Personas (as everywhere): ``reggie`` owns the items, ``olive`` is the shared reader, ``oscar`` an outsider of
acme, ``ada`` acme's admin and ``gus`` globex's admin.
"""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from items_app.tests.files import create_model


@pytest.fixture
def owner(acme: Any) -> APIClient:
    return acme.client("reggie")


@pytest.fixture
def shared_reader(acme: Any) -> APIClient:
    return acme.client("olive")


@pytest.fixture
def stranger(acme: Any) -> APIClient:
    """An outsider of the same tenant: neither owner, nor shared reader, nor admin."""
    acme.add_user("oscar")
    return acme.client("oscar")


@pytest.fixture
def model(owner: APIClient) -> dict[str, Any]:
    """Reggie's private model, shared with olive."""
    return create_model(owner, "churn", users=["olive"])
