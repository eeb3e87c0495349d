"""Request and response shapes of the tenants, users, login and log endpoints."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework import serializers

from framework.api.serializers import NonEmptyInputSerializer, StrictInputSerializer, iso
from tenants_app.documents import password_age
from tenants_app.documents import user_document as user_document  # re-exported: the views use it
from tenants_app.models import MAX_PASSWORD_VALIDITY_DAYS, ApiKey, AuditEntry, Role, Scope, Tenant, User

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


def key_document(key: ApiKey, text: str | None = None) -> dict[str, Any]:
    """A key as lists show it: never its secret, except ``key`` in the answer that created it."""
    document = {
        "_id": key.id,
        "name": key.name,
        "user": key.user.username,
        "scopes": key.scopes,
        "created": iso(key.created),
        "created_by": key.created_by,
        "expires": iso(key.expires) if key.expires else None,
        "last_used": iso(key.last_used) if key.last_used else None,
        "last_used_address": key.last_used_address,
    }
    if text is not None:
        document["key"] = text
    return document


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
        "user": {
            "_id": user.id,
            "username": user.username,
            "email": user.email,
            "role": user.role,
            **password_age(user),
        },
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
    new_password = serializers.CharField(
        max_length=512,
        trim_whitespace=False,
        required=False,
        help_text="Replace the password in the same call (required when it is temporary or expired): "
        "the login then answers as usual, with a token of the new password.",
    )


class ResetRequestInput(StrictInputSerializer):
    email = serializers.CharField(max_length=254)
    tenant = serializers.CharField(max_length=64, required=False, help_text="Default: DEFAULT_TENANT.")


class ResetInput(StrictInputSerializer):
    tenant = serializers.CharField(max_length=64, required=False, help_text="Default: DEFAULT_TENANT.")
    reset = serializers.CharField(max_length=200, help_text="The code of the reset e-mail.")
    password = serializers.CharField(max_length=512, trim_whitespace=False)


class MessageSerializer(serializers.Serializer[Any]):
    message = serializers.CharField()


def _validity_days_field() -> serializers.IntegerField:
    return serializers.IntegerField(
        source="validity_password_days",
        min_value=0,
        max_value=MAX_PASSWORD_VALIDITY_DAYS,
        required=False,
        help_text="Days a new password is valid; 0: forever. Default: DEFAULT_DAYS_VALIDITY_PASSWORD. Admins only.",
    )


def _temporary_field() -> serializers.BooleanField:
    return serializers.BooleanField(
        required=False,
        help_text="The password must be replaced at the next sign-in. Admins only; default false.",
    )


class UserCreateInput(StrictInputSerializer):
    username = serializers.CharField(max_length=150)
    password = serializers.CharField(max_length=512, trim_whitespace=False, required=False)
    email = serializers.EmailField(required=False)
    role = serializers.ChoiceField(choices=Role.values, required=False, default=Role.REGULAR)
    service = serializers.BooleanField(required=False, default=False)
    validityPasswordDays = _validity_days_field()
    temporary = _temporary_field()

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        # A person has a password and an e-mail address; a service account has neither password nor login.
        if attrs.get("service"):
            if "password" in attrs:
                raise serializers.ValidationError({"password": "a service account has no password; use API keys"})
        else:
            missing = {name: "This field is required." for name in ("password", "email") if name not in attrs}
            if missing:
                raise serializers.ValidationError(missing)
        return attrs


class UserUpdateInput(NonEmptyInputSerializer):
    email = serializers.EmailField(required=False)
    password = serializers.CharField(max_length=512, trim_whitespace=False, required=False)
    role = serializers.ChoiceField(choices=Role.values, required=False)
    validityPasswordDays = _validity_days_field()
    temporary = _temporary_field()


class KeyCreateInput(StrictInputSerializer):
    name = serializers.CharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.values), min_length=1, max_length=3)
    expires = serializers.DateTimeField(required=False, allow_null=True, default=None)
    user = serializers.CharField(max_length=150, required=False, help_text="Admins: a service account's username.")


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
    service = serializers.BooleanField(required=False, help_text="A service account. Own record and admins only.")
    createdPassword = serializers.DateTimeField(
        required=False, help_text="When the password was set. Own record and admins only."
    )
    validityPasswordDays = serializers.IntegerField(
        required=False, help_text="Days the password is valid from createdPassword; 0: forever."
    )
    passwordExpires = serializers.DateTimeField(
        required=False, allow_null=True, help_text="When the password stops opening sessions; null: never."
    )
    passwordTemporary = serializers.BooleanField(
        required=False, help_text="The password must be replaced at the next sign-in."
    )
    timestamp = serializers.DateTimeField(required=False)
    lastmod = serializers.DateTimeField(required=False)


class LoginUserSerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    username = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    role = serializers.ChoiceField(choices=["admin", "regular"])
    createdPassword = serializers.DateTimeField()
    validityPasswordDays = serializers.IntegerField()
    passwordExpires = serializers.DateTimeField(allow_null=True)


class PasswordPolicySerializer(serializers.Serializer[Any]):
    passwordStrength = serializers.IntegerField(
        help_text="The minimum length: this registry's rules are Django's validators, not 0-3 levels."
    )
    ValidityPasswordDays = serializers.IntegerField(
        help_text="DEFAULT_DAYS_VALIDITY_PASSWORD: how long new users' passwords are valid; 0: forever."
    )
    minLength = serializers.IntegerField()
    maxValidityPasswordDays = serializers.IntegerField()
    rules = serializers.ListField(child=serializers.CharField())


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


class ApiKeySerializer(serializers.Serializer[Any]):
    _id = serializers.CharField()
    name = serializers.CharField()
    user = serializers.CharField()
    scopes = serializers.ListField(child=serializers.ChoiceField(choices=Scope.values))
    created = serializers.DateTimeField()
    created_by = serializers.CharField()
    expires = serializers.DateTimeField(allow_null=True)
    last_used = serializers.DateTimeField(allow_null=True)
    last_used_address = serializers.CharField(allow_null=True)
    key = serializers.CharField(required=False, help_text="The key itself: in the answer that created it only.")
