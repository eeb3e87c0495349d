"""Item lists for the API and the pages alike: what can be filtered and sorted, and cached totals and pages.

A list is the shared list machinery (``framework.api.listing``) over ``Item.objects.of_kind(kind)
.visible_to(viewer)``, with the fields of ``item_list_spec``: every field items share and those of the
kind's traits. Totals and the ids of a page come from the generation cache (``items_app.generation``),
kept while nothing that the filter and the sort read changes.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from django.db.models import CharField, FloatField, OuterRef, Q, QuerySet, Subquery

from folksonomy_app.models import MAX_NAME_LENGTH
from framework.api.filtering import FieldHandler, FieldKind, FilterField, MetadataField, RowsField, correlated
from framework.api.listing import Filtered, ListQuery, ListSpec, ordered
from framework.db.custom_plans import planned_for_values
from framework.errors import InvalidFilter, InvalidListParameter
from items_app import generation, name_search, postings, recency
from items_app.kinds import ItemKind
from items_app.models import (
    Alias,
    Item,
    ItemTag,
    MetadataEntry,
    Share,
    Version,
    VersionMetadataEntry,
    rows_of_kind,
)
from items_app.querysets import (
    Match,
    count_matching,
    count_of_kind,
    count_readable,
    newest_of,
    readable_rows,
)
from tenants_app.models import User

LOGIC = ("$and", "$or", "$nor")
# Filterable fields that are not document fields of their own, with the document field whose changes
# they follow.
DERIVED_FIELDS = {
    "versions.original": "versions",
    "versions.sha256": "versions",
    "versions.size": "versions",
    "versions.format": "versions",
    "versions.safety": "versions",
    "versions.parameters": "versions",
    "aliases": "versions",
}
# Families of filter fields on version rows (``versions.metadata.<name>``, ``aliases.<alias>.metadata.<name>``):
# they change with the versions.
VERSION_FAMILIES = ("versions.metadata.", "versions.facts.", "aliases.")
# ``versions.facts.<key>``: the scalar facts of the files (``items_app.facts``) a filter can compare: where
# each is in a version's ``facts``, and the kind of its values.
FACT_FILTERS: dict[str, tuple[str, FieldKind]] = {
    "architecture": ("facts__architecture", "string"),  # GGUF general.architecture
    "name": ("facts__name", "string"),  # GGUF general.name
    "quantization": ("facts__quantization__file_type", "string"),  # GGUF file type (Q4_K_M…)
    "producer": ("facts__producer__name", "string"),  # ONNX producer_name
    "context_length": ("facts__context_length", "number"),
    "tensors": ("facts__tensors", "number"),
    "nodes": ("facts__nodes", "number"),
    "ir_version": ("facts__ir_version", "number"),
    "version": ("facts__version", "number"),  # GGUF format version
}


def filter_aspects(document: Any) -> set[str] | None:
    """The counters a (valid) item filter reads besides which items the viewer may read; None when it names
    a field whose changes nothing declares, so that its total is counted again after any write."""
    fields = generation.field_aspects()
    aspects: set[str] = set()
    for part in document if isinstance(document, list) else [document]:
        if not isinstance(part, dict):
            return None
        for key, condition in part.items():
            read = filter_aspects(condition) if key in LOGIC else field_aspects_of(key, fields)
            if read is None:
                return None
            aspects |= read
    return aspects


def field_aspects_of(key: str, fields: dict[str, str | None]) -> set[str] | None:
    """The counters a filter or sort on ``key`` reads (``fields``: ``generation.field_aspects()``); None for a
    field nothing declares."""
    if key.startswith("metadata."):
        key = "metadata"
    elif key.startswith(VERSION_FAMILIES):
        key = "versions"
    key = DERIVED_FIELDS.get(key, key)
    if key in generation.FIXED_FIELDS:
        return set()
    if key not in fields:
        return None
    aspect = fields[key]
    return {aspect} if aspect else set()


def canonical(filter_document: Any) -> str:
    """One text per filter, whatever the key order: part of the cache keys of totals and pages."""
    return json.dumps(filter_document, sort_keys=True, separators=(",", ":"))


def item_list_spec(kind: ItemKind, viewer: User, reads: generation.Cached | None = None) -> ListSpec:
    """Filterable and sortable fields of a list of ``kind``, as the viewer may see them."""
    # Tag and metadata conditions read the rows of this kind (``rows_of_kind``), through the indexes that
    # also count their totals.
    of_kind = rows_of_kind(kind.value)
    metadata = MetadataField(MetadataEntry, "item", restrict=of_kind)
    fields: dict[str, FieldHandler] = {
        "_id": FilterField("id"),
        "name": FilterField("name", narrowing=name_search.narrowing),
        "owner": FilterField("owner__username"),
        "visibility": FilterField("visibility"),
        "description": FilterField("description"),
        "timestamp": FilterField("timestamp", "datetime"),
        "lastmod": FilterField("lastmod", "datetime"),
        "users": RowsField(Share, "item", FilterField("user__username")),
        "tags": RowsField(ItemTag, "item", FilterField("tag__id"), restrict=of_kind),
        "metadata": metadata,
        "versions.original": RowsField(Version, "item", FilterField("original")),
        "versions.sha256": RowsField(Version, "item", FilterField("blob__sha256")),
        "versions.size": RowsField(Version, "item", FilterField("size", "number")),
        "versions.format": RowsField(Version, "item", FilterField("format")),
        "versions.safety": RowsField(Version, "item", FilterField("safety")),
        "versions.parameters": RowsField(Version, "item", FilterField("parameters", "number", nullable=True)),
        "aliases": RowsField(Alias, "item", FilterField("name")),
    }
    for scalar in kind.scalars:
        fields[scalar.field] = scalar.filter_field(viewer)
    for trait in kind.lists:
        fields[trait.field] = trait.filter_field(viewer)
    reads = reads or generation.Cached(viewer)
    sort_prefixed = {"metadata.": metadata_sort}
    matches: dict[str, list[Match] | postings.Posted] = {}  # this request's: a total's matches, for its page
    return ListSpec(
        fields=fields,
        prefixed={
            "metadata.": metadata.named,
            "versions.metadata.": MetadataField(VersionMetadataEntry, "version__item").named,
            "versions.facts.": version_fact,
            "aliases.": aliased_version_metadata,
        },
        counter=cached_total(kind, viewer, reads, matches),
        page_rows=cached_page_rows(kind, viewer, reads, fields, sort_prefixed, matches),
        sort_prefixed=sort_prefixed,
    )


def version_fact(key: str) -> RowsField:
    """``versions.facts.<key>``: one scalar fact of the versions' files (``FACT_FILTERS``)."""
    if key not in FACT_FILTERS:
        names = ", ".join(sorted(FACT_FILTERS))
        raise InvalidFilter(f"versions.facts.{key[:80]}: not a filterable fact; filterable: {names}")
    lookup, kind = FACT_FILTERS[key]
    return RowsField(Version, "item", FilterField(lookup, kind, nullable=True))


