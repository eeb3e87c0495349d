"""``/account/keys/``: every signed-in user manages their own API keys on a page."""

from __future__ import annotations

from rest_framework.test import APIClient

from tenants_app.models import ApiKey
from testing.helpers import html, signed_in


def test_a_user_creates_a_key_and_sees_its_secret_once(acme):
    client = signed_in(acme, "reggie")

    created = client.post("/account/keys/", {"name": "nightly", "scopes": ["write"]})

    page = html(created)
    assert created.status_code == 200
    assert "shown this once" in page
    text = page.split("data-key-text>", 1)[1].split("<", 1)[0]
    assert text.startswith("mrk_acme.")
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    assert api.get("/v1/info").json()["user"]["username"] == "reggie"
    assert text not in html(client.get("/account/keys/"))
    assert 'data-key-row="nightly"' in html(client.get("/account/keys/"))


def test_regular_users_are_not_offered_the_admin_scope_and_cannot_force_it(acme):
    client = signed_in(acme, "reggie")

    assert 'value="admin"' not in html(client.get("/account/keys/"))
    assert client.post("/account/keys/", {"name": "sneaky", "scopes": ["admin"]}).status_code == 400
    assert acme.count(ApiKey) == 0


def test_admins_are_offered_the_admin_scope(acme):
    assert 'value="admin"' in html(signed_in(acme, "ada").get("/account/keys/"))


def test_a_taken_name_is_shown_beside_the_field(acme):
    client = signed_in(acme, "reggie")
    client.post("/account/keys/", {"name": "nightly", "scopes": ["read"]})

    again = client.post("/account/keys/", {"name": "nightly", "scopes": ["read"]})

    assert again.status_code == 400
    assert "already has a key named" in html(again)


def test_revoking_asks_then_kills_the_key(acme):
    client = signed_in(acme, "reggie")
    text = (
        html(client.post("/account/keys/", {"name": "nightly", "scopes": ["read"]}))
        .split("data-key-text>", 1)[1]
        .split("<", 1)[0]
    )
    key_id = text.split(".")[1]

    assert "Revoke the key" in html(client.get(f"/account/keys/{key_id}/revoke/"))
    assert client.post(f"/account/keys/{key_id}/revoke/").status_code == 302

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    assert api.get("/v1/info").status_code == 401


def test_nobody_revokes_someone_elses_key_from_the_page(acme):
    text = html(signed_in(acme, "reggie").post("/account/keys/", {"name": "n", "scopes": ["read"]}))
    key_id = text.split("data-key-text>", 1)[1].split(".")[1]

    assert signed_in(acme, "olive").post(f"/account/keys/{key_id}/revoke/").status_code == 404
    assert acme.count(ApiKey) == 1


def test_anonymous_visitors_are_sent_to_sign_in(client):
    assert client.get("/account/keys/").status_code == 302
