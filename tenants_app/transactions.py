"""The one transaction helper for tenant data.

``django.db.transaction.atomic()`` without ``using`` opens its transaction on the ``default`` alias — the
catalog — while every query on tenant data goes to the current tenant's database. Writes to tenant data
therefore use ``tenant_atomic()``, which opens the transaction where those queries actually run.
"""

from __future__ import annotations

from django.db import IntegrityError, transaction

from tenants_app.context import require_tenant


def tenant_atomic() -> transaction.Atomic:
    """A transaction (or savepoint) on the current tenant's database; fails loudly with no tenant."""
    return transaction.atomic(using=require_tenant().alias)


def breaks_a_reference(exc: IntegrityError) -> bool:
    """Whether a write failed on a foreign key: a row it refers to was deleted before it committed."""
    cause = exc.__cause__
    return (
        getattr(cause, "sqlstate", None) == "23503"  # PostgreSQL's foreign_key_violation
        or getattr(cause, "sqlite_errorname", None) == "SQLITE_CONSTRAINT_FOREIGNKEY"
    )
