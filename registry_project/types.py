"""``GET /v1/types`` and ``GET /v1/types/tenants`` (anonymous): the enumerations, and the sign-in tenant list.

The enumerations are read from the code that enforces them (the kinds' scalar traits, roles, visibilities,
vocabulary usages, key scopes), so this answer cannot drift from what the registry accepts. The project
module is the one place that sees every app. ``/v1/types/passwordStrength`` lives with the password rules
(``tenants_app``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.db import models
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from folksonomy_app.models import Usage
from framework.api.filtering import FilterField
from framework.api.listing import ListSpec, paginate
from framework.api.schema import LIST_PARAMETERS, ok, page_of
from framework.errors import NotFound
from items_app import kinds
from items_app.models import Visibility
from tenants_app.models import Role, Scope, Tenant


class ResetStatus(models.TextChoices):
    """The original registry's states of a password-reset request. A reset code here keeps no stored state:
    it works once, within PASSWORD_RESET_TIMEOUT (valid), or not at all (invalid); the names stay for the
    original's clients."""

    VALID = "valid"
    INVALID = "invalid"


def _values(values: Iterable[str]) -> dict[str, str]:
    """The original's shape of an enumeration: ``{value: value}``."""
    return {value: value for value in values}


def types_document() -> dict[str, dict[str, str]]:
    """Every enumeration a client may send or meet, by the original registry's names (``ModelStatusTypes``:
    the ``status`` of a model); an enumeration of a kind comes from its scalar traits, so a new kind or trait
    appears here by itself. ``KeyScopeTypes`` is this registry's own."""
    document = {
        f"{kind.singular}{trait.field.capitalize()}Types": _values(trait.values)
        for kind in kinds.every()
        for trait in kind.scalars
    }
    document.update(
        {
            "KeyScopeTypes": _values(Scope.values),
            "PasswordResetStatusTypes": _values(ResetStatus.values),
            "UsageTypes": _values(Usage.values),
            "UserRoles": _values(Role.values),
            "VisibilityTypes": _values(Visibility.values),
        }
    )
    return dict(sorted(document.items()))


def _types_schema() -> type[serializers.Serializer[Any]]:
    """One property per enumeration, as the answer holds them."""
    fields = {name: serializers.DictField(child=serializers.CharField()) for name in types_document()}
    return type("Types", (serializers.Serializer,), fields)


class TypesView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    @extend_schema(
        operation_id="types",
        responses=ok(_types_schema(), 200),
        tags=["service"],
        auth=[],
        description="The enumerations the API takes and shows, each as `{value: value}` (the original "
        "registry's shape), read from the code that enforces them.",
    )
    def get(self, request: Request) -> Response:
        return Response(types_document())


# Only the id can be listed, filtered or sorted: a filter or a select naming any other tenant field is
# refused (invalid_filter) or has nothing to keep.
SIGNIN_TENANTS = ListSpec(fields={"_id": FilterField("id")}, default_sort=("_id",))


class TenantId(serializers.Serializer[Any]):
    _id = serializers.CharField()


class TenantListView(APIView):
    """The tenant ids the original's sign-in page offered, only while the operator enables
    ``SIGNIN_TENANT_LIST``; otherwise the route answers as an unknown one."""

    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        if not settings.SIGNIN_TENANT_LIST:
            raise NotFound(f"No API route {request.method} {request.path}")
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="types_tenants",
        parameters=LIST_PARAMETERS,
        responses=ok(page_of(TenantId), 200, 400, 404),
        tags=["service"],
        auth=[],
        description="The ids of the tenants, as a list (`_id` only; `filter` and `sort` on `_id` only), for a "
        "sign-in page. 404 unless the operator set SIGNIN_TENANT_LIST=true.",
    )
    def get(self, request: Request) -> Response:
        tenants = Tenant.objects.all()
        return Response(paginate(tenants, request.query_params, SIGNIN_TENANTS, _id_documents))


def _id_documents(rows: list[Tenant]) -> list[dict[str, Any]]:
    return [{"_id": tenant.id} for tenant in rows]
