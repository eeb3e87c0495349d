"""Read scoping for items: the one place that decides who can see and who can change an item.

The API viewsets and the pages both start every item query from ``visible_to(user)``; nothing else
filters on visibility.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, cast

from django.db import connections, models
from django.db.models import Count, IntegerField, Q, Subquery, Sum, Value, Window
from django.db.models.lookups import Exact
from django.db.models.sql.where import WhereNode

from framework.api.filtering import correlated, each_part, in_id_order, negation_of, row_set
from framework.lookups import one_or_none
from items_app import name_search, postings
from items_app.recency import created_number

if TYPE_CHECKING:
    from items_app.models import Item
    from tenants_app.models import User


def readable_by(user: User, path: str = "") -> Q:
    """The one visibility rule, as a condition on items (``path=""``) or on rows linked to one (``"item__"``).

    Public items, the user's own, and those shared with them; admins read everything. ``pk IN (items shared
    with the user)`` rather than a correlated EXISTS: the database can drive the query from the share index
    (SQLite) and hash the list once (PostgreSQL).
    """
    if user.is_admin:
        return Q()
    from items_app.models import Share, Visibility

    shared = Share.objects.filter(user=user).values("item_id")
    return Q(**{f"{path}visibility": Visibility.PUBLIC}) | Q(**{f"{path}owner": user}) | Q(**{f"{path}pk__in": shared})


HIDDEN = ["private"]  # every visibility but "public" (``models.Visibility``; a test holds the two in step)


def count_readable(kind: str, user: User, excluding: models.QuerySet[Any] | None = None) -> int:
    """``Item.objects.of_kind(kind).filter(readable_by(user)).count()``, as one statement of three disjoint
    counts, none of which reads every item; less the items ``excluding`` holds (readable ones of ``kind``).

    Public items, the user's own non-public ones, and the non-public ones of others shared with them: the
    same rule as ``readable_by``, split so that neither database has to test the three-way ``OR`` on every
    item. The public part is the maintained count of ``ItemCount`` (``items_app.item_counts``: one row
    instead of one index entry per public item); the other two are index ranges of the user's own items
    and shares. One statement, so the parts see the same snapshot: the sum is a count of one state of
    the database. Admins read the counts of every visibility. The split pays off when nothing else narrows
    the items (a filter's own rows are then the better start), so the lists use it for unfiltered counts
    and for a negated filter's (``count_matching``).
    """
    from items_app.models import ItemCount, ItemCountChange, Share, Visibility

    counts = ItemCount.objects.filter(kind=kind)
    pending = ItemCountChange.objects.filter(kind=kind)  # none, unless an item write bypassed ``changing``
    if user.is_admin:
        parts = _kind_parts(kind)
    else:
        # The shares of the user, each joined to its item: driven from the user's shares whatever the
        # statistics say of the hidden items (PostgreSQL, 1,000,000 items, statistics taken when none was
        # private: 10,908 private items scanned for shares, 7.9 ms).
        shared = Share.objects.filter(user=user, item__kind=kind, item__visibility__in=HIDDEN)
        parts = {
            "public": counts.filter(visibility=Visibility.PUBLIC).values("items")[:1],
            "pending": _aggregate_of(pending.filter(visibility=Visibility.PUBLIC), Sum("change")),
            "owned": _count_of(_hidden(kind).filter(owner=user)),
            "shared": _count_of(shared.exclude(item__owner=user)),  # one share per item and user
        }
    if excluding is not None:
        parts["excluded"] = _aggregate_of(excluding, Count("*") * -1)
    return _sum_of(parts)


# A match's item id and creation time, as the tag and metadata rows copy it (``models.reader_copies``): a
# number that orders as the time does (``items_app.recency``).
Match = tuple[str, int]


@dataclass(frozen=True)
class Matches:
    """A filter's exact total, and every match (``Match``) when they were read on the way (few matches of a
    combined id set); None otherwise. ``posted``: every match, as the postings gave them, when they are all
    the viewer reads (``items_app.listing`` may find a page among them)."""

    total: int
    found: list[Match] | None = None
    posted: postings.Posted | None = None


def count_of_kind(kind: str) -> int:
    """How many items of ``kind`` there are, whatever their visibility: the maintained counts (``ItemCount``)."""
    return _sum_of(_kind_parts(kind))


def _kind_parts(kind: str) -> dict[str, models.QuerySet[Any]]:
    """The counts of every item of ``kind``: the folded counts and the changes not yet folded, as subqueries."""
    from items_app.models import ItemCount, ItemCountChange

    pending = ItemCountChange.objects.filter(kind=kind)  # none, unless an item write bypassed ``changing``
    return {
        "all": _aggregate_of(ItemCount.objects.filter(kind=kind), Sum("items")),
        "pending": _aggregate_of(pending, Sum("change")),
    }


def count_matching(scoped: models.QuerySet[Any], kind: str, user: User, condition: Q, keep: int = 0) -> Matches:
    """``scoped.filter(condition).count()`` (``scoped``: the items of ``kind`` ``user`` may read), counted from
    the tag and metadata rows where the condition is only conditions on them (``row_set``); with the matches
    themselves when the condition combines such sets (``INTERSECT``, ``UNION``) and at most ``keep`` items
    match.

    Those rows carry copies of their item's kind and public flag (``models.reader_copies``), so the public
    matches are counted from the rows' indexes alone, without looking each matching item up to test the
    visibility rule (issue 18: ``accuracy >= 0.9``, 10,000 of 100,000 items, ~1 µs per match on SQLite and
    3-5 µs on PostgreSQL). Only the matches whose rows say "not public" are looked up, for a viewer who
    may read such items: their own and those shared with them. Admins read every item of the kind: their
    total is the rows' alone.

    A combined set is computed once for its total and its first matches (``_found_and_total``); when they
    are all its matches, a list's page is found among them (``items_app.listing``) instead of the database
    combining the sets again (issue 18: a tag AND a metadata value, 2,578 and 15,490 rows, 380 matches).
    """
    negated = negation_of(condition)
    if negated is not None:  # ``name != x``: every readable item but the few named x
        return Matches(count_readable(kind, user, excluding=scoped.filter(negated)))
    rows = row_set(condition)
    readable = None if rows is None else _copied(rows, kind, None if user.is_admin else True)
    if rows is None or readable is None:
        if keep and name_search.searches_substring(condition):
            return _found_with_total(scoped.filter(condition), keep)
        return Matches(scoped.filter(condition).count())
    flags_decide = _flags_decide(kind, user)
    posted = _posted_matches(rows, kind, user, keep, looked_up=not flags_decide)
    every = None
    if posted is not None:
        found, total, every = posted
    elif readable.query.combinator:
        found, total = _found_and_total(readable, keep + 1)
    else:  # one index range: counted in place; a page reads it again as cheaply
        found, total = None, (readable if _one_row_per_item(readable) else readable.distinct()).count()
    if flags_decide:
        return Matches(total, found if total <= keep else None, every)
    hidden = cast("models.QuerySet[Any]", _copied(rows, kind, False))  # the same parts as ``readable``
    if not hidden.query.combinator and not _one_row_per_item(hidden):
        hidden = hidden.order_by().distinct()  # one match per item, as a combined set's are
    if found is not None and total <= keep:
        hidden_found, hidden_total = _found_and_total(hidden, keep + 1 - total)
        if hidden_total <= keep - total:
            hidden_ids = [item for item, _created in hidden_found]
            readable_hidden = _hidden(kind).filter(readable_by(user), pk__in=hidden_ids)
            shown = set(readable_hidden.values_list("pk", flat=True))
            found += [match for match in hidden_found if match[0] in shown]
            return Matches(len(found), found)
    return Matches(total + _count_readable_hidden(kind, user, hidden, condition))


def _found_with_total(matching: models.QuerySet[Any], keep: int) -> Matches:
    """The total of the items ``matching`` and, when at most ``keep``, the matches themselves: one statement.

    For a name substring search, which the trigram index answers with every candidate's row read for the
    recheck: its count and its page each scanned the index, whose lists of common trigrams (``el-`` in every
    ``model-…``) grow with the catalogue (issue 18, PostgreSQL, 1,000,000 items, 100 matches: count 4 ms +
    page 5 ms). ``COUNT(*) OVER ()`` counts them all while the first ``keep + 1`` are read; a list's page is
    then found among them (``items_app.listing``)."""
    counted = matching.order_by().annotate(total=Window(Count("*")))
    found = list(counted.values_list("pk", "timestamp", "total")[: keep + 1])
    total = found[0][2] if found else 0
    matches = [(item, created_number(timestamp)) for item, timestamp, _total in found]
    return Matches(total, matches if total <= keep else None)


def _posted_matches(
    rows: models.QuerySet[Any], kind: str, user: User, keep: int, looked_up: bool
) -> tuple[list[Match] | None, int, postings.Posted | None] | None:
    """The readable public matches of the id set ``rows`` (every match, for an admin) counted from their
    postings (``items_app.postings``), with the matches themselves when at most ``keep`` and ``looked_up``
    (by their ordinals: a reader of hidden items adds theirs), else their ordinals when the postings gave
    them (a page is read from the newest: ``postings.newest``); None when a part of the set has no postings.

    A bitmap operation instead of a merge or a count of the parts' rows, which grew with the catalogue: at
    1,000,000 items, a tag AND a metadata value (25,900 and 155,000 rows) took ~31 ms on SQLite and ~65 ms
    on PostgreSQL, two numeric ranges (59,000 and 15,500 rows) ~40 ms."""
    expression = postings.expression_of(rows, kind)
    if expression is None:
        return None
    total, every = postings.matches(rows.db, kind, expression, (True, False) if user.is_admin else (True,), keep)
    if every is None or total > keep or not looked_up:
        return None, total, every
    found = postings.items_of(rows.db, every.ordinals)
    return found, len(found), None


def readable_rows(kind: str, user: User, condition: Q) -> models.QuerySet[Any] | None:
    """The tag and metadata rows of the items of ``kind`` that match ``condition`` and ``user`` may read, as
    ``(item, item_created)`` pairs (a combined set of them, ``INTERSECT``/``UNION``), when the condition is
    only conditions on such rows and their public flags alone decide what the user reads (an admin, or a
    reader of no hidden item of the kind); else None. A list's page of few matches is ordered from them
    (``items_app.listing``)."""
    rows = row_set(condition)
    readable = None if rows is None else _copied(rows, kind, None if user.is_admin else True)
    if readable is None or not _flags_decide(kind, user):
        return None
    return _with_times(readable)


def newest_of(rows: models.QuerySet[Any], offset: int, end: int) -> list[str]:
    """Ids ``offset:end`` of the items of ``rows`` (``readable_rows``) in the lists' default order, newest
    first, read from the rows' indexes alone (issue 18, 1,000,000 items: `$in` on three metadata values,
    1,800 matches, each looked up to sort them: 9.3 ms on SQLite, 11.2 on PostgreSQL)."""
    if not rows.query.combinator and not _one_row_per_item(rows):
        rows = rows.distinct()
    return [item for item, _created in rows.order_by("-item_created", "item")[offset:end]]


def _with_times(rows: models.QuerySet[Any]) -> models.QuerySet[Any]:
    """An id set (``row_set``) whose parts select each match's creation time beside its id."""
    return cast("models.QuerySet[Any]", each_part(rows, lambda part: part.values_list("item", "item_created")))


