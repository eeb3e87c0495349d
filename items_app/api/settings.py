"""``/v1/settings``: the tenant's own settings (``items_app.tenant_settings``); admins change them."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from framework.api.schema import ok
from framework.api.serializers import NonEmptyInputSerializer
from framework.api.viewsets import RegistryViewSet
from items_app import tenant_settings
from tenants_app.audit import Caller

if TYPE_CHECKING:
    from tenants_app.http import SignedInApiRequest


class SettingsDocument(serializers.Serializer[Any]):
    refuse_dangerous_uploads = serializers.BooleanField(
        help_text="Refuse (422) uploads whose pickles import code-execution globals (safety `dangerous`)."
    )
    lastmod = serializers.DateTimeField(allow_null=True, help_text="When an admin last changed them; null: never.")
    by = serializers.CharField(allow_null=True, help_text="Who changed them last; null: never.")


class SettingsInput(NonEmptyInputSerializer):
    refuse_dangerous_uploads = serializers.BooleanField(required=False)


class SettingsView(APIView):
    """The tenant's settings: everyone signed in reads them, tenant admins change them."""

    @extend_schema(operation_id="settings_read", responses=ok(SettingsDocument, 200, 401), tags=["settings"])
    def get(self, request: SignedInApiRequest) -> Response:
        return Response(tenant_settings.settings_document(tenant_settings.current()))

    @extend_schema(
        operation_id="settings_update",
        request=SettingsInput,
        responses=ok(SettingsDocument, 200, 400, 401, 403),
        tags=["settings"],
        description="Change the given settings (tenant admins); the others keep their values.",
    )
    def put(self, request: SignedInApiRequest) -> Response:
        data = RegistryViewSet.validated(SettingsInput, request)
        row = tenant_settings.change(Caller.of(request), data)
        return Response(tenant_settings.settings_document(row))
