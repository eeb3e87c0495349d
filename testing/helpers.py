"""The helpers of every test (fixtures and personas live in the root ``conftest.py``), one definition each:
error envelopes and the audit log, making items through the API, uploading and looking at the blob store,
and signed-in page clients."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.files.storage import FileSystemStorage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from framework.api.errors import CATALOGUE
from framework.api.filtering import FilterTranslator
from framework.files import storage
from items_app import generation, kinds
from items_app.listing import item_list_spec
from items_app.models import Blob, Item, Version
from tenants_app import tenancy
from tenants_app.databases import alias_for
from tenants_app.models import AuditEntry

PASSWORD = "correct horse battery staple"  # noqa: S105 - the personas' test password
_NAMES = {kind.value: name for name, kind in CATALOGUE.items()}

# ------------------------------------------------------------------ start-up


def manage_check(data_dir: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """``manage.py check`` in a fresh process with its own data directory and the given variables: how a
    test sees the start-up refuse a configuration."""
    return manage("check", data_dir, **variables)


def manage(command: str, data_dir: Path, **variables: str) -> subprocess.CompletedProcess[str]:
    """``manage.py <command>`` as ``manage_check`` runs ``check`` (on SQLite in ``data_dir`` unless
    ``variables`` give a DATABASE): ``bootstrap`` is what ``make run`` runs first."""
    environment = {key: value for key, value in os.environ.items() if key not in ("DATABASE", "ENV_FILE")}
    environment.update(DATA_DIR=str(data_dir), **variables)
    return subprocess.run(  # noqa: S603 - our own manage.py, a command the test names
        [sys.executable, "manage.py", command],
        cwd=settings.BASE_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def assert_refused(result: subprocess.CompletedProcess[str], *expected: str) -> str:
    """The start failed with a short message containing every ``expected`` text, and nothing else."""
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    # gunicorn logs "[INFO] Starting gunicorn …" before its on_starting hook runs: a line that is no problem
    message = [line for line in result.stderr.splitlines() if line.strip() and "[INFO]" not in line]
    assert 1 <= len(message) <= 2, output
    for text in expected:
        assert text in result.stderr, output
    return result.stderr


# ------------------------------------------------------------------ answers, concurrency and the audit log


def error_of(response: Any) -> tuple[int, str]:
    """(status, error name) of an error envelope, after checking the envelope's shape."""
    body = response.json()
    assert set(body) == {"status", "value", "message", "details"}, body
    assert body["status"] == response.status_code
    return response.status_code, _NAMES[body["value"]]


def details_of(response: Any) -> str:
    return str(response.json()["details"])


def run_together(*calls: Callable[[], Any]) -> list[Any]:
    """Run every call in its own thread, all released at the same moment; their results in order."""
    barrier = threading.Barrier(len(calls))
    results: list[Any] = [None] * len(calls)
    failures: list[BaseException] = []

    def run(index: int, call: Callable[[], Any]) -> None:
        try:
            barrier.wait()
            results[index] = call()
        except BaseException as exc:
            failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run, args=(index, call)) for index, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not failures, failures
    return results


def assert_logged_inside_its_transaction(tenant: Any, change: Callable[[], Any]) -> None:
    """Run ``change`` (one write through the API) and check that its audit entry is written inside the
    change's transaction, before it commits: the entry exists exactly when the change does. (Later clean-up,
    such as releasing a file nobody uses any more, may commit on its own.)"""
    with CaptureQueriesContext(connections[alias_for(tenant.database)]) as captured:
        change()
    sent = [query["sql"].upper() for query in captured.captured_queries]
    begin = next(index for index, sql in enumerate(sent) if sql.startswith("BEGIN"))
    commit = next(index for index, sql in enumerate(sent) if sql.startswith("COMMIT"))
    audit = [index for index, sql in enumerate(sent) if 'INTO "TENANTS_APP_AUDITENTRY"' in sql]
    assert len(audit) == 1, sent
    assert begin < audit[0] < commit, sent


