"""docker-compose.yml, the Dockerfile and .env.example, checked statically (no Docker engine runs here)."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings

ROOT = Path(settings.BASE_DIR)
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
CONTRACT_VARIABLES = {
    "HTTP_PORT", "HTTPS_PORT", "PROTOCOL", "API_TOKEN", "JWT_SECRET", "JWT_EXPIRATIONTIME",
    "JWT_RENEW_EXPIRATIONTIME", "DATABASE", "UPLOAD_PATH", "STORAGE", "MAX_UPLOAD_SIZE", "DEFAULT_TENANT",
    "DEFAULT_TENANT_DATABASE", "DEFAULT_TENANT_ADMIN_USERNAME", "DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD", "LOG",
}  # fmt: skip


def test_the_topology_has_the_registry_postgresql_and_an_s3_store_with_health_checks_and_volumes():
    services = COMPOSE["services"]

    assert set(services) == {"registry", "worker", "postgres", "s3"}
    for name, service in services.items():
        assert "healthcheck" in service, name
        assert service.get("volumes"), name
    assert services["registry"]["depends_on"] == {
        "postgres": {"condition": "service_healthy"},
        "s3": {"condition": "service_healthy"},
    }
    assert set(COMPOSE["volumes"]) == {"registry-data", "postgres-data", "s3-data"}


def test_the_webhook_worker_runs_from_the_registrys_image_with_its_database():
    worker = COMPOSE["services"]["worker"]
    registry = COMPOSE["services"]["registry"]

    assert worker["image"] == registry["image"]
    assert worker["command"][:3] == ["python", "manage.py", "deliver_webhooks"]
    assert worker["environment"]["DATABASE"] == registry["environment"]["DATABASE"]
    assert "ports" not in worker


def test_the_registry_talks_to_postgresql_and_s3_and_publishes_on_loopback_only():
    registry = COMPOSE["services"]["registry"]
    environment = registry["environment"]

    assert environment["DATABASE"].startswith("postgres://registry:")
    assert "@postgres:5432/" in environment["DATABASE"]
    assert environment["STORAGE"] == "s3"
    assert environment["AWS_S3_ENDPOINT_URL"] == "http://s3:8333"
    assert all(port.startswith("127.0.0.1:") for port in registry["ports"])
    assert "/readyz" in " ".join(registry["healthcheck"]["test"])


def test_env_example_names_every_variable_of_the_contract():
    names = {
        line.split("=", 1)[0].lstrip("# ").strip()
        for line in (ROOT / ".env.example").read_text().splitlines()
        if "=" in line
    }

    assert names >= CONTRACT_VARIABLES


def test_the_readme_configuration_table_names_every_variable_of_the_contract():
    readme = (ROOT / "README.md").read_text()

    missing = [name for name in CONTRACT_VARIABLES if f"`{name}`" not in readme]
    assert missing == []


def test_the_image_runs_as_an_unprivileged_user_with_gunicorn():
    dockerfile = (ROOT / "Dockerfile").read_text()

    assert re.search(r"^USER (?!root)\w+", dockerfile, re.MULTILINE)
    assert "gunicorn -c gunicorn.conf.py" in dockerfile
    assert "manage.py bootstrap" in dockerfile


def test_compose_files_are_valid_for_the_docker_cli(tmp_path):
    docker = shutil.which("docker")
    if docker is None or subprocess.run([docker, "compose", "version"], capture_output=True).returncode != 0:  # noqa: S603
        pytest.skip("the docker compose plugin is not installed here; the YAML checks above still ran")
    env = tmp_path / ".env"
    env.write_text((ROOT / ".env.example").read_text())
    result = subprocess.run(  # noqa: S603
        [docker, "compose", "-f", str(ROOT / "docker-compose.yml"), "--env-file", str(env), "config", "--quiet"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
