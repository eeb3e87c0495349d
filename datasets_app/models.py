"""Datasets are items of kind ``dataset`` (``datasets_app.kind``); this proxy gives them an admin."""

from __future__ import annotations

from items_app.models import Item
from items_app.querysets import KindManager

DATASET_VALUE = "dataset"  # the value of ``datasets_app.kind.DATASET``, stored in ``Item.kind``


class Dataset(Item):
    """A dataset that models are trained or tested on; it cannot be deleted while a model uses it."""

    objects = KindManager(DATASET_VALUE)

    class Meta:
        proxy = True
        verbose_name = "dataset"

    def save(self, *args: object, **kwargs: object) -> None:
        self.kind = DATASET_VALUE
        super().save(*args, **kwargs)
