"""One database per tenant (architecture "Multitenancy"): routing, isolation, creation and the commands."""

from __future__ import annotations

import io
from typing import Any

import psycopg
import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connections
from django.test import override_settings
from rest_framework.test import APIClient

from tenants_app import databases, services, tenancy
from tenants_app.audit import Caller
from tenants_app.context import NoTenantSelected, current_tenant
from tenants_app.models import AuditEntry, Tenant, User
from testing import tenant_pool
from testing.helpers import PASSWORD
from testing.postgres import only_on_postgres


def tables_of(tenant: Tenant) -> set[str]:
    connection = connections[databases.register(tenant.database)]
    with connection.cursor() as cursor:
        return set(connection.introspection.table_names(cursor))


# ------------------------------------------------------------------ routing


def test_tenant_scoped_queries_fail_loudly_without_a_tenant(acme):
    assert current_tenant() is None

    with pytest.raises(NoTenantSelected):
        User.objects.count()
    with pytest.raises(NoTenantSelected):
        AuditEntry.objects.exists()


def test_tenant_scoped_writes_fail_loudly_without_a_tenant(acme):
    with pytest.raises(NoTenantSelected):
        User.objects.create_user("stray", PASSWORD, email="stray@example.org")

    assert acme.count(User, username="stray") == 0


def test_catalog_queries_need_no_tenant(acme, globex):
    assert current_tenant() is None
    assert set(Tenant.objects.values_list("id", flat=True)) == {"acme", "globex"}


def test_the_tenant_is_forgotten_when_a_using_tenant_block_ends(acme):
    with tenancy.using_tenant(acme.tenant) as active:
        assert current_tenant() == active
        assert User.objects.count() == 3

    assert current_tenant() is None
    with pytest.raises(NoTenantSelected):
        User.objects.count()


def test_a_request_does_not_leave_its_tenant_behind(acme, admin):
    assert admin.get("/v1/users").status_code == 200

    assert current_tenant() is None
    with pytest.raises(NoTenantSelected):
        User.objects.count()


# ------------------------------------------------------------------ isolation


def test_acme_users_are_not_visible_in_globex(acme, globex, other_tenant):
    with tenancy.using_tenant(globex.tenant):
        assert list(User.objects.values_list("username", flat=True)) == ["gus"]
    with tenancy.using_tenant(acme.tenant):
        assert set(User.objects.values_list("username", flat=True)) == {"ada", "reggie", "olive"}

    listed = other_tenant.get("/v1/users").json()
    assert [user["username"] for user in listed["docs"]] == ["gus"]
    assert other_tenant.get("/v1/users/reggie").status_code == 404
    assert other_tenant.get(f"/v1/users/{acme.user('reggie').id}").status_code == 404


def test_a_user_created_in_acme_exists_only_in_acme(acme, globex, admin):
    response = admin.post(
        "/v1/users", {"username": "carol", "password": PASSWORD, "email": "carol@example.org"}, format="json"
    )

    assert response.status_code == 201, response.content
    assert acme.count(User, username="carol") == 1
    assert globex.count(User, username="carol") == 0


def test_acme_audit_log_is_not_visible_in_globex(acme, globex, admin, other_tenant):
    admin.post("/v1/users", {"username": "carol", "password": PASSWORD, "email": "carol@example.org"}, format="json")
    assert acme.count(AuditEntry, actor="ada", target="carol") == 1

    assert globex.count(AuditEntry, actor="ada") == 0
    assert globex.count(AuditEntry, target="carol") == 0
    assert globex.count(AuditEntry, target="acme") == 0
    log = other_tenant.get("/v1/log", {"limit": 100})
    assert log.status_code == 200, log.content
    entries = log.json()["docs"]
    assert entries
    assert not [entry for entry in entries if entry["actor"] == "ada" or entry["target"] in ("carol", "acme")]


def test_acme_tokens_do_not_reach_globex_data(acme, globex, admin):
    response = admin.get("/v1/users", {"limit": 100})

    assert {user["username"] for user in response.json()["docs"]} == {"ada", "reggie", "olive"}
    assert admin.get("/v1/users/gus").status_code == 404


# ------------------------------------------------------------------ creating tenants


def test_creating_a_tenant_clones_the_migrated_template(make_tenant):
    initech = make_tenant("initech", admin="bill")

    tables = tables_of(initech.tenant)
    assert {"tenants_app_user", "tenants_app_auditentry"} <= tables
    assert "tenants_app_tenant" not in tables  # the catalog stays in the catalog
    assert databases.is_up_to_date(initech.tenant.database)
    with tenancy.using_tenant(initech.tenant):
        assert list(User.objects.values_list("username", flat=True)) == ["bill"]


@only_on_postgres
def test_a_session_left_open_on_the_template_does_not_keep_tenants_from_being_created(make_tenant, monkeypatch):
    forgotten = databases._postgres_connect(databases.ensure_template())  # idle, as a connection nobody closed
    monkeypatch.setattr(databases, "create_from_template", tenant_pool.installed().real_create)  # a real copy
    try:
        initech = make_tenant("initech", admin="bill")

        assert "tenants_app_user" in tables_of(initech.tenant)
        with pytest.raises(psycopg.OperationalError):  # ended by the copy
            forgotten.execute("SELECT 1")
    finally:
        forgotten.close()


