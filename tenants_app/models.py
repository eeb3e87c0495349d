"""Tenants (catalog database) and what lives in every tenant's own database: users and the audit log."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.contrib.auth.validators import UnicodeUsernameValidator
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, RegexValidator
from django.db import models
from django.utils import timezone

from framework.ids import looks_like_object_id, new_object_id

TENANT_ID_VALIDATOR = RegexValidator(
    r"^[A-Za-z0-9_-]{1,64}\Z",
    "A tenant id is 1 to 64 letters, digits, '-' or '_'.",
    code="invalid_slug",
)


def new_tenant_uid() -> str:
    return secrets.token_hex(16)


class Tenant(models.Model):
    """An organisation served by this registry; its data lives in the database named ``database``.

    ``uid`` identifies this incarnation of the tenant: tokens carry it, so deleting a tenant and creating
    one with the same id later does not revive the old tokens.
    """

    id = models.CharField(primary_key=True, max_length=64, validators=[TENANT_ID_VALIDATOR])
    organization = models.CharField(max_length=200, blank=True, default="")
    address = models.CharField(max_length=300, blank=True, default="")
    email = models.EmailField(blank=True, default="")
    phone = models.CharField(max_length=50, blank=True, default="")
    database = models.CharField(max_length=63, unique=True)
    uid = models.CharField(max_length=32, unique=True, default=new_tenant_uid, editable=False)
    timestamp = models.DateTimeField(default=timezone.now, editable=False)
    lastmod = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-timestamp", "id"]

    def __str__(self) -> str:
        return self.id


class Role(models.TextChoices):
    ADMIN = "admin", "Administrator"
    REGULAR = "regular", "Regular user"


def reject_object_id_usernames(value: str) -> None:
    # Users are addressed by id or by username in the same URL slot; a username shaped like an id
    # could shadow another user.
    if looks_like_object_id(value):
        raise ValidationError("A username cannot look like a 24-character hexadecimal id.", code="invalid")


# The largest ``validityPasswordDays``: a bound against nonsense (and overflow), not a policy.
MAX_PASSWORD_VALIDITY_DAYS = 36500


def default_password_validity() -> int:
    """New users' ``validity_password_days``: DEFAULT_DAYS_VALIDITY_PASSWORD (0: passwords never expire)."""
    return int(settings.DEFAULT_DAYS_VALIDITY_PASSWORD)


class UserManager(BaseUserManager["User"]):
    def create_user(self, username: str, password: str | None, **fields: Any) -> User:
        user = self.model(username=username, **fields)
        user.set_password(password)
        user.full_clean()
        user.save(using=self._db)
        return user


