"""Datasets are items of kind ``dataset`` (``datasets_app.kind``); this proxy gives them an admin."""

from __future__ import annotations

from typing import Any, ClassVar

from items_app.models import Item
from items_app.querysets import KindManager

DATASET_VALUE = "dataset"  # the value of ``datasets_app.kind.DATASET``, stored in ``Item.kind``


class Dataset(Item):
    """A dataset that models are trained or tested on; it cannot be deleted while a model uses it."""

    # Only the rows of this kind: not the manager class of Item (``ItemQuerySet.as_manager()``) that
    # django-stubs expects a subclass to keep.
    objects: ClassVar[KindManager] = KindManager(DATASET_VALUE)  # type: ignore[assignment]

    class Meta:
        proxy = True
        verbose_name = "dataset"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = DATASET_VALUE
        super().save(*args, **kwargs)
