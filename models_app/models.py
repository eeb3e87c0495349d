"""Trained ML models are items of kind ``model`` (``models_app.kind``); this proxy gives them an admin."""

from __future__ import annotations

from typing import Any, ClassVar

from items_app.models import Item
from items_app.querysets import KindManager

MODEL_VALUE = "model"  # the value of ``models_app.kind.MODEL``, stored in ``Item.kind``


class MLModel(Item):
    """A trained model: an item with a maturity ``status`` and the ``datasets`` it was trained on."""

    # Only the rows of this kind: not the manager class of Item (``ItemQuerySet.as_manager()``) that
    # django-stubs expects a subclass to keep.
    objects: ClassVar[KindManager] = KindManager(MODEL_VALUE)  # type: ignore[assignment]

    class Meta:
        proxy = True
        verbose_name = "model"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = MODEL_VALUE
        super().save(*args, **kwargs)
