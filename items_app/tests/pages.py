"""Helpers of the page tests: signed-in Django clients and items made through the API."""

from __future__ import annotations

from typing import Any

from django.test import Client

from testing.pages import signed_in_client


def signed_in(tenant: Any, username: str, *, enforce_csrf_checks: bool = False) -> Client:
    """A browser-like client signed in through the sign-in page (the session names the tenant)."""
    return signed_in_client(tenant.id, username, enforce_csrf_checks=enforce_csrf_checks)


def csrf_token(client: Client, url: str = "/models/new/") -> str:
    """The CSRF token a page hands out (its cookie), as a browser would have it."""
    client.get(url)
    return client.cookies["csrftoken"].value


def api_item(tenant: Any, username: str, kind: str = "models", **fields: Any) -> dict[str, Any]:
    response = tenant.client(username).post(f"/v1/{kind}", {"name": "churn", **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def html(response: Any) -> str:
    return response.content.decode()


def upload_version(
    tenant: Any, username: str, item: dict[str, Any], name: str, content: bytes, kind: str = "models"
) -> None:
    response = tenant.client(username).post(
        f"/v1/{kind}/{item['_id']}/versions",
        data=content,
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION=f'attachment; filename="{name}"',
    )
    assert response.status_code == 201, response.content


def seed_catalog(tenant: Any) -> dict[str, dict[str, Any]]:
    """A small, realistic catalog (for searches and for the screenshots in the README)."""
    imagenet = api_item(
        tenant, "ada", "datasets", name="imagenet-1k", visibility="public", tags=["vision"],
        metadata=[{"name": "rows", "value": 1281167}, {"name": "license", "value": "research"}],
    )  # fmt: skip
    sst2 = api_item(
        tenant, "reggie", "datasets", name="sst2-sentiment", visibility="public", tags=["nlp"],
        metadata=[{"name": "rows", "value": 67349}],
    )  # fmt: skip
    items = {
        "imagenet": imagenet,
        "sst2": sst2,
        "resnet": api_item(
            tenant, "reggie", name="resnet50-imagenet", status="production", visibility="public",
            tags=["vision", "cnn"], datasets=[imagenet["_id"]],
            description="ResNet-50 fine-tuned on ImageNet-1k, exported to ONNX.",
            metadata=[{"name": "accuracy", "value": 0.931}, {"name": "loss", "value": 0.212},
                      {"name": "framework", "value": "onnx"}, {"name": "epochs", "value": 90}],
        ),
        "resnet2": api_item(
            tenant, "reggie", name="resnet50-imagenet-v2", status="test", visibility="public",
            tags=["vision", "cnn"], datasets=[imagenet["_id"]],
            description="Longer schedule, label smoothing.",
            metadata=[{"name": "accuracy", "value": 0.947}, {"name": "loss", "value": 0.187},
                      {"name": "framework", "value": "onnx"}, {"name": "epochs", "value": 120},
                      {"name": "label_smoothing", "value": 0.1}],
        ),
        "bert": api_item(
            tenant, "ada", name="bert-base-sentiment", status="test", visibility="public",
            tags=["nlp", "transformer"], datasets=[sst2["_id"]],
            metadata=[{"name": "f1", "value": 0.912}, {"name": "framework", "value": "pytorch"}],
        ),
        "churn": api_item(
            tenant, "reggie", name="churn-xgboost", status="training", users=["olive"], tags=["tabular"],
            metadata=[{"name": "auc", "value": 0.87}, {"name": "framework", "value": "xgboost"}],
        ),
        "whisper": api_item(
            tenant, "ada", name="whisper-small-de", status="deploy", visibility="public", tags=["audio", "asr"],
            metadata=[{"name": "wer", "value": 0.121}, {"name": "framework", "value": "onnx"}],
        ),
    }  # fmt: skip
    upload_version(tenant, "reggie", items["resnet"], "resnet50.onnx", b"resnet weights\n" * 70000)
    upload_version(tenant, "reggie", items["resnet2"], "resnet50-v2.onnx", b"resnet v2 weights\n" * 80000)
    upload_version(tenant, "ada", items["bert"], "bert-base.onnx", b"bert weights\n" * 30000)
    upload_version(tenant, "ada", items["imagenet"], "imagenet-1k.zip", b"images\n" * 150000, kind="datasets")
    return items
