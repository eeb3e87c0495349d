"""Bad input and outages never reach a 500: hostile JSON in bodies and filters, and unknown routes, are
answered with the envelope and details that name the problem, and a database that does not answer is a 503
(issue "Hold under abuse", items 3, 4 and 5), on SQLite and on PostgreSQL alike (PostgreSQL refuses NUL
characters in text, which once made filters and tags 500s)."""

from __future__ import annotations

import json

import pytest

from testing.helpers import create_model, error_of, signed_in

DEEP = "[" * 2000 + "]" * 2000  # 4 KB
LONG_NUMBER = "9" * 401


@pytest.mark.parametrize(
    ("body", "named"),
    [
        (DEEP, "nested deeper than 32 levels"),
        ('{"name": "n", "metadata": [{"name": "a", "value": ' + LONG_NUMBER + "}]}", "a number of 401 characters"),
        ('{"name": "n", "metadata": [{"name": "a", "value": 1e999}]}', "too large for a number"),
        ('{"name": "n", "metadata": [{"name": "a", "value": NaN}]}', "NaN is not a JSON number"),
        ('{"name": "n", "description": "\\ud800"}', "lone surrogate"),
        ('{"name": "n", "tags": ["a\\u0000b"]}', "NUL character"),
        ('{"name": "n", "metadata": [{"name": "a\\u0000", "value": 1}]}', "NUL character"),
    ],
)
def test_a_hostile_body_is_a_400_naming_the_problem(owner, body, named):
    response = owner.post("/v1/models", data=body, content_type="application/json")

    assert error_of(response) == (400, "invalid_json")
    assert named in response.json()["details"]


@pytest.mark.parametrize(
    ("document", "named"),
    [
        ('{"a":' * 600 + "1" + "}" * 600, "nested deeper than 32 levels"),
        ('{"metadata.accuracy": ' + LONG_NUMBER + "}", "a number of 401 characters"),
        ('{"metadata.accuracy": {"$gt": -Infinity}}', "-Infinity is not a JSON number"),
        ('{"metadata.accuracy": NaN}', "NaN is not a JSON number"),
        ('{"name": "\\ud800"}', "lone surrogate"),
        ('{"name": "a\\u0000b"}', "NUL character"),
        ('{"name": {"$regex": "a\\u0000"}}', "NUL character"),
        ('{"tags": "vision\\u0000"}', "NUL character"),
        ('{"metadata.framework": "onnx\\u0000"}', "NUL character"),
    ],
)
def test_a_hostile_filter_is_a_400_naming_the_problem(owner, document, named):
    create_model(owner, "churn", tags=["vision"])  # a catalogue to search, so the database would be asked

    response = owner.get("/v1/models", {"filter": document})

    assert error_of(response) == (400, "invalid_filter")
    assert named in response.json()["details"]


def test_version_metadata_with_a_nul_character_is_a_400(owner):
    model = create_model(owner, "churn")
    metadata = json.dumps({"framework": "onnx\u0000"})

    response = owner.post(
        f"/v1/models/{model['_id']}/versions?metadata={metadata}",
        data=b"bytes",
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION='attachment; filename="m.bin"',
    )

    assert error_of(response) == (400, "post_request_error")
    assert "NUL character" in response.json()["details"]


@pytest.mark.parametrize("method", ["POST", "PUT", "PATCH", "DELETE"])
def test_an_unknown_route_is_the_json_404_even_with_a_browsers_session_cookie(acme, method):
    browser = signed_in(acme, "reggie", enforce_csrf_checks=True)

    response = browser.generic(method, "/v1/no-such-route", b"{}", content_type="application/json")

    assert error_of(response) == (404, "resource_not_found")
    assert "No API route" in response.json()["details"]


@pytest.fixture
def unreachable_database(acme):
    """The tenant's database stops answering (a stopped PostgreSQL, an unopenable SQLite file) while the
    catalog still does, then comes back."""
    from django.db import connections

    from tenants_app import databases

    alias = databases.register(acme.tenant.database)
    settings_dict = connections[alias].settings_dict
    saved = {key: settings_dict.get(key) for key in ("NAME", "PORT")}
    connections[alias].close()
    if settings_dict["ENGINE"].endswith("sqlite3"):
        settings_dict["NAME"] = "/nonexistent-directory/tenant.sqlite3"
    else:
        settings_dict["PORT"] = "9"  # nothing listens there
    yield
    connections[alias].close()
    settings_dict.update(saved)


def test_a_database_that_does_not_answer_is_a_503_with_retry_after(owner, unreachable_database):
    response = owner.get("/v1/models")

    assert error_of(response) == (503, "service_unavailable")
    assert response.json()["details"] == "database: unavailable right now; try again shortly"
    assert response["Retry-After"] == "5"
