"""``POST /v1/login`` (and ``/login``), ``PUT /v1/login``, and what a token is worth afterwards (contract §1.1)."""

from __future__ import annotations

import datetime
import time

import jwt
import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from tenants_app import services, tenancy
from tenants_app.models import User
from tenants_app.tokens import RegistryToken
from testing.helpers import PASSWORD, error_of

NEW_PASSWORD = "a brand new passphrase 42"


def login(
    client: APIClient, username: str, password: str = PASSWORD, tenant: str | None = "acme", url: str = "/v1/login"
):
    body = {"username": username, "password": password}
    if tenant is not None:
        body["tenant"] = tenant
    return client.post(url, body, format="json")


def claims_of(token: str) -> dict:
    """The claims of a ``JWT <jwt>`` (or bare) token, without checking its signature."""
    raw = token.removeprefix("JWT ")
    return jwt.decode(raw, options={"verify_signature": False})


def with_token(authorization: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization)
    return client


def tampered(raw: str, segment: int) -> str:
    """The JWT with one character changed in the middle of its payload (1) or signature (2)."""
    parts = raw.split(".")
    middle = len(parts[segment]) // 2
    old = parts[segment][middle]
    parts[segment] = parts[segment][:middle] + ("A" if old != "A" else "B") + parts[segment][middle + 1 :]
    return ".".join(parts)


def expired_token(tenant, user, refresh_exp: int | None = None) -> str:
    token = RegistryToken.issue(tenant, user)
    token.set_exp(lifetime=datetime.timedelta(seconds=-10))
    if refresh_exp is not None:
        token.payload["refresh_exp"] = refresh_exp
    return str(token)


def audit_log(admin: APIClient) -> list[dict]:
    response = admin.get("/v1/log?limit=100")
    assert response.status_code == 200, response.content
    return response.json()["docs"]


# ------------------------------------------------------------------ signing in


@pytest.mark.parametrize("url", ["/v1/login", "/v1/login/", "/login", "/login/"])
def test_a_user_signs_in_and_gets_their_profile_and_a_token(acme, anonymous, url):
    response = login(anonymous, "reggie", url=url)

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"user", "token", "token_expiration_time"}
    reggie = acme.user("reggie")
    assert body["user"] == {
        "_id": reggie.id,
        "username": "reggie",
        "email": "reggie@example.org",
        "role": "regular",
        # the password's age, as the original registry's login answered it
        "createdPassword": reggie.password_created.isoformat().replace("+00:00", "Z"),
        "validityPasswordDays": 0,
        "passwordExpires": None,
    }
    assert body["token"].startswith("JWT ")
    assert body["token_expiration_time"] == settings.JWT_EXPIRATIONTIME_TEXT


def test_the_token_works_verbatim_as_the_authorization_header(acme, anonymous):
    token = login(anonymous, "ada").json()["token"]

    response = with_token(token).get("/v1/info")

    assert response.status_code == 200, response.content
    assert response.json()["tenant"] == "acme"


def test_the_token_also_works_as_a_bearer_token(acme, anonymous):
    raw = login(anonymous, "ada").json()["token"].removeprefix("JWT ")

    response = with_token(f"Bearer {raw}").get("/v1/info")

    assert response.status_code == 200, response.content
    assert response.json()["tenant"] == "acme"


def test_a_token_in_the_query_string_is_ignored(acme, anonymous):
    raw = login(anonymous, "ada").json()["token"].removeprefix("JWT ")

    assert error_of(anonymous.get(f"/v1/info?token={raw}")) == (401, "unauthorized")
    assert error_of(anonymous.get(f"/v1/info?token=JWT%20{raw}")) == (401, "unauthorized")


