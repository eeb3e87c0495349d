"""``/v1/users`` (contract §3, with the list rules of §1.4 and the errors of §1.3)."""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any

import pytest

from tenants_app.models import Role, User
from testing.helpers import PASSWORD, error_of

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")
# the password's age (never the password): the original's createdPassword and validityPasswordDays, and ours
PASSWORD_AGE_KEYS = {"createdPassword", "validityPasswordDays", "passwordExpires", "passwordTemporary"}
FULL_KEYS = {"_id", "username", "email", "role", "service", "timestamp", "lastmod", *PASSWORD_AGE_KEYS}
PUBLIC_KEYS = {"_id", "username"}
ENVELOPE_KEYS = {
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
NEW_PASSWORD = "a fresh and rather long passphrase"


def new_user(**overrides: Any) -> dict[str, Any]:
    return {
        "username": "newbie",
        "password": NEW_PASSWORD,
        "email": "newbie@example.org",
        "role": "regular",
        **overrides,
    }


def by_username(response: Any) -> dict[str, dict[str, Any]]:
    assert response.status_code == 200, response.content
    return {doc["username"]: doc for doc in response.json()["docs"]}


def by_id_as_username(response: Any, acme: Any) -> dict[str, dict[str, Any]]:
    names = {acme.user(name).id: name for name in ("ada", "reggie", "olive")}
    return {names[doc["_id"]]: doc for doc in response.json()["docs"]}


def assert_utc_timestamp(value: str) -> None:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0), value


def assert_no_password_anywhere(response: Any, *users: User) -> None:
    def keys(value: Any) -> list[str]:
        if isinstance(value, dict):
            return [*value, *(key for item in value.values() for key in keys(item))]
        if isinstance(value, list):
            return [key for item in value for key in keys(item)]
        return []

    assert not [key for key in keys(response.json()) if "password" in key.lower() and key not in PASSWORD_AGE_KEYS]
    text = response.content.decode()
    for user in users:
        assert user.password not in text
        assert user.password.rsplit("$", 1)[-1] not in text


# ------------------------------------------------------------------ list


def test_the_list_answers_with_the_paging_envelope(acme, admin):
    body = admin.get("/v1/users").json()

    assert set(body) == ENVELOPE_KEYS
    assert body["totalDocs"] == 3
    assert body["limit"] == 10
    assert body["page"] == 1
    assert body["totalPages"] == 1
    assert body["pagingCounter"] == 1
    assert body["hasPrevPage"] is False
    assert body["hasNextPage"] is False
    assert body["prevPage"] is None
    assert body["nextPage"] is None


def test_admins_see_email_and_role_of_everyone(acme, admin):
    docs = by_username(admin.get("/v1/users"))

    assert set(docs) == {"ada", "reggie", "olive"}
    assert all(set(doc) == FULL_KEYS for doc in docs.values())
    assert docs["ada"]["role"] == "admin"
    assert docs["reggie"]["role"] == "regular"
    assert docs["olive"]["email"] == "olive@example.org"


def test_regular_users_see_only_id_and_username_of_others_and_their_own_full_record(acme, owner):
    docs = by_username(owner.get("/v1/users"))

    assert set(docs) == {"ada", "reggie", "olive"}
    assert set(docs["ada"]) == PUBLIC_KEYS
    assert set(docs["olive"]) == PUBLIC_KEYS
    assert set(docs["reggie"]) == FULL_KEYS
    assert docs["reggie"]["email"] == "reggie@example.org"
    assert docs["olive"]["_id"] == acme.user("olive").id


def test_the_list_never_shows_another_tenants_users(acme, globex, admin, other_tenant):
    assert set(by_username(admin.get("/v1/users"))) == {"ada", "reggie", "olive"}
    assert set(by_username(other_tenant.get("/v1/users"))) == {"gus"}


def test_anonymous_callers_cannot_list_users(acme, anonymous):
    assert error_of(anonymous.get("/v1/users")) == (401, "unauthorized")


@pytest.mark.parametrize("url", ["/v1/users", "/v1/users/"])
def test_the_list_answers_the_same_with_and_without_a_trailing_slash(acme, admin, url):
    docs = by_username(admin.get(url))

    assert set(docs) == {"ada", "reggie", "olive"}


# ------------------------------------------------------------------ retrieve


def test_a_user_can_be_fetched_by_id(acme, admin):
    reggie = acme.user("reggie")

    response = admin.get(f"/v1/users/{reggie.id}")

    assert response.status_code == 200, response.content
    assert response.json()["username"] == "reggie"
    assert response.json()["_id"] == reggie.id


