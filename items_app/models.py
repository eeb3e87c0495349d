"""Items: the rows behind every kind of item, and the indexed rows that make filters run in the database.

Every kind lives in one table (``kind`` tells them apart) so that every behaviour — visibility, sharing,
metadata, tags, versions, filters — is written once. The kind apps (``models_app``, ``datasets_app``)
declare their kind and its traits (``items_app.kinds``) and add proxies over this table (``MLModel``,
``Dataset``); what a kind's own columns and rows mean (a model's ``status``, its ``Lineage`` rows) is
written in the app that declares them.

Tags, shares, lineage and metadata entries are rows of their own rather than JSON on the item: each list
change is an insert or delete of one row, so two clients changing different entries of one item never
overwrite each other, and filters on them use indexes. The rows are the truth; ``ItemLists`` is a copy of
them in document form, written in the same transaction by every change (``related.rewrite_lists``), so that
reading an item joins one row instead of sending four more queries.

Foreign keys of these rows get no index of their own (``db_index=False``): each one leads a unique
constraint or a composite index of its table, which serves the joins, the cascades and the PROTECT checks
just as well. A separate index (two on PostgreSQL, which adds a ``varchar_pattern_ops`` copy) would only make
every create write more: 15 tag and metadata rows per item, each updating every index of its table.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, cast

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from folksonomy_app.models import MetadataName, Tag
from framework.db.literals import LiteralExact
from framework.ids import new_object_id
from items_app.querysets import ItemQuerySet
from items_app.recency import created_number

if TYPE_CHECKING:
    from items_app.related import MetadataValue, Related
    from tenants_app.models import User


class Visibility(models.TextChoices):
    PUBLIC = "public", "Everyone in the tenant"
    PRIVATE = "private", "Owner, shared users and admins"


class Item(models.Model):
    """A registered model or dataset, owned by one user of the tenant."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    # The value of an ``ItemKind`` registered by a kind app ("model", "dataset").
    kind = models.CharField(max_length=16)
    name = models.CharField(max_length=200)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="items")
    # A maturity status, for kinds whose trait gives them one (``models_app.status``); "" for the others.
    status = models.CharField(max_length=16, blank=True, default="")
    visibility = models.CharField(max_length=8, choices=Visibility.choices, default=Visibility.PRIVATE)
    description = models.TextField(blank=True, default="")
    users: models.ManyToManyField[User, Share] = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Share", related_name="shared_items"
    )
    datasets: models.ManyToManyField[Item, Lineage] = models.ManyToManyField(
        "self", through="Lineage", through_fields=("model", "dataset"), symmetrical=False, related_name="models"
    )
    tags: models.ManyToManyField[Tag, ItemTag] = models.ManyToManyField(Tag, through="ItemTag", related_name="items")
    timestamp = models.DateTimeField(default=timezone.now, editable=False)
    lastmod = models.DateTimeField(default=timezone.now)
    # The last version ordinal handed out; ordinals are never reused, even after a version is deleted.
    last_ordinal = models.PositiveIntegerField(default=0, editable=False)
    # Bumped with ``lastmod`` by every change of the item, its rows or its versions (``services.touch``):
    # cached documents are keyed by it, as a timestamp could repeat.
    revision = models.PositiveBigIntegerField(default=0, editable=False)

    objects = ItemQuerySet.as_manager()

    if TYPE_CHECKING:
        # Not a column: set on the instances a read loads (``related.load_related``) or a create writes.
        related: Related

    class Meta:
        ordering = ["-timestamp", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "owner", "name"],
                name="item_name_unique_per_owner",
                violation_error_message="You already have an item with this name.",
            ),
        ]
        indexes = [
            models.Index(fields=["kind", "visibility", "timestamp"], name="item_kind_visibility"),
            models.Index(fields=["kind", "owner", "timestamp"], name="item_kind_owner"),
            # A user's own items that are not public, counted for their unfiltered total (``count_readable``)
            # from the index alone: a registry's heavy owner (a pipeline's account) owns a good share of it.
            models.Index(fields=["kind", "owner", "visibility"], name="item_kind_owner_visibility"),
            models.Index(fields=["kind", "name"], name="item_kind_name"),
            # the default list order (-timestamp, id): a first page reads 10 index entries instead of sorting
            models.Index(fields=["kind", "-timestamp", "id"], name="item_kind_recent"),
            # Everything the visibility rule reads, by id: a filter's tag or metadata rows (or a vocabulary
            # entry's uses) are checked against it without reading the item rows, which SQLite, whose text
            # primary key is a separate index, would otherwise look up one by one.
            models.Index(fields=["id", "kind", "visibility", "owner"], name="item_readable"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.name} ({self.id})"


class ItemLists(models.Model):
    """An item's shares (usernames), tags, metadata and datasets as its document lists them.

    Rewritten from the rows inside every transaction that changes them, while the item's row is locked
    (``related.rewrite_lists``). A read joins it to the item instead of querying four tables. A row of its
    own rather than a column of the item: ~700 bytes per item would make the items table five times
    larger, and counting a filter that reads the items themselves (a name, a status) scans that table.
    An item without one (restored from an archive written before it existed) reads its rows instead.
    """

    item = models.OneToOneField(Item, on_delete=models.CASCADE, primary_key=True, related_name="lists")
    content = models.JSONField()

    def __str__(self) -> str:
        return f"lists of {self.item_id}"


class Share(models.Model):
    """``user`` may read ``item`` although it is private."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="shares", db_index=False)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="shares", db_index=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["item", "user"], name="share_unique")]
        indexes = [models.Index(fields=["user", "item"], name="share_user_item")]

    def __str__(self) -> str:
        return f"{self.item_id} shared with {self.user_id}"


class Lineage(models.Model):
    """``model`` was trained or tested on ``dataset``: the rows of ``datasets_app.lineage``'s trait, which
    also refuses to delete a dataset while a row names it (the foreign key protects it as well)."""

    model = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="lineage", db_index=False)
    dataset = models.ForeignKey(Item, on_delete=models.PROTECT, related_name="trained_models", db_index=False)

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["model", "dataset"], name="lineage_unique")]
        indexes = [models.Index(fields=["dataset", "model"], name="lineage_dataset_model")]

    def __str__(self) -> str:
        return f"{self.model_id} uses {self.dataset_id}"


def reader_copies(item: Item) -> dict[str, Any]:
    """What an item's tag and metadata rows copy of it: its kind, whether it is public, and its creation
    time. Writes set them from the item; an update that can change them (the public flag: the other two
    never change) brings the item's rows in step (``services``)."""
    return {
        "kind": item.kind,
        "public": item.visibility == Visibility.PUBLIC,
        "item_created": created_number(item.timestamp),
    }


def rows_of_kind(kind: str) -> models.Q:
    """The tag and metadata rows of ``kind``'s items, public or not, as a list's filters read them.

    ``public IN (true, false)`` selects nothing away: it names the column that stands between ``kind`` and the
    value columns in the rows' indexes (``itemtag_tag_readers``, ``metadata_readers_*``), so a condition on a
    value is one index range per flag instead of a scan of every row of the name. These indexes serve the
    lists' id sets and the totals' counts alike; one index per purpose cost creates a third of their speed
    (issue 18: three indexes dropped in migration 0020).
    """
    return models.Q(kind=kind, public__in=[True, False])


class ItemTag(models.Model):
    """``item`` carries ``tag``; a tag in use cannot be deleted from the vocabulary."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="taggings", db_index=False)
    tag = models.ForeignKey(Tag, on_delete=models.PROTECT, related_name="taggings", db_index=False)
    # Copies of the item's kind, of whether it is public and of its creation time (``reader_copies``), so
    # that a filter's total counts its public matches from this table's index alone, and a page of few
    # matches is ordered from it too (``items_app.querysets.count_matching``, ``items_app.listing``).
    kind = models.CharField(max_length=16)
    public = models.BooleanField()
    item_created = models.BigIntegerField()  # the item's timestamp in microseconds (``items_app.recency``)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "tag"], name="itemtag_unique"),
            models.CheckConstraint(condition=~models.Q(kind=""), name="itemtag_kind_copied"),
        ]
        indexes = [
            # a tag's items of a kind, per public flag: a list's id set (``rows_of_kind``) and a total's count
            models.Index(fields=["tag", "kind", "public", "item", "item_created"], name="itemtag_tag_readers"),
        ]

    def __str__(self) -> str:
        return f"{self.item_id} #{self.tag_id}"


class ValueType(models.TextChoices):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"


def reader_indexes() -> list[models.Index]:
    """The metadata rows' reader indexes, one per ``ValueType``, each only of rows of its type: a number's
    compared by ``number``, a string's or boolean's by ``text``. A query reads one when it names the type as
    the index does, ``value_type = 'number'`` with the value written out (``framework.db.literals``): SQLite
    uses a partial index only for a condition that repeats its own, and PostgreSQL's generic plans of prepared
    statements only for a literal. ``value_type`` is a key column too, though one value per index: SQLite
    3.40 takes an index as covering only if it holds every column the query names, the condition's included
    (without it, ``accuracy >= 0.9`` read each of its 100,000 matches' rows at 1,000,000 items). It comes
    last: PostgreSQL drops a condition the index's own implies from the index's conditions, and a key column
    without one between ``name`` and the value made it read every row of the name for a range."""
    columns = {ValueType.NUMBER: "number", ValueType.STRING: "text", ValueType.BOOLEAN: "text"}
    return [
        models.Index(
            fields=["name", "kind", "public", column, "item", "item_created", "value_type"],
            condition=models.Q(value_type=value_type.value),
            name=f"metadata_readers_{value_type.value}",
            # A range's edges read their items' ordinals from the number index alone (``MetadataEntry.ordinal``,
            # PostgreSQL; SQLite, which carries none, ignores an index's included columns).
            include=["ordinal"] if value_type == ValueType.NUMBER else [],
        )
        for value_type, column in columns.items()
    ]


class MetadataEntry(models.Model):
    """One name/value pair of an item. Numbers are also kept in ``number`` so filters compare them as numbers."""

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="metadata", db_index=False)
    name = models.ForeignKey(MetadataName, on_delete=models.PROTECT, related_name="entries", db_index=False)
    value_type = models.CharField(max_length=8, choices=ValueType.choices)
    text = models.CharField(max_length=1024)
    number = models.FloatField(null=True, blank=True)
    # Copies of the item's kind, of whether it is public and of its creation time, as on ``ItemTag``.
    kind = models.CharField(max_length=16)
    public = models.BooleanField()
    item_created = models.BigIntegerField()  # the item's timestamp in microseconds (``items_app.recency``)
    # PostgreSQL: the item's ordinal (``items_app.postings``), set by a trigger as the row is inserted, so that
    # a numeric range's edges read their items' ordinals from the number index (at 1,000,000 items 1,683 edge
    # rows looked each ordinal up: 9.3 ms). SQLite leaves it empty: its edges join the ordinals in-process.
    ordinal = models.BigIntegerField(null=True, editable=False, serialize=False)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["item", "name"], name="metadata_name_unique_per_item"),
            models.CheckConstraint(condition=~models.Q(kind=""), name="metadata_kind_copied"),
        ]
        indexes = [
            # Covering, per kind and public flag (``rows_of_kind``): a numeric comparison, or a string or boolean
            # equality or range, on one name reads only these; a total counts its public matches from them alone
            # (issue 18: `quantized = true`, 15 % of 100,000 items, 29 ms → 5 ms with a tag beside it). One index
            # per type, each holding only rows of its type (``reader_indexes``): a row enters one of them, not
            # two, which keeps batch creates at 1,000,000 items within a fifth of their speed at 100,000.
            *reader_indexes(),
            # Every row by name, for what no partial index serves: a vocabulary entry's uses (counted on the
            # vocabulary pages, checked before it is deleted). New rows come last among their name's, so a
            # create writes to a few pages this index keeps in cache.
            models.Index(fields=["name"], name="metadata_name"),
        ]
        verbose_name_plural = "metadata entries"

    def __str__(self) -> str:
        return f"{self.item_id} {self.name_id}={self.text}"

    @property
    def value(self) -> str | float | int | bool:
        return stored_value(self.value_type, self.text)


def stored_value(value_type: str, text: str) -> str | float | int | bool:
    """A metadata value as the client sent it: numbers and booleans are kept as JSON text, exactly."""
    if value_type == ValueType.STRING:
        return text
    return cast("float | int | bool", json.loads(text))  # the JSON text of a number or a boolean


class Blob(models.Model):
    """A stored file, addressed by its content: storage key ``<tenant>/<sha256>``.

    Identical bytes uploaded twice in a tenant are stored once. The row is also the lock that uploads and
    deletions of the same content take, so a blob is never removed while a version is being recorded on it.
    """

    sha256 = models.CharField(primary_key=True, max_length=64)
    size = models.BigIntegerField()
    timestamp = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["timestamp", "sha256"]

    def __str__(self) -> str:
        return self.sha256


class Version(models.Model):
    """One uploaded file of an item. ``ordinal`` counts 1, 2, 3… per item; ``original`` is its file name;
    ``label`` an optional name of the uploader's choosing (``v2.0.0``), unique per item in any case."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="versions", db_index=False)
    ordinal = models.PositiveIntegerField()
    original = models.CharField(max_length=255)
    label = models.CharField(max_length=64, blank=True, default="")
    size = models.BigIntegerField()
    blob = models.ForeignKey(
        Blob, on_delete=models.PROTECT, related_name="versions", db_column="sha256", db_index=False
    )
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    description = models.TextField(blank=True, default="")
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    timestamp = models.DateTimeField(default=timezone.now, editable=False)
    # What the file says about itself (``items_app.facts``, contract §9.6), read when it was stored.
    # ``inspected`` None: stored before inspection existed, read as format "unknown" (with a reason) until
    # ``manage.py inspect_versions`` runs; the document and the filters see the same stored values.
    format = models.CharField(max_length=16, default="unknown")
    facts = models.JSONField(default=dict, blank=True)
    safety = models.CharField(max_length=16, default="not_applicable")
    safety_globals = models.JSONField(default=list, blank=True)
    parameters = models.BigIntegerField(null=True, blank=True)  # ``facts["parameters"]``, typed: filters, sorts
    inspected = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["item", "ordinal"]
        constraints = [
            models.UniqueConstraint(
                fields=["item", "ordinal"],
                name="version_ordinal_unique_per_item",
                violation_error_message="This item already has a version with this ordinal.",
            ),
            models.UniqueConstraint(
                fields=["item", "original"],
                name="version_original_unique_per_item",
                violation_error_message="This item already has a version with this file name.",
            ),
            models.UniqueConstraint(
                "item",
                Lower("label"),
                condition=~models.Q(label=""),
                name="version_label_unique_per_item",
                violation_error_message="This item already has a version with this label.",
            ),
        ]
        indexes = [
            models.Index(fields=["blob"], name="version_blob"),
            models.Index(fields=["original"], name="version_original"),
            models.Index(fields=["owner"], name="version_owner"),  # explicit: no pattern-ops copy on PostgreSQL
            # filters {"versions.format": …}, {"versions.safety": …}, {"versions.parameters": {"$gte": …}}
            models.Index(fields=["format", "item"], name="version_format"),
            models.Index(fields=["safety", "item"], name="version_safety"),
            models.Index(fields=["parameters", "item"], name="version_parameters"),
        ]

    if TYPE_CHECKING:
        # Not columns: set by ``related.attach_version_rows`` on the versions a document shows.
        alias_names: list[str]
        metadata_values: list[MetadataValue]

    def __str__(self) -> str:
        return f"{self.item_id} v{self.ordinal} {self.original}"

    @property
    def sha256(self) -> str:
        return self.blob_id


class VersionMetadataEntry(models.Model):
    """One name/value pair of a version (its metrics, its training run): the same rules and vocabulary as an
    item's ``MetadataEntry``, numbers also kept in ``number``."""

    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="metadata", db_index=False)
    name = models.ForeignKey(MetadataName, on_delete=models.PROTECT, related_name="version_entries", db_index=False)
    value_type = models.CharField(max_length=8, choices=ValueType.choices)
    text = models.CharField(max_length=1024)
    number = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["version", "name"], name="version_metadata_name_unique"),
        ]
        indexes = [
            models.Index(fields=["name", "value_type", "number", "version"], name="version_metadata_number"),
            models.Index(fields=["name", "text"], name="version_metadata_text"),
        ]
        verbose_name_plural = "version metadata entries"

    def __str__(self) -> str:
        return f"{self.version_id} {self.name_id}={self.text}"

    @property
    def value(self) -> str | float | int | bool:
        return stored_value(self.value_type, self.text)


