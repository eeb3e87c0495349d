"""Trained ML models: items with a maturity ``status`` that were trained or tested on datasets."""

from __future__ import annotations

from django.db import models

from datasets_app.lineage import TRAINED_ON_DATASETS
from items_app.kinds import ItemKind
from items_app.traits import ScalarTrait
from models_app.models import MODEL_VALUE


class Status(models.TextChoices):
    """Where a model is in its life: still training, under test, serving, or being rolled out."""

    TRAINING = "training"
    TEST = "test"
    PRODUCTION = "production"
    DEPLOY = "deploy"


STATUS = ScalarTrait(
    field="status",
    label="Status",
    choices=Status.choices,
    default=Status.TRAINING,
    aspect="status",
    badge="status",
)

MODEL = ItemKind(
    value=MODEL_VALUE,
    singular="Model",
    plural="Models",
    prefix="models",
    traits=(STATUS, TRAINED_ON_DATASETS),
    introduction="Register a trained model: give it a name, tags and metrics, then upload its file "
    "(an <code>.onnx</code>, a checkpoint…).",
)
