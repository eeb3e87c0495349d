"""Write workflows for tenants, users and sessions. API views, pages, admin and commands all call these.

Permission rules that depend on who asks (an admin, the user themselves) are checked here, so no caller
can forget them; ``Caller`` carries the identity and the client address for the audit log.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import DEFAULT_DB_ALIAS, IntegrityError, transaction
from django.db.models import ProtectedError
from django.utils import timezone
from rest_framework_simplejwt.settings import api_settings

from framework.errors import (
    Action,
    AuthenticationFailed,
    Conflict,
    Forbidden,
    Invalid,
    TokenExpired,
    TooManyRequests,
    Unauthorized,
)
from framework.files import resumable, storage
from tenants_app import audit, databases, events, expiry, tenancy
from tenants_app.audit import Caller
from tenants_app.context import ActiveTenant
from tenants_app.events import EventType
from tenants_app.models import AuditResult, Role, Tenant, User
from tenants_app.throttling import counters_for
from tenants_app.tokens import RegistryToken, decode_for_renewal
from tenants_app.transactions import tenant_atomic

logger = logging.getLogger("registry.tenants")

TENANT_FIELDS = ("organization", "address", "email", "phone")


def check_password_rules(password: str, user: User, field: str = "password") -> None:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise Invalid(f"{field}: {' '.join(exc.messages)}") from None


def _full_clean(instance: Tenant | User, exclude: list[str] | None = None, *, constraints: bool = True) -> None:
    """Run the model's own validation (fields, ``clean``, constraints) and report it as a 400 naming fields.

    Uniqueness is left to the database (409), which is also right under concurrent requests.
    ``constraints=False`` is for an object whose database does not exist yet (a new tenant's admin).
    """
    try:
        instance.clean_fields(exclude=exclude)
        instance.clean()
        if constraints:
            instance.validate_constraints(exclude=exclude)
    except ValidationError as exc:
        details = "; ".join(
            f"{'_id' if field == 'id' else field}: {' '.join(messages)}" for field, messages in exc.message_dict.items()
        )
        raise Invalid(details) from None


# ---------------------------------------------------------------- tenants


def database_name_for(tenant: Tenant) -> str:
    # The incarnation suffix keeps a re-created tenant from ever meeting the old tenant's database.
    return f"{tenant.id[:50]}-{tenant.uid[:8]}"


@contextmanager
def provisioned(tenant: Tenant) -> Iterator[ActiveTenant]:
    """Claim ``tenant``'s id in the catalog, create its database from the template, and run the block in it.

    All or nothing: if the block (first admin, restored rows, files…) fails, the files, the database and the
    catalog row are removed again. Creating a tenant and importing one both go through here.
    """
    try:
        with transaction.atomic(using=DEFAULT_DB_ALIAS):
            tenant.save(force_insert=True)
    except IntegrityError:
        raise Conflict(f"_id: a tenant {tenant.id!r} already exists") from None
    try:
        databases.create_from_template(tenant.database)
        with tenancy.using_tenant(tenant) as current:
            yield current
    except BaseException:
        storage.delete_tenant(tenant.id)
        databases.drop(tenant.database)
        Tenant.objects.filter(pk=tenant.pk).delete()
        raise


def create_tenant(
    caller: Caller,
    *,
    tenant_id: str,
    admin_username: str,
    admin_password: str,
    database: str | None = None,
    temporary_password: bool = False,
    **fields: str,
) -> Tenant:
    """Create a tenant, its database (cloned from the migrated template) and its first admin.

    Either all of it exists afterwards or none of it: a failure after the catalog row is written drops
    the database and removes the row again. ``temporary_password``: the admin must replace it at the first
    sign-in (the default tenant's generated first password).
    """
    started = time.perf_counter()
    tenant = Tenant(id=tenant_id, **{name: value for name, value in fields.items() if name in TENANT_FIELDS})
    tenant.database = database or database_name_for(tenant)
    _full_clean(tenant)
    admin = User(username=admin_username, role=Role.ADMIN)
    _full_clean(admin, exclude=["password", "email"], constraints=False)
    check_password_rules(admin_password, admin, "admin_password")
    with provisioned(tenant):
        admin = User.objects.create_user(
            admin_username, admin_password, role=Role.ADMIN, password_temporary=temporary_password
        )
        events.record_user_event(EventType.USER_CREATED, caller.username, admin)
        audit.record(caller, action="create", resource="tenant", target=tenant.id)
    logger.info("tenant %s created in %.0f ms", tenant.id, (time.perf_counter() - started) * 1000)
    return tenant


def update_tenant(caller: Caller, tenant: Tenant, changes: dict[str, str]) -> Tenant:
    for name, value in changes.items():
        if name not in TENANT_FIELDS:
            raise Invalid(f"{name}: cannot be changed")
        setattr(tenant, name, value)
    _full_clean(tenant)
    tenant.save()
    with tenancy.using_tenant(tenant):
        audit.record(caller, action="update", resource="tenant", target=tenant.id, details={"fields": sorted(changes)})
    return tenant


def delete_tenant(caller: Caller, tenant: Tenant) -> Tenant:
    """Remove the tenant from the catalog first (its tokens die at once), then its database and files."""
    tenant_id = tenant.id
    if tenant_id == settings.DEFAULT_TENANT:
        raise Conflict(f"_id: the default tenant {tenant_id!r} cannot be deleted")
    tenant.delete()
    tenant.id = tenant_id  # Django clears the primary key of a deleted instance; the answer still names it
    databases.drop(tenant.database)
    storage.delete_tenant(tenant_id)
    resumable.remove_tenant(tenant_id)  # half-finished uploads' bytes
    logger.info("tenant %s deleted by %s from %s", tenant_id, caller.username, caller.address)
    return tenant


def ensure_default_tenant() -> tuple[Tenant, bool]:
    """The default tenant and whether it was created just now (first start)."""
    existing = Tenant.objects.filter(pk=settings.DEFAULT_TENANT).first()
    if existing is not None:
        return existing, False
    tenant = create_tenant(
        Caller(user=None, name="<first start>"),
        tenant_id=settings.DEFAULT_TENANT,
        database=settings.DEFAULT_TENANT_DATABASE,
        admin_username=settings.DEFAULT_TENANT_ADMIN_USERNAME,
        admin_password=settings.DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD,
        temporary_password=True,  # printed, kept in a file, or set in the environment: others have seen it
        organization="Default tenant",
    )
    return tenant, True


def migrate_all_tenants() -> list[str]:
    """Apply pending migrations to the template and to every tenant database (``migrate_tenants``)."""
    databases.refresh_template()
    migrated = []
    for tenant in Tenant.objects.order_by("id"):
        databases.migrate(tenant.database)
        databases.analyze(tenant.database)
        migrated.append(tenant.id)
    return migrated


# ---------------------------------------------------------------- users


def _admin_only(caller: Caller, action: Action, what: str) -> None:
    if not caller.is_admin:
        raise Forbidden(f"Only tenant admins can {what}.", action=action)


def save_user(user: User) -> User:
    try:
        with tenant_atomic():
            user.save()
    except IntegrityError:
        taken = "username" if User.objects.filter(username=user.username).exclude(pk=user.pk).exists() else "email"
        raise Conflict(f"{taken}: already used by another user") from None
    return user


def _check_unique(user: User) -> None:
    others = User.objects.exclude(pk=user.pk)
    if others.filter(username=user.username).exists():
        raise Conflict(f"username: {user.username!r} is already taken")
    if user.email and others.filter(email=user.email).exists():
        raise Conflict(f"email: {user.email!r} is already used by another user")


def create_user(
    caller: Caller,
    *,
    username: str,
    password: str | None = None,
    email: str | None = None,
    role: str = Role.REGULAR,
    service: bool = False,
    validity_password_days: int | None = None,
    temporary: bool = False,
) -> User:
    """A person (with a password) or a service account (``service``: no usable password, so no login;
    it acts through the API keys admins create for it). ``temporary``: the person must choose their own
    password at their first sign-in."""
    _admin_only(caller, "create", "create users")
    user = User(username=username, email=email, role=role, is_service=service)
    if validity_password_days is not None:
        user.validity_password_days = validity_password_days
    _full_clean(user, exclude=["password"])
    if not service:
        if password is None:
            raise Invalid("password: required for a user who signs in")
        check_password_rules(password, user)
    elif temporary:
        raise Invalid("temporary: a service account has no password; it uses API keys")
    _check_unique(user)
    # None: an unusable password, which no login matches
    user.replace_password(None if service else password, temporary=temporary)
    with tenant_atomic():
        save_user(user)
        events.record_user_event(EventType.USER_CREATED, caller.username, user)
    details: dict[str, Any] = {"role": user.role, "service": True} if service else {"role": user.role}
    if temporary:
        details["temporary"] = True
    audit.record(caller, action="create", resource="user", target=user.username, details=details)
    return user


def _last_admin(user: User) -> bool:
    return user.is_admin and not User.objects.filter(role=Role.ADMIN, is_active=True).exclude(pk=user.pk).exists()


# What only admins change, by the names the API gives them
_ADMIN_FIELDS = {"validity_password_days": "validityPasswordDays", "temporary": "temporary"}


def update_user(caller: Caller, user: User, changes: dict[str, Any]) -> User:
    """Users change their own e-mail and password; admins also anyone's, roles and password rules.

    A new password is valid for the user's ``validity_password_days`` from now. ``temporary`` (admins)
    makes the password, new or current, one that must be replaced at the next sign-in.
    """
    is_self = caller.user is not None and caller.user.pk == user.pk
    if not (is_self or caller.is_admin):
        raise Forbidden("You can only change your own account.", action="modify")
    if "role" in changes and not caller.is_admin:
        raise Forbidden("Only tenant admins can change roles.", action="modify")
    admin_fields = sorted(_ADMIN_FIELDS[name] for name in changes if name in _ADMIN_FIELDS)
    if admin_fields and not caller.is_admin:
        raise Forbidden(f"Only tenant admins can change {', '.join(admin_fields)}.", action="modify")
    if changes.get("role") == Role.REGULAR and _last_admin(user):
        raise Conflict("role: the tenant's last admin cannot lose the admin role")
    password = changes.get("password")
    if user.is_service and (password is not None or changes.get("temporary")):
        field = "password" if password is not None else "temporary"
        raise Invalid(f"{field}: a service account has no password; it uses API keys")
    for name in ("email", "role", "validity_password_days"):
        if name in changes:
            setattr(user, name, changes[name])
    _full_clean(user, exclude=["password"])
    temporary = bool(changes.get("temporary", False))
    if password is not None:
        check_password_rules(password, user)
        # changes the token digest: every older token of this user dies
        user.replace_password(password, temporary=temporary)
    elif "temporary" in changes:
        user.password_temporary = temporary
    _check_unique(user)
    save_user(user)
    fields = sorted(_ADMIN_FIELDS.get(name, name) for name in changes)
    audit.record(caller, action="update", resource="user", target=user.username, details={"fields": fields})
    return user


def change_own_password(caller: Caller, user: User, new_password: str) -> User:
    """``user`` replaces their password with one they chose, valid from now and not temporary.

    The caller has just proved the current password: the login that carries ``new_password``, or the
    sign-in page's second step, which only the first (a correct password) opens.
    """
    if user.check_password(new_password):
        raise Invalid("new_password: must differ from the current password")
    check_password_rules(new_password, user, "new_password")
    reason = expiry.stale_reason(user, timezone.now()) or "chosen"
    user.replace_password(new_password)  # every older token, session and reset link of this user dies
    save_user(user)
    audit.record(caller, action="change", resource="password", target=user.username, details={"was": reason})
    return user


# What other apps do, in the deleting transaction, when a user is deleted: the apps that keep something
# about users (the items shared with them list their name) register a step when they load (their
# ``AppConfig.ready``). Users sit below those apps, so this is how the one write path of a deletion reaches
# them. A step is a context manager around the deletion: it may lock what it will rewrite before, and
# rewrite it after; a refused deletion (the user still owns items) leaves its block with the error.
UserDeletionStep = Callable[[User], AbstractContextManager[None]]
_user_deletion_steps: list[UserDeletionStep] = []


def on_user_deletion(step: UserDeletionStep) -> None:
    if step not in _user_deletion_steps:
        _user_deletion_steps.append(step)


def delete_user(caller: Caller, user: User) -> User:
    _admin_only(caller, "delete", "delete users")
    if _last_admin(user):
        raise Conflict("_id: the tenant's last admin cannot be deleted")
    try:
        with tenant_atomic(), ExitStack() as steps:
            for step in _user_deletion_steps:
                steps.enter_context(step(user))
            events.record_user_event(EventType.USER_DELETED, caller.username, user)  # before: its id goes
            user.delete()
    except ProtectedError as exc:
        owned = sorted(str(item) for item in exc.protected_objects)
        raise Conflict(f"_id: {user.username} still owns {', '.join(owned)}") from None
    audit.record(caller, action="delete", resource="user", target=user.username)
    return user


# ---------------------------------------------------------------- sessions


@dataclass(frozen=True)
class Session:
    user: User
    token: RegistryToken


def _authentication_failed() -> AuthenticationFailed:
    # One answer for an unknown tenant, an unknown user and a wrong password: nothing to probe.
    return AuthenticationFailed("Incorrect tenant, username or password.")


def login(
    *, tenant_id: str, username: str, password: str, address: str | None, new_password: str | None = None
) -> Session:
    """API login: check the credentials, then issue a JWT for the tenant."""
    tenant, user = authenticate(
        tenant_id=tenant_id, username=username, password=password, address=address, new_password=new_password
    )
    return Session(user=user, token=RegistryToken.issue(tenant, user))


def authenticate(
    *, tenant_id: str, username: str, password: str, address: str | None, new_password: str | None = None
) -> tuple[Tenant, User]:
    """Check credentials with throttling and auditing; leaves the tenant entered. API and pages share it.

    Right credentials with a temporary or expired password are refused (``expiry``) unless the same call
    replaces the password with ``new_password``; so can any login.
    """
    account, client = counters_for(tenant_id, username, address)
    wait = account.retry_after() or client.retry_after()
    if wait is not None:
        raise TooManyRequests(f"Too many failed logins; try again in {wait} s.", retry_after=wait)
    tenant = tenancy.find_tenant(tenant_id)
    user = None
    if tenant is not None:
        tenancy.enter(tenant)
        user = User.objects.filter(username=username, is_active=True, is_service=False).first()
    if user is None or not user.check_password(password):
        if user is None:
            User().set_password(password)  # spend the same hashing time as for a real user
        account.fail()
        client.fail()
        if tenant is not None:
            audit.record(
                Caller(user=None, address=address, name=username[:150]),
                action="login",
                resource="session",
                target=username,
                result=AuditResult.FAILURE,
            )
        raise _authentication_failed()
    account.reset()
    assert tenant is not None
    caller = Caller(user=user, address=address)
    if new_password is not None:
        change_own_password(caller, user, new_password)
    else:
        refuse_stale_password(caller, user, "login")
    record_login(caller)
    return tenant, user


def refuse_stale_password(caller: Caller, user: User, action: str) -> None:
    """Raise ``expiry.refusal`` (audited as denied) when ``user``'s password opens no session now."""
    reason = expiry.stale_reason(user, timezone.now())
    if reason is None:
        return
    details = {"reason": f"password {reason}"}
    audit.record(
        caller, action=action, resource="session", target=user.username, result=AuditResult.DENIED, details=details
    )
    raise expiry.refusal(user, reason)


def record_login(caller: Caller) -> None:
    audit.record(caller, action="login", resource="session", target=caller.username or "")


def renew(raw_token: str, *, address: str | None) -> Session:
    """A new token for a valid or expired one, while the renew window of the original login lasts."""
    from tenants_app.authentication import user_for_claims

    payload = decode_for_renewal(raw_token)
    if payload is None:
        raise Unauthorized("The token is invalid.")
    if payload[api_settings.SLIDING_TOKEN_REFRESH_EXP_CLAIM] <= time.time():
        raise TokenExpired("The renew window of this token has passed; log in again.")
    user = user_for_claims(payload)
    caller = Caller(user=user, address=address)
    refuse_stale_password(caller, user, "renew")  # a token outlives its password's expiry by its lifetime at most
    audit.record(caller, action="renew", resource="session", target=user.username)
    return Session(user=user, token=RegistryToken.renewed(payload))
