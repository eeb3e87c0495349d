"""The original registry's users: who keeps which username, e-mail address, role and password."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils import timezone

from framework.ids import looks_like_object_id, new_object_id
from seed_app.dump import Dump, DumpError
from seed_app.plan.fields import Where, date_of, id_text, in_order, note_unknown_fields, object_id, required_string
from seed_app.plan.records import NewUser
from seed_app.report import Report
from tenants_app.models import MAX_PASSWORD_VALIDITY_DAYS, Role

# bcryptjs's hashes, as the original registry stored them when its tenant hashed passwords.
BCRYPT = re.compile(r"^\$2[aby]\$\d\d\$[./A-Za-z0-9]{53}\Z")
NOT_IN_USERNAMES = re.compile(r"[^\w.@+-]")  # what Django's username validator refuses
MAX_USERNAME_LENGTH = 150


def plan_users(dump: Dump, report: Report) -> tuple[list[NewUser], dict[str, str]]:
    """The users, and the registry id of each original id."""
    users: list[NewUser] = []
    ids: dict[str, str] = {}
    usernames: set[str] = set()
    emails: set[str] = set()
    report.count("users", len(dump.documents("users")))
    for where, doc in in_order(dump.documents("users"), dump.file("users")):
        username = required_string(doc, "username", where)
        record = f"{where.id} ({username})"
        user_id = object_id(doc.get("_id"))
        if user_id is None:
            user_id = new_object_id()
            report.note("users", record, f"its _id is not a 24-hex id: the user's id is now {user_id}")
        note_unknown_fields(report, "users", record, doc)
        user = NewUser(
            id=user_id,
            username=_username(report, record, username, usernames),
            email=_email(report, record, doc.get("email"), emails),
            role=_role(report, record, doc.get("role")),
            password="",
            plain=False,
            timestamp=date_of(doc, "timestamp", where) or timezone.now(),
            created_password=date_of(doc, "createdPassword", where),
            validity_days=_validity_days(report, record, doc, where),
        )
        _password(report, record, user, doc.get("password"), where)
        ids[id_text(doc.get("_id"))] = user.id
        users.append(user)
    if not any(user.role == Role.ADMIN for user in users):
        raise DumpError(f"{dump.file('users')}: no user has the role 'admin'; a tenant needs one to administer it")
    return users, ids


def _username(report: Report, record: str, raw: str, taken: set[str]) -> str:
    """A username Django's rules take (letters, digits, @ . + - _; not shaped like an id), unique."""
    name = NOT_IN_USERNAMES.sub("_", raw.strip())[:MAX_USERNAME_LENGTH] or "user"
    if looks_like_object_id(name):
        name = f"user-{name}"  # users are addressed by id or username in the same URL slot
    candidate, suffix = name, 2
    while candidate in taken:
        candidate = f"{name[: MAX_USERNAME_LENGTH - 10]}-{suffix}"
        suffix += 1
    taken.add(candidate)
    if candidate != raw:
        report.note(
            "users",
            record,
            f"username {raw!r} is {candidate!r} here (the registry's usernames are unique "
            "and use letters, digits and @ . + - _ only): the user signs in with the new one",
        )
    return candidate


def _email(report: Report, record: str, raw: Any, taken: set[str]) -> str | None:
    if not isinstance(raw, str) or not raw.strip():
        return None
    email = raw.strip().lower()
    try:
        validate_email(email)
    except ValidationError:
        report.note("users", record, f"email {raw!r} is not an e-mail address: imported without one")
        return None
    if email in taken:
        report.note(
            "users",
            record,
            f"email {raw!r} is an older user's too (each address belongs to one user here): imported without one",
        )
        return None
    taken.add(email)
    return email


def _role(report: Report, record: str, raw: Any) -> str:
    if raw in Role.values:
        return str(raw)
    report.note("users", record, f"role {raw!r} is not admin or regular: imported as regular")
    return Role.REGULAR


def _validity_days(report: Report, record: str, doc: Mapping[str, Any], where: Where) -> int | None:
    value = doc.get("validityPasswordDays")
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise where.error("validityPasswordDays", f"expected a number of days, got {value!r}")
    if value > MAX_PASSWORD_VALIDITY_DAYS:
        report.note(
            "users",
            record,
            f"validityPasswordDays {value} is more than the registry's "
            f"{MAX_PASSWORD_VALIDITY_DAYS}: imported as 0 (never expires), which it meant in practice",
        )
        return 0
    return int(value)


def _password(report: Report, record: str, user: NewUser, raw: Any, where: Where) -> None:
    if not isinstance(raw, str):
        raise where.error("password", "required, a string")
    if BCRYPT.match(raw):
        user.password = f"bcrypt${raw}"  # checked as it is; the next login re-hashes it with the registry's hasher
        report.count("bcrypt hashes kept")
    elif raw == "":
        report.note("users", record, "no password: imported without a usable one (a password reset sets one)")
    else:
        user.password, user.plain = raw, True
        report.note(
            "users",
            record,
            "password stored as plain text (a tenant with passwordhash false): hashed "
            "on import, never stored as it came",
        )
