"""Algorithms are items of kind ``algorithm`` (``algorithms_app.kind``); this proxy gives them an admin."""

from __future__ import annotations

from typing import Any, ClassVar

from items_app.models import Item
from items_app.querysets import KindManager

ALGORITHM_VALUE = "algorithm"  # the value of ``algorithms_app.kind.ALGORITHM``, stored in ``Item.kind``


class Algorithm(Item):
    """An algorithm: like a model, an item with a maturity ``status`` and the ``datasets`` it was trained on."""

    # Only the rows of this kind: not the manager class of Item (``ItemQuerySet.as_manager()``) that
    # django-stubs expects a subclass to keep.
    objects: ClassVar[KindManager] = KindManager(ALGORITHM_VALUE)  # type: ignore[assignment]

    class Meta:
        proxy = True
        verbose_name = "algorithm"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.kind = ALGORITHM_VALUE
        super().save(*args, **kwargs)
