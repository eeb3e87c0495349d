"""``/v1/tags`` and ``/v1/metadata``: the tenant's vocabulary (contract §6, with the list rules of §1.4).

Every test runs against both vocabularies. reggie and olive are regular users of acme, ada its admin, gus the
admin of the other tenant (globex).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from folksonomy_app.models import MetadataName, Tag, Usage, VocabularyEntry
from tenants_app import tenancy
from testing.helpers import error_of

ENTRY_KEYS = {"_id", "usage", "owner", "timestamp", "count"}


@dataclass(frozen=True)
class Vocabulary:
    url: str
    model: type[VocabularyEntry]
    resource: str  # as written in the audit log

    def used(self, *names: str) -> dict[str, Any]:
        """The part of an item body that uses ``names``."""
        if self.model is Tag:
            return {"tags": list(names)}
        return {"metadata": [{"name": name, "value": 1} for name in names]}

    def added(self, *names: str) -> dict[str, Any]:
        """The part of an update body that adds ``names`` to an item."""
        if self.model is Tag:
            return {"tags": {"add": list(names)}}
        return {"metadata": {"add": [{"name": name, "value": 1} for name in names]}}


TAGS = Vocabulary("/v1/tags", Tag, "tag")
METADATA = Vocabulary("/v1/metadata", MetadataName, "metadata")


@pytest.fixture(params=[TAGS, METADATA], ids=["tags", "metadata"])
def vocabulary(request: pytest.FixtureRequest) -> Vocabulary:
    return request.param


def create_model(client: Any, name: str, **fields: Any) -> dict[str, Any]:
    response = client.post("/v1/models", {"name": name, **fields}, format="json")
    assert response.status_code == 201, response.content
    return response.json()


def entries(client: Any, vocabulary: Vocabulary, document: Any = None) -> dict[str, dict[str, Any]]:
    """The entries the caller lists (optionally filtered), by name."""
    params = {"limit": "100"} if document is None else {"limit": "100", "filter": json.dumps(document)}
    response = client.get(vocabulary.url, params)
    assert response.status_code == 200, response.content
    return {entry["_id"]: entry for entry in response.json()["docs"]}


def stored(handle: Any, vocabulary: Vocabulary, name: str) -> VocabularyEntry | None:
    with tenancy.using_tenant(handle.tenant):
        return vocabulary.model.objects.select_related("owner").filter(pk=name).first()


def post_entry(client: Any, vocabulary: Vocabulary, body: Any) -> Any:
    return client.post(vocabulary.url, body, format="json")


# ------------------------------------------------------------------ names recorded by use


def test_names_used_to_create_an_item_are_recorded_as_folk_by_their_user(acme, owner, vocabulary):
    create_model(owner, "resnet", **vocabulary.used("vision"))

    entry = entries(owner, vocabulary)["vision"]

    assert entry["usage"] == "folk"
    assert entry["owner"] == "reggie"
    assert entry["count"] == 1
    recorded = stored(acme, vocabulary, "vision")
    assert recorded is not None
    assert (recorded.usage, recorded.owner.username) == (Usage.FOLK, "reggie")


def test_names_added_by_an_update_are_recorded_as_folk_by_the_updater(acme, reader, admin, vocabulary):
    model = create_model(reader, "olives")

    response = admin.put(f"/v1/models/{model['_id']}", vocabulary.added("curated-by-use"), format="json")

    assert response.status_code == 200, response.content
    entry = entries(admin, vocabulary)["curated-by-use"]
    assert (entry["usage"], entry["owner"], entry["count"]) == ("folk", "ada", 1)
    assert stored(acme, vocabulary, "curated-by-use").owner.username == "ada"


def test_names_of_a_replacing_update_are_recorded(acme, reader, vocabulary):
    model = create_model(reader, "olives", **vocabulary.used("old"))

    response = reader.put(f"/v1/models/{model['_id']}", vocabulary.used("new"), format="json")

    assert response.status_code == 200, response.content
    listed = entries(reader, vocabulary)
    assert (listed["new"]["usage"], listed["new"]["owner"], listed["new"]["count"]) == ("folk", "olive", 1)
    assert listed["old"]["count"] == 0


def test_using_a_known_name_keeps_its_usage_and_owner(acme, admin, owner, vocabulary):
    assert post_entry(admin, vocabulary, {"_id": "accuracy"}).status_code == 201

    create_model(owner, "resnet", **vocabulary.used("accuracy"))

    entry = entries(owner, vocabulary)["accuracy"]
    assert (entry["usage"], entry["owner"], entry["count"]) == ("default", "ada", 1)
    assert acme.count(vocabulary.model) == 1


def test_names_used_in_items_are_trimmed(acme, owner, vocabulary):
    create_model(owner, "resnet", **vocabulary.used("  spaced  "))

    assert "spaced" in entries(owner, vocabulary)
    assert stored(acme, vocabulary, "spaced") is not None
    assert stored(acme, vocabulary, "  spaced  ") is None


def test_an_invalid_name_in_an_item_is_a_400_and_records_nothing(acme, owner, vocabulary):
    response = owner.post("/v1/models", {"name": "resnet", **vocabulary.used("x" * 65)}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert acme.count(vocabulary.model) == 0


# ------------------------------------------------------------------ names this process has seen


def vocabulary_reads(handle: Any, vocabulary: Vocabulary, write: Callable[[], Any]) -> list[str]:
    """The statements ``write`` sent to the tenant database that read or wrote the vocabulary's table."""
    with tenancy.using_tenant(handle.tenant) as current, CaptureQueriesContext(connections[current.alias]) as captured:
        write()
    table = vocabulary.model._meta.db_table
    return [query["sql"] for query in captured.captured_queries if table in query["sql"]]


