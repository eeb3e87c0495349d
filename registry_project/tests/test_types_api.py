"""``GET /v1/types`` (the enumerations) and ``GET /v1/types/tenants`` (the sign-in list, off unless enabled)."""

from __future__ import annotations

import json

import pytest
from django.test import override_settings

from folksonomy_app.models import Usage
from items_app.models import Visibility
from models_app.kind import Status
from tenants_app.models import Role
from testing.helpers import details_of, error_of

SEED_TYPES = {
    "AlgorithmStatusTypes",
    "ModelStatusTypes",
    "PasswordResetStatusTypes",
    "UsageTypes",
    "UserRoles",
    "VisibilityTypes",
}


def types_of(client):
    response = client.get("/v1/types")
    assert response.status_code == 200, response.content
    return response.json()


# ------------------------------------------------------------------ /v1/types


def test_anyone_reads_every_enumeration_of_the_original_in_its_shape(anonymous):
    types = types_of(anonymous)

    assert set(types) >= SEED_TYPES
    for name, values in types.items():
        assert values == {value: value for value in values}, name
    assert types["PasswordResetStatusTypes"] == {"valid": "valid", "invalid": "invalid"}


def test_the_enumerations_are_the_ones_the_registry_enforces(anonymous):
    types = types_of(anonymous)

    assert list(types["ModelStatusTypes"]) == Status.values == ["training", "test", "production", "deploy"]
    assert list(types["AlgorithmStatusTypes"]) == Status.values
    assert list(types["UserRoles"]) == Role.values
    assert list(types["VisibilityTypes"]) == Visibility.values
    assert list(types["UsageTypes"]) == Usage.values
    assert list(types["KeyScopeTypes"]) == ["read", "write", "admin"]
    assert "DatasetStatusTypes" not in types  # datasets have no status


def test_a_status_the_types_name_is_one_a_model_accepts(owner):
    for status in types_of(owner)["ModelStatusTypes"]:
        response = owner.post("/v1/models", {"name": f"m-{status}", "status": status}, format="json")
        assert response.status_code == 201, response.content


def test_types_answers_with_and_without_a_trailing_slash(anonymous):
    assert anonymous.get("/v1/types/").json() == types_of(anonymous)


# ------------------------------------------------------------------ /v1/types/tenants


@pytest.mark.parametrize("url", ["/v1/types/tenants", "/v1/types/tenants/"])
def test_the_tenant_list_does_not_exist_unless_the_operator_enables_it(acme, anonymous, url):
    response = anonymous.get(url, {"select": '["email"]', "limit": "100"})

    assert error_of(response) == (404, "resource_not_found")
    assert "acme" not in response.content.decode()


def test_an_enabled_tenant_list_names_only_the_ids(acme, globex, anonymous):
    with override_settings(SIGNIN_TENANT_LIST=True):
        response = anonymous.get("/v1/types/tenants")

    assert response.status_code == 200, response.content
    body = response.json()
    assert body["docs"] == [{"_id": "acme"}, {"_id": "globex"}]
    assert body["totalDocs"] == 2
    assert {"totalPages", "page", "limit", "hasNextPage", "nextPage"} <= set(body)
    assert "Acme Corp" not in response.content.decode()
    assert "office@" not in response.content.decode()


def test_a_select_of_other_tenant_fields_keeps_only_the_id(acme, anonymous):
    with override_settings(SIGNIN_TENANT_LIST=True):
        response = anonymous.get("/v1/types/tenants", {"select": '["email", "organization", "database"]'})

    assert response.status_code == 200, response.content
    assert response.json()["docs"] == [{"_id": "acme"}]


@pytest.mark.parametrize(
    "condition",
    [{"email": "office@acme.example"}, {"organization": {"$regex": "Acme"}}, {"database": {"$exists": True}}],
)
def test_a_filter_on_any_other_tenant_field_is_refused(acme, anonymous, condition):
    with override_settings(SIGNIN_TENANT_LIST=True):
        response = anonymous.get("/v1/types/tenants", {"filter": json.dumps(condition)})

    assert error_of(response) == (400, "invalid_filter")
    assert next(iter(condition)) in details_of(response)


def test_the_tenant_list_filters_and_pages_on_the_id(acme, globex, anonymous):
    with override_settings(SIGNIN_TENANT_LIST=True):
        matching = anonymous.get("/v1/types/tenants", {"filter": '{"_id": {"$regex": "^glo"}}'})
        second_page = anonymous.get("/v1/types/tenants", {"limit": "1", "page": "2"})

    assert matching.json()["docs"] == [{"_id": "globex"}]
    assert second_page.json()["docs"] == [{"_id": "globex"}]
    assert second_page.json()["totalPages"] == 2