class Alias(models.Model):
    """A name (``production``, ``staging``…) that points at one version of an item; moved by its owner or an
    admin (``items_app.aliases``). ``latest`` is never stored: it always means the highest ordinal.

    Deleting the version it points at is refused by the service unless the request moves or drops the
    alias; the cascade only serves the item's own deletion.
    """

    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="aliases", db_index=False)
    name = models.CharField(max_length=32)
    version = models.ForeignKey(Version, on_delete=models.CASCADE, related_name="aliases", db_index=False)
    lastmod = models.DateTimeField(default=timezone.now)
    by = models.CharField(max_length=150, blank=True, default="")  # a username, kept as text

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["item", "name"], name="alias_unique_per_item")]
        indexes = [
            models.Index(fields=["name", "item"], name="alias_name_item"),  # filter {"aliases": "production"}
            models.Index(fields=["version"], name="alias_version"),
        ]
        verbose_name_plural = "aliases"

    def __str__(self) -> str:
        return f"{self.item_id}@{self.name}"


class AliasMove(models.Model):
    """One change of an alias, kept as history: ``from_ordinal`` None when it was created, ``to_ordinal`` None
    when it was removed."""

    id = models.CharField(primary_key=True, max_length=24, default=new_object_id, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="alias_moves", db_index=False)
    alias = models.CharField(max_length=32)
    from_ordinal = models.PositiveIntegerField(null=True, blank=True)
    to_ordinal = models.PositiveIntegerField(null=True, blank=True)
    by = models.CharField(max_length=150, blank=True, default="")
    timestamp = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-timestamp", "id"]
        indexes = [models.Index(fields=["item", "alias", "timestamp"], name="alias_move_item_alias")]

    def __str__(self) -> str:
        return f"{self.item_id}@{self.alias}: {self.from_ordinal} -> {self.to_ordinal}"