def aliased_version_metadata(rest: str) -> MetadataField:
    """``aliases.<alias>.metadata.<name>``: the metadata of the version an alias points at."""
    alias, separator, name = rest.partition(".metadata.")
    if not separator or not alias or not name or "." in alias:
        raise InvalidFilter(f"aliases.{rest}: write aliases.<alias>.metadata.<name> (or aliases to test names)")
    return MetadataField(VersionMetadataEntry, "version__item", name, Q(version__aliases__name=alias))


def metadata_sort(name: str) -> list[Any]:
    """Sort keys of ``metadata.<name>``: its numeric values first (as numbers), then the others (as text);
    items without the name come last, whichever the direction."""
    if len(name) > MAX_NAME_LENGTH or not name.strip():
        raise InvalidListParameter(f"metadata.{name[:80]}: not a metadata name")
    entries = MetadataEntry.objects.filter(item=OuterRef("pk"), name_id=name)
    return [
        Subquery(entries.values("number")[:1], output_field=FloatField()),
        Subquery(entries.exclude(value_type="number").values("text")[:1], output_field=CharField()),
    ]


def cached_total(
    kind: ItemKind, viewer: User, reads: generation.Cached, matches: dict[str, list[Match] | postings.Posted]
) -> Callable[[QuerySet[Item], Q, Any], int]:
    """``totalDocs`` from the generation cache: the same filter by the same viewer is counted once per change
    of what it reads (every page of a list shares it). An unfiltered list is counted in parts
    (``count_readable``). A filter of combined row conditions with few matches is counted by reading their
    ids, which are left in ``matches`` (by filter) for this request's page (``cached_page_rows``). Filtered
    counts and pages are planned for their values (``planned_for_values``): the values decide their plans."""

    def total(scoped: QuerySet[Item], condition: Q, filter_document: Any) -> int:
        def filtered_total() -> int:
            with planned_for_values(scoped.db):
                counted = count_matching(scoped, kind.value, viewer, condition, keep=WALK_MIN_TOTAL)
            found = counted.found if counted.found is not None else counted.posted
            if found is not None:
                matches[canonical(filter_document)] = found
            return counted.total

        count = unfiltered_total if filter_document == {} else filtered_total
        key = ("total", kind.value, viewer.pk, viewer.role, canonical(filter_document))
        return reads.get(key, count, depends_on=filter_aspects(filter_document))

    def unfiltered_total() -> int:
        return count_readable(kind.value, viewer)

    return total