def remembered_then_deleted_behind_this_process(handle: Any, client: Any, vocabulary: Vocabulary, name: str) -> None:
    """``name`` is seen by this process (looked up and found), then another worker's admin deletes its entry,
    which no item uses any more; this process is not told."""
    for model_name in ("first-use", "second-use"):  # the second use finds the entry: from then on it is known
        model = create_model(client, model_name, **vocabulary.used(name))
        assert client.delete(f"/v1/models/{model['_id']}").status_code == 200
    with tenancy.using_tenant(handle.tenant):
        assert vocabulary.model.objects.filter(pk=name).delete()[0] == 1


def test_names_seen_before_are_not_looked_up_again(acme, owner, vocabulary):
    create_model(owner, "resnet", **vocabulary.used("vision"))
    create_model(owner, "vit", **vocabulary.used("vision"))

    reads = vocabulary_reads(acme, vocabulary, lambda: create_model(owner, "clip", **vocabulary.used("vision")))

    assert reads == []
    assert entries(owner, vocabulary)["vision"]["count"] == 3


def test_a_new_name_beside_known_ones_is_still_recorded(acme, owner, vocabulary):
    create_model(owner, "resnet", **vocabulary.used("vision"))
    create_model(owner, "vit", **vocabulary.used("vision"))

    create_model(owner, "clip", **vocabulary.used("vision", "transformer"))

    assert stored(acme, vocabulary, "transformer").usage == Usage.FOLK
    assert entries(owner, vocabulary)["vision"]["count"] == 3


def test_a_name_deleted_by_another_worker_is_recorded_again_by_a_create(acme, owner, vocabulary):
    remembered_then_deleted_behind_this_process(acme, owner, vocabulary, "vision")

    created = create_model(owner, "vit", **vocabulary.used("vision"))

    assert {field: created[field] for field in vocabulary.used("vision")} == vocabulary.used("vision")
    assert stored(acme, vocabulary, "vision").usage == Usage.FOLK
    assert entries(owner, vocabulary)["vision"]["count"] == 1


def test_a_name_deleted_by_another_worker_is_recorded_again_by_an_update(acme, owner, vocabulary):
    remembered_then_deleted_behind_this_process(acme, owner, vocabulary, "vision")
    model = create_model(owner, "vit")

    response = owner.put(f"/v1/models/{model['_id']}", vocabulary.added("vision"), format="json")

    assert response.status_code == 200, response.content
    assert stored(acme, vocabulary, "vision").usage == Usage.FOLK
    assert entries(owner, vocabulary)["vision"]["count"] == 1