class ProtectedAlias(models.Model):
    """An alias name that only tenant admins may move (``production``, for example)."""

    name = models.CharField(primary_key=True, max_length=32)
    by = models.CharField(max_length=150, blank=True, default="")
    timestamp = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "protected aliases"

    def __str__(self) -> str:
        return self.name


class ItemCount(models.Model):
    """How many items of a kind have a visibility: kept by triggers on the items table
    (``items_app.item_counts``) in the transaction of every write to it; never written by the code."""

    kind = models.CharField(max_length=16)
    visibility = models.CharField(max_length=16)
    items = models.BigIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "visibility"], name="itemcount_unique")]

    def __str__(self) -> str:
        return f"{self.kind} {self.visibility}: {self.items}"


class ItemCountChange(models.Model):
    """Changes to ``ItemCount`` that PostgreSQL's triggers recorded and the write has not folded in yet
    (``items_app.item_counts``): empty outside a write's transaction; never written by the code."""

    kind = models.CharField(max_length=16)
    visibility = models.CharField(max_length=16)
    change = models.BigIntegerField()

    class Meta:
        indexes = [models.Index(fields=["kind", "visibility"], name="itemcountchange_counter")]

    def __str__(self) -> str:
        return f"{self.kind} {self.visibility}: {self.change:+d}"