def _found_and_total(rows: models.QuerySet[Any], limit: int) -> tuple[list[Match], int]:
    """The first ``limit`` matches of the combined id set ``rows``, in id order, and the set's size: one
    computation of the set for both.

    ``COUNT(*) OVER ()`` beside the matches: a set larger than ``limit`` is counted by the statement that
    reads its first matches instead of being combined a second time (issue 18, PostgreSQL, 1,000,000
    items: a tag AND a metadata value, 25,886 and 155,327 rows, 70-125 ms each time). SQL around the ORM's
    own: Django puts no window over a compound select. ``in_id_order`` lets SQLite merge the parts; the
    creation times ride along (an item's rows all copy the same one), so a page needs no item looked up.
    """
    sql, params = in_id_order(_with_times(rows)).query.sql_with_params()
    with connections[rows.db].cursor() as cursor:
        cursor.execute(f"SELECT found.*, COUNT(*) OVER () FROM ({sql}) found LIMIT %s", [*params, limit])
        found = cursor.fetchall()
    return [(item, created) for item, created, _total in found], (found[0][2] if found else 0)


def _copied(rows: models.QuerySet[Any], kind: str, public: bool | None) -> models.QuerySet[Any] | None:
    """The id set ``rows`` (``row_set``), each part narrowed to rows of ``kind`` (and of items with this
    public flag), if every part is tag or metadata rows; else None."""

    def narrowed(part: models.QuerySet[Any]) -> models.QuerySet[Any] | None:
        rows = _reader_rows(part, kind)
        # ``public__in``: SQLite uses an index for ``public IN (1)``, not for the bare column Django writes
        # for ``public=True`` (16.8 → 0.8 ms for 10,000 matches).
        return rows if rows is None or public is None else rows.filter(public__in=[public])

    return each_part(rows, narrowed)


