"""Lineage: items trained or tested on datasets, and datasets that cannot be deleted while they are used.

Two traits, one relation (``Lineage`` rows, item -> dataset):

- ``TRAINED_ON_DATASETS``, for kinds trained on datasets (``models_app``): a ``datasets`` list of dataset
  ids. A reference must name a dataset the caller may read (else it does not exist for them); a document
  shows only the datasets its viewer may read; replacing the whole list keeps the links to datasets the
  caller cannot read (they are not theirs to drop); filters only ever test readable datasets.
- ``IN_USE_BY_MODELS``, for datasets: deleting one that some item was trained on is a 409 naming the items
  the caller may read (and how many others); the dataset's page lists them.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.db.models import Count, Q, QuerySet
from django.http import HttpRequest
from rest_framework import serializers

from datasets_app.models import DATASET_VALUE
from framework.api.filtering import FieldHandler, FilterField, RowsField
from framework.errors import Conflict, Invalid
from framework.web.admin import ReadOnlyInline
from items_app.models import Item, Lineage
from items_app.traits import ListTrait, Trait

if TYPE_CHECKING:
    from items_app.related import ListChange
    from tenants_app.audit import Caller
    from tenants_app.models import User

MAX_NAMED_USERS = 10  # items named in the 409 of a dataset in use


def readable_datasets(viewer: User) -> QuerySet[Item]:
    return Item.objects.of_kind(DATASET_VALUE).visible_to(viewer)


class DatasetsInline(ReadOnlyInline):
    """The datasets an item was trained or tested on."""

    model = Lineage
    fk_name = "model"
    fields = ("dataset",)
    verbose_name = "dataset"
    verbose_name_plural = "datasets"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("dataset")


class UsedByInline(ReadOnlyInline):
    """The items that use a dataset (while there are any, the dataset cannot be deleted)."""

    model = Lineage
    fk_name = "dataset"
    fields = ("model",)
    verbose_name = "used by model"
    verbose_name_plural = "used by models"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Any]:
        return super().get_queryset(request).select_related("model")


class TrainedOnDatasets(ListTrait):
    field = "datasets"
    aspect = "datasets"
    label = "Datasets"
    form_template = "datasets_app/_datasets_field.html"
    detail_template = "datasets_app/_trained_on.html"
    admin_inlines = (DatasetsInline,)

    # ------------------------------------------------------------ writing

    def lookup(self, caller: Caller, refs: set[str]) -> Mapping[str, Item]:
        if not refs:
            return {}
        # An item write's caller is a user: the new items' owner, or an editor the services checked (also below).
        viewer = cast("User", caller.user)
        return {dataset.pk: dataset for dataset in readable_datasets(viewer).filter(pk__in=refs)}

    def named(self, refs: Iterable[Any], known: Mapping[str, Any]) -> list[Any]:
        found: dict[str, Item] = {}
        for ref in refs:
            if not isinstance(ref, str):
                raise Invalid(f"datasets: expected dataset ids, got {json.dumps(ref)[:60]}")
            dataset = known.get(ref)
            if dataset is None:
                raise Invalid(f"datasets: there is no dataset {ref!r}")
            found[dataset.pk] = dataset
        return list(found.values())

    def stored(self, targets: Sequence[Any]) -> list[str]:
        return [dataset.pk for dataset in targets]

    def rows(self, item: Item, targets: Sequence[Any]) -> list[Lineage]:
        return [Lineage(model=item, dataset=dataset) for dataset in targets]

    def resolve(self, change: ListChange, known: Mapping[str, Any]) -> tuple[Any, Any]:
        if change.replace is not None:
            return "all", self.named(change.replace, known)
        return [ref for ref in change.remove if isinstance(ref, str)], self.named(change.add, known)

    def apply(self, item: Item, remove: Any, add: Any, caller: Caller) -> None:
        rows = Lineage.objects.filter(model=item)
        if remove == "all":
            # Links to datasets the caller cannot read are not theirs to drop: keep them.
            kept = [dataset.pk for dataset in add]
            rows.filter(dataset__in=readable_datasets(cast("User", caller.user))).exclude(dataset__in=kept).delete()
        else:
            rows.filter(dataset_id__in=remove).delete()
        Lineage.objects.bulk_create(self.rows(item, add), ignore_conflicts=True)

    # ------------------------------------------------------------ reading

    def from_rows(self, item_ids: Sequence[str]) -> Iterable[tuple[str, str]]:
        links = Lineage.objects.filter(model_id__in=item_ids).order_by("id")
        return links.values_list("model_id", "dataset_id")

    def shown_to(self, viewer: User, references: set[str]) -> set[str]:
        readable = Item.objects.visible_to(viewer).filter(pk__in=references).order_by()
        return set(readable.values_list("pk", flat=True))

    def filter_field(self, viewer: User) -> FieldHandler:
        readable = readable_datasets(viewer).values("pk")
        return RowsField(Lineage, "model", FilterField("dataset__id"), restrict=Q(dataset__in=readable))

    def schema_field(self) -> serializers.Field[Any, Any, Any, Any]:
        return serializers.ListField(child=serializers.CharField(), help_text="Ids of datasets the caller can read.")

    # ------------------------------------------------------------ pages

    def form_field(self, viewer: User) -> forms.Field:
        rows = readable_datasets(viewer).select_related("owner").order_by("name", "pk")
        choices = [(dataset.pk, f"{dataset.name} · {dataset.owner.username}") for dataset in rows]
        return forms.MultipleChoiceField(choices=choices, required=False, widget=forms.CheckboxSelectMultiple)

    def detail_context(self, viewer: User, item: Item, document: Mapping[str, Any]) -> dict[str, Any]:
        # The document already dropped the links to datasets the viewer cannot read.
        return {"datasets": readable_datasets(viewer).filter(pk__in=document[self.field]).order_by("name")}


class InUseByModels(Trait):
    detail_template = "datasets_app/_used_by.html"
    admin_inlines = (UsedByInline,)

    def before_delete(self, caller: Caller, item: Item) -> None:
        users = Item.objects.filter(lineage__dataset=item).order_by("name")
        if not users.exists():
            return
        viewer = cast("User", caller.user)  # an editor: delete_item checked it (``ensure_editable``)
        named = list(users.visible_to(viewer).values_list("name", "kind")[:MAX_NAMED_USERS])
        # The others are counted per kind (models, algorithms): their names are not the caller's to see.
        others = Counter(dict(users.order_by("kind").values_list("kind").annotate(n=Count("pk"))))
        others.subtract(kind for _name, kind in named)
        counted = [f"{n} other {kind}(s)" for kind, n in sorted(others.items()) if n > 0]
        names = ", ".join(name for name, _kind in named) + (f" and {', '.join(counted)}" if counted else "")
        raise Conflict(f"_id: the dataset is used by {names}")

    def detail_context(self, viewer: User, item: Item, document: Mapping[str, Any]) -> dict[str, Any]:
        users = Item.objects.visible_to(viewer).filter(lineage__dataset=item).select_related("owner")
        return {"trained": users.order_by("name")}


TRAINED_ON_DATASETS = TrainedOnDatasets()
IN_USE_BY_MODELS = InUseByModels()
