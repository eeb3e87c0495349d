"""Forms of the /manage/ pages for users and the audit log.

They check only what a browser form must (required fields, lengths, choices); the rules themselves (username
shape, unique e-mail, password strength, the last admin) are the services', whose errors are shown on these
forms by ``framework.web.pages.show_refusal``.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any, cast

from django import forms
from django.conf import settings
from django.utils import timezone

from framework.web.pages import contains
from tenants_app.models import AuditResult, Role

STRENGTH_HELP = (
    "At least 10 characters; not a common password, not only digits, and not too similar to the username or e-mail."
)
# What the services write to the log (``audit.record`` callers); the select offers these.
AUDIT_ACTIONS = (
    "create", "update", "share", "delete", "upload", "download", "delete_version", "login", "renew", "request", "reset",
    "change",
)  # fmt: skip
AUDIT_RESOURCES = ("user", "session", "model", "dataset", "tag", "metadata", "tenant", "password_reset", "password")


TEMPORARY_HELP = "They sign in with it once, to choose their own; you never learn that one."


def _temporary_field() -> forms.BooleanField:
    # On by default here (an admin tells a person a password); the API's default is off (scripts).
    return forms.BooleanField(
        label="Temporary: must be changed at the first sign-in", required=False, initial=True, help_text=TEMPORARY_HELP
    )


def _password_field(label: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        max_length=512,
        strip=False,
        help_text=STRENGTH_HELP,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )


class UserCreateForm(forms.Form):
    username = forms.CharField(
        max_length=150,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "none", "spellcheck": "false"}),
    )
    email = forms.EmailField(label="E-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "off"}))
    role = forms.ChoiceField(choices=Role.choices, initial=Role.REGULAR)
    password = _password_field("Password")
    temporary = _temporary_field()


class RoleForm(forms.Form):
    role = forms.ChoiceField(choices=Role.choices)


class PasswordResetForm(forms.Form):
    password = _password_field("New password")
    temporary = _temporary_field()


class UserFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=60, widget=forms.TextInput(attrs={"type": "search"}))
    role = forms.ChoiceField(label="Role", required=False, choices=[("", "Any role"), *Role.choices])
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def filter_document(self) -> dict[str, Any]:
        """The filter of ``GET /v1/users`` these fields mean."""
        data = self.cleaned_data
        conditions: list[dict[str, Any]] = []
        if data["q"]:
            conditions.append({"$or": [{"username": contains(data["q"])}, {"email": contains(data["q"])}]})
        if data["role"]:
            conditions.append({"role": data["role"]})
        return {"$and": conditions} if conditions else {}


def _day_start(day: Any) -> str:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone()).isoformat()


class AuditFilterForm(forms.Form):
    actor = forms.CharField(
        required=False, max_length=150, widget=forms.TextInput(attrs={"autocapitalize": "none", "spellcheck": "false"})
    )
    action = forms.ChoiceField(required=False, choices=[("", "Any action"), *((a, a) for a in AUDIT_ACTIONS)])
    resource = forms.ChoiceField(required=False, choices=[("", "Any resource"), *((r, r) for r in AUDIT_RESOURCES)])
    result = forms.ChoiceField(required=False, choices=[("", "Any result"), *AuditResult.choices])
    since = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        data = cast(dict[str, Any], super().clean())  # Form.clean returns cleaned_data (stubs allow None)
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return data

    @property
    def is_filtered(self) -> bool:
        return self.is_bound and any(self.data.get(name) for name in self.fields if name != "page")

    def filter_document(self) -> dict[str, Any]:
        """The filter of ``GET /v1/log`` these fields mean (the date range includes both days)."""
        data = self.cleaned_data
        document: dict[str, Any] = {
            name: data[name] for name in ("actor", "action", "resource", "result") if data[name]
        }
        timestamp = {}
        if data["since"]:
            timestamp["$gte"] = _day_start(data["since"])
        if data["until"]:
            timestamp["$lt"] = _day_start(data["until"] + timedelta(days=1))
        if timestamp:
            document["timestamp"] = timestamp
        return document


class SignInForm(forms.Form):
    tenant = forms.CharField(max_length=64, initial=lambda: settings.DEFAULT_TENANT)
    username = forms.CharField(max_length=150, widget=forms.TextInput(attrs={"autocomplete": "username"}))
    password = forms.CharField(
        max_length=512, strip=False, widget=forms.PasswordInput(attrs={"autocomplete": "current-password"})
    )


class ForgotPasswordForm(forms.Form):
    tenant = forms.CharField(max_length=64, initial=lambda: settings.DEFAULT_TENANT)
    email = forms.CharField(label="E-mail", max_length=254, widget=forms.EmailInput(attrs={"autocomplete": "email"}))


class ChangePasswordForm(forms.Form):
    """The sign-in page's second step, for a temporary or expired password: the current one was just given.
    A new password, typed twice."""

    password = _password_field("New password")
    again = forms.CharField(
        label="New password, again",
        max_length=512,
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}),
    )

    def clean(self) -> dict[str, Any]:
        data = cast("dict[str, Any]", super().clean())
        if data.get("password") and data.get("again") is not None and data["password"] != data["again"]:
            self.add_error("again", "The two passwords differ.")
        return data


class NewPasswordForm(ChangePasswordForm):
    """The page a reset e-mail links to; ``reset.js`` fills tenant and code from the link's fragment."""

    field_order = ["tenant", "reset", "password", "again"]

    tenant = forms.CharField(max_length=64, initial=lambda: settings.DEFAULT_TENANT)
    reset = forms.CharField(
        label="Code from the e-mail", max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"})
    )
