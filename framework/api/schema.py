"""The OpenAPI description of the API (``/v1/schema``), kept in one place beside the views it describes.

drf-spectacular generates the document; this module tells it what the views cannot: the shapes of the
JSON documents (the views build them with plain functions), the error envelope, the list parameters, the
two security schemes and the upload encodings. ``document_api()`` is applied once when the URLs load.
A test regenerates the schema and fails when ``docs/openapi.yaml`` drifts from it.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import is_list_serializer
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    extend_schema_view,
)
from rest_framework import serializers

from framework.api.errors import CATALOGUE
from items_app.api.serializers import (
    ItemCreateInput,
    ItemUpdateInput,
    ModelCreateInput,
    ModelUpdateInput,
)
from tenants_app.api import serializers as io

# ---------------------------------------------------------------- security schemes


class JWTScheme(OpenApiAuthenticationExtension):
    target_class = "tenants_app.authentication.TenantJWTAuthentication"
    name = "JWT"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "The `token` of POST /v1/login, verbatim: `JWT <jwt>` (`Bearer <jwt>` works too).",
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


class Error(serializers.Serializer):
    status = serializers.IntegerField()
    value = serializers.IntegerField(help_text="Stable id of the error; see GET /v1/errors.")
    message = serializers.CharField()
    details = serializers.JSONField(help_text="What exactly was wrong: the field, value or operator.")


class Tenant(serializers.Serializer):
    _id = serializers.CharField()
    organization = serializers.CharField()
    address = serializers.CharField()
    email = serializers.CharField()
    phone = serializers.CharField()
    timestamp = serializers.DateTimeField()
    lastmod = serializers.DateTimeField()


class User(serializers.Serializer):
    _id = serializers.CharField()
    username = serializers.CharField()
    email = serializers.EmailField(required=False, allow_null=True, help_text="Own record and admins only.")
    role = serializers.ChoiceField(
        choices=["admin", "regular"], required=False, help_text="Own record and admins only."
    )
    timestamp = serializers.DateTimeField(required=False)
    lastmod = serializers.DateTimeField(required=False)


class LoginUser(serializers.Serializer):
    _id = serializers.CharField()
    username = serializers.CharField()
    email = serializers.EmailField(allow_null=True)
    role = serializers.ChoiceField(choices=["admin", "regular"])


class Login(serializers.Serializer):
    user = LoginUser()
    token = serializers.CharField(help_text="Send verbatim as the Authorization header: `JWT <jwt>`.")
    token_expiration_time = serializers.CharField()


class Version(serializers.Serializer):
    ordinal = serializers.IntegerField()
    original = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    timestamp = serializers.DateTimeField()
    owner = serializers.CharField(allow_null=True)


class MetadataEntry(serializers.Serializer):
    name = serializers.CharField()
    value = serializers.JSONField(help_text="A string, a number or true/false.")


class Dataset(serializers.Serializer):
    _id = serializers.CharField()
    name = serializers.CharField()
    owner = serializers.CharField()
    visibility = serializers.ChoiceField(choices=["public", "private"])
    users = serializers.ListField(child=serializers.CharField())
    metadata = MetadataEntry(many=True)
    tags = serializers.ListField(child=serializers.CharField())
    description = serializers.CharField(allow_blank=True)
    versions = Version(many=True)
    timestamp = serializers.DateTimeField()
    lastmod = serializers.DateTimeField()


class Model(Dataset):
    status = serializers.ChoiceField(choices=["training", "test", "production", "deploy"])
    datasets = serializers.ListField(child=serializers.CharField(), help_text="Ids of datasets the caller can read.")


class VocabularyEntry(serializers.Serializer):
    _id = serializers.CharField()
    usage = serializers.ChoiceField(choices=["default", "folk"])
    owner = serializers.CharField(allow_null=True)
    timestamp = serializers.DateTimeField()
    count = serializers.IntegerField(help_text="Items the caller can read that use this entry.")


class VocabularyEntryInput(serializers.Serializer):
    _id = serializers.CharField(max_length=64)


class AuditEntry(serializers.Serializer):
    _id = serializers.CharField()
    timestamp = serializers.DateTimeField()
    actor = serializers.CharField(allow_null=True)
    action = serializers.CharField()
    resource = serializers.CharField()
    target = serializers.CharField(allow_blank=True)
    result = serializers.ChoiceField(choices=["success", "failure", "denied"])
    address = serializers.CharField(allow_null=True)
    details = serializers.DictField()


class Info(serializers.Serializer):
    version = serializers.CharField()
    environment = serializers.CharField()
    database = serializers.CharField()
    storage = serializers.CharField()
    tenant = serializers.CharField()
    token_expiration_time = serializers.CharField()
    token_renew_time = serializers.CharField()
    server_time = serializers.DateTimeField()


class ServiceVersion(serializers.Serializer):
    version = serializers.CharField()


class ErrorKind(serializers.Serializer):
    status = serializers.IntegerField()
    value = serializers.IntegerField()
    message = serializers.CharField()


# The catalogue is static: one property per error name, so the schema lists every error.
ErrorCatalogue = type("ErrorCatalogue", (serializers.Serializer,), {name: ErrorKind() for name in CATALOGUE})


class VersionUpload(serializers.Serializer):
    file = serializers.FileField(help_text="The file; its base name becomes `original`.")
    description = serializers.CharField(required=False)


_PAGES: dict[str, type[serializers.Serializer]] = {}


def _selectable(document: type[serializers.Serializer]) -> type[serializers.Serializer]:
    """``document`` as a list shows it: with ``select``, only ``_id`` and the selected fields are present."""

    def get_fields(self: serializers.Serializer) -> dict[str, serializers.Field]:
        fields = document.get_fields(self)
        for name, field in fields.items():
            field.required = name == "_id"
        return fields

    return type(f"Listed{document.__name__}", (document,), {"get_fields": get_fields})


def page_of(document: type[serializers.Serializer]) -> serializers.Serializer:
    """The pagination envelope around ``document`` (one component per document type)."""
    name = f"{document.__name__}Page"
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
REF = OpenApiParameter("ref", str, OpenApiParameter.PATH, description="The version's ordinal, or its file name.")
DIGEST_HEADERS = [
    OpenApiParameter("Digest", str, OpenApiParameter.HEADER, description="Expected digest: sha-256=<base64>."),
    OpenApiParameter("X-Checksum-Sha256", str, OpenApiParameter.HEADER, description="Expected SHA-256, hex."),
    OpenApiParameter(
        "Content-Disposition", str, OpenApiParameter.HEADER, description='Raw uploads: attachment; filename="x".'
    ),
    OpenApiParameter("description", str, description="Raw uploads: the version's description."),
]
RANGE_HEADERS = [
    OpenApiParameter("Range", str, OpenApiParameter.HEADER, description="A single byte range: bytes=0-1023."),
    OpenApiParameter("If-None-Match", str, OpenApiParameter.HEADER, description='"<sha256>" → 304 when equal.'),
]

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
    429: "Too many failed logins; see Retry-After.",
}


def _errors(*codes: int) -> dict[int, OpenApiResponse]:
    return {code: OpenApiResponse(Error, description=_ERROR_TEXT[code]) for code in codes}


def _ok(document: Any, status: int = 200, *errors: int) -> dict[Any, Any]:
    return {status: document, **_errors(*errors)}


READ_ERRORS = (400, 401, 404)
WRITE_ERRORS = (400, 401, 403, 404, 409)


def document_api() -> None:
    """Attach the descriptions to the views (idempotent: drf-spectacular merges repeated decorations)."""
    from datasets_app.api.views import DatasetViewSet
    from folksonomy_app.api.views import MetadataNameViewSet, TagViewSet
    from models_app.api.views import MLModelViewSet
    from registry_project.views import ErrorsView, InfoView, VersionView
    from tenants_app.api.views import AuditLogViewSet, LoginView, TenantViewSet, UserViewSet

    extend_schema_view(
        get=extend_schema(operation_id="version", responses={200: ServiceVersion}, tags=["service"]),
    )(VersionView)
    extend_schema_view(
        get=extend_schema(operation_id="errors", responses={200: ErrorCatalogue}, tags=["service"]),
    )(ErrorsView)
    extend_schema_view(
        get=extend_schema(operation_id="info", responses=_ok(Info, 200, 401), tags=["service"]),
    )(InfoView)
    extend_schema_view(
        post=extend_schema(
            operation_id="login",
            request=io.LoginInput,
            responses=_ok(Login, 200, 400, 401, 429),
            tags=["login"],
            auth=[],
        ),
        put=extend_schema(
            operation_id="renew_token",
            request=None,
            responses=_ok(Login, 200, 401),
            tags=["login"],
            description="Renew a valid or expired token within JWT_RENEW_EXPIRATIONTIME of the original login.",
        ),
    )(LoginView)
    _collection(TenantViewSet, "tenant", Tenant, create=io.TenantCreateInput, update=io.TenantUpdateInput)
    _collection(UserViewSet, "user", User, create=io.UserCreateInput, update=io.UserUpdateInput)
    extend_schema_view(
        list=extend_schema(
            operation_id="log_list",
            parameters=LIST_PARAMETERS,
            responses=_ok(page_of(AuditEntry), 200, 400, 401, 403),
            tags=["log"],
        ),
    )(AuditLogViewSet)
    for viewset, vocabulary in ((TagViewSet, "tag"), (MetadataNameViewSet, "metadata")):
        _collection(viewset, vocabulary, VocabularyEntry, create=VocabularyEntryInput, update=None)
    _collection(MLModelViewSet, "model", Model, create=ModelCreateInput, update=ModelUpdateInput, batch=True)
    _collection(DatasetViewSet, "dataset", Dataset, create=ItemCreateInput, update=ItemUpdateInput, batch=True)
    for viewset, kind in ((MLModelViewSet, "model"), (DatasetViewSet, "dataset")):
        _versions(viewset, kind)


def _collection(
    viewset: type,
    name: str,
    document: type[serializers.Serializer],
    *,
    create: Any,
    update: Any | None,
    batch: bool = False,
) -> None:
    """list / retrieve / create / update / destroy of one collection; with ``batch``, a create also takes an
    array of bodies and answers an array of documents."""
    tags = [_TAGS.get(name, f"{name}s")]
    created: Any = document
    if batch:
        title = name.capitalize()
        create = _one_or_many(f"{title}CreateOneOrMany", create)
        created = _one_or_many(f"{title}OneOrMany", document)
    operations = {
        "list": extend_schema(
            operation_id=f"{name}_list",
            parameters=LIST_PARAMETERS,
            responses=_ok(page_of(document), 200, 400, 401),
            tags=tags,
        ),
        "retrieve": extend_schema(
            operation_id=f"{name}_get", parameters=[ID], responses=_ok(document, 200, *READ_ERRORS), tags=tags
        ),
        "create": extend_schema(
            operation_id=f"{name}_create", request=create, responses=_ok(created, 201, *WRITE_ERRORS, 413), tags=tags
        ),
        "destroy": extend_schema(
            operation_id=f"{name}_delete", parameters=[ID], responses=_ok(document, 200, *WRITE_ERRORS), tags=tags
        ),
    }
    if update is not None:
        operations["update"] = extend_schema(
            operation_id=f"{name}_update",
            parameters=[ID],
            request=update,
            responses=_ok(document, 200, *WRITE_ERRORS),
            tags=tags,
        )
    extend_schema_view(**operations)(viewset)


_TAGS = {"metadata": "metadata"}


def _one_or_many(component: str, serializer: type[serializers.Serializer]) -> PolymorphicProxySerializer:
    return PolymorphicProxySerializer(
        component_name=component,
        serializers=[serializer, serializer(many=True)],
        resource_type_field_name=None,
        many=False,
    )


def _versions(viewset: type, kind: str) -> None:
    tags = [f"{kind}s"]
    extend_schema_view(
        versions=[
            extend_schema(
                methods=["GET"],
                operation_id=f"{kind}_versions_list",
                parameters=[ID],
                responses=_ok(Version(many=True), 200, *READ_ERRORS),
                tags=tags,
            ),
            extend_schema(
                methods=["POST"],
                operation_id=f"{kind}_version_upload",
                parameters=[ID, *DIGEST_HEADERS],
                request={"multipart/form-data": VersionUpload, "application/octet-stream": OpenApiTypes.BINARY},
                responses=_ok(Version, 201, 400, 401, 403, 404, 409, 413, 415),
                tags=tags,
            ),
        ],
        version=[
            extend_schema(
                methods=["GET"],
                operation_id=f"{kind}_version_download",
                parameters=[ID, REF, *RANGE_HEADERS],
                responses={
                    (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
                    (206, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="A range."),
                    304: OpenApiResponse(description="Not modified (If-None-Match)."),
                    **_errors(400, 401, 404, 416),
                },
                tags=tags,
            ),
            extend_schema(
                methods=["DELETE"],
                operation_id=f"{kind}_version_delete",
                parameters=[ID, REF],
                responses=_ok(Version, 200, 400, 401, 403, 404),
                tags=tags,
            ),
        ],
    )(viewset)


def tidy_paths(endpoints: list[tuple[str, str, str, Any]], **kwargs: Any) -> list[tuple[str, str, str, Any]]:
    """Preprocessing hook: publish each route once, as ``/v1/models`` (no optional slash, no /login alias)."""
    tidy = []
    for path, path_regex, method, callback in endpoints:
        if not path.startswith("/v1/") or path.startswith("/v1/schema"):
            continue
        tidy.append((path.rstrip("/") or path, path_regex, method, callback))
    return tidy
