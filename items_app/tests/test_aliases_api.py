"""Stable names and aliases (contract §9.2): what a deployment hard-codes keeps meaning the right file."""

from __future__ import annotations

import itertools

import pytest

from items_app.models import Alias, AliasMove
from testing.helpers import body_of, error_of, log_of, run_together, upload


@pytest.fixture
def released(owner, kind):
    """reggie's public item with two versions: v1 (b"one") and v2 (b"two")."""
    item = kind.create(owner, visibility="public")
    for name, content in (("v1.onnx", b"one"), ("v2.onnx", b"two")):
        assert upload(owner, f"{kind.url(item)}/versions", name, content).status_code == 201
    return item


def point(client, kind, item, alias, version):
    return client.put(f"{kind.url(item)}/aliases/{alias}", {"version": version}, format="json")


# ------------------------------------------------------------------ names a deployment hard-codes


def test_an_item_is_reachable_by_owner_and_name_on_every_route(owner, kind, released):
    by_name = f"{kind.api}/by-name/reggie/{released['name']}"

    assert owner.get(by_name).json()["_id"] == released["_id"]
    assert [v["ordinal"] for v in owner.get(f"{by_name}/versions").json()] == [1, 2]
    assert body_of(owner.get(f"{by_name}/versions/2")) == b"two"
    assert owner.put(by_name, {"description": "by name"}, format="json").json()["description"] == "by name"


def test_by_name_is_404_for_unknown_names_and_for_items_the_caller_cannot_read(owner, outsider, other_tenant, kind):
    private = kind.create(owner, "secret")

    assert error_of(owner.get(f"{kind.api}/by-name/reggie/nothing"))[0] == 404
    assert error_of(owner.get(f"{kind.api}/by-name/nobody/{private['name']}"))[0] == 404
    assert error_of(outsider.get(f"{kind.api}/by-name/reggie/secret")) == error_of(
        owner.get(f"{kind.api}/by-name/reggie/nothing")
    )
    assert error_of(other_tenant.get(f"{kind.api}/by-name/reggie/secret"))[0] == 404


def test_names_with_spaces_and_unicode_are_reachable_url_encoded(owner, kind):
    item = kind.create(owner, "résumé v2 (final)")

    assert owner.get(f"{kind.api}/by-name/reggie/r%C3%A9sum%C3%A9%20v2%20(final)").json()["_id"] == item["_id"]


def test_latest_is_the_highest_ordinal_and_info_describes_a_version(owner, reader, kind, released):
    assert body_of(reader.get(f"{kind.url(released)}/versions/@latest")) == b"two"

    info = reader.get(f"{kind.url(released)}/versions/@latest/info")

    assert info.json()["ordinal"] == 2
    assert info.json()["original"] == "v2.onnx"
    assert error_of(owner.get(f"{kind.url(kind.create(owner, 'empty'))}/versions/@latest"))[0] == 404


# ------------------------------------------------------------------ aliases


def test_the_owner_points_an_alias_and_readers_download_through_it(owner, reader, kind, released):
    answer = point(owner, kind, released, "production", 1)

    assert answer.status_code == 200
    assert answer.json()["alias"] == "production"
    assert answer.json()["version"] == 1
    assert answer.json()["by"] == "reggie"
    assert body_of(reader.get(f"{kind.api}/by-name/reggie/{released['name']}/versions/@production")) == b"one"
    assert reader.get(kind.url(released)).json()["aliases"] == {"production": 1}
    versions = reader.get(f"{kind.url(released)}/versions").json()
    assert [v["aliases"] for v in versions] == [["production"], []]


def test_moving_an_alias_is_seen_at_once_and_kept_in_its_history(owner, reader, kind, released):
    reader.get(kind.url(released))  # cached before the move
    point(owner, kind, released, "production", 1)
    point(owner, kind, released, "production", "v2.onnx")  # by file name too

    assert reader.get(kind.url(released)).json()["aliases"] == {"production": 2}
    assert body_of(reader.get(f"{kind.url(released)}/versions/@production")) == b"two"
    history = reader.get(f"{kind.url(released)}/aliases/production/history").json()
    assert [(m["from"], m["to"], m["by"]) for m in history["docs"]] == [(1, 2, "reggie"), (None, 1, "reggie")]
    assert history["totalDocs"] == 2


