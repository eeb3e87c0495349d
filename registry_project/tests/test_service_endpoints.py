"""GET /v1/version and GET /v1/info (§7): what a client may know about the installation, and nothing more."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from django.conf import settings

from testing.helpers import error_of

SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?(?:\+[0-9A-Za-z.-]+)?$")
INFO_KEYS = {
    "version",
    "environment",
    "database",
    "storage",
    "user",
    "tenant",
    "token_expiration_time",
    "token_renew_time",
    "server_time",
}


# ------------------------------------------------------------------ /v1/version


def test_anyone_can_read_the_version(anonymous):
    response = anonymous.get("/v1/version")

    assert response.status_code == 200
    assert set(response.json()) == {"version"}
    assert SEMVER.match(response.json()["version"])


def test_the_version_answers_with_a_trailing_slash_too(anonymous):
    response = anonymous.get("/v1/version/")

    assert response.status_code == 200
    assert response.json() == anonymous.get("/v1/version").json()


def test_the_version_ignores_a_token_it_does_not_need(admin):
    response = admin.get("/v1/version")

    assert response.status_code == 200
    assert SEMVER.match(response.json()["version"])


# ------------------------------------------------------------------ /v1/info


def test_info_needs_a_token(anonymous):
    assert error_of(anonymous.get("/v1/info")) == (401, "unauthorized")


def test_info_refuses_a_garbage_token(anonymous):
    anonymous.credentials(HTTP_AUTHORIZATION="JWT abc")

    assert error_of(anonymous.get("/v1/info")) == (401, "unauthorized")


def test_info_is_not_opened_by_the_api_token(superuser):
    assert error_of(superuser.get("/v1/info")) == (401, "unauthorized")


def test_info_lists_exactly_the_documented_fields(admin):
    response = admin.get("/v1/info")

    assert response.status_code == 200
    assert set(response.json()) == INFO_KEYS


def test_info_answers_with_a_trailing_slash_too(admin):
    response = admin.get("/v1/info/")

    assert response.status_code == 200
    assert set(response.json()) == INFO_KEYS


def test_info_names_the_callers_tenant(admin, other_tenant):
    assert admin.get("/v1/info").json()["tenant"] == "acme"
    assert other_tenant.get("/v1/info").json()["tenant"] == "globex"


def test_info_is_open_to_regular_users(owner):
    response = owner.get("/v1/info")

    assert response.status_code == 200
    assert response.json()["tenant"] == "acme"


def test_info_says_who_the_caller_is(owner, admin, acme):
    assert owner.get("/v1/info").json()["user"] == {
        "_id": acme.user("reggie").pk,
        "username": "reggie",
        "role": "regular",
    }
    assert admin.get("/v1/info").json()["user"]["role"] == "admin"


def test_info_describes_the_installation_by_name(anonymous, admin):
    info = admin.get("/v1/info").json()

    assert info["version"] == anonymous.get("/v1/version").json()["version"]
    assert info["environment"] == settings.ENVIRONMENT
    assert info["database"] in ("sqlite", "postgresql")
    assert info["storage"] in ("local", "s3")
    assert info["token_expiration_time"] == settings.JWT_EXPIRATIONTIME_TEXT
    assert info["token_renew_time"] == settings.JWT_RENEW_EXPIRATIONTIME_TEXT


def test_info_tells_the_server_time_in_utc(admin):
    server_time = admin.get("/v1/info").json()["server_time"]

    parsed = datetime.fromisoformat(server_time.replace("Z", "+00:00"))
    assert parsed.utcoffset() == timedelta(0)


@pytest.mark.parametrize(
    "secret",
    [
        lambda: settings.API_TOKEN,
        lambda: settings.JWT_SECRET,
        lambda: settings.SECRET_KEY,
        lambda: str(settings.DATA_DIR),
        lambda: str(settings.BASE_DIR),
        lambda: str(settings.UPLOAD_PATH),
        lambda: str(settings.DATABASES["default"]["NAME"]),
        lambda: settings.DATABASES["default"].get("PASSWORD") or "no-password-configured-0123456789",
        lambda: settings.DATABASES["default"].get("HOST") or "no-host-configured-0123456789",
    ],
)
def test_info_reveals_no_path_host_or_secret(admin, secret):
    body = admin.get("/v1/info").content.decode()

    assert secret() not in body


def test_info_reveals_no_filesystem_path_or_url(admin):
    info = admin.get("/v1/info").json()

    for name, value in info.items():
        if name != "server_time":
            assert "/" not in str(value), name
            assert "://" not in str(value), name
