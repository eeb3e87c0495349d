"""What the demo tenant holds once filled: its users, curated vocabulary, datasets, models and algorithms.

A small registry as a team would keep it: public and private items, items shared with colleagues, models
and algorithms trained on datasets (lineage), tags and metadata (hyperparameters, metrics), several versions
with labels, per-version metrics and aliases (``production``, ``staging``). ``demo_app.services`` writes it
through the registry's own services; ``demo_app.files`` makes the files. The metrics are what the models
score on the demo's own files (an ONNX runtime over the CSV and the zip, the rules over the tickets).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from demo_app import files


@dataclass(frozen=True)
class DemoUser:
    username: str
    email: str


@dataclass(frozen=True)
class DemoFile:
    """One version: its file name, how its bytes are made, and what is said about it."""

    original: str
    content_type: str
    make: Callable[[], bytes]
    description: str = ""
    label: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DemoItem:
    kind: str  # an ItemKind value: "dataset", "model", "algorithm"
    name: str
    owner: str  # a username of USERS
    description: str
    visibility: str = "private"
    status: str | None = None  # kinds with a status only
    users: tuple[str, ...] = ()  # shared with
    datasets: tuple[str, ...] = ()  # names of DEMO datasets it was trained on
    tags: tuple[str, ...] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    versions: tuple[DemoFile, ...] = ()
    aliases: dict[str, int] = field(default_factory=dict)  # alias → ordinal


USERS = (
    DemoUser("marie", "marie@demo-registry.example"),  # data scientist: iris models, clustering
    DemoUser("alan", "alan@demo-registry.example"),  # reliability engineer: sensor data, anomaly detection
    DemoUser("grace", "grace@demo-registry.example"),  # support analytics: ticket routing
)

# Curated by the demo admin (usage "default"); the items add folk tags and names of their own.
DEFAULT_TAGS = ("tabular", "classification", "time-series", "nlp")
DEFAULT_METADATA = ("accuracy", "framework", "license")
PROTECTED_ALIASES = ("production",)  # only admins move it once the demo is filled

_IRIS_V1 = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0], [-2.1, 0.4, 1.7], [-3.0, 0.2, 2.8]]
_IRIS_V2 = [[0.3, 0.0, -0.3], [0.9, -0.4, -0.5], [-2.4, 0.5, 1.9], [-3.3, 0.1, 3.2]]
_ANOMALY = [[-0.05, 0.05], [-1.2, 1.2]]  # features: temperature_c, vibration_mm_s → normal, anomaly

ITEMS = (
    DemoItem(
        kind="dataset",
        name="iris-measurements",
        owner="marie",
        visibility="public",
        description="Sepal and petal measurements of three iris species, for classification and clustering.",
        tags=("tabular", "classification", "csv", "flowers"),
        metadata={"license": "CC0-1.0", "columns": 5, "target": "species"},
        versions=(
            DemoFile(
                "iris.csv",
                "text/csv",
                lambda: files.iris_csv(40, seed=1),
                "First collection: 40 flowers of each species.",
                metadata={"rows": 120},
            ),
            DemoFile(
                "iris-150.csv",
                "text/csv",
                lambda: files.iris_csv(50, seed=2),
                "Full collection: 50 flowers of each species.",
                label="2024.1",
                metadata={"rows": 150},
            ),
        ),
    ),
    DemoItem(
        kind="dataset",
        name="pump-sensor-readings",
        owner="alan",
        users=("grace",),
        description="Vibration and temperature of two pumps and a fan, sampled every 20 ms, with a few faults.",
        tags=("time-series", "iot", "zip"),
        metadata={"sampling_hz": 50, "sensors": len(files.SENSORS), "license": "proprietary"},
        versions=(
            DemoFile(
                "readings-week-01.zip",
                "application/zip",
                lambda: files.sensor_readings_zip(300, seed=3),
                "One CSV per sensor, first week.",
                metadata={"rows_per_sensor": 300},
            ),
        ),
    ),
    DemoItem(
        kind="dataset",
        name="support-tickets",
        owner="grace",
        description="Customer support tickets labelled with the queue that solved them.",
        tags=("nlp", "jsonl", "pii-free"),
        metadata={"language": "en", "labelled": True},
        versions=(
            DemoFile(
                "tickets.jsonl",
                "application/jsonl",
                lambda: files.support_tickets_jsonl(60, seed=4),
                metadata={"rows": 60},
            ),
        ),
    ),
    DemoItem(
        kind="model",
        name="iris-classifier",
        owner="marie",
        visibility="public",
        status="production",
        datasets=("iris-measurements",),
        description="Linear classifier of iris species from petal size; outputs the probability of each species.",
        tags=("classification", "onnx", "flowers"),
        metadata={"framework": "onnx", "learning_rate": 0.05, "epochs": 200, "accuracy": 0.9},
        versions=(
            DemoFile(
                "iris-classifier.onnx",
                "application/octet-stream",
                lambda: files.linear_classifier_onnx("iris-classifier", _IRIS_V1, [7.0, 1.5, -8.0]),
                "Petal features only.",
                label="1.0.0",
                metadata={"accuracy": 0.887, "evaluated_on": "iris-150.csv"},
            ),
            DemoFile(
                "iris-classifier-v2.onnx",
                "application/octet-stream",
                lambda: files.linear_classifier_onnx("iris-classifier", _IRIS_V2, [3.6, 1.2, -7.5]),
                "All four features, trained on the full collection.",
                label="1.1.0",
                metadata={"accuracy": 0.9, "evaluated_on": "iris-150.csv"},
            ),
        ),
        aliases={"production": 2, "staging": 2, "previous": 1},
    ),
    DemoItem(
        kind="model",
        name="pump-anomaly-detector",
        owner="alan",
        users=("grace", "marie"),
        status="test",
        datasets=("pump-sensor-readings",),
        description="Scores each reading as normal or anomalous from its temperature and vibration.",
        tags=("time-series", "anomaly-detection", "onnx"),
        metadata={"framework": "onnx", "threshold": 0.5, "recall": 1.0, "precision": 1.0},
        versions=(
            DemoFile(
                "pump-anomaly-detector.onnx",
                "application/octet-stream",
                lambda: files.linear_classifier_onnx("pump-anomaly-detector", _ANOMALY, [8.65, -8.65]),
                "Logistic scorer over temperature and vibration.",
                metadata={"recall": 1.0, "precision": 1.0, "evaluated_on": "readings-week-01.zip"},
            ),
        ),
        aliases={"staging": 1},
    ),
    DemoItem(
        kind="model",
        name="ticket-router",
        owner="grace",
        status="training",
        datasets=("support-tickets",),
        description="Routes a support ticket to a queue; this first version is a table of keyword rules.",
        tags=("nlp", "rules"),
        metadata={"framework": "rules", "accuracy": 1.0},
        versions=(
            DemoFile(
                "routing-rules.json",
                "application/json",
                files.routing_table_json,
                "Keyword rules per queue.",
                metadata={"accuracy": 1.0, "evaluated_on": "tickets.jsonl"},
            ),
        ),
    ),
    DemoItem(
        kind="algorithm",
        name="kmeans-clustering",
        owner="marie",
        visibility="public",
        status="production",
        datasets=("iris-measurements",),
        description="k-means clustering of the numeric columns of a CSV file, in plain Python.",
        tags=("clustering", "python"),
        metadata={"language": "python", "k": 3, "max_rounds": 50, "license": "MIT"},
        versions=(DemoFile("kmeans.py", "text/x-python", lambda: files.KMEANS_SCRIPT.encode(), label="1.0.0"),),
        aliases={"production": 1},
    ),
    DemoItem(
        kind="algorithm",
        name="zscore-outliers",
        owner="alan",
        users=("grace",),
        status="test",
        datasets=("pump-sensor-readings",),
        description="Flags readings far from the mean vibration, the baseline the anomaly detector must beat.",
        tags=("time-series", "anomaly-detection", "python"),
        metadata={"language": "python", "threshold_sigma": 3.0},
        versions=(
            DemoFile("zscore.py", "text/x-python", lambda: files.zscore_script(3.0), "Three sigma.", label="0.1"),
            DemoFile(
                "zscore-2.5.py", "text/x-python", lambda: files.zscore_script(2.5), "Two and a half.", label="0.2"
            ),
        ),
    ),
)
