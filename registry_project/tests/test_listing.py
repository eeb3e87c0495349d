"""The list machinery every collection shares (§1.4): envelope, paging, sort, select and the filter language.

Exercised through ``/v1/users`` (ada, reggie, olive in acme) and ``/v1/tenants`` (the superuser's list).
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from django.db.models import Q

from framework.api.filtering import (
    MAX_DEPTH,
    MAX_FILTER_LENGTH,
    FilterField,
    FilterTranslator,
    parse_filter_parameter,
)
from framework.errors import InvalidFilter
from tenants_app import tenancy
from tenants_app.models import User
from testing.helpers import error_of

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
BY_USERNAME = json.dumps({"username": "asc"})


@pytest.fixture
def dated(acme):
    """acme's users with known creation times: reggie (January), olive (February), ada (March)."""
    with tenancy.using_tenant(acme.tenant):
        for username, month in (("reggie", 1), ("olive", 2), ("ada", 3)):
            User.objects.filter(username=username).update(timestamp=datetime(2024, month, 1, tzinfo=UTC))
    return acme


def usernames(response):
    assert response.status_code == 200, response.content
    return [document["username"] for document in response.json()["docs"]]


def filtered(client, document):
    """Usernames matching ``document`` (a filter document, or a raw string), in username order."""
    raw = document if isinstance(document, str) else json.dumps(document)
    return usernames(client.get("/v1/users", {"filter": raw, "sort": BY_USERNAME}))


def filter_error(client, document):
    raw = document if isinstance(document, str) else json.dumps(document)
    response = client.get("/v1/users", {"filter": raw})
    return error_of(response), response.json()["details"]


# ------------------------------------------------------------------ envelope and paging


def test_a_list_answers_with_the_seed_envelope(admin):
    body = admin.get("/v1/users").json()

    assert set(body) == ENVELOPE_KEYS


def test_a_list_defaults_to_the_first_page_of_ten(admin):
    body = admin.get("/v1/users").json()

    assert len(body["docs"]) == 3
    assert body["totalDocs"] == 3
    assert body["limit"] == 10
    assert body["totalPages"] == 1
    assert body["page"] == 1
    assert body["pagingCounter"] == 1
    assert body["hasPrevPage"] is False
    assert body["hasNextPage"] is False
    assert body["prevPage"] is None
    assert body["nextPage"] is None


def test_a_list_defaults_to_the_newest_first(dated, admin):
    assert usernames(admin.get("/v1/users")) == ["ada", "olive", "reggie"]


def test_the_first_of_several_pages_points_to_the_next(admin):
    body = admin.get("/v1/users", {"limit": "2", "sort": BY_USERNAME}).json()

    assert [document["username"] for document in body["docs"]] == ["ada", "olive"]
    assert body["totalDocs"] == 3
    assert body["totalPages"] == 2
    assert body["hasPrevPage"] is False
    assert body["hasNextPage"] is True
    assert body["prevPage"] is None
    assert body["nextPage"] == 2


def test_the_last_page_points_back_and_counts_from_its_first_row(admin):
    body = admin.get("/v1/users", {"limit": "2", "page": "2", "sort": BY_USERNAME}).json()

    assert [document["username"] for document in body["docs"]] == ["reggie"]
    assert body["page"] == 2
    assert body["pagingCounter"] == 3
    assert body["hasPrevPage"] is True
    assert body["hasNextPage"] is False
    assert body["prevPage"] == 1
    assert body["nextPage"] is None


def test_a_page_beyond_the_end_is_empty_but_keeps_the_totals(admin):
    response = admin.get("/v1/users", {"limit": "2", "page": "7"})

    assert response.status_code == 200
    body = response.json()
    assert body["docs"] == []
    assert body["totalDocs"] == 3
    assert body["totalPages"] == 2
    assert body["page"] == 7
    assert body["limit"] == 2
    assert body["hasNextPage"] is False
    assert body["nextPage"] is None


