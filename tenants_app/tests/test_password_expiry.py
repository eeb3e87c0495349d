"""Password expiry and temporary passwords (issue 20 item 5): ``validityPasswordDays``, the 401s of a login
with a password that no longer opens sessions, replacing it in one call (``POST /v1/login`` with
``new_password``) or on the sign-in page, and ``GET /v1/types/passwordStrength``."""

from __future__ import annotations

import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.conf import settings
from django.core import mail
from django.test import Client, override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from tenants_app import expiry, services, tenancy
from tenants_app.models import User
from testing.helpers import PASSWORD, entries_about, error_of, log_of, signed_in_client

NEW_PASSWORD = "a passphrase of my own 2027"
GUIDANCE = ("POST /v1/self/reset", '"new_password"')


def login(client: APIClient, username: str = "reggie", password: str = PASSWORD, **extra: Any) -> Any:
    body = {"tenant": "acme", "username": username, "password": password, **extra}
    return client.post("/v1/login", body, format="json")


def age_password(handle: Any, username: str, *, days: float, validity: int) -> None:
    """``username``'s password was set ``days`` ago and is valid ``validity`` days."""
    with tenancy.using_tenant(handle.tenant):
        User.objects.filter(username=username).update(
            password_created=timezone.now() - timedelta(days=days), validity_password_days=validity
        )


def make_temporary(handle: Any, username: str) -> None:
    with tenancy.using_tenant(handle.tenant):
        User.objects.filter(username=username).update(password_temporary=True)


# ------------------------------------------------------------------ expired passwords


def test_an_expired_password_gets_a_401_that_says_how_to_go_on(acme, anonymous):
    age_password(acme, "reggie", days=31, validity=30)

    response = login(anonymous)

    assert error_of(response) == (401, "password_expired")
    details = response.json()["details"]
    assert details.startswith("password: Password validity expired, please reset password")
    assert all(hint in details for hint in GUIDANCE)
    assert "token" not in response.json()


def test_an_expired_password_is_only_told_to_who_knows_it(acme, anonymous):
    age_password(acme, "reggie", days=31, validity=30)

    assert error_of(login(anonymous, password="not the password")) == (401, "authentication_error")


def test_a_refused_expired_login_is_in_the_audit_log(acme, anonymous, admin):
    age_password(acme, "reggie", days=31, validity=30)

    login(anonymous)

    [entry] = entries_about(log_of(admin), action="login", target="reggie")
    assert (entry["result"], entry["details"]) == ("denied", {"reason": "password expired"})


def test_a_validity_of_zero_days_never_expires(acme, anonymous):
    age_password(acme, "reggie", days=36500, validity=0)

    assert login(anonymous).status_code == 200


def test_a_password_within_its_validity_opens_a_session(acme, anonymous):
    age_password(acme, "reggie", days=29.99, validity=30)

    assert login(anonymous).status_code == 200


def test_a_password_is_valid_through_the_instant_it_expires_and_not_after(acme):
    user = acme.user("reggie")
    user.validity_password_days = 30
    deadline = user.password_created + timedelta(days=30)

    assert expiry.stale_reason(user, deadline) is None
    assert expiry.stale_reason(user, deadline + timedelta(microseconds=1)) == "expired"


def test_renewing_a_token_is_refused_once_the_password_has_expired(acme, anonymous):
    token = login(anonymous).json()["token"]
    age_password(acme, "reggie", days=31, validity=30)

    renewal = APIClient()
    renewal.credentials(HTTP_AUTHORIZATION=token)
    response = renewal.put("/v1/login", {}, format="json")

    assert error_of(response) == (401, "password_expired")
    assert all(hint in response.json()["details"] for hint in GUIDANCE)


def test_an_api_key_keeps_working_when_its_users_password_expires(acme, owner):
    key = owner.post("/v1/keys", {"name": "nightly", "scopes": ["write"]}, format="json").json()["key"]
    age_password(acme, "reggie", days=400, validity=30)
    pipeline = APIClient()
    pipeline.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")

    assert pipeline.post("/v1/models", {"name": "churn"}, format="json").status_code == 201


