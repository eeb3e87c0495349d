"""The one transaction helper for tenant data.

``django.db.transaction.atomic()`` without ``using`` opens its transaction on the ``default`` alias — the
catalog — while every query on tenant data goes to the current tenant's database. Writes to tenant data
therefore use ``tenant_atomic()``, which opens the transaction where those queries actually run.
"""

from __future__ import annotations

from django.db import transaction

from tenants_app.context import require_tenant


def tenant_atomic() -> transaction.Atomic:
    """A transaction (or savepoint) on the current tenant's database; fails loudly with no tenant."""
    return transaction.atomic(using=require_tenant().alias)
