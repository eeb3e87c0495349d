"""``GET /v1/events`` (contract §9.4, docs/events.md): the event feed, a list endpoint with a cursor. Each
caller reads the events of what they could read when it happened; admins read all, users' events too."""

from __future__ import annotations

from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.utils import timezone
from rest_framework.test import APIClient

from conftest import TenantHandle
from tenants_app import tenancy
from tenants_app.events import prune_events
from tenants_app.models import Event, Tenant
from testing.helpers import create_model, error_of

SECRET = "a long enough secret for a newcomer"
EVENT_KEYS = {"_id", "type", "timestamp", "actor", "resource", "target", "document"}


def feed(client: APIClient, **params: Any) -> dict[str, Any]:
    response = client.get("/v1/events", {"limit": "100", **params})
    assert response.status_code == 200, response.content
    return response.json()


def events_in(client: APIClient, **params: Any) -> list[dict[str, Any]]:
    return feed(client, **params)["docs"]


def item_events(client: APIClient, **params: Any) -> list[tuple[str, str]]:
    """(type, the item's name) of the item events the client reads, in feed order."""
    return [
        (event["type"], event["document"].get("name", ""))
        for event in events_in(client, **params)
        if event["resource"] != "users"
    ]


@pytest.fixture
def history(owner: APIClient, reader: APIClient) -> dict[str, dict[str, Any]]:
    """reggie's private model, his model shared with olive, his public model, and olive's own private one."""
    return {
        "private": create_model(owner, "private"),
        "shared": create_model(owner, "shared", users=["olive"]),
        "public": create_model(owner, "public", visibility="public"),
        "olives": create_model(reader, "olives"),
    }


# ------------------------------------------------------------------ the list


def test_the_feed_is_a_list_in_id_order_with_the_events_fields(acme, owner, history):
    page = feed(owner)
    assert {"docs", "totalDocs", "limit", "totalPages", "page", "hasNextPage", "nextPage"} <= set(page)
    assert all(set(event) == EVENT_KEYS for event in page["docs"])
    ids = [event["_id"] for event in page["docs"]]
    assert ids == sorted(ids)
    created = page["docs"][0]
    assert created["type"] == "item.created"
    assert created["document"] == history["private"]
    assert created["target"] == history["private"]["_id"]
    assert created["actor"] == "reggie"
    assert created["timestamp"].endswith("Z")


def test_after_pages_through_the_feed_by_cursor(acme, owner, history):
    every = [event["_id"] for event in events_in(owner)]
    seen: list[int] = []
    cursor = 0
    while True:
        page = events_in(owner, after=str(cursor), limit="1")
        if not page:
            break
        seen.append(page[0]["_id"])
        cursor = page[0]["_id"]
    assert seen == every
    assert events_in(owner, after=str(every[-1])) == []


@pytest.mark.parametrize("bad", ["-1", "x", "1.5", "9" * 30])
def test_an_after_that_is_not_an_id_is_a_400_naming_it(owner, bad):
    response = owner.get("/v1/events", {"after": bad})
    assert error_of(response) == (400, "invalid_list_parameter")
    assert "after" in response.json()["details"]


def test_the_feed_filters_on_type_resource_target_actor_and_time(acme, owner, admin, history):
    shared = history["shared"]["_id"]
    owner.put(f"/v1/models/{shared}", {"description": "retrained"}, format="json")
    assert item_events(owner, filter='{"type": "item.updated"}') == [("item.updated", "shared")]
    assert [e["type"] for e in events_in(owner, filter=f'{{"target": "{shared}"}}')] == ["item.created", "item.updated"]
    assert item_events(admin, filter='{"actor": "olive"}') == [("item.created", "olives")]
    assert item_events(owner, filter='{"resource": "datasets"}') == []
    later = (timezone.now() + timedelta(minutes=1)).isoformat()
    assert events_in(owner, filter=f'{{"timestamp": {{"$gte": "{later}"}}}}') == []
    assert len(events_in(owner, filter='{"timestamp": {"$gte": "2000-01-01T00:00:00Z"}}')) == 4
    assert error_of(owner.get("/v1/events", {"filter": '{"audience": {"$exists": true}}'}))[0] == 400


def test_the_feed_sorts_newest_first_when_asked(owner, history):
    ids = [event["_id"] for event in events_in(owner, sort='{"_id": "desc"}')]
    assert ids == sorted(ids, reverse=True)


# ------------------------------------------------------------------ who reads what


def test_each_user_reads_the_events_of_what_they_could_read(acme, owner, reader, outsider, history):
    assert item_events(owner) == [("item.created", "private"), ("item.created", "shared"), ("item.created", "public")]
    assert item_events(reader) == [("item.created", "shared"), ("item.created", "public"), ("item.created", "olives")]
    assert item_events(outsider) == [("item.created", "public")]


