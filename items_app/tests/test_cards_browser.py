"""Model cards in a real browser (Chromium): a card full of XSS payloads runs nothing and breaks no rule of
the Content-Security-Policy, and the edit form's preview shows the card before it is saved.

Every payload would leave a mark if it ran: ``window.__pwned`` set, the page's title changed, or an alert.
The page also reports every CSP violation (a ``securitypolicyviolation`` listener installed before the
page's own scripts, and the console): a sanitised card has nothing for the CSP to refuse. The preview is tested with
the page's script (no reload) and without JavaScript (a plain form submission).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from items_app.models import Item
from tenants_app import tenancy
from testing.browser import screenshot
from testing.helpers import PASSWORD, api_item

# Each its own block (a blank line between), so the Markdown ones are read as Markdown, not raw HTML.
PAYLOADS = """
<script>window.__pwned = "script"; document.title = "pwned"</script>

<img src="/no-such-image.png" onerror="window.__pwned = 'onerror'; document.title = 'pwned'">

<img src=x onerror=alert(1)>

<svg onload="window.__pwned = 'svg'"><script>window.__pwned = 'svg-script'</script></svg>

<iframe src="javascript:parent.__pwned='iframe'"></iframe>

<object data="javascript:parent.__pwned='object'"></object>

<a href="javascript:window.__pwned='link'" id="js-link">a javascript: link</a>

[a Markdown javascript: link](javascript:window.__pwned='md-link')

<a href="data:text/html,<script>parent.__pwned='data'</script>">a data: link</a>

![a data: image](data:image/svg+xml,<svg onload=alert(1)>)