def cached_page_rows(
    kind: ItemKind,
    viewer: User,
    reads: generation.Cached,
    fields: dict[str, FieldHandler],
    sort_prefixed: Mapping[str, Callable[[str], Sequence[Any]]],
    matches: Mapping[str, list[Match] | postings.Posted],
) -> Callable[[Filtered, ListQuery, int], list[Item]]:
    """The items of one list page: which ones, in which order, from the generation cache like totals (kept
    while nothing the filter or the order reads changes); the items themselves are loaded fresh by id. When
    this request's total read every match (``matches``), the page is found among them."""
    field_aspects = generation.field_aspects()
    sort_aspects = {
        handler.lookup: field_aspects_of(name, field_aspects)
        for name, handler in fields.items()
        if isinstance(handler, FilterField)
    }
    sort_aspects["pk"] = set()

    def rows(filtered: Filtered, query: ListQuery, offset: int) -> list[Item]:
        read = filter_aspects(query.filter_document)
        for lookup in query.ordering:
            name = lookup.lstrip("-")
            by = field_aspects_of(name, field_aspects) if name.startswith("metadata.") else sort_aspects.get(name)
            read = None if read is None or by is None else read | by
        filter_key = canonical(query.filter_document)
        key = ("page", kind.value, viewer.pk, viewer.role, filter_key, tuple(query.ordering), offset, query.limit)
        loaded: list[Item] = []

        def page_ids() -> list[str]:
            found = matches.get(filter_key)
            posted, found = (found, None) if isinstance(found, postings.Posted) else (None, found)
            if posted is not None and query.ordering != RECENT_ORDER and len(posted.ordinals) <= WALK_MIN_TOTAL:
                found = postings.items_of(filtered.scoped.db, posted.ordinals)  # few: sorted among their ids
            if found is not None and query.ordering == RECENT_ORDER:
                return recency.newest_first(found, offset, offset + query.limit)
            ids = None if found is None else [item for item, _created in found]
            among = filtered if ids is None else Filtered(filtered.scoped, Q(pk__in=ids), filtered.total)
            with planned_for_values(filtered.scoped.db):
                loaded.extend(page_of(kind, viewer, among, query, offset, sort_prefixed, posted))
            return [item.pk for item in loaded]

        ids = reads.get(key, page_ids, depends_on=read)
        if loaded:  # just computed: the page query loaded the items too
            return loaded
        found = Item.objects.of_kind(kind.value).visible_to(viewer).select_related("owner", "lists").in_bulk(ids)
        return [found[pk] for pk in ids if pk in found]

    return rows


