"""The test matrix of item kinds: what a test needs to know of a kind to run once per kind.

A test that takes the ``kind`` fixture (root ``conftest.py``) runs for every entry of ``KINDS``; a test of
lineage takes ``trained_kind`` and runs for every kind trained on datasets. A new kind (an app with its
``kind.py``) adds one entry here, and every shared test covers it — unless, as algorithms, it is made only of
traits another kind in ``KINDS`` already has (see ``ALGORITHM``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rest_framework.test import APIClient

# What every kind's document holds; a kind's traits add their own fields.
COMMON_KEYS = frozenset(
    {
        "_id",
        "name",
        "owner",
        "visibility",
        "users",
        "metadata",
        "tags",
        "description",
        "versions",
        "aliases",
        "timestamp",
        "lastmod",
    }
)


@dataclass(frozen=True)
class KindCase:
    value: str  # ``Item.kind`` and the audit log's resource: "model"
    plural: str  # its URL segment: "models"
    name: str  # the name a test's first item of this kind gets
    has_status: bool = False  # a model's ``status`` (models_app.kind.STATUS)
    trained_on_datasets: bool = False  # the ``datasets`` list (datasets_app.lineage.TrainedOnDatasets)
    defaults: dict[str, Any] = field(default_factory=dict)  # what its traits answer for a new item

    def __str__(self) -> str:
        return self.value

    @property
    def api(self) -> str:
        return f"/v1/{self.plural}"

    @property
    def pages(self) -> str:
        return f"/{self.plural}/"

    @property
    def keys(self) -> frozenset[str]:
        return COMMON_KEYS | set(self.defaults)

    def url(self, item: dict[str, Any]) -> str:
        return f"{self.api}/{item['_id']}"

    def create(self, client: APIClient, name: str | None = None, **fields: Any) -> dict[str, Any]:
        response = client.post(self.api, {"name": name or self.name, **fields}, format="json")
        assert response.status_code == 201, response.content
        return dict(response.json())


MODEL = KindCase(
    "model",
    "models",
    "churn",
    has_status=True,
    trained_on_datasets=True,
    defaults={"status": "training", "datasets": []},
)
DATASET = KindCase("dataset", "datasets", "customers")
# Algorithms have the model's traits, the very same objects (algorithms_app/kind.py): every rule the shared
# tests check runs the same code for them as for models. In KINDS they would run 233 more tests (about 70 s
# of test time on SQLite alone) for no new path, so they are not: algorithms_app/tests/ checks each feature
# once for them, with this case.
ALGORITHM = KindCase(
    "algorithm",
    "algorithms",
    "sorter",
    has_status=True,
    trained_on_datasets=True,
    defaults={"status": "training", "datasets": []},
)
KINDS = (MODEL, DATASET)
TRAINED_KINDS = tuple(kind for kind in KINDS if kind.trained_on_datasets)


def other_than(kind: KindCase) -> KindCase:
    """Another kind than ``kind`` (the matrix always holds two at least)."""
    return next(other for other in KINDS if other is not kind)
