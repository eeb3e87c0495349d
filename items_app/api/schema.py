"""How the OpenAPI document describes the routes of a kind: its documents, bodies, versions and downloads.

A kind app decorates its viewset with ``@extend_schema_view(**routes_of(KIND))``; the documents and bodies
are built from what every item has and the kind's traits, as the routes themselves are.
"""

from __future__ import annotations

import functools
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers

from framework.api.schema import ID, READ_ERRORS, collection_operations, errors, ok
from items_app.api.serializers import create_input, update_input
from items_app.kinds import ItemKind


class Version(serializers.Serializer[Any]):
    ordinal = serializers.IntegerField()
    original = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    timestamp = serializers.DateTimeField()
    owner = serializers.CharField(allow_null=True)


class MetadataEntry(serializers.Serializer[Any]):
    name = serializers.CharField()
    value = serializers.JSONField(help_text="A string, a number or true/false.")


# What every item's document holds; a kind's document adds its traits' fields (``document_of``). No
# docstring: the generated components would inherit it as their description.
class ItemDocument(serializers.Serializer[Any]):
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


class VersionUpload(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="The file; its base name becomes `original`.")
    description = serializers.CharField(required=False)


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


@functools.cache
def document_of(kind: ItemKind) -> type[serializers.Serializer[Any]]:
    """The document component of ``kind`` (``Model``): what every item holds, then its traits' fields."""
    fields = {trait.field: field for trait in kind.traits if (field := trait.schema_field()) is not None}
    return type(kind.singular, (ItemDocument,), fields)


def routes_of(kind: ItemKind) -> dict[str, Any]:
    """The ``@extend_schema_view`` arguments of a kind's viewset: its collection, versions and downloads."""
    name = kind.value
    document = document_of(kind)
    operations = collection_operations(
        name, document, create=create_input(kind), update=update_input(kind), batch=True, tag=kind.prefix
    )
    tags = [kind.prefix]
    operations["versions"] = [
        extend_schema(
            methods=["GET"],
            operation_id=f"{name}_versions_list",
            parameters=[ID],
            responses=ok(Version(many=True), 200, *READ_ERRORS),
            tags=tags,
        ),
        extend_schema(
            methods=["POST"],
            operation_id=f"{name}_version_upload",
            parameters=[ID, *DIGEST_HEADERS],
            request={"multipart/form-data": VersionUpload, "application/octet-stream": OpenApiTypes.BINARY},
            responses=ok(Version, 201, 400, 401, 403, 404, 409, 413, 415),
            tags=tags,
        ),
    ]
    operations["version"] = [
        extend_schema(
            methods=["GET"],
            operation_id=f"{name}_version_download",
            parameters=[ID, REF, *RANGE_HEADERS],
            responses={
                (200, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="The file."),
                (206, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="A range."),
                304: OpenApiResponse(description="Not modified (If-None-Match)."),
                **errors(400, 401, 404, 416),
            },
            tags=tags,
        ),
        extend_schema(
            methods=["DELETE"],
            operation_id=f"{name}_version_delete",
            parameters=[ID, REF],
            responses=ok(Version, 200, 400, 401, 403, 404),
            tags=tags,
        ),
    ]
    return operations
