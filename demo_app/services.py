"""The demo tenant (``DEMO=true``): made at start, filled through the registry's own services, reset by its admin.

Everything is written as a user of the demo tenant would write it (``create_user``, ``create_default``,
``create_item``, ``add_version``, ``move_alias``, ``protect``), so the audit log, the vocabulary, the stored
lists, the cached reads and the blob store are exactly what those requests would have made. A reset drops the
whole tenant and makes it again (a new incarnation: every token of the old one stops working), so nothing a
visitor did survives it, not even a changed admin password.
"""

from __future__ import annotations

import io
import logging
from dataclasses import dataclass

from django.conf import settings

from demo_app import content
from demo_app.content import DemoFile, DemoItem
from folksonomy_app import services as vocabulary
from folksonomy_app.models import MetadataName, Tag
from framework.errors import DemoTenantRequired, Forbidden, NotFound
from framework.files.uploads import ReceivedFile, received_copy
from items_app import aliases, kinds, versions
from items_app.models import Item, ProtectedAlias
from items_app.services import create_item
from tenants_app import audit, tenancy
from tenants_app import services as tenants
from tenants_app.audit import Caller
from tenants_app.models import Role, Tenant, User

logger = logging.getLogger("registry.demo")
SYSTEM = Caller(user=None, name="<demo>")


@dataclass(frozen=True)
class Filled:
    """What one fill wrote (the bootstrap banner says it)."""

    users: int
    items: int
    versions: int


def demo_tenant() -> Tenant | None:
    return tenancy.find_tenant(settings.DEFAULT_TENANT_DEMO)


def check_demo_caller(caller: Caller, tenant_id: str) -> None:
    """The demo routes serve the demo tenant's admins: another tenant's token is refused first (as the
    original did), then a regular user of the demo tenant."""
    if tenant_id != settings.DEFAULT_TENANT_DEMO:
        raise DemoTenantRequired(
            f"tenant: /v1/demo works in the demo tenant {settings.DEFAULT_TENANT_DEMO!r} only, not in {tenant_id!r}"
        )
    if not caller.is_admin:
        raise Forbidden("Only the demo tenant's admins can read, fill or reset the demo.", action="read")


def ensure_demo_tenant() -> tuple[Tenant, Filled | None]:
    """The demo tenant, created and filled if it does not exist (``bootstrap`` with ``DEMO=true``); what was
    filled, or None when it existed already (its content is then left as its users made it)."""
    existing = demo_tenant()
    if existing is not None:
        return existing, None
    tenant = _create_demo_tenant()
    with tenancy.using_tenant(tenant):
        filled = fill()
    logger.info("demo tenant %s created: %s", tenant.id, filled)
    return tenant, filled


def _create_demo_tenant() -> Tenant:
    # The demo admin's password is DEMO_PASSWORD (generated once unless given) and not temporary: a demo is
    # meant to be signed in to at once, and a reset brings the same password back.
    return tenants.create_tenant(
        SYSTEM,
        tenant_id=settings.DEFAULT_TENANT_DEMO,
        admin_username=settings.DEFAULT_TENANT_ADMIN_USERNAME,
        admin_password=settings.DEMO_PASSWORD,
        organization="Demo tenant",
    )


def is_empty() -> bool:
    """No item of any kind: what POST /v1/demo fills (the original looked at its models only)."""
    return not Item.objects.exists()


def fill() -> Filled:
    """Write the demo content into the current tenant (which has no items): the users who are missing, the
    curated vocabulary that is missing, then every item with its versions and aliases."""
    admin = Caller(user=_demo_admin())
    users = _ensure_users(admin)
    _ensure_vocabulary(admin)
    ids: dict[str, str] = {}
    version_count = 0
    for sample in content.ITEMS:
        owner = Caller(user=users[sample.owner])
        item = _create(owner, sample, ids)
        ids[sample.name] = item.pk
        for file in sample.versions:
            _add_version(owner, item, file)
            version_count += 1
        for alias, ordinal in sample.aliases.items():
            aliases.move_alias(owner, item, alias, ordinal)
    for name in content.PROTECTED_ALIASES:
        if not ProtectedAlias.objects.filter(pk=name).exists():
            aliases.protect(admin, name)
    return Filled(users=len(users) + 1, items=len(content.ITEMS), versions=version_count)


def _demo_admin() -> User:
    admin = User.objects.filter(role=Role.ADMIN, is_active=True).order_by("timestamp").first()
    if admin is None:  # a tenant always keeps one admin (the last cannot be deleted or demoted)
        raise NotFound("the demo tenant has no admin")
    return admin


def _ensure_users(admin: Caller) -> dict[str, User]:
    users: dict[str, User] = {}
    for sample in content.USERS:
        existing = User.objects.filter(username=sample.username).first()
        users[sample.username] = existing or tenants.create_user(
            admin, username=sample.username, password=settings.DEMO_PASSWORD, email=sample.email, role=Role.REGULAR
        )
    return users


def _ensure_vocabulary(admin: Caller) -> None:
    for model, vocabulary_name, names in (
        (Tag, "tag", content.DEFAULT_TAGS),
        (MetadataName, "metadata", content.DEFAULT_METADATA),
    ):
        existing = set(model.objects.filter(pk__in=names).values_list("pk", flat=True))
        for name in names:
            if name not in existing:
                vocabulary.create_default(admin, vocabulary_name, name)


def _create(owner: Caller, sample: DemoItem, ids: dict[str, str]) -> Item:
    fields: dict[str, object] = {
        "name": sample.name,
        "visibility": sample.visibility,
        "description": sample.description,
        "users": list(sample.users),
        "tags": list(sample.tags),
        "metadata": [{"name": name, "value": value} for name, value in sample.metadata.items()],
    }
    if sample.status is not None:
        fields["status"] = sample.status
    if sample.datasets:
        fields["datasets"] = [ids[name] for name in sample.datasets]
    return create_item(owner, kinds.get(sample.kind), **fields)


def _add_version(owner: Caller, item: Item, file: DemoFile) -> None:
    versions.add_version(
        owner,
        item,
        _received(file.original, file.content_type, file.make()),
        original=file.original,
        description=file.description,
        metadata=versions.version_metadata(file.metadata),
        label=versions.checked_label(file.label),
    )


def _received(name: str, content_type: str, data: bytes) -> ReceivedFile:
    """``data`` as an upload arrives (a temporary file with its SHA-256 and size), for ``add_version``."""
    return received_copy(io.BytesIO(data), name, content_type)


def fill_if_empty(caller: Caller, tenant_id: str) -> bool:
    """POST /v1/demo: fill the current (demo) tenant unless it holds items already; whether it filled."""
    check_demo_caller(caller, tenant_id)
    if not is_empty():
        return False
    fill()
    return True


def reset(caller: Caller, tenant_id: str) -> Tenant:
    """DELETE /v1/demo: drop the demo tenant (database, files, tokens) and make it again, filled. The reset
    is the first entry of the new tenant's log, under the name of the admin who asked for it."""
    check_demo_caller(caller, tenant_id)
    existing = demo_tenant()
    if existing is not None:
        tenants.delete_tenant(caller, existing)
    tenant, _filled = ensure_demo_tenant()
    with tenancy.using_tenant(tenant):
        who = Caller(user=None, address=caller.address, name=caller.username)
        audit.record(who, action="reset", resource="tenant", target=tenant.id)
    return tenant