def test_pointing_an_alias_where_it_already_points_records_nothing(owner, kind, released, acme):
    point(owner, kind, released, "staging", 2)
    point(owner, kind, released, "staging", 2)

    assert acme.count(AliasMove, alias="staging") == 1


def test_removing_an_alias(owner, reader, kind, released):
    point(owner, kind, released, "staging", 1)

    removed = owner.delete(f"{kind.url(released)}/aliases/staging")

    assert removed.json()["version"] == 1
    assert reader.get(kind.url(released)).json()["aliases"] == {}
    assert error_of(reader.get(f"{kind.url(released)}/versions/@staging"))[0] == 404
    history = reader.get(f"{kind.url(released)}/aliases/staging/history").json()["docs"]
    assert history[0]["to"] is None


def test_aliases_are_listed_by_name(owner, reader, kind, released):
    point(owner, kind, released, "staging", 2)
    point(owner, kind, released, "production", 1)

    listed = reader.get(f"{kind.url(released)}/aliases").json()

    assert [(a["alias"], a["version"]) for a in listed] == [("production", 1), ("staging", 2)]


def test_who_may_move_aliases(owner, reader, outsider, admin, other_tenant, kind):
    item = kind.create(owner, "shared", users=["olive"])
    upload(owner, f"{kind.url(item)}/versions")

    assert error_of(point(reader, kind, item, "production", 1)) == (403, "restricted_access_modify")
    assert error_of(point(outsider, kind, item, "production", 1))[0] == 404
    assert error_of(point(other_tenant, kind, item, "production", 1))[0] == 404
    assert point(admin, kind, item, "production", 1).json()["by"] == "ada"
    assert error_of(outsider.get(f"{kind.url(item)}/aliases"))[0] == 404
    assert error_of(reader.delete(f"{kind.url(item)}/aliases/production"))[0] == 403


@pytest.mark.parametrize("name", ["Production", "1st", "-x", "a" * 33, "pro duction", "prod.v2", "latest", "é"])
def test_alias_names_follow_the_rule(owner, kind, released, name):
    response = point(owner, kind, released, name, 1)

    assert response.status_code == 400
    assert "alias" in response.json()["details"]


@pytest.mark.parametrize("version", [99, "nope.onnx", "", True, None, [1], "@latest"])
def test_an_alias_points_only_at_a_version_of_its_own_item(owner, kind, released, version):
    other = kind.create(owner, "other")
    upload(owner, f"{kind.url(other)}/versions", "elsewhere.onnx", b"x")

    response = point(owner, kind, released, "production", version)

    assert response.status_code == 400
    assert "version" in response.json()["details"]
    assert error_of(point(owner, kind, released, "production", "elsewhere.onnx"))[0] == 400


def test_every_alias_move_is_audited(owner, admin, kind, released):
    point(owner, kind, released, "production", 1)

    entries = [e for e in log_of(admin) if e["action"] == "alias"]

    assert entries[0]["details"] == {"alias": "production", "from": None, "to": 1}
    assert entries[0]["target"] == released["_id"]


def test_concurrent_moves_of_one_alias_leave_one_state_and_every_move_in_history(acme, kind, released):
    clients = [acme.client("reggie") for _ in range(6)]
    calls = [lambda c=c, v=(i % 2) + 1: point(c, kind, released, "production", v) for i, c in enumerate(clients)]

    answers = run_together(*calls)

    assert all(answer.status_code == 200 for answer in answers)
    assert acme.count(Alias, item_id=released["_id"], name="production") == 1
    final = acme.client("reggie").get(kind.url(released)).json()["aliases"]["production"]
    history = acme.client("reggie").get(f"{kind.url(released)}/aliases/production/history?limit=100").json()["docs"]
    assert history[0]["to"] == final
    assert all(later["from"] == earlier["to"] for later, earlier in itertools.pairwise(history))


