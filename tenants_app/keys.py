"""API keys: long-lived credentials of one user for scripts and pipelines (docs/api-keys.md).

A key's text is ``mrk_<tenant>.<key id>.<secret>``. The ``mrk_`` prefix lets people and secret scanners
spot one in a leaked log; the tenant and the id make authenticating one lookup by primary key in one tenant
database (never a scan of tenants). Only the SHA-256 of the secret is stored: the secret is 256 random bits,
which no fast hash makes guessable, and checking it costs microseconds on every request (a slow password
hash would cost the 50 ms a login costs, on every call of a pipeline).

Scopes are cumulative (read < write < admin) and capped, on every request, by the user's current role.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import NoReturn

from django.conf import settings
from django.db import IntegrityError
from django.db.models import QuerySet
from django.utils import timezone

from framework.errors import Conflict, Forbidden, Invalid, NotFound, TooManyRequests, Unauthorized
from framework.lookups import one_or_none
from tenants_app import audit, tenancy
from tenants_app.audit import Caller, KeyUse
from tenants_app.context import require_tenant
from tenants_app.models import ApiKey, AuditResult, Role, Scope, User
from tenants_app.throttling import key_counter
from tenants_app.transactions import tenant_atomic

PREFIX = "mrk_"
_KEY_TEXT = re.compile(r"^mrk_([A-Za-z0-9_-]{1,64})\.([0-9a-f]{24})\.([A-Za-z0-9_-]{32,128})\Z")
ORDER = (Scope.READ, Scope.WRITE, Scope.ADMIN)
LAST_USE_PRECISION = timedelta(minutes=1)  # ``last_used`` is written at most this often per key and address
INVALID = "The API key is not valid."  # one answer for every way a key can be wrong: nothing to probe


def looks_like_key(credential: str) -> bool:
    return credential.startswith(PREFIX)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def implied(scopes: Iterable[str]) -> set[str]:
    """A set of scopes with everything each one includes: write includes read, admin includes both."""
    granted = {ORDER.index(Scope(scope)) for scope in scopes if scope in Scope.values}
    return {str(scope) for scope in ORDER[: max(granted) + 1]} if granted else set()


def effective_scopes(key: ApiKey, user: User) -> set[str]:
    """What the key may do now: its scopes, capped by its user's role as it is today."""
    scopes = implied(key.scopes)
    if user.role != Role.ADMIN:
        scopes.discard(Scope.ADMIN)
    return scopes


def ordered(scopes: Iterable[str]) -> list[str]:
    return [str(scope) for scope in ORDER if scope in set(scopes)]


# ---------------------------------------------------------------- authenticating a request


def authenticate(text: str, address: str | None) -> tuple[User, KeyUse]:
    """The user a key acts as (the tenant entered); ``Unauthorized`` for any key that is not valid now.

    A key without an effective admin scope acts with the regular role in everything (which items it reads,
    what it may administer): the request's user object carries that role and refuses to be saved.
    """
    match = _KEY_TEXT.match(text)
    tenant = tenancy.find_tenant(match.group(1)) if match else None
    key = None
    if match and tenant is not None:
        tenancy.enter(tenant)
        key = one_or_none(ApiKey.objects.select_related("user").filter(pk=match.group(2)))
    if key is None or not hmac.compare_digest(key.digest, digest(match.group(3) if match else "")):
        _refuse(address, match.group(2) if match and tenant is not None else None)
    user = key.user
    if not user.is_active:
        _refuse(address, key.pk)
    if key.expires is not None and key.expires <= timezone.now():
        raise Unauthorized("The API key has expired; create a new one.")
    scopes = frozenset(effective_scopes(key, user))
    if Scope.ADMIN not in scopes and user.role == Role.ADMIN:
        user.role = Role.REGULAR
        user.limited_by_key = True
    _note_use(key, address)
    return user, KeyUse(key, scopes)


