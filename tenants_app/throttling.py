"""Failed-login throttling: per account (tenant + username) and per client address.

Counters live in Django's cache, which is the catalog database by default, so every worker and every
host shares them. A window opens at the first failure; once the limit is reached, logins for that key
are refused with 429 until the window ends, even with the right password.
"""

from __future__ import annotations

import hashlib
import time

from django.conf import settings
from django.core.cache import cache


class FailureCounter:
    def __init__(self, scope: str, identity: str, limit: int, window: int) -> None:
        digest = hashlib.sha256(f"{scope}\x00{identity}".encode()).hexdigest()
        self.key = f"login-failures:{digest}"
        self.limit = limit
        self.window = window

    def retry_after(self) -> int | None:
        """Seconds until logins are allowed again, or None when they are allowed now."""
        entry = cache.get(self.key)
        if entry is None:
            return None
        count, started = entry
        remaining = int(started + self.window - time.time()) + 1
        return remaining if count >= self.limit and remaining > 0 else None

    def fail(self) -> None:
        now = time.time()
        entry = cache.get(self.key)
        count, started = entry if entry is not None else (0, now)
        remaining = max(1, int(started + self.window - now))
        cache.set(self.key, (count + 1, started), timeout=remaining)

    def reset(self) -> None:
        cache.delete(self.key)


def counters_for(tenant_id: str, username: str, address: str | None) -> tuple[FailureCounter, FailureCounter]:
    """The account counter and the client-address counter for one login attempt."""
    window = settings.LOGIN_LOCKOUT
    account = FailureCounter("account", f"{tenant_id}\x00{username}", settings.LOGIN_MAX_FAILURES, window)
    client = FailureCounter("address", address or "unknown", settings.LOGIN_MAX_FAILURES_PER_ADDRESS, window)
    return account, client


def key_counter(address: str | None) -> FailureCounter:
    """The counter of invalid API keys sent from one client address (``tenants_app.keys``)."""
    window = settings.API_KEY_LOCKOUT
    return FailureCounter("api-key", address or "unknown", settings.API_KEY_MAX_FAILURES_PER_ADDRESS, window)


def api_token_counter(address: str | None) -> FailureCounter:
    """The counter of wrong API_TOKENs sent from one client address: the same limits as invalid API keys."""
    window = settings.API_KEY_LOCKOUT
    return FailureCounter("api-token", address or "unknown", settings.API_KEY_MAX_FAILURES_PER_ADDRESS, window)