def _one_row_per_item(rows: models.QuerySet[Any]) -> bool:
    """Whether ``rows`` (one part of an id set) hold at most one row per item: an exact condition on a column
    that the model's constraints make unique with the item (one tag, one metadata name). Such a set is
    counted without ``DISTINCT``, whose hash of every id was most of the count (PostgreSQL, 1,000,000 items,
    ``accuracy >= 0.9``: 100,371 ids, 42 of 74 ms, spilling to disk)."""
    unique_with_item = {
        rows.model._meta.get_field(field)
        for constraint in rows.model._meta.constraints
        if isinstance(constraint, models.UniqueConstraint) and constraint.condition is None
        for field in constraint.fields
        if set(constraint.fields) - {field} == {"item"}
    }
    return any(
        isinstance(lookup, Exact) and getattr(lookup.lhs, "target", None) in unique_with_item
        for lookup in _required(rows.query.where)
    )


def _required(node: WhereNode) -> Iterator[Any]:
    """The conditions every row of a query meets: those ANDed at its top, through nested ANDs."""
    for child in node.children:
        if not isinstance(child, WhereNode):
            yield child
        elif child.connector == "AND" and not child.negated:
            yield from _required(child)


def _hidden(kind: str) -> ItemQuerySet:
    """The items of ``kind`` that are not public. ``visibility IN (every other value)`` rather than
    ``!= public``: a range of ``item_kind_owner_visibility``."""
    from items_app.models import Item

    return Item.objects.of_kind(kind).filter(visibility__in=HIDDEN)


