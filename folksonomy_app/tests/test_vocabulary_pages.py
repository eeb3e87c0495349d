"""The vocabulary pages (/manage/vocabulary/): tags and metadata names with their use, default entries, deletion."""

from __future__ import annotations

import html
import re
from typing import Any
from urllib.parse import quote

import pytest

from folksonomy_app.models import MetadataName, Tag, Usage
from tenants_app import tenancy
from tenants_app.models import AuditEntry
from testing.helpers import signed_in_client


@pytest.fixture
def ada(acme: Any) -> Any:
    return signed_in_client("acme", "ada")


@pytest.fixture
def reggie(acme: Any) -> Any:
    return signed_in_client("acme", "reggie")


@pytest.fixture
def gus(globex: Any) -> Any:
    return signed_in_client("globex", "gus")


@pytest.fixture
def used(acme: Any) -> dict[str, Any]:
    """Reggie's model tagged ``vision`` with an ``accuracy``, and olive's public dataset tagged ``vision`` too."""
    model = acme.client("reggie").post(
        "/v1/models",
        {"name": "churn", "tags": ["vision"], "metadata": [{"name": "accuracy", "value": 0.9}]},
        format="json",
    )
    dataset = acme.client("olive").post(
        "/v1/datasets", {"name": "customers", "tags": ["vision", "tabular"], "visibility": "public"}, format="json"
    )
    assert model.status_code == dataset.status_code == 201
    return {"model": model.json(), "dataset": dataset.json()}


def text_of(response: Any) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.content.decode())).split())


def table_rows(response: Any) -> list[str]:
    rows = re.findall(r"<tr>(.*?)</tr>", response.content.decode(), re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", row)).split()) for row in rows if "<td" in row]


def field_error(response: Any, field: str) -> str:
    match = re.search(rf'id="id_{field}_error">(.*?)</div>', response.content.decode(), re.S)
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))).split()) if match else ""


def entry(handle: Any, model: type[Any], name: str) -> Any:
    with tenancy.using_tenant(handle.tenant):
        return model.objects.select_related("owner").filter(pk=name).first()


def audit(handle: Any, **filters: Any) -> list[AuditEntry]:
    with tenancy.using_tenant(handle.tenant):
        return list(AuditEntry.objects.filter(**filters))


PAGES = [
    ("get", "/manage/vocabulary/tags/"),
    ("post", "/manage/vocabulary/tags/"),
    ("get", "/manage/vocabulary/tags/delete/?name=vision"),
    ("post", "/manage/vocabulary/tags/delete/"),
    ("get", "/manage/vocabulary/metadata/"),
    ("post", "/manage/vocabulary/metadata/"),
    ("get", "/manage/vocabulary/metadata/delete/?name=accuracy"),
    ("post", "/manage/vocabulary/metadata/delete/"),
]


# ------------------------------------------------------------------ who may open the pages


def test_anonymous_visitors_are_sent_to_sign_in(acme, client):
    for method, url in PAGES:
        response = getattr(client, method)(url)

        assert response.status_code == 302, url
        assert response["Location"].startswith("/signin/?next=%2Fmanage%2Fvocabulary%2F"), url


def test_regular_users_get_the_403_page_and_change_nothing(acme, used, reggie):
    for method, url in PAGES:
        response = reggie.post(url, {"name": "tabular"}) if method == "post" else reggie.get(url)

        assert response.status_code == 403, url
        assert "You cannot open this page" in text_of(response)
    assert entry(acme, Tag, "tabular") is not None
    assert acme.count(Tag, usage=Usage.DEFAULT) == 0


def test_the_admin_of_another_tenant_sees_only_their_own_vocabulary(acme, used, globex, gus):
    globex.client("gus").post("/v1/models", {"name": "forecast", "tags": ["timeseries"]}, format="json")

    rows = table_rows(gus.get("/manage/vocabulary/tags/"))

    assert [row.split()[0] for row in rows] == ["timeseries"]
    assert gus.get("/manage/vocabulary/tags/delete/?name=vision").status_code == 404
    assert gus.post("/manage/vocabulary/tags/delete/", {"name": "tabular"}).status_code == 404
    assert entry(acme, Tag, "tabular") is not None


# ------------------------------------------------------------------ lists


def test_the_tag_list_shows_usage_owner_and_how_many_items_use_each(acme, used, ada):
    response = ada.get("/manage/vocabulary/tags/")

    assert response.status_code == 200
    rows = {row.split()[0]: row for row in table_rows(response)}
    assert sorted(rows) == ["tabular", "vision"]
    assert rows["vision"].startswith("vision folk reggie 2 ")
    assert rows["tabular"].startswith("tabular folk olive 1 ")


def test_the_metadata_list_shows_its_names(acme, used, ada):
    rows = table_rows(ada.get("/manage/vocabulary/metadata/"))

    assert len(rows) == 1
    assert rows[0].startswith("accuracy folk reggie 1 ")