def test_a_taken_name_is_still_a_409_naming_it_when_every_vocabulary_name_was_seen(acme, owner, vocabulary):
    create_model(owner, "resnet", **vocabulary.used("vision"))

    response = owner.post("/v1/models", {"name": "resnet", **vocabulary.used("vision")}, format="json")

    assert error_of(response) == (409, "conflict")
    assert "resnet" in response.json()["details"]
    assert acme.count(vocabulary.model) == 1


# ------------------------------------------------------------------ curated entries


def test_admins_create_default_entries(acme, admin, vocabulary):
    response = post_entry(admin, vocabulary, {"_id": "accuracy"})

    assert response.status_code == 201, response.content
    body = response.json()
    assert set(body) == ENTRY_KEYS
    assert (body["_id"], body["usage"], body["owner"], body["count"]) == ("accuracy", "default", "ada", 0)
    assert body["timestamp"].endswith("Z")
    recorded = stored(acme, vocabulary, "accuracy")
    assert (recorded.usage, recorded.owner.username) == (Usage.DEFAULT, "ada")


def test_creating_an_entry_with_a_trailing_slash_works_too(acme, admin, vocabulary):
    response = admin.post(f"{vocabulary.url}/", {"_id": "accuracy"}, format="json")

    assert response.status_code == 201, response.content
    assert stored(acme, vocabulary, "accuracy") is not None


def test_a_duplicate_default_entry_is_a_409(acme, admin, vocabulary):
    assert post_entry(admin, vocabulary, {"_id": "accuracy"}).status_code == 201

    assert error_of(post_entry(admin, vocabulary, {"_id": "accuracy"})) == (409, "conflict")
    assert acme.count(vocabulary.model) == 1


def test_a_default_entry_with_a_folk_name_is_a_409(acme, admin, owner, vocabulary):
    create_model(owner, "resnet", **vocabulary.used("vision"))

    assert error_of(post_entry(admin, vocabulary, {"_id": "vision"})) == (409, "conflict")
    assert stored(acme, vocabulary, "vision").usage == Usage.FOLK


def test_regular_users_cannot_create_default_entries(acme, owner, vocabulary):
    response = post_entry(owner, vocabulary, {"_id": "accuracy"})

    assert error_of(response) == (403, "restricted_access_create")
    assert acme.count(vocabulary.model) == 0


def test_anonymous_callers_cannot_list_the_vocabulary(acme, anonymous, vocabulary):
    assert error_of(anonymous.get(vocabulary.url)) == (401, "unauthorized")


def test_default_entry_names_are_trimmed(acme, admin, vocabulary):
    response = post_entry(admin, vocabulary, {"_id": "  curated  "})

    assert response.status_code == 201, response.content
    assert response.json()["_id"] == "curated"
    assert stored(acme, vocabulary, "curated") is not None


def test_a_name_of_64_characters_is_accepted(acme, admin, vocabulary):
    response = post_entry(admin, vocabulary, {"_id": "n" * 64})

    assert response.status_code == 201, response.content
    assert stored(acme, vocabulary, "n" * 64) is not None


@pytest.mark.parametrize(
    "name",
    ["", "   ", "n" * 65, "bell\x07inside", "tab\tinside", "new\nline", "zero\u200bwidth", 42, ["list"]],
    ids=["empty", "blank", "too-long", "bell", "tab", "newline", "format-char", "number", "list"],
)
def test_an_invalid_name_is_a_400(acme, admin, vocabulary, name):
    response = post_entry(admin, vocabulary, {"_id": name})

    assert error_of(response) == (400, "post_request_error")
    assert "_id" in response.json()["details"]
    assert acme.count(vocabulary.model) == 0


def test_a_missing_name_is_a_400(acme, admin, vocabulary):
    assert error_of(post_entry(admin, vocabulary, {})) == (400, "post_request_error")
    assert acme.count(vocabulary.model) == 0


def test_an_unknown_body_field_is_a_400_naming_it(acme, admin, vocabulary):
    response = post_entry(admin, vocabulary, {"_id": "accuracy", "usage": "folk"})

    assert error_of(response) == (400, "post_request_error")
    assert "usage" in response.json()["details"]
    assert acme.count(vocabulary.model) == 0


# ------------------------------------------------------------------ listing and counts


