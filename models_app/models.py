"""Trained ML models are items of kind ``model`` (``models_app.kind``); this proxy gives them an admin."""

from __future__ import annotations

from items_app.models import Item
from items_app.querysets import KindManager

MODEL_VALUE = "model"  # the value of ``models_app.kind.MODEL``, stored in ``Item.kind``


class MLModel(Item):
    """A trained model: an item with a maturity ``status`` and the ``datasets`` it was trained on."""

    objects = KindManager(MODEL_VALUE)

    class Meta:
        proxy = True
        verbose_name = "model"

    def save(self, *args: object, **kwargs: object) -> None:
        self.kind = MODEL_VALUE
        super().save(*args, **kwargs)