class User(AbstractBaseUser):
    """A person who signs in to one tenant. ``role`` decides what they may administer."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    username = models.CharField(
        max_length=150,
        unique=True,
        validators=[UnicodeUsernameValidator(), reject_object_id_usernames],
        error_messages={"unique": "A user with this username already exists."},
    )
    email = models.EmailField(
        unique=True,
        null=True,
        blank=True,
        error_messages={"unique": "A user with this e-mail address already exists."},
    )
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.REGULAR)
    is_active = models.BooleanField(default=True)
    # A service account exists for automation: it has no usable password, cannot log in, and acts only
    # through its API keys (managed by admins). What its pipelines register, it owns.
    is_service = models.BooleanField(default=False)
    timestamp = models.DateTimeField(default=timezone.now, editable=False)
    lastmod = models.DateTimeField(auto_now=True)
    # Bumped when a non-public item this user may read appears or disappears, or they gain or lose access to
    # one (``items_app.generation``): their cached item totals are keyed by it.
    item_scope = models.PositiveBigIntegerField(default=0, editable=False)
    # Password age (``tenants_app.expiry``): when the current password was set, how many days it is valid
    # (0: forever), and whether it is temporary: one someone else chose (the generated first password, an
    # admin's), which only opens the way to choosing a new one.
    password_created = models.DateTimeField(default=timezone.now)
    validity_password_days = models.PositiveIntegerField(
        default=default_password_validity, validators=[MaxValueValidator(MAX_PASSWORD_VALIDITY_DAYS)]
    )
    password_temporary = models.BooleanField(default=False)

    objects = UserManager()

    # Set on a request's user object when an API key without the admin scope acts for an admin
    # (``tenants_app.keys``): the role is lowered for that request only, so such an object is never saved.
    limited_by_key = False

    USERNAME_FIELD = "username"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS = ["email"]

    class Meta:
        ordering = ["-timestamp", "id"]

    def __str__(self) -> str:
        return self.username

    def clean(self) -> None:
        super().clean()
        if self.email == "":
            self.email = None
        elif self.email:
            self.email = self.email.strip().lower()

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.limited_by_key:
            raise RuntimeError("a user acting through a limited API key is never saved: its role is lowered")
        super().save(*args, **kwargs)

    def replace_password(self, raw_password: str | None, *, temporary: bool = False) -> None:
        """Set a new password, whose validity starts now. Not ``set_password``: Django also calls that to
        re-hash the same password with a newer hasher at login, which must not make an old password young."""
        self.set_password(raw_password)
        self.password_created = timezone.now()
        self.password_temporary = temporary

    @property
    def password_expires(self) -> datetime | None:
        """When the current password stops opening a session; None when it never does."""
        if not self.validity_password_days:
            return None
        return self.password_created + timedelta(days=self.validity_password_days)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN

    # Django admin asks these; a tenant admin administers everything in their own tenant's database.
    @property
    def is_staff(self) -> bool:
        return self.is_active and self.is_admin

    @property
    def is_superuser(self) -> bool:
        return self.is_staff

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_staff

    def has_perms(self, perm_list: Any, obj: object = None) -> bool:
        return self.is_staff

    def has_module_perms(self, app_label: str) -> bool:
        return self.is_staff


class Scope(models.TextChoices):
    """What an API key may do, each including the one before: read < write < admin."""

    READ = "read", "Read: lists, documents, downloads"
    WRITE = "write", "Write: also create, change, upload and delete"
    ADMIN = "admin", "Admin: also users, vocabulary and other users' keys"


class ApiKey(models.Model):
    """A long-lived credential of one user for scripts and pipelines (``tenants_app.keys``).

    Only the SHA-256 of the secret is stored (``digest``): the secret is random and long, so a fast hash
    cannot be brute-forced, and checking one costs microseconds on every request. The key's own text names
    its tenant and its id, so authenticating is one lookup by primary key in one tenant database.
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    scopes = models.JSONField(default=list)
    digest = models.CharField(max_length=64, unique=True)
    created = models.DateTimeField(default=timezone.now, editable=False)
    # who created it: the user, or the admin who made it for a service account (a username, kept as text)
    created_by = models.CharField(max_length=150, blank=True, default="")
    expires = models.DateTimeField(null=True, blank=True)
    last_used = models.DateTimeField(null=True, blank=True)
    last_used_address = models.GenericIPAddressField(null=True, blank=True)

    class Meta:
        ordering = ["-created", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"],
                name="apikey_name_unique_per_user",
                violation_error_message="This user already has a key with this name.",
            ),
        ]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.id})"


class AuditResult(models.TextChoices):
    SUCCESS = "success"
    FAILURE = "failure"
    DENIED = "denied"


class AuditEntry(models.Model):
    """One line of a tenant's audit log: who did what to which resource, from where, and how it ended.

    ``actor`` is a username kept as text, so the line survives the user's deletion. Request bodies and
    passwords are never stored.
    """

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=150, null=True, blank=True)  # noqa: DJ001 - null: no signed-in user
    action = models.CharField(max_length=32)
    resource = models.CharField(max_length=32)
    target = models.CharField(max_length=200, blank=True, default="")
    result = models.CharField(max_length=16, choices=AuditResult.choices)
    address = models.GenericIPAddressField(null=True, blank=True)
    details = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-timestamp", "id"]
        indexes = [models.Index(fields=["actor", "timestamp"], name="audit_actor_time")]
        verbose_name_plural = "audit entries"

    def __str__(self) -> str:
        return f"{self.timestamp:%Y-%m-%d %H:%M:%S} {self.actor} {self.action} {self.resource} {self.target}"


class Event(models.Model):
    """One entry of a tenant's outbox and event feed (``GET /v1/events``; ``tenants_app.events``): a change
    a consumer cares about, written in the change's own transaction.

    ``id`` is the feed's cursor (``?after=<id>``): events are inserted in commit order (``tenants_app.
    events``), so a consumer that has seen id N never later finds a smaller one. ``document`` is the affected
    resource's document as the API showed it after the change (before it, for ``*.deleted``); ``audience``
    is who could read it then: ``{"public", "owner", "users"}`` (user ids), or null for admins only.
    """

    id = models.BigAutoField(primary_key=True)
    type = models.CharField(max_length=40, db_index=True)
    timestamp = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.CharField(max_length=150, blank=True, default="")  # a username; "" = the system
    resource = models.CharField(max_length=20)  # models | datasets | algorithms | users
    target = models.CharField(max_length=64)  # the item's (or user's) id
    document = models.JSONField()
    audience = models.JSONField(null=True)  # null: admins only (user.* events)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.id} {self.type} {self.resource} {self.target}"
