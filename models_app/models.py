"""Trained ML models: items of kind ``model`` (see ``items_app``)."""

from __future__ import annotations

from items_app.models import Item, Kind
from items_app.querysets import KindManager


class MLModel(Item):
    """A trained model: an item with a maturity ``status`` and the ``datasets`` it was trained on."""

    objects = KindManager(Kind.MODEL)

    class Meta:
        proxy = True
        verbose_name = "model"

    def save(self, *args: object, **kwargs: object) -> None:
        self.kind = Kind.MODEL
        super().save(*args, **kwargs)
