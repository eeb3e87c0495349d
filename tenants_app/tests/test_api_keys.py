"""API keys (contract §9.1): shown once, stored as a hash, held to their scopes, dead the moment they should be."""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from tenants_app import tenancy
from tenants_app.models import ApiKey, AuditEntry
from testing.helpers import PASSWORD, create_model, error_of, log_of, upload


def new_key(client: APIClient, name: str = "ci", scopes: tuple[str, ...] = ("read",), **fields) -> dict:
    response = client.post("/v1/keys", {"name": name, "scopes": list(scopes), **fields}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()


def with_key(text: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {text}")
    return client


@pytest.fixture
def reader_key(reader):
    return new_key(reader, "deploy", ("read",))["key"]


@pytest.fixture
def owner_write_key(owner):
    return new_key(owner, "train", ("write",))["key"]


# ------------------------------------------------------------------ creation: shown once, kept as a hash


def test_a_key_is_shown_once_with_a_recognisable_prefix_naming_its_tenant(owner):
    created = new_key(owner, "train", ("write",))

    assert created["key"].startswith(f"mrk_acme.{created['_id']}.")
    assert created["user"] == "reggie"
    assert created["scopes"] == ["write"]
    assert created["last_used"] is None
    assert "key" not in owner.get(f"/v1/keys/{created['_id']}").json()
    assert all("key" not in document for document in owner.get("/v1/keys").json()["docs"])


def test_only_the_sha256_of_the_secret_is_stored(owner, acme):
    created = new_key(owner)
    secret = created["key"].rsplit(".", 1)[1]

    with tenancy.using_tenant(acme.tenant):
        row = ApiKey.objects.get(pk=created["_id"])
    assert row.digest == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(vars(row))


def test_the_secret_never_reaches_the_audit_log_or_the_server_log(owner, admin, acme, caplog):
    caplog.set_level(logging.DEBUG)
    created = new_key(owner, scopes=("write",))
    with_key(created["key"]).get("/v1/models")
    with_key(created["key"][:-2] + "xx").get("/v1/models")

    secret = created["key"].rsplit(".", 1)[1]
    assert secret not in caplog.text
    assert secret not in str(log_of(admin))


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "", "scopes": ["read"]}, "name"),
        ({"name": "x" * 101, "scopes": ["read"]}, "name"),
        ({"name": "k", "scopes": []}, "scopes"),
        ({"name": "k", "scopes": ["root"]}, "scopes"),
        ({"name": "k", "scopes": "read"}, "scopes"),
        ({"name": "k", "scopes": ["read"], "expires": "tomorrow"}, "expires"),
        ({"name": "k", "scopes": ["read"], "expires": "2001-01-01T00:00:00Z"}, "expires"),
        ({"name": "k", "scopes": ["read"], "secret": "mine"}, "secret"),
        ({"name": "k", "scopes": ["admin"]}, "scopes"),  # reggie is a regular user
    ],
)
def test_bad_key_bodies_are_refused_naming_the_field(owner, body, field):
    response = owner.post("/v1/keys", body, format="json")

    assert response.status_code == 400
    assert field in response.json()["details"]


def test_a_second_key_of_the_same_name_is_a_conflict(owner):
    new_key(owner, "train")

    assert error_of(owner.post("/v1/keys", {"name": "train", "scopes": ["read"]}, format="json"))[0] == 409


@override_settings(API_KEYS_PER_USER=2)
def test_a_user_holds_a_bounded_number_of_keys(owner):
    new_key(owner, "one")
    new_key(owner, "two")

    response = owner.post("/v1/keys", {"name": "three", "scopes": ["read"]}, format="json")

    assert error_of(response)[0] == 409
    assert "revoke" in response.json()["details"]


# ------------------------------------------------------------------ who sees and revokes which keys