def log_of(admin: APIClient) -> list[dict[str, Any]]:
    response = admin.get("/v1/log", {"limit": "100"})
    assert response.status_code == 200, response.content
    return response.json()["docs"]


def entries_about(entries: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    return [entry for entry in entries if all(entry.get(name) == value for name, value in fields.items())]


def audit_entries(handle: Any, action: str) -> list[dict[str, Any]]:
    with tenancy.using_tenant(handle.tenant):
        return list(AuditEntry.objects.filter(action=action).order_by("timestamp").values())


# ------------------------------------------------------------------ items


def create_model(client: APIClient, name: str = "churn", **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/models", {"name": name, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def create_dataset(client: APIClient, name: str = "customers", **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/datasets", {"name": name, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def names_in(response: Any) -> list[str]:
    assert response.status_code == 200, response.content
    return sorted(doc["name"] for doc in response.json()["docs"])


def metadata_of(document: dict[str, Any]) -> dict[str, Any]:
    return {entry["name"]: entry["value"] for entry in document["metadata"]}


def assert_utc_timestamp(value: str) -> None:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value


# ------------------------------------------------------------------ uploading and the blob store

CONTENT = b"onnx weights, first cut\n" * 400
OTHER_CONTENT = b"onnx weights, second cut\n" * 500
BOUNDARY = "BoUnDaRy"
VERSION_KEYS = {
    "ordinal", "label", "original", "size", "sha256", "content_type", "description", "metadata", "aliases", "timestamp",
    "owner", "format", "facts", "safety", "safety_globals",
}  # fmt: skip


def sha256_of(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()


def upload(
    client: APIClient,
    url: str,
    name: str = "model.onnx",
    content: bytes = CONTENT,
    *,
    content_type: str = "application/octet-stream",
    description: str | None = None,
    **headers: str,
) -> Any:
    """A multipart/form-data upload (part ``file``, optional part ``description``), as the contract names it."""
    data: dict[str, Any] = {"file": SimpleUploadedFile(name, content, content_type=content_type)}
    if description is not None:
        data["description"] = description
    return client.post(url, data, format="multipart", **headers)


def upload_raw(client: APIClient, url: str, name: str = "model.onnx", content: bytes = CONTENT, **headers: str) -> Any:
    """A raw body upload: the bytes as the body, the file name in Content-Disposition."""
    return client.post(
        url,
        data=content,
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION=f'attachment; filename="{name}"',
        **headers,
    )


def multipart_body(filename: str, content: bytes, description: str | None = None) -> bytes:
    """A multipart body written by hand, so the file name reaches the server exactly as a client typed it.

    (Django's test client would strip directories from the name before sending it.)
    """
    body = b""
    if description is not None:
        body += (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="description"\r\n\r\n{description}\r\n'
        ).encode()
    body += (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="{filename}"\r\n'
        "Content-Type: application/octet-stream\r\n\r\n"
    ).encode()
    return body + content + f"\r\n--{BOUNDARY}--\r\n".encode()


def upload_named(client: APIClient, url: str, filename: str, content: bytes = CONTENT, **headers: str) -> Any:
    """A multipart upload whose file name is sent verbatim (directories, backslashes, control characters)."""
    return client.post(
        url,
        data=multipart_body(filename, content),
        content_type=f"multipart/form-data; boundary={BOUNDARY}",
        **headers,
    )


def uploaded(response: Any) -> dict[str, Any]:
    assert response.status_code == 201, response.content
    return response.json()


def body_of(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def stored_keys(tenant_id: str) -> list[str]:
    return sorted(key for key, _modified in storage.keys(tenant_id))


def stored_bytes(key: str) -> bytes:
    with storage.blobs().open(key, "rb") as handle:
        return handle.read()


def every_stored_name() -> list[str]:
    """Every file name anywhere in the blob store (not only under a tenant's prefix)."""
    blobs = storage.blobs()
    if isinstance(blobs, FileSystemStorage):
        root = Path(blobs.location)
        return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    return sorted(entry.key for entry in blobs.bucket.objects.all())


@contextmanager
def object_store_down() -> Iterator[None]:
    """For the block, the S3 store stops answering: its endpoint becomes a port nothing listens on."""
    blobs = settings.STORAGES["blobs"]
    dead = {**blobs, "OPTIONS": {**blobs["OPTIONS"], "endpoint_url": "http://127.0.0.1:9"}}
    with override_settings(STORAGES={**settings.STORAGES, "blobs": dead}):
        yield


def temporary_files() -> list[str]:
    """Files left in the upload temporary directory (a finished or failed upload leaves none)."""
    folder = settings.FILE_UPLOAD_TEMP_DIR
    return sorted(os.listdir(folder)) if os.path.isdir(folder) else []


def assert_nothing_kept(handle: Any) -> None:
    """No version row, no blob row, no stored file and no temporary file."""
    assert handle.count(Version) == 0
    assert handle.count(Blob) == 0
    assert stored_keys(handle.id) == []
    assert temporary_files() == []


def assert_store_matches_rows(handle: Any) -> None:
    """Every blob row has its file, every stored file has its row, every version has its blob."""
    with tenancy.using_tenant(handle.tenant):
        blob_rows = set(Blob.objects.values_list("sha256", flat=True))
        used = set(Version.objects.values_list("blob_id", flat=True))
    assert stored_keys(handle.id) == sorted(f"{handle.id}/{sha256}" for sha256 in blob_rows)
    assert used == blob_rows


# ------------------------------------------------------------------ pages


def signed_in_client(
    tenant: str, username: str, password: str = PASSWORD, *, enforce_csrf_checks: bool = False
) -> Client:
    """A client whose signed session names ``tenant`` and ``username``, as after signing in in a browser.

    With ``enforce_csrf_checks`` its later POSTs must carry the CSRF token, as a browser's do.
    """
    signer = Client()
    response = signer.post("/signin/", {"tenant": tenant, "username": username, "password": password})
    assert response.status_code == 302, response.content
    if not enforce_csrf_checks:
        return signer
    client = Client(enforce_csrf_checks=True)
    client.cookies = signer.cookies
    return client


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


def analyzed_catalogue(tenant: Any, owner: Any, kind: str, prefix: str, count: int = 5000) -> None:
    """``count`` public items of ``kind`` owned by ``owner``, created in bulk, then fresh planner statistics:
    enough rows for the plans to be those of a real catalogue."""
    with tenancy.using_tenant(tenant) as active:
        with generation.changing():
            Item.objects.bulk_create(
                Item(kind=kind, name=f"{prefix}-{n:05d}", owner=owner, visibility="public") for n in range(count)
            )
        with connections[active.alias].cursor() as cursor:
            cursor.execute("ANALYZE")


def filtered_items(acme: Any, kind: str, document: Any) -> Any:
    """The items of ``kind`` that the list's own filter translation of ``document`` selects for the reader
    (olive), unordered: a queryset to EXPLAIN or read (call it inside the tenant)."""
    spec = item_list_spec(kinds.get(kind), acme.user("olive"))
    condition = FilterTranslator(spec.fields, spec.prefixed).translate(document)
    return Item.objects.filter(condition, kind=kind).order_by()


@contextmanager
def index_plans(alias: str) -> Iterator[None]:
    """Plans made inside price sequential scans out on PostgreSQL: a test catalogue of a few thousand rows
    costs less to scan than to look up, and what a plan test checks is which index serves the conditions
    (which a real catalogue then chooses). SQLite plans as it would anyway."""
    if connections[alias].vendor != "postgresql":
        yield
        return
    with connections[alias].cursor() as cursor:
        cursor.execute("SET enable_seqscan = off")
        try:
            yield
        finally:
            cursor.execute("RESET enable_seqscan")