def test_a_login_without_tenant_signs_in_to_the_default_tenant(anonymous):
    tenant, created = services.ensure_default_tenant()
    assert created

    response = anonymous.post(  # the first password is temporary: the first login replaces it
        "/v1/login",
        {
            "username": settings.DEFAULT_TENANT_ADMIN_USERNAME,
            "password": settings.DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD,
            "new_password": NEW_PASSWORD,
        },
        format="json",
    )

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["username"] == settings.DEFAULT_TENANT_ADMIN_USERNAME
    assert body["user"]["role"] == "admin"
    assert claims_of(body["token"])["tenant"] == settings.DEFAULT_TENANT == tenant.id
    assert with_token(body["token"]).get("/v1/info").json()["tenant"] == settings.DEFAULT_TENANT


def test_a_login_without_tenant_does_not_reach_other_tenants(acme, anonymous):
    services.ensure_default_tenant()

    assert error_of(login(anonymous, "ada", tenant=None)) == (401, "authentication_error")


# ------------------------------------------------------------------ failures


def test_unknown_tenant_unknown_user_and_wrong_password_are_indistinguishable(acme, anonymous):
    unknown_tenant = login(anonymous, "ada", tenant="initech")
    unknown_user = login(anonymous, "nobody")
    wrong_password = login(anonymous, "ada", "not the password at all")

    assert error_of(unknown_tenant) == (401, "authentication_error")
    assert error_of(unknown_user) == (401, "authentication_error")
    assert error_of(wrong_password) == (401, "authentication_error")
    assert unknown_tenant.json() == unknown_user.json() == wrong_password.json()
    assert "token" not in wrong_password.json()