def test_a_user_can_be_fetched_by_username(acme, admin):
    response = admin.get("/v1/users/reggie")

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == acme.user("reggie").id
    assert set(response.json()) == FULL_KEYS


def test_a_regular_user_fetching_someone_else_sees_only_id_and_username(acme, owner):
    response = owner.get("/v1/users/olive")

    assert response.status_code == 200, response.content
    assert response.json() == {"_id": acme.user("olive").id, "username": "olive"}


def test_a_regular_user_fetching_themselves_sees_their_full_record(acme, owner):
    response = owner.get("/v1/users/reggie")

    assert response.status_code == 200, response.content
    assert set(response.json()) == FULL_KEYS
    assert response.json()["email"] == "reggie@example.org"
    assert response.json()["role"] == "regular"


@pytest.mark.parametrize("ref", ["nobody", "0123456789abcdef01234567", "not%20an%20id"])
def test_an_unknown_user_is_a_404(acme, admin, ref):
    assert error_of(admin.get(f"/v1/users/{ref}")) == (404, "resource_not_found")


def test_another_tenants_user_is_a_404_by_username_and_by_id(acme, globex, admin):
    gus = globex.user("gus")

    assert error_of(admin.get("/v1/users/gus")) == (404, "resource_not_found")
    assert error_of(admin.get(f"/v1/users/{gus.id}")) == (404, "resource_not_found")


def test_another_tenants_admin_cannot_change_or_delete_our_users(acme, globex, other_tenant):
    reggie = acme.user("reggie")

    assert error_of(other_tenant.put(f"/v1/users/{reggie.id}", {"role": "admin"}, format="json")) == (
        404,
        "resource_not_found",
    )
    assert error_of(other_tenant.delete(f"/v1/users/{reggie.id}")) == (404, "resource_not_found")
    assert acme.count(User, username="reggie", role=Role.REGULAR) == 1


# ------------------------------------------------------------------ create


