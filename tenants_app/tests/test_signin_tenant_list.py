"""The sign-in page offers the tenants as a list only when the operator enables SIGNIN_TENANT_LIST."""

from __future__ import annotations

from django.test import Client, override_settings

from testing.helpers import html


def test_the_sign_in_page_names_no_tenant_by_default(acme, globex):
    page = html(Client().get("/signin/"))

    assert "<datalist" not in page
    assert 'list="tenant-ids"' not in page
    assert "acme" not in page
    assert "globex" not in page


def test_an_enabled_sign_in_page_offers_every_tenant_id(acme, globex):
    with override_settings(SIGNIN_TENANT_LIST=True):
        page = html(Client().get("/signin/"))

    assert 'list="tenant-ids"' in page
    assert '<datalist id="tenant-ids"><option value="acme"><option value="globex"></datalist>' in page
    assert "Acme Corp" not in page  # the ids only


def test_a_refused_sign_in_still_offers_the_list(acme):
    with override_settings(SIGNIN_TENANT_LIST=True):
        response = Client().post("/signin/", {"tenant": "acme", "username": "reggie", "password": "wrong guess"})

    assert response.status_code == 401
    assert '<option value="acme">' in html(response)
