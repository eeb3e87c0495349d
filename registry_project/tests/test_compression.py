"""Answers are gzip-compressed when the client accepts it (``server/compression.py``), files never.

The sizes and the CPU time of compressing a 100-item list page are printed (``-s``), not asserted.
"""

from __future__ import annotations

import gzip
import json
import time

from django.http import HttpResponse
from django.middleware.gzip import GZipMiddleware

from registry_project.server.compression import MIN_COMPRESSED_SIZE, CompressionMiddleware
from testing.helpers import body_of, create_model, signed_in, upload, uploaded

GZIP = {"HTTP_ACCEPT_ENCODING": "gzip, deflate, br"}
CONTENT = bytes(range(256)) * 64  # 16 KiB that gzip would shrink


def models(count: int) -> list[dict[str, object]]:
    return [
        {
            "name": f"model-{n:03d}",
            "visibility": "public",
            "tags": ["vision", f"tag-{n % 7}"],
            "metadata": [{"name": "accuracy", "value": n / 100}, {"name": "framework", "value": "onnx"}],
        }
        for n in range(count)
    ]


def test_a_100_item_list_page_comes_gzipped_and_decodes_to_the_same_json(owner):
    assert owner.post("/v1/models", models(100), format="json").status_code == 201

    plain = owner.get("/v1/models?limit=100")
    compressed = owner.get("/v1/models?limit=100", **GZIP)

    assert "Content-Encoding" not in plain
    assert compressed["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in compressed["Vary"]
    assert json.loads(gzip.decompress(compressed.content)) == plain.json()
    assert len(plain.json()["docs"]) == 100
    print(f"\n100-item list page: {len(plain.content):,} bytes raw, {len(compressed.content):,} gzipped")


def test_small_answers_are_not_compressed(owner):
    response = owner.get("/v1/version", **GZIP)

    assert len(response.content) < MIN_COMPRESSED_SIZE
    assert "Content-Encoding" not in response


def test_a_version_download_is_byte_identical_and_not_encoded(owner):
    model = create_model(owner, "churn")
    uploaded(upload(owner, f"/v1/models/{model['_id']}/versions", "model.onnx", CONTENT))

    response = owner.get(f"/v1/models/{model['_id']}/versions/1", **GZIP)

    assert response.status_code == 200
    assert "Content-Encoding" not in response
    assert response["Content-Length"] == str(len(CONTENT))
    assert body_of(response) == CONTENT


def test_a_range_request_is_byte_identical_and_not_encoded(owner):
    model = create_model(owner, "churn")
    uploaded(upload(owner, f"/v1/models/{model['_id']}/versions", "model.onnx", CONTENT))

    response = owner.get(f"/v1/models/{model['_id']}/versions/1", HTTP_RANGE="bytes=100-4195", **GZIP)

    assert response.status_code == 206
    assert "Content-Encoding" not in response
    assert response["Content-Range"] == f"bytes 100-4195/{len(CONTENT)}"
    assert body_of(response) == CONTENT[100:4196]


def test_the_list_page_html_comes_gzipped(acme, owner):
    assert owner.post("/v1/models", models(20), format="json").status_code == 201
    browser = signed_in(acme.tenant, "reggie")

    plain = browser.get("/models/")
    compressed = browser.get("/models/", **GZIP)

    assert compressed["Content-Encoding"] == "gzip"
    assert gzip.decompress(compressed.content).count(b"model-0") == plain.content.count(b"model-0") > 0


def test_compressing_a_100_item_list_page_costs_little_cpu(owner, rf):
    assert owner.post("/v1/models", models(100), format="json").status_code == 201
    body = owner.get("/v1/models?limit=100").content
    middleware = CompressionMiddleware(lambda request: None)  # type: ignore[arg-type, return-value]
    rounds = 50
    started = time.process_time()
    for _ in range(rounds):
        answer = middleware.process_response(rf.get("/", **GZIP), HttpResponse(body, content_type="application/json"))
    per_response_ms = (time.process_time() - started) / rounds * 1000
    assert answer["Content-Encoding"] == "gzip"
    assert issubclass(CompressionMiddleware, GZipMiddleware)
    print(f"\ngzip of a {len(body):,}-byte page: {len(answer.content):,} bytes, {per_response_ms:.2f} ms CPU each")
