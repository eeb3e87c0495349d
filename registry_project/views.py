"""Service endpoints (contract §7) and the JSON answers for routes that do not exist under ``/v1/``."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.db import connections
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views import defaults
from django.views.decorators.csrf import csrf_exempt
from drf_spectacular.utils import extend_schema, extend_schema_view
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from framework.api.errors import (
    CATALOGUE,
    catalogue_document,
    database_outage,
    database_unavailable,
    is_api_path,
    json_error,
)
from framework.api.schema import ok
from tenants_app.context import require_tenant

if TYPE_CHECKING:
    from tenants_app.models import User


class ServiceVersion(serializers.Serializer[Any]):
    version = serializers.CharField()


class ErrorKind(serializers.Serializer[Any]):
    status = serializers.IntegerField()
    value = serializers.IntegerField()
    message = serializers.CharField()


# The catalogue is static: one property per error name, so the schema lists every error.
ErrorCatalogue = type("ErrorCatalogue", (serializers.Serializer,), {name: ErrorKind() for name in CATALOGUE})


class CallerInfo(serializers.Serializer[Any]):
    _id = serializers.CharField()
    username = serializers.CharField()
    role = serializers.CharField()


class Info(serializers.Serializer[Any]):
    version = serializers.CharField()
    environment = serializers.CharField()
    database = serializers.CharField()
    storage = serializers.CharField()
    tenant = serializers.CharField()
    token_expiration_time = serializers.CharField()
    token_renew_time = serializers.CharField()
    server_time = serializers.DateTimeField()
    user = CallerInfo()


@extend_schema_view(get=extend_schema(operation_id="version", responses={200: ServiceVersion}, tags=["service"]))
class VersionView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response({"version": settings.REGISTRY_VERSION})


@extend_schema_view(get=extend_schema(operation_id="errors", responses={200: ErrorCatalogue}, tags=["service"]))
class ErrorsView(APIView):
    authentication_classes: list[Any] = []
    permission_classes = [AllowAny]

    def get(self, request: Request) -> Response:
        return Response(catalogue_document())


@extend_schema_view(get=extend_schema(operation_id="info", responses=ok(Info, 200, 401), tags=["service"]))
class InfoView(APIView):
    """What a client may know about this installation: names and lifetimes, never hosts, paths or secrets;
    and who the caller is (``user``): how a script holding only a key learns its username (``mreg whoami``)."""

    def get(self, request: Request) -> Response:
        user = cast("User", request.user)  # IsAuthenticated: a signed-in user
        return Response(
            {
                "version": settings.REGISTRY_VERSION,
                "environment": settings.ENVIRONMENT,
                "database": connections["default"].vendor,
                "storage": settings.STORAGE,
                "tenant": require_tenant().id,
                "token_expiration_time": settings.JWT_EXPIRATIONTIME_TEXT,
                "token_renew_time": settings.JWT_RENEW_EXPIRATIONTIME_TEXT,
                "server_time": timezone.now().isoformat().replace("+00:00", "Z"),
                "user": {"_id": user.pk, "username": user.username, "role": user.role},
            }
        )


@csrf_exempt  # it changes nothing; a browser's session cookie on an unknown route still gets the JSON 404
def api_not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    return json_error("resource_not_found", f"No API route {request.method} {request.path}")


def handler400(request: HttpRequest, exception: Exception) -> HttpResponse:
    """A request Django refuses before any view (a ``Host`` outside ALLOWED_HOSTS): the envelope under /v1/."""
    if is_api_path(request):
        details = "Host: not a name this registry serves (ALLOWED_HOSTS)"
        if not isinstance(exception, DisallowedHost):
            details = "The request is malformed."
        return json_error("generic_request_error", details)
    return defaults.bad_request(request, exception)


def handler404(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    if is_api_path(request):
        return api_not_found(request)
    return defaults.page_not_found(request, exception)


def handler500(request: HttpRequest) -> HttpResponse:
    """Django's answer to an exception no view handled (one raised in a middleware, before any view): a
    database that cannot be reached is named as the outage it is (503), on the API and the pages alike."""
    failure = sys.exc_info()[1]
    if failure is not None and database_unavailable(failure):
        kind, details, headers = database_outage(failure)
        if is_api_path(request):
            return json_error(kind.name, details, headers)
        response = HttpResponse("The registry's database is unavailable right now; try again shortly.", status=503)
        response["Retry-After"] = headers["Retry-After"]
        response["Content-Type"] = "text/plain; charset=utf-8"
        return response
    if is_api_path(request):
        return json_error("internal_server_error", "The server could not complete the request.")
    return defaults.server_error(request)
