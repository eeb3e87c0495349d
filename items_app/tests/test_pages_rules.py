"""The page views' rules, with Django's test client: who sees and changes what, CSRF, and form handling.

Personas: ``reggie`` owns the items, ``olive`` is a regular user of the same tenant (the shared reader or
the outsider, depending on the test), ``ada`` is acme's admin and ``gus`` the admin of another tenant.
"""

from __future__ import annotations

import json

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext

from folksonomy_app.models import Tag
from items_app.models import Item, MetadataEntry, Version
from tenants_app import tenancy
from tenants_app.databases import alias_for
from testing.helpers import CONTENT, api_item, audit_entries, body_of, csrf_token, html, sha256_of, signed_in


def raw_upload(client, url, name="model.onnx", content=CONTENT, **headers):
    return client.post(
        url,
        data=content,
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION=f"attachment; filename*=UTF-8''{name}",
        **headers,
    )


# ------------------------------------------------------------------ signing in


@pytest.mark.parametrize("url", ["/models/", "/datasets/", "/models/new/", "/compare/", "/models/abc/"])
def test_pages_send_anonymous_visitors_to_the_sign_in_page(url, client):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"].startswith("/signin/?next=")


@pytest.mark.parametrize("url", ["/suggest/tags?q=a", "/suggest/metadata", "/suggest/users"])
def test_json_endpoints_answer_anonymous_visitors_with_401(url, client):
    response = client.get(url)

    assert response.status_code == 401
    assert response.json()["status"] == 401


# ------------------------------------------------------------------ reading


def test_a_private_item_is_a_404_page_for_another_user_and_missing_from_their_list(acme):
    model = api_item(acme, "reggie", name="secret-model")
    olive = signed_in(acme, "olive")

    for url in (
        f"/models/{model['_id']}/",
        f"/models/{model['_id']}/edit/",
        f"/models/{model['_id']}/delete/",
        f"/models/{model['_id']}/versions/",
        f"/models/{model['_id']}/versions/1/download",
    ):
        response = olive.get(url)
        assert response.status_code == 404, url
        assert "Not found" in html(response)
        assert "secret-model" not in html(response)
    assert "secret-model" not in html(olive.get("/models/"))
    assert "secret-model" not in html(olive.get("/models/?q=secret"))


def test_an_item_of_the_other_kind_or_tenant_is_a_404(acme, globex):
    model = api_item(acme, "reggie", visibility="public")

    assert signed_in(acme, "olive").get(f"/datasets/{model['_id']}/").status_code == 404
    assert signed_in(globex, "gus").get(f"/models/{model['_id']}/").status_code == 404


def test_the_item_page_shows_what_the_reader_may_see(acme):
    hidden = api_item(acme, "ada", "datasets", name="hidden-data")
    shared = api_item(acme, "reggie", "datasets", name="shared-data", users=["olive"])
    model = api_item(
        acme,
        "ada",
        name="resnet",
        users=["olive"],
        datasets=[hidden["_id"], shared["_id"]],
        tags=["vision"],
        metadata=[{"name": "accuracy", "value": 0.93}],
    )

    page = html(signed_in(acme, "olive").get(f"/models/{model['_id']}/"))

    assert "resnet" in page
    assert "shared-data" in page
    assert "hidden-data" not in page
    assert 'href="/models/?tag=vision"' in page
    assert "accuracy" in page
    assert "0.93" in page
    assert f"/models/{model['_id']}/edit/" not in page  # a reader gets no edit link
    assert "data-upload" not in page


def test_a_dataset_page_lists_only_the_readable_models_trained_on_it(acme):
    dataset = api_item(acme, "reggie", "datasets", name="customers", visibility="public")
    api_item(acme, "reggie", name="public-model", visibility="public", datasets=[dataset["_id"]])
    api_item(acme, "reggie", name="private-model", datasets=[dataset["_id"]])

    page = html(signed_in(acme, "olive").get(f"/datasets/{dataset['_id']}/"))

    assert "public-model" in page
    assert "private-model" not in page


# ------------------------------------------------------------------ changing: owner, readers, admins


def test_a_reader_may_not_edit_delete_or_upload(acme):
    model = api_item(acme, "reggie", users=["olive"])
    olive = signed_in(acme, "olive")
    base = f"/models/{model['_id']}"

    assert olive.get(f"{base}/edit/").status_code == 403
    assert olive.post(f"{base}/edit/", {"name": "renamed", "visibility": "public", "status": "test"}).status_code == 403
    assert olive.get(f"{base}/delete/").status_code == 403
    assert olive.post(f"{base}/delete/").status_code == 403
    response = raw_upload(olive, f"{base}/versions/upload")
    assert response.status_code == 403
    assert response.json()["status"] == 403
    assert acme.count(Item, pk=model["_id"], name="churn") == 1
    assert acme.count(Version) == 0


