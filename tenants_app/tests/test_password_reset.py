"""Self-service password reset by e-mail (contract §9.3: ``POST /v1/self/reset``, ``PUT /v1/self``; pages
``/signin/forgot/`` and ``/signin/reset/``).

E-mail delivery is outside the registry: Django's test e-mail backend stands in for the mail server.
"""

from __future__ import annotations

import re
import threading
from datetime import datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core import mail
from django.test import override_settings
from rest_framework.test import APIClient

from testing.helpers import PASSWORD, error_of, log_of, signed_in

NEW_PASSWORD = "a brand new lantern 2026"
CODE = re.compile(r"#tenant=(?P<tenant>[^&\s]+)&token=(?P<token>\S+)")


def ask_for_reset(client: APIClient, email: str, tenant: str = "acme") -> Any:
    response = client.post("/v1/self/reset", {"tenant": tenant, "email": email}, format="json")
    _wait_for_the_mail()
    return response


def _wait_for_the_mail() -> None:
    """The e-mail leaves from a thread (so that the answer takes as long whoever asks): wait for it."""
    for thread in threading.enumerate():
        if thread.name == "password-reset-mail":
            thread.join(timeout=10)


def code_in(message: Any) -> str:
    match = CODE.search(message.body)
    assert match is not None, message.body
    return match["token"]


def reset(client: APIClient, token: str, password: str = NEW_PASSWORD, tenant: str = "acme") -> Any:
    return client.put("/v1/self", {"tenant": tenant, "reset": token, "password": password}, format="json")


def login(client: APIClient, password: str, username: str = "reggie", tenant: str = "acme") -> int:
    response = client.post("/v1/login", {"tenant": tenant, "username": username, "password": password}, format="json")
    return int(response.status_code)


def test_a_user_who_forgot_the_password_gets_a_link_and_chooses_a_new_one(acme, anonymous):
    asked = ask_for_reset(anonymous, "Reggie@Example.org")

    assert asked.status_code == 200
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["reggie@example.org"]
    assert "reggie" in message.body
    assert "http://testserver/signin/reset/#tenant=acme&token=" in message.body
    changed = reset(anonymous, code_in(message))
    assert changed.status_code == 200, changed.content
    assert login(anonymous, NEW_PASSWORD) == 200
    assert login(anonymous, PASSWORD) == 401


def test_the_answer_is_the_same_for_an_unknown_address_or_tenant_and_nothing_is_sent(acme, anonymous):
    known = ask_for_reset(anonymous, "reggie@example.org").json()
    mail.outbox.clear()

    unknown_address = ask_for_reset(anonymous, "nobody@example.org")
    unknown_tenant = ask_for_reset(anonymous, "reggie@example.org", tenant="no-such-tenant")

    assert unknown_address.status_code == unknown_tenant.status_code == 200
    assert unknown_address.json() == unknown_tenant.json() == known
    assert mail.outbox == []


def test_the_tenant_may_come_in_the_query_as_the_original_registry_sent_it(acme, anonymous):
    response = anonymous.post("/v1/self/reset?tenant=acme", {"email": "olive@example.org"}, format="json")
    _wait_for_the_mail()

    assert response.status_code == 200
    assert mail.outbox[0].to == ["olive@example.org"]


def test_a_code_works_once(acme, anonymous):
    ask_for_reset(anonymous, "reggie@example.org")
    token = code_in(mail.outbox[0])
    assert reset(anonymous, token).status_code == 200

    again = reset(anonymous, token, password="another fresh lantern 77")

    assert error_of(again) == (400, "put_request_error")
    assert again.json()["details"].startswith("reset:")
    assert login(anonymous, NEW_PASSWORD) == 200


def test_a_new_password_ends_every_older_code_token_and_session(acme, anonymous):
    old_token = acme.client("reggie")
    browser = signed_in(acme, "reggie")
    ask_for_reset(anonymous, "reggie@example.org")
    ask_for_reset(anonymous, "reggie@example.org")
    first, second = (code_in(message) for message in mail.outbox)

    assert reset(anonymous, second).status_code == 200

    assert error_of(reset(anonymous, first, password="another fresh lantern 77"))[0] == 400
    assert old_token.get("/v1/models").status_code == 401
    assert browser.get("/models/").status_code == 302  # back to the sign-in page


