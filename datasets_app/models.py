"""Datasets: items of kind ``dataset`` (see ``items_app``)."""

from __future__ import annotations

from items_app.models import Item, Kind
from items_app.querysets import KindManager


class Dataset(Item):
    """A dataset that models are trained or tested on; it cannot be deleted while a model uses it."""

    objects = KindManager(Kind.DATASET)

    class Meta:
        proxy = True
        verbose_name = "dataset"

    def save(self, *args: object, **kwargs: object) -> None:
        self.kind = Kind.DATASET
        super().save(*args, **kwargs)
