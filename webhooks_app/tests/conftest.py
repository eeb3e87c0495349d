"""Fixtures of the webhook tests: a receiver on loopback that the SSRF guard is told to allow, and short
retry settings so that retries happen within a test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.test import override_settings

from webhooks_app.tests.receiver import Receiver, running

FAST = {
    "WEBHOOK_ALLOWED_HOSTS": ["127.0.0.1"],
    "WEBHOOK_RETRY_BASE_SECONDS": 0.05,
    "WEBHOOK_POLL_SECONDS": 0.05,
    "WEBHOOK_LEASE_SECONDS": 30.0,
}


@pytest.fixture
def fast_retries() -> Iterator[None]:
    with override_settings(**FAST):
        yield


@pytest.fixture
def receiver(fast_retries: None) -> Iterator[Receiver]:
    with running() as served:
        yield served
