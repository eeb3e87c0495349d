"""Comparing items in a real browser: one row per metadata name, differences highlighted, the best number
marked, "hide identical rows" kept in the URL.
"""

from __future__ import annotations

from urllib.parse import parse_qs, urlparse

from testing.browser import screenshot
from testing.helpers import seed_catalog


def row(page, name):
    return page.locator(f"tr[data-metadata-row='{name}']")


def best_values(page, name):
    return [
        text.replace("★", "").replace("(best)", "").strip()
        for text in row(page, name).locator("td.best").all_inner_texts()
    ]


def test_two_models_compared_with_identical_rows_hidden(acme, browser_page, sign_in):
    items = seed_catalog(acme)
    first, second = items["resnet"]["_id"], items["resnet2"]["_id"]
    page = sign_in("acme", "reggie")
    page.goto(f"/compare/?ids={first}&ids={second}")

    assert page.locator("table.compare thead a").all_inner_texts() == ["resnet50-imagenet", "resnet50-imagenet-v2"]
    assert row(page, "accuracy").get_attribute("class") == "differs"
    assert best_values(page, "accuracy") == ["0.947"]  # higher is better
    assert best_values(page, "loss") == ["0.187"]  # "loss" reads as lower-is-better
    assert row(page, "framework").get_attribute("class") == "same"
    assert row(page, "label_smoothing").locator("td").all_inner_texts() == ["—", "0.1"]
    screenshot(page, "compare")

    page.get_by_label("Hide identical rows").check()
    assert row(page, "framework").is_hidden()
    assert row(page, "accuracy").is_visible()
    assert parse_qs(urlparse(page.url).query) == {"ids": [first, second], "hide_identical": ["1"]}
    screenshot(page, "compare-hidden")

    page.reload()  # the URL reproduces the comparison, toggle included
    assert page.get_by_label("Hide identical rows").is_checked()
    assert row(page, "framework").is_hidden()

    row(page, "accuracy").get_by_role("link", name="higher is better").click()
    page.wait_for_load_state()
    assert best_values(page, "accuracy") == ["0.931"]
    assert row(page, "accuracy").get_by_role("link", name="lower is better").is_visible()
    assert parse_qs(urlparse(page.url).query)["flip"] == ["accuracy"]
    assert row(page, "framework").is_hidden()

    page.get_by_label("Hide identical rows").uncheck()
    assert row(page, "framework").is_visible()
    assert "hide_identical" not in parse_qs(urlparse(page.url).query)


def test_a_model_and_a_dataset_can_be_compared_and_unreadable_ones_are_named(acme, browser_page, sign_in):
    items = seed_catalog(acme)
    model, dataset, private = items["bert"]["_id"], items["sst2"]["_id"], items["churn"]["_id"]
    page = sign_in("acme", "olive")  # churn-xgboost is shared with olive; ada's private items are not

    page.goto(f"/compare/?ids={model}&ids={dataset}&ids={private}")
    assert page.locator("table.compare thead a").all_inner_texts() == [
        "bert-base-sentiment",
        "sst2-sentiment",
        "churn-xgboost",
    ]

    page.goto(f"/compare/?ids={model}&ids=ffffffffffffffffffffffff")
    assert page.get_by_text("Not found, or not shared with you").is_visible()
    assert page.get_by_role("alert").get_by_text("Pick at least two items you can read.").is_visible()
