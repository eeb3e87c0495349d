"""The models list in a real browser: search by words and by filter, tag chips, sorting, pages, compare
selection, and the phone layout.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from testing.browser import screenshot
from testing.helpers import PASSWORD, api_item, seed_catalog


def names(page):
    return page.locator("table.items .item-link").all_inner_texts()


def follow(page, link):
    """Click something that loads another page, and wait until that page has loaded."""
    link.click()
    page.wait_for_load_state()


def search(page, text):
    page.get_by_label("Search models").fill(text)
    follow(page, page.get_by_role("button", name="Search"))


def test_the_list_searches_by_plain_words_and_by_filter(acme, browser_page, sign_in):
    seed_catalog(acme)
    page = sign_in("acme", "reggie")
    assert sorted(names(page)) == [
        "bert-base-sentiment",
        "churn-xgboost",
        "resnet50-imagenet",
        "resnet50-imagenet-v2",
        "whisper-small-de",
    ]
    screenshot(page, "browse")

    search(page, "VISION")  # a tag, any case
    assert sorted(names(page)) == ["resnet50-imagenet", "resnet50-imagenet-v2"]
    assert parse_qs(urlparse(page.url).query)["q"] == ["VISION"]

    search(page, "onnx")  # a metadata value
    assert sorted(names(page)) == ["resnet50-imagenet", "resnet50-imagenet-v2", "whisper-small-de"]

    search(page, "wer")  # a metadata name
    assert names(page) == ["whisper-small-de"]

    search(page, "resnet v2")  # every word must match
    assert names(page) == ["resnet50-imagenet-v2"]

    search(page, '{"metadata.accuracy": {"$gte": 0.94}}')  # the API's filter language
    assert names(page) == ["resnet50-imagenet-v2"]
    bookmarked = page.url

    search(page, '{"colour": "red"}')
    assert page.get_by_role("alert").get_by_text("unknown field 'colour'").is_visible()
    assert names(page) == []

    page.goto(bookmarked)  # the whole search is in the URL
    assert names(page) == ["resnet50-imagenet-v2"]
    assert page.get_by_label("Search models").input_value() == '{"metadata.accuracy": {"$gte": 0.94}}'


def test_tag_chips_filter_the_list(acme, browser_page, sign_in):
    seed_catalog(acme)
    page = sign_in("acme", "reggie")

    follow(page, page.locator("table.items").get_by_role("link", name="nlp", exact=True))
    assert names(page) == ["bert-base-sentiment"]
    assert parse_qs(urlparse(page.url).query)["tag"] == ["nlp"]
    follow(page, page.get_by_role("link", name="Stop filtering by tag nlp"))

    follow(page, page.get_by_role("link", name="Filter by tag vision"))
    follow(page, page.get_by_role("link", name="Filter by tag cnn"))
    assert sorted(names(page)) == ["resnet50-imagenet", "resnet50-imagenet-v2"]
    assert parse_qs(urlparse(page.url).query)["tag"] == ["vision", "cnn"]


def test_the_list_sorts_by_column_and_pages(acme, browser_page, sign_in):
    client = acme.client("reggie")
    for number in range(25):
        assert client.post("/v1/models", {"name": f"model-{number:02}"}, format="json").status_code == 201
    page = sign_in("acme", "reggie")
    page.goto("/models/?sort=name")

    assert names(page) == [f"model-{number:02}" for number in range(20)]
    assert page.get_by_text("1\N{EN DASH}20 of 25 models").is_visible()
    follow(page, page.get_by_role("link", name="Next →"))
    assert names(page) == [f"model-{number:02}" for number in range(20, 25)]
    assert parse_qs(urlparse(page.url).query) == {"sort": ["name"], "page": ["2"]}
    assert page.locator(".pagination [aria-current=page]").inner_text() == "2"

    follow(page, page.get_by_role("link", name="Name"))  # sort the other way, back to the first page
    assert names(page)[:2] == ["model-24", "model-23"]
    assert parse_qs(urlparse(page.url).query) == {"sort": ["-name"]}
    assert page.locator("th[aria-sort=descending]").inner_text().startswith("Name")


def test_compare_selected_builds_the_comparison_url(acme, browser_page, sign_in):
    items = seed_catalog(acme)
    page = sign_in("acme", "reggie")
    button = page.get_by_role("button", name="Compare selected")
    assert button.is_disabled()

    page.get_by_label("Select resnet50-imagenet to compare").check()
    assert button.is_disabled()
    page.get_by_label("Select resnet50-imagenet-v2 to compare").check()
    assert page.get_by_text("2 selected").is_visible()
    button.click()

    page.wait_for_url("**/compare/**")
    assert sorted(parse_qs(urlparse(page.url).query)["ids"]) == sorted(
        [items["resnet"]["_id"], items["resnet2"]["_id"]]
    )
    assert page.locator("table.compare thead a").all_inner_texts() != []


def test_a_user_with_nothing_sees_what_to_do_next(acme, browser_page, sign_in):
    page = sign_in("acme", "olive")

    assert page.get_by_role("heading", name="No models yet — register one").is_visible()
    page.get_by_role("link", name="Register a model").last.click()
    page.wait_for_url("**/models/new/")


def test_the_list_is_usable_at_phone_width(acme, chromium_browser, live_url):
    seed_catalog(acme)
    api_item(acme, "reggie", name="a-model-with-a-rather-long-name-for-a-phone-screen", tags=["x" * 30])
    context = chromium_browser.new_context(base_url=live_url, viewport={"width": 390, "height": 844})
    page = context.new_page()
    try:
        page.goto("/signin/?next=/models/")
        page.get_by_label("Tenant").fill("acme")
        page.get_by_label("Username").fill("reggie")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/models/")

        assert page.evaluate("document.documentElement.scrollWidth") <= 390  # nothing sticks out sideways
        assert page.get_by_role("link", name="resnet50-imagenet", exact=True).is_visible()
        assert page.get_by_label("Search models").is_visible()
        screenshot(page, "browse-phone")
    finally:
        context.close()


def test_the_list_shows_chosen_metadata_columns_and_sorts_on_them(acme, owner, kind):
    from testing.helpers import html, signed_in

    for name, accuracy in (("low", 0.7), ("high", 0.95), ("none", None)):
        metadata = [] if accuracy is None else [{"name": "accuracy", "value": accuracy}]
        kind.create(owner, name, metadata=metadata)
    client = signed_in(acme, "reggie")

    page = html(client.get(f"/{kind.plural}/", {"columns": "accuracy", "sort": "-metadata.accuracy"}))

    order = [page.index(f">{name}</a>") for name in ("high", "low", "none")]
    assert order == sorted(order)
    assert '<td data-label="metric" class="metric" data-metric>0.95</td>' in page
    assert 'href="?columns=accuracy&amp;sort=metadata.accuracy"' in page  # the header reverses the order
    ascending = html(client.get(f"/{kind.plural}/", {"columns": "accuracy", "sort": "metadata.accuracy"}))
    order = [ascending.index(f">{name}</a>") for name in ("low", "high", "none")]
    assert order == sorted(order)  # items without the name stay last