def test_users_see_their_own_keys_and_admins_everyones(owner, reader, admin):
    mine = new_key(owner, "train")
    new_key(reader, "deploy")

    assert [key["name"] for key in owner.get("/v1/keys").json()["docs"]] == ["train"]
    assert sorted(key["user"] for key in admin.get("/v1/keys").json()["docs"]) == ["olive", "reggie"]
    assert error_of(reader.get(f"/v1/keys/{mine['_id']}"))[0] == 404
    assert error_of(reader.delete(f"/v1/keys/{mine['_id']}"))[0] == 404
    assert admin.get(f"/v1/keys/{mine['_id']}").json()["user"] == "reggie"


def test_the_key_list_filters_and_sorts(owner):
    new_key(owner, "alpha")
    new_key(owner, "beta")

    response = owner.get("/v1/keys", {"filter": '{"name": "beta"}', "sort": '{"name": "asc"}'})

    assert [key["name"] for key in response.json()["docs"]] == ["beta"]
    assert error_of(owner.get("/v1/keys", {"filter": '{"digest": "x"}'})) == (400, "invalid_filter")


def test_a_revoked_key_stops_working_at_once_and_the_revocation_is_audited(owner, admin):
    created = new_key(owner, scopes=("write",))
    client = with_key(created["key"])
    assert client.get("/v1/models").status_code == 200

    revoked = owner.delete(f"/v1/keys/{created['_id']}")

    assert revoked.status_code == 200
    assert "key" not in revoked.json()
    assert error_of(client.get("/v1/models")) == (401, "unauthorized")
    assert [entry["target"] for entry in log_of(admin) if entry["action"] == "revoke"] == [created["_id"]]


def test_other_tenants_never_see_a_tenants_keys(owner, other_tenant):
    created = new_key(owner)

    assert other_tenant.get("/v1/keys").json()["totalDocs"] == 0
    assert error_of(other_tenant.get(f"/v1/keys/{created['_id']}"))[0] == 404


# ------------------------------------------------------------------ scopes


def test_a_read_key_reads_and_downloads_but_cannot_write(owner, reader_key, kind):
    item = create_model(owner, visibility="public") if kind.value == "model" else None
    url = f"/v1/models/{item['_id']}" if item else None
    client = with_key(reader_key)

    assert client.get("/v1/models").status_code == 200
    if url:
        upload(owner, f"{url}/versions")
        assert client.get(f"{url}/versions/1").status_code == 200
    refused = client.post(f"/v1/{kind.plural}", {"name": "mine"}, format="json")
    assert error_of(refused) == (403, "restricted_access_create")
    assert "lacks the 'write' scope (it has: read)" in refused.json()["details"]


def test_a_write_key_creates_uploads_and_deletes_what_its_user_may(owner_write_key, kind):
    client = with_key(owner_write_key)

    item = client.post(f"/v1/{kind.plural}", {"name": "from-ci"}, format="json").json()
    version = upload(client, f"/v1/{kind.plural}/{item['_id']}/versions")

    assert version.status_code == 201
    assert item["owner"] == "reggie"
    assert client.delete(f"/v1/{kind.plural}/{item['_id']}").status_code == 200


def test_a_write_key_cannot_do_what_only_admins_do(owner_write_key):
    client = with_key(owner_write_key)

    assert (
        error_of(client.post("/v1/users", {"username": "x", "password": PASSWORD, "email": "x@x.io"}, format="json"))[0]
        == 403
    )
    assert error_of(client.post("/v1/tags", {"_id": "curated"}, format="json"))[0] == 403


def test_an_admins_key_without_the_admin_scope_acts_as_a_regular_user(admin, owner):
    private = create_model(owner, visibility="private")
    assert admin.get(f"/v1/models/{private['_id']}").status_code == 200  # the admin's token reads it (cache warm)
    assert admin.get("/v1/models").json()["totalDocs"] == 1
    client = with_key(new_key(admin, "ops", ("write",))["key"])

    assert error_of(client.get(f"/v1/models/{private['_id']}"))[0] == 404
    assert client.get("/v1/models").json()["totalDocs"] == 0
    assert client.get("/v1/info").json()["user"]["role"] == "regular"
    refused = client.get("/v1/log")
    assert refused.status_code == 403
    assert "lacks the 'admin' scope" in refused.json()["details"]


