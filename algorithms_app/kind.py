"""Algorithms, the original registry's third kind: every field and rule of a model, under ``/v1/algorithms``.

The traits are the models' own objects, not copies: an algorithm's ``status`` takes the same values as a
model's (training, test, production, deploy; docs/decisions.md says why ``deploy`` too) and its ``datasets``
follow the same lineage rules, so a dataset an algorithm uses cannot be deleted either.
"""

from __future__ import annotations

from algorithms_app.models import ALGORITHM_VALUE
from datasets_app.lineage import TRAINED_ON_DATASETS
from items_app.kinds import ItemKind
from models_app.kind import STATUS

ALGORITHM = ItemKind(
    value=ALGORITHM_VALUE,
    singular="Algorithm",
    plural="Algorithms",
    prefix="algorithms",
    traits=(STATUS, TRAINED_ON_DATASETS),
    introduction="Register an algorithm: give it a name, tags and metadata, name the datasets it was trained on, "
    "then upload its file (a script, a package, a checkpoint…).",
)
