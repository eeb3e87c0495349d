"""Datasets that models are trained and tested on; a dataset in use cannot be deleted."""

from __future__ import annotations

from datasets_app.lineage import IN_USE_BY_MODELS
from datasets_app.models import DATASET_VALUE
from items_app.kinds import ItemKind

DATASET = ItemKind(
    value=DATASET_VALUE,
    singular="Dataset",
    plural="Datasets",
    prefix="datasets",
    traits=(IN_USE_BY_MODELS,),
    introduction="Register a dataset: give it a name, tags and metadata, then upload its file (a <code>.zip</code>, "
    "a <code>.parquet</code>…). Models can then point at it.",
)
