"""Signing in to a tenant in a real browser (Chromium), and what a session can and cannot reach."""

from __future__ import annotations

from testing.browser import screenshot


def test_a_user_signs_in_to_their_tenant_and_out_again(acme, browser_page, sign_in):
    page = sign_in("acme", "reggie")

    assert page.get_by_text("Signed in to acme as reggie.").is_visible()
    screenshot(page, "signed-in")
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url("**/signin/")
    assert page.get_by_text("Signed out.").is_visible()


def test_the_sign_in_page_prefills_the_default_tenant(browser_page, settings):
    browser_page.goto("/signin/")

    assert browser_page.get_by_label("Tenant").input_value() == settings.DEFAULT_TENANT
    screenshot(browser_page, "signin")


def test_a_user_of_another_tenant_cannot_sign_in_to_it(acme, globex, browser_page, sign_in):
    page = sign_in("acme", "gus")

    assert page.get_by_role("alert").get_by_text("Incorrect tenant, username or password.").is_visible()
    assert "/signin/" in page.url
