"""Django admin at /admin/: tenant admins only, inside their own tenant, and deletions through the services."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from django.contrib import admin
from django.test import RequestFactory

from folksonomy_app.models import Tag
from items_app.models import Blob, Item, Version
from tenants_app import tenancy
from tenants_app.models import AuditEntry, User
from testing.helpers import OTHER_CONTENT, create_dataset, create_model, signed_in_client, stored_keys, upload


@pytest.fixture
def ada(acme: Any) -> Any:
    return signed_in_client("acme", "ada")


@pytest.fixture
def items(acme: Any, globex: Any) -> dict[str, Any]:
    """In acme: reggie's model ``churn`` (tagged, with metadata, shared with olive, one version) built on
    olive's dataset ``customers``. In globex: gus's model ``forecast``."""
    dataset = create_dataset(acme.client("olive"), "customers", visibility="public")
    model = create_model(
        acme.client("reggie"),
        "churn",
        tags=["vision"],
        metadata=[{"name": "accuracy", "value": 0.93}],
        users=["olive"],
        datasets=[dataset["_id"]],
    )
    version = upload(acme.client("reggie"), f"/v1/models/{model['_id']}/versions", "churn.onnx")
    assert version.status_code == 201, version.content
    create_model(globex.client("gus"), "forecast")
    return {"model": model, "dataset": dataset}


def text_of(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def messages_of(response: Any) -> list[str]:
    return [str(message) for message in response.context["messages"]] if response.context else []


def only_version(handle: Any) -> Version:
    with tenancy.using_tenant(handle.tenant):
        return Version.objects.select_related("item").get()


def audit(handle: Any, **filters: Any) -> list[AuditEntry]:
    with tenancy.using_tenant(handle.tenant):
        return list(AuditEntry.objects.filter(**filters))


# ------------------------------------------------------------------ who gets in


def test_a_tenant_admin_gets_the_admin_index_of_their_tenant(acme, ada):
    response = ada.get("/admin/")

    assert response.status_code == 200
    text = text_of(response)
    for section in ("Models", "Datasets", "Versions", "Users", "Audit entries", "Tags", "Metadata names"):
        assert section in text
    assert "Groups" not in text


def test_a_regular_user_is_sent_to_the_sign_in_page(acme):
    reggie = signed_in_client("acme", "reggie")

    response = reggie.get("/admin/", follow=True)

    assert response.redirect_chain[-1][0] == "/signin/?next=%2Fadmin%2F"
    assert reggie.get("/admin/tenants_app/user/").status_code == 302


def test_an_anonymous_visitor_is_sent_to_the_sign_in_page(client):
    response = client.get("/admin/models_app/mlmodel/", follow=True)

    assert response.redirect_chain[-1][0] == "/signin/?next=%2Fadmin%2Fmodels_app%2Fmlmodel%2F"


def test_the_admin_shows_only_the_own_tenants_items_and_users(acme, items, ada):
    models = text_of(ada.get("/admin/models_app/mlmodel/"))
    users = text_of(ada.get("/admin/tenants_app/user/"))
    gus = text_of(signed_in_client("globex", "gus").get("/admin/models_app/mlmodel/"))

    assert "churn" in models
    assert "forecast" not in models
    assert "customers" not in models  # datasets have their own list
    assert "customers" in text_of(ada.get("/admin/datasets_app/dataset/"))
    assert "reggie" in users
    assert "olive" in users
    assert "gus" not in users
    assert "forecast" in gus
    assert "churn" not in gus


def test_lists_search_and_filter(acme, items, ada):
    assert "churn" in text_of(ada.get("/admin/models_app/mlmodel/?q=chu"))
    assert "churn" not in text_of(ada.get("/admin/models_app/mlmodel/?q=nothing"))
    assert "churn" not in text_of(ada.get("/admin/models_app/mlmodel/?visibility__exact=public"))
    admins = text_of(ada.get("/admin/tenants_app/user/?role__exact=admin"))
    assert "ada" in admins
    assert "reggie" not in admins
    assert "reggie" in text_of(ada.get("/admin/tenants_app/user/?q=regg"))


def test_an_item_page_lists_its_tags_metadata_shares_datasets_and_versions(acme, items, ada):
    response = ada.get(f"/admin/models_app/mlmodel/{items['model']['_id']}/change/")

    assert response.status_code == 200
    text = text_of(response)
    for shown in ("vision", "accuracy", "olive", "customers", "churn.onnx"):
        assert shown in text
    used_by = text_of(ada.get(f"/admin/datasets_app/dataset/{items['dataset']['_id']}/change/"))
    assert "Used by models" in used_by
    assert "churn" in used_by


def test_the_admin_never_shows_a_password_hash(acme, ada):
    reggie = acme.user("reggie")

    for url in ("/admin/tenants_app/user/", f"/admin/tenants_app/user/{reggie.pk}/change/"):
        page = ada.get(url).content.decode()
        assert reggie.password not in page
        assert reggie.password.rsplit("$", 1)[-1] not in page
        assert "Password" not in text_of(ada.get(url))


def test_users_are_added_on_the_manage_pages_not_in_the_admin(acme, ada):
    assert ada.get("/admin/tenants_app/user/add/").status_code == 403
    assert 'href="/manage/users/new/"' in ada.get("/admin/tenants_app/user/").content.decode()
    page = ada.get(f"/admin/tenants_app/user/{acme.user('reggie').pk}/change/").content.decode()
    assert f'href="/manage/users/{acme.user("reggie").pk}/"' in page


def test_nothing_is_changed_through_admin_forms(acme, items, ada):
    reggie = acme.user("reggie")

    ada.post(f"/admin/tenants_app/user/{reggie.pk}/change/", {"username": "reggie", "role": "admin"})
    ada.post(f"/admin/models_app/mlmodel/{items['model']['_id']}/change/", {"name": "renamed"})

    assert acme.user("reggie").role == "regular"
    assert acme.count(Item, name="churn") == 1


# ------------------------------------------------------------------ versions


def test_the_version_admin_is_read_only_and_has_no_add(acme, items, ada):
    version = only_version(acme)
    request = RequestFactory().get("/admin/items/version/")
    request.user = acme.user("ada")
    version_admin = admin.site.get_model_admin(Version)

    assert version_admin.has_add_permission(request) is False
    assert version_admin.has_change_permission(request, version) is False
    assert ada.get("/admin/items/version/add/").status_code == 403
    page = text_of(ada.get(f"/admin/items/version/{version.pk}/change/"))
    for shown in ("churn.onnx", version.blob_id, str(version.size), "reggie", "churn"):
        assert shown in page


def test_deleting_a_version_in_the_admin_releases_its_blob(acme, items, ada):
    version = only_version(acme)
    assert stored_keys("acme") == [f"acme/{version.blob_id}"]

    response = ada.post(f"/admin/items/version/{version.pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert acme.count(Version) == 0
    assert acme.count(Blob) == 0
    assert stored_keys("acme") == []
    [entry] = audit(acme, action="delete_version")
    assert (entry.actor, entry.target, entry.details["original"]) == ("ada", items["model"]["_id"], "churn.onnx")


def test_deleting_versions_in_bulk_releases_blobs_kept_by_no_other_version(acme, items, ada):
    url = f"/v1/models/{items['model']['_id']}/versions"
    assert upload(acme.client("reggie"), url, "second.onnx", OTHER_CONTENT).status_code == 201
    with tenancy.using_tenant(acme.tenant):
        ids = list(Version.objects.values_list("pk", flat=True))

    response = ada.post("/admin/items/version/", {"action": "delete_selected", "_selected_action": ids, "post": "yes"})

    assert response.status_code == 302
    assert acme.count(Version) == 0
    assert stored_keys("acme") == []
    assert len(audit(acme, action="delete_version")) == 2


# ------------------------------------------------------------------ deleting through the services


def test_deleting_a_model_in_the_admin_goes_through_the_item_service(acme, items, ada):
    model_id = items["model"]["_id"]

    response = ada.post(f"/admin/models_app/mlmodel/{model_id}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert acme.count(Item, pk=model_id) == 0
    assert acme.count(Blob) == 0
    assert stored_keys("acme") == []
    [entry] = audit(acme, action="delete", resource="model")
    assert (entry.actor, entry.target) == ("ada", model_id)


def test_a_dataset_used_by_a_model_is_not_deleted_in_the_admin(acme, items, ada):
    url = f"/admin/datasets_app/dataset/{items['dataset']['_id']}/delete/"

    confirmation = ada.get(url)
    ada.post(url, {"post": "yes"})

    assert "protected related objects" in text_of(confirmation)
    assert acme.count(Item, pk=items["dataset"]["_id"]) == 1


def test_deleting_a_user_in_the_admin_goes_through_the_user_service(acme, ada):
    response = ada.post(f"/admin/tenants_app/user/{acme.user('olive').pk}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert acme.count(User, username="olive") == 0
    [entry] = audit(acme, action="delete", resource="user")
    assert (entry.actor, entry.target) == ("ada", "olive")


def test_the_services_refusal_is_shown_as_an_admin_message(acme, ada):
    ada_id = acme.user("ada").pk

    response = ada.post(f"/admin/tenants_app/user/{ada_id}/delete/", {"post": "yes"}, follow=True)

    assert response.redirect_chain[-1] == (f"/admin/tenants_app/user/{ada_id}/change/", 302)
    assert "the tenant's last admin cannot be deleted" in " ".join(messages_of(response))
    assert acme.count(User, username="ada") == 1


def test_an_owner_of_items_is_not_deleted_in_the_admin(acme, items, ada):
    ada.post(f"/admin/tenants_app/user/{acme.user('reggie').pk}/delete/", {"post": "yes"})

    assert acme.count(User, username="reggie") == 1


def test_tags_in_use_are_kept_and_unused_ones_deleted_through_the_service(acme, items, ada):
    acme.client("ada").post("/v1/tags", {"_id": "unused"}, format="json")

    ada.post("/admin/folksonomy_app/tag/vision/delete/", {"post": "yes"})
    ada.post("/admin/folksonomy_app/tag/unused/delete/", {"post": "yes"})

    assert acme.count(Tag, pk="vision") == 1
    assert acme.count(Tag, pk="unused") == 0
    assert [entry.target for entry in audit(acme, action="delete", resource="tag")] == ["unused"]


# ------------------------------------------------------------------ the audit log


def test_the_audit_log_is_read_only_with_filters_and_dates(acme, items, ada):
    response = ada.get("/admin/tenants_app/auditentry/?action=upload")

    assert response.status_code == 200
    assert "churn.onnx" not in text_of(response)  # details are on the entry's page, not in the list
    assert "upload" in text_of(response)
    assert ada.get("/admin/tenants_app/auditentry/add/").status_code == 403
    [entry] = audit(acme, action="upload")
    assert ada.post(f"/admin/tenants_app/auditentry/{entry.pk}/delete/", {"post": "yes"}).status_code == 403
    assert len(audit(acme, action="upload")) == 1
    assert '<nav class="toplinks">' in response.content.decode()  # the date hierarchy
