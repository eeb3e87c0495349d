"""Two registry servers on one PostgreSQL and one storage folder (how an installation outgrows one machine,
docs/operations.md "Scaling out") are one registry: a change made through one is seen at once through the
other, cached lists and documents included, and so are a tenant's deletion and a password change.

Each server is started as `make run` starts it (``bootstrap``, then gunicorn with ``gunicorn.conf.py``) on
its own port, with the PostgreSQL run's server (a catalog of this module's own) and one DATA_DIR.
"""

from __future__ import annotations

import http.client
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from testing.helpers import PASSWORD
from testing.postgres import only_on_postgres, own_names, run_server
from testing.servers import free_port, made_run, registry_environment

pytestmark = only_on_postgres
NEW_PASSWORD = "another horse battery staple"


@dataclass(frozen=True)
class Server:
    port: int

    def call(self, method: str, path: str, authorization: str | None = None, body: Any = None) -> tuple[int, Any]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        headers = {"Content-Type": "application/json"}
        if authorization:
            headers["Authorization"] = authorization
        try:
            connection.request(method, path, body=None if body is None else json.dumps(body), headers=headers)
            response = connection.getresponse()
            return response.status, json.loads(response.read() or b"null")
        finally:
            connection.close()

    def login(self, tenant: str, username: str, password: str, **extra: str) -> tuple[int, Any]:
        return self.call(
            "POST", "/v1/login", body={"tenant": tenant, "username": username, "password": password, **extra}
        )

    def token(self, tenant: str, username: str, password: str = PASSWORD) -> str:
        status, answer = self.login(tenant, username, password)
        assert status == 200, answer
        return str(answer["token"])  # already "JWT <jwt>"


@pytest.fixture(scope="module")
def two_servers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, Server, str]]:
    """Servers ``one`` and ``two``, and the prefix of this module's databases (tenant ids start with it)."""
    work = tmp_path_factory.mktemp("two-servers")
    with own_names() as prefix:
        shared = {
            "DATABASE": run_server().url(f"{prefix}_catalog"),
            "DEFAULT_TENANT_DATABASE": f"{prefix}-default",
        }
        ports = free_port(), free_port()
        environments = [registry_environment(work / "data", port, **shared) for port in ports]
        with (
            made_run(environments[0], work / "one.log", ports=[ports[0]]),
            made_run(environments[1], work / "two.log", ports=[ports[1]]),
        ):
            yield Server(ports[0]), Server(ports[1]), prefix


@pytest.fixture
def tenant(two_servers: tuple[Server, Server, str]) -> Iterator[str]:
    """A tenant made through server one, with its admin ada; deleted again at the end if still there."""
    one, _two, prefix = two_servers
    tenant_id = f"{prefix}-{os.urandom(3).hex()}"
    body = {"_id": tenant_id, "email": "ops@example.org", "admin_username": "ada", "admin_password": PASSWORD}
    status, answer = one.call("POST", "/v1/tenants", os.environ["API_TOKEN"], body)
    assert status == 201, answer
    yield tenant_id
    one.call("DELETE", f"/v1/tenants/{tenant_id}", os.environ["API_TOKEN"])


def names(answer: dict[str, Any]) -> list[str]:
    return sorted(document["name"] for document in answer["docs"])


def test_an_item_created_and_edited_through_one_server_is_listed_at_once_by_the_other(two_servers, tenant):
    one, two, _prefix = two_servers
    through_one, through_two = one.token(tenant, "ada"), two.token(tenant, "ada")
    assert names(two.call("GET", "/v1/models", through_two)[1]) == []  # server two has this list cached now

    status, churn = one.call("POST", "/v1/models", through_one, {"name": "churn"})
    assert status == 201, churn
    assert names(two.call("GET", "/v1/models", through_two)[1]) == ["churn"]
    assert two.call("GET", f"/v1/models/{churn['_id']}", through_two)[1]["description"] in ("", None)

    status, answer = one.call("PUT", f"/v1/models/{churn['_id']}", through_one, {"description": "calibrated"})
    assert status == 200, answer
    assert two.call("GET", f"/v1/models/{churn['_id']}", through_two)[1]["description"] == "calibrated"
    listed = two.call("GET", "/v1/models?description=calibrated", through_two)[1]
    assert names(listed) == ["churn"]


def test_a_tenant_deleted_through_one_server_is_gone_at_once_on_the_other(two_servers, tenant):
    one, two, _prefix = two_servers
    admin_on_two = two.token(tenant, "ada")
    assert two.call("GET", "/v1/models", admin_on_two)[0] == 200

    status, answer = one.call("DELETE", f"/v1/tenants/{tenant}", os.environ["API_TOKEN"])

    assert status == 200, answer
    assert two.call("GET", f"/v1/tenants/{tenant}", os.environ["API_TOKEN"])[0] == 404
    assert two.call("GET", "/v1/models", admin_on_two)[0] == 401
    assert two.login(tenant, "ada", PASSWORD)[0] == 401


def test_a_password_changed_through_one_server_ends_the_old_token_and_password_on_the_other(two_servers, tenant):
    one, two, _prefix = two_servers
    old_token_on_two = two.token(tenant, "ada")

    status, answer = one.login(tenant, "ada", PASSWORD, new_password=NEW_PASSWORD)

    assert status == 200, answer
    assert two.call("GET", "/v1/models", old_token_on_two)[0] == 401
    assert two.login(tenant, "ada", PASSWORD)[0] == 401
    assert two.call("GET", "/v1/models", two.token(tenant, "ada", NEW_PASSWORD))[0] == 200
