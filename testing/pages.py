"""Helpers of page tests: a Django test client signed in to a tenant through the real sign-in page."""

from __future__ import annotations

from django.test import Client

from testing.helpers import PASSWORD


def signed_in_client(
    tenant: str, username: str, password: str = PASSWORD, *, enforce_csrf_checks: bool = False
) -> Client:
    """A client whose signed session names ``tenant`` and ``username``, as after signing in in a browser.

    With ``enforce_csrf_checks`` its later POSTs must carry the CSRF token, as a browser's do.
    """
    signer = Client()
    response = signer.post("/signin/", {"tenant": tenant, "username": username, "password": password})
    assert response.status_code == 302, response.content
    if not enforce_csrf_checks:
        return signer
    client = Client(enforce_csrf_checks=True)
    client.cookies = signer.cookies
    return client
