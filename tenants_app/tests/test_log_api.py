"""``GET /v1/log``: the tenant's audit log, for its admins (contract §7, list rules of §1.4)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.test import override_settings

from tenants_app import tenancy
from tenants_app.models import AuditEntry, AuditResult, User
from testing.helpers import PASSWORD, error_of

ENTRY_KEYS = {"_id", "timestamp", "actor", "action", "resource", "target", "result", "address"}
CREATE_PASSWORD = "first secret of the newcomer"
CHANGED_PASSWORD = "second secret of the newcomer"
WRONG_PASSWORD = "a wrong guess at reggies secret"


def log_of(client: Any, **params: str) -> list[dict[str, Any]]:
    response = client.get("/v1/log", {"limit": "100", **params})
    assert response.status_code == 200, response.content
    return response.json()["docs"]


def entries_about(entries: list[dict[str, Any]], **fields: Any) -> list[dict[str, Any]]:
    return [entry for entry in entries if all(entry.get(name) == value for name, value in fields.items())]


def stored_entries(handle: Any) -> list[dict[str, Any]]:
    with tenancy.using_tenant(handle.tenant):
        return list(AuditEntry.objects.values())


def create_update_delete_newcomer(admin: Any) -> None:
    created = admin.post(
        "/v1/users",
        {"username": "newcomer", "password": CREATE_PASSWORD, "email": "newcomer@example.org"},
        format="json",
    )
    assert created.status_code == 201, created.content
    updated = admin.put("/v1/users/newcomer", {"password": CHANGED_PASSWORD, "role": "admin"}, format="json")
    assert updated.status_code == 200, updated.content
    deleted = admin.delete(f"/v1/users/{created.json()['_id']}")
    assert deleted.status_code == 200, deleted.content


def fail_to_log_in(anonymous: Any, username: str = "reggie", tenant: str = "acme") -> None:
    response = anonymous.post(
        "/v1/login", {"username": username, "password": WRONG_PASSWORD, "tenant": tenant}, format="json"
    )
    assert error_of(response) == (401, "authentication_error")


# ------------------------------------------------------------------ who may read it


def test_admins_read_the_log_as_a_list(acme, admin):
    response = admin.get("/v1/log")

    assert response.status_code == 200, response.content
    body = response.json()
    assert {"docs", "totalDocs", "limit", "page", "totalPages", "hasNextPage", "nextPage"} <= set(body)
    assert body["totalDocs"] == acme.count(AuditEntry)


def test_the_log_answers_the_same_with_a_trailing_slash(acme, admin):
    without = admin.get("/v1/log").json()
    with_slash = admin.get("/v1/log/").json()

    assert [entry["_id"] for entry in with_slash["docs"]] == [entry["_id"] for entry in without["docs"]]


def test_regular_users_cannot_read_the_log(acme, owner):
    assert error_of(owner.get("/v1/log")) == (403, "restricted_access_read")


def test_anonymous_callers_cannot_read_the_log(acme, anonymous):
    assert error_of(anonymous.get("/v1/log")) == (401, "unauthorized")


# ------------------------------------------------------------------ what it holds


def test_entries_have_the_documented_keys(acme, admin):
    create_update_delete_newcomer(admin)

    entries = log_of(admin)

    assert entries
    for entry in entries:
        assert set(entry) >= ENTRY_KEYS, entry
        assert set(entry) <= {*ENTRY_KEYS, "details"}, entry


def test_creating_a_user_writes_an_entry_naming_actor_and_target(acme, admin):
    response = admin.post(
        "/v1/users",
        {"username": "newcomer", "password": CREATE_PASSWORD, "email": "newcomer@example.org"},
        format="json",
    )
    assert response.status_code == 201, response.content

    [entry] = entries_about(log_of(admin), action="create", resource="user", target="newcomer")
    assert entry["actor"] == "ada"
    assert entry["result"] == "success"
    assert entry["address"] == "127.0.0.1"
    assert acme.count(AuditEntry, actor="ada", action="create", resource="user", target="newcomer") == 1


def test_updating_a_user_writes_an_entry_naming_actor_and_target(acme, admin):
    response = admin.put("/v1/users/reggie", {"email": "reggie.new@example.org"}, format="json")
    assert response.status_code == 200, response.content

    [entry] = entries_about(log_of(admin), action="update", resource="user", target="reggie")
    assert entry["actor"] == "ada"
    assert entry["result"] == "success"
    assert acme.count(AuditEntry, actor="ada", action="update", resource="user", target="reggie") == 1


def test_a_user_changing_their_own_account_is_the_actor(acme, admin, owner):
    response = owner.put("/v1/users/reggie", {"email": "reggie.new@example.org"}, format="json")
    assert response.status_code == 200, response.content

    [entry] = entries_about(log_of(admin), action="update", resource="user", target="reggie")
    assert entry["actor"] == "reggie"


def test_deleting_a_user_writes_an_entry_naming_actor_and_target(acme, admin):
    response = admin.delete(f"/v1/users/{acme.user('olive').id}")
    assert response.status_code == 200, response.content

    [entry] = entries_about(log_of(admin), action="delete", resource="user", target="olive")
    assert entry["actor"] == "ada"
    assert entry["result"] == "success"
    assert acme.count(User, username="olive") == 0
    assert acme.count(AuditEntry, actor="ada", action="delete", resource="user", target="olive") == 1


def test_a_failed_login_writes_a_failure_entry(acme, admin, anonymous):
    fail_to_log_in(anonymous)

    [entry] = entries_about(log_of(admin), action="login", target="reggie")
    assert entry["result"] == "failure"
    assert entry["address"] == "127.0.0.1"
    assert acme.count(AuditEntry, action="login", target="reggie", result=AuditResult.FAILURE) == 1


def test_a_failed_login_for_an_unknown_user_is_logged_too(acme, admin, anonymous):
    fail_to_log_in(anonymous, username="mallory")

    [entry] = entries_about(log_of(admin), action="login", target="mallory")
    assert entry["result"] == "failure"


def test_no_entry_ever_contains_a_password(acme, admin, anonymous):
    create_update_delete_newcomer(admin)
    fail_to_log_in(anonymous)
    login = anonymous.post("/v1/login", {"username": "reggie", "password": PASSWORD, "tenant": "acme"}, format="json")
    assert login.status_code == 200, login.content

    response = admin.get("/v1/log", {"limit": "100"})

    assert response.status_code == 200, response.content
    assert response.json()["totalDocs"] == len(response.json()["docs"])
    text = response.content.decode()
    stored = json.dumps(stored_entries(acme), default=str)  # the rows themselves, not only what the API shows
    for secret in (CREATE_PASSWORD, CHANGED_PASSWORD, WRONG_PASSWORD, PASSWORD):
        assert secret not in text
        assert secret not in stored


# ------------------------------------------------------------------ tenant isolation


def test_the_log_of_one_tenant_does_not_show_anothers_entries(acme, globex, admin, other_tenant, anonymous):
    created = other_tenant.post(
        "/v1/users",
        {"username": "globex-hire", "password": CREATE_PASSWORD, "email": "hire@globex.example"},
        format="json",
    )
    assert created.status_code == 201, created.content
    fail_to_log_in(anonymous, username="gus", tenant="globex")

    acme_entries = log_of(admin)
    globex_entries = log_of(other_tenant)

    assert not entries_about(acme_entries, actor="gus")
    assert not entries_about(acme_entries, target="globex-hire")
    assert not entries_about(acme_entries, target="gus")
    assert not entries_about(acme_entries, target="globex")
    assert entries_about(globex_entries, actor="gus", target="globex-hire")
    assert entries_about(globex_entries, action="login", target="gus", result="failure")
    assert acme.count(AuditEntry, target="globex-hire") == 0


# ------------------------------------------------------------------ filtering


def test_the_log_can_be_filtered_by_action(acme, admin):
    create_update_delete_newcomer(admin)

    entries = log_of(admin, filter=json.dumps({"action": "create"}))

    assert entries
    assert {entry["action"] for entry in entries} == {"create"}
    assert entries_about(entries, resource="user", target="newcomer")
    assert len(entries) == acme.count(AuditEntry, action="create")


def test_the_log_can_be_filtered_by_resource(acme, admin, anonymous):
    create_update_delete_newcomer(admin)
    fail_to_log_in(anonymous)

    entries = log_of(admin, filter=json.dumps({"resource": "user"}))

    assert {entry["resource"] for entry in entries} == {"user"}
    assert {entry["action"] for entry in entries} == {"create", "update", "delete"}
    assert len(entries) == acme.count(AuditEntry, resource="user")


@pytest.mark.parametrize("field", ["password", "details", "nonsense"])
def test_filtering_the_log_on_an_unknown_field_is_refused(acme, admin, field):
    response = admin.get("/v1/log", {"filter": json.dumps({field: "x"})})

    assert error_of(response) == (400, "invalid_filter")
    assert field in response.json()["details"]


# ------------------------------------------------------------------ LOG=false


def test_nothing_is_written_when_the_log_is_disabled(acme, admin, anonymous):
    before = acme.count(AuditEntry)

    with override_settings(AUDIT_LOG_ENABLED=False):
        create_update_delete_newcomer(admin)
        fail_to_log_in(anonymous)
        login = anonymous.post(
            "/v1/login", {"username": "reggie", "password": PASSWORD, "tenant": "acme"}, format="json"
        )
        assert login.status_code == 200, login.content

    assert acme.count(AuditEntry) == before
    assert acme.count(AuditEntry, target="newcomer") == 0
    assert acme.count(AuditEntry, action="login") == 0
