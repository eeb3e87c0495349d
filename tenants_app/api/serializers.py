"""Request and response shapes of the tenants, users, login and log endpoints."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from framework.api.serializers import NonEmptyInputSerializer, StrictInputSerializer, iso
from tenants_app.models import AuditEntry, Role, Tenant, User

# ------------------------------------------------------------------ output


def tenant_document(tenant: Tenant) -> dict[str, Any]:
    return {
        "_id": tenant.id,
        "organization": tenant.organization,
        "address": tenant.address,
        "email": tenant.email,
        "phone": tenant.phone,
        "timestamp": iso(tenant.timestamp),
        "lastmod": iso(tenant.lastmod),
    }


def user_document(user: User, *, full: bool) -> dict[str, Any]:
    """Everyone sees ``_id`` and ``username``; the user themselves and admins see the rest. Never a hash."""
    if not full:
        return {"_id": user.id, "username": user.username}
    return {
        "_id": user.id,
        "username": user.username,
        "email": user.email,
        "role": user.role,
        "timestamp": iso(user.timestamp),
        "lastmod": iso(user.lastmod),
    }


def audit_document(entry: AuditEntry) -> dict[str, Any]:
    return {
        "_id": entry.id,
        "timestamp": iso(entry.timestamp),
        "actor": entry.actor,
        "action": entry.action,
        "resource": entry.resource,
        "target": entry.target,
        "result": entry.result,
        "address": entry.address,
        "details": entry.details,
    }


def login_document(user: User, token: Any) -> dict[str, Any]:
    return {
        "user": {"_id": user.id, "username": user.username, "email": user.email, "role": user.role},
        "token": f"JWT {token}",
        "token_expiration_time": settings.JWT_EXPIRATIONTIME_TEXT,
    }


# ------------------------------------------------------------------ input


class TenantCreateInput(StrictInputSerializer):
    _id = serializers.CharField(max_length=64)
    organization = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    email = serializers.EmailField()
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)
    admin_username = serializers.CharField(max_length=150)
    admin_password = serializers.CharField(max_length=512, trim_whitespace=False)
    # Accepted for compatibility with the seed system and ignored: passwords are always stored hashed.
    passwordhash = serializers.JSONField(required=False)


class TenantUpdateInput(NonEmptyInputSerializer):
    organization = serializers.CharField(max_length=200, required=False, allow_blank=True)
    address = serializers.CharField(max_length=300, required=False, allow_blank=True)
    email = serializers.EmailField(required=False)
    phone = serializers.CharField(max_length=50, required=False, allow_blank=True)


class LoginInput(StrictInputSerializer):
    username = serializers.CharField(max_length=150, trim_whitespace=False)
    password = serializers.CharField(max_length=512, trim_whitespace=False)
    tenant = serializers.CharField(max_length=64, required=False)


class UserCreateInput(StrictInputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=512, trim_whitespace=False)
    email = serializers.EmailField()
    role = serializers.ChoiceField(choices=Role.values, required=False, default=Role.REGULAR)


class UserUpdateInput(NonEmptyInputSerializer):
    email = serializers.EmailField(required=False)
    password = serializers.CharField(max_length=512, trim_whitespace=False, required=False)
    role = serializers.ChoiceField(choices=Role.values, required=False)


# ------------------------------------------------------------------ documents, as the OpenAPI document names them
# (drf-spectacular drops the "Serializer" suffix: these are the components Tenant, User, Login, AuditEntry)


class TenantSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    organization = serializers.CharField()
    address = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    timestamp = serializers.DateTimeField()
    lastmod = serializers.DateTimeField()


class UserSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    username = serializers.CharField()
    email = serializers.EmailField(required=False, allow_null=True, help_text="Own record and admins only.")
    role = serializers.ChoiceField(
        choices=["admin", "regular"], required=False, help_text="Own record and admins only."
    )
    timestamp = serializers.DateTimeField(required=False)
    lastmod = serializers.DateTimeField(required=False)


class LoginUserSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    username = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    role = serializers.ChoiceField(choices=["admin", "regular"])


class LoginSerializer(serializers.Serializer[Any]):
    user = LoginUserSerializer()
    token = serializers.CharField(help_text="Send verbatim as the Authorization header: `JWT <jwt>`.")
    token_expiration_time = serializers.CharField()


class AuditEntrySerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    timestamp = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    resource = serializers.CharField()
    target = serializers.CharField(allow_blank=True)
    result = serializers.ChoiceField(choices=["success", "failure", "denied"])
    address = serializers.CharField(allow_null=True)
    details = serializers.DictField()