![an external image](https://evil.example/pixel.png)

![a data: PNG, which the CSP alone would let in](data:image/png;base64,iVBORw0KGgo=)

<!-- <img src=x onerror="window.__pwned = 'comment'"> -->

<style>body { display: none }</style>

<div style="position: fixed; inset: 0; background: red" onmouseover="window.__pwned = 'hover'">hover me</div>

<details open ontoggle="window.__pwned = 'toggle'"><summary>More</summary>hidden</details>

<form action="/signout/" method="post"><button>Sign out</button></form>

<meta http-equiv="refresh" content="0;url=javascript:window.__pwned='meta'">

<base href="https://evil.example/">

"""

CARD = f"""# ResNet-50 card

Fine-tuned on **ImageNet-1k**, see [the paper](https://arxiv.org/abs/1512.03385).

| metric | value |
|:--|--:|
| top-1 | 0.76 |

```python
model = load("resnet50")
```
{PAYLOADS}
"""

WATCH_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (event) => {
  window.__violations.push(event.violatedDirective + " " + event.blockedURI);
});
"""


@pytest.fixture
def watched(browser_page: Any) -> Iterator[dict[str, list[str]]]:
    """The page with its console, its uncaught errors and its CSP violations recorded; none may happen."""
    seen: dict[str, list[str]] = {"console": [], "errors": [], "dialogs": []}
    browser_page.add_init_script(WATCH_CSP)
    browser_page.on("console", lambda message: seen["console"].append(message.text))
    browser_page.on("pageerror", lambda error: seen["errors"].append(str(error)))
    browser_page.on("dialog", lambda dialog: (seen["dialogs"].append(dialog.message), dialog.dismiss()))
    yield seen
    assert not [text for text in seen["console"] if "Content Security Policy" in text], seen["console"]
    assert not seen["errors"], seen["errors"]
    assert not seen["dialogs"], seen["dialogs"]  # an alert() of a payload


def assert_nothing_ran(page: Any, title: str) -> None:
    assert page.evaluate("() => window.__pwned") is None
    assert page.title() == title
    assert page.evaluate("() => window.__violations") == []


def test_a_card_full_of_payloads_runs_nothing_and_breaks_no_csp_rule(acme, browser_page, sign_in, watched):
    model = api_item(acme, "reggie", name="resnet50", visibility="public", description=CARD)
    page = sign_in("acme", "olive")  # a reader of the tenant: the one a hostile card is aimed at

    page.goto(f"/models/{model['_id']}/")
    page.wait_for_load_state("networkidle")
    card = page.locator("[data-card]")
    card.get_by_text("hover me").hover()
    card.get_by_text("More").click()
    card.get_by_text("a javascript: link", exact=True).click()
    card.get_by_text("a Markdown javascript: link").hover()
    page.wait_for_load_state("networkidle")

    expect(card.get_by_role("heading", name="ResNet-50 card")).to_be_visible()
    expect(card.locator("td.align-right")).to_have_text("0.76")
    expect(card.locator("code.language-python")).to_contain_text('model = load("resnet50")')
    expect(card.get_by_role("link", name="the paper")).to_have_attribute("rel", "nofollow noopener noreferrer")
    assert card.locator("script, iframe, object, svg, style, form, meta, base, [style], [id]").count() == 0
    sources = card.locator("img").evaluate_all("images => images.map(image => image.getAttribute('src'))")
    assert sources == ["/no-such-image.png", "x", None, None]  # the external and data: images lost their source
    assert page.url.endswith(f"/models/{model['_id']}/")  # neither the link nor a meta refresh went anywhere
    assert_nothing_ran(page, "resnet50 · Model · Model Registry")
    screenshot(page, "card-payloads")


def test_the_owner_previews_a_card_then_saves_it(acme, browser_page, sign_in, watched):
    model = api_item(acme, "reggie", name="resnet50", description="old")
    page = sign_in("acme", "reggie")
    page.goto(f"/models/{model['_id']}/edit/")

    page.get_by_role("textbox", name="Description").fill(CARD)
    page.evaluate("() => { window.__same_page = true }")
    page.get_by_role("button", name="Preview").click()

    preview = page.locator("[data-card-preview]")
    expect(preview.get_by_role("heading", name="Preview of the description")).to_be_visible()
    expect(preview.get_by_role("heading", name="ResNet-50 card")).to_be_visible()
    expect(preview.locator("td.align-right")).to_have_text("0.76")
    expect(page.get_by_role("textbox", name="Description")).to_have_value(CARD)
    assert page.evaluate("() => window.__same_page") is True  # the script previewed without a reload
    assert_nothing_ran(page, "Edit resnet50 · Model Registry")
    with tenancy.using_tenant(acme.tenant):
        assert Item.objects.get(pk=model["_id"]).description == "old"  # a preview writes nothing
    screenshot(page, "card-preview")

    page.get_by_role("button", name="Save changes").click()

    page.wait_for_url(f"**/models/{model['_id']}/")
    expect(page.locator("[data-card]").get_by_role("heading", name="ResNet-50 card")).to_be_visible()
    with tenancy.using_tenant(acme.tenant):
        assert Item.objects.get(pk=model["_id"]).description == CARD
    assert_nothing_ran(page, "resnet50 · Model · Model Registry")


def test_preview_works_without_javascript(acme, chromium_browser, live_url):
    context = chromium_browser.new_context(base_url=live_url, java_script_enabled=False)
    page = context.new_page()
    try:
        page.goto("/signin/")
        page.get_by_label("Tenant").fill("acme")
        page.get_by_label("Username").fill("reggie")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name="Sign in").click()
        page.goto("/models/new/")
        page.get_by_label("Name", exact=True).fill("resnet50")
        page.get_by_role("textbox", name="Description").fill("# A card\n\n| a | b |\n|--|--|\n| 1 | 2 |\n")

        page.get_by_role("button", name="Preview").click()

        preview = page.locator("[data-card-preview]")
        expect(preview.get_by_role("heading", name="A card")).to_be_visible()
        expect(preview.locator("table td").first).to_have_text("1")
        expect(page.get_by_label("Name", exact=True)).to_have_value("resnet50")
        assert acme.count(Item) == 0
        page.get_by_role("button", name="Register model").click()
        expect(page.locator("[data-card]").get_by_role("heading", name="A card")).to_be_visible()
        assert acme.count(Item) == 1
    finally:
        context.close()