class ItemOrdinal(models.Model):
    """A number for each item, the bit that stands for it in the postings (``items_app.postings``): given by
    triggers on the items table when the item is inserted and dropped after it is deleted (so its rows,
    deleted before it, still find it), with the item's creation time; never written by the code. ``item``
    is no foreign key: Django's cascade would delete the number before the rows whose postings need it."""

    ordinal = models.BigAutoField(primary_key=True)
    item = models.CharField(max_length=24, unique=True)
    # The item's creation time (``items_app.recency``), copied by the same trigger: a page of matches found
    # by their ordinals is sorted without reading the items (``postings.items_of``).
    created = models.BigIntegerField()

    class Meta:
        indexes = [
            # The items at least as new as a time, with their ordinals, from the index alone: the check that
            # a page read from the highest ordinals missed no newer item numbered lower (``postings.newest``).
            models.Index(fields=["created", "ordinal"], name="item_ordinal_recent"),
        ]

    def __str__(self) -> str:
        return f"{self.item} #{self.ordinal}"


class Posting(models.Model):
    """The items of a kind, with one public flag, that carry a tag (``field`` "tag", ``value`` "") or a short
    string or boolean metadata value (``field`` its value type, ``name`` the metadata name), as a compressed
    bitmap of their ordinals (``ItemOrdinal``), one row per 65,536 ordinals (``chunk``). Kept in step with
    the tag and metadata rows in the transaction of every write (``items_app.postings``); never written by
    other code. A filter's combined total is a bitmap operation over them."""

    kind = models.CharField(max_length=16)
    public = models.BooleanField()
    field = models.CharField(max_length=8)
    name = models.CharField(max_length=255)
    value = models.CharField(max_length=255)
    chunk = models.IntegerField()
    bits = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["kind", "field", "name", "value", "public", "chunk"], name="posting_unique")
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.field} {self.name}={self.value} public={self.public} chunk {self.chunk}"


