"""List machinery shared by every collection endpoint: filter, sort, page, limit, select, and the envelope.

The envelope keeps the seed system's names (mongoose-paginate): ``docs``, ``totalDocs``, ``limit``,
``totalPages``, ``page``, ``pagingCounter``, ``hasPrevPage``, ``hasNextPage``, ``prevPage``, ``nextPage``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q, QuerySet
from django.http import QueryDict

from framework import jsontext
from framework.api.filtering import FieldHandler, FilterField, FilterTranslator, parse_filter_parameter
from framework.errors import InvalidListParameter

DEFAULT_LIMIT = 10
MAX_LIMIT = 100
_DIRECTIONS = {"asc": "", "1": "", "desc": "-", "-1": "-"}


@dataclass(frozen=True)
class ListSpec:
    """What a collection lets clients filter and sort on (API name → ORM field), and its default order."""

    fields: Mapping[str, FieldHandler]
    default_sort: Sequence[str] = ("-timestamp",)
    prefixed: Mapping[str, Callable[[str], FieldHandler]] = field(default_factory=dict)
    # ``totalDocs`` given the caller's rows, the filter's condition and its document; None counts with ``count()``.
    counter: Callable[[QuerySet[Any], Q, Any], int] | None = None
    # The rows of one page given the filtered rows, the query and the offset; None slices the queryset.
    page_rows: Callable[[Filtered, ListQuery, int], list[Any]] | None = None
    # Families of sort keys (``metadata.<name>``): prefix → the expressions to order by for the rest of the
    # name, in turn, each with rows that have no value last (``ordered``).
    sort_prefixed: Mapping[str, Callable[[str], Sequence[Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class Filtered:
    """The rows a list's filter leaves: the caller's rows (``scoped``), the filter's condition, and how many
    rows match (``total``, counted first), which tells a ``ListSpec.page_rows`` how broad the filter is."""

    scoped: QuerySet[Any]
    condition: Q
    total: int

    @property
    def queryset(self) -> QuerySet[Any]:
        return self.scoped.filter(self.condition)


@dataclass(frozen=True)
class ListQuery:
    filter_document: Any
    ordering: list[str]
    page: int
    limit: int
    select: list[str] | None


def bad_parameter(details: str) -> InvalidListParameter:
    return InvalidListParameter(details)


def _positive_int(params: QueryDict, name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        number = int(raw)
    except ValueError:
        raise bad_parameter(f"{name} must be a whole number, got {raw[:40]!r}") from None
    if number < 1:
        raise bad_parameter(f"{name} must be 1 or more, got {number}")
    return number


def requested_sort(raw: str) -> list[tuple[str, str]]:
    """A ``sort`` parameter, ``{"field": "asc"|"desc"|1|-1, …}``, as ``(field, "" or "-")`` pairs in order; any
    other shape or direction is an ``invalid_list_parameter``. Lists of rows and of versions share it."""
    try:
        document = jsontext.loads(raw)
    except ValueError:
        raise bad_parameter('sort must be a JSON object such as {"timestamp": "desc"}') from None
    if not isinstance(document, dict):
        raise bad_parameter('sort must be a JSON object such as {"timestamp": "desc"}')
    wanted = []
    for name, direction in document.items():
        prefix = _DIRECTIONS.get(str(direction).lower())
        if prefix is None or isinstance(direction, bool):
            raise bad_parameter(f"sort direction of {name!r} must be asc, desc, 1 or -1")
        wanted.append((name, prefix))
    return wanted


def _ordering(params: QueryDict, spec: ListSpec) -> list[str]:
    raw = params.get("sort")
    if raw is None or raw.strip() == "":
        wanted: Iterable[tuple[str, str]] = (
            (name.lstrip("-"), "-" if name.startswith("-") else "") for name in spec.default_sort
        )
    else:
        wanted = requested_sort(raw)
    sortable = {name: handler for name, handler in spec.fields.items() if isinstance(handler, FilterField)}
    ordering = []
    for name, prefix in wanted:
        if name in sortable:
            ordering.append(f"{prefix}{sortable[name].lookup}")
        elif (family := _sort_family(name, spec.sort_prefixed)) is not None:
            spec.sort_prefixed[family](name[len(family) :])  # refuses a bad name now, whatever the page holds
            ordering.append(f"{prefix}{name}")  # kept by name: ``ordered`` turns it into expressions
        else:
            known = [*sorted(sortable), *(f"{family}<name>" for family in spec.sort_prefixed)]
            raise bad_parameter(f"cannot sort on {name!r}; sortable fields: {', '.join(known)}")
    return [*ordering, "pk"]  # a unique tie-breaker keeps pages stable


def _sort_family(name: str, families: Mapping[str, Any]) -> str | None:
    return next((p for p in families if name.startswith(p) and len(name) > len(p)), None)


def ordered(
    queryset: QuerySet[Any], ordering: Sequence[str], families: Mapping[str, Callable[[str], Sequence[Any]]]
) -> QuerySet[Any]:
    """``queryset`` in the order of ``ordering`` (``ListQuery.ordering``); a key of a sort family (``families``,
    a ``ListSpec.sort_prefixed``) becomes its
    expressions, each sorted in the key's direction with missing values last in both directions."""
    terms: list[Any] = []
    for position, entry in enumerate(ordering):
        name = entry.lstrip("-")
        family = _sort_family(name, families)
        if family is None:
            terms.append(entry)
            continue
        for part, expression in enumerate(families[family](name[len(family) :])):
            alias = f"sort_{position}_{part}"
            queryset = queryset.alias(**{alias: expression})
            column = F(alias)
            terms.append(column.desc(nulls_last=True) if entry.startswith("-") else column.asc(nulls_last=True))
    return queryset.order_by(*terms)


