"""Fixtures shared by every app's tests: tenants, personas, API clients and the matrix of item kinds.

Personas, with the same names in every test file:
- ``acme`` is the tenant most tests use. ``owner`` (reggie) owns the items a test makes; ``reader`` (olive) is
  the user an item is shared with; ``outsider`` (oscar) is a regular user of acme who was given nothing;
  ``admin`` (ada) is acme's admin. oscar exists only in the tests that ask for ``outsider``.
- ``other_tenant`` (gus) is the admin of ``globex``, the second tenant of every isolation check.
- ``anonymous`` sends no credentials; ``superuser`` holds the installation's API_TOKEN.
- ``kind`` runs a test once per item kind (``testing/kinds.py``): what every kind shares is tested once.

Tenants are created through the real service (cloned tenant database) for each test and dropped after
it, so tests run against real, committed databases on SQLite and PostgreSQL alike (on PostgreSQL, a dropped
tenant's database is reset to the template's state and reused: ``testing/tenant_pool.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import override_settings
from rest_framework.test import APIClient

from framework.files import resumable, storage
from tenants_app import databases, services, tenancy
from tenants_app.audit import Caller
from tenants_app.models import Role, Tenant, User
from tenants_app.tokens import RegistryToken
from testing import tenant_pool
from testing.browser import wait_for_live_requests
from testing.helpers import PASSWORD
from testing.kinds import KINDS, TRAINED_KINDS, KindCase

SYSTEM = Caller(user=None, name="<tests>")


@pytest.fixture(autouse=True, scope="session")
def fast_password_hashing() -> Iterator[None]:
    """Argon2 is deliberately slow; tests hash with MD5 (one test checks that production uses Argon2)."""
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(scope="session")
def django_db_setup(
    django_test_environment: None, django_db_blocker: Any, django_db_modify_db_settings: None
) -> Iterator[None]:
    """The test catalog database (tenant databases are made per test, from the migrated template).

    Under pytest-xdist, ``django_db_modify_db_settings`` gives each worker's catalog its own name, and the
    template's name follows the catalog's (``databases.template_name``). On PostgreSQL, tenant databases come
    from a pool of reset spares (``testing/tenant_pool.py``), which the teardown drops.
    """
    from django.test.utils import setup_databases, teardown_databases

    with django_db_blocker.unblock():
        config = setup_databases(verbosity=0, interactive=False, aliases={"default"})
        tenant_pool.install()
    yield
    with django_db_blocker.unblock():
        tenant_pool.uninstall()
        databases.drop(databases.template_name())
        _end_other_sessions()
        teardown_databases(config, verbosity=0)


def _end_other_sessions() -> None:
    """PostgreSQL refuses to drop the test catalog while the live server's keep-alive threads hold sessions."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        )