def test_an_admin_may_edit_and_delete_another_users_item(acme):
    model = api_item(acme, "reggie")
    ada = signed_in(acme, "ada")

    assert ada.get(f"/models/{model['_id']}/edit/").status_code == 200
    response = ada.post(f"/models/{model['_id']}/delete/")

    assert response.status_code == 302
    assert response["Location"] == "/models/"
    assert acme.count(Item) == 0


def test_a_dataset_used_by_a_model_is_not_deleted_and_the_page_says_why(acme):
    dataset = api_item(acme, "reggie", "datasets", name="customers")
    api_item(acme, "reggie", name="churn", datasets=[dataset["_id"]])
    reggie = signed_in(acme, "reggie")

    response = reggie.post(f"/datasets/{dataset['_id']}/delete/", follow=True)

    assert acme.count(Item, pk=dataset["_id"]) == 1
    assert "Not deleted: the dataset is used by churn" in html(response)


# ------------------------------------------------------------------ CSRF


def test_page_posts_without_a_csrf_token_are_refused(acme):
    model = api_item(acme, "reggie")
    reggie = signed_in(acme, "reggie", enforce_csrf_checks=True)

    assert reggie.post("/models/new/", {"name": "x", "visibility": "private", "status": "test"}).status_code == 403
    assert reggie.post(f"/models/{model['_id']}/delete/").status_code == 403
    response = raw_upload(reggie, f"/models/{model['_id']}/versions/upload")
    assert response.status_code == 403
    assert acme.count(Item) == 1
    assert acme.count(Version) == 0


def test_page_posts_with_the_csrf_token_go_through(acme):
    model = api_item(acme, "reggie")
    reggie = signed_in(acme, "reggie", enforce_csrf_checks=True)
    token = csrf_token(reggie)

    response = raw_upload(reggie, f"/models/{model['_id']}/versions/upload", HTTP_X_CSRFTOKEN=token)
    assert response.status_code == 201, response.content
    deleted = reggie.post(f"/models/{model['_id']}/delete/", {"csrfmiddlewaretoken": token})
    assert deleted.status_code == 302
    assert acme.count(Item) == 0


# ------------------------------------------------------------------ the create and edit forms


def form_data(**fields):
    data = {"name": "churn", "status": "training", "visibility": "private", "description": "", "tags": "", "users": ""}
    data.update(fields)
    return data


def test_the_form_creates_an_item_through_the_services(acme):
    dataset = api_item(acme, "reggie", "datasets", name="customers")
    reggie = signed_in(acme, "reggie")

    response = reggie.post(
        "/models/new/",
        {
            **form_data(name="resnet", tags="vision, cnn", users="olive", status="test"),
            "datasets": [dataset["_id"]],
            "meta_name": ["accuracy", "framework", "pretrained", "seed"],
            "meta_value": ["0.93", "onnx", "true", "42"],
            "meta_type": ["auto", "auto", "auto", "string"],
        },
    )

    assert response.status_code == 302
    item_id = response["Location"].split("/")[2]
    document = acme.client("reggie").get(f"/v1/models/{item_id}").json()
    assert document["tags"] == ["cnn", "vision"]
    assert document["users"] == ["olive"]
    assert document["datasets"] == [dataset["_id"]]
    assert document["status"] == "test"
    assert document["metadata"] == [
        {"name": "accuracy", "value": 0.93},
        {"name": "framework", "value": "onnx"},
        {"name": "pretrained", "value": True},
        {"name": "seed", "value": "42"},
    ]
    created = [
        (entry["actor"], entry["target"]) for entry in audit_entries(acme, "create") if entry["resource"] == "model"
    ]
    assert created == [("reggie", item_id)]
    assert "Model “resnet” registered." in html(reggie.get(response["Location"]))


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"users": "nobody"}, "users", "there is no user &#x27;nobody&#x27; in this tenant"),
        ({"name": " "}, "name", "This field is required."),
        ({"tags": "x" * 65}, "tags", "A name is at most 64 characters."),
        ({"meta_name": ["epochs"], "meta_value": ["many"], "meta_type": ["number"]}, "metadata", "is not a number"),
        ({"meta_name": [""], "meta_value": ["0.9"], "meta_type": ["auto"]}, "metadata", "but no name"),
    ],
)
def test_form_errors_are_shown_next_to_their_field(acme, fields, field, message):
    response = signed_in(acme, "reggie").post("/models/new/", form_data(**fields))

    assert response.status_code == 400
    page = html(response)
    error_block = page.split(f'id="id_{field}-error"', 1)[1].split("</div>", 1)[0]
    assert message in error_block
    assert acme.count(Item) == 0


