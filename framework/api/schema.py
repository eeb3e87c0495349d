"""The OpenAPI plumbing every app's API uses: the schema class, the error envelope, list pages and the
standard responses of a collection.

drf-spectacular generates the document (``/v1/schema``) from the views; each viewset carries its own
description (``@extend_schema_view`` beside it, built with ``collection_operations`` for the usual five
routes). A test regenerates the schema and fails when ``docs/openapi.yaml`` drifts from it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import serializers


class RegistryAutoSchema(AutoSchema):
    """Lists answer the pagination envelope (an object); only an explicit ``many=True`` is an array."""

    def _is_list_view(self, serializer: Any = None) -> bool:
        if serializer is None:
            serializer = self.get_response_serializers()
        if isinstance(serializer, dict) and serializer:
            serializer = {str(code): value for code, value in serializer.items()}
            serializer = serializer[min(serializer)]
        return is_list_serializer(serializer)


# ---------------------------------------------------------------- documents


class Error(serializers.Serializer[Any]):
    status = serializers.IntegerField()
    value = serializers.IntegerField(help_text="Stable id of the error; see GET /v1/errors.")
    message = serializers.CharField()
    details = serializers.JSONField(help_text="What exactly was wrong: the field, value or operator.")


_PAGES: dict[str, type[serializers.Serializer[Any]]] = {}


def _selectable(document: type[serializers.Serializer[Any]]) -> type[serializers.Serializer[Any]]:
    """``document`` as a list shows it: with ``select``, only ``_id`` and the selected fields are present."""

    def get_fields(self: serializers.Serializer[Any]) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        fields = document.get_fields(self)
        for name, field in fields.items():
            field.required = name == "_id"
        return fields

    return type(f"Listed{_component(document)}", (document,), {"get_fields": get_fields})


def _component(document: type[serializers.Serializer[Any]]) -> str:
    """The component name drf-spectacular gives a serializer class (without a "Serializer" suffix)."""
    return document.__name__.removesuffix("Serializer")


def page_of(document: type[serializers.Serializer[Any]]) -> serializers.Serializer[Any]:
    """The pagination envelope around ``document`` (one component per document type)."""
    name = f"{_component(document)}Page"
    if name not in _PAGES:
        listed = _selectable(document)
        _PAGES[name] = type(
            name,
            (serializers.Serializer,),
            {
                "docs": listed(many=True),
                "totalDocs": serializers.IntegerField(),
                "limit": serializers.IntegerField(),
                "totalPages": serializers.IntegerField(),
                "page": serializers.IntegerField(),
                "pagingCounter": serializers.IntegerField(),
                "hasPrevPage": serializers.BooleanField(),
                "hasNextPage": serializers.BooleanField(),
                "prevPage": serializers.IntegerField(allow_null=True),
                "nextPage": serializers.IntegerField(allow_null=True),
            },
        )
    return _PAGES[name]()


# ---------------------------------------------------------------- parameters and responses

LIST_PARAMETERS = [
    OpenApiParameter("filter", str, description='Filter document (MongoDB-style subset), e.g. {"tags":"vision"}.'),
    OpenApiParameter("sort", str, description='e.g. {"timestamp":"desc"}; only scalar fields.'),
    OpenApiParameter("page", int, description="1-based page number."),
    OpenApiParameter("limit", int, description="Page size, 1 to 100 (larger values are capped)."),
    OpenApiParameter("select", str, description='JSON array of fields to return, e.g. ["name","tags"].'),
]
ID = OpenApiParameter("id", str, OpenApiParameter.PATH, description="The resource's _id.")
_ERROR_TEXT = {
    400: "Invalid request (the details name the field, value or operator).",
    401: "Missing, invalid or expired credentials.",
    403: "The caller's role or relation to the resource does not allow this.",
    404: "No such resource, or not readable by the caller.",
    405: "Method not allowed.",
    409: "Conflicts with the current state (duplicate, or still in use).",
    413: "The body is too large: a file over MAX_UPLOAD_SIZE, or a JSON body over 2.5 MiB.",
    415: "Unsupported content type.",
    416: "The range cannot be served.",
    410: "The resource expired (an unfinished resumable upload).",
    412: "Tus-Resumable is missing or names another protocol version.",
    422: "The content is refused by the tenant's settings (a dangerous file); details name why.",
    429: "Too many failed logins; see Retry-After.",
    460: "The chunk does not match its Upload-Checksum (tus); nothing of it was kept.",
    503: "A service the request needs (the object store) does not answer; see Retry-After.",
    507: "The server has no room for the bytes; what it held before is intact.",
}


def errors(*codes: int) -> dict[int, OpenApiResponse]:
    """The error envelope as the answer of each of these statuses."""
    return {code: OpenApiResponse(Error, description=_ERROR_TEXT[code]) for code in codes}


def ok(document: Any, status: int = 200, *failures: int) -> dict[Any, Any]:
    """``document`` on success, the error envelope for each status of ``failures``."""
    return {status: document, **errors(*failures)}


READ_ERRORS = (400, 401, 404)
WRITE_ERRORS = (400, 401, 403, 404, 409)


def collection_operations(
    name: str,
    document: type[serializers.Serializer[Any]],
    *,
    create: Any,
    update: Any | None,
    batch: bool = False,
    tag: str | None = None,
) -> dict[str, Any]:
    """The ``@extend_schema_view`` arguments of a collection's list / retrieve / create / update / destroy;
    with ``batch``, a create also takes an array of bodies and answers an array of documents."""
    tags = [tag or f"{name}s"]
    created: Any = document
    if batch:
        title = name.capitalize()
        create = one_or_many(f"{title}CreateOneOrMany", create)
        created = one_or_many(f"{title}OneOrMany", document)
    operations = {
        "list": extend_schema(
            operation_id=f"{name}_list",
            parameters=LIST_PARAMETERS,
            responses=ok(page_of(document), 200, 400, 401),
            tags=tags,
        ),
        "retrieve": extend_schema(
            operation_id=f"{name}_get", parameters=[ID], responses=ok(document, 200, *READ_ERRORS), tags=tags
        ),
        "create": extend_schema(
            operation_id=f"{name}_create", request=create, responses=ok(created, 201, *WRITE_ERRORS, 413), tags=tags
        ),
        "destroy": extend_schema(
            operation_id=f"{name}_delete", parameters=[ID], responses=ok(document, 200, *WRITE_ERRORS), tags=tags
        ),
    }
    if update is not None:
        operations["update"] = extend_schema(
            operation_id=f"{name}_update",
            parameters=[ID],
            request=update,
            responses=ok(document, 200, *WRITE_ERRORS),
            tags=tags,
        )
    return operations


def one_or_many(component: str, serializer: type[serializers.Serializer[Any]]) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name=component,
        serializers=[serializer, serializer(many=True)],
        resource_type_field_name=None,
        many=False,
    )


def tidy_paths(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """Preprocessing hook: publish each route once, as ``/v1/models`` (no optional slash, no /login alias)."""
    tidy = []
    for path, path_regex, method, callback in endpoints:
        if not path.startswith("/v1/") or path.startswith("/v1/schema"):
            continue
        tidy.append((path.rstrip("/") or path, path_regex, method, callback))
    return tidy
