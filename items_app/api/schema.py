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

from framework.api.schema import ID, LIST_PARAMETERS, READ_ERRORS, collection_operations, errors, ok, page_of
from items_app.api.serializers import (
    AliasInput,
    DirectCompleteInput,
    DirectUploadInput,
    VersionUpdateInput,
    create_input,
    update_input,
)
from items_app.kinds import ItemKind


class MetadataEntry(serializers.Serializer[Any]):
    name = serializers.CharField()
    value = serializers.JSONField(help_text="A string, a number or true/false.")


class Version(serializers.Serializer[Any]):
    ordinal = serializers.IntegerField()
    # A declared field named like Field.label: DRF's metaclass takes it out of the class; mypy sees the clash.
    label = serializers.CharField(  # type: ignore[assignment]
        allow_null=True, help_text="The uploader's label (?ordinal=v2.0.0), or null."
    )
    original = serializers.CharField()
    size = serializers.IntegerField()
    sha256 = serializers.CharField()
    content_type = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    metadata = MetadataEntry(many=True)
    format = serializers.ChoiceField(
        choices=["onnx", "safetensors", "gguf", "pytorch", "pickle", "zip", "tar", "unknown"],
        help_text="What the file is, read from its bytes at upload (docs/uploads.md).",
    )
    facts = serializers.DictField(
        help_text="What the file says about itself, per format (parameters, dtypes, opset, inputs…); for "
        "`unknown`, `reason`."
    )
    safety = serializers.ChoiceField(
        choices=["safe", "suspicious", "dangerous", "not_applicable"],
        help_text="The pickle scan: `not_applicable` for formats without code.",
    )
    safety_globals = serializers.ListField(
        child=serializers.CharField(), help_text="The imported globals that made a pickle suspicious or dangerous."
    )
    aliases = serializers.ListField(child=serializers.CharField())
    timestamp = serializers.DateTimeField()
    owner = serializers.CharField(allow_null=True)


class DirectPart(serializers.Serializer[Any]):
    number = serializers.IntegerField()
    url = serializers.URLField(help_text="Presigned: PUT the part's bytes here, keep the ETag answered.")


class DirectUploadDocument(serializers.Serializer[Any]):
    _id = serializers.CharField()
    size = serializers.IntegerField()
    part_size = serializers.IntegerField(help_text="Every part but the last has exactly this many bytes.")
    parts = DirectPart(many=True)
    expires = serializers.DateTimeField()


class AliasDocument(serializers.Serializer[Any]):
    alias = serializers.CharField()
    version = serializers.IntegerField()
    lastmod = serializers.DateTimeField()
    by = serializers.CharField()


class AliasMoveDocument(serializers.Serializer[Any]):
    _id = serializers.CharField()
    alias = serializers.CharField()
    to = serializers.IntegerField(allow_null=True, help_text="null: the alias was removed")
    by = serializers.CharField()
    timestamp = serializers.DateTimeField()


# ``from`` is a Python keyword: declared outside the class body.
AliasMoveDocument._declared_fields["from"] = serializers.IntegerField(
    allow_null=True, help_text="null: the alias was created"
)


class ProtectedAliasDocument(serializers.Serializer[Any]):
    _id = serializers.CharField()
    by = serializers.CharField()
    timestamp = serializers.DateTimeField()


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
    aliases = serializers.DictField(child=serializers.IntegerField(), help_text="alias → ordinal")
    timestamp = serializers.DateTimeField()
    lastmod = serializers.DateTimeField()


class VersionUpload(serializers.Serializer[Any]):
    file = serializers.FileField(help_text="The file; its base name becomes `original`.")
    description = serializers.CharField(required=False)
    metadata = serializers.CharField(required=False, help_text='JSON: [{"name", "value"}…] or {"name": value}.')