def test_another_tenants_users_are_unaffected(acme, globex, anonymous):
    age_password(acme, "ada", days=31, validity=30)
    make_temporary(acme, "reggie")

    response = anonymous.post("/v1/login", {"tenant": "globex", "username": "gus", "password": PASSWORD}, format="json")

    assert response.status_code == 200
    assert error_of(login(anonymous, "ada")) == (401, "password_expired")


# ------------------------------------------------------------------ temporary passwords


def test_a_temporary_password_gets_a_401_until_it_is_changed(acme, anonymous):
    make_temporary(acme, "reggie")

    first = login(anonymous)
    again = login(anonymous)

    assert error_of(first) == error_of(again) == (401, "password_change_required")
    assert all(hint in first.json()["details"] for hint in GUIDANCE)


def test_the_login_that_carries_a_new_password_changes_it_and_signs_in(acme, anonymous):
    make_temporary(acme, "reggie")

    response = login(anonymous, new_password=NEW_PASSWORD)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["token"].startswith("JWT ")
    assert body["user"]["username"] == "reggie"
    reggie = acme.user("reggie")
    assert reggie.check_password(NEW_PASSWORD)
    assert not reggie.password_temporary
    assert login(anonymous, password=NEW_PASSWORD).status_code == 200
    assert error_of(login(anonymous)) == (401, "authentication_error")  # the old one is gone


def test_changing_an_expired_password_restarts_its_validity(acme, anonymous):
    age_password(acme, "reggie", days=31, validity=30)

    response = login(anonymous, new_password=NEW_PASSWORD)

    assert response.status_code == 200
    reggie = acme.user("reggie")
    assert timezone.now() - reggie.password_created < timedelta(minutes=5)
    assert reggie.validity_password_days == 30
    assert login(anonymous, password=NEW_PASSWORD).status_code == 200


def test_a_change_with_the_wrong_current_password_is_refused_and_changes_nothing(acme, anonymous):
    make_temporary(acme, "reggie")

    response = login(anonymous, password="not the password", new_password=NEW_PASSWORD)

    assert error_of(response) == (401, "authentication_error")
    reggie = acme.user("reggie")
    assert reggie.check_password(PASSWORD)
    assert reggie.password_temporary


def test_a_new_password_that_breaks_the_rules_is_a_400_naming_it(acme, anonymous):
    make_temporary(acme, "reggie")

    response = login(anonymous, new_password="short")

    assert error_of(response) == (400, "post_request_error")
    assert response.json()["details"].startswith("new_password: ")
    assert "too short" in response.json()["details"]
    assert acme.user("reggie").password_temporary


def test_the_new_password_must_differ_from_the_current_one(acme, anonymous):
    make_temporary(acme, "reggie")

    response = login(anonymous, new_password=PASSWORD)

    assert error_of(response) == (400, "post_request_error")
    assert response.json()["details"] == "new_password: must differ from the current password"


def test_the_change_is_in_the_audit_log(acme, anonymous, admin):
    make_temporary(acme, "reggie")

    login(anonymous, new_password=NEW_PASSWORD)

    [change] = entries_about(log_of(admin), action="change", resource="password")
    assert (change["actor"], change["target"], change["result"]) == ("reggie", "reggie", "success")
    assert change["details"] == {"was": "temporary"}
    assert entries_about(log_of(admin), action="login", target="reggie", result="success")


def test_any_login_may_change_a_valid_password(acme, anonymous):
    response = login(anonymous, new_password=NEW_PASSWORD)

    assert response.status_code == 200
    assert acme.user("reggie").check_password(NEW_PASSWORD)


def test_the_reset_by_email_clears_a_temporary_password_and_restarts_its_validity(acme, anonymous):
    age_password(acme, "reggie", days=31, validity=30)
    make_temporary(acme, "reggie")
    anonymous.post("/v1/self/reset", {"tenant": "acme", "email": "reggie@example.org"}, format="json")
    for thread in threading.enumerate():  # the e-mail leaves from a thread
        if thread.name == "password-reset-mail":
            thread.join(timeout=10)
    token = mail.outbox[0].body.split("token=", 1)[1].split()[0]

    reset = anonymous.put("/v1/self", {"tenant": "acme", "reset": token, "password": NEW_PASSWORD}, format="json")

    assert reset.status_code == 200, reset.content
    assert login(anonymous, password=NEW_PASSWORD).status_code == 200