class PostingChange(models.Model):
    """A posting's item added (+1) or removed (-1), as the triggers record it, waiting until a write folds it
    into ``Posting`` with a thousand others (``items_app.postings.fold``); never written by the code."""

    kind = models.CharField(max_length=16)
    public = models.BooleanField()
    field = models.CharField(max_length=8)
    name = models.CharField(max_length=255)
    value = models.CharField(max_length=255)
    ordinal = models.BigIntegerField()
    change = models.SmallIntegerField()

    def __str__(self) -> str:
        return f"{self.kind} {self.field} {self.name}={self.value} #{self.ordinal}: {self.change:+d}"


class PostingsVersion(models.Model):
    """One row per tenant database: a random number that every fold into ``Posting`` draws anew, read in the
    statement that reads the postings, so that a process may keep the postings it read while the number
    stays the same (``items_app.postings``). Random rather than counted: a tenant database made again from
    the template, or restored, starts again from a number whose postings are the ones it names."""

    token = models.BigIntegerField()

    def __str__(self) -> str:
        return f"postings {self.token:x}"


class Generation(models.Model):
    """One row per tenant database: counters bumped by the transactions that change items.

    ``value`` is bumped by every such transaction. Item reads (documents, list pages) are cached per process
    under the value read at the start of a request (``items_app.generation``); a write bumps it
    in the same transaction as its rows, so a read cached before the write is never served after it.

    The other counters are bumped only by the changes of one aspect of items, so that a total which depends
    on a few aspects (a tag filter's: which items the viewer may read, and their tags) is kept across
    writes that change other ones (a description). Which items a viewer may read changes with creates,
    deletions, visibility and share changes: ``scope`` counts all of them (admins read every item),
    ``public`` those that involve a public item (everyone reads those), and each user's ``item_scope``
    those that involve a non-public item they may read.
    """

    value = models.PositiveBigIntegerField(default=0)
    scope = models.PositiveBigIntegerField(default=0)
    public = models.PositiveBigIntegerField(default=0)
    name = models.PositiveBigIntegerField(default=0)
    description = models.PositiveBigIntegerField(default=0)
    status = models.PositiveBigIntegerField(default=0)
    lastmod = models.PositiveBigIntegerField(default=0)
    tags = models.PositiveBigIntegerField(default=0)
    metadata = models.PositiveBigIntegerField(default=0)
    versions = models.PositiveBigIntegerField(default=0)
    datasets = models.PositiveBigIntegerField(default=0)
    users = models.PositiveBigIntegerField(default=0)

    def __str__(self) -> str:
        return f"generation {self.value}"