def test_admins_read_every_event_and_those_of_users(acme, admin, owner, history):
    created = admin.post(
        "/v1/users", {"username": "newcomer", "password": SECRET, "email": "newcomer@example.org"}, format="json"
    )
    assert created.status_code == 201, created.content
    events = events_in(admin)
    assert len([e for e in events if e["resource"] == "models"]) == 4
    user_created = [e for e in events if e["type"] == "user.created" and e["target"] == created.json()["_id"]]
    assert [e["document"] for e in user_created] == [created.json()]
    assert [e["actor"] for e in user_created] == ["ada"]
    assert all(event["resource"] != "users" for event in events_in(owner))


def test_the_audience_is_the_one_at_the_time_of_the_event(acme, owner, reader, history):
    private = history["private"]["_id"]
    owner.put(f"/v1/models/{private}", {"users": ["olive"]}, format="json")  # shared now: olive sees this change
    owner.put(f"/v1/models/{private}", {"users": []}, format="json")  # after this one she may not read it
    owner.put(f"/v1/models/{private}", {"description": "secret again"}, format="json")
    mine = [e for e in events_in(reader) if e["target"] == private]
    assert [e["document"]["users"] for e in mine] == [["olive"]]
    assert len([e for e in events_in(owner) if e["target"] == private]) == 4


def test_another_tenant_reads_none_of_these_events(acme, other_tenant, history):
    assert item_events(other_tenant) == []


def test_a_read_key_reads_the_feed_as_its_user(acme, owner, history):
    key = owner.post("/v1/keys", {"name": "mirror", "scopes": ["read"]}, format="json").json()["key"]
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {key}")
    assert item_events(client) == item_events(owner)


def test_the_feed_needs_credentials(anonymous):
    assert error_of(anonymous.get("/v1/events"))[0] == 401


# ------------------------------------------------------------------ users' events


def test_deleting_a_user_records_user_deleted_with_the_document_as_it_was(acme, admin):
    created = admin.post(
        "/v1/users", {"username": "leaver", "password": SECRET, "email": "leaver@example.org"}, format="json"
    )
    deleted = admin.delete(f"/v1/users/{created.json()['_id']}")
    assert deleted.status_code == 200, deleted.content
    gone = [e for e in events_in(admin) if e["type"] == "user.deleted"]
    assert [e["document"] for e in gone] == [deleted.json()]


def test_a_refused_user_change_records_nothing(acme, admin, owner, history):
    before = [e["_id"] for e in events_in(admin)]
    reggie = acme.user("reggie").pk
    assert error_of(admin.delete(f"/v1/users/{reggie}"))[0] == 409  # he still owns items
    assert (
        error_of(
            admin.post("/v1/users", {"username": "olive", "password": SECRET, "email": "o2@example.org"}, format="json")
        )[0]
        == 409
    )
    assert (
        error_of(
            owner.post("/v1/users", {"username": "x", "password": SECRET, "email": "x@example.org"}, format="json")
        )[0]
        == 403
    )
    assert [e["_id"] for e in events_in(admin)] == before


def test_a_new_tenants_first_admin_is_its_first_event(superuser):
    body = {"_id": "initech", "email": "it@initech.example", "admin_username": "bill", "admin_password": SECRET}
    assert superuser.post("/v1/tenants", body, format="json").status_code == 201
    handle = TenantHandle(Tenant.objects.get(pk="initech"))
    [first] = events_in(handle.client("bill"))
    assert (first["type"], first["document"]["username"]) == ("user.created", "bill")


def test_a_restored_tenant_keeps_its_events_and_numbers_new_ones_after_them(acme, owner, history, tmp_path):
    archive = tmp_path / "acme.tar"
    call_command("export_tenant", "acme", str(archive), stdout=StringIO())
    call_command("import_tenant", str(archive), "--as", "acme-restored", stdout=StringIO())
    restored = TenantHandle(Tenant.objects.get(pk="acme-restored"))
    as_reggie = restored.client("reggie")
    kept = events_in(as_reggie)
    assert [event["_id"] for event in kept] == [event["_id"] for event in events_in(owner)]
    create_model(as_reggie, "after the restore")
    newest = events_in(as_reggie)[-1]
    assert newest["document"]["name"] == "after the restore"
    assert newest["_id"] > kept[-1]["_id"]


# ------------------------------------------------------------------ retention


def age_events(handle: Any, days: int) -> None:
    with tenancy.using_tenant(handle.tenant):
        Event.objects.update(timestamp=timezone.now() - timedelta(days=days))


def test_prune_events_deletes_only_the_events_older_than_it_is_told(acme, owner, history):
    age_events(acme, 40)
    create_model(owner, "fresh")
    with tenancy.using_tenant(acme.tenant):
        deleted = prune_events(timezone.now() - timedelta(days=30))
    assert deleted >= 4
    assert item_events(owner) == [("item.created", "fresh")]


def test_the_prune_command_applies_the_retention_to_every_tenant(acme, globex, owner, other_tenant, history, settings):
    settings.EVENT_RETENTION_DAYS = 7
    age_events(acme, 8)
    age_events(globex, 6)
    call_command("prune_events")
    assert item_events(owner) == []
    assert len(events_in(other_tenant)) == 1  # gus's own user.created, six days old: kept
    call_command("prune_events", days=0)
    assert events_in(other_tenant) == []
