"""``/v1/tenants`` (contract §2): tenant management by the holder of API_TOKEN, and nobody else."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from tenants_app import databases, services, tenancy
from tenants_app.models import Role, Tenant, User
from testing.helpers import PASSWORD, error_of

ENVELOPE = {
    "docs",
    "totalDocs",
    "limit",
    "totalPages",
    "page",
    "pagingCounter",
    "hasPrevPage",
    "hasNextPage",
    "prevPage",
    "nextPage",
}


def new_tenant(**overrides: Any) -> dict[str, Any]:
    """A complete, valid POST /v1/tenants body for the tenant ``initech``."""
    body = {
        "_id": "initech",
        "organization": "Initech",
        "address": "4120 Freidrich Lane, Austin",
        "email": "office@initech.example",
        "phone": "+1 512 555 0100",
        "admin_username": "bill",
        "admin_password": PASSWORD,
    }
    body.update(overrides)
    return body


def login(tenant_id: str, username: str, password: str = PASSWORD) -> Any:
    return APIClient().post(
        "/v1/login", {"username": username, "password": password, "tenant": tenant_id}, format="json"
    )


def details_of(response: Any) -> str:
    return str(response.json()["details"])


# ------------------------------------------------------------------ create


def test_it_creates_a_tenant_without_revealing_passwords_or_its_database(superuser):
    response = superuser.post("/v1/tenants", new_tenant(), format="json")

    assert response.status_code == 201, response.content
    document = response.json()
    assert document["_id"] == "initech"
    assert document["organization"] == "Initech"
    assert document["address"] == "4120 Freidrich Lane, Austin"
    assert document["email"] == "office@initech.example"
    assert document["phone"] == "+1 512 555 0100"
    assert {"timestamp", "lastmod"} <= set(document)
    tenant = Tenant.objects.get(pk="initech")
    text = response.content.decode()
    assert not {"admin_password", "password", "passwordhash", "database", "uid"} & set(document)
    assert PASSWORD not in text
    assert tenant.database not in text
    assert tenant.organization == "Initech"


def test_it_creates_the_tenant_database_and_its_first_admin(superuser):
    superuser.post("/v1/tenants", new_tenant(), format="json")

    tenant = Tenant.objects.get(pk="initech")
    assert databases.exists(tenant.database)
    with tenancy.using_tenant(tenant):
        assert list(User.objects.values_list("username", "role")) == [("bill", Role.ADMIN)]


def test_its_first_admin_can_log_in_with_the_tenant_id(superuser):
    superuser.post("/v1/tenants", new_tenant(), format="json")

    response = login("initech", "bill")

    assert response.status_code == 200, response.content
    assert response.json()["user"]["username"] == "bill"
    assert response.json()["user"]["role"] == "admin"
    assert response.json()["token"].startswith("JWT ")


def test_it_accepts_the_trailing_slash_spelling(superuser):
    response = superuser.post("/v1/tenants/", new_tenant(), format="json")

    assert response.status_code == 201, response.content
    assert Tenant.objects.filter(pk="initech").exists()


@pytest.mark.parametrize("missing", ["admin_username", "admin_password"])
def test_it_requires_the_first_admins_credentials(superuser, missing):
    body = new_tenant()
    del body[missing]

    response = superuser.post("/v1/tenants", body, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert missing in details_of(response)
    assert not Tenant.objects.filter(pk="initech").exists()


@pytest.mark.parametrize(
    ("password", "rule"),
    [
        ("Sh0rt!", "too short"),
        ("8675309123456", "entirely numeric"),
        ("password123", "too common"),
    ],
)
def test_it_refuses_a_weak_admin_password_naming_the_rule(superuser, password, rule):
    response = superuser.post("/v1/tenants", new_tenant(admin_password=password), format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "admin_password" in details_of(response)
    assert rule in details_of(response)
    assert not Tenant.objects.filter(pk="initech").exists()


@pytest.mark.parametrize(
    "tenant_id",
    ["with space", "a/b", "..", "../escape", "x" * 65, "café", "", "tenant.name"],
    ids=["space", "slash", "dotdot", "traversal", "65-chars", "unicode", "empty", "dot"],
)
def test_it_refuses_tenant_ids_that_are_not_safe_slugs(superuser, tenant_id):
    response = superuser.post("/v1/tenants", new_tenant(_id=tenant_id), format="json")

    assert error_of(response) == (400, "post_request_error")
    assert Tenant.objects.count() == 0


@pytest.mark.parametrize("tenant_id", ["with space", "x" * 65], ids=["pattern", "length"])
def test_it_names_the_id_field_when_refusing_a_tenant_id(superuser, tenant_id):
    response = superuser.post("/v1/tenants", new_tenant(_id=tenant_id), format="json")

    assert error_of(response) == (400, "post_request_error")
    assert details_of(response).startswith("_id:")


def test_it_accepts_a_tenant_id_of_64_slug_characters(superuser):
    tenant_id = "A-b_9" + "z" * 59

    response = superuser.post("/v1/tenants", new_tenant(_id=tenant_id), format="json")

    assert response.status_code == 201, response.content
    assert databases.exists(Tenant.objects.get(pk=tenant_id).database)


def test_it_refuses_duplicate_tenant_ids(superuser, acme):
    response = superuser.post("/v1/tenants", new_tenant(_id="acme", organization="Impostor"), format="json")

    assert error_of(response) == (409, "conflict")
    assert Tenant.objects.filter(pk="acme").count() == 1
    assert Tenant.objects.get(pk="acme").organization == "Acme Corp"
    assert acme.count(User) == 3
    assert acme.count(User, username="bill") == 0


@pytest.mark.parametrize("field", ["database", "uid", "colour"])
def test_it_refuses_unknown_body_fields_naming_them(superuser, field):
    response = superuser.post("/v1/tenants", new_tenant(**{field: "x"}), format="json")

    assert error_of(response) == (400, "post_request_error")
    assert field in details_of(response)
    assert not Tenant.objects.filter(pk="initech").exists()


@pytest.mark.parametrize("passwordhash", ["true", True, False])
def test_it_accepts_and_ignores_passwordhash(superuser, passwordhash):
    response = superuser.post("/v1/tenants", new_tenant(passwordhash=passwordhash), format="json")

    assert response.status_code == 201, response.content
    assert "passwordhash" not in response.json()
    with tenancy.using_tenant(Tenant.objects.get(pk="initech")):
        bill = User.objects.get(username="bill")
    assert bill.password != PASSWORD
    assert bill.check_password(PASSWORD)
    assert login("initech", "bill").status_code == 200


# ------------------------------------------------------------------ read


def test_it_lists_tenants_in_the_list_envelope(superuser, acme, globex):
    response = superuser.get("/v1/tenants")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == ENVELOPE
    assert body["totalDocs"] == 2
    assert body["page"] == 1
    assert body["totalPages"] == 1
    assert body["hasNextPage"] is False
    assert {document["_id"] for document in body["docs"]} == {"acme", "globex"}
    assert all("database" not in document for document in body["docs"])


def test_it_filters_tenants_by_id(superuser, acme, globex):
    response = superuser.get("/v1/tenants", {"filter": json.dumps({"_id": "acme"})})

    assert response.status_code == 200, response.content
    assert response.json()["totalDocs"] == 1
    assert [document["_id"] for document in response.json()["docs"]] == ["acme"]


def test_it_gets_a_tenant_by_id(superuser, acme):
    response = superuser.get("/v1/tenants/acme")

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == "acme"
    assert response.json()["organization"] == "Acme Corp"
    assert response.json()["email"] == "office@acme.example"
    assert acme.tenant.database not in response.content.decode()


def test_it_answers_404_for_an_unknown_tenant(superuser, acme):
    assert error_of(superuser.get("/v1/tenants/initech")) == (404, "resource_not_found")
    assert error_of(superuser.put("/v1/tenants/initech", {"phone": "1"}, format="json")) == (
        404,
        "resource_not_found",
    )
    assert error_of(superuser.delete("/v1/tenants/initech")) == (404, "resource_not_found")


# ------------------------------------------------------------------ update


def test_it_updates_the_tenants_contact_fields(superuser, acme):
    changes = {
        "organization": "Acme Corporation",
        "address": "1 Road Runner Way",
        "email": "hello@acme.example",
        "phone": "+44 20 7946 0000",
    }

    response = superuser.put("/v1/tenants/acme", changes, format="json")

    assert response.status_code == 200, response.content
    assert {name: response.json()[name] for name in changes} == changes
    tenant = Tenant.objects.get(pk="acme")
    assert {name: getattr(tenant, name) for name in changes} == changes
    assert tenant.database == acme.tenant.database
    assert tenant.uid == acme.tenant.uid


@pytest.mark.parametrize("field", ["_id", "database", "admin_username", "colour"])
def test_it_refuses_to_update_ids_and_unknown_fields(superuser, acme, field):
    response = superuser.put("/v1/tenants/acme", {field: "renamed", "phone": "123"}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert field in details_of(response)
    tenant = Tenant.objects.get(pk="acme")
    assert tenant.phone == ""
    assert tenant.database == acme.tenant.database
    assert not Tenant.objects.filter(pk="renamed").exists()


def test_it_refuses_an_empty_update(superuser, acme):
    response = superuser.put("/v1/tenants/acme", {}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert Tenant.objects.get(pk="acme").lastmod == acme.tenant.lastmod


def test_it_refuses_an_invalid_email_on_update(superuser, acme):
    response = superuser.put("/v1/tenants/acme", {"email": "not an address"}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert "email" in details_of(response)
    assert Tenant.objects.get(pk="acme").email == "office@acme.example"


# ------------------------------------------------------------------ delete


def test_it_deletes_a_tenant_with_its_database(superuser, acme):
    database = acme.tenant.database

    response = superuser.delete("/v1/tenants/acme")

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == "acme"
    assert response.json()["organization"] == "Acme Corp"
    assert not Tenant.objects.filter(pk="acme").exists()
    assert not databases.exists(database)


def test_it_removes_the_deleted_tenants_files(superuser, acme):
    stored = settings.UPLOAD_PATH / "acme" / ("0" * 64)
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(b"model bytes")

    superuser.delete("/v1/tenants/acme")

    assert not stored.exists()
    assert not stored.parent.exists()


def test_it_leaves_other_tenants_alone_when_deleting_one(superuser, acme, globex, other_tenant):
    superuser.delete("/v1/tenants/acme")

    assert Tenant.objects.filter(pk="globex").exists()
    assert databases.exists(globex.tenant.database)
    assert other_tenant.get("/v1/users").status_code == 200
    assert globex.count(User) == 1


def test_the_deleted_tenants_tokens_stop_working_at_once(superuser, acme, admin, owner):
    assert admin.get("/v1/users").status_code == 200

    superuser.delete("/v1/tenants/acme")

    assert error_of(admin.get("/v1/users")) == (401, "unauthorized")
    assert error_of(owner.get("/v1/users")) == (401, "unauthorized")
    assert error_of(login("acme", "ada")) == (401, "authentication_error")


def test_a_recreated_tenant_does_not_accept_the_old_tenants_tokens(superuser, acme, admin):
    old_ada = acme.user("ada")
    superuser.delete("/v1/tenants/acme")
    response = superuser.post("/v1/tenants", new_tenant(_id="acme", admin_username="ada"), format="json")
    assert response.status_code == 201, response.content
    reborn = Tenant.objects.get(pk="acme")
    # Give the new ada the old one's id and password hash, so only the tenant's incarnation tells them apart.
    with tenancy.using_tenant(reborn):
        User.objects.filter(username="ada").update(id=old_ada.id, password=old_ada.password)

    assert error_of(admin.get("/v1/users")) == (401, "unauthorized")
    assert reborn.uid != acme.tenant.uid
    assert reborn.database != acme.tenant.database
    fresh = login("acme", "ada")
    assert fresh.status_code == 200, fresh.content
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=fresh.json()["token"])
    assert client.get("/v1/users").status_code == 200


def test_it_refuses_to_delete_the_default_tenant(superuser):
    default, created = services.ensure_default_tenant()
    assert created

    response = superuser.delete(f"/v1/tenants/{settings.DEFAULT_TENANT}")

    assert error_of(response) == (409, "conflict")
    assert Tenant.objects.filter(pk=settings.DEFAULT_TENANT).exists()
    assert databases.exists(default.database)
    with tenancy.using_tenant(default):
        assert User.objects.filter(username=settings.DEFAULT_TENANT_ADMIN_USERNAME).exists()


# ------------------------------------------------------------------ who may call it


def test_it_refuses_a_jwt_on_tenant_routes(acme, admin):
    assert error_of(admin.get("/v1/tenants")) == (401, "unauthorized")
    assert error_of(admin.get("/v1/tenants/acme")) == (401, "unauthorized")
    assert error_of(admin.post("/v1/tenants", new_tenant(), format="json")) == (401, "unauthorized")
    assert error_of(admin.delete("/v1/tenants/acme")) == (401, "unauthorized")
    assert not Tenant.objects.filter(pk="initech").exists()
    assert Tenant.objects.filter(pk="acme").exists()


def test_it_refuses_a_bearer_jwt_on_tenant_routes(acme):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {acme.token('ada').split()[1]}")

    assert error_of(client.get("/v1/tenants")) == (401, "unauthorized")


def test_it_refuses_requests_without_authorization(anonymous, acme):
    assert error_of(anonymous.get("/v1/tenants")) == (401, "unauthorized")
    assert error_of(anonymous.post("/v1/tenants", new_tenant(), format="json")) == (401, "unauthorized")
    assert error_of(anonymous.delete("/v1/tenants/acme")) == (401, "unauthorized")
    assert not Tenant.objects.filter(pk="initech").exists()
    assert Tenant.objects.filter(pk="acme").exists()


def test_it_refuses_a_wrong_api_token(acme):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=settings.API_TOKEN + "x")

    assert error_of(client.get("/v1/tenants")) == (401, "unauthorized")
    assert error_of(client.delete("/v1/tenants/acme")) == (401, "unauthorized")
    assert Tenant.objects.filter(pk="acme").exists()


def test_the_api_token_does_not_open_tenant_data(superuser, acme):
    assert error_of(superuser.get("/v1/users")) == (401, "unauthorized")
    assert error_of(superuser.get("/v1/log")) == (401, "unauthorized")
    response = superuser.post(
        "/v1/users", {"username": "mallory", "password": PASSWORD, "email": "m@example.org"}, format="json"
    )
    assert error_of(response) == (401, "unauthorized")
    assert acme.count(User, username="mallory") == 0


@override_settings(API_KEY_MAX_FAILURES_PER_ADDRESS=3)
def test_guessing_the_api_token_is_throttled_per_address_and_the_right_token_still_works():
    guesser = APIClient(REMOTE_ADDR="198.51.100.9", HTTP_AUTHORIZATION="not-the-token-0123456789abcdef")
    neighbour = APIClient(REMOTE_ADDR="203.0.113.7", HTTP_AUTHORIZATION="not-the-token-0123456789abcdef")
    holder = APIClient(REMOTE_ADDR="198.51.100.9", HTTP_AUTHORIZATION=settings.API_TOKEN)

    answers = [guesser.get("/v1/tenants").status_code for _ in range(4)]
    throttled = guesser.get("/v1/tenants")

    assert answers == [401, 401, 401, 429]
    assert throttled.json()["value"] == 24
    assert int(throttled["Retry-After"]) > 0
    assert neighbour.get("/v1/tenants").status_code == 401  # another address is not throttled
    assert holder.get("/v1/tenants").status_code == 200  # the right token from the throttled address works