# ------------------------------------------------------------------ protected names


def test_protected_aliases_are_moved_by_admins_only(owner, admin, reader, kind, released):
    assert error_of(owner.post("/v1/protected-aliases", {"_id": "production"}, format="json"))[0] == 403
    assert admin.post("/v1/protected-aliases", {"_id": "production"}, format="json").status_code == 201

    refused = point(owner, kind, released, "production", 1)

    assert error_of(refused) == (403, "restricted_access_modify")
    assert "protected" in refused.json()["details"]
    assert point(owner, kind, released, "staging", 1).status_code == 200
    assert point(admin, kind, released, "production", 1).status_code == 200
    assert [entry["_id"] for entry in reader.get("/v1/protected-aliases").json()["docs"]] == ["production"]
    assert admin.delete("/v1/protected-aliases/production").status_code == 200
    assert point(owner, kind, released, "production", 2).status_code == 200


def test_protecting_a_bad_or_taken_name(admin):
    admin.post("/v1/protected-aliases", {"_id": "production"}, format="json")

    assert error_of(admin.post("/v1/protected-aliases", {"_id": "production"}, format="json"))[0] == 409
    assert error_of(admin.post("/v1/protected-aliases", {"_id": "Bad Name"}, format="json"))[0] == 400
    assert error_of(admin.delete("/v1/protected-aliases/never"))[0] == 404


# ------------------------------------------------------------------ deleting what an alias points at


def test_deleting_an_aliased_version_is_refused_naming_the_aliases(owner, kind, released):
    point(owner, kind, released, "production", 1)
    point(owner, kind, released, "canary", 1)

    refused = owner.delete(f"{kind.url(released)}/versions/1")

    assert error_of(refused) == (409, "conflict")
    assert "canary, production" in refused.json()["details"]
    assert [v["ordinal"] for v in owner.get(f"{kind.url(released)}/versions").json()] == [1, 2]


def test_deleting_an_aliased_version_can_drop_or_move_its_aliases(owner, kind, released):
    upload(owner, f"{kind.url(released)}/versions", "v3.onnx", b"three")
    point(owner, kind, released, "production", 1)
    point(owner, kind, released, "staging", 2)

    assert owner.delete(f"{kind.url(released)}/versions/1?aliases=move&to=3").status_code == 200
    assert owner.delete(f"{kind.url(released)}/versions/@staging?aliases=drop").status_code == 200

    assert owner.get(kind.url(released)).json()["aliases"] == {"production": 3}
    history = owner.get(f"{kind.url(released)}/aliases/production/history").json()["docs"]
    assert (history[0]["from"], history[0]["to"]) == (1, 3)
    assert error_of(owner.delete(f"{kind.url(released)}/versions/3?aliases=move&to=3"))[0] == 400
    assert error_of(owner.delete(f"{kind.url(released)}/versions/3?aliases=keep"))[0] == 400


def test_deleting_the_item_takes_its_aliases_and_history(owner, kind, released, acme):
    point(owner, kind, released, "production", 1)

    assert owner.delete(kind.url(released)).status_code == 200

    assert acme.count(Alias) == 0
    assert acme.count(AliasMove) == 0


# ------------------------------------------------------------------ lists


def test_lists_filter_on_aliases(owner, reader, kind, released):
    other = kind.create(owner, "other", visibility="public")
    upload(owner, f"{kind.url(other)}/versions")
    point(owner, kind, released, "production", 2)
    point(owner, kind, other, "staging", 1)

    def names(filter_text):
        return [doc["name"] for doc in reader.get(kind.api, {"filter": filter_text}).json()["docs"]]

    assert names('{"aliases": "production"}') == [released["name"]]
    assert sorted(names('{"aliases": {"$in": ["production", "staging"]}}')) == sorted([released["name"], "other"])
    assert names('{"aliases": {"$ne": "production"}}') == ["other"]
    assert error_of(reader.get(kind.api, {"filter": '{"aliases.production": 1}'})) == (400, "invalid_filter")