def test_each_tenant_gets_its_own_database(acme, globex):
    assert acme.tenant.database != globex.tenant.database
    assert databases.exists(acme.tenant.database)
    assert databases.exists(globex.tenant.database)


def test_a_failure_while_creating_the_admin_leaves_no_tenant_behind(monkeypatch):
    seen: dict[str, Any] = {}

    def failing_create_user(*args: Any, **kwargs: Any) -> User:
        seen["alias"] = current_tenant().alias
        raise RuntimeError("disk full")

    monkeypatch.setattr(User.objects, "create_user", failing_create_user)

    with pytest.raises(RuntimeError, match="disk full"):
        services.create_tenant(
            Caller(user=None, name="<tests>"),
            tenant_id="initech",
            admin_username="bill",
            admin_password=PASSWORD,
            email="office@initech.example",
        )

    database = seen["alias"].removeprefix(databases.ALIAS_PREFIX)
    assert not Tenant.objects.filter(pk="initech").exists()
    assert not databases.exists(database)


def test_a_failure_while_creating_the_admin_through_the_api_leaves_no_tenant_behind(superuser, monkeypatch):
    seen: dict[str, Any] = {}

    def failing_create_user(*args: Any, **kwargs: Any) -> User:
        seen["alias"] = current_tenant().alias
        raise RuntimeError("disk full")

    monkeypatch.setattr(User.objects, "create_user", failing_create_user)
    body = {
        "_id": "initech",
        "email": "office@initech.example",
        "admin_username": "bill",
        "admin_password": PASSWORD,
    }

    response = superuser.post("/v1/tenants", body, format="json")

    assert response.status_code == 500
    assert "disk full" not in response.content.decode()
    assert not Tenant.objects.filter(pk="initech").exists()
    assert not databases.exists(seen["alias"].removeprefix(databases.ALIAS_PREFIX))


# ------------------------------------------------------------------ commands


def test_migrate_tenants_migrates_every_tenant_database(acme, globex):
    # Roll one tenant back, as if the code had moved on since it was created.
    call_command("migrate", "tenants_app", "zero", database=databases.register(acme.tenant.database), verbosity=0)
    assert not databases.is_up_to_date(acme.tenant.database)
    out = io.StringIO()

    call_command("migrate_tenants", stdout=out)

    assert "2 tenant database(s)" in out.getvalue()
    assert databases.is_up_to_date(acme.tenant.database)
    assert databases.is_up_to_date(globex.tenant.database)
    template = databases.template_name()
    with databases.briefly(template):
        assert databases.is_up_to_date(template)
    assert "tenants_app_user" in tables_of(acme.tenant)
    assert globex.count(User) == 1


def test_migrate_tenants_runs_with_no_tenants():
    out = io.StringIO()

    call_command("migrate_tenants", stdout=out)

    assert "0 tenant database(s)" in out.getvalue()
    assert Tenant.objects.count() == 0


@pytest.fixture
def first_start(monkeypatch: pytest.MonkeyPatch) -> Any:
    """The default admin's password is a generated one (so bootstrap prints it once)."""
    monkeypatch.delenv("DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD", raising=False)
    monkeypatch.delenv("DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD_FILE", raising=False)
    with override_settings(DEFAULT_TENANT_ADMIN_USERNAME="keeper"):
        yield


def run_bootstrap() -> str:
    out = io.StringIO()
    call_command("bootstrap", stdout=out)
    return out.getvalue()


def test_bootstrap_creates_the_default_tenant_and_prints_its_admin(first_start):
    output = run_bootstrap()

    assert "keeper" in output
    assert settings.DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD in output
    tenant = Tenant.objects.get(pk=settings.DEFAULT_TENANT)
    assert databases.exists(tenant.database)
    with tenancy.using_tenant(tenant):
        assert list(User.objects.values_list("username", "role")) == [("keeper", "admin")]
    first_login = {"username": "keeper", "password": settings.DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD}
    refused = APIClient().post("/v1/login", first_login, format="json")
    assert refused.status_code == 401
    assert refused.json()["message"] == "The password must be changed"
    response = APIClient().post(
        "/v1/login", {**first_login, "new_password": "keeper's own passphrase 7"}, format="json"
    )
    assert response.status_code == 200, response.content


def test_bootstrap_run_twice_creates_one_default_tenant_and_prints_the_password_once(first_start):
    run_bootstrap()
    first = Tenant.objects.get(pk=settings.DEFAULT_TENANT)

    again = run_bootstrap()

    assert settings.DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD not in again
    assert Tenant.objects.count() == 1
    tenant = Tenant.objects.get(pk=settings.DEFAULT_TENANT)
    assert tenant.uid == first.uid
    assert tenant.database == first.database
    with tenancy.using_tenant(tenant):
        assert User.objects.count() == 1