def _flags_decide(kind: str, user: User) -> bool:
    """Whether the rows' public flags alone decide which of the items of ``kind`` ``user`` reads: an admin
    reads every one, a reader of no hidden item the public ones."""
    return user.is_admin or not _reads_hidden(kind, user)


def _reads_hidden(kind: str, user: User) -> bool:
    """Whether ``user`` may read any non-public item of ``kind``: owns one, or has one shared with them. Most
    readers of a public catalogue do not, and their filters then need no lookup of hidden matches (whose
    query, built around the filter's id set, cost 2-4 ms of Python alone)."""
    from items_app.models import Share

    shared = Share.objects.filter(user=user, item__kind=kind, item__visibility__in=HIDDEN)
    return _hidden(kind).filter(owner=user).exists() or shared.exists()


def _count_readable_hidden(kind: str, user: User, among: models.QuerySet[Any], condition: Q) -> int:
    """How many of the ids ``among`` (the hidden matches of ``condition``) are items of ``kind`` that are not
    public and ``user`` may read: their own, and those of others shared with them, each found from its own
    index (the owner's items, the user's shares) rather than by testing the visibility rule on every hidden
    item (PostgreSQL, 1,000,000 items, statistics taken when none was private: 10,908 private items
    scanned, 3.4 ms).

    A combined set (``INTERSECT``, ``UNION``) is every user's hidden matches combined before any is tested,
    which grows with the catalogue (PostgreSQL, 1,000,000 items, 30,000 private items, a reader owning
    1,478 of them, a tag AND `quantized = true`: 459 ms): the reader's items are then tested by probes of
    the parts' rows instead (``correlated``: 1,478 probes, 10 ms). One part's rows are left to the planner,
    which can probe them or hash them."""
    matching = Q(correlated(condition)) if among.query.combinator else Q(pk__in=among)
    owned = _hidden(kind).filter(owner=user).filter(matching)
    # Joined, not ``IN (shares)``: driven by the user's few shares even where the statistics were taken
    # before there were any (PostgreSQL then scanned 30,000 private items, probing the shares for each).
    shared = _hidden(kind).filter(shares__user=user).exclude(owner=user).filter(matching)
    return _sum_of({"owned": _count_of(owned), "shared": _count_of(shared)})


