"""``push(direct=True)`` / ``mreg push --direct`` against a registry that keeps its files in S3 (the real
SeaweedFS of the test scripts) with direct uploads on: the parts go straight to the bucket."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator

import httpx
import pytest
from client.tests.conftest import API_TOKEN, PASSWORD, Server, TenantUsers, random_file, run_json
from client.tests.test_cli import MREG
from testing.seaweed import running_s3_server
from testing.servers import free_port, made_run, registry_environment

from registry_client import Registry

MIB = 1024 * 1024


@pytest.fixture(scope="module")
def s3_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("direct-registry")
    port = free_port()
    with running_s3_server() as s3:
        environment = registry_environment(
            data / "var",
            port,
            API_TOKEN=API_TOKEN,
            STORAGE="s3",
            AWS_STORAGE_BUCKET_NAME=s3.bucket,
            AWS_S3_ENDPOINT_URL=s3.endpoint,
            AWS_ACCESS_KEY_ID=s3.access_key,
            AWS_SECRET_ACCESS_KEY=s3.secret_key,
            S3_DIRECT_UPLOADS="true",
            DIRECT_UPLOAD_PART_SIZE="5M",
        )
        with made_run(environment, data / "gunicorn.log", ports=[port]):
            yield Server(url=f"http://127.0.0.1:{port}", port=port, api_token=API_TOKEN)


@pytest.fixture(scope="module")
def grace(s3_registry: Server) -> str:
    body = {"_id": "direct", "email": "ops@example.org", "admin_username": "ada", "admin_password": PASSWORD}
    answer = httpx.post(s3_registry.url + "/v1/tenants", json=body, headers={"Authorization": API_TOKEN})
    assert answer.status_code == 201, answer.text
    users = TenantUsers(s3_registry, "direct")
    users.add_user("grace")
    return users.key("grace", ["write"])


def test_a_direct_push_sends_the_parts_to_the_bucket_and_the_registry_checks_them(s3_registry, grace, tmp_path):
    model = random_file(tmp_path / "llm.safetensors", 12 * MIB + 321)  # three parts of 5 MiB

    with Registry(s3_registry.url, key=grace, progress=False) as reg:
        version = reg.push("llm", model, metadata={"loss": 0.2}, direct=True)
        pulled = reg.pull("grace/llm@1", tmp_path / "copy.bin")

    assert version.sha256 == hashlib.sha256(model.read_bytes()).hexdigest()
    assert version.metadata == {"loss": 0.2}
    assert pulled.read_bytes() == model.read_bytes()


def test_mreg_push_direct_prints_the_version(s3_registry, grace, tmp_path, profile_file, monkeypatch):
    model = random_file(tmp_path / "adapter.bin", 6 * MIB)
    monkeypatch.setenv("REGISTRY_URL", s3_registry.url)
    monkeypatch.setenv("REGISTRY_KEY", grace)

    document = run_json([MREG, "--json", "push", "adapter", str(model), "--direct"])

    assert document["sha256"] == hashlib.sha256(model.read_bytes()).hexdigest()
