"""The one viewset behind ``/v1/models`` and ``/v1/datasets``; each app only names its kind and bodies."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cached_property
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.http.multipartparser import MultiPartParserError
from rest_framework import serializers, status
from rest_framework.decorators import action
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from framework.api.errors import ApiError
from framework.api.filtering import FilterField, MetadataField, RowsField
from framework.api.listing import ListQuery, ListSpec
from framework.api.viewsets import RegistryViewSet
from framework.files import downloads
from framework.files.uploads import (
    MULTIPART_OVERHEAD,
    HashingUploadHandler,
    ReceivedFile,
    expected_digest,
    receive_raw,
    refuse_oversized_request,
)
from items_app import generation, services
from items_app.api.serializers import item_document, item_documents, version_document
from items_app.models import Item, ItemTag, Kind, Lineage, MetadataEntry, Share, Version
from items_app.querysets import ItemQuerySet, count_readable
from items_app.related import load_related
from tenants_app.audit import Caller
from tenants_app.context import require_tenant
from tenants_app.models import User

LIST_FIELDS = set(services.LIST_FIELDS)
MAX_DESCRIPTION_LENGTH = 20000
# The aspects of items (``generation.ASPECTS``) each filterable field reads, besides which items the viewer
# may read: a field a client can change reads what its change bumps (``services.ASPECT_OF_FIELD``; visibility
# changes are changes of who may read). Ids, owners and creation times never change.
FILTER_ASPECTS: dict[str, tuple[str, ...]] = {
    **{name: (aspect,) if aspect else () for name, aspect in services.ASPECT_OF_FIELD.items()},
    "_id": (),
    "owner": (),
    "timestamp": (),
    "lastmod": ("lastmod",),
    "versions.original": ("versions",),
    "versions.sha256": ("versions",),
    "versions.size": ("versions",),
}
LOGIC = ("$and", "$or", "$nor")


def filter_aspects(document: Any) -> set[str] | None:
    """What a (valid) item filter reads; None when it names a field ``FILTER_ASPECTS`` does not know, so that
    its total is counted again after any write."""
    aspects: set[str] = set()
    for part in document if isinstance(document, list) else [document]:
        if not isinstance(part, dict):
            return None
        for key, condition in part.items():
            if key in LOGIC:
                read = filter_aspects(condition)
            elif key.startswith("metadata."):
                read = {"metadata"}
            else:
                read = set(FILTER_ASPECTS[key]) if key in FILTER_ASPECTS else None
            if read is None:
                return None
            aspects |= read
    return aspects


def canonical(filter_document: Any) -> str:
    """One text per filter, whatever the key order: part of the cache keys of totals and pages."""
    return json.dumps(filter_document, sort_keys=True, separators=(",", ":"))


def item_list_spec(kind: str, viewer: User, reads: generation.Cached | None = None) -> ListSpec:
    """Filterable and sortable fields of an item list, as the viewer may see them."""
    metadata = MetadataField(MetadataEntry, "item")
    fields: dict[str, Any] = {
        "_id": FilterField("id"),
        "name": FilterField("name"),
        "owner": FilterField("owner__username"),
        "visibility": FilterField("visibility"),
        "description": FilterField("description"),
        "timestamp": FilterField("timestamp", "datetime"),
        "lastmod": FilterField("lastmod", "datetime"),
        "users": RowsField(Share, "item", FilterField("user__username")),
        "tags": RowsField(ItemTag, "item", FilterField("tag__id")),
        "metadata": metadata,
        "versions.original": RowsField(Version, "item", FilterField("original")),
        "versions.sha256": RowsField(Version, "item", FilterField("blob__sha256")),
        "versions.size": RowsField(Version, "item", FilterField("size", "number")),
    }
    if kind == Kind.MODEL:
        readable = Item.objects.of_kind(Kind.DATASET).visible_to(viewer).values("pk")
        fields["status"] = FilterField("status")
        fields["datasets"] = RowsField(Lineage, "model", FilterField("dataset__id"), restrict=Q(dataset__in=readable))
    reads = reads or generation.Cached(viewer)
    return ListSpec(
        fields=fields,
        prefixed={"metadata.": metadata.named},
        counter=cached_total(kind, viewer, reads),
        page_rows=cached_page_rows(kind, viewer, reads, fields),
    )


def cached_total(kind: str, viewer: User, reads: generation.Cached) -> Callable[[QuerySet[Item], Any], int]:
    """``totalDocs`` from the generation cache: the same filter by the same viewer is counted once per change
    of what it reads (every page of a list shares it). An unfiltered list is counted in parts
    (``count_readable``)."""

    def total(filtered: QuerySet[Item], filter_document: Any) -> int:
        count = unfiltered_total if filter_document == {} else filtered.count
        key = ("total", kind, viewer.pk, viewer.role, canonical(filter_document))
        return reads.get(key, count, depends_on=filter_aspects(filter_document))

    def unfiltered_total() -> int:
        return count_readable(Item.objects.of_kind(kind), viewer)

    return total


def cached_page_rows(
    kind: str, viewer: User, reads: generation.Cached, fields: dict[str, Any]
) -> Callable[[QuerySet[Item], ListQuery, int], list[Item]]:
    """The items of one list page: which ones, in which order, from the generation cache like totals (kept
    while nothing the filter or the order reads changes); the items themselves are loaded fresh by id."""
    sort_aspects = {
        handler.lookup: FILTER_ASPECTS.get(name) for name, handler in fields.items() if isinstance(handler, FilterField)
    }
    sort_aspects["pk"] = ()

    def rows(filtered: QuerySet[Item], query: ListQuery, offset: int) -> list[Item]:
        read = filter_aspects(query.filter_document)
        for lookup in query.ordering:
            by = sort_aspects.get(lookup.lstrip("-"))
            read = None if read is None or by is None else read | set(by)
        filter_key = canonical(query.filter_document)
        key = ("page", kind, viewer.pk, viewer.role, filter_key, tuple(query.ordering), offset, query.limit)
        loaded: list[Item] = []

        def page_ids() -> list[str]:
            loaded.extend(filtered.order_by(*query.ordering)[offset : offset + query.limit])
            return [item.pk for item in loaded]

        ids = reads.get(key, page_ids, depends_on=read)
        if loaded:  # just computed: the page query loaded the items too
            return loaded
        found = Item.objects.of_kind(kind).visible_to(viewer).select_related("owner", "lists").in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]

    return rows


class ItemViewSet(RegistryViewSet):
    """Every route starts from ``scoped()``: an item the caller cannot read is a 404 everywhere."""

    # (One item is read with ``readable_one``, the same rule tested on its row. This docstring is the
    # routes' description in docs/openapi.yaml.)

    kind: str
    create_input: type[serializers.Serializer]
    update_input: type[serializers.Serializer]

    @cached_property
    def reads(self) -> generation.Cached:
        """This request's view of the generation cache (a viewset instance serves one request)."""
        return generation.Cached(self.request.user)

    def get_list_spec(self) -> ListSpec:
        return item_list_spec(self.kind, self.request.user, self.reads)

    def scoped(self) -> ItemQuerySet:
        return Item.objects.of_kind(self.kind).visible_to(self.request.user)

    def readable(self, pk: str) -> Item:
        return services.readable_item(self.request.user, self.kind, pk, "owner", "lists")

    def loaded(self, pk: str) -> Item:
        item = self.readable(pk)
        load_related([item], self.request.user)
        return item

    def list(self, request: Request) -> Response:
        # A page asked again before anything changed is served from the generation cache.
        viewer = request.user
        params = tuple(sorted((name, tuple(values)) for name, values in request.query_params.lists()))
        page = self.reads.get(
            ("list", self.kind, viewer.pk, viewer.role, params),
            lambda: self.list_page(request, self.scoped().select_related("owner", "lists"), self.documents),
            weight=lambda envelope: 1 + len(envelope["docs"]),
        )
        return Response(page)

    def retrieve(self, request: Request, pk: str) -> Response:
        viewer = request.user
        key = ("item", self.kind, pk, viewer.pk, viewer.role)
        return Response(self.reads.get(key, lambda: self.documents([self.readable(pk)])[0]))

    def documents(self, items: list[Item]) -> list[dict[str, Any]]:
        """The items' documents, each cached under its revision: an item nobody changed keeps its document
        across other writes. Besides the item's own rows, a document shows the datasets the viewer may read
        (their reader counters) and its shares' usernames (a user's deletion bumps every counter)."""
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

    def create(self, request: Request) -> Response:
        """Create an item; an array of item bodies creates them all in one transaction (or none) and answers
        their array, in order."""
        if isinstance(request.data, list):
            services.check_batch_size(request.data)
            bodies = self.validated_each(self.create_input, request.data)
            items = services.create_items(Caller.of(request), self.kind, bodies)
            return Response([item_document(item) for item in items], status=status.HTTP_201_CREATED)
        data = self.validated(self.create_input, request)
        item = services.create_item(Caller.of(request), self.kind, **data)
        return Response(item_document(item), status=status.HTTP_201_CREATED)

    def update(self, request: Request, pk: str) -> Response:
        item = self.loaded(pk)
        data = self.validated(self.update_input, request)
        lists = {name: data.pop(name) for name in list(data) if name in LIST_FIELDS}
        services.update_item(Caller.of(request), item, data, lists)
        return Response(item_document(self.loaded(pk)))

    def destroy(self, request: Request, pk: str) -> Response:
        item = self.loaded(pk)
        document = item_document(item)
        services.delete_item(Caller.of(request), item)
        return Response(document)

    # ------------------------------------------------------------ versions

    @action(detail=True, methods=["get", "post"], url_path="versions", parser_classes=[MultiPartParser])
    def versions(self, request: Request, pk: str) -> Response:
        """List the versions (readers), or upload a new one (owner and admins)."""
        item = self.loaded(pk)
        if request.method == "GET":
            return Response([version_document(version) for version in item.versions.all()])
        caller = Caller.of(request)
        services.ensure_editable(caller, item, "POST")  # before a single byte of the body is read
        expected = expected_digest(request._request)
        received, description = receive_upload(request._request)
        version = services.add_version(
            caller, item, received, original=received.original, description=description, expected_sha256=expected
        )
        return Response(version_document(version), status=status.HTTP_201_CREATED)

    @action(detail=True, methods=["get", "delete"], url_path=r"versions/(?P<ref>[^/]+)")
    def version(self, request: Request, pk: str, ref: str) -> Any:
        """Download a version by ordinal or file name (readers), or delete it (owner and admins)."""
        item = self.loaded(pk)
        version = services.find_version(item, ref)
        caller = Caller.of(request)
        if request.method == "DELETE":
            document = version_document(version)
            services.delete_version(caller, item, version)
            return Response(document)
        response, served_range = downloads.download(request._request, require_tenant().id, version)
        if response.status_code != 304:
            services.record_download(caller, item, version, served_range)
        return response