def _select(params: QueryDict) -> list[str] | None:
    raw = params.get("select")
    if raw is None or raw.strip() == "":
        return None
    try:
        document = jsontext.loads(raw)
    except ValueError:
        document = None
    if not isinstance(document, list) or not all(isinstance(name, str) for name in document):
        raise bad_parameter('select must be a JSON array of field names such as ["name", "tags"]')
    return document


def parse_list_query(params: QueryDict, spec: ListSpec) -> ListQuery:
    return ListQuery(
        filter_document=parse_filter_parameter(params.get("filter")),
        ordering=_ordering(params, spec),
        page=_positive_int(params, "page", 1),
        limit=min(_positive_int(params, "limit", DEFAULT_LIMIT), MAX_LIMIT),
        select=_select(params),
    )


def project(document: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    """Keep only the selected keys of an already-serialized document (``_id`` always stays).

    Projection runs after serialization, so it can only narrow what the caller was allowed to see.
    """
    if select is None:
        return document
    wanted = {"_id", *select}
    return {key: value for key, value in document.items() if key in wanted}


def paginate(
    queryset: QuerySet[Any],
    params: QueryDict,
    spec: ListSpec,
    serialize: Callable[[list[Any]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """Apply the list parameters to ``queryset`` (already scoped to the caller) and build the envelope."""
    query = parse_list_query(params, spec)
    condition = FilterTranslator(spec.fields, spec.prefixed).translate(query.filter_document)
    filtered = queryset.filter(condition)
    total = spec.counter(queryset, condition, query.filter_document) if spec.counter else filtered.count()
    total_pages = max(1, math.ceil(total / query.limit))
    offset = (query.page - 1) * query.limit
    if offset >= total:
        rows = []
    elif spec.page_rows is not None:
        rows = spec.page_rows(Filtered(queryset, condition, total), query, offset)
    else:
        rows = list(ordered(filtered, query.ordering, spec.sort_prefixed)[offset : offset + query.limit])
    return {
        "docs": [project(document, query.select) for document in serialize(rows)],
        "totalDocs": total,
        "limit": query.limit,
        "totalPages": total_pages,
        "page": query.page,
        "pagingCounter": offset + 1,
        "hasPrevPage": query.page > 1,
        "hasNextPage": query.page < total_pages,
        "prevPage": query.page - 1 if query.page > 1 else None,
        "nextPage": query.page + 1 if query.page < total_pages else None,
    }
