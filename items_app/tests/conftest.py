"""Fixtures of the item core's tests (the personas are the root conftest's)."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from testing.helpers import create_model


@pytest.fixture
def model(owner: APIClient) -> dict[str, Any]:
    """reggie's private model, shared with olive."""
    return create_model(owner, "churn", users=["olive"])
