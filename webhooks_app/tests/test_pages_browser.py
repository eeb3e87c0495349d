"""The /manage/webhooks/ pages in a real browser (Chromium): a tenant admin makes a webhook (the secret shown
once), watches a delivery in the log, redelivers it, and sees why a disabled webhook stopped. No CSP
violations: the pages use no inline scripts or styles."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.test import override_settings
from playwright.sync_api import expect

from tenants_app import tenancy
from testing.browser import screenshot
from testing.helpers import create_model
from webhooks_app.models import Webhook
from webhooks_app.tests.receiver import running
from webhooks_app.tests.test_delivery import deliver


@pytest.fixture
def console(browser_page: Any) -> Iterator[list[str]]:
    messages: list[str] = []
    browser_page.on("console", lambda message: messages.append(message.text))
    yield messages
    assert not [text for text in messages if "Content Security Policy" in text], messages


def test_an_admin_makes_a_webhook_and_follows_its_deliveries(acme, owner, browser_page, sign_in, console, fast_retries):
    with running() as receiver:
        page = sign_in("acme", "ada")
        page.goto("/manage/")
        page.get_by_role("navigation", name="Manage").get_by_role("link", name="Webhooks").click()
        expect(page.get_by_role("heading", name="Webhooks", exact=True)).to_be_visible()

        page.get_by_label("URL").fill("http://169.254.169.254/latest/meta-data/")
        page.get_by_label("item.created").check()
        page.get_by_role("button", name="Create webhook").click()
        expect(page.locator("#id_url_error")).to_contain_text("WEBHOOK_ALLOWED_HOSTS")
        expect(page.get_by_label("URL")).to_be_focused()

        page.get_by_label("URL").fill(receiver.url)
        page.get_by_label("Description").fill("the deployment system")
        page.get_by_role("button", name="Create webhook").click()
        secret = page.locator("[data-secret-text]").inner_text()
        assert secret.startswith("whsec_")
        assert acme.count(Webhook, secret=secret, description="the deployment system") == 1
        screenshot(page, "manage-webhooks")
        receiver.secret = secret

        create_model(owner, "churn", visibility="public")
        deliver(until=lambda: receiver.count == 1)
        assert receiver.received[0].payload["type"] == "item.created"

        page.get_by_role("link", name=receiver.url).click()
        row = page.locator("[data-attempt-row]").first
        expect(row.locator("[data-status]")).to_have_text("200")
        screenshot(page, "manage-webhook-log")
        row.get_by_role("button", name="Redeliver").click()
        expect(page.get_by_text("queued for delivery again")).to_be_visible()
        deliver(until=lambda: receiver.count == 2)
        assert receiver.received[1].message_id == receiver.received[0].message_id
        assert secret not in page.content()  # shown once, on the page that made it


def test_a_disabled_webhook_says_why_and_can_be_turned_on_again(acme, admin, browser_page, sign_in, console):
    with override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"]):
        hook = admin.post("/v1/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["item.created"]}, format="json")
    reason = "Disabled 2026-12-04T10:00:00Z: event 7 failed for 24 hours (40 attempts; last: connection refused)"
    with tenancy.using_tenant(acme.tenant):  # as the worker leaves it when the retry period ran out
        Webhook.objects.filter(pk=hook.json()["_id"]).update(active=False, disabled_reason=reason)

    page = sign_in("acme", "ada")
    page.goto("/manage/webhooks/")
    expect(page.locator("[data-webhook-row] [data-state]")).to_contain_text("connection refused")
    page.get_by_role("link", name="http://127.0.0.1:9/x").click()
    expect(page.locator("[data-disabled-reason]")).to_contain_text("failed for 24 hours")

    with override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1"]):
        page.get_by_label("Active").check()
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Webhook saved.")).to_be_visible()
    expect(page.locator("[data-disabled-reason]")).to_have_count(0)
    assert acme.count(Webhook, active=True, disabled_reason="") == 1


def test_regular_users_are_turned_away(acme, browser_page, sign_in, console):
    page = sign_in("acme", "reggie")
    response = page.goto("/manage/webhooks/")
    assert response is not None
    assert response.status == 403
