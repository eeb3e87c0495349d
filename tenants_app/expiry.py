"""Password age: when a correct password still opens a session, and what the registry says when it does not.

A password stops opening sessions (API login, token renewal, the sign-in page) when it is temporary (someone
else chose it: the generated first password, or an admin who said so) or older than the user's
``validityPasswordDays`` (0: never). The credentials are still right, so the answer says how to go on:
choose a new password in the same login (``new_password``), or ask for a reset e-mail. API keys are not
affected: they belong to pipelines, which must not stop because a person's password aged.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import (
    MinimumLengthValidator,
    get_default_password_validators,
    password_validators_help_texts,
)

from framework.errors import PasswordChangeNeeded, PasswordChangeRequired, PasswordExpired
from tenants_app.models import MAX_PASSWORD_VALIDITY_DAYS, User

HOW_TO_GO_ON = (
    'choose a new one: log in again with it as "new_password" (POST /v1/login, or the sign-in page), '
    'or ask for a reset e-mail (POST /v1/self/reset with "tenant" and "email")'
)


def stale_reason(user: User, now: datetime) -> str | None:
    """``"temporary"`` or ``"expired"`` when ``user``'s password opens no session at ``now``; else None.

    A password is valid through the instant ``password_expires`` and expired after it, as in the original
    registry (``createdPassword + validityPasswordDays`` earlier than now).
    """
    if user.password_temporary:
        return "temporary"
    expires = user.password_expires
    if expires is not None and expires < now:
        return "expired"
    return None


def refusal(user: User, reason: str) -> PasswordChangeNeeded:
    """The error a login (or a renewal) of ``user`` gets for a ``stale_reason``."""
    if reason == "temporary":
        return PasswordChangeRequired(f"password: this password is temporary and must be changed; {HOW_TO_GO_ON}")
    expires = user.password_expires.isoformat().replace("+00:00", "Z") if user.password_expires else "?"
    # The first sentence is the original registry's, word for word: scripts may look for it.
    return PasswordExpired(
        f"password: Password validity expired, please reset password (it expired {expires}); {HOW_TO_GO_ON}"
    )


def minimum_length() -> int:
    """The shortest password the rules accept (AUTH_PASSWORD_VALIDATORS), 0 when no rule says."""
    lengths = [v.min_length for v in get_default_password_validators() if isinstance(v, MinimumLengthValidator)]
    return max(lengths, default=0)


def policy_document() -> dict[str, Any]:
    """``GET /v1/types/passwordStrength``: the original's two names, with numbers instead of strings, and the
    rules this registry applies. ``passwordStrength`` is the minimum length: this registry measures strength
    by Django's validators, not by the original's levels 0 to 3."""
    length = minimum_length()
    return {
        "passwordStrength": length,
        "ValidityPasswordDays": settings.DEFAULT_DAYS_VALIDITY_PASSWORD,
        "minLength": length,
        "maxValidityPasswordDays": MAX_PASSWORD_VALIDITY_DAYS,
        "rules": list(password_validators_help_texts()),
    }
