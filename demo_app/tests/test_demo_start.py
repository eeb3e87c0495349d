"""``manage.py bootstrap`` (what ``make run`` starts with) makes and fills the demo tenant when DEMO=true."""

from __future__ import annotations

import io

from django.conf import settings
from django.core.management import call_command
from django.test import override_settings
from rest_framework.test import APIClient

from demo_app import content
from items_app.models import Item, Version
from items_app.services import delete_item
from tenants_app import tenancy
from tenants_app.audit import Caller
from tenants_app.models import Tenant, User

DEMO_PASSWORD = "demo passphrase for the tests 42"


def run_bootstrap() -> str:
    out = io.StringIO()
    call_command("bootstrap", stdout=out)
    return out.getvalue()


def test_bootstrap_without_demo_makes_no_demo_tenant():
    output = run_bootstrap()

    assert not Tenant.objects.filter(pk=settings.DEFAULT_TENANT_DEMO).exists()
    assert "demo" not in output.lower()


def test_bootstrap_with_demo_makes_the_demo_tenant_and_prints_how_to_sign_in():
    with override_settings(DEMO=True, DEMO_PASSWORD=DEMO_PASSWORD):
        output = run_bootstrap()

    tenant = Tenant.objects.get(pk="demo-tenant-registry")
    assert "demo-tenant-registry" in output
    assert DEMO_PASSWORD in output
    assert "marie, alan, grace" in output
    with tenancy.using_tenant(tenant):
        assert Item.objects.count() == len(content.ITEMS)
        assert Version.objects.count() == sum(len(sample.versions) for sample in content.ITEMS)
        assert User.objects.get(username=settings.DEFAULT_TENANT_ADMIN_USERNAME).is_admin
        assert all(user.check_password(DEMO_PASSWORD) for user in User.objects.all())
    credentials = {"tenant": "demo-tenant-registry", "username": "admin", "password": DEMO_PASSWORD}
    assert APIClient().post("/v1/login", credentials, format="json").status_code == 200  # not a temporary one


def test_bootstrap_fills_the_demo_tenant_once():
    with override_settings(DEMO=True, DEMO_PASSWORD=DEMO_PASSWORD):
        run_bootstrap()
        first = Tenant.objects.get(pk="demo-tenant-registry")
        with tenancy.using_tenant(first):
            router = Item.objects.get(name="ticket-router")
            delete_item(Caller(user=router.owner), router)

        again = run_bootstrap()

    assert DEMO_PASSWORD not in again
    assert "demo tenant 'demo-tenant-registry' ready" in again
    tenant = Tenant.objects.get(pk="demo-tenant-registry")
    assert tenant.uid == first.uid
    with tenancy.using_tenant(tenant):
        assert Item.objects.count() == len(content.ITEMS) - 1  # what its users did stays


def test_the_demo_tenant_takes_its_id_from_default_tenant_demo():
    with override_settings(DEMO=True, DEMO_PASSWORD=DEMO_PASSWORD, DEFAULT_TENANT_DEMO="showroom"):
        run_bootstrap()

    assert Tenant.objects.filter(pk="showroom").exists()
    assert not Tenant.objects.filter(pk="demo-tenant-registry").exists()