def receive_upload(request: HttpRequest) -> tuple[ReceivedFile, str]:
    """The uploaded file (streamed to disk, hashed) and its description, from either upload encoding.

    One implementation for the API (``/v1/…/versions``) and the pages (``/models/<id>/versions/upload``):
    it takes Django's ``HttpRequest`` (DRF views pass ``request._request``) and nothing must have read the
    body before it, so the hashing upload handler sees every byte.
    """
    content_type = request.META.get("CONTENT_TYPE", "").split(";")[0].strip().lower()
    if content_type == "application/octet-stream":
        received = receive_raw(request)
        description = request.GET.get("description", "")
    elif content_type == "multipart/form-data":
        received, description = _receive_multipart(request)
    else:
        raise ApiError(
            "unsupported_media_type", "Content-Type: send multipart/form-data (part 'file') or application/octet-stream"
        )
    return received, description


def _receive_multipart(request: HttpRequest) -> tuple[ReceivedFile, str]:
    refuse_oversized_request(request, overhead=MULTIPART_OVERHEAD)
    handler = HashingUploadHandler(request)
    request.upload_handlers = [handler]
    try:
        files, fields = request.FILES, request.POST
        if not _body_fully_read(request):
            raise ApiError("generic_upload_error", "body: the upload was cut off before its end")
        unknown = sorted((set(fields) - {"description", "file"}) | (set(files) - {"file"}))
        if unknown:
            raise ApiError(
                "post_request_error", f"{', '.join(unknown)}: unknown field(s); send 'file' and 'description'"
            )
        received = files.get("file")
        if received is None:
            raise ApiError("post_request_error", "file: required (a multipart part named 'file')")
        description = fields.get("description", "")
        if len(description) > MAX_DESCRIPTION_LENGTH:
            raise ApiError("post_request_error", f"description: at most {MAX_DESCRIPTION_LENGTH} characters")
    except MultiPartParserError as exc:
        _discard(handler)
        raise ApiError("generic_upload_error", f"body: Multipart form parse error - {exc}") from None
    except OSError:  # the client hung up mid-body (UnreadablePostError)
        _discard(handler)
        raise ApiError("generic_upload_error", "body: the upload was interrupted") from None
    except BaseException:
        _discard(handler)
        raise
    for other in handler.received:
        if other is not received:
            other.close()
    return received, description


def _discard(handler: HashingUploadHandler) -> None:
    handler.upload_interrupted()
    for received in handler.received:
        received.close()


def _body_fully_read(request: HttpRequest) -> bool:
    """Whether the whole declared body arrived: a client that hangs up mid-file must not leave a version."""
    stream = getattr(request, "_stream", None)
    position, limit = getattr(stream, "_pos", None), getattr(stream, "limit", None)
    return position is None or limit is None or position >= limit
