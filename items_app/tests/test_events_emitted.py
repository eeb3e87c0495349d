"""Every change of items, versions and aliases writes its event in its own transaction (issue 22; the
transactional outbox of docs/events.md): exactly one event per change, carrying the document the API
answered, and none for a change that was refused or rolled back."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from tenants_app import tenancy
from tenants_app.databases import alias_for
from tenants_app.models import Event
from testing.helpers import CONTENT, OTHER_CONTENT, create_dataset, create_model, error_of, upload, upload_raw


def events_of(handle: Any, **filters: Any) -> list[Event]:
    with tenancy.using_tenant(handle.tenant):
        return list(Event.objects.filter(**filters).exclude(resource="users").order_by("id"))


def only_event(handle: Any, **filters: Any) -> Event:
    found = events_of(handle, **filters)
    assert len(found) == 1, [(event.type, event.target) for event in found]
    return found[0]


def answered(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.content
    return response.json()


def test_creating_an_item_records_item_created_with_the_document_the_api_answered(acme, owner):
    created = create_model(owner, "churn", users=["olive"], tags=["vision"], visibility="private")
    event = only_event(acme)
    assert (event.type, event.resource, event.target) == ("item.created", "models", created["_id"])
    assert event.actor == "reggie"
    assert event.document == created
    olive = acme.user("olive")
    assert event.audience == {"public": False, "owner": acme.user("reggie").pk, "users": [olive.pk]}


def test_a_batch_create_records_one_event_per_item_in_the_order_of_the_request(acme, owner):
    created = answered(owner.post("/v1/datasets", [{"name": "a"}, {"name": "b"}, {"name": "c"}], format="json"), 201)
    events = events_of(acme)
    assert [event.type for event in events] == ["item.created"] * 3
    assert [event.document for event in events] == created
    assert [event.id for event in events] == sorted(event.id for event in events)


def test_a_batch_that_clashes_on_a_name_records_nothing(acme, owner):
    create_model(owner, "taken")
    before = len(events_of(acme))
    response = owner.post("/v1/models", [{"name": "fresh"}, {"name": "taken"}], format="json")
    assert error_of(response) == (409, "conflict")
    assert len(events_of(acme)) == before


def test_an_update_records_one_item_updated_with_the_new_document(acme, owner):
    created = create_model(owner, "churn")
    changed = {"description": "retrained", "visibility": "public", "tags": ["nlp"], "users": ["olive"]}
    updated = answered(owner.put(f"/v1/models/{created['_id']}", changed, format="json"))
    event = only_event(acme, type="item.updated")
    assert event.document == updated
    assert event.audience["public"] is True
    assert event.audience["users"] == [acme.user("olive").pk]


def test_a_refused_update_records_nothing(acme, owner, reader):
    created = create_model(owner, "churn", users=["olive"])
    assert error_of(reader.put(f"/v1/models/{created['_id']}", {"description": "mine now"}, format="json"))[0] == 403
    assert error_of(owner.put(f"/v1/models/{created['_id']}", {"users": ["nobody"]}, format="json"))[0] == 400
    assert events_of(acme, type="item.updated") == []


def test_deleting_an_item_records_its_document_as_it_was(acme, owner):
    created = create_model(owner, "churn", users=["olive"])
    deleted = answered(owner.delete(f"/v1/models/{created['_id']}"))
    event = only_event(acme, type="item.deleted")
    assert event.document == deleted
    assert event.audience["users"] == [acme.user("olive").pk]


def test_deleting_a_dataset_still_in_use_records_nothing(acme, owner):
    dataset = create_dataset(owner, "customers")
    create_model(owner, "churn", datasets=[dataset["_id"]])
    assert error_of(owner.delete(f"/v1/datasets/{dataset['_id']}"))[0] == 409
    assert events_of(acme, type="item.deleted") == []


def test_an_upload_records_version_created_with_the_version_document_and_its_item(acme, owner):
    item = create_model(owner, "churn")
    version = answered(upload(owner, f"/v1/models/{item['_id']}/versions", description="first"), 201)
    event = only_event(acme, type="version.created")
    assert event.document == {**version, "item": item["_id"]}
    assert (event.resource, event.target, event.actor) == ("models", item["_id"], "reggie")


def test_a_refused_upload_records_nothing(acme, owner):
    item = create_model(owner, "churn")
    url = f"/v1/models/{item['_id']}/versions"
    answered(upload_raw(owner, url, "model.onnx"), 201)
    assert error_of(upload_raw(owner, url, "model.onnx", OTHER_CONTENT))[0] == 409  # the same file name
    wrong_digest = upload_raw(owner, url, "other.onnx", OTHER_CONTENT, HTTP_X_CHECKSUM_SHA256="0" * 64)
    assert error_of(wrong_digest)[0] == 400
    assert len(events_of(acme, type="version.created")) == 1


def test_updating_a_version_records_version_updated(acme, owner):
    item = create_model(owner, "churn")
    answered(upload(owner, f"/v1/models/{item['_id']}/versions"), 201)
    changed = {"description": "the good one", "metadata": [{"name": "accuracy", "value": 0.9}]}
    updated = answered(owner.put(f"/v1/models/{item['_id']}/versions/1", changed, format="json"))
    event = only_event(acme, type="version.updated")
    assert event.document == {**updated, "item": item["_id"]}


def test_moving_and_removing_an_alias_records_alias_moved(acme, owner):
    item = create_model(owner, "churn")
    url = f"/v1/models/{item['_id']}"
    answered(upload_raw(owner, f"{url}/versions", "one.onnx", CONTENT), 201)
    answered(upload_raw(owner, f"{url}/versions", "two.onnx", OTHER_CONTENT), 201)
    answered(owner.put(f"{url}/aliases/production", {"version": 1}, format="json"))
    answered(owner.put(f"{url}/aliases/production", {"version": 2}, format="json"))
    answered(owner.put(f"{url}/aliases/production", {"version": 2}, format="json"))  # already there: no move
    answered(owner.delete(f"{url}/aliases/production"))
    moves = [event.document for event in events_of(acme, type="alias.moved")]
    assert moves == [
        {"alias": "production", "from": None, "to": 1, "item": item["_id"]},
        {"alias": "production", "from": 1, "to": 2, "item": item["_id"]},
        {"alias": "production", "from": 2, "to": None, "item": item["_id"]},
    ]


def test_deleting_a_version_records_version_deleted_and_the_aliases_it_drops(acme, owner):
    item = create_model(owner, "churn")
    url = f"/v1/models/{item['_id']}"
    answered(upload(owner, f"{url}/versions"), 201)
    answered(owner.put(f"{url}/aliases/staging", {"version": 1}, format="json"))
    assert error_of(owner.delete(f"{url}/versions/1"))[0] == 409  # an alias points at it: nothing happens
    assert events_of(acme, type="version.deleted") == []
    deleted = answered(owner.delete(f"{url}/versions/1?aliases=drop"))
    types = [event.type for event in events_of(acme)][-2:]
    assert types == ["alias.moved", "version.deleted"]
    assert only_event(acme, type="version.deleted").document == {**deleted, "item": item["_id"]}
    assert events_of(acme, type="alias.moved")[-1].document["to"] is None


def test_the_event_is_written_inside_the_changes_transaction(acme, owner):
    with CaptureQueriesContext(connections[alias_for(acme.tenant.database)]) as captured:
        create_model(owner, "churn")
    sent = [query["sql"].upper() for query in captured.captured_queries]
    begin = next(index for index, sql in enumerate(sent) if sql.startswith("BEGIN"))
    commit = next(index for index, sql in enumerate(sent) if sql.startswith("COMMIT"))
    inserts = [index for index, sql in enumerate(sent) if 'INTO "TENANTS_APP_EVENT"' in sql]
    assert len(inserts) == 1, sent
    assert begin < inserts[0] < commit


@pytest.mark.parametrize("kind", ["models", "datasets", "algorithms"])
def test_each_kind_names_its_collection_as_the_resource(acme, owner, kind):
    created = answered(owner.post(f"/v1/{kind}", {"name": "thing"}, format="json"), 201)
    assert only_event(acme, target=created["_id"]).resource == kind