def test_a_duplicate_name_is_a_409_shown_at_the_name(acme):
    api_item(acme, "reggie", name="churn")

    response = signed_in(acme, "reggie").post("/models/new/", form_data(name="churn"))

    assert response.status_code == 409
    assert "you already have a model named" in html(response).split('id="id_name-error"', 1)[1]


def test_saving_the_edit_form_keeps_what_others_added_meanwhile(acme):
    model = api_item(acme, "reggie", tags=["a"], metadata=[{"name": "lr", "value": 0.1}])
    reggie = signed_in(acme, "reggie")
    page = html(reggie.get(f"/models/{model['_id']}/edit/"))
    original = page.split('name="original" value="', 1)[1].split('"', 1)[0].replace("&quot;", '"')
    # someone adds a tag and a metadata entry through the API while the form is open
    acme.client("ada").put(
        f"/v1/models/{model['_id']}",
        {"tags": {"add": ["b"]}, "metadata": {"add": [{"name": "epochs", "value": 90}]}},
        format="json",
    )

    response = reggie.post(
        f"/models/{model['_id']}/edit/",
        {
            **form_data(tags="a, c", original=original),
            "meta_name": ["lr"],
            "meta_value": ["0.2"],
            "meta_type": ["number"],
        },
    )

    assert response.status_code == 302
    document = acme.client("reggie").get(f"/v1/models/{model['_id']}").json()
    assert document["tags"] == ["a", "b", "c"]
    assert document["metadata"] == [{"name": "lr", "value": 0.2}, {"name": "epochs", "value": 90}]


def test_removing_a_metadata_row_removes_the_entry(acme):
    model = api_item(acme, "reggie", metadata=[{"name": "lr", "value": 0.1}, {"name": "seed", "value": 1}])
    reggie = signed_in(acme, "reggie")
    original = json.dumps({"tags": [], "users": [], "datasets": [], "metadata": [["lr", 0.1], ["seed", 1]]})

    response = reggie.post(
        f"/models/{model['_id']}/edit/",
        {**form_data(original=original), "meta_name": ["seed"], "meta_value": ["1"], "meta_type": ["number"]},
    )

    assert response.status_code == 302
    with tenancy.using_tenant(acme.tenant):
        assert list(MetadataEntry.objects.values_list("name_id", flat=True)) == ["seed"]


def test_an_unchanged_form_changes_nothing(acme):
    model = api_item(acme, "reggie", tags=["a"])
    reggie = signed_in(acme, "reggie")
    original = json.dumps({"tags": ["a"], "users": [], "datasets": [], "metadata": []})

    response = reggie.post(f"/models/{model['_id']}/edit/", form_data(tags="a", original=original), follow=True)

    assert "Nothing to save" in html(response)
    assert audit_entries(acme, "update") == []


# ------------------------------------------------------------------ versions


def test_the_page_upload_stores_a_version_and_the_page_download_streams_it(acme):
    model = api_item(acme, "reggie", users=["olive"])
    reggie = signed_in(acme, "reggie")

    response = raw_upload(reggie, f"/models/{model['_id']}/versions/upload?description=first", name="w%C3%A9ights.onnx")

    assert response.status_code == 201, response.content
    assert response.json()["sha256"] == sha256_of(CONTENT)
    assert response.json()["original"] == "wéights.onnx"
    assert response.json()["description"] == "first"
    download = signed_in(acme, "olive").get(f"/models/{model['_id']}/versions/1/download")
    assert download.status_code == 200
    assert body_of(download) == CONTENT
    assert [entry["actor"] for entry in audit_entries(acme, "download")] == ["olive"]
    assert "wéights.onnx" in html(reggie.get(f"/models/{model['_id']}/versions/"))


def test_the_page_upload_takes_raw_bodies_only(acme):
    model = api_item(acme, "reggie")

    response = signed_in(acme, "reggie").post(f"/models/{model['_id']}/versions/upload", {"file": "x"})

    assert response.status_code == 415
    assert acme.count(Version) == 0