# ------------------------------------------------------------------ who is temporary: the admins' choices


def test_an_admin_can_make_a_new_users_password_temporary(acme, admin, anonymous):
    body = {"username": "grace", "password": PASSWORD, "email": "grace@example.org", "temporary": True}

    created = admin.post("/v1/users", body, format="json")

    assert created.status_code == 201, created.content
    assert created.json()["passwordTemporary"] is True
    assert error_of(login(anonymous, "grace")) == (401, "password_change_required")


def test_a_password_an_admin_sets_through_the_api_is_not_temporary_unless_said(acme, admin, anonymous):
    assert admin.put("/v1/users/reggie", {"password": NEW_PASSWORD}, format="json").status_code == 200
    assert login(anonymous, password=NEW_PASSWORD).status_code == 200

    assert admin.put("/v1/users/reggie", {"temporary": True}, format="json").json()["passwordTemporary"] is True
    assert error_of(login(anonymous, password=NEW_PASSWORD)) == (401, "password_change_required")


def test_regular_users_cannot_change_password_rules(acme, owner):
    for change in ({"temporary": False}, {"validityPasswordDays": 0}):
        response = owner.put("/v1/users/reggie", change, format="json")

        assert error_of(response) == (403, "restricted_access_modify")
        assert next(iter(change)) in response.json()["details"]


