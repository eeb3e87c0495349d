"""Helpers of the item API tests (models and datasets): making items and reading answers."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from rest_framework.test import APIClient


def create_dataset(client: APIClient, name: str = "customers", **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/datasets", {"name": name, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def create_model(client: APIClient, name: str = "churn", **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/models", {"name": name, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def details_of(response: Any) -> str:
    return str(response.json()["details"])


def names_in(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(doc["name"] for doc in response.json()["docs"])


def metadata_of(document: dict[str, Any]) -> dict[str, Any]:
    return {entry["name"]: entry["value"] for entry in document["metadata"]}


def assert_utc_timestamp(value: str) -> None:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value


def log_of(admin: APIClient) -> list[dict[str, Any]]:
    response = admin.get("/v1/log", {"limit": "100"})
    assert response.status_code == 200, response.content
    return response.json()["docs"]


def entries_about(entries: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    return [entry for entry in entries if all(entry.get(name) == value for name, value in fields.items())]