def test_deleting_a_version_asks_first_then_deletes_it(acme):
    model = api_item(acme, "reggie")
    reggie = signed_in(acme, "reggie")
    raw_upload(reggie, f"/models/{model['_id']}/versions/upload")

    assert "Delete version 1" in html(reggie.get(f"/models/{model['_id']}/versions/1/delete/"))
    assert acme.count(Version) == 1
    response = reggie.post(f"/models/{model['_id']}/versions/1/delete/")

    assert response.status_code == 302
    assert acme.count(Version) == 0


def test_an_unknown_version_is_a_404_page(acme):
    model = api_item(acme, "reggie")

    assert signed_in(acme, "reggie").get(f"/models/{model['_id']}/versions/7/download").status_code == 404


# ------------------------------------------------------------------ browse, compare, suggestions


def test_an_invalid_filter_is_shown_as_a_form_error(acme):
    response = signed_in(acme, "reggie").get("/models/", {"q": '{"colour": "red"}'})

    assert response.status_code == 400
    assert "unknown field &#x27;colour&#x27;" in html(response)


def test_the_empty_list_says_what_to_do_next(acme):
    page = html(signed_in(acme, "reggie").get("/models/"))

    assert "No models yet — register one" in page
    assert 'href="/models/new/"' in page


def test_compare_refuses_more_than_six_items(acme):
    response = signed_in(acme, "reggie").get("/compare/", {"ids": [f"id{n}" for n in range(7)]})

    assert response.status_code == 400
    assert "at most 6" in html(response)


def test_compare_names_items_it_cannot_show(acme):
    hidden = api_item(acme, "ada", name="hidden")
    first = api_item(acme, "reggie", name="first")
    second = api_item(acme, "reggie", name="second")

    response = signed_in(acme, "reggie").get("/compare/", {"ids": [first["_id"], hidden["_id"], second["_id"]]})

    assert response.status_code == 200
    page = html(response)
    assert "Not found, or not shared with you" in page
    assert hidden["_id"] in page
    assert ">hidden</a>" not in page


def test_tag_suggestions_put_curated_entries_first(acme):
    acme.client("ada").post("/v1/tags", {"_id": "vision-default"}, format="json")
    api_item(acme, "reggie", tags=["vision-a", "avision"])

    response = signed_in(acme, "olive").get("/suggest/tags", {"q": "VIS"})

    assert [entry["name"] for entry in response.json()["results"]] == ["vision-default", "vision-a", "avision"]
    assert acme.count(Tag) == 3


def test_user_suggestions_list_other_users_of_the_tenant(acme, globex):
    response = signed_in(acme, "reggie").get("/suggest/users", {"q": "o"})

    assert [entry["name"] for entry in response.json()["results"]] == ["olive"]


# ------------------------------------------------------------------ datasets and query counts


def test_the_dataset_pages_work_like_the_model_pages(acme):
    reggie = signed_in(acme, "reggie")

    form = html(reggie.get("/datasets/new/"))
    assert 'name="status"' not in form
    assert 'name="datasets"' not in form
    response = reggie.post("/datasets/new/", {"name": "customers", "visibility": "public", "tags": "tabular"})
    assert response.status_code == 302
    page = html(reggie.get("/datasets/"))
    assert "customers" in page
    assert ">Status<" not in page
    assert "customers" in html(signed_in(acme, "olive").get("/datasets/?tag=tabular"))


@pytest.mark.parametrize("viewer_name", ["reggie", "olive", "ada"])
def test_the_list_page_costs_as_many_queries_for_twenty_models_as_for_two(acme, viewer_name):
    dataset = api_item(acme, "reggie", "datasets", name="data", visibility="public")
    viewer = signed_in(acme, viewer_name)

    def add_models(first, last):
        for number in range(first, last):
            api_item(
                acme,
                "reggie",
                name=f"model-{number}",
                visibility="public",
                users=["olive"],
                datasets=[dataset["_id"]],
                tags=["a", f"t{number}"],
                metadata=[{"name": "accuracy", "value": number / 100}],
            )

    def queries_to_list():
        with CaptureQueriesContext(connections[alias_for(acme.tenant.database)]) as captured:
            response = viewer.get("/models/")
        assert response.status_code == 200
        return len(captured.captured_queries)

    queries_to_list()  # warm up
    add_models(0, 2)
    for_two = queries_to_list()  # each count after a change: totalDocs is recounted once per change
    add_models(2, 20)
    for_twenty = queries_to_list()

    assert for_two == for_twenty
    assert for_twenty <= 10