# A broad filter's first pages, newest first (the default order), are found by walking the items' recency
# index and testing each item, not by collecting every match and sorting it: at 100,000 items, 10,000 of
# them matching ``accuracy >= 0.9``, a first page took 25 ms collected and sorted, 0.1 ms walked (SQLite).
# The walk is bounded: it reads the newest items of the kind that should hold the page's matches
# ``WALK_MARGIN`` times over if the matches were spread evenly (the total against the kind's count), and
# falls back to collecting when they did not fill the page. Matches so rare that more than ``WALK_SPAN[1]``
# items, or ``WALK_PER_MATCH`` items per match, would have to be walked are collected straight away (issue
# 18, 1,000,000 items: 4,051 matches of a tag AND a metadata value; 2,000 walked items held 7 of the 10 of a
# first page, and the collecting that followed took 290 ms on PostgreSQL).
RECENT_ORDER = ["-timestamp", "pk"]  # the order of the ``item_kind_recent`` index
WALK_MIN_TOTAL = 1_000  # fewer matches are collected and sorted in about a millisecond
WALK_MARGIN = 3  # items walked: this many times those that hold the page's rows at the average density
WALK_SPAN = (2_000, 50_000)  # bounds of the items walked (probes of a few to ~30 ms)
# Walking an item costs a probe of each condition's rows (~2 µs on SQLite); collecting a match, a lookup of
# the item and its share of a sort (~6-9 µs). A walk longer than this many items per match loses: at
# 1,000,000 items on SQLite, `$in` on three metadata values (1,800 matches) took 43 ms walked and 13 ms
# collected, `$or` of two (1,140) 77 and 14, a tag AND a metadata value (4,051) 47 and 113.
WALK_PER_MATCH = 3


def page_of(
    kind: ItemKind,
    viewer: User,
    filtered: Filtered,
    query: ListQuery,
    offset: int,
    sort_prefixed: Mapping[str, Callable[[str], Sequence[Any]]],
    posted: postings.Posted | None = None,
) -> list[Item]:
    """The items of one page of ``filtered`` in the query's order (``posted``: every match the viewer reads,
    when the total counted them from their postings)."""
    end = offset + query.limit
    ids = None
    if query.ordering == RECENT_ORDER and posted is not None and end <= POSTED_PAGE_END:
        ids = postings.newest(filtered.scoped.db, posted.ordinals, offset, end)
    if ids is None and query.ordering == RECENT_ORDER and filtered.total >= WALK_MIN_TOTAL:
        span = walk_span(kind, filtered.total, end)
        walked = None if span is None else _walked_page(kind, filtered, offset, end, span)
        if walked is not None:
            return walked
    if ids is None and query.ordering == RECENT_ORDER:
        rows = readable_rows(kind.value, viewer, filtered.condition)
        ids = None if rows is None else newest_of(rows, offset, end)  # too few to walk for: from their rows
    if ids is not None:
        found = filtered.scoped.in_bulk(ids)
        return [found[item] for item in ids if item in found]
    return list(ordered(filtered.queryset, query.ordering, sort_prefixed)[offset:end])


# A page of posted matches (every match the viewer reads, from the postings) ends at most this far in when
# it is read from their ordinals (``postings.newest``); deeper pages are walked or read from the rows.
POSTED_PAGE_END = 1_000


def walk_span(kind: ItemKind, total: int, end: int) -> int | None:
    """How many of the newest items of ``kind`` a walk reads to find the first ``end`` of ``total`` matches,
    or None when the matches are too rare for a walk to pay."""
    items = count_of_kind(kind.value)
    span = max(WALK_SPAN[0], math.ceil(WALK_MARGIN * end * items / max(total, 1)))
    return span if span <= WALK_SPAN[1] and min(span, items) <= WALK_PER_MATCH * total else None


def _walked_page(kind: ItemKind, filtered: Filtered, offset: int, end: int, span: int) -> list[Item] | None:
    """Rows ``offset:end`` newest first, found among the newest ``span`` items of the kind, or None when
    those hold too few matches. Correct whenever it answers: every item outside the span is older than
    every item inside it, so the first ``end`` matches inside the span are the first ``end`` matches."""
    newest = Item.objects.of_kind(kind.value).order_by(*RECENT_ORDER).values_list("timestamp", flat=True)
    oldest_walked = next(iter(newest[span - 1 : span]), None)
    walk = filtered.scoped.filter(correlated(filtered.condition))
    if oldest_walked is not None:
        walk = walk.filter(timestamp__gte=oldest_walked)
    rows = list(walk.order_by(*RECENT_ORDER)[offset:end])
    return rows if len(rows) >= min(end, filtered.total) - offset else None
