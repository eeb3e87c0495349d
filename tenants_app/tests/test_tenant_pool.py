"""The PostgreSQL test run's pool of tenant databases (``testing/tenant_pool.py``): a database a test used and
gave back is, when the next test takes it, indistinguishable from a fresh clone of the template."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.db import connections

from tenants_app import databases
from testing import tenant_pool
from testing.helpers import create_model, upload
from testing.postgres import ON_POSTGRES

pytestmark = pytest.mark.skipif(
    not ON_POSTGRES, reason="the pool is PostgreSQL's: SQLite copies the template's file, a few milliseconds"
)


def fingerprint(database: str) -> dict[str, Any]:
    """Everything of ``database`` a test or the planner could see: every table's rows (sorted), every
    sequence's state, the planner statistics and figures of every relation, its size on disk, and the schema."""
    connection = databases._postgres_connect(database)
    try:
        with connection.cursor() as cursor:
            cursor.execute(tenant_pool.TABLES)
            tables = [name for _, name, _, _ in cursor.fetchall()]
            rows = {}
            for name in tables:
                cursor.execute(f"SELECT t::text FROM {name} t ORDER BY 1")
                rows[name] = [row[0] for row in cursor.fetchall()]
            cursor.execute(tenant_pool.SEQUENCES)
            listed = cursor.fetchall()
            states = tenant_pool._sequence_states(cursor, listed)
            sequences = {name: states[oid] for oid, name, _ in listed}
            cursor.execute(f"SELECT count(*) FROM pg_statistic WHERE starelid IN ({tenant_pool._USER_RELATIONS})")
            statistics = cursor.fetchone()[0]
            cursor.execute("SELECT count(*) FROM pg_statistic_ext_data")
            extended_statistics = cursor.fetchone()[0]
            cursor.execute(
                "SELECT c.relname, size, pages, tuples, visible FROM (" + tenant_pool.RELATIONS + ") AS r"
                "(oid, size, pages, tuples, visible) JOIN pg_class c ON c.oid = r.oid ORDER BY 1"
            )
            relations = cursor.fetchall()
            cursor.execute(tenant_pool.SCHEMA_DIGEST)
            schema = cursor.fetchone()[0]
    finally:
        connection.close()
    return {
        "rows": rows,
        "sequences": sequences,
        "statistics": statistics,
        "extended_statistics": extended_statistics,
        "relations": relations,
        "schema": schema,
    }


def differences(one: dict[str, Any], other: dict[str, Any]) -> list[str]:
    found = [f"rows of {name}" for name in one["rows"] if one["rows"][name] != other["rows"].get(name)]
    found += [f"sequence {name}" for name in one["sequences"] if one["sequences"][name] != other["sequences"].get(name)]
    relations, others = ({row[0]: row[1:] for row in side["relations"]} for side in (one, other))
    found += [
        f"relation {name}: {relations[name]} != {others.get(name)}"
        for name in relations
        if relations[name] != others.get(name)
    ]
    found += [f"relation {name} missing" for name in others.keys() - relations.keys()]
    found += [key for key in ("statistics", "extended_statistics", "schema") if one[key] != other[key]]
    return found


@pytest.fixture
def pool() -> tenant_pool.TenantPool:
    """This worker's pool, emptied first (so the next spare taken is the one a test gives back)."""
    installed = tenant_pool.installed()
    assert installed is not None
    installed.drop_all()
    return installed


@pytest.fixture
def databases_made() -> Iterator[list[str]]:
    """Databases a test makes outside any tenant: dropped after it."""
    made: list[str] = []
    yield made
    for name in made:
        databases.drop(name)


def give_back(pool: tenant_pool.TenantPool, handle: Any) -> None:
    """What the tests' teardown does with a tenant: its catalog row goes, its database back to the pool."""
    spares, refused = len(pool.spares), pool.refused
    handle.tenant.delete()
    pool.give_back(handle.tenant.database)
    assert (len(pool.spares), pool.refused) == (spares + 1, refused), "the reset refused the database"


def take(pool: tenant_pool.TenantPool, name: str, made: list[str]) -> None:
    """Take a database as tenant creation does (``databases.create_from_template``): the pool's newest spare."""
    reused = pool.reused
    databases.create_from_template(name)
    made.append(name)
    assert pool.reused == reused + 1