def _refuse(address: str | None, key_id: str | None) -> NoReturn:
    """Throttle the address, audit the attempt in the tenant the key named (never its secret), and 401.
    Only a refused key reads the address's counter: a valid key costs no cache lookup."""
    counter = key_counter(address)
    wait = counter.retry_after()
    if wait is not None:
        raise TooManyRequests(f"Too many invalid API keys from this address; try again in {wait} s.", retry_after=wait)
    counter.fail()
    if key_id is not None:
        caller = Caller(user=None, address=address, name="<api-key>")
        audit.record(caller, action="authenticate", resource="key", target=key_id, result=AuditResult.FAILURE)
    raise Unauthorized(INVALID)


def _note_use(key: ApiKey, address: str | None) -> None:
    """Record when and from where the key was last used; at most once a minute per address, so a busy
    pipeline's reads stay reads."""
    now = timezone.now()
    if key.last_used is not None and key.last_used > now - LAST_USE_PRECISION and key.last_used_address == address:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used=now, last_used_address=address)
    key.last_used, key.last_used_address = now, address


# ---------------------------------------------------------------- managing keys


def visible_keys(caller: Caller) -> QuerySet[ApiKey]:
    """Own keys; admins see everyone's."""
    keys = ApiKey.objects.select_related("user")
    return keys if caller.is_admin else keys.filter(user=caller.user)


def find_key(caller: Caller, key_id: str) -> ApiKey:
    key = one_or_none(visible_keys(caller).filter(pk=key_id))
    if key is None:
        raise NotFound(f"_id: no key {key_id!r}")
    return key


def create_key(
    caller: Caller, *, name: str, scopes: list[str], expires: datetime | None = None, user: User | None = None
) -> tuple[ApiKey, str]:
    """A new key and its text, which exists only in this answer."""
    assert caller.user is not None
    owner = user or caller.user
    _check_owner(caller, owner)
    _check_scopes(caller, owner, scopes)
    if expires is not None and expires <= timezone.now():
        raise Invalid("expires: must be in the future")
    if ApiKey.objects.filter(user=owner).count() >= settings.API_KEYS_PER_USER:
        raise Conflict(f"user: {owner.username} already has {settings.API_KEYS_PER_USER} keys; revoke one first")
    secret = secrets.token_urlsafe(32)
    key = ApiKey(
        user=owner, name=name, scopes=ordered(scopes), digest=digest(secret),
        created_by=caller.username or "", expires=expires,
    )  # fmt: skip
    try:
        with tenant_atomic():
            key.save(force_insert=True)
    except IntegrityError:
        raise Conflict(f"name: {owner.username} already has a key named {name!r}") from None
    details = {"name": name, "user": owner.username, "scopes": key.scopes}
    audit.record(caller, action="create", resource="key", target=key.pk, details=details)
    return key, f"{PREFIX}{require_tenant().id}.{key.pk}.{secret}"


def _check_owner(caller: Caller, owner: User) -> None:
    if caller.user is not None and owner.pk == caller.user.pk:
        return
    if not caller.is_admin:
        raise Forbidden("user: only tenant admins create keys for other users", action="create")
    if not owner.is_service:
        raise Forbidden(
            f"user: admins create keys for themselves and for service accounts; {owner.username} is neither",
            action="create",
        )


def _check_scopes(caller: Caller, owner: User, scopes: list[str]) -> None:
    if Scope.ADMIN in scopes and owner.role != Role.ADMIN:
        raise Invalid(f"scopes: 'admin' exceeds the role of {owner.username} (regular)")
    use = caller.key_use
    if use is not None and not implied(scopes) <= use.scopes:
        raise Forbidden("scopes: a key cannot create a key with more scopes than its own", action="create")


def revoke_key(caller: Caller, key: ApiKey) -> ApiKey:
    key_id = key.pk
    with tenant_atomic():
        key.delete()
    key.pk = key_id
    audit.record(caller, action="revoke", resource="key", target=key_id, details={"name": key.name})
    return key