@pytest.fixture(autouse=True)
def _real_databases(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Every test runs against real, committed databases, and leaves the catalog as it found it.

    Django's TestCase isolation (one rolled-back transaction per declared alias) cannot cover tenant
    databases, whose aliases appear at run time; so tests commit, and this fixture removes every tenant
    (catalog row, database, stored files) and every cached counter afterwards.
    """
    with django_db_blocker.unblock():
        cache.clear()
        yield
        wait_for_live_requests()  # a live server's request may still be finishing against these databases
        for tenant in Tenant.objects.all():
            tenant.delete()
            tenant_pool.release(tenant.database)  # PostgreSQL: reset and kept as a spare; SQLite: dropped
        for prefix in storage.tenant_prefixes():
            storage.delete_tenant(prefix)
        for prefix in resumable.partial_tenants():
            resumable.remove_tenant(prefix)
        cache.clear()


@dataclass
class TenantHandle:
    """A tenant created for one test, with helpers to add users and to act as them."""

    tenant: Tenant

    @property
    def id(self) -> str:
        return self.tenant.id

    def add_user(self, username: str, role: str = Role.REGULAR, email: str | None = None) -> User:
        with tenancy.using_tenant(self.tenant):
            return User.objects.create_user(username, PASSWORD, email=email or f"{username}@example.org", role=role)

    def user(self, username: str) -> User:
        with tenancy.using_tenant(self.tenant):
            return User.objects.get(username=username)

    def token(self, username: str) -> str:
        return f"JWT {RegistryToken.issue(self.tenant, self.user(username))}"

    def client(self, username: str) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=self.token(username))
        return client

    def count(self, model: type[Any], **filters: Any) -> int:
        with tenancy.using_tenant(self.tenant):
            return model.objects.filter(**filters).count()


@pytest.fixture
def make_tenant() -> Callable[..., TenantHandle]:
    def make(tenant_id: str, admin: str = "admin", **fields: str) -> TenantHandle:
        tenant = services.create_tenant(
            SYSTEM,
            tenant_id=tenant_id,
            admin_username=admin,
            admin_password=PASSWORD,
            email=f"office@{tenant_id}.example",
            **fields,
        )
        return TenantHandle(tenant)

    return make


@pytest.fixture
def acme(make_tenant: Callable[..., TenantHandle]) -> TenantHandle:
    handle = make_tenant("acme", admin="ada", organization="Acme Corp")
    handle.add_user("reggie")  # the owner
    handle.add_user("olive")  # the reader
    return handle


@pytest.fixture
def globex(make_tenant: Callable[..., TenantHandle]) -> TenantHandle:
    return make_tenant("globex", admin="gus", organization="Globex")


@pytest.fixture
def admin(acme: TenantHandle) -> APIClient:
    return acme.client("ada")


@pytest.fixture
def owner(acme: TenantHandle) -> APIClient:
    """reggie, a regular user of acme, who owns the items a test makes."""
    return acme.client("reggie")


@pytest.fixture
def reader(acme: TenantHandle) -> APIClient:
    """olive, a regular user of acme: the one an item is shared with."""
    return acme.client("olive")


@pytest.fixture
def outsider(acme: TenantHandle) -> APIClient:
    """oscar, a regular user of acme who was given nothing (made on demand: acme's user lists stay three long)."""
    acme.add_user("oscar")
    return acme.client("oscar")


@pytest.fixture
def other_tenant(globex: TenantHandle) -> APIClient:
    return globex.client("gus")


@pytest.fixture
def anonymous() -> APIClient:
    return APIClient()


@pytest.fixture
def superuser() -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=settings.API_TOKEN)
    return client


@pytest.fixture(params=KINDS, ids=str)
def kind(request: pytest.FixtureRequest) -> KindCase:
    """Runs a test once per item kind: the behaviour every kind shares is tested once, for each of them."""
    return request.param


@pytest.fixture(params=TRAINED_KINDS, ids=str)
def trained_kind(request: pytest.FixtureRequest) -> KindCase:
    """Runs a lineage test once per kind whose items are trained on datasets."""
    return request.param


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """A real S3 server (SeaweedFS) for the whole session, started on first use."""
    from testing.seaweed import running_s3_server

    with running_s3_server() as server:
        yield server


@pytest.fixture(params=["local", "s3"])
def storage_backend(request: pytest.FixtureRequest, tmp_path: Any) -> Iterator[str]:
    """Runs a test once on local disk and once on the S3 server: both must behave identically."""
    if request.param == "local":
        yield "local"
        return
    server = request.getfixturevalue("s3_server")
    blobs = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": server.bucket,
            "endpoint_url": server.endpoint,
            "access_key": server.access_key,
            "secret_key": server.secret_key,
            "region_name": "us-east-1",
            "addressing_style": "path",
            "signature_version": "s3v4",
            "file_overwrite": True,
            "default_acl": None,
            "querystring_expire": 300,
        },
    }
    incoming = tmp_path / "incoming"
    incoming.mkdir()
    with override_settings(
        STORAGE="s3", STORAGES={**settings.STORAGES, "blobs": blobs}, FILE_UPLOAD_TEMP_DIR=str(incoming)
    ):
        yield "s3"
        for prefix in storage.tenant_prefixes():  # the bucket outlives the test: leave it empty
            storage.delete_tenant(prefix)


@pytest.fixture(scope="session")
def live_url() -> Iterator[str]:
    """The registry served over HTTP on loopback for browser tests (same databases as the test)."""
    from testing.browser import live_server

    with live_server() as url:
        yield url


@pytest.fixture(scope="session")
def chromium_browser() -> Iterator[Any]:
    from testing.browser import chromium

    with chromium() as browser:
        yield browser


@pytest.fixture
def browser_page(chromium_browser: Any, live_url: str) -> Iterator[Any]:
    """A fresh browser context (no cookies) with a page; its base URL is the live server."""
    context = chromium_browser.new_context(base_url=live_url, viewport={"width": 1280, "height": 860})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture
def sign_in(browser_page: Any) -> Callable[..., Any]:
    """Sign ``username`` in to ``tenant`` through the sign-in page, as a person would."""
    from testing.helpers import PASSWORD

    def sign_in_as(tenant: str, username: str, password: str = PASSWORD) -> Any:
        browser_page.goto("/signin/")
        browser_page.get_by_label("Tenant").fill(tenant)
        browser_page.get_by_label("Username").fill(username)
        browser_page.get_by_label("Password").fill(password)
        browser_page.get_by_role("button", name="Sign in").click()
        browser_page.wait_for_load_state("networkidle")
        return browser_page

    return sign_in_as
