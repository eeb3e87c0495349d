"""The error catalogue (GET /v1/errors) and the JSON envelope every failure under /v1/ answers with (§1.3)."""

from __future__ import annotations

import pytest
from django.test import Client

from tenants_app.models import User
from testing.helpers import error_of

SEED_VALUES = {
    "internal_server_error": 0,
    "generic_upload_error": 1,
    "generic_download_error": 2,
    "authentication_error": 3,
    "generic_request_error": 4,
    "post_request_error": 5,
    "get_request_error": 6,
    "delete_request_error": 7,
    "put_request_error": 8,
    "resource_not_found": 9,
    "restricted_access_read": 10,
    "restricted_access_create": 11,
    "restricted_access_modify": 12,
    "restricted_access_delete": 13,
}
ADDED_STATUSES = {
    "conflict": 409,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "too_many_requests": 429,
    "invalid_filter": 400,
    "unauthorized": 401,
}


# ------------------------------------------------------------------ the catalogue


def test_anyone_can_read_the_error_catalogue(anonymous):
    response = anonymous.get("/v1/errors")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/json")
    assert isinstance(response.json(), dict)


def test_the_catalogue_answers_with_a_trailing_slash_too(anonymous):
    assert anonymous.get("/v1/errors/").json() == anonymous.get("/v1/errors").json()


def test_every_catalogue_entry_has_status_value_and_message_but_no_details(anonymous):
    catalogue = anonymous.get("/v1/errors").json()

    for name, entry in catalogue.items():
        assert set(entry) == {"status", "value", "message"}, name
        assert isinstance(entry["status"], int), name
        assert 400 <= entry["status"] <= 599, name
        assert isinstance(entry["value"], int), name
        assert isinstance(entry["message"], str), name
        assert entry["message"], name


def test_every_error_has_its_own_value(anonymous):
    values = [entry["value"] for entry in anonymous.get("/v1/errors").json().values()]

    assert len(values) == len(set(values))


def test_the_catalogue_keeps_the_seed_names_and_values(anonymous):
    catalogue = anonymous.get("/v1/errors").json()

    assert {name: catalogue[name]["value"] for name in SEED_VALUES if name in catalogue} == SEED_VALUES


def test_the_catalogue_adds_the_errors_the_seed_was_missing(anonymous):
    catalogue = anonymous.get("/v1/errors").json()

    assert {name: catalogue[name]["status"] for name in ADDED_STATUSES if name in catalogue} == ADDED_STATUSES


def test_the_seed_errors_have_fitting_statuses(anonymous):
    catalogue = anonymous.get("/v1/errors").json()

    assert catalogue["internal_server_error"]["status"] == 500
    assert catalogue["authentication_error"]["status"] == 401
    assert catalogue["resource_not_found"]["status"] == 404
    assert {catalogue[f"restricted_access_{what}"]["status"] for what in ("read", "create", "modify", "delete")} == {
        403
    }


# ------------------------------------------------------------------ unknown routes


@pytest.mark.parametrize(
    ("method", "url"),
    [
        ("get", "/v1/nope"),
        ("post", "/v1/nope"),
        ("get", "/v1/nope/"),
        ("get", "/v1/users/x/y"),
        ("delete", "/v1/users/x/y"),
        ("get", "/v1"),
        ("get", "/v1/"),
    ],
)
def test_an_unknown_route_is_a_json_404(anonymous, method, url):
    response = getattr(anonymous, method)(url)

    assert response["Content-Type"].startswith("application/json")
    assert error_of(response) == (404, "resource_not_found")


def test_an_unknown_route_is_a_json_404_for_signed_in_users_too(admin):
    assert error_of(admin.get("/v1/users/x/y")) == (404, "resource_not_found")
    assert error_of(admin.post("/v1/nope", {}, format="json")) == (404, "resource_not_found")


def test_an_unknown_user_id_is_a_404(admin):
    assert error_of(admin.get("/v1/users/0123456789abcdef01234567")) == (404, "resource_not_found")


# ------------------------------------------------------------------ wrong methods


def test_patching_a_user_is_not_allowed(acme, admin):
    response = admin.patch(f"/v1/users/{acme.user('reggie').pk}", {"email": "r@example.org"}, format="json")

    assert error_of(response) == (405, "method_not_allowed")
    assert acme.user("reggie").email == "reggie@example.org"


