"""The client is tested against the real registry: gunicorn on a free loopback port, as `make run` serves it
(``manage.py bootstrap``, then ``gunicorn -c gunicorn.conf.py``), on its embedded defaults in a fresh data
directory. One server serves the whole session; every test gets its own tenant, so tests share nothing."""

from __future__ import annotations

import itertools
import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from testing.faults import FaultyProxy
from testing.servers import free_port, made_run, registry_environment

PASSWORD = "plum orbit lantern 42"
API_TOKEN = "client-tests-api-token-0123456789"
_tenants = itertools.count(1)


@dataclass(frozen=True)
class Server:
    url: str
    port: int
    api_token: str


@pytest.fixture(scope="session")
def registry_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    data = tmp_path_factory.mktemp("client-registry")
    port = free_port()
    # Short-lived tokens, so that a job outliving its token is an everyday case here.
    environment = registry_environment(
        data / "var", port, API_TOKEN=API_TOKEN, JWT_EXPIRATIONTIME="3", WEB_CONCURRENCY="2"
    )
    for name in ("JWT_SECRET", "SECRET_KEY"):
        environment.pop(name, None)
    with made_run(environment, data / "gunicorn.log", ports=[port]):
        yield Server(url=f"http://127.0.0.1:{port}", port=port, api_token=API_TOKEN)


@dataclass
class TenantUsers:
    """A tenant of the test server, with ada (its admin) and grace (a regular user) and their keys."""

    server: Server
    id: str

    def call(self, method: str, path: str, authorization: str, **arguments: Any) -> Any:
        response = httpx.request(method, self.server.url + path, headers={"Authorization": authorization}, **arguments)
        assert response.status_code < 400, response.text
        return response.json()

    def token(self, username: str) -> str:
        answer = httpx.post(
            self.server.url + "/v1/login", json={"username": username, "password": PASSWORD, "tenant": self.id}
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["token"])

    def add_user(self, username: str, role: str = "regular") -> None:
        body = {"username": username, "password": PASSWORD, "email": f"{username}@example.org", "role": role}
        self.call("POST", "/v1/users", self.token("ada"), json=body)

    def key(self, username: str, scopes: list[str], name: str = "tests") -> str:
        answer = self.call("POST", "/v1/keys", self.token(username), json={"name": name, "scopes": scopes})
        return str(answer["key"])


@pytest.fixture
def tenant(registry_server: Server) -> TenantUsers:
    tenant_id = f"client-{next(_tenants)}"
    body = {"_id": tenant_id, "email": "ops@example.org", "admin_username": "ada", "admin_password": PASSWORD}
    answer = httpx.post(registry_server.url + "/v1/tenants", json=body, headers={"Authorization": API_TOKEN})
    assert answer.status_code == 201, answer.text
    users = TenantUsers(registry_server, tenant_id)
    users.add_user("grace")
    users.add_user("olive")
    return users


@pytest.fixture
def grace_key(tenant: TenantUsers) -> str:
    """A write key of grace, who owns what the tests push."""
    return tenant.key("grace", ["write"])


@pytest.fixture
def proxy(registry_server: Server) -> Iterator[FaultyProxy]:
    faulty = FaultyProxy(registry_server.port)
    yield faulty
    faulty.close()


@pytest.fixture(autouse=True)
def upload_memory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test remembers its unfinished uploads in its own cache directory, never the user's."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path / "cache" / "model-registry" / "uploads.json"


@pytest.fixture
def profile_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty config directory and no REGISTRY_* variables: each test starts as a new machine would."""
    path = tmp_path / "config" / "config.ini"
    for name in ("REGISTRY_URL", "REGISTRY_TENANT", "REGISTRY_KEY", "REGISTRY_PROFILE", "REGISTRY_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("REGISTRY_CONFIG", str(path))
    return path


def random_file(path: Path, size: int) -> Path:
    import os

    path.write_bytes(os.urandom(size))
    return path


def run_json(command: list[str], **arguments: Any) -> Any:
    result = subprocess.run(command, capture_output=True, text=True, check=True, **arguments)  # noqa: S603
    return json.loads(result.stdout)
