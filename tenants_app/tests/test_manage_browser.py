"""The /manage/ pages in a real browser (Chromium): what a tenant admin does there, and who cannot get in.

Every test also checks that the browser reported no Content-Security-Policy violation: the pages use no
inline scripts or styles.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from playwright.sync_api import expect

from folksonomy_app.models import Tag, Usage
from tenants_app import tenancy
from tenants_app.models import Role
from testing.browser import screenshot

NEW_PASSWORD = "a fresh and rather long passphrase"


@pytest.fixture
def console(browser_page: Any) -> Iterator[list[str]]:
    """What the page logs to the console; no test may end with a CSP violation in it."""
    messages: list[str] = []
    browser_page.on("console", lambda message: messages.append(message.text))
    yield messages
    assert not [text for text in messages if "Content Security Policy" in text], messages


def test_an_admin_creates_a_user(acme, browser_page, sign_in, console):
    page = sign_in("acme", "ada")
    page.goto("/manage/")
    expect(page.get_by_role("heading", name="Manage acme")).to_be_visible()
    screenshot(page, "manage-dashboard")

    page.get_by_role("navigation", name="Manage").get_by_role("link", name="Users").click()
    page.get_by_role("link", name="New user").click()
    page.get_by_label("Username").fill("grace")
    page.get_by_label("E-mail").fill("grace@example.org")
    page.get_by_label("Role").select_option("admin")
    page.get_by_label("Password").fill("short")
    page.get_by_role("button", name="Create user").click()

    expect(page.locator("#id_password_error")).to_contain_text("too short")
    expect(page.get_by_label("Password")).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Password")).to_be_focused()
    assert page.get_by_label("Username").input_value() == "grace"

    page.get_by_label("Password").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Create user").click()
    page.wait_for_url("**/manage/users/")

    expect(page.get_by_text("User grace created.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="grace@example.org").get_by_text("Administrator")).to_be_visible()
    assert acme.user("grace").role == Role.ADMIN
    screenshot(page, "manage-users")


def test_an_admin_resets_a_password_and_the_user_chooses_their_own_at_sign_in(acme, browser_page, sign_in, console):
    page = sign_in("acme", "ada")
    page.goto("/manage/users/")
    page.get_by_role("link", name="reggie", exact=True).click()
    page.get_by_label("New password").fill(NEW_PASSWORD)
    expect(page.get_by_label("Temporary")).to_be_checked()  # the page's default: reggie chooses his own
    page.get_by_role("button", name="Reset password").click()

    expect(page.get_by_text("The password of reggie was reset")).to_be_visible()
    screenshot(page, "manage-user")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin/")

    sign_in("acme", "reggie", NEW_PASSWORD)
    page.wait_for_url("**/signin/password/**")
    expect(page.get_by_text("is temporary")).to_be_visible()
    screenshot(page, "signin-new-password")
    page.get_by_label("New password", exact=True).fill(NEW_PASSWORD)
    page.get_by_label("New password, again").fill(NEW_PASSWORD)
    page.get_by_role("button", name="Change the password and sign in").click()
    expect(page.locator("#id_password_error")).to_contain_text("must differ")

    page.get_by_label("New password", exact=True).fill("reggie's very own passphrase")
    page.get_by_label("New password, again").fill("reggie's very own passphrase")
    page.get_by_role("button", name="Change the password and sign in").click()
    page.wait_for_url("**/models/")
    expect(page.locator(".account .who")).to_have_text("reggie")
    assert acme.user("reggie").check_password("reggie's very own passphrase")
    assert not acme.user("reggie").password_temporary


def test_an_admin_creates_a_default_tag(acme, browser_page, sign_in, console):
    page = sign_in("acme", "ada")
    page.goto("/manage/")
    page.get_by_role("navigation", name="Manage").get_by_role("link", name="Vocabulary").click()
    page.get_by_label("Name", exact=True).fill("vision")
    page.get_by_role("button", name="Add default tag").click()

    expect(page.get_by_text("Default tag “vision” created.")).to_be_visible()
    expect(page.get_by_role("row").filter(has_text="vision").get_by_text("default", exact=True)).to_be_visible()
    with tenancy.using_tenant(acme.tenant):
        assert Tag.objects.get(pk="vision").usage == Usage.DEFAULT
    screenshot(page, "manage-vocabulary")


def test_an_admin_filters_the_audit_log(acme, browser_page, sign_in, console):
    acme.client("reggie").post("/v1/models", {"name": "churn", "tags": ["vision"]}, format="json")
    sign_in("acme", "olive", "not olive's password")
    page = sign_in("acme", "ada")
    page.goto("/manage/log/")

    page.get_by_label("Action").select_option("login")
    page.get_by_label("Result").select_option("failure")
    page.get_by_role("button", name="Filter").click()
    page.wait_for_url("**/manage/log/?*action=login*")

    rows = page.locator("table tbody tr")
    expect(rows).to_have_count(1)
    assert rows.first.inner_text().split("\t")[1:6] == ["olive", "login", "session", "olive", "failure"]
    expect(page.get_by_label("Action")).to_have_value("login")
    screenshot(page, "manage-audit-log")

    page.get_by_role("link", name="Clear filters").click()
    page.wait_for_url("**/manage/log/")
    assert page.locator("table tbody tr").count() >= 4


def test_a_regular_user_gets_the_403_page(acme, browser_page, sign_in, console):
    page = sign_in("acme", "reggie")

    response = page.goto("/manage/")

    assert response.status == 403
    expect(page.get_by_role("heading", name="You cannot open this page")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main").get_by_role("link", name="Manage")).to_have_count(0)
    assert page.goto("/manage/users/").status == 403


def test_the_manage_pages_fit_a_phone_screen(acme, browser_page, sign_in, console):
    page = sign_in("acme", "ada")
    page.set_viewport_size({"width": 390, "height": 844})

    for url in ("/manage/", "/manage/users/", "/manage/log/", "/manage/vocabulary/tags/"):
        page.goto(url)
        overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
        assert overflow <= 0, url
    screenshot(page, "manage-vocabulary-phone")


def test_the_django_admin_works_under_the_content_security_policy(acme, browser_page, sign_in, console):
    model = acme.client("reggie").post("/v1/models", {"name": "churn", "tags": ["vision"]}, format="json").json()
    page = sign_in("acme", "ada")

    page.goto("/admin/models_app/mlmodel/")
    page.get_by_role("link", name="churn").click()
    page.wait_for_url("**/change/")

    expect(page.get_by_role("heading", name="Tags", exact=True)).to_be_visible()
    expect(page.locator("#nav-sidebar")).to_be_visible()  # the admin's own stylesheet and script applied
    screenshot(page, "django-admin-model")
    for url in (
        "/admin/",
        "/admin/tenants_app/auditentry/?result__exact=success",
        "/admin/tenants_app/user/",
        f"/admin/tenants_app/user/{acme.user('reggie').pk}/delete/",
        "/admin/folksonomy_app/tag/",
        f"/admin/models_app/mlmodel/{model['_id']}/delete/",
        "/admin/items/version/",
    ):
        assert page.goto(url).status == 200, url
        page.wait_for_load_state("networkidle")