class UploadSession(models.Model):
    """A resumable upload (tus 1.0, or direct to S3) of one user to one item: how many of its bytes arrived.

    Its bytes are a partial file (``framework.files.resumable``); ``offset`` says how many of them count.
    When the last byte arrives the version is recorded and this row goes. An upload nobody finishes expires
    and the clean-up command removes it with its bytes.
    """

    id = models.CharField(primary_key=True, max_length=32, editable=False)
    item = models.ForeignKey(Item, on_delete=models.CASCADE, related_name="+")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    length = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    original = models.CharField(max_length=255)
    # The version label asked for at creation (``versions.checked_label``; "" for none): checked free then,
    # and again when the last byte arrives.
    label = models.CharField(max_length=64, blank=True, default="")
    description = models.TextField(blank=True, default="")
    # The version's metadata as the upload was created with it: [{"name", "value"}] (checked then).
    metadata = models.JSONField(default=list, blank=True)
    expected_sha256 = models.CharField(max_length=64, blank=True, default="")
    content_type = models.CharField(max_length=255, default="application/octet-stream")
    created = models.DateTimeField(default=timezone.now, editable=False)
    expires = models.DateTimeField(db_index=True)
    # A direct upload (S3 multipart, presigned parts sent straight to the bucket): the S3 UploadId. Empty for
    # a tus upload, whose bytes come through the registry.
    direct_id = models.CharField(max_length=1024, blank=True, default="")

    def __str__(self) -> str:
        return f"{self.original} ({self.offset} of {self.length} bytes)"


class TenantSettings(models.Model):
    """The tenant's own choices, changed by its admins (``/v1/settings``, ``/manage/settings/``): one row, or
    none for the defaults."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    # Refuse (422) an upload whose pickles import code-execution globals (``safety`` "dangerous").
    refuse_dangerous_uploads = models.BooleanField(default=False)
    lastmod = models.DateTimeField(default=timezone.now)
    by = models.CharField(max_length=150, blank=True, default="")

    class Meta:
        verbose_name_plural = "tenant settings"

    def __str__(self) -> str:
        return f"settings (refuse dangerous uploads: {self.refuse_dangerous_uploads})"


# ``value_type__literal='number'``: the partial reader indexes are found by the value written out (above).
for _metadata in (MetadataEntry, VersionMetadataEntry):
    _metadata._meta.get_field("value_type").register_lookup(LiteralExact)
