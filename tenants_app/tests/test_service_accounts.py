"""Service accounts (contract §9.1): users for automation, with keys and no password."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from tenants_app.models import User
from testing.helpers import PASSWORD, error_of


def service_account(admin: APIClient, username: str = "ci-bot") -> dict:
    response = admin.post("/v1/users", {"username": username, "service": True}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def key_for(admin: APIClient, username: str, scopes: list[str]) -> str:
    response = admin.post("/v1/keys", {"name": "pipeline", "scopes": scopes, "user": username}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["key"]


def test_an_admin_creates_a_service_account_without_password_or_email(admin, acme):
    created = service_account(admin)

    assert created["service"] is True
    assert created["email"] is None
    assert not acme.user("ci-bot").has_usable_password()


def test_a_service_account_logging_in_gets_the_same_401_as_a_wrong_password(admin, anonymous):
    service_account(admin)

    as_service = anonymous.post(
        "/v1/login", {"username": "ci-bot", "password": PASSWORD, "tenant": "acme"}, format="json"
    )
    wrong = anonymous.post(
        "/v1/login", {"username": "reggie", "password": "nope nope nope", "tenant": "acme"}, format="json"
    )

    assert error_of(as_service) == error_of(wrong) == (401, "authentication_error")
    assert as_service.json()["details"] == wrong.json()["details"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "bot", "service": True, "password": PASSWORD}, "password"),
        ({"username": "person"}, "password"),
        ({"username": "person", "password": PASSWORD}, "email"),
    ],
)
def test_people_need_a_password_and_service_accounts_refuse_one(admin, body, field):
    response = admin.post("/v1/users", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["details"]


def test_a_service_account_never_gets_a_password_later(admin):
    service_account(admin)

    response = admin.put("/v1/users/ci-bot", {"password": PASSWORD}, format="json")

    assert response.status_code == 400
    assert "API keys" in response.json()["details"]


def test_only_admins_create_service_accounts_and_their_keys(owner, admin):
    assert error_of(owner.post("/v1/users", {"username": "bot", "service": True}, format="json"))[0] == 403
    service_account(admin)

    refused = owner.post("/v1/keys", {"name": "k", "scopes": ["read"], "user": "ci-bot"}, format="json")

    assert error_of(refused)[0] == 403


def test_admins_make_keys_for_service_accounts_but_not_for_other_people(admin):
    service_account(admin)
    key_for(admin, "ci-bot", ["write"])

    refused = admin.post("/v1/keys", {"name": "k", "scopes": ["read"], "user": "reggie"}, format="json")

    assert error_of(refused)[0] == 403
    assert "service accounts" in refused.json()["details"]


def test_what_a_pipeline_registers_belongs_to_its_service_account(admin, reader, kind):
    service_account(admin)
    pipeline = APIClient()
    pipeline.credentials(HTTP_AUTHORIZATION=f"Bearer {key_for(admin, 'ci-bot', ['write'])}")

    item = pipeline.post(f"/v1/{kind.plural}", {"name": "nightly", "visibility": "public"}, format="json").json()

    assert item["owner"] == "ci-bot"
    assert reader.get(f"/v1/{kind.plural}/{item['_id']}").status_code == 200
    assert error_of(reader.put(f"/v1/{kind.plural}/{item['_id']}", {"description": "x"}, format="json"))[0] == 403


def test_a_service_account_shows_as_such_only_to_admins_and_itself(admin, owner):
    created = service_account(admin)

    assert admin.get(f"/v1/users/{created['_id']}").json()["service"] is True
    assert "service" not in owner.get(f"/v1/users/{created['_id']}").json()


def test_a_service_account_is_a_user_row_with_the_flag(admin, acme):
    service_account(admin)

    assert acme.count(User, username="ci-bot", is_service=True) == 1