def test_deleting_the_whole_user_collection_is_not_allowed(acme, admin):
    response = admin.delete("/v1/users")

    assert error_of(response) == (405, "method_not_allowed")
    assert acme.count(User) == 3


def test_posting_to_the_version_endpoint_is_not_allowed(anonymous):
    assert error_of(anonymous.post("/v1/version", {}, format="json")) == (405, "method_not_allowed")


# ------------------------------------------------------------------ bodies


def test_a_malformed_json_body_is_a_400_invalid_json(acme, admin):
    response = admin.post("/v1/users", data='{"username": "nina",', content_type="application/json")

    assert error_of(response) == (400, "invalid_json")
    assert acme.count(User, username="nina") == 0


def test_a_body_that_is_not_json_is_a_415(acme, admin):
    response = admin.post("/v1/users", data="username=nina", content_type="text/plain")

    assert error_of(response) == (415, "unsupported_media_type")
    assert acme.count(User, username="nina") == 0


def test_a_json_array_body_is_a_400(acme, admin):
    response = admin.post("/v1/users", data='[{"username": "nina"}]', content_type="application/json")

    status, _name = error_of(response)
    assert status == 400
    assert acme.count(User, username="nina") == 0


def test_a_json_body_over_the_size_limit_is_a_413_naming_the_limit_not_a_500(acme, admin, settings):
    body = {"username": "nina", "password": "x" * settings.DATA_UPLOAD_MAX_MEMORY_SIZE}

    response = admin.post("/v1/users", body, format="json")

    assert error_of(response) == (413, "payload_too_large")
    assert str(settings.DATA_UPLOAD_MAX_MEMORY_SIZE) in response.json()["details"]
    assert acme.count(User, username="nina") == 0


# ------------------------------------------------------------------ authentication


def test_a_request_without_a_token_is_a_401_unauthorized(anonymous):
    assert error_of(anonymous.get("/v1/users")) == (401, "unauthorized")


def test_a_garbage_token_is_a_401_unauthorized(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="JWT abc")

    assert error_of(anonymous.get("/v1/users")) == (401, "unauthorized")


def test_a_token_in_an_unknown_scheme_is_a_401_unauthorized(acme):
    client = acme.client("ada")
    client.credentials(HTTP_AUTHORIZATION=acme.token("ada").replace("JWT ", "Token ", 1))

    assert error_of(client.get("/v1/users")) == (401, "unauthorized")


# ------------------------------------------------------------------ unexpected failures


def test_an_unexpected_exception_in_a_view_is_a_500_envelope_without_internals(admin, monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret-detail")

    monkeypatch.setattr("tenants_app.api.views.UserViewSet.list", explode)

    response = admin.get("/v1/users")

    assert error_of(response) == (500, "internal_server_error")
    assert b"secret-detail" not in response.content
    assert b"Traceback" not in response.content
    assert b"RuntimeError" not in response.content


def test_an_unexpected_exception_outside_the_views_is_a_500_envelope_too(monkeypatch):
    def explode(*args, **kwargs):
        raise RuntimeError("secret-detail")

    monkeypatch.setattr("tenants_app.middleware.activate", explode)
    client = Client(raise_request_exception=False)

    response = client.get("/v1/version")

    assert error_of(response) == (500, "internal_server_error")
    assert b"secret-detail" not in response.content
    assert b"Traceback" not in response.content


@pytest.mark.parametrize(
    ("method", "url", "body", "content_type"),
    [
        ("get", "/v1/nope", None, None),
        ("patch", "/v1/users/x", "{}", "application/json"),
        ("post", "/v1/users", "{", "application/json"),
        ("post", "/v1/users", "x", "text/plain"),
        ("post", "/v1/users", "[]", "application/json"),
        ("post", "/v1/users", '{"username": 1}', "application/json"),
        ("get", "/v1/users?filter={", None, None),
        ("get", '/v1/users?filter={"$where":"1"}', None, None),
        ("get", "/v1/users?page=0", None, None),
        ("get", "/v1/users/0123456789abcdef01234567", None, None),
    ],
)
def test_no_error_body_ever_contains_a_traceback(admin, method, url, body, content_type):
    kwargs = {"data": body, "content_type": content_type} if body is not None else {}

    response = getattr(admin, method)(url, **kwargs)

    assert response.status_code >= 400
    assert b"Traceback" not in response.content
    assert b'File "' not in response.content
    error_of(response)