REF = OpenApiParameter(
    "ref", str, OpenApiParameter.PATH, description="An ordinal, a label, a file name, @latest or @<alias>."
)
ALIAS = OpenApiParameter("alias", str, OpenApiParameter.PATH, description="An alias name, e.g. production.")
ON_DELETION = [
    OpenApiParameter("aliases", str, enum=["drop", "move"], description="What happens to aliases of the version."),
    OpenApiParameter("to", str, description="With aliases=move: the version they move to."),
]
VERSION_SORT = OpenApiParameter("sort", str, description='JSON, e.g. {"metadata.accuracy": "desc"}.')
DIGEST_HEADERS = [
    OpenApiParameter("Digest", str, OpenApiParameter.HEADER, description="Expected digest: sha-256=<base64>."),
    OpenApiParameter("X-Checksum-Sha256", str, OpenApiParameter.HEADER, description="Expected SHA-256, hex."),
    OpenApiParameter(
        "Content-Disposition", str, OpenApiParameter.HEADER, description='Raw uploads: attachment; filename="x".'
    ),
    OpenApiParameter(
        "ordinal",
        str,
        description="A label for the version besides its number (v2.0.0): at least one digit, unique per item "
        "in any case; all digits only as the next number.",
    ),
    OpenApiParameter("description", str, description="Raw uploads: the version's description."),
    OpenApiParameter("metadata", str, description="Raw uploads: the version's metadata (JSON)."),
]
UPLOAD_ID = OpenApiParameter("upload_id", str, OpenApiParameter.PATH, description="The upload, as Location named it.")
TUS_RESUMABLE = OpenApiParameter("Tus-Resumable", str, OpenApiParameter.HEADER, required=True, enum=["1.0.0"])
TUS_CREATION = [
    TUS_RESUMABLE,
    OpenApiParameter("Upload-Length", int, OpenApiParameter.HEADER, required=True, description="The file's size."),
    OpenApiParameter(
        "Upload-Metadata",
        str,
        OpenApiParameter.HEADER,
        required=True,
        description="key base64(value) pairs, comma-separated: filename (required), filetype, description, "
        "sha256 (hex), metadata (JSON).",
    ),
]
TUS_PATCH = [
    TUS_RESUMABLE,
    OpenApiParameter("Upload-Offset", int, OpenApiParameter.HEADER, required=True, description="Where it stands."),
    OpenApiParameter("Upload-Checksum", str, OpenApiParameter.HEADER, description="sha256 <base64 of the chunk's>."),
    OpenApiParameter(
        "Repr-Digest",
        str,
        OpenApiParameter.HEADER,
        description="RFC 9530, on the PATCH that completes the upload only: sha-256=:<base64 of the whole "
        "file's SHA-256>: (other algorithms are ignored). Checked as Upload-Metadata's sha256 is: a file that "
        "differs is a 400 digest_mismatch and nothing is kept.",
    ),
]
TUS_ANSWER = OpenApiResponse(description="Headers only: Upload-Offset, Upload-Expires; Content-Location at the end.")
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
            parameters=[ID, VERSION_SORT],
            responses=ok(Version(many=True), 200, *READ_ERRORS),
            tags=tags,
        ),
        extend_schema(
            methods=["POST"],
            operation_id=f"{name}_version_upload",
            parameters=[ID, *DIGEST_HEADERS],
            request={"multipart/form-data": VersionUpload, "application/octet-stream": OpenApiTypes.BINARY},
            responses=ok(Version, 201, 400, 401, 403, 404, 409, 413, 415, 422),
            tags=tags,
        ),
    ]
    operations["version"] = [
        extend_schema(
            methods=["GET"],
            operation_id=f"{name}_version_download",
            parameters=[ID, REF, *RANGE_HEADERS],
            responses={
                (200, "application/octet-stream"): OpenApiResponse(
                    OpenApiTypes.BINARY,
                    description="The file. A suspicious or dangerous pickle also answers `X-Registry-Safety` "
                    "and `X-Registry-Safety-Globals` (docs/api.md).",
                ),
                (206, "application/octet-stream"): OpenApiResponse(OpenApiTypes.BINARY, description="A range."),
                304: OpenApiResponse(description="Not modified (If-None-Match)."),
                **errors(400, 401, 404, 416),
            },
            tags=tags,
        ),
        extend_schema(
            methods=["PUT"],
            operation_id=f"{name}_version_update",
            parameters=[ID, REF],
            request=VersionUpdateInput,
            responses=ok(Version, 200, 400, 401, 403, 404),
            tags=tags,
        ),
        extend_schema(
            methods=["DELETE"],
            operation_id=f"{name}_version_delete",
            parameters=[ID, REF, *ON_DELETION],
            responses=ok(Version, 200, 400, 401, 403, 404, 409),
            tags=tags,
        ),
    ]
    operations["version_info"] = extend_schema(
        operation_id=f"{name}_version_info", parameters=[ID, REF], responses=ok(Version, 200, *READ_ERRORS), tags=tags
    )
    operations["uploads"] = [
        extend_schema(
            methods=["POST"],
            operation_id=f"{name}_upload_create",
            description="Open a resumable upload (tus 1.0 creation): 201 with its Location.",
            parameters=[ID, *TUS_CREATION],
            request=None,
            responses={201: TUS_ANSWER, **errors(400, 401, 403, 404, 409, 412, 413, 507)},
            tags=tags,
        ),
        extend_schema(
            methods=["OPTIONS"],
            operation_id=f"{name}_upload_options",
            description="Tus-Version, Tus-Extension, Tus-Max-Size and Tus-Checksum-Algorithm.",
            parameters=[ID],
            responses={204: OpenApiResponse(description="The protocol's headers.")},
            tags=tags,
        ),
    ]
    operations["upload"] = [
        extend_schema(
            methods=["HEAD"],
            operation_id=f"{name}_upload_offset",
            parameters=[ID, UPLOAD_ID, TUS_RESUMABLE],
            responses={200: TUS_ANSWER, **errors(401, 404, 410, 412)},
            tags=tags,
        ),
        extend_schema(
            methods=["PATCH"],
            operation_id=f"{name}_upload_append",
            description="Append a chunk at Upload-Offset; the last one records the version (Content-Location). "
            "The last one may carry the whole file's Repr-Digest (400 on any other PATCH, or when it contradicts "
            "the sha256 announced at creation).",
            parameters=[ID, UPLOAD_ID, *TUS_PATCH],
            request={"application/offset+octet-stream": OpenApiTypes.BINARY},
            responses={204: TUS_ANSWER, **errors(400, 401, 403, 404, 409, 410, 412, 415, 422, 460, 507)},
            tags=tags,
        ),
        extend_schema(
            methods=["DELETE"],
            operation_id=f"{name}_upload_delete",
            parameters=[ID, UPLOAD_ID, TUS_RESUMABLE],
            responses={204: OpenApiResponse(description="The upload and its bytes are gone."), **errors(401, 404)},
            tags=tags,
        ),
    ]
    operations["direct_uploads"] = extend_schema(
        operation_id=f"{name}_direct_upload_start",
        description="STORAGE=s3: presigned URLs to PUT the parts straight to the bucket (docs/uploads.md).",
        parameters=[ID],
        request=DirectUploadInput,
        responses=ok(DirectUploadDocument, 201, 400, 401, 403, 404, 409, 413, 503),
        tags=tags,
    )
    operations["direct_upload"] = extend_schema(
        operation_id=f"{name}_direct_upload_delete",
        parameters=[ID, UPLOAD_ID],
        responses={204: OpenApiResponse(description="The parts in the bucket are gone."), **errors(401, 404, 503)},
        tags=tags,
    )
    operations["direct_complete"] = extend_schema(
        operation_id=f"{name}_direct_upload_complete",
        description="Join the parts, check size and SHA-256 (one read), record the version.",
        parameters=[ID, UPLOAD_ID],
        request=DirectCompleteInput,
        responses=ok(Version, 201, 400, 401, 403, 404, 409, 410, 422, 503),
        tags=tags,
    )
    operations["aliases"] = extend_schema(
        operation_id=f"{name}_aliases_list",
        parameters=[ID],
        responses=ok(AliasDocument(many=True), 200, *READ_ERRORS),
        tags=tags,
    )
    operations["alias"] = [
        extend_schema(
            methods=["PUT"],
            operation_id=f"{name}_alias_set",
            parameters=[ID, ALIAS],
            request=AliasInput,
            responses=ok(AliasDocument, 200, 400, 401, 403, 404),
            tags=tags,
        ),
        extend_schema(
            methods=["DELETE"],
            operation_id=f"{name}_alias_delete",
            parameters=[ID, ALIAS],
            responses=ok(AliasDocument, 200, 400, 401, 403, 404),
            tags=tags,
        ),
    ]
    operations["alias_history"] = extend_schema(
        operation_id=f"{name}_alias_history",
        parameters=[ID, ALIAS, *LIST_PARAMETERS],
        responses=ok(page_of(AliasMoveDocument), 200, *READ_ERRORS),
        tags=tags,
    )
    return operations