def test_the_list_filters_by_usage_and_text_and_sorts(acme, used, ada):
    ada.post("/manage/vocabulary/tags/", {"name": "audio"})

    defaults = [row.split()[0] for row in table_rows(ada.get("/manage/vocabulary/tags/?usage=default"))]
    found = [row.split()[0] for row in table_rows(ada.get("/manage/vocabulary/tags/?q=VIS"))]
    by_count = [row.split()[0] for row in table_rows(ada.get("/manage/vocabulary/tags/?sort=count"))]
    by_name = [row.split()[0] for row in table_rows(ada.get("/manage/vocabulary/tags/"))]

    assert defaults == ["audio"]
    assert found == ["vision"]
    assert by_count == ["vision", "tabular", "audio"]
    assert by_name == ["audio", "tabular", "vision"]
    assert "No tags match these filters." in text_of(ada.get("/manage/vocabulary/tags/?q=nothing+like+it"))


def test_an_empty_vocabulary_says_so(acme, ada):
    assert "No metadata names yet." in text_of(ada.get("/manage/vocabulary/metadata/"))


def test_a_bad_filter_is_explained_next_to_the_field(acme, ada):
    response = ada.get("/manage/vocabulary/tags/?usage=sometimes")

    assert response.status_code == 400
    assert "Select a valid choice" in field_error(response, "usage")


# ------------------------------------------------------------------ default entries


def test_an_admin_adds_a_default_tag(acme, ada):
    response = ada.post("/manage/vocabulary/tags/", {"name": " vision "}, follow=True)

    assert response.redirect_chain == [("/manage/vocabulary/tags/", 302)]
    assert "Default tag “vision” created." in text_of(response)
    tag = entry(acme, Tag, "vision")
    assert (tag.usage, tag.owner.username) == (Usage.DEFAULT, "ada")
    [created] = audit(acme, action="create", resource="tag")
    assert (created.actor, created.target) == ("ada", "vision")


def test_an_admin_adds_a_default_metadata_name(acme, ada):
    response = ada.post("/manage/vocabulary/metadata/", {"name": "learning_rate"})

    assert response.status_code == 302
    assert entry(acme, MetadataName, "learning_rate").usage == Usage.DEFAULT
    assert entry(acme, Tag, "learning_rate") is None


@pytest.mark.parametrize(
    ("name", "status", "message"),
    [
        ("vision", 409, "'vision' already exists"),
        ("bad\u0007name", 400, "control characters"),
        ("   ", 400, "1 to 64 characters"),
        ("", 400, "This field is required"),
        ("x" * 65, 400, "at most 64 characters"),
    ],
)
def test_a_refused_entry_is_explained_next_to_the_name(acme, used, ada, name, status, message):
    response = ada.post("/manage/vocabulary/tags/", {"name": name})

    assert response.status_code == status
    assert message in field_error(response, "name")
    assert acme.count(Tag, usage=Usage.DEFAULT) == 0
    assert len(table_rows(response)) == 2  # the list is still shown beside the form


# ------------------------------------------------------------------ deleting entries


def test_deleting_an_unused_entry_asks_first_then_deletes(acme, ada):
    ada.post("/manage/vocabulary/tags/", {"name": "a/b?c#d"})
    url = f"/manage/vocabulary/tags/delete/?name={quote('a/b?c#d', safe='')}"
    assert url in ada.get("/manage/vocabulary/tags/").content.decode()

    confirmation = ada.get(url)
    assert confirmation.status_code == 200
    assert "Delete the tag “a/b?c#d”?" in text_of(confirmation)
    assert "No item uses it." in text_of(confirmation)

    response = ada.post("/manage/vocabulary/tags/delete/", {"name": "a/b?c#d"}, follow=True)
    assert response.redirect_chain == [("/manage/vocabulary/tags/", 302)]
    assert "The tag “a/b?c#d” was deleted." in text_of(response)
    assert entry(acme, Tag, "a/b?c#d") is None
    [deleted] = audit(acme, action="delete", resource="tag")
    assert deleted.target == "a/b?c#d"


def test_an_entry_in_use_is_not_deleted_and_the_page_names_the_items(acme, used, ada):
    confirmation = text_of(ada.get("/manage/vocabulary/tags/delete/?name=vision"))
    assert "2 items still use it" in confirmation

    response = ada.post("/manage/vocabulary/tags/delete/", {"name": "vision"})

    assert response.status_code == 409
    text = text_of(response)
    assert "Not deleted: 'vision' is still used by" in text
    assert "churn" in text
    assert "customers" in text
    assert entry(acme, Tag, "vision") is not None


def test_a_metadata_name_in_use_is_not_deleted(acme, used, ada):
    response = ada.post("/manage/vocabulary/metadata/delete/", {"name": "accuracy"})

    assert response.status_code == 409
    assert entry(acme, MetadataName, "accuracy") is not None


def test_deleting_an_unknown_entry_is_a_404(acme, ada):
    assert ada.get("/manage/vocabulary/tags/delete/?name=nothing").status_code == 404
    assert ada.get("/manage/vocabulary/tags/delete/").status_code == 404
    assert ada.post("/manage/vocabulary/metadata/delete/", {"name": "nothing"}).status_code == 404