def test_entries_have_id_usage_owner_timestamp_and_count(acme, owner, vocabulary):
    create_model(owner, "resnet", **vocabulary.used("vision"))

    response = owner.get(vocabulary.url)

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["totalDocs"] == 1
    assert [set(entry) for entry in body["docs"]] == [ENTRY_KEYS]


@pytest.fixture
def counted(acme, owner, reader, vocabulary):
    """ "vision" is used by reggie's private model, olive's public model and olive's private model."""
    create_model(owner, "reggies-private", **vocabulary.used("vision"))
    create_model(reader, "olives-public", visibility="public", **vocabulary.used("vision"))
    create_model(reader, "olives-private", **vocabulary.used("vision"))
    return acme


def test_count_is_the_number_of_readable_items_using_the_entry(counted, owner, reader, vocabulary):
    assert entries(owner, vocabulary)["vision"]["count"] == 2
    assert entries(reader, vocabulary)["vision"]["count"] == 2


def test_admins_count_every_item_using_the_entry(counted, admin, vocabulary):
    assert entries(admin, vocabulary)["vision"]["count"] == 3


def test_a_user_given_nothing_counts_only_public_items(counted, vocabulary):
    counted.add_user("oscar")

    assert entries(counted.client("oscar"), vocabulary)["vision"]["count"] == 1


def test_count_includes_items_shared_with_the_caller(acme, owner, reader, vocabulary):
    create_model(reader, "for-reggie", users=["reggie"], **vocabulary.used("vision"))

    assert entries(owner, vocabulary)["vision"]["count"] == 1


@pytest.fixture
def mixed(acme, admin, owner, vocabulary):
    """Default entries Folklore and Format; folk entries folk-music, unfolded and vision."""
    for name in ("Folklore", "Format"):
        assert post_entry(admin, vocabulary, {"_id": name}).status_code == 201
    create_model(owner, "resnet", **vocabulary.used("folk-music", "unfolded", "vision"))
    return acme


def test_it_filters_default_entries(mixed, owner, vocabulary):
    assert sorted(entries(owner, vocabulary, {"usage": "default"})) == ["Folklore", "Format"]


def test_it_filters_folk_entries(mixed, owner, vocabulary):
    assert sorted(entries(owner, vocabulary, {"usage": "folk"})) == ["folk-music", "unfolded", "vision"]


def test_it_autocompletes_names_with_a_regex(mixed, owner, vocabulary):
    assert sorted(entries(owner, vocabulary, {"_id": {"$regex": "Fol"}})) == ["Folklore"]


def test_it_autocompletes_names_case_insensitively(mixed, owner, vocabulary):
    found = entries(owner, vocabulary, {"_id": {"$regex": "fol", "$options": "i"}})

    assert sorted(found) == ["Folklore", "folk-music", "unfolded"]


def test_it_autocompletes_name_prefixes(mixed, owner, vocabulary):
    assert sorted(entries(owner, vocabulary, {"_id": {"$regex": "^fo", "$options": "i"}})) == [
        "Folklore",
        "Format",
        "folk-music",
    ]


def test_an_unknown_filter_field_is_a_400(mixed, owner, vocabulary):
    response = owner.get(vocabulary.url, {"filter": json.dumps({"owner.password": "x"})})

    assert error_of(response) == (400, "invalid_filter")
    assert "owner.password" in response.json()["details"]


# ------------------------------------------------------------------ deleting entries


def test_admins_delete_an_unused_entry(acme, admin, vocabulary):
    assert post_entry(admin, vocabulary, {"_id": "accuracy"}).status_code == 201

    response = admin.delete(f"{vocabulary.url}/accuracy")

    assert response.status_code == 200, response.content
    assert response.json()["_id"] == "accuracy"
    assert response.json()["usage"] == "default"
    assert stored(acme, vocabulary, "accuracy") is None
    assert "accuracy" not in entries(admin, vocabulary)


def test_admins_delete_a_folk_entry_no_item_uses_any_more(acme, admin, owner, vocabulary):
    model = create_model(owner, "resnet", **vocabulary.used("vision"))
    assert owner.delete(f"/v1/models/{model['_id']}").status_code == 200

    response = admin.delete(f"{vocabulary.url}/vision/")

    assert response.status_code == 200, response.content
    assert stored(acme, vocabulary, "vision") is None


