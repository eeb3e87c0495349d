"""The library as a training script and a deployment use it, against the real registry."""

from __future__ import annotations

import hashlib
import time

import pytest
from client.tests.conftest import PASSWORD, random_file

from registry_client import Conflict, Forbidden, NotFound, Registry, Unauthorized
from registry_client.errors import ConfigurationError, InvalidRequest


@pytest.fixture
def grace(registry_server, grace_key, profile_file):
    with Registry(registry_server.url, key=grace_key, progress=False) as reg:
        yield reg


def test_a_training_script_registers_a_file_with_metrics_in_one_call(grace, tmp_path):
    model = random_file(tmp_path / "model.onnx", 300_000)

    version = grace.push("resnet50", model, metadata={"accuracy": 0.93}, tags=["vision"], alias="staging")

    item = grace.get("grace/resnet50")
    assert version.ordinal == 1
    assert version.sha256 == hashlib.sha256(model.read_bytes()).hexdigest()
    assert version.metadata == {"accuracy": 0.93}
    assert item.tags == ("vision",)
    assert item.aliases == {"staging": 1}


def test_a_deployment_pulls_what_production_points_at_and_the_bytes_are_verified(grace, tmp_path):
    first = random_file(tmp_path / "model.onnx", 100_000)
    grace.push("resnet50", first)
    second = random_file(tmp_path / "model.onnx", 120_000)
    grace.push("resnet50", second, alias="production")

    pulled = grace.pull("grace/resnet50@production", f"{tmp_path / 'deploy'}/")

    assert pulled.name.startswith("model-")
    assert pulled.suffix == ".onnx"
    assert pulled.read_bytes() == second.read_bytes()
    assert not list((tmp_path / "deploy").glob(".*partial"))


def test_pushing_the_same_bytes_again_uploads_nothing_and_returns_the_existing_version(grace, tmp_path):
    model = random_file(tmp_path / "model.onnx", 50_000)
    first = grace.push("resnet50", model)

    again = grace.push("resnet50", model, alias="production")

    assert again.ordinal == first.ordinal
    item = grace.get("resnet50")
    assert len(item.versions) == 1
    assert item.aliases == {"production": 1}


def test_a_version_pushed_with_a_label_is_pulled_by_it(grace, tmp_path):
    grace.push("resnet50", random_file(tmp_path / "a.onnx", 10_000), label="v1")
    labelled = grace.push("resnet50", random_file(tmp_path / "b.onnx", 20_000), label="v2.0.0-rc1")

    by_label = grace.pull("resnet50@v2.0.0-rc1", tmp_path / "rc.onnx")
    by_short_label = grace.version("resnet50@v1")  # a valid alias name: asked as the alias, then as a label

    assert (labelled.ordinal, labelled.label) == (2, "v2.0.0-rc1")
    assert by_label.read_bytes() == (tmp_path / "b.onnx").read_bytes()
    assert (by_short_label.ordinal, by_short_label.label) == (1, "v1")
    with pytest.raises(Conflict):
        grace.push("resnet50", random_file(tmp_path / "c.onnx", 30_000), label="V2.0.0-RC1")


def test_pull_of_latest_takes_the_highest_ordinal_and_keeps_a_file_already_there(grace, tmp_path):
    grace.push("resnet50", random_file(tmp_path / "a.bin", 10_000))
    grace.push("resnet50", random_file(tmp_path / "b.bin", 20_000))

    pulled = grace.pull("resnet50", tmp_path / "out.bin")
    before = pulled.stat().st_mtime_ns
    again = grace.pull("resnet50@latest", tmp_path / "out.bin")

    assert pulled.read_bytes() == (tmp_path / "b.bin").read_bytes()
    assert again.stat().st_mtime_ns == before  # same bytes: not downloaded again


def test_search_takes_the_filter_language_and_walks_every_page_lazily(grace, tenant, grace_key):
    bodies = [{"name": f"net-{index:03}", "tags": ["bulk"] if index % 2 else []} for index in range(230)]
    tenant.call("POST", "/v1/models", f"Bearer {grace_key}", json=bodies)

    found = grace.search({"tags": "bulk"})
    first = next(found)

    assert first.name.startswith("net-")
    assert 1 + sum(1 for _ in found) == 115  # two pages of 100 and one of 15, fetched as needed
    assert len(list(grace.search({"tags": "bulk"}, limit=7))) == 7


def test_errors_are_typed_and_carry_the_servers_details(registry_server, tenant, grace, tmp_path):
    grace.push("resnet50", random_file(tmp_path / "model.onnx", 1_000))
    reader_key = tenant.key("olive", ["read"])
    with Registry(registry_server.url, key=reader_key, progress=False) as olive:
        with pytest.raises(NotFound):
            olive.get("grace/resnet50")  # private: as if it did not exist
        with pytest.raises(Forbidden) as refused:
            olive.push("mine", tmp_path / "model.onnx")
    assert "write" in refused.value.details
    with pytest.raises(Conflict):
        grace.transport.request("POST", "/v1/models", json={"name": "resnet50"})
    with pytest.raises(InvalidRequest) as invalid:
        grace.set_alias("resnet50", "Not An Alias", 1)
    assert invalid.value.status == 400
    with (
        Registry(registry_server.url, key=reader_key[:-4] + "AAAA", progress=False) as forged,
        pytest.raises(Unauthorized),
    ):
        forged.whoami()


def test_a_token_that_expires_mid_job_is_renewed_without_the_caller_noticing(registry_server, tenant, tmp_path):
    with Registry(registry_server.url, tenant=tenant.id, username="grace", password=PASSWORD, progress=False) as reg:
        reg.push("resnet50", random_file(tmp_path / "model.onnx", 1_000))
        time.sleep(4)  # the test server's tokens live 3 s

        assert reg.get("resnet50").name == "resnet50"


def test_settings_come_from_arguments_then_environment_then_profile(
    registry_server, grace_key, profile_file, monkeypatch
):
    with pytest.raises(ConfigurationError):
        Registry()
    monkeypatch.setenv("REGISTRY_URL", registry_server.url)
    monkeypatch.setenv("REGISTRY_KEY", grace_key)

    with Registry(progress=False) as reg:
        assert reg.whoami()["user"]["username"] == "grace"
