"""Kinds of item: what a kind app tells the core about its items, and the registry the core asks.

Every kind is stored in the one items table (``Item.kind`` holds its ``value``) and gets everything items
share: visibility, sharing, tags, metadata, versions, lists and filters, the API routes, the pages and the
admin. What differs is a kind's names and its *traits* (``items_app.traits``): a model has a ``status``
and ``datasets`` it was trained on (``models_app``), a dataset cannot be deleted while a model uses it
(``datasets_app``). Each kind app declares its ``ItemKind`` and registers it when it loads; the core never
names a kind, it asks this registry.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from items_app.traits import ListTrait, ScalarTrait, Trait


@dataclass(frozen=True)
class ItemKind:
    """One kind of item: its names in URLs, pages and messages, and the traits it adds."""

    value: str  # stored in ``Item.kind`` and named in the audit log: "model"
    singular: str  # "Model"
    plural: str  # "Models"
    prefix: str  # the URL segment of its routes: /v1/models, /models/
    traits: tuple[Trait, ...] = ()
    introduction: str = ""  # what the empty list page tells a user who has none yet
    fields: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", frozenset(trait.field for trait in self.traits if trait.field))

    @property
    def lower(self) -> str:
        return self.singular.lower()

    @property
    def scalars(self) -> tuple[ScalarTrait, ...]:
        from items_app.traits import ScalarTrait

        return tuple(trait for trait in self.traits if isinstance(trait, ScalarTrait))

    @property
    def lists(self) -> tuple[ListTrait, ...]:
        from items_app.traits import ListTrait

        return tuple(trait for trait in self.traits if isinstance(trait, ListTrait))

    def trait(self, field_name: str) -> Trait | None:
        """The trait that adds the field ``field_name``, if this kind has one."""
        return next((trait for trait in self.traits if trait.field == field_name), None)

    def __str__(self) -> str:
        return self.value


_kinds: dict[str, ItemKind] = {}


def register(kind: ItemKind) -> ItemKind:
    """Called by a kind app when it loads (``AppConfig.ready``); registering the same kind again is a no-op."""
    known = _kinds.get(kind.value)
    if known is not None and known is not kind:
        raise ValueError(f"two kinds of item are named {kind.value!r}")
    _kinds[kind.value] = kind
    return kind


def get(value: str) -> ItemKind:
    """The registered kind stored as ``value``."""
    return _kinds[value]


def every() -> Iterator[ItemKind]:
    """Every registered kind, in the order their apps are installed."""
    return iter(list(_kinds.values()))


def with_trait(trait: Trait) -> list[ItemKind]:
    """The kinds that have ``trait`` (the kinds trained on datasets, say)."""
    return [kind for kind in _kinds.values() if trait in kind.traits]