@pytest.mark.parametrize(("asked", "given"), [("1", 1), ("100", 100), ("101", 100), ("100000", 100)])
def test_the_limit_is_capped_at_one_hundred(admin, asked, given):
    response = admin.get("/v1/users", {"limit": asked})

    assert response.status_code == 200
    assert response.json()["limit"] == given


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("page", "0"),
        ("page", "-1"),
        ("page", "two"),
        ("page", "1.5"),
        ("limit", "0"),
        ("limit", "-10"),
        ("limit", "ten"),
        ("limit", "2e1"),
    ],
)
def test_a_bad_page_or_limit_is_a_400(admin, name, value):
    response = admin.get("/v1/users", {name: value})

    assert error_of(response) == (400, "invalid_list_parameter")
    assert name in response.json()["details"]


# ------------------------------------------------------------------ sort


@pytest.mark.parametrize("direction", ["asc", "ASC", 1])
def test_it_sorts_ascending(admin, direction):
    response = admin.get("/v1/users", {"sort": json.dumps({"username": direction})})

    assert usernames(response) == ["ada", "olive", "reggie"]


@pytest.mark.parametrize("direction", ["desc", "DESC", -1])
def test_it_sorts_descending(admin, direction):
    response = admin.get("/v1/users", {"sort": json.dumps({"username": direction})})

    assert usernames(response) == ["reggie", "olive", "ada"]


def test_it_sorts_on_timestamps(dated, admin):
    response = admin.get("/v1/users", {"sort": json.dumps({"timestamp": "asc"})})

    assert usernames(response) == ["reggie", "olive", "ada"]


@pytest.mark.parametrize("direction", ["up", "", 2, 0, True, None, ["asc"]])
def test_a_bad_sort_direction_is_a_400(admin, direction):
    response = admin.get("/v1/users", {"sort": json.dumps({"username": direction})})

    assert error_of(response) == (400, "invalid_list_parameter")


@pytest.mark.parametrize("sort", ['{"username": "asc"', '["username"]', '"username"', "username"])
def test_a_sort_that_is_not_a_json_object_is_a_400(admin, sort):
    assert error_of(admin.get("/v1/users", {"sort": sort})) == (400, "invalid_list_parameter")


def test_sorting_on_an_unknown_field_is_a_400_naming_it(admin):
    response = admin.get("/v1/users", {"sort": json.dumps({"password": "asc"})})

    assert error_of(response) == (400, "invalid_list_parameter")
    assert "password" in response.json()["details"]


def test_a_regular_user_cannot_sort_on_fields_they_cannot_filter(owner):
    response = owner.get("/v1/users", {"sort": json.dumps({"email": "asc"})})

    assert error_of(response) == (400, "invalid_list_parameter")
    assert "email" in response.json()["details"]


# ------------------------------------------------------------------ select


def test_select_keeps_only_the_named_fields_and_the_id(admin):
    docs = admin.get("/v1/users", {"select": json.dumps(["username"])}).json()["docs"]

    assert [set(document) for document in docs] == [{"_id", "username"}] * 3


def test_select_ignores_unknown_names(admin):
    docs = admin.get("/v1/users", {"select": json.dumps(["username", "shoe_size", "password"])}).json()["docs"]

    assert [set(document) for document in docs] == [{"_id", "username"}] * 3


def test_an_empty_select_still_returns_the_id(admin):
    docs = admin.get("/v1/users", {"select": "[]"}).json()["docs"]

    assert [set(document) for document in docs] == [{"_id"}] * 3


def test_select_cannot_reveal_what_the_caller_may_not_see(acme, owner):
    docs = owner.get("/v1/users", {"select": json.dumps(["email", "role", "password"])}).json()["docs"]

    others = [document for document in docs if document["_id"] != acme.user("reggie").pk]
    assert [set(document) for document in others] == [{"_id"}] * 2


@pytest.mark.parametrize("select", ['"username"', '{"username": 1}', "username", '["username"', "[1]"])
def test_a_select_that_is_not_a_json_array_of_names_is_a_400(admin, select):
    assert error_of(admin.get("/v1/users", {"select": select})) == (400, "invalid_list_parameter")


# ------------------------------------------------------------------ the filter language


def test_an_empty_filter_means_no_filter(admin):
    assert filtered(admin, "") == ["ada", "olive", "reggie"]
    assert filtered(admin, {}) == ["ada", "olive", "reggie"]


def test_a_plain_value_means_equality(admin):
    assert filtered(admin, {"username": "reggie"}) == ["reggie"]
    assert filtered(admin, {"role": "admin"}) == ["ada"]


