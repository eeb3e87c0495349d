"""The viewset behind ``/v1/<kind>`` for every kind; a kind app subclasses it naming its ``ItemKind``.

Every route starts from what the caller may read (``scoped``, ``readable``): an item the caller cannot read
is a 404 everywhere. Bodies come from the kind (``create_input``, ``update_input``), writes go through
``items_app.services`` and ``items_app.versions``, documents through ``items_app.documents``.
"""

from __future__ import annotations

import builtins
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.http import HttpResponse
from drf_spectacular.utils import extend_schema_view
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.response import Response

from framework.api.filtering import FilterField
from framework.api.listing import ListSpec
from framework.api.schema import collection_operations
from framework.api.viewsets import RegistryViewSet
from framework.errors import Invalid, NotFound
from framework.files import downloads
from framework.files.uploads import expected_digest, receive_upload, upload_field
from items_app import aliases as item_aliases
from items_app import generation, resumable, services, tus, versions
from items_app.api.schema import ProtectedAliasDocument
from items_app.api.serializers import (
    ALIAS_HISTORY,
    AliasInput,
    DirectCompleteInput,
    DirectUploadInput,
    ProtectedAliasInput,
    VersionUpdateInput,
    alias_document,
    create_input,
    direct_document,
    move_document,
    protected_document,
    sort_versions,
    update_input,
)
from items_app.documents import item_document, item_documents, version_document
from items_app.facts import safety_headers
from items_app.kinds import ItemKind
from items_app.listing import item_list_spec
from items_app.models import Item, ProtectedAlias
from items_app.querysets import ItemQuerySet
from items_app.related import load_related
from items_app.versions import AliasesOnDeletion
from tenants_app.audit import Caller
from tenants_app.context import require_tenant

if TYPE_CHECKING:
    from tenants_app.http import SignedInApiRequest

BY_NAME = "by-name/"


