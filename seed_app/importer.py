"""Writing a ``Plan`` into a new tenant: all of it, or (on any failure) nothing at all.

The tenant is claimed in the catalog and its database cloned from the template (``services.provisioned``,
which removes the database, the files and the catalog row again if anything below fails). The version files
are copied first, each streamed once through the upload code (SHA-256 computed while it is written) into
the tenant's content-addressed store; then every row is written in one transaction on the tenant's database.
Until that transaction commits nobody can sign in to the tenant (it has no users), and a failure removes
the copied files with the rest.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError

from folksonomy_app.models import MetadataName, Tag, VocabularyEntry
from framework.errors import Conflict
from framework.files import storage
from framework.files.uploads import received_copy
from items_app import generation, kinds
from items_app.models import Blob, Item, ItemTag, MetadataEntry, Share, Version
from items_app.related import metadata_rows, rewrite_lists, tag_rows
from items_app.traits import ListTrait
from seed_app.plan import NewEntry, NewItem, NewUser, Plan
from tenants_app import audit, services
from tenants_app.audit import Caller
from tenants_app.models import Tenant, User

logger = logging.getLogger("registry.seed")
IMPORTER = Caller(user=None, name="<seed import>")
TENANT_FIELDS = ("organization", "address", "email", "phone")


class ImportRefused(Exception):
    """The tenant cannot be created as asked (its id is taken or not valid); nothing was written."""


@dataclass(frozen=True)
class Copied:
    sha256: str
    size: int


def new_tenant(tenant_id: str, fields: Mapping[str, str]) -> Tenant:
    """The tenant an import creates, checked before anything is read or written (also for a dry run)."""
    tenant = Tenant(id=tenant_id, **{name: fields.get(name) or "" for name in TENANT_FIELDS})
    tenant.database = services.database_name_for(tenant)
    try:
        tenant.clean_fields(exclude=["database", "uid"])
    except ValidationError as exc:
        problems = "; ".join(f"{name}: {' '.join(messages)}" for name, messages in exc.message_dict.items())
        raise ImportRefused(problems.replace("id:", "tenant id:", 1)) from None
    if Tenant.objects.filter(pk=tenant_id).exists():
        raise ImportRefused(f"a tenant {tenant_id!r} exists already: import into a new one")
    return tenant


def import_plan(plan: Plan, tenant: Tenant) -> Tenant:
    """Create ``tenant`` holding everything ``plan`` describes."""
    users = _user_rows(plan.users)  # hashing plain-text passwords takes time: not inside the transaction
    details = {"from": "original registry", **plan.report.totals}
    try:
        with services.provisioned(tenant):
            copied = _copy_files(plan.sources(), tenant.id)
            with generation.changing():  # one transaction: the whole tenant appears when it commits
                User.objects.bulk_create(users)
                _write_vocabulary(Tag, plan.tags)
                _write_vocabulary(MetadataName, plan.metadata)
                _write_items(plan.items, copied)
                audit.record(IMPORTER, action="import", resource="tenant", target=tenant.id, details=details)
    except Conflict as exc:  # another tenant took the id since ``new_tenant`` checked it
        raise ImportRefused(exc.details) from None
    logger.info("imported tenant %s from the original registry: %s", tenant.id, dict(plan.report.totals))
    return tenant


def _copy_files(sources: Iterable[Path], tenant_id: str) -> dict[Path, Copied]:
    """Stream each file into the tenant's store, computing its SHA-256 on the way (memory stays flat)."""
    copied = {}
    for source in sources:
        with open(source, "rb") as handle:
            received = received_copy(handle, f"{source.name}.seed")
        try:
            with storage.object_store():
                storage.store(storage.blob_key(tenant_id, received.sha256), received)
        finally:
            received.close()
        copied[source] = Copied(received.sha256, received.size)
    return copied


def _user_rows(users: Iterable[NewUser]) -> list[User]:
    rows = []
    for new in users:
        user = User(id=new.id, username=new.username, email=new.email, role=new.role, timestamp=new.timestamp)
        if new.plain:
            user.set_password(new.password)  # the registry's hasher: never stored as it came
        elif new.password:
            user.password = new.password  # "bcrypt$…": checked as it is, re-hashed at the next login
        else:
            user.set_unusable_password()
        _password_age(user, new)
        rows.append(user)
    return rows


def _password_age(user: User, new: NewUser) -> None:
    """Keep the original's password expiry: when the password was set (``createdPassword``) and how many days
    it is valid (``validityPasswordDays``, 0 = never); missing ones take the registry's defaults."""
    if new.created_password is not None:
        user.password_created = new.created_password
    if new.validity_days is not None:
        user.validity_password_days = new.validity_days


def _write_vocabulary(model: type[VocabularyEntry], entries: Iterable[NewEntry]) -> None:
    rows = [model(id=e.name, usage=e.usage, owner_id=e.owner_id, timestamp=e.timestamp) for e in entries]
    model.objects.bulk_create(rows)


def _write_items(items: list[NewItem], copied: Mapping[Path, Copied]) -> None:
    rows = {new.id: _item_row(new) for new in items}
    Item.objects.bulk_create(rows.values())
    Share.objects.bulk_create([Share(item_id=new.id, user_id=user) for new in items for user in new.users])
    ItemTag.objects.bulk_create([row for new in items for row in tag_rows(rows[new.id], new.tags)])
    MetadataEntry.objects.bulk_create([row for new in items for row in metadata_rows(rows[new.id], new.metadata)])
    _write_lineage(items, rows)
    rewrite_lists(rows.values())
    blobs = {copy.sha256: copy for copy in copied.values()}
    Blob.objects.bulk_create([Blob(sha256=copy.sha256, size=copy.size) for copy in blobs.values()])
    Version.objects.bulk_create(
        [
            Version(
                item_id=new.id,
                ordinal=version.ordinal,
                label=version.label,
                original=version.original,
                size=copied[version.source].size,
                blob_id=copied[version.source].sha256,
                content_type=version.content_type,
                description=version.description,
                owner_id=new.owner_id,  # the original registry did not record who uploaded: its owner did
                timestamp=version.timestamp,
            )
            for new in items
            for version in new.versions
        ]
    )


def _item_row(new: NewItem) -> Item:
    return Item(
        id=new.id,
        kind=new.kind,
        name=new.name,
        owner_id=new.owner_id,
        status=new.status,
        visibility=new.visibility,
        timestamp=new.timestamp,
        lastmod=new.lastmod,
        last_ordinal=new.last_ordinal,
    )


def _write_lineage(items: Iterable[NewItem], rows: Mapping[str, Item]) -> None:
    """The ``datasets`` of models and algorithms, through their kind's trait (which owns the link rows)."""
    links: dict[type[Any], list[Any]] = {}
    for new in items:
        trait = kinds.get(new.kind).trait("datasets")
        if isinstance(trait, ListTrait) and new.datasets:
            for row in trait.rows(rows[new.id], [rows[dataset] for dataset in new.datasets]):
                links.setdefault(type(row), []).append(row)
    for model, model_rows in links.items():
        model.objects.bulk_create(model_rows)