def test_an_admin_key_administers(admin, acme):
    client = with_key(new_key(admin, "ops", ("admin",))["key"])

    created = client.post("/v1/users", {"username": "newbie", "password": PASSWORD, "email": "n@x.io"}, format="json")

    assert created.status_code == 201
    assert client.get("/v1/log").status_code == 200


def test_a_key_cannot_mint_a_key_with_more_scopes_than_its_own(admin):
    client = with_key(new_key(admin, "ops", ("write",))["key"])

    assert error_of(client.post("/v1/keys", {"name": "more", "scopes": ["admin"]}, format="json"))[0] in (400, 403)
    assert client.post("/v1/keys", {"name": "same", "scopes": ["write"]}, format="json").status_code == 201
    assert (
        error_of(
            with_key(new_key(admin, "ro", ("read",))["key"]).post(
                "/v1/keys", {"name": "x", "scopes": ["read"]}, format="json"
            )
        )[0]
        == 403
    )


def test_a_role_downgrade_takes_the_admin_scope_away_on_the_next_request(admin, acme):
    acme.add_user("mia", role="admin")
    mia = acme.client("mia")
    client = with_key(new_key(mia, "ops", ("admin",))["key"])
    assert client.get("/v1/log").status_code == 200

    assert admin.put("/v1/users/mia", {"role": "regular"}, format="json").status_code == 200

    assert client.get("/v1/log").status_code == 403
    assert client.get("/v1/models").status_code == 200


def test_changes_made_through_a_key_are_audited_with_the_keys_name(owner_write_key, admin):
    client = with_key(owner_write_key)

    item = client.post("/v1/models", {"name": "from-ci"}, format="json").json()

    entry = next(entry for entry in log_of(admin) if entry["action"] == "create" and entry["target"] == item["_id"])
    assert entry["actor"] == "reggie"
    assert entry["details"]["key"] == "train"


# ------------------------------------------------------------------ every way a key stops being valid


def test_an_expired_key_is_refused(owner, acme):
    created = new_key(owner, expires=(timezone.now() + timedelta(hours=1)).isoformat())
    with tenancy.using_tenant(acme.tenant):
        ApiKey.objects.filter(pk=created["_id"]).update(expires=timezone.now() - timedelta(seconds=1))

    response = with_key(created["key"]).get("/v1/models")

    assert error_of(response) == (401, "unauthorized")
    assert "expired" in response.json()["details"]


def test_a_deactivated_or_deleted_user_takes_their_keys_along(owner, admin, acme):
    reader_key = new_key(acme.client("olive"))["key"]
    acme.add_user("temp")
    temp_key = new_key(acme.client("temp"))["key"]
    with tenancy.using_tenant(acme.tenant):
        type(acme.user("olive")).objects.filter(username="olive").update(is_active=False)

    assert error_of(with_key(reader_key).get("/v1/models")) == (401, "unauthorized")
    assert admin.delete("/v1/users/temp").status_code == 200
    assert error_of(with_key(temp_key).get("/v1/models")) == (401, "unauthorized")
    assert acme.count(ApiKey, user__username="temp") == 0


def test_a_deleted_tenants_keys_die_with_it(make_tenant, superuser):
    initech = make_tenant("initech", admin="ivy")
    key = new_key(initech.client("ivy"))["key"]
    assert with_key(key).get("/v1/models").status_code == 200

    assert superuser.delete("/v1/tenants/initech").status_code == 200

    assert error_of(with_key(key).get("/v1/models")) == (401, "unauthorized")


def test_a_key_sent_to_another_tenant_is_unknown_there(owner, globex):
    text = new_key(owner)["key"]

    forged = text.replace("mrk_acme.", "mrk_globex.", 1)

    assert error_of(with_key(forged).get("/v1/models")) == (401, "unauthorized")


@pytest.mark.parametrize(
    "header",
    [
        "Bearer mrk_",
        "Bearer mrk_acme",
        "Bearer mrk_acme..",
        "Bearer mrk_acme.0123456789abcdef01234567.",
        "Bearer mrk_nowhere.0123456789abcdef01234567.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Bearer mrk_acme.0123456789abcdef01234567.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "Bearer mrk_" + "a" * 5000,
        "Bearer mrk_acmé.0123456789abcdef01234567.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
        "JWT mrk_acme.0123456789abcdef01234567.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
    ],
)
def test_malformed_or_unknown_keys_are_one_plain_401(acme, header):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=header)

    response = client.get("/v1/models")

    assert error_of(response) == (401, "unauthorized")