def fresh_clone(pool: tenant_pool.TenantPool, name: str, made: list[str]) -> dict[str, Any]:
    pool.real_create(name)
    made.append(name)
    return fingerprint(name)


def test_a_thoroughly_used_database_is_given_back_as_a_fresh_clone_of_the_template(
    pool, databases_made, acme, owner, reader, admin
):
    # Everything a tenant's life writes, through the API: users, items with tags, metadata and shares,
    # versions with files, aliases, events, a webhook, an API key, a settings change, a deletion...
    assert admin.post("/v1/users", {"username": "oscar", "password": "Secret-pass-1234", "email": "o@x.org"},
                      format="json").status_code == 201  # fmt: skip
    model = create_model(owner, "churn", tags=["prod", "v1"], metadata=[{"name": "accuracy", "value": 0.9}])
    assert owner.put(f"/v1/models/{model['_id']}", {"users": {"add": ["olive"]}}, format="json").status_code == 200
    for number, content in enumerate((b"first weights\n" * 100, b"second weights\n" * 200)):
        response = upload(owner, f"/v1/models/{model['_id']}/versions", f"model-{number}.onnx", content)
        assert response.status_code == 201, response.content
    doomed = create_model(owner, "doomed", tags=["old"])
    assert owner.delete(f"/v1/models/{doomed['_id']}").status_code in (200, 204)
    assert reader.get(f"/v1/models/{model['_id']}").status_code == 200
    webhook = {"url": "https://hooks.example.org/registry", "events": ["item.created"]}
    assert admin.post("/v1/webhooks", webhook, format="json").status_code == 201
    assert owner.post("/v1/keys", {"name": "ci", "scopes": ["read"]}, format="json").status_code == 201
    assert admin.put("/v1/settings", {"refuse_dangerous_uploads": True}, format="json").status_code == 200
    # ...and the planner's statistics and figures of every table, empty ones too.
    alias = databases.register(acme.tenant.database)
    with connections[alias].cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    databases.forget(acme.tenant.database)
    assert fingerprint(acme.tenant.database)["statistics"] > 0
    template = fresh_clone(pool, "pool-test-fresh", databases_made)

    give_back(pool, acme)
    take(pool, "pool-test-taken", databases_made)  # as another tenant's database

    assert differences(fingerprint("pool-test-taken"), template) == []


def test_the_fingerprint_sees_a_single_row_the_reset_would_have_missed(pool, databases_made, acme):
    template = fresh_clone(pool, "pool-test-fresh", databases_made)
    give_back(pool, acme)
    take(pool, "pool-test-taken", databases_made)
    alias = databases.register("pool-test-taken")
    with connections[alias].cursor() as cursor:
        cursor.execute("INSERT INTO django_content_type (app_label, model) VALUES ('left', 'behind')")
    databases.forget("pool-test-taken")

    assert differences(fingerprint("pool-test-taken"), template) == [
        "rows of public.django_content_type",
        "sequence public.django_content_type_id_seq",
    ]


def test_a_live_servers_session_on_the_database_does_not_stop_its_give_back(pool, databases_made, live_url, acme):
    address = urlsplit(live_url)
    client = http.client.HTTPConnection(address.hostname or "", address.port)
    client.request("GET", "/v1/settings", headers={"Authorization": acme.token("reggie")})
    assert client.getresponse().status == 200
    client.close()
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", [acme.tenant.database])
        assert cursor.fetchone()[0] >= 1  # the live server's thread keeps its session (CONN_MAX_AGE)
    template = fresh_clone(pool, "pool-test-fresh", databases_made)

    give_back(pool, acme)
    take(pool, "pool-test-taken", databases_made)

    assert differences(fingerprint("pool-test-taken"), template) == []


def test_a_database_whose_schema_changed_is_dropped_not_kept(pool, acme):
    alias = databases.register(acme.tenant.database)
    with connections[alias].cursor() as cursor:
        cursor.execute("CREATE TABLE left_behind (id int)")
    databases.forget(acme.tenant.database)
    refused = pool.refused

    acme.tenant.delete()
    pool.give_back(acme.tenant.database)

    assert (pool.spares, pool.refused) == ([], refused + 1)
    assert not databases.exists(acme.tenant.database)