def test_an_admin_creates_a_user(acme, admin):
    response = admin.post("/v1/users", new_user(role="admin"), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == FULL_KEYS
    assert OBJECT_ID.match(body["_id"])
    assert body["username"] == "newbie"
    assert body["email"] == "newbie@example.org"
    assert body["role"] == "admin"
    assert_utc_timestamp(body["timestamp"])
    assert_utc_timestamp(body["lastmod"])
    created = acme.user("newbie")
    assert created.id == body["_id"]
    assert created.role == Role.ADMIN
    assert created.check_password(NEW_PASSWORD)
    assert_no_password_anywhere(response, created)


def test_a_created_user_is_regular_unless_a_role_is_given(acme, admin):
    payload = new_user()
    del payload["role"]

    response = admin.post("/v1/users", payload, format="json")

    assert response.status_code == 201, response.content
    assert response.json()["role"] == "regular"
    assert acme.count(User, username="newbie", role=Role.REGULAR) == 1


def test_a_user_can_be_created_through_the_trailing_slash_url(acme, admin):
    response = admin.post("/v1/users/", new_user(), format="json")

    assert response.status_code == 201, response.content
    assert acme.count(User, username="newbie") == 1


def test_a_regular_user_cannot_create_users(acme, owner):
    response = owner.post("/v1/users", new_user(), format="json")

    assert error_of(response) == (403, "restricted_access_create")
    assert acme.count(User, username="newbie") == 0
    assert acme.count(User) == 3


def test_a_duplicate_username_is_a_conflict(acme, admin):
    response = admin.post("/v1/users", new_user(username="reggie", email="other@example.org"), format="json")

    assert error_of(response) == (409, "conflict")
    assert "username" in response.json()["details"]
    assert acme.count(User, username="reggie") == 1
    assert acme.count(User, email="other@example.org") == 0


@pytest.mark.parametrize("email", ["reggie@example.org", "Reggie@EXAMPLE.org"])
def test_a_duplicate_email_is_a_conflict_even_in_another_case(acme, admin, email):
    response = admin.post("/v1/users", new_user(email=email), format="json")

    assert error_of(response) == (409, "conflict")
    assert "email" in response.json()["details"]
    assert acme.count(User, username="newbie") == 0
    assert acme.count(User, email__iexact="reggie@example.org") == 1


@pytest.mark.parametrize(
    ("username", "password", "rule"),
    [
        ("shorty", "x7#kQ9z", "too short"),
        ("commoner", "password123", "too common"),
        ("numeric", "8051946237", "entirely numeric"),
        ("marguerite", "marguerite1", "too similar to the username"),
    ],
)
def test_a_weak_password_is_refused_naming_the_rule(acme, admin, username, password, rule):
    response = admin.post(
        "/v1/users", new_user(username=username, password=password, email="weak@example.org"), format="json"
    )

    assert error_of(response) == (400, "post_request_error")
    details = response.json()["details"]
    assert "password" in details
    assert rule in details
    assert password not in details
    assert acme.count(User, username=username) == 0


@pytest.mark.parametrize(
    ("field", "value"),
    [("_id", "0123456789abcdef01234567"), ("is_active", False), ("password_hash", "md5$salt$abc")],
)
def test_unknown_fields_are_refused_naming_them(acme, admin, field, value):
    response = admin.post("/v1/users", new_user(**{field: value}), format="json")

    assert error_of(response) == (400, "post_request_error")
    assert field in response.json()["details"]
    assert acme.count(User, username="newbie") == 0


def test_an_invalid_role_is_refused(acme, admin):
    response = admin.post("/v1/users", new_user(role="superuser"), format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "role" in response.json()["details"]
    assert acme.count(User, username="newbie") == 0


def test_a_username_shaped_like_an_id_is_refused(acme, admin):
    id_like = "0123456789abcdef01234567"

    response = admin.post("/v1/users", new_user(username=id_like), format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "username" in response.json()["details"]
    assert acme.count(User, username=id_like) == 0


# ------------------------------------------------------------------ update


def test_a_regular_user_changes_their_own_email(acme, owner):
    response = owner.put("/v1/users/reggie", {"email": "reggie.new@example.org"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["email"] == "reggie.new@example.org"
    assert acme.user("reggie").email == "reggie.new@example.org"


def test_a_regular_user_changes_their_own_password(acme, owner):
    response = owner.put("/v1/users/reggie", {"password": NEW_PASSWORD}, format="json")

    assert response.status_code == 200, response.content
    assert_no_password_anywhere(response, acme.user("reggie"))
    reggie = acme.user("reggie")
    assert reggie.check_password(NEW_PASSWORD)
    assert not reggie.check_password(PASSWORD)


def test_a_regular_user_cannot_change_someone_else(acme, owner):
    olive = acme.user("olive")

    response = owner.put(f"/v1/users/{olive.id}", {"email": "stolen@example.org"}, format="json")

    assert error_of(response) == (403, "restricted_access_modify")
    assert acme.user("olive").email == "olive@example.org"


def test_a_regular_user_cannot_change_someone_elses_password(acme, owner):
    response = owner.put("/v1/users/olive", {"password": NEW_PASSWORD}, format="json")

    assert error_of(response) == (403, "restricted_access_modify")
    assert acme.user("olive").check_password(PASSWORD)


def test_a_regular_user_cannot_change_their_own_role(acme, owner):
    response = owner.put("/v1/users/reggie", {"role": "admin"}, format="json")

    assert error_of(response) == (403, "restricted_access_modify")
    assert acme.user("reggie").role == Role.REGULAR


def test_an_admin_changes_the_role_and_email_of_another_user(acme, admin):
    response = admin.put("/v1/users/reggie", {"role": "admin", "email": "reggie.boss@example.org"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["role"] == "admin"
    assert response.json()["email"] == "reggie.boss@example.org"
    reggie = acme.user("reggie")
    assert reggie.role == Role.ADMIN
    assert reggie.email == "reggie.boss@example.org"


def test_an_admin_changes_another_users_password(acme, admin):
    response = admin.put("/v1/users/olive", {"password": NEW_PASSWORD}, format="json")

    assert response.status_code == 200, response.content
    assert acme.user("olive").check_password(NEW_PASSWORD)


def test_a_user_can_be_changed_through_the_trailing_slash_url(acme, admin):
    response = admin.put("/v1/users/reggie/", {"email": "slash@example.org"}, format="json")

    assert response.status_code == 200, response.content
    assert acme.user("reggie").email == "slash@example.org"


@pytest.mark.parametrize("email", ["olive@example.org", "OLIVE@example.org"])
def test_changing_to_a_taken_email_is_a_conflict(acme, owner, email):
    response = owner.put("/v1/users/reggie", {"email": email}, format="json")

    assert error_of(response) == (409, "conflict")
    assert "email" in response.json()["details"]
    assert acme.user("reggie").email == "reggie@example.org"


def test_a_weak_new_password_is_refused(acme, owner):
    response = owner.put("/v1/users/reggie", {"password": "password123"}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert "password" in response.json()["details"]
    assert acme.user("reggie").check_password(PASSWORD)


def test_an_empty_update_is_refused(acme, admin):
    response = admin.put("/v1/users/reggie", {}, format="json")

    assert error_of(response) == (400, "put_request_error")


def test_an_update_cannot_set_unknown_fields(acme, admin):
    response = admin.put("/v1/users/reggie", {"is_active": False}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert "is_active" in response.json()["details"]
    assert acme.count(User, username="reggie", is_active=True) == 1


def test_the_last_admin_cannot_be_demoted(acme, admin):
    response = admin.put("/v1/users/ada", {"role": "regular"}, format="json")

    assert error_of(response) == (409, "conflict")
    assert acme.user("ada").role == Role.ADMIN


def test_an_admin_can_be_demoted_while_another_admin_remains(acme, admin):
    acme.add_user("second", role=Role.ADMIN)

    response = admin.put("/v1/users/second", {"role": "regular"}, format="json")

    assert response.status_code == 200, response.content
    assert acme.user("second").role == Role.REGULAR


# ------------------------------------------------------------------ delete


def test_an_admin_deletes_a_user_and_gets_it_back(acme, admin):
    olive = acme.user("olive")

    response = admin.delete(f"/v1/users/{olive.id}")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == FULL_KEYS
    assert body["_id"] == olive.id
    assert body["username"] == "olive"
    assert body["email"] == "olive@example.org"
    assert body["role"] == "regular"
    assert_no_password_anywhere(response, olive)
    assert acme.count(User, pk=olive.id) == 0


def test_a_user_can_be_deleted_through_the_trailing_slash_url(acme, admin):
    olive = acme.user("olive")

    response = admin.delete(f"/v1/users/{olive.id}/")

    assert response.status_code == 200, response.content
    assert acme.count(User, pk=olive.id) == 0


def test_a_regular_user_cannot_delete_users(acme, owner):
    olive = acme.user("olive")

    response = owner.delete(f"/v1/users/{olive.id}")

    assert error_of(response) == (403, "restricted_access_delete")
    assert acme.count(User, pk=olive.id) == 1


def test_a_regular_user_cannot_delete_themselves(acme, owner):
    reggie = acme.user("reggie")

    assert error_of(owner.delete(f"/v1/users/{reggie.id}")) == (403, "restricted_access_delete")
    assert acme.count(User, pk=reggie.id) == 1


def test_the_last_admin_cannot_be_deleted(acme, admin):
    ada = acme.user("ada")

    response = admin.delete(f"/v1/users/{ada.id}")

    assert error_of(response) == (409, "conflict")
    assert acme.count(User, pk=ada.id, role=Role.ADMIN) == 1


def test_deleting_an_unknown_user_is_a_404(acme, admin):
    assert error_of(admin.delete("/v1/users/0123456789abcdef01234567")) == (404, "resource_not_found")
    assert acme.count(User) == 3


# ------------------------------------------------------------------ hashes never leak


@pytest.mark.parametrize("select", [["password"], ["password", "email"], ["password_hash", "hash"]])
def test_selecting_password_fields_never_reveals_a_hash(acme, admin, select):
    response = admin.get("/v1/users", {"select": json.dumps(select)})

    assert response.status_code == 200, response.content
    assert_no_password_anywhere(response, *(acme.user(name) for name in ("ada", "reggie", "olive")))
    for doc in response.json()["docs"]:
        assert set(doc) <= {"_id", "email"}


def test_a_regular_user_selecting_password_sees_no_hash_even_of_themselves(acme, owner):
    response = owner.get("/v1/users", {"select": '["password","email"]'})

    assert response.status_code == 200, response.content
    assert_no_password_anywhere(response, *(acme.user(name) for name in ("ada", "reggie", "olive")))
    docs = by_id_as_username(response, acme)
    assert docs["reggie"] == {"_id": acme.user("reggie").id, "email": "reggie@example.org"}
    assert docs["olive"] == {"_id": acme.user("olive").id}


def test_lists_and_single_users_never_contain_a_hash(acme, admin):
    users = [acme.user(name) for name in ("ada", "reggie", "olive")]

    assert_no_password_anywhere(admin.get("/v1/users"), *users)
    assert_no_password_anywhere(admin.get("/v1/users/reggie"), *users)


def test_filtering_on_the_password_is_refused(acme, admin):
    response = admin.get("/v1/users", {"filter": json.dumps({"password": {"$regex": "^md5"}})})

    assert error_of(response) == (400, "invalid_filter")
    assert "password" in response.json()["details"]


# ------------------------------------------------------------------ filter, sort, page, limit, select


@pytest.mark.parametrize("field", ["email", "role"])
def test_a_regular_user_cannot_filter_on_hidden_fields(acme, owner, field):
    response = owner.get("/v1/users", {"filter": json.dumps({field: "x"})})

    assert error_of(response) == (400, "invalid_filter")
    assert field in response.json()["details"]


def test_a_regular_user_cannot_sort_on_hidden_fields(acme, owner):
    response = owner.get("/v1/users", {"sort": json.dumps({"email": "asc"})})

    assert error_of(response) == (400, "invalid_list_parameter")
    assert "email" in response.json()["details"]


def test_an_admin_filters_users_by_role(acme, admin):
    docs = by_username(admin.get("/v1/users", {"filter": json.dumps({"role": "admin"})}))

    assert set(docs) == {"ada"}


def test_an_admin_filters_users_by_email(acme, admin):
    docs = by_username(admin.get("/v1/users", {"filter": json.dumps({"email": "olive@example.org"})}))

    assert set(docs) == {"olive"}


def test_users_can_be_sorted_by_username(acme, admin):
    ascending = admin.get("/v1/users", {"sort": json.dumps({"username": "asc"})})
    descending = admin.get("/v1/users", {"sort": json.dumps({"username": -1})})

    assert [doc["username"] for doc in ascending.json()["docs"]] == ["ada", "olive", "reggie"]
    assert [doc["username"] for doc in descending.json()["docs"]] == ["reggie", "olive", "ada"]


def test_sorting_on_an_unknown_field_is_refused(acme, admin):
    response = admin.get("/v1/users", {"sort": json.dumps({"shoe_size": "asc"})})

    assert error_of(response) == (400, "invalid_list_parameter")
    assert "shoe_size" in response.json()["details"]


def test_a_small_limit_splits_the_list_into_pages(acme, admin):
    first = admin.get("/v1/users", {"limit": "2", "sort": '{"username": "asc"}'}).json()
    second = admin.get("/v1/users", {"limit": "2", "page": "2", "sort": '{"username": "asc"}'}).json()

    assert [doc["username"] for doc in first["docs"]] == ["ada", "olive"]
    assert first["totalDocs"] == 3
    assert first["limit"] == 2
    assert first["totalPages"] == 2
    assert first["hasNextPage"] is True
    assert first["nextPage"] == 2
    assert first["hasPrevPage"] is False
    assert first["prevPage"] is None
    assert [doc["username"] for doc in second["docs"]] == ["reggie"]
    assert second["page"] == 2
    assert second["pagingCounter"] == 3
    assert second["hasNextPage"] is False
    assert second["nextPage"] is None
    assert second["hasPrevPage"] is True
    assert second["prevPage"] == 1


def test_a_page_past_the_end_is_empty(acme, admin):
    body = admin.get("/v1/users", {"limit": "2", "page": "5"}).json()

    assert body["docs"] == []
    assert body["totalDocs"] == 3


def test_a_huge_limit_is_capped_at_100(acme, admin):
    body = admin.get("/v1/users", {"limit": "1000"}).json()

    assert body["limit"] == 100
    assert len(body["docs"]) == 3


@pytest.mark.parametrize(
    ("name", "value"), [("limit", "0"), ("limit", "-3"), ("limit", "abc"), ("page", "0"), ("page", "abc")]
)
def test_bad_limit_and_page_values_are_refused(acme, admin, name, value):
    response = admin.get("/v1/users", {name: value})

    assert error_of(response) == (400, "invalid_list_parameter")
    assert name in response.json()["details"]


@pytest.mark.parametrize("select", ["email", '{"email": 1}', '"email"', "[1, 2]"])
def test_a_select_that_is_not_a_json_array_of_names_is_refused(acme, admin, select):
    response = admin.get("/v1/users", {"select": select})

    assert error_of(response) == (400, "invalid_list_parameter")
    assert "select" in response.json()["details"]


def test_select_narrows_documents_and_always_keeps_the_id(acme, admin):
    response = admin.get("/v1/users", {"select": '["username", "nonsense"]'})

    assert response.status_code == 200, response.content
    assert all(set(doc) == {"_id", "username"} for doc in response.json()["docs"])
