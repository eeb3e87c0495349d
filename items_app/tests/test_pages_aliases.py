"""Aliases on the pages: shown beside their versions and in lists, moved with a confirmation, with history."""

from __future__ import annotations

import pytest

from testing.helpers import html, signed_in, upload


@pytest.fixture
def released(owner, kind):
    item = kind.create(owner, visibility="public")
    for name, content in (("v1.onnx", b"one"), ("v2.onnx", b"two")):
        upload(owner, f"{kind.url(item)}/versions", name, content)
    owner.put(f"{kind.url(item)}/aliases/production", {"version": 1}, format="json")
    return item


def test_the_item_page_shows_aliases_beside_their_versions_and_the_move_form_to_its_owner(acme, kind, released):
    page = html(signed_in(acme, "reggie").get(f"/{kind.plural}/{released['_id']}/"))

    assert 'data-alias="production"' in page
    assert "@production → v1" in page
    assert 'action="/' + kind.plural + "/" + released["_id"] + '/aliases/move"' in page


def test_readers_see_aliases_but_no_move_form(acme, kind, released):
    page = html(signed_in(acme, "olive").get(f"/{kind.plural}/{released['_id']}/"))

    assert "@production → v1" in page
    assert "/aliases/move" not in page


def test_moving_asks_first_then_moves(acme, reader, kind, released):
    client = signed_in(acme, "reggie")
    url = f"/{kind.plural}/{released['_id']}/aliases/move"

    asked = client.get(url, {"alias": "production", "version": "2"})
    assert "Point @production at version 2" in html(asked)
    assert "points at version 1 now" in html(asked)
    assert reader.get(kind.url(released)).json()["aliases"] == {"production": 1}  # asking moved nothing

    moved = client.post(url, {"alias": "production", "version": "2"})

    assert moved.status_code == 302
    assert reader.get(kind.url(released)).json()["aliases"] == {"production": 2}


def test_readers_cannot_move_and_bad_names_are_refused(acme, kind, released):
    url = f"/{kind.plural}/{released['_id']}/aliases/move"

    assert signed_in(acme, "olive").post(url, {"alias": "production", "version": "2"}).status_code == 403
    assert signed_in(acme, "reggie").get(url, {"alias": "Not Good", "version": "2"}).status_code == 400


def test_the_aliases_page_lists_them_with_history_and_removes_after_confirmation(acme, reader, kind, released):
    client = signed_in(acme, "reggie")
    page = html(client.get(f"/{kind.plural}/{released['_id']}/aliases/"))
    assert 'data-alias-row="production"' in page
    assert "set to v1" in page

    remove = f"/{kind.plural}/{released['_id']}/aliases/production/remove/"
    assert "Remove @production" in html(client.get(remove))
    assert client.post(remove).status_code == 302

    assert reader.get(kind.url(released)).json()["aliases"] == {}
    assert "removed (was v1)" in html(client.get(f"/{kind.plural}/{released['_id']}/aliases/"))


def test_lists_show_alias_badges(acme, kind, released):
    page = html(signed_in(acme, "olive").get(f"/{kind.plural}/"))

    assert 'title="@production → v1"' in page


def test_the_owner_moves_production_from_v1_to_v2_in_a_browser(acme, owner, browser_page, sign_in):
    from testing.browser import screenshot

    item = owner.post("/v1/models", {"name": "detector", "visibility": "public"}, format="json").json()
    for name, content in (("v1.onnx", b"one"), ("v2.onnx", b"two")):
        upload(owner, f"/v1/models/{item['_id']}/versions", name, content)
    owner.put(f"/v1/models/{item['_id']}/aliases/production", {"version": 1}, format="json")
    page = sign_in("acme", "reggie")
    page.goto(f"/models/{item['_id']}/")
    assert page.locator("tr[data-version='1'] [data-alias='production']").is_visible()

    page.get_by_label("Alias", exact=True).fill("production")
    page.get_by_label("points at").select_option("2")
    page.get_by_role("button", name="Move alias…").click()
    page.wait_for_load_state()
    assert "Point @production at version 2" in page.locator("h1").inner_text()
    screenshot(page, "alias-move-confirm")
    page.get_by_role("button", name="Move @production").click()
    page.wait_for_load_state()

    assert page.locator("tr[data-version='2'] [data-alias='production']").is_visible()
    assert page.locator("tr[data-version='1'] [data-alias='production']").count() == 0
    assert owner.get(f"/v1/models/{item['_id']}").json()["aliases"] == {"production": 2}
    screenshot(page, "alias-moved")


def test_the_compare_page_puts_versions_of_one_item_side_by_side(acme, owner, kind):
    import json as json_module

    item = kind.create(owner, "tuned", visibility="public")
    for index, metrics in enumerate(({"accuracy": 0.91, "val_loss": 0.3}, {"accuracy": 0.94, "val_loss": 0.2})):
        url = f"{kind.url(item)}/versions?metadata=" + json_module.dumps(metrics)
        owner.post(url, data=bytes([index]), content_type="application/octet-stream",
                   HTTP_CONTENT_DISPOSITION=f'attachment; filename="v{index + 1}.onnx"')  # fmt: skip
    client = signed_in(acme, "olive")

    page = html(client.get("/compare/", {"item": item["_id"]}))

    assert "Compare versions of “tuned”" in page
    accuracy = page.split('data-metadata-row="accuracy"', 1)[1].split("</tr>", 1)[0]
    assert 'class="best">0.94' in accuracy  # higher is better
    loss = page.split('data-metadata-row="val_loss"', 1)[1].split("</tr>", 1)[0]
    assert 'class="best">0.2' in loss  # a loss: lower is better
    assert "Compare versions" in html(client.get(f"/{kind.plural}/{item['_id']}/"))
    one = html(client.get("/compare/", {"item": item["_id"], "versions": ["2"]}))
    assert "fewer than two" not in one
    assert signed_in(acme, "olive").get("/compare/", {"item": "0" * 24}).status_code == 404