def test_filter_by_id(acme, admin):
    assert filtered(admin, {"_id": acme.user("olive").pk}) == ["olive"]


def test_eq_and_ne(admin):
    assert filtered(admin, {"username": {"$eq": "olive"}}) == ["olive"]
    assert filtered(admin, {"username": {"$ne": "olive"}}) == ["ada", "reggie"]


def test_ne_keeps_users_without_the_field(admin):
    # ada, the tenant's first admin, has no e-mail address; MongoDB's $ne matches missing fields too.
    assert filtered(admin, {"email": {"$ne": "reggie@example.org"}}) == ["ada", "olive"]


def test_in_and_nin(admin):
    assert filtered(admin, {"username": {"$in": ["ada", "olive", "nobody"]}}) == ["ada", "olive"]
    assert filtered(admin, {"username": {"$nin": ["ada"]}}) == ["olive", "reggie"]
    assert filtered(admin, {"username": {"$in": []}}) == []


def test_comparisons_on_timestamps_take_iso_strings(dated, admin):
    assert filtered(admin, {"timestamp": {"$gt": "2024-02-01T00:00:00Z"}}) == ["ada"]
    assert filtered(admin, {"timestamp": {"$gte": "2024-02-01T00:00:00Z"}}) == ["ada", "olive"]
    assert filtered(admin, {"timestamp": {"$lt": "2024-02-01T00:00:00Z"}}) == ["reggie"]
    assert filtered(admin, {"timestamp": {"$lte": "2024-02-01T00:00:00Z"}}) == ["olive", "reggie"]


def test_two_comparisons_on_one_field_make_a_range(dated, admin):
    window = {"$gte": "2024-01-15T00:00:00+00:00", "$lt": "2024-03-01T00:00:00Z"}

    assert filtered(admin, {"timestamp": window}) == ["olive"]


def test_exists(admin):
    assert filtered(admin, {"email": {"$exists": False}}) == ["ada"]
    assert filtered(admin, {"email": {"$exists": True}}) == ["olive", "reggie"]


def test_regex(admin):
    assert filtered(admin, {"username": {"$regex": "e"}}) == ["olive", "reggie"]
    assert filtered(admin, {"username": {"$regex": "^R"}}) == []


def test_regex_with_the_i_option_ignores_case(admin):
    assert filtered(admin, {"username": {"$regex": "^R", "$options": "i"}}) == ["reggie"]


def test_and_or_nor(admin):
    assert filtered(admin, {"$and": [{"role": "regular"}, {"username": {"$regex": "^o"}}]}) == ["olive"]
    assert filtered(admin, {"$or": [{"username": "ada"}, {"username": "olive"}]}) == ["ada", "olive"]
    assert filtered(admin, {"$nor": [{"username": "ada"}, {"username": "olive"}]}) == ["reggie"]


def test_field_level_not(admin):
    assert filtered(admin, {"username": {"$not": {"$regex": "^r"}}}) == ["ada", "olive"]
    assert filtered(admin, {"username": {"$not": {"$in": ["ada", "reggie"]}}}) == ["olive"]


def test_a_top_level_array_means_or(admin):
    assert filtered(admin, [{"username": "ada"}, {"role": "regular", "username": "reggie"}]) == ["ada", "reggie"]


def test_several_fields_in_one_document_must_all_match(admin):
    assert filtered(admin, {"role": "regular", "username": {"$ne": "reggie"}}) == ["olive"]


def test_the_filter_combines_with_paging(admin):
    response = admin.get("/v1/users", {"filter": json.dumps({"role": "regular"}), "limit": "1", "sort": BY_USERNAME})

    body = response.json()
    assert [document["username"] for document in body["docs"]] == ["olive"]
    assert body["totalDocs"] == 2
    assert body["totalPages"] == 2


def test_a_filter_never_widens_another_tenants_view(acme, other_tenant):
    response = other_tenant.get("/v1/users", {"filter": json.dumps({"username": {"$in": ["ada", "reggie", "gus"]}})})

    assert usernames(response) == ["gus"]


# ------------------------------------------------------------------ filters that are refused