def test_a_weak_password_is_refused_and_the_code_still_works(acme, anonymous):
    ask_for_reset(anonymous, "reggie@example.org")
    token = code_in(mail.outbox[0])

    weak = reset(anonymous, token, password="123")

    assert error_of(weak) == (400, "put_request_error")
    assert weak.json()["details"].startswith("password:")
    assert reset(anonymous, token).status_code == 200


def test_a_code_of_one_tenant_is_worthless_in_another(acme, globex, anonymous):
    globex.add_user("reggie", email="reggie@example.org")
    ask_for_reset(anonymous, "reggie@example.org")  # acme's reggie

    response = reset(anonymous, code_in(mail.outbox[0]), tenant="globex")

    assert error_of(response) == (400, "put_request_error")
    assert login(anonymous, PASSWORD, tenant="globex") == 200


@pytest.mark.parametrize("token", ["", "nonsense", "0" * 24 + ".abc-" + "0" * 32, "x" * 199])
def test_made_up_codes_are_refused_without_a_trace_of_them(acme, anonymous, token):
    response = reset(anonymous, token)

    assert error_of(response)[0] == 400
    assert token not in response.json()["details"] or token == ""


def test_a_code_expires(acme, anonymous, monkeypatch):
    ask_for_reset(anonymous, "reggie@example.org")
    token = code_in(mail.outbox[0])
    later = datetime.now() + timedelta(hours=1, minutes=1)  # PASSWORD_RESET_TIMEOUT is 1 h
    monkeypatch.setattr(PasswordResetTokenGenerator, "_now", lambda self: later)

    assert error_of(reset(anonymous, token)) == (400, "put_request_error")


def test_requests_for_one_account_are_throttled(acme, anonymous):
    for _ in range(3):  # PASSWORD_RESETS_PER_ACCOUNT
        assert ask_for_reset(anonymous, "reggie@example.org").status_code == 200

    refused = ask_for_reset(anonymous, "reggie@example.org")

    assert error_of(refused) == (429, "too_many_requests")
    assert int(refused["Retry-After"]) > 0
    assert len(mail.outbox) == 3


def test_the_audit_log_shows_requests_and_resets_but_never_a_code(acme, admin, anonymous, caplog):
    ask_for_reset(anonymous, "reggie@example.org")
    token = code_in(mail.outbox[0])
    reset(anonymous, token)

    entries = log_of(admin)

    assert {(entry["action"], entry["resource"]) for entry in entries} >= {
        ("request", "password_reset"),
        ("reset", "password"),
    }
    assert token not in str(entries)
    assert all(token not in record.getMessage() for record in caplog.records)


def test_without_a_mail_server_nothing_is_sent_and_the_log_says_so_without_the_code(acme, anonymous, caplog):
    with override_settings(EMAIL_BACKEND="tenants_app.passwords.NoMailServer"):
        response = ask_for_reset(anonymous, "reggie@example.org")

    assert response.status_code == 200
    assert mail.outbox == []
    assert any("no EMAIL_HOST" in record.getMessage() for record in caplog.records)


def test_the_pages_lead_from_sign_in_to_a_new_password(acme, client):
    assert 'href="/signin/forgot/"' in client.get("/signin/").content.decode()

    asked = client.post("/signin/forgot/", {"tenant": "acme", "email": "reggie@example.org"})
    _wait_for_the_mail()
    form = client.get("/signin/reset/")
    token = code_in(mail.outbox[0])
    mismatch = client.post(
        "/signin/reset/", {"tenant": "acme", "reset": token, "password": NEW_PASSWORD, "again": "something else"}
    )
    done = client.post(
        "/signin/reset/", {"tenant": "acme", "reset": token, "password": NEW_PASSWORD, "again": NEW_PASSWORD}
    )

    assert "Check your e-mail" in asked.content.decode()
    assert 'id="reset-form"' in form.content.decode()
    assert mismatch.status_code == 400
    assert "differ" in mismatch.content.decode()
    assert done.status_code == 302
    assert done["Location"] == "/signin/"
    assert (
        client.post("/signin/", {"tenant": "acme", "username": "reggie", "password": NEW_PASSWORD}).status_code == 302
    )


def test_a_used_code_on_the_page_says_to_ask_again(acme, client, anonymous):
    ask_for_reset(anonymous, "reggie@example.org")
    token = code_in(mail.outbox[0])
    reset(anonymous, token)

    page = client.post(
        "/signin/reset/", {"tenant": "acme", "reset": token, "password": NEW_PASSWORD, "again": NEW_PASSWORD}
    )

    assert page.status_code == 400
    assert "ask for a new one" in page.content.decode()