@pytest.mark.parametrize("missing", ["username", "password"])
def test_a_login_without_username_or_password_is_a_bad_request(acme, anonymous, missing):
    body = {"username": "ada", "password": PASSWORD, "tenant": "acme"}
    del body[missing]

    response = anonymous.post("/v1/login", body, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert missing in response.json()["details"]


def test_a_login_with_malformed_json_is_invalid_json(acme, anonymous):
    response = anonymous.post("/v1/login", data='{"username": "ada", "password": ', content_type="application/json")

    assert error_of(response) == (400, "invalid_json")


def test_a_login_with_an_unknown_field_is_a_bad_request_naming_it(acme, anonymous):
    body = {"username": "ada", "password": PASSWORD, "tenant": "acme", "remember_me": True}

    response = anonymous.post("/v1/login", body, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "remember_me" in response.json()["details"]


# ------------------------------------------------------------------ tenant in the token


def test_the_token_names_the_tenant_it_was_issued_for(acme, globex, anonymous):
    acme_token = login(anonymous, "ada").json()["token"]
    globex_token = login(anonymous, "gus", tenant="globex").json()["token"]

    assert claims_of(acme_token)["tenant"] == "acme"
    assert claims_of(acme_token)["user_id"] == acme.user("ada").id
    assert claims_of(globex_token)["tenant"] == "globex"


def test_an_acme_token_never_reaches_globex_data(acme, globex, anonymous):
    client = with_token(login(anonymous, "ada").json()["token"])

    users = client.get("/v1/users?limit=100")

    assert users.status_code == 200, users.content
    assert sorted(u["username"] for u in users.json()["docs"]) == ["ada", "olive", "reggie"]
    assert error_of(client.get("/v1/users/gus")) == (404, "resource_not_found")
    assert error_of(client.get(f"/v1/users/{globex.user('gus').id}")) == (404, "resource_not_found")
    assert client.get("/v1/info").json()["tenant"] == "acme"


def test_a_signed_acme_token_retargeted_at_globex_is_refused(acme, globex):
    token = RegistryToken.issue(acme.tenant, acme.user("ada"))
    token["tenant"] = "globex"  # signed with the real key, but acme's incarnation uid stays in the token

    response = with_token(f"JWT {token}").get("/v1/users")

    assert error_of(response) == (401, "unauthorized")


# ------------------------------------------------------------------ bad tokens


@pytest.mark.parametrize("segment", [1, 2], ids=["payload", "signature"])
def test_a_tampered_token_is_unauthorized(acme, anonymous, segment):
    raw = login(anonymous, "ada").json()["token"].removeprefix("JWT ")

    response = with_token(f"JWT {tampered(raw, segment)}").get("/v1/info")

    assert error_of(response) == (401, "unauthorized")
    assert with_token(f"JWT {raw}").get("/v1/info").status_code == 200


def test_an_expired_token_is_token_expired(acme):
    token = expired_token(acme.tenant, acme.user("ada"))

    assert error_of(with_token(f"JWT {token}").get("/v1/info")) == (401, "token_expired")


def test_a_token_dies_when_its_user_changes_password(acme, anonymous):
    token = login(anonymous, "reggie").json()["token"]
    reggie = with_token(token)

    changed = reggie.put(f"/v1/users/{acme.user('reggie').id}", {"password": NEW_PASSWORD}, format="json")

    assert changed.status_code == 200, changed.content
    assert error_of(reggie.get("/v1/info")) == (401, "unauthorized")
    assert error_of(login(anonymous, "reggie")) == (401, "authentication_error")
    assert login(anonymous, "reggie", NEW_PASSWORD).status_code == 200


def test_a_token_dies_when_its_user_is_deleted(acme, admin, anonymous):
    token = login(anonymous, "reggie").json()["token"]

    deleted = admin.delete(f"/v1/users/{acme.user('reggie').id}")

    assert deleted.status_code == 200, deleted.content
    assert acme.count(User, username="reggie") == 0
    assert error_of(with_token(token).get("/v1/info")) == (401, "unauthorized")


def test_a_token_dies_when_its_tenant_is_deleted(acme, superuser, anonymous):
    token = login(anonymous, "ada").json()["token"]

    deleted = superuser.delete("/v1/tenants/acme")

    assert deleted.status_code == 200, deleted.content
    assert tenancy.find_tenant("acme") is None
    assert error_of(with_token(token).get("/v1/info")) == (401, "unauthorized")


# ------------------------------------------------------------------ renewal


def test_a_valid_token_is_renewed(acme, anonymous):
    token = login(anonymous, "reggie").json()["token"]

    response = with_token(token).put("/v1/login")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"user", "token", "token_expiration_time"}
    reggie = acme.user("reggie")
    assert body["user"] == {
        "_id": reggie.id,
        "username": "reggie",
        "email": "reggie@example.org",
        "role": "regular",
        "createdPassword": reggie.password_created.isoformat().replace("+00:00", "Z"),
        "validityPasswordDays": 0,
        "passwordExpires": None,
    }
    assert body["token_expiration_time"] == settings.JWT_EXPIRATIONTIME_TEXT
    assert body["token"].startswith("JWT ")
    assert claims_of(body["token"])["tenant"] == "acme"
    assert with_token(body["token"]).get("/v1/info").status_code == 200


@pytest.mark.parametrize("url", ["/v1/login", "/v1/login/"])
def test_an_expired_token_inside_the_renew_window_is_renewed(acme, url):
    expired = expired_token(acme.tenant, acme.user("reggie"))

    response = with_token(f"JWT {expired}").put(url)

    assert response.status_code == 200, response.content
    renewed = response.json()["token"]
    assert claims_of(renewed)["exp"] > time.time()
    info = with_token(renewed).get("/v1/info")
    assert info.status_code == 200, info.content
    assert info.json()["tenant"] == "acme"


def test_a_token_past_its_renew_window_is_not_renewed(acme):
    expired = expired_token(acme.tenant, acme.user("reggie"), refresh_exp=int(time.time()) - 10)

    response = with_token(f"JWT {expired}").put("/v1/login")

    assert error_of(response)[0] == 401
    assert "token" not in response.json()


def test_renewal_keeps_the_renew_window_of_the_original_login(acme, anonymous):
    original = login(anonymous, "reggie").json()["token"]

    renewed = with_token(original).put("/v1/login").json()["token"]
    renewed_again = with_token(renewed).put("/v1/login").json()["token"]

    assert claims_of(renewed)["refresh_exp"] == claims_of(original)["refresh_exp"]
    assert claims_of(renewed_again)["refresh_exp"] == claims_of(original)["refresh_exp"]
    assert claims_of(renewed_again)["orig_iat"] == claims_of(original)["orig_iat"]


def test_renewal_does_not_extend_a_window_that_is_about_to_close(acme):
    closing = int(time.time()) + 60
    token = RegistryToken.issue(acme.tenant, acme.user("reggie"))
    token.payload["refresh_exp"] = closing

    response = with_token(f"JWT {token}").put("/v1/login")

    assert response.status_code == 200, response.content
    assert claims_of(response.json()["token"])["refresh_exp"] == closing


def test_a_token_of_a_deleted_user_is_not_renewed(acme, admin, anonymous):
    token = login(anonymous, "reggie").json()["token"]
    assert admin.delete(f"/v1/users/{acme.user('reggie').id}").status_code == 200

    response = with_token(token).put("/v1/login")

    assert error_of(response) == (401, "unauthorized")


def test_renewal_without_a_token_is_unauthorized(acme, anonymous):
    assert error_of(anonymous.put("/v1/login")) == (401, "unauthorized")


def test_a_tampered_token_is_not_renewed(acme, anonymous):
    raw = login(anonymous, "reggie").json()["token"].removeprefix("JWT ")

    assert error_of(with_token(f"JWT {tampered(raw, 2)}").put("/v1/login")) == (401, "unauthorized")


# ------------------------------------------------------------------ throttling and audit


def test_repeated_failures_lock_the_account_even_for_the_right_password(acme, anonymous):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        assert error_of(login(anonymous, "reggie", "wrong password!")) == (401, "authentication_error")

    response = login(anonymous, "reggie")

    assert error_of(response) == (429, "too_many_requests")
    assert response["Retry-After"].isdigit()
    assert int(response["Retry-After"]) > 0
    assert "token" not in response.json()


def test_a_locked_account_does_not_lock_other_accounts_of_the_same_client(acme, anonymous):
    for _ in range(settings.LOGIN_MAX_FAILURES):
        login(anonymous, "reggie", "wrong password!")
    assert error_of(login(anonymous, "reggie")) == (429, "too_many_requests")

    response = login(anonymous, "olive")

    assert response.status_code == 200, response.content
    assert response.json()["user"]["username"] == "olive"


def test_a_successful_login_resets_the_account_failure_count(acme, anonymous):
    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        login(anonymous, "reggie", "wrong password!")
    assert login(anonymous, "reggie").status_code == 200

    for _ in range(settings.LOGIN_MAX_FAILURES - 1):
        assert error_of(login(anonymous, "reggie", "wrong password!")) == (401, "authentication_error")
    response = login(anonymous, "reggie")

    assert response.status_code == 200, response.content


def test_failed_and_successful_logins_are_audited_without_passwords(acme, admin, anonymous):
    wrong = "wrong password, do not log me"
    assert login(anonymous, "reggie", wrong).status_code == 401
    assert login(anonymous, "reggie").status_code == 200

    log = audit_log(admin)
    logins = [(e["action"], e["target"], e["result"]) for e in log if e["action"] == "login"]

    assert ("login", "reggie", "failure") in logins
    assert ("login", "reggie", "success") in logins
    text = admin.get("/v1/log?limit=100").content.decode()
    assert wrong not in text
    assert PASSWORD not in text


# ------------------------------------------------------------------ password storage


def test_production_stores_passwords_with_argon2(acme, admin):
    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.Argon2PasswordHasher"]):
        response = admin.post(
            "/v1/users",
            {"username": "newton", "password": NEW_PASSWORD, "email": "newton@example.org"},
            format="json",
        )
        assert response.status_code == 201, response.content
        assert login(APIClient(), "newton", NEW_PASSWORD).status_code == 200

    stored = acme.user("newton").password
    assert stored.startswith("argon2")
    assert NEW_PASSWORD not in stored
    assert NEW_PASSWORD not in response.content.decode()