@pytest.mark.parametrize("operator", ["$where", "$expr", "$function", "$jsonSchema", "$accumulator"])
def test_a_forbidden_top_level_operator_is_a_400_naming_it(admin, operator):
    (status_and_name, details) = filter_error(admin, {operator: "1"})

    assert status_and_name == (400, "invalid_filter")
    assert operator in details


@pytest.mark.parametrize("operator", ["$where", "$expr", "$function", "$jsonSchema", "$accumulator", "$text"])
def test_a_forbidden_field_operator_is_a_400_naming_it(admin, operator):
    (status_and_name, details) = filter_error(admin, {"username": {operator: "1"}})

    assert status_and_name == (400, "invalid_filter")
    assert operator in details


@pytest.mark.parametrize("field", ["password", "is_active", "shoe_size", "username.length"])
def test_an_unknown_field_is_a_400_naming_it(admin, field):
    (status_and_name, details) = filter_error(admin, {field: "x"})

    assert status_and_name == (400, "invalid_filter")
    assert field in details


@pytest.mark.parametrize("field", ["email", "role"])
def test_a_regular_user_cannot_filter_users_on_hidden_fields(owner, field):
    (status_and_name, details) = filter_error(owner, {field: {"$exists": True}})

    assert status_and_name == (400, "invalid_filter")
    assert field in details


def test_a_filter_that_is_not_json_is_a_400(admin):
    (status_and_name, _details) = filter_error(admin, '{"username": "ada"')

    assert status_and_name == (400, "invalid_filter")


def test_a_filter_with_an_integer_longer_than_python_reads_is_a_400_not_a_500(admin):
    """Valid JSON, but Python refuses to turn more than 4,300 digits into an int (a ValueError, not a
    JSONDecodeError): it must still be the filter's error, naming what is wrong."""
    (status_and_name, details) = filter_error(admin, '{"username": ' + "9" * 5000 + "}")

    assert status_and_name == (400, "invalid_filter")
    assert "a number of 5000 characters" in details


@pytest.mark.parametrize("document", ["ada", 5, None, True])
def test_a_filter_that_is_not_an_object_or_array_is_a_400(admin, document):
    (status_and_name, _details) = filter_error(admin, document)

    assert status_and_name == (400, "invalid_filter")


@pytest.mark.parametrize(
    "document",
    [
        {"username": 5},
        {"username": True},
        {"username": {"$in": ["ada", 5]}},
        {"username": {"$in": "ada"}},
        {"timestamp": {"$gt": "yesterday"}},
        {"timestamp": {"$gt": 1700000000}},
        {"email": {"$exists": "yes"}},
    ],
)
def test_a_value_of_the_wrong_type_is_a_400(admin, document):
    (status_and_name, details) = filter_error(admin, document)

    assert status_and_name == (400, "invalid_filter")
    assert next(iter(document)) in details


@pytest.mark.parametrize("operator", ["$and", "$or", "$nor"])
def test_a_logic_operator_needs_a_list_of_conditions(admin, operator):
    (status_and_name, details) = filter_error(admin, {operator: {"username": "ada"}})

    assert status_and_name == (400, "invalid_filter")
    assert operator in details


def test_a_regex_of_up_to_128_characters_is_accepted(admin):
    assert filtered(admin, {"username": {"$regex": "a?" * 64}}) == ["ada", "olive", "reggie"]


def test_a_regex_longer_than_128_characters_is_a_400(admin):
    (status_and_name, details) = filter_error(admin, {"username": {"$regex": "a" * 129}})

    assert status_and_name == (400, "invalid_filter")
    assert "username" in details


@pytest.mark.parametrize("pattern", ["(a)\\1", "(?=a)", "(?!a)", "(?<=a)b"])
def test_a_regex_needing_backtracking_is_a_400(admin, pattern):
    (status_and_name, details) = filter_error(admin, {"username": {"$regex": pattern}})

    assert status_and_name == (400, "invalid_filter")
    assert "username" in details


def test_a_catastrophic_regex_is_refused_or_answered(acme, admin):
    acme.add_user("a" * 40 + "-")

    response = admin.get("/v1/users", {"filter": json.dumps({"username": {"$regex": "(a+)+$"}})})

    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert error_of(response) == (400, "invalid_filter")


def test_regex_options_other_than_i_are_a_400(admin):
    (status_and_name, details) = filter_error(admin, {"username": {"$regex": "a", "$options": "x"}})

    assert status_and_name == (400, "invalid_filter")
    assert "$options" in details


