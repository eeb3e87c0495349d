"""A model's ``status`` (models_app/kind.py, ``STATUS``): one of training, test, production and deploy.

What every kind shares is tested in items_app/tests/test_items_api.py; this is what only models have.
Personas: ``owner`` (reggie), ``admin`` (ada).
"""

from __future__ import annotations

import json

import pytest

from items_app.models import Item
from testing.helpers import create_model, details_of, error_of


def test_a_new_model_is_in_training(owner):
    assert create_model(owner)["status"] == "training"


@pytest.mark.parametrize("status", ["training", "test", "production", "deploy"])
def test_every_documented_status_is_accepted(owner, status):
    assert create_model(owner, status=status)["status"] == status


def test_an_invalid_status_is_refused(acme, owner):
    response = owner.post("/v1/models", {"name": "churn", "status": "retired"}, format="json")

    assert error_of(response) == (400, "post_request_error")
    assert "status" in details_of(response)
    assert acme.count(Item) == 0


def test_the_owner_sets_the_status(acme, owner):
    model = create_model(owner)

    response = owner.put(f"/v1/models/{model['_id']}", {"status": "production"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["status"] == "production"
    assert acme.count(Item, pk=model["_id"], status="production") == 1


def test_a_status_is_validated_in_an_update_as_on_create(acme, owner):
    model = create_model(owner)

    response = owner.put(f"/v1/models/{model['_id']}", {"status": "retired"}, format="json")

    assert error_of(response) == (400, "put_request_error")
    assert "status" in details_of(response)
    assert acme.count(Item, pk=model["_id"], status="training") == 1


def test_an_admin_sets_the_status_of_any_model(acme, owner, admin):
    model = create_model(owner)

    response = admin.put(f"/v1/models/{model['_id']}", {"status": "deploy"}, format="json")

    assert response.status_code == 200, response.content
    assert response.json()["owner"] == "reggie"
    assert acme.count(Item, pk=model["_id"], status="deploy", owner__username="reggie") == 1


def test_models_are_found_by_status(owner):
    for status in ("training", "test", "production", "deploy"):
        create_model(owner, f"in-{status}", status=status)

    response = owner.get("/v1/models", {"filter": json.dumps({"status": {"$in": ["test", "production"]}})})

    assert response.status_code == 200, response.content
    assert sorted(doc["name"] for doc in response.json()["docs"]) == ["in-production", "in-test"]
