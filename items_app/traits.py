"""Traits: what a kind adds to the items every kind shares, and the hooks through which the core uses them.

A kind (``items_app.kinds``) lists its traits. The core calls a trait's hooks wherever its field or rule
matters (bodies, checks, writes, documents, filters, deletion, pages, admin), so the behaviour of a trait
is written once, in the app that declares it:

- ``ScalarTrait``: one value among fixed choices, kept in a column of the items table (a model's ``status``,
  ``models_app.status``). Fully described by its declaration.
- ``ListTrait``: a list of references to other rows, kept as rows of a link table (the ``datasets`` a model
  was trained on, ``datasets_app.lineage``). Its app implements how references are found, written and shown.
- ``Trait``: a rule without a field (a dataset that is in use cannot be deleted).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from rest_framework import serializers

from framework.api.filtering import FieldHandler, FilterField
from framework.errors import Invalid

if TYPE_CHECKING:
    from django.contrib.admin.options import InlineModelAdmin

    from items_app.models import Item
    from items_app.related import ListChange
    from tenants_app.audit import Caller
    from tenants_app.models import User


class Trait:
    """A rule a kind adds, without a field of its own; the base of every trait (each hook does nothing)."""

    field: str = ""  # the name in bodies, documents, filters and sorts; "" for a rule only
    aspect: str | None = None  # the counter its changes bump (``generation.ASPECTS``); None: none of its own
    label: str = ""  # how pages name the field
    detail_template: str | None = None  # a section of the item page
    admin_inlines: tuple[type[InlineModelAdmin[Any, Any]], ...] = ()

    def create_input(self) -> serializers.Field[Any, Any, Any, Any] | None:
        """The field a create body takes for it (None: none)."""
        return None

    def update_input(self) -> serializers.Field[Any, Any, Any, Any] | None:
        """The field an update body takes for it (None: none)."""
        return None

    def before_delete(self, caller: Caller, item: Item) -> None:
        """Refuse (``Conflict``) to delete ``item`` while the rule forbids it; inside no transaction yet."""

    def detail_context(self, viewer: User, item: Item, document: Mapping[str, Any]) -> dict[str, Any]:
        """What ``detail_template`` shows of ``item`` to ``viewer``."""
        return {}

    def schema_field(self) -> serializers.Field[Any, Any, Any, Any] | None:
        """How the OpenAPI document describes the field in an item document."""
        return None


@dataclass(frozen=True, eq=False, kw_only=True)
class ScalarTrait(Trait):
    """One value among ``choices``, in the column ``field`` of the items table; ``default`` when not given."""

    field: str
    label: str
    choices: Sequence[tuple[str, str]]
    default: str
    aspect: str | None = None
    badge: str = ""  # the CSS class prefix of its badge on the pages: "status" gives "status-production"

    @property
    def values(self) -> list[str]:
        return [value for value, _ in self.choices]

    def create_input(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.ChoiceField(choices=self.values, required=False)

    def update_input(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.ChoiceField(choices=self.values, required=False)

    def schema_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.ChoiceField(choices=self.values)

    def initial(self, value: Any) -> Any:
        """The value of a new item: what the body gave, or the default."""
        return value or self.default

    def check(self, value: Any) -> None:
        if value not in self.values:
            raise Invalid(f"{self.field}: one of {', '.join(self.values)}")

    def filter_field(self, viewer: User) -> FieldHandler:
        return FilterField(self.field)

    def form_field(self) -> forms.Field:
        return forms.ChoiceField(choices=self.choices, initial=self.default, label=self.label)


class ListTrait(Trait):
    """A list of references to other rows (ids), kept as rows of a link table. The app that declares one
    implements its hooks; the core calls them for every item whose kind has the trait.

    References of one write (a batch create of a thousand items) are looked up together (``lookup``), then
    each item checks its own against them (``named``).
    """

    form_template: str = ""  # the field on the create and edit page

    def create_input(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.ListField(child=serializers.JSONField(), required=False, default=list)

    def update_input(self) -> serializers.Field[Any, Any, Any, Any]:
        from items_app.api.serializers import ListChangeField

        return ListChangeField(required=False)

    def lookup(self, caller: Caller, refs: set[str]) -> Mapping[str, Any]:
        """The rows ``refs`` name that ``caller`` may link to, by reference; one query for every item of a write."""
        raise NotImplementedError

    def named(self, refs: Iterable[Any], known: Mapping[str, Any]) -> list[Any]:
        """The rows ``refs`` name, each once; a reference that is not a string or names no row is ``Invalid``."""
        raise NotImplementedError

    def stored(self, targets: Sequence[Any]) -> list[str]:
        """The list as documents show it (ids), from the rows ``named`` returned."""
        raise NotImplementedError

    def rows(self, item: Item, targets: Sequence[Any]) -> list[Any]:
        """The link rows of a new item (inserted with the item's other rows)."""
        raise NotImplementedError

    def resolve(self, change: ListChange, known: Mapping[str, Any]) -> tuple[Any, Any]:
        """What an update removes (``"all"`` for a whole new list) and adds, every added reference checked."""
        raise NotImplementedError

    def apply(self, item: Item, remove: Any, add: Any, caller: Caller) -> None:
        """The writes of an update, inside its transaction on the item's locked row."""
        raise NotImplementedError

    def from_rows(self, item_ids: Sequence[str]) -> Iterable[tuple[str, str]]:
        """``(item id, reference)`` for every link row of these items, in the order they were added."""
        raise NotImplementedError

    def shown_to(self, viewer: User, references: set[str]) -> set[str]:
        """Of ``references``, those a document may show ``viewer`` (a hidden dataset never appears)."""
        return references

    def filter_field(self, viewer: User) -> FieldHandler:
        raise NotImplementedError

    def form_field(self, viewer: User) -> forms.Field:
        raise NotImplementedError