# ------------------------------------------------------------------ the tenants list uses the same machinery


def test_the_tenants_list_answers_with_the_same_envelope(acme, globex, superuser):
    body = superuser.get("/v1/tenants", {"sort": json.dumps({"_id": "asc"})}).json()

    assert set(body) == ENVELOPE_KEYS
    assert [tenant["_id"] for tenant in body["docs"]] == ["acme", "globex"]
    assert body["totalDocs"] == 2
    assert body["limit"] == 10


def test_the_tenants_list_filters_pages_and_selects(acme, globex, superuser):
    response = superuser.get(
        "/v1/tenants",
        {"filter": json.dumps({"organization": {"$regex": "^glo", "$options": "i"}}), "select": '["email"]'},
    )

    assert response.json()["docs"] == [{"_id": "globex", "email": "office@globex.example"}]


def test_the_tenants_list_refuses_bad_parameters(acme, superuser):
    assert error_of(superuser.get("/v1/tenants", {"page": "0"})) == (400, "invalid_list_parameter")
    assert error_of(superuser.get("/v1/tenants", {"filter": '{"database": "x"}'})) == (400, "invalid_filter")
    assert error_of(superuser.get("/v1/tenants", {"filter": '{"$where": "1"}'})) == (400, "invalid_filter")


@pytest.mark.parametrize("field", ["uid", "database"])
def test_a_tenant_cannot_be_found_by_its_hidden_fields(acme, superuser, field):
    response = superuser.get("/v1/tenants", {"filter": json.dumps({field: getattr(acme.tenant, field)})})

    assert error_of(response) == (400, "invalid_filter")
    assert field in response.json()["details"]


# ------------------------------------------------------------------ FilterTranslator on its own

FIELDS = {
    "name": FilterField("name"),
    "size": FilterField("size", "number"),
    "flag": FilterField("flag", "boolean"),
    "note": FilterField("note", nullable=True),
}


def translate(document):
    return FilterTranslator(FIELDS).translate(document)


def refusal(document):
    with pytest.raises(InvalidFilter) as raised:
        translate(document)
    return str(raised.value.details)


def test_the_translator_turns_an_empty_document_into_no_condition():
    assert translate({}) == Q()


def test_the_translator_maps_api_names_to_orm_lookups():
    assert translate({"name": "x"}) == Q(name__exact="x")
    assert translate({"size": {"$gte": 3}}) == Q(size__gte=3)
    assert translate({"name": {"$ne": "x"}}) == ~Q(name__exact="x")
    assert translate({"note": {"$exists": False}}) == Q(note__isnull=True)


def test_the_translator_reads_a_top_level_array_as_or():
    assert translate([{"name": "a"}, {"name": "b"}]) == translate({"$or": [{"name": "a"}, {"name": "b"}]})


def test_the_translator_checks_values_against_the_field_kind():
    assert "size" in refusal({"size": "3"})
    assert "size" in refusal({"size": True})
    assert "flag" in refusal({"flag": "yes"})
    assert "flag" in refusal({"flag": {"$gt": True}})
    assert "size" in refusal({"size": {"$regex": "3"}})


def test_the_translator_refuses_unknown_fields_and_operators():
    assert "secret" in refusal({"secret": 1})
    assert "$where" in refusal({"$where": "1"})
    assert "$expr" in refusal({"name": {"$expr": "1"}})
    assert "$options" in refusal({"name": {"$options": "i"}})


def test_the_translator_refuses_empty_logic_and_deep_nesting():
    assert "$or" in refusal([])
    assert "$and" in refusal({"$and": []})
    deep = {"name": "x"}
    for _level in range(MAX_DEPTH + 2):
        deep = {"$and": [deep]}
    refusal(deep)


def test_the_filter_parameter_is_parsed_as_json():
    assert parse_filter_parameter(None) == {}
    assert parse_filter_parameter("  ") == {}
    assert parse_filter_parameter('{"name": "x"}') == {"name": "x"}
    with pytest.raises(InvalidFilter):
        parse_filter_parameter("{")
    with pytest.raises(InvalidFilter):
        parse_filter_parameter(json.dumps({"name": "x" * MAX_FILTER_LENGTH}))