class ItemViewSet(RegistryViewSet):
    """Every route starts from ``scoped()``: an item the caller cannot read is a 404 everywhere."""

    # (One item is read with ``readable_one``, the same rule tested on its row. This docstring is the
    # routes' description in docs/openapi.yaml.)

    kind: ItemKind
    if TYPE_CHECKING:
        request: SignedInApiRequest  # signed in: IsAuthenticated, the API's default permission

    @cached_property
    def reads(self) -> generation.Cached:
        """This request's view of the generation cache (a viewset instance serves one request)."""
        return generation.Cached(self.request.user)

    def scoped(self) -> ItemQuerySet:
        return Item.objects.of_kind(self.kind.value).visible_to(self.request.user)

    # An id, or ``by-name/<owner>/<name>``: every item route also answers by the item's stable name.
    lookup_value_regex = r"by-name/[^/]+/[^/]+|[^/]+"

    def readable(self, pk: str) -> Item:
        if pk.startswith(BY_NAME):
            owner, _, name = pk[len(BY_NAME) :].partition("/")
            pk = services.item_id_by_name(self.kind.value, owner, name) or f"{owner}/{name}"
        return services.readable_item(self.request.user, self.kind.value, pk, "owner", "lists")

    def loaded(self, pk: str) -> Item:
        item = self.readable(pk)
        load_related([item], self.request.user)
        return item

    def list(self, request: SignedInApiRequest) -> Response:
        # A page asked again before anything changed is served from the generation cache.
        viewer = request.user
        params = tuple(sorted((name, tuple(values)) for name, values in request.query_params.lists()))
        page = self.reads.get(
            ("list", self.kind.value, viewer.pk, viewer.role, params),
            lambda: self.list_page(request, self.scoped().select_related("owner", "lists"), self.documents),
            weight=lambda envelope: 1 + len(envelope["docs"]),
        )
        return Response(page)

    def retrieve(self, request: SignedInApiRequest, pk: str) -> Response:
        viewer = request.user
        key = ("item", self.kind.value, pk, viewer.pk, viewer.role)
        return Response(self.reads.get(key, lambda: self.documents([self.readable(pk)])[0]))

    def documents(self, items: builtins.list[Item]) -> builtins.list[dict[str, Any]]:
        """The items' documents, each cached under its revision: an item nobody changed keeps its document
        across other writes. Besides the item's own rows, a document shows the trait lists the viewer may
        read (their reader counters) and its shares' usernames (a user's deletion bumps every counter)."""
        viewer = self.request.user
        keys = [("document", item.pk, item.revision, viewer.pk, viewer.role) for item in items]
        cached = [self.reads.lookup(key, depends_on=()) for key in keys]
        missing = [item for item, (found, _) in zip(items, cached, strict=True) if not found]
        built = iter(item_documents(missing, viewer)) if missing else iter(())
        documents = []
        for key, (found, document) in zip(keys, cached, strict=True):
            if not found:
                document = next(built)
                self.reads.store(key, document, depends_on=())
            documents.append(document)
        return documents

    def create(self, request: SignedInApiRequest) -> Response:
        """Create an item; an array of item bodies creates them all in one transaction (or none) and answers
        their array, in order."""
        if isinstance(request.data, list):
            services.check_batch_size(request.data)
            bodies = self.validated_each(create_input(self.kind), request.data)
            items = services.create_items(Caller.of(request), self.kind, bodies)
            return Response([item_document(item) for item in items], status=status.HTTP_201_CREATED)
        data = self.validated(create_input(self.kind), request)
        item = services.create_item(Caller.of(request), self.kind, **data)
        return Response(item_document(item), status=status.HTTP_201_CREATED)

    def update(self, request: SignedInApiRequest, pk: str) -> Response:
        item = self.loaded(pk)
        data = self.validated(update_input(self.kind), request)
        list_fields = {"users", "tags", "metadata", *(trait.field for trait in self.kind.lists)}
        lists = {name: data.pop(name) for name in list(data) if name in list_fields}
        services.update_item(Caller.of(request), item, data, lists)
        return Response(item_document(self.loaded(pk)))

    def destroy(self, request: SignedInApiRequest, pk: str) -> Response:
        item = self.loaded(pk)
        document = item_document(item)
        services.delete_item(Caller.of(request), item)
        return Response(document)

    # ------------------------------------------------------------ versions

    @action(detail=True, methods=["get", "post"], url_path="versions", parser_classes=[MultiPartParser])
    def versions(self, request: SignedInApiRequest, pk: str) -> Response:
        """List the versions (readers), or upload a new one (owner and admins)."""
        item = self.loaded(pk)
        if request.method == "GET":
            return Response(self.version_list(request, item))
        caller = Caller.of(request)
        services.ensure_editable(caller, item, "create")  # before a single byte of the body is read
        label = versions.label_for_upload(item, request.query_params.get("ordinal"))
        expected = expected_digest(request._request)
        received, description = receive_upload(request._request)
        try:
            metadata = versions.parse_version_metadata(upload_field(request._request, "metadata"))
        except BaseException:
            received.close()  # a bad field keeps nothing of the file
            raise
        version = versions.add_version(
            caller,
            item,
            received,
            original=received.original,
            description=description,
            expected_sha256=expected,
            metadata=metadata,
            label=label,
        )
        return Response(version_document(version), status=status.HTTP_201_CREATED)

    def version_list(self, request: SignedInApiRequest, item: Item) -> builtins.list[dict[str, Any]]:
        documents = [version_document(version) for version in item.related.versions]
        return sort_versions(documents, request.query_params.get("sort"))

    @action(detail=True, methods=["get", "put", "delete"], url_path=r"versions/(?P<ref>[^/]+)")
    def version(self, request: SignedInApiRequest, pk: str, ref: str) -> Any:
        """Download a version by ordinal, file name, ``@alias`` or ``@latest`` (readers); change its
        description and metadata, or delete it (owner and admins)."""
        item = self.loaded(pk)
        version = versions.find_version(item, ref)
        caller = Caller.of(request)
        if request.method == "PUT":
            data = self.validated(VersionUpdateInput, request)
            updated = versions.update_version(
                caller, item, version, description=data.get("description"), metadata=data.get("metadata")
            )
            return Response(version_document(updated))
        if request.method == "DELETE":
            document = version_document(version)
            versions.delete_version(caller, item, version, self.aliases_on_deletion(request, item))
            return Response(document)
        response, served_range = downloads.download(request._request, require_tenant().id, version)
        for name, value in safety_headers(version).items():  # a suspicious or dangerous pickle says so
            response[name] = value
        if response.status_code != 304:
            versions.record_download(caller, item, version, served_range)
        return response

    @staticmethod
    def aliases_on_deletion(request: SignedInApiRequest, item: Item) -> AliasesOnDeletion:
        mode = request.query_params.get("aliases")
        if mode is None:
            return AliasesOnDeletion()
        if mode == "drop":
            return AliasesOnDeletion(drop=True)
        if mode == "move":
            target = request.query_params.get("to")
            if not target:
                raise Invalid("to: name the version the aliases move to (?aliases=move&to=<version>)")
            return AliasesOnDeletion(to=versions.find_version(item, target))
        raise Invalid(f"aliases: {mode!r}; use drop or move")

    @action(detail=True, methods=["get"], url_path=r"versions/(?P<ref>[^/]+)/info")
    def version_info(self, request: SignedInApiRequest, pk: str, ref: str) -> Response:
        """The version document a reference names (the plain ``versions/{ref}`` route sends the file)."""
        return Response(version_document(versions.find_version(self.readable(pk), ref)))

    # ------------------------------------------------------------ resumable uploads (tus 1.0)

    @action(detail=True, methods=["post", "options"], url_path="uploads")
    def uploads(self, request: SignedInApiRequest, pk: str) -> HttpResponse:
        """Open a resumable upload of a new version (tus 1.0 creation; OPTIONS tells what the server speaks)."""
        if request.method == "OPTIONS":
            return tus.discovery()
        item = self.readable(pk)
        return tus.creation(request._request, Caller.of(request), item, tus.Urls(f"/v1/{self.kind.prefix}/{item.pk}"))

    @action(detail=True, methods=["head", "patch", "delete"], url_path=r"uploads/(?P<upload_id>[0-9a-f]{32})")
    def upload(self, request: SignedInApiRequest, pk: str, upload_id: str) -> HttpResponse:
        """Where a resumable upload stands (HEAD), append a chunk (PATCH), give it up (DELETE)."""
        item = self.readable(pk)
        urls = tus.Urls(f"/v1/{self.kind.prefix}/{item.pk}")
        return tus.upload(request._request, Caller.of(request), item, upload_id, urls)

    @action(detail=True, methods=["post"], url_path="uploads/s3")
    def direct_uploads(self, request: SignedInApiRequest, pk: str) -> Response:
        """Start a direct upload (STORAGE=s3): presigned URLs to send the parts straight to the bucket."""
        item = self.readable(pk)
        data = self.validated(DirectUploadInput, request)
        announced = resumable.Announced(
            length=data["size"],
            filename=data["filename"],
            description=data.get("description", ""),
            metadata=versions.version_metadata(data["metadata"]) if "metadata" in data else (),
            expected_sha256=data["sha256"].lower() if "sha256" in data else None,
            content_type=data.get("content_type", "application/octet-stream"),
            label=versions.checked_label(data.get("label"), "label"),
        )
        upload = resumable.start_direct(Caller.of(request), item, announced)
        return Response(direct_document(upload), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["delete"], url_path=r"uploads/s3/(?P<upload_id>[0-9a-f]{32})")
    def direct_upload(self, request: SignedInApiRequest, pk: str, upload_id: str) -> Response:
        """Give a direct upload up: its parts in the bucket are removed."""
        item = self.readable(pk)
        caller = Caller.of(request)
        resumable.abort_direct(resumable.find_upload(caller, item, upload_id, direct=True))
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"], url_path=r"uploads/s3/(?P<upload_id>[0-9a-f]{32})/complete")
    def direct_complete(self, request: SignedInApiRequest, pk: str, upload_id: str) -> Response:
        """Finish a direct upload: the registry joins the parts, checks the SHA-256, records the version."""
        item = self.readable(pk)
        caller = Caller.of(request)
        session = resumable.find_upload(caller, item, upload_id, direct=True)
        parts = [(part["number"], part["etag"]) for part in self.validated(DirectCompleteInput, request)["parts"]]
        version = resumable.complete_direct(caller, item, session, parts)
        return Response(version_document(version), status=status.HTTP_201_CREATED)

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.action in ("uploads", "upload") and request.method != "OPTIONS":
            tus.with_tus_header(response)
        return response

    # ------------------------------------------------------------ aliases

    @action(detail=True, methods=["get"], url_path="aliases")
    def aliases(self, request: SignedInApiRequest, pk: str) -> Response:
        """The item's aliases, by name."""
        return Response([alias_document(alias) for alias in item_aliases.aliases_of(self.readable(pk))])

    @action(detail=True, methods=["put", "delete"], url_path=r"aliases/(?P<alias>[^/]+)")
    def alias(self, request: SignedInApiRequest, pk: str, alias: str) -> Response:
        """Point an alias at a version (``{"version": <ordinal or file name>}``), or remove it."""
        item = self.readable(pk)
        caller = Caller.of(request)
        if request.method == "DELETE":
            return Response(alias_document(item_aliases.remove_alias(caller, item, alias)))
        data = self.validated(AliasInput, request)
        return Response(alias_document(item_aliases.move_alias(caller, item, alias, data["version"])))

    @action(detail=True, methods=["get"], url_path=r"aliases/(?P<alias>[^/]+)/history")
    def alias_history(self, request: SignedInApiRequest, pk: str, alias: str) -> Response:
        """Every move of one alias, newest first (a list endpoint)."""
        moves = item_aliases.history(self.readable(pk), alias)
        return self.list_response(request, moves, lambda rows: [move_document(move) for move in rows])

    def get_list_spec(self) -> ListSpec:
        if self.action == "alias_history":
            return ALIAS_HISTORY
        return item_list_spec(self.kind, self.request.user, self.reads)


