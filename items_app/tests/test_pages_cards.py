"""Model cards on the pages and in the API, with Django's test client: the item page shows the description
rendered, lists show a plain excerpt, the edit form previews without writing, and the length limit is the
same for the API and the form.

(In a real browser, with scripts and the CSP at work: ``test_cards_browser.py``.)
"""

from __future__ import annotations

from items_app.cards import MAX_CARD_LENGTH
from items_app.models import Item
from tenants_app import tenancy
from testing.helpers import api_item, details_of, error_of, html, signed_in, upload

CARD = """# ResNet-50

Fine-tuned on **ImageNet-1k**. See [the paper](https://arxiv.org/abs/1512.03385).

| metric | value |
|:--|--:|
| top-1 | 0.76 |

```python
model = load("resnet50")
```

<script>window.__pwned = 1</script><img src="https://evil.example/pixel.png" onerror="window.__pwned = 2">
"""


def description_of(tenant, **lookup):
    with tenancy.using_tenant(tenant.tenant):
        return Item.objects.get(**lookup).description


def form_data(**fields):
    data = {"name": "churn", "status": "training", "visibility": "private", "description": "", "tags": "", "users": ""}
    data.update(fields)
    return data


def test_the_item_page_shows_the_description_rendered_and_sanitised(acme):
    model = api_item(acme, "reggie", description=CARD)

    page = html(signed_in(acme, "reggie").get(f"/models/{model['_id']}/"))

    card = page.split("data-card>", 1)[1].split("</section>", 1)[0]
    assert "<h1>ResNet-50</h1>" in card
    assert "<strong>ImageNet-1k</strong>" in card
    assert '<a href="https://arxiv.org/abs/1512.03385" rel="nofollow noopener noreferrer">the paper</a>' in card
    assert '<td class="align-right">0.76</td>' in card
    assert '<code class="language-python">model = load("resnet50")' in card
    assert "<script" not in card
    assert "evil.example" not in card
    assert "onerror" not in card


def test_the_api_keeps_the_markdown_source(acme):
    model = api_item(acme, "reggie", description=CARD)

    assert acme.client("olive").get(f"/v1/models/{model['_id']}").status_code == 404  # private: no oracle
    assert (
        acme.client("reggie").get(f"/v1/models/{model['_id']}").json()["description"] == CARD.strip()
    )  # as every string of a body, trimmed


def test_a_long_card_takes_the_pages_width(acme):
    short = api_item(acme, "reggie", name="short", description="A line.")
    long = api_item(acme, "reggie", name="long", description="A paragraph. " * 100)
    reggie = signed_in(acme, "reggie")

    assert '<section class="card" aria-labelledby="description-heading">' in html(
        reggie.get(f"/models/{short['_id']}/")
    )
    assert '<section class="card wide" aria-labelledby="description-heading">' in html(
        reggie.get(f"/models/{long['_id']}/")
    )


def test_the_list_shows_a_plain_text_excerpt(acme):
    api_item(acme, "reggie", description="# Churn\n\n**Predicts** churn <script>window.__pwned = 1</script>")

    page = html(signed_in(acme, "reggie").get("/models/"))

    assert '<div class="muted small clamp">Churn Predicts churn</div>' in page
    assert "__pwned" not in page


def test_version_descriptions_are_rendered_on_the_item_page(acme):
    model = api_item(acme, "reggie")
    reggie = acme.client("reggie")
    response = upload(
        reggie, f"/v1/models/{model['_id']}/versions", description="epoch **90** <img src=x onerror=alert(1)>"
    )
    assert response.status_code == 201, response.content

    page = html(signed_in(acme, "reggie").get(f"/models/{model['_id']}/"))

    versions = page.split("data-version-card>", 1)[1].split("</div>", 1)[0]
    assert versions == '<p>epoch <strong>90</strong> <img src="x"></p>\n'


def test_preview_renders_the_typed_card_and_writes_nothing(acme):
    reggie = signed_in(acme, "reggie")

    response = reggie.post("/models/new/", {**form_data(name="resnet", description=CARD), "preview": "1"})

    assert response.status_code == 200
    page = html(response)
    preview = page.split("data-card-preview>", 1)[1].split("</section>", 1)[0]
    assert "<h1>ResNet-50</h1>" in preview
    assert "<script" not in preview
    assert 'value="resnet"' in page  # the typed form comes back
    assert "**ImageNet-1k**" in page.split("<textarea", 1)[1]
    assert acme.count(Item) == 0


def test_preview_shows_no_errors_for_an_unfinished_form(acme):
    response = signed_in(acme, "reggie").post("/models/new/", {**form_data(name=""), "preview": "1"})

    assert response.status_code == 200
    assert "Please correct" not in html(response)
    assert "The description is empty." in html(response)


def test_preview_of_an_edit_keeps_the_item_as_it_was(acme):
    model = api_item(acme, "reggie", description="old")
    reggie = signed_in(acme, "reggie")

    response = reggie.post(f"/models/{model['_id']}/edit/", {**form_data(description="*new*"), "preview": "1"})

    assert response.status_code == 200
    assert "<em>new</em>" in html(response).split("data-card-preview>", 1)[1]
    assert description_of(acme, pk=model["_id"]) == "old"


def test_preview_of_an_edit_is_for_those_who_may_edit(acme):
    model = api_item(acme, "reggie", visibility="public", description="old")

    response = signed_in(acme, "olive").post(f"/models/{model['_id']}/edit/", {**form_data(), "preview": "1"})

    assert response.status_code == 403


def test_saving_after_a_preview_stores_the_markdown(acme):
    reggie = signed_in(acme, "reggie")

    response = reggie.post("/models/new/", form_data(name="resnet", description=CARD))

    assert response.status_code == 302
    assert description_of(acme, name="resnet") == CARD


def test_line_ends_typed_in_a_browser_are_stored_as_the_api_stores_them(acme):
    reggie = signed_in(acme, "reggie")

    response = reggie.post("/models/new/", form_data(name="resnet", description="# Card\r\n\r\ntext\r\n"))

    assert response.status_code == 302
    assert description_of(acme, name="resnet") == "# Card\n\ntext\n"


def test_the_api_takes_a_card_of_the_limit_and_refuses_a_longer_one(acme):
    reggie = acme.client("reggie")
    longest = "x" * MAX_CARD_LENGTH

    created = reggie.post("/v1/models", {"name": "long", "description": longest}, format="json")
    too_long = reggie.post("/v1/models", {"name": "longer", "description": longest + "x"}, format="json")
    updated = reggie.put(f"/v1/models/{created.json()['_id']}", {"description": longest + "x"}, format="json")

    assert created.status_code == 201
    assert description_of(acme, name="long") == longest
    assert error_of(too_long)[0] == 400
    assert "description" in details_of(too_long)
    assert str(MAX_CARD_LENGTH) in details_of(too_long)
    assert error_of(updated)[0] == 400
    assert "description" in details_of(updated)
    assert description_of(acme, name="long") == longest


def test_the_form_has_the_same_limit_as_the_api(acme):
    reggie = signed_in(acme, "reggie")
    longest = "x" * MAX_CARD_LENGTH

    accepted = reggie.post("/models/new/", form_data(name="long", description=longest))
    refused = reggie.post("/models/new/", form_data(name="longer", description=longest + "x"))
    preview = reggie.post("/models/new/", {**form_data(description=longest + "x"), "preview": "1"})

    assert accepted.status_code == 302
    assert refused.status_code == 400
    assert f"at most {MAX_CARD_LENGTH} characters" in html(refused)
    assert "Too long to preview" in html(preview)
    assert acme.count(Item) == 1