def test_a_service_account_has_no_temporary_password(acme, admin):
    response = admin.post("/v1/users", {"username": "ci-bot", "service": True, "temporary": True}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert response.json()["details"].startswith("temporary: ")


def test_the_bootstrap_admins_first_password_is_temporary(anonymous):
    services.ensure_default_tenant()
    first = {
        "username": settings.DEFAULT_TENANT_ADMIN_USERNAME,
        "password": settings.DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD,
    }

    assert error_of(anonymous.post("/v1/login", first, format="json")) == (401, "password_change_required")
    assert anonymous.post("/v1/login", {**first, "new_password": NEW_PASSWORD}, format="json").status_code == 200


# ------------------------------------------------------------------ validityPasswordDays in user documents


def test_an_admin_sets_a_users_validity_and_sees_it(acme, admin):
    response = admin.put("/v1/users/reggie", {"validityPasswordDays": 90}, format="json")

    assert response.status_code == 200
    document = response.json()
    assert document["validityPasswordDays"] == 90
    created = datetime.fromisoformat(document["createdPassword"])
    expires = datetime.fromisoformat(document["passwordExpires"])
    assert expires - created == timedelta(days=90)
    assert acme.user("reggie").validity_password_days == 90


@pytest.mark.parametrize("days", [-1, 36501, "soon", None])
def test_a_validity_outside_its_bounds_is_a_400_naming_it(acme, admin, days):
    response = admin.put("/v1/users/reggie", {"validityPasswordDays": days}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert response.json()["details"].startswith("validityPasswordDays: ")


def test_new_users_get_the_configured_default_validity(acme, admin):
    body = {"username": "grace", "password": PASSWORD, "email": "grace@example.org"}
    with override_settings(DEFAULT_DAYS_VALIDITY_PASSWORD=1092):
        created = admin.post("/v1/users", body, format="json").json()

    assert created["validityPasswordDays"] == 1092
    assert created["passwordTemporary"] is False


def test_the_password_age_is_shown_to_the_user_and_admins_only(acme, admin, owner, reader):
    own = owner.get("/v1/users/reggie").json()
    seen_by_admin = admin.get("/v1/users/reggie").json()
    seen_by_reader = reader.get("/v1/users/reggie").json()

    for document in (own, seen_by_admin):
        assert document["validityPasswordDays"] == 0
        assert document["passwordExpires"] is None
        assert document["createdPassword"].endswith("Z")
    assert set(seen_by_reader) == {"_id", "username"}


def test_the_login_answer_carries_the_password_age_as_the_original_did(acme, anonymous):
    age_password(acme, "reggie", days=10, validity=30)

    user = login(anonymous).json()["user"]

    assert user["validityPasswordDays"] == 30
    assert {"createdPassword", "passwordExpires"} <= set(user)
    assert "password" not in user


def test_admins_filter_users_on_the_password_age(acme, admin):
    age_password(acme, "reggie", days=31, validity=30)

    response = admin.get('/v1/users?filter={"validityPasswordDays": {"$gt": 0}}')

    assert [doc["username"] for doc in response.json()["docs"]] == ["reggie"]


# ------------------------------------------------------------------ /v1/types/passwordStrength


def test_the_password_policy_is_public_and_in_numbers(anonymous):
    with override_settings(DEFAULT_DAYS_VALIDITY_PASSWORD=1092):
        response = anonymous.get("/v1/types/passwordStrength")
        with_slash = anonymous.get("/v1/types/passwordStrength/")

    assert response.status_code == 200
    policy = response.json()
    assert policy["passwordStrength"] == policy["minLength"] == 10
    assert policy["ValidityPasswordDays"] == 1092
    assert policy["maxValidityPasswordDays"] == 36500
    assert any("10 characters" in rule for rule in policy["rules"])
    assert with_slash.json() == policy


def test_the_password_policy_follows_the_rules_the_passwords_pass(anonymous):
    validators = [
        {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator", "OPTIONS": {"min_length": 14}}
    ]
    with override_settings(AUTH_PASSWORD_VALIDATORS=validators):
        policy = anonymous.get("/v1/types/passwordStrength").json()

    assert policy["passwordStrength"] == 14


# ------------------------------------------------------------------ the sign-in page


def sign_in_page(client: Client, password: str = PASSWORD) -> Any:
    return client.post("/signin/", {"tenant": "acme", "username": "reggie", "password": password, "next": "/models/"})


def test_the_sign_in_page_asks_for_a_new_password_and_then_signs_in(acme):
    age_password(acme, "reggie", days=31, validity=30)
    browser = Client()

    asked = sign_in_page(browser)
    page = browser.get(asked["Location"])
    mismatch = browser.post(asked["Location"], {"password": NEW_PASSWORD, "again": "something else entirely"})
    changed = browser.post(asked["Location"], {"password": NEW_PASSWORD, "again": NEW_PASSWORD, "next": "/models/"})

    assert asked.status_code == 302
    assert asked["Location"].startswith("/signin/password/")
    assert "has expired" in page.content.decode()
    assert mismatch.status_code == 400
    assert "The two passwords differ." in mismatch.content.decode()
    assert (changed.status_code, changed["Location"]) == (302, "/models/")
    assert browser.get("/models/").status_code == 200
    assert acme.user("reggie").check_password(NEW_PASSWORD)


def test_the_new_password_step_needs_the_current_password_first(acme):
    make_temporary(acme, "reggie")
    browser = Client()

    response = browser.post("/signin/password/", {"password": NEW_PASSWORD, "again": NEW_PASSWORD})

    assert response.status_code == 302
    assert response["Location"].startswith("/signin/")
    assert acme.user("reggie").check_password(PASSWORD)


def test_the_new_password_step_cannot_be_replayed_after_the_change(acme):
    make_temporary(acme, "reggie")
    browser = Client()
    asked = sign_in_page(browser)
    copy = Client()
    copy.cookies = browser.cookies.copy()  # the signed session cookie, as it was after the first step
    browser.post(asked["Location"], {"password": NEW_PASSWORD, "again": NEW_PASSWORD})

    replayed = copy.post(asked["Location"], {"password": "yet another passphrase", "again": "yet another passphrase"})

    assert replayed.status_code == 302
    assert replayed["Location"].startswith("/signin/")
    assert acme.user("reggie").check_password(NEW_PASSWORD)


def test_the_sign_in_page_shows_a_wrong_password_as_before(acme):
    make_temporary(acme, "reggie")

    response = sign_in_page(Client(), password="not the password")

    assert response.status_code == 401
    assert "/signin/password/" not in response.get("Location", "")


def test_a_password_an_admin_resets_on_the_manage_page_is_temporary_when_ticked(acme, anonymous):
    ada = signed_in_client("acme", "ada")

    ada.post(f"/manage/users/{acme.user('reggie').pk}/password/", {"password": NEW_PASSWORD, "temporary": "on"})

    assert acme.user("reggie").password_temporary
    assert error_of(login(anonymous, password=NEW_PASSWORD)) == (401, "password_change_required")