@extend_schema_view(
    **collection_operations(
        "protected_alias", ProtectedAliasDocument, create=ProtectedAliasInput, update=None, tag="protected-aliases"
    )
)
class ProtectedAliasViewSet(RegistryViewSet):
    """``/v1/protected-aliases``: alias names only tenant admins may move (everyone may list them)."""

    list_spec = ListSpec(
        fields={"_id": FilterField("name"), "by": FilterField("by"), "timestamp": FilterField("timestamp", "datetime")},
        default_sort=("_id",),
    )

    def list(self, request: SignedInApiRequest) -> Response:
        return self.list_response(
            request, ProtectedAlias.objects.all(), lambda rows: [protected_document(p) for p in rows]
        )

    def retrieve(self, request: SignedInApiRequest, pk: str) -> Response:
        entry = ProtectedAlias.objects.filter(pk=pk).first()
        if entry is None:
            raise NotFound(f"_id: {pk!r} is not protected")
        return Response(protected_document(entry))

    def create(self, request: SignedInApiRequest) -> Response:
        data = self.validated(ProtectedAliasInput, request)
        entry = item_aliases.protect(Caller.of(request), data["_id"])
        return Response(protected_document(entry), status=status.HTTP_201_CREATED)

    def destroy(self, request: SignedInApiRequest, pk: str) -> Response:
        return Response(protected_document(item_aliases.unprotect(Caller.of(request), pk)))
