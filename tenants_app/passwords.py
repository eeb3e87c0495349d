"""Self-service password reset by e-mail (the original registry's ``/v1/self``), for the API and the pages.

1. ``request_reset(tenant, email)``: the same answer whether or not the tenant or the address exists (no one
   learns who has an account); when a user has it, an e-mail with a reset token goes out, from a thread, so
   that the answer also takes the same time either way. Throttled per address and per tenant + e-mail.
2. ``complete_reset(tenant, token, password)``: the password must pass the rules before the token is spent;
   then the password changes, which ends every other credential bound to it: every older reset token (its
   hash covers the password hash), every JWT (``tenants_app.tokens``) and every page session (Django's
   session hash). API keys stay: they belong to pipelines, and their owner or an admin revokes them. The new
   password is the user's own: not temporary, valid from now (``tenants_app.expiry``).

Tokens are Django's ``PasswordResetTokenGenerator`` (an HMAC with SECRET_KEY over the user, the password
hash, the last login and the time), bound to the tenant's incarnation, valid ``PASSWORD_RESET_TIMEOUT``
(default 1 h). A token travels as ``<user id>.<token>``: in the link's fragment (``/signin/reset/#…``),
which browsers never send to a server, so it reaches no access log; never logged by the registry either.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Sequence

from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.mail import EmailMessage, send_mail
from django.core.mail.backends.base import BaseEmailBackend

from framework.errors import Invalid, TooManyRequests
from tenants_app import audit, tenancy
from tenants_app.audit import Caller
from tenants_app.models import Tenant, User
from tenants_app.services import check_password_rules, save_user
from tenants_app.throttling import FailureCounter

logger = logging.getLogger("registry.tenants")
TOKEN = re.compile(r"^([0-9a-f]{24})\.([0-9a-z]{1,13}-[0-9a-f]{20,64})\Z")
UNUSABLE_CODE = "reset: this reset link is unknown, used or expired; ask for a new one"


class _TenantTokens(PasswordResetTokenGenerator):
    """Django's reset tokens, bound to one incarnation of one tenant: a user id is only unique per tenant."""

    def __init__(self, tenant: Tenant) -> None:
        super().__init__()
        self.tenant = tenant

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        return f"{self.tenant.uid}{super()._make_hash_value(user, timestamp)}"


def _counters(tenant_id: str, email: str, address: str | None) -> list[FailureCounter]:
    """Reset requests are counted like failed logins: per tenant + address asked for, and per client."""
    window = settings.LOGIN_LOCKOUT
    return [
        FailureCounter("reset-account", f"{tenant_id}\x00{email}", settings.PASSWORD_RESETS_PER_ACCOUNT, window),
        FailureCounter("reset-address", address or "unknown", settings.LOGIN_MAX_FAILURES_PER_ADDRESS, window),
    ]


def request_reset(*, tenant_id: str, email: str, address: str | None, link: str) -> None:
    """Send ``email`` a reset token if it is the address of a user of ``tenant_id``; else do nothing, alike.

    ``link`` is the page to open (``https://host/signin/reset/``); the token goes in its fragment.
    """
    email = email.strip().lower()
    counters = _counters(tenant_id, email, address)
    wait = max((counter.retry_after() or 0) for counter in counters)
    if wait:
        raise TooManyRequests(f"Too many reset requests; try again in {wait} s.", retry_after=wait)
    for counter in counters:
        counter.fail()  # every request counts, found or not: the limit must not tell them apart
    message = None
    tenant = tenancy.find_tenant(tenant_id)
    if tenant is not None:
        with tenancy.using_tenant(tenant):
            user = User.objects.filter(email=email, is_active=True, is_service=False).first()
            if user is not None:
                message = _reset_message(tenant, user, link)
                audit.record(
                    Caller(user=None, address=address, name=email[:150]),
                    action="request",
                    resource="password_reset",
                    target=user.username,
                )
    threading.Thread(target=_send, args=(message,), name="password-reset-mail", daemon=True).start()


def _reset_message(tenant: Tenant, user: User, link: str) -> tuple[str, str, str]:
    token = f"{user.pk}.{_TenantTokens(tenant).make_token(user)}"
    minutes = settings.PASSWORD_RESET_TIMEOUT // 60
    body = (
        f"Someone asked to reset the password of {user.username} in the registry's tenant {tenant.id}.\n\n"
        f"To choose a new password, open this link within {minutes} minutes:\n\n"
        f"{link}#tenant={tenant.id}&token={token}\n\n"
        f"Or paste this code on that page: {token}\n\n"
        "It works once. If you did not ask for it, ignore this message: your password stays as it is.\n"
    )
    return f"{settings.EMAIL_SUBJECT_PREFIX}Reset your password", body, str(user.email)


def _send(message: tuple[str, str, str] | None) -> None:
    if message is None:
        return
    subject, body, address = message
    try:
        send_mail(subject, body, None, [address])
    except Exception as exc:
        logger.warning("password reset mail not sent: %s", type(exc).__name__)


class NoMailServer(BaseEmailBackend):
    """The e-mail backend when no EMAIL_HOST is configured: nothing is sent, and the log says why (never what:
    the message carries a reset token)."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        for _message in email_messages:
            logger.warning("password reset mail not sent: no EMAIL_HOST (or SMTP_SERVER) is configured")
        return 0


def complete_reset(*, tenant_id: str, token: str, password: str, address: str | None) -> User:
    """Set ``password`` for the user the token was made for; the token then never works again."""
    tenant = tenancy.find_tenant(tenant_id)
    match = TOKEN.match(token.strip())
    if tenant is None or match is None:
        raise Invalid(UNUSABLE_CODE)
    tenancy.enter(tenant)
    user = User.objects.filter(pk=match[1], is_active=True, is_service=False).first()
    if user is None or not _TenantTokens(tenant).check_token(user, match[2]):
        raise Invalid(UNUSABLE_CODE)
    check_password_rules(password, user)  # before the token is spent: a weak password can be tried again
    user.replace_password(password)  # a new hash: this token and every older one die; validity restarts
    save_user(user)
    audit.record(Caller(user=user, address=address), action="reset", resource="password", target=user.username)
    return user
