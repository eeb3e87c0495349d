"""How API callers prove who they are.

- ``TenantJWTAuthentication``: ``Authorization: JWT <jwt>`` or ``Bearer <jwt>``; the token's tenant claim
  selects the tenant database, and the user is loaded from there. ``Bearer mrk_…`` is an API key instead
  (``tenants_app.keys``): the key names its tenant; ``request.auth`` is then its ``KeyUse``.
- ``KeyScopes``: the permission that holds a key to its scopes.
- ``ApiTokenAuthentication``: ``Authorization: <API_TOKEN>`` for tenant management only.
"""

from __future__ import annotations

import hmac
from typing import Any

from django.conf import settings
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework_simplejwt.authentication import JWTAuthentication
from rest_framework_simplejwt.exceptions import ExpiredTokenError, TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.utils import get_md5_hash_password

from framework.api.errors import not_authenticated
from framework.errors import Action, Forbidden, TokenExpired, TooManyRequests, Unauthorized
from framework.lookups import one_or_none
from tenants_app import keys, tenancy
from tenants_app.audit import KeyUse
from tenants_app.models import Scope, User
from tenants_app.throttling import api_token_counter
from tenants_app.tokens import RegistryToken


def user_for_claims(claims: Any) -> User:
    """Enter the token's tenant and load its user; any mismatch is the same 401.

    Checked on every request: the tenant still exists (same incarnation), the user still exists and is
    active, and the password has not changed since the token was issued.
    """
    tenant = tenancy.find_tenant(claims.get("tenant"), claims.get("tenant_uid"))
    if tenant is None:
        raise Unauthorized("The token is no longer valid.")
    tenancy.enter(tenant)
    user = one_or_none(User.objects.filter(pk=str(claims.get("user_id", "")), is_active=True))
    if user is None or claims.get(api_settings.REVOKE_TOKEN_CLAIM) != get_md5_hash_password(user.password):
        raise Unauthorized("The token is no longer valid.")
    return user


class TenantJWTAuthentication(JWTAuthentication):
    # simplejwt types its result with a constrained TypeVar that no argument binds, which no override can
    # match; this returns what the base does (a user and a token), only more precisely.
    def authenticate(self, request: Request) -> tuple[User, RegistryToken | KeyUse] | None:  # type: ignore[override]
        try:
            return self._authenticate(request)
        except Unauthorized as exc:  # (a TooManyRequests passes through: the handler adds its Retry-After)
            raise not_authenticated(exc) from None

    def _authenticate(self, request: Request) -> tuple[User, RegistryToken | KeyUse] | None:
        header = self.get_header(request)
        if header is None:
            return None
        parts = header.split()
        if not parts:
            return None
        if len(parts) != 2 or parts[0].decode(errors="replace") not in api_settings.AUTH_HEADER_TYPES:
            raise Unauthorized("Send the token as 'Authorization: JWT <token>' or 'Authorization: Bearer <token>'.")
        credential = parts[1].decode(errors="replace")
        if keys.looks_like_key(credential):
            if parts[0] != b"Bearer":
                raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
            return keys.authenticate(credential, request.META.get("REMOTE_ADDR"))
        token = self.validated(parts[1])
        return user_for_claims(token), token

    @staticmethod
    def validated(raw: bytes) -> RegistryToken:
        try:
            return RegistryToken(raw)
        except ExpiredTokenError:
            raise TokenExpired("The token has expired; renew it with PUT /v1/login or log in again.") from None
        except TokenError:
            raise Unauthorized("The token is invalid.") from None


class KeyScopes(BasePermission):
    """A request made with an API key stays within the key's scopes: reading needs read (every key has it),
    anything else needs write. What only admins may do needs the admin scope, which a key without it lacks
    because its user acts with the regular role (``tenants_app.keys.authenticate``)."""

    def has_permission(self, request: Request, view: Any) -> bool:
        use = request.auth
        if isinstance(use, KeyUse) and request.method not in SAFE_METHODS and Scope.WRITE not in use.scopes:
            has = ", ".join(keys.ordered(use.scopes)) or "none"
            raise Forbidden(
                f"this API key lacks the 'write' scope (it has: {has})",
                action=ACTIONS.get(request.method or "", "modify"),
            )
        return True


ACTIONS: dict[str, Action] = {"POST": "create", "PUT": "modify", "PATCH": "modify", "DELETE": "delete"}


class ManagementIdentity:
    """The API_TOKEN holder: allowed to manage tenants, nothing inside them."""

    is_authenticated = True
    is_active = True
    username = None


class ApiTokenAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[ManagementIdentity, None] | None:
        header = request.META.get("HTTP_AUTHORIZATION")
        if not header:
            return None
        if not hmac.compare_digest(header.strip().encode(), settings.API_TOKEN.encode()):
            # Guessing is throttled per address, as for API keys; the right token always works.
            counter = api_token_counter(request.META.get("REMOTE_ADDR"))
            wait = counter.retry_after()
            if wait is not None:
                raise TooManyRequests(
                    f"Too many wrong API_TOKENs from this address; try again in {wait} s.", retry_after=wait
                )
            counter.fail()
            raise not_authenticated(Unauthorized("Tenant management needs 'Authorization: <API_TOKEN>'."))
        return ManagementIdentity(), None

    def authenticate_header(self, request: Request) -> str:
        return "API-Token"


# ------------------------------------------------------------------ how the OpenAPI document describes them


class JWTScheme(OpenApiAuthenticationExtension):
    target_class = "tenants_app.authentication.TenantJWTAuthentication"
    name = "JWT"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "The `token` of POST /v1/login, verbatim: `JWT <jwt>` (`Bearer <jwt>` works too); "
            "or an API key of POST /v1/keys: `Bearer mrk_…`.",
        }


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "tenants_app.authentication.ApiTokenAuthentication"
    name = "ApiToken"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "The installation's API_TOKEN, verbatim. Opens /v1/tenants only.",
        }
