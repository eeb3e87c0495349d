"""The pages of algorithms (``/algorithms/…``) and their Django admin, with Django's test client.

The pages are the item core's (items_app/views/), shown for the algorithm kind; these tests check that the
kind is offered everywhere a kind is, with its status and datasets, and that its rules hold on the pages.
Personas: ``reggie`` owns the items, ``olive`` reads what is shared with her, ``ada`` is acme's admin, ``gus``
the admin of another tenant.
"""

from __future__ import annotations

import html as entities
import re
from typing import Any

from items_app.models import Item, Version
from tenants_app import tenancy
from tenants_app.models import AuditEntry
from testing.helpers import CONTENT, api_item, body_of, html, signed_in


def algorithm(tenant: Any, username: str = "reggie", **fields: Any) -> dict[str, Any]:
    return api_item(tenant, username, "algorithms", **{"name": "sorter", **fields})


def text_of(response: Any) -> str:
    return " ".join(entities.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


# ------------------------------------------------------------------ pages


def test_every_page_links_the_algorithms_list(acme):
    page = html(signed_in(acme, "reggie").get("/models/"))

    assert 'href="/algorithms/"' in page


def test_the_empty_list_offers_to_register_an_algorithm(acme):
    page = html(signed_in(acme, "reggie").get("/algorithms/"))

    assert "No algorithms yet" in page
    assert 'href="/algorithms/new/"' in page


def test_the_form_creates_an_algorithm_with_its_status_and_datasets(acme):
    dataset = api_item(acme, "reggie", "datasets", name="customers")
    reggie = signed_in(acme, "reggie")

    form = html(reggie.get("/algorithms/new/"))
    response = reggie.post(
        "/algorithms/new/",
        {"name": "sorter", "status": "deploy", "visibility": "private", "tags": "sorting", "datasets": dataset["_id"]},
    )

    assert 'name="status"' in form
    assert 'name="datasets"' in form
    assert response.status_code == 302
    item_id = response["Location"].split("/")[2]
    assert response["Location"] == f"/algorithms/{item_id}/"
    document = acme.client("reggie").get(f"/v1/algorithms/{item_id}").json()
    assert (document["status"], document["datasets"], document["tags"]) == ("deploy", [dataset["_id"]], ["sorting"])
    assert "Algorithm “sorter” registered." in html(reggie.get(response["Location"]))


def test_the_algorithm_page_shows_its_status_and_readable_datasets_to_a_reader(acme):
    hidden = api_item(acme, "ada", "datasets", name="hidden-data")
    shared = api_item(acme, "reggie", "datasets", name="shared-data", users=["olive"])
    item = algorithm(acme, "ada", status="production", users=["olive"], datasets=[hidden["_id"], shared["_id"]])

    page = html(signed_in(acme, "olive").get(f"/algorithms/{item['_id']}/"))

    assert "sorter" in page
    assert "production" in page
    assert "shared-data" in page
    assert "hidden-data" not in page
    assert f"/algorithms/{item['_id']}/edit/" not in page


def test_a_private_algorithm_is_a_404_page_for_an_outsider_and_another_kinds_url(acme):
    item = algorithm(acme)
    acme.add_user("oscar")

    assert signed_in(acme, "oscar").get(f"/algorithms/{item['_id']}/").status_code == 404
    assert signed_in(acme, "reggie").get(f"/models/{item['_id']}/").status_code == 404
    assert "sorter" not in html(signed_in(acme, "oscar").get("/algorithms/"))


def test_the_list_page_filters_algorithms_by_status(acme):
    algorithm(acme, name="fast", status="production")
    algorithm(acme, name="slow", status="test")

    page = html(signed_in(acme, "reggie").get("/algorithms/", {"q": '{"status": "production"}'}))

    assert ">fast<" in page
    assert ">slow<" not in page


def test_a_dataset_page_lists_the_readable_algorithms_trained_on_it(acme):
    dataset = api_item(acme, "reggie", "datasets", name="customers", visibility="public")
    algorithm(acme, name="public-sorter", visibility="public", datasets=[dataset["_id"]])
    algorithm(acme, name="private-sorter", datasets=[dataset["_id"]])

    page = html(signed_in(acme, "olive").get(f"/datasets/{dataset['_id']}/"))

    assert "public-sorter" in page
    assert "private-sorter" not in page


def test_a_dataset_an_algorithm_uses_is_not_deleted_and_the_page_says_why(acme):
    dataset = api_item(acme, "reggie", "datasets", name="customers")
    algorithm(acme, datasets=[dataset["_id"]])

    response = signed_in(acme, "reggie").post(f"/datasets/{dataset['_id']}/delete/", follow=True)

    assert acme.count(Item, pk=dataset["_id"]) == 1
    assert "Not deleted: the dataset is used by sorter" in html(response)


def test_the_page_upload_stores_a_version_the_reader_downloads(acme):
    item = algorithm(acme, users=["olive"])

    response = signed_in(acme, "reggie").post(
        f"/algorithms/{item['_id']}/versions/upload",
        data=CONTENT,
        content_type="application/octet-stream",
        HTTP_CONTENT_DISPOSITION="attachment; filename*=UTF-8''sorter.py",
    )

    assert response.status_code == 201, response.content
    download = signed_in(acme, "olive").get(f"/algorithms/{item['_id']}/versions/1/download")
    assert download.status_code == 200
    assert body_of(download) == CONTENT
    assert acme.count(Version, item_id=item["_id"]) == 1


def test_the_owner_deletes_an_algorithm_from_its_page(acme):
    item = algorithm(acme)

    response = signed_in(acme, "reggie").post(f"/algorithms/{item['_id']}/delete/")

    assert response.status_code == 302
    assert response["Location"] == "/algorithms/"
    assert acme.count(Item) == 0


# ------------------------------------------------------------------ Django admin


def test_the_admin_lists_algorithms_with_their_status_and_filters_by_it(acme, globex):
    algorithm(acme, name="fast", status="production")
    algorithm(acme, name="slow", status="test")
    api_item(globex, "gus", "algorithms", name="globex-sorter")
    ada = signed_in(acme, "ada")

    assert "Algorithms" in text_of(ada.get("/admin/"))
    listed = text_of(ada.get("/admin/algorithms_app/algorithm/"))
    assert "fast" in listed
    assert "Production" in listed or "production" in listed
    assert "globex-sorter" not in listed
    filtered = text_of(ada.get("/admin/algorithms_app/algorithm/?status__exact=test"))
    assert "slow" in filtered
    assert "fast" not in filtered


def test_the_admin_shows_an_algorithms_datasets_and_the_dataset_its_users(acme):
    dataset = api_item(acme, "reggie", "datasets", name="customers")
    item = algorithm(acme, datasets=[dataset["_id"]])
    ada = signed_in(acme, "ada")

    assert "customers" in text_of(ada.get(f"/admin/algorithms_app/algorithm/{item['_id']}/change/"))
    assert "sorter" in text_of(ada.get(f"/admin/datasets_app/dataset/{dataset['_id']}/change/"))


def test_deleting_an_algorithm_in_the_admin_goes_through_the_item_service(acme):
    item = algorithm(acme)

    response = signed_in(acme, "ada").post(f"/admin/algorithms_app/algorithm/{item['_id']}/delete/", {"post": "yes"})

    assert response.status_code == 302
    assert acme.count(Item) == 0
    with tenancy.using_tenant(acme.tenant):
        entry = AuditEntry.objects.get(action="delete")
    assert (entry.actor, entry.resource, entry.target) == ("ada", "algorithm", item["_id"])