def _sum_of(parts: dict[str, models.QuerySet[Any]]) -> int:
    """The sum of the scalar subqueries ``parts``, read by one statement: the parts count one snapshot."""
    from items_app.models import Item

    subqueries = {name: Subquery(part, output_field=IntegerField()) for name, part in parts.items()}
    # Any one row to hang the scalar subqueries on; no item at all means there are none to count.
    row = Item.objects.order_by().annotate(**subqueries).values_list(*subqueries)[:1]
    return sum(count or 0 for count in next(iter(row), ()))


def _reader_rows(part: models.QuerySet[Any], kind: str) -> models.QuerySet[Any] | None:
    """One uncombined part of an id set, narrowed to the rows of ``kind``, if it is tag or metadata rows (which
    carry their item's kind and public flag, ``models.reader_copies``); else None."""
    from items_app.models import ItemTag, MetadataEntry

    if part.model not in (ItemTag, MetadataEntry) or part.query.values_select != ("item",):
        return None
    return part.filter(kind=kind)


def _count_of(items: models.QuerySet[Any]) -> models.QuerySet[Any]:
    """``SELECT COUNT(*) FROM items`` as a subquery.

    ``COUNT(*)``, not ``COUNT(id)``: SQLite then counts from an index alone (the text primary key is in no
    other index).
    """
    return _aggregate_of(items, Count("*"))


def _aggregate_of(rows: models.QuerySet[Any], aggregate: Any) -> models.QuerySet[Any]:
    """``SELECT <aggregate> FROM rows`` as a scalar subquery (grouped by a constant)."""
    # django-stubs' plugin types annotate() on a QuerySet[Any] as Any.
    return cast(
        "models.QuerySet[Any]", rows.order_by().annotate(one=Value(1)).values("one").annotate(n=aggregate).values("n")
    )


class ItemQuerySet(models.QuerySet["Item"]):
    def of_kind(self, kind: str) -> ItemQuerySet:
        return self.filter(kind=kind)

    def readable_one(self, pk: str, user: User) -> Item | None:
        """``self.visible_to(user).filter(pk=pk).first()``, with the rule tested on the one row: a public
        item, the user's own or any item for an admin costs one primary-key read, one shared with them a
        second. PostgreSQL would otherwise hash every share of the user to test one row.
        """
        from items_app.models import Share, Visibility

        item = one_or_none(self.filter(pk=pk))
        if item is None or user.is_admin or item.visibility == Visibility.PUBLIC or item.owner_id == user.pk:
            return item
        return item if Share.objects.filter(item_id=pk, user=user).exists() else None

    def visible_to(self, user: User) -> ItemQuerySet:
        """Items ``user`` may read: public ones, their own, those shared with them; admins read all."""
        return self.filter(readable_by(user))

    def editable_by(self, user: User) -> ItemQuerySet:
        """Items ``user`` may change, delete and add versions to: their own; admins change all."""
        return self if user.is_admin else self.filter(owner=user)


class KindManager(models.Manager["Item"]):
    """The manager of a proxy (``MLModel``, ``Dataset``): only rows of its kind."""

    def __init__(self, kind: str) -> None:
        super().__init__()
        self.kind = kind

    def deconstruct(self) -> tuple[bool, str, None, tuple[str], dict[str, Any]]:
        return False, f"{type(self).__module__}.{type(self).__name__}", None, (self.kind,), {}

    def get_queryset(self) -> ItemQuerySet:
        return ItemQuerySet(self.model, using=self._db).of_kind(self.kind)