def test_a_wrong_secret_says_nothing_about_which_part_was_wrong(owner, acme):
    text = new_key(owner)["key"]
    wrong_secret = with_key(text[:-4] + "AAAA").get("/v1/models").json()["details"]
    unknown_id = with_key(text.replace(".", ".0", 1)[:-1]).get("/v1/models").json()["details"]
    unknown_tenant = with_key(text.replace("acme", "nowhere", 1)).get("/v1/models").json()["details"]

    assert wrong_secret == unknown_id == unknown_tenant == "The API key is not valid."


@override_settings(API_KEY_MAX_FAILURES_PER_ADDRESS=3)
def test_failed_key_attempts_are_throttled_per_address_and_audited(owner, admin):
    text = new_key(owner)["key"]
    forged = with_key(text[:-4] + "AAAA")
    for _ in range(3):
        assert forged.get("/v1/models").status_code == 401

    throttled = forged.get("/v1/models")

    assert error_of(throttled) == (429, "too_many_requests")
    assert int(throttled["Retry-After"]) > 0
    failures = [e for e in log_of(admin) if e["action"] == "authenticate" and e["result"] == "failure"]
    assert len(failures) == 3
    assert with_key(text).get("/v1/models").status_code == 200  # a valid key still works: it proves possession


def test_keys_are_not_locked_out_by_failed_password_logins(owner, anonymous):
    client = with_key(new_key(owner)["key"])
    for _ in range(6):
        anonymous.post("/v1/login", {"username": "reggie", "password": "wrong", "tenant": "acme"}, format="json")

    assert client.get("/v1/models").status_code == 200


def test_last_use_is_recorded_with_its_address(owner):
    created = new_key(owner)

    with_key(created["key"]).get("/v1/models", REMOTE_ADDR="203.0.113.9")

    shown = owner.get(f"/v1/keys/{created['_id']}").json()
    assert shown["last_used"] is not None
    assert shown["last_used_address"] == "203.0.113.9"


def test_jwts_keep_working_beside_keys(owner, reader_key):
    assert owner.get("/v1/models").status_code == 200
    assert with_key(reader_key).get("/v1/models").status_code == 200


def test_a_key_survives_an_export_and_import_of_its_tenant(owner, acme, tmp_path, superuser):
    from items_app import archives

    text = new_key(owner)["key"]
    archive = tmp_path / "acme.tar"
    archives.export_tenant(acme.tenant, archive)
    assert superuser.delete("/v1/tenants/acme").status_code == 200
    assert error_of(with_key(text).get("/v1/models"))[0] == 401

    archives.import_tenant(archive)

    assert with_key(text).get("/v1/models").status_code == 200


def test_failed_attempts_name_the_key_id_in_the_tenants_log_never_the_secret(owner, acme):
    text = new_key(owner)["key"]
    with_key(text[:-4] + "AAAA").get("/v1/models")

    with tenancy.using_tenant(acme.tenant):
        entry = AuditEntry.objects.get(action="authenticate")
    assert entry.target == text.split(".")[1]
    assert text.rsplit(".", 1)[1][:-4] not in str(entry.details)


def test_an_admin_revokes_a_key_in_the_django_admin_without_ever_seeing_its_digest(owner, acme):
    from testing.helpers import html, signed_in

    created = new_key(owner)
    client = signed_in(acme, "ada")

    page = html(client.get(f"/admin/tenants_app/apikey/{created['_id']}/change/"))
    with tenancy.using_tenant(acme.tenant):
        assert ApiKey.objects.get(pk=created["_id"]).digest not in page
    client.post(f"/admin/tenants_app/apikey/{created['_id']}/delete/", {"post": "yes"})

    assert error_of(with_key(created["key"]).get("/v1/models")) == (401, "unauthorized")