def test_deleting_an_entry_in_use_is_a_409_naming_the_items(acme, admin, reader, vocabulary):
    create_model(reader, "olives-private", **vocabulary.used("vision"))

    response = admin.delete(f"{vocabulary.url}/vision")

    assert error_of(response) == (409, "conflict")
    assert "olives-private" in response.json()["details"]
    assert stored(acme, vocabulary, "vision") is not None


def test_regular_users_cannot_delete_entries(acme, admin, owner, vocabulary):
    assert post_entry(admin, vocabulary, {"_id": "accuracy"}).status_code == 201

    response = owner.delete(f"{vocabulary.url}/accuracy")

    assert error_of(response) == (403, "restricted_access_delete")
    assert stored(acme, vocabulary, "accuracy") is not None


def test_regular_users_cannot_delete_the_entries_they_introduced(acme, owner, vocabulary):
    model = create_model(owner, "resnet", **vocabulary.used("vision"))
    assert owner.delete(f"/v1/models/{model['_id']}").status_code == 200

    assert error_of(owner.delete(f"{vocabulary.url}/vision")) == (403, "restricted_access_delete")
    assert stored(acme, vocabulary, "vision") is not None


def test_deleting_an_unknown_entry_is_a_404(acme, admin, vocabulary):
    assert error_of(admin.delete(f"{vocabulary.url}/no-such-name")) == (404, "resource_not_found")


def test_deleting_a_user_keeps_the_entries_they_introduced(acme, admin, reader, vocabulary):
    model = create_model(reader, "olives", **vocabulary.used("olive-word"))
    assert reader.delete(f"/v1/models/{model['_id']}").status_code == 200

    response = admin.delete(f"/v1/users/{acme.user('olive').pk}")

    assert response.status_code == 200, response.content
    entry = entries(admin, vocabulary)["olive-word"]
    assert (entry["usage"], entry["owner"]) == ("folk", None)
    recorded = stored(acme, vocabulary, "olive-word")
    assert recorded is not None
    assert recorded.owner_id is None


# ------------------------------------------------------------------ audit log and tenants


def test_vocabulary_changes_are_in_the_log(acme, admin, vocabulary):
    assert post_entry(admin, vocabulary, {"_id": "accuracy"}).status_code == 201
    assert admin.delete(f"{vocabulary.url}/accuracy").status_code == 200

    response = admin.get("/v1/log", {"filter": json.dumps({"resource": vocabulary.resource}), "limit": "100"})

    assert response.status_code == 200, response.content
    logged = [(entry["actor"], entry["action"], entry["target"]) for entry in response.json()["docs"]]
    assert sorted(logged) == [("ada", "create", "accuracy"), ("ada", "delete", "accuracy")]


def test_the_other_tenant_sees_nothing_of_acmes_vocabulary(acme, owner, other_tenant, vocabulary):
    create_model(owner, "resnet", **vocabulary.used("vision"))

    response = other_tenant.get(vocabulary.url)

    assert response.status_code == 200, response.content
    assert response.json()["totalDocs"] == 0
    assert entries(other_tenant, vocabulary, {"_id": "vision"}) == {}


def test_the_other_tenant_has_its_own_names(acme, globex, owner, other_tenant, vocabulary):
    create_model(owner, "resnet", **vocabulary.used("vision"))

    response = post_entry(other_tenant, vocabulary, {"_id": "vision"})

    assert response.status_code == 201, response.content
    assert (response.json()["owner"], response.json()["count"]) == ("gus", 0)
    assert stored(acme, vocabulary, "vision").usage == Usage.FOLK
    assert stored(globex, vocabulary, "vision").usage == Usage.DEFAULT


def test_the_other_tenant_cannot_delete_acmes_entries(acme, owner, other_tenant, vocabulary):
    model = create_model(owner, "resnet", **vocabulary.used("vision"))
    assert owner.delete(f"/v1/models/{model['_id']}").status_code == 200

    assert error_of(other_tenant.delete(f"{vocabulary.url}/vision")) == (404, "resource_not_found")
    assert stored(acme, vocabulary, "vision") is not None
