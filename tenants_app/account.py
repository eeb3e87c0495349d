"""The signed-in user's own pages: ``/account/keys/``, their API keys (create, see, revoke).

Keys are made and revoked by ``tenants_app.keys``, as through the API; the secret is shown on the page that
created it, once, and never again.
"""

from __future__ import annotations

from datetime import datetime, time
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from framework.errors import ServiceError
from framework.web.pages import show_refusal, signin_required
from tenants_app import keys
from tenants_app.audit import Caller
from tenants_app.models import ApiKey, Role, Scope

KEYS_URL = "/account/keys/"


class KeyForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="Say where it is used: “nightly training”, “prod deploy”.")
    scopes = forms.MultipleChoiceField(
        choices=Scope.choices, widget=forms.CheckboxSelectMultiple, initial=[Scope.READ],
        help_text="Write includes read; admin includes both.",
    )  # fmt: skip
    expires = forms.DateField(
        required=False, help_text="Optional: the key stops working at the start of this day (UTC)."
    )

    def __init__(self, *args: Any, admin: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not admin:  # a key never exceeds its user's role
            scopes = self.fields["scopes"]
            assert isinstance(scopes, forms.MultipleChoiceField)
            scopes.choices = [choice for choice in Scope.choices if choice[0] != Scope.ADMIN]


@require_http_methods(["GET", "POST"])
@signin_required
def key_list(request: HttpRequest) -> HttpResponse:
    caller = Caller.of(request)
    is_admin = getattr(request.user, "role", None) == Role.ADMIN
    form = KeyForm(request.POST or None, admin=is_admin)
    created = None
    status = 200
    if request.method == "POST" and form.is_valid():
        expires = form.cleaned_data["expires"]
        try:
            key, text = keys.create_key(
                caller,
                name=form.cleaned_data["name"],
                scopes=form.cleaned_data["scopes"],
                expires=timezone.make_aware(datetime.combine(expires, time.min)) if expires else None,
            )
            created = {"key": key, "text": text}
            form = KeyForm(admin=is_admin)
        except ServiceError as error:
            show_refusal(form, error)
            status = 400
    elif request.method == "POST":
        status = 400
    own = ApiKey.objects.filter(user_id=request.user.pk).order_by("-created", "id")
    context = {"section": "account", "form": form, "keys": own, "created": created}
    return render(request, "tenants_app/keys.html", context, status=status)


@require_http_methods(["GET", "POST"])
@signin_required
def key_revoke(request: HttpRequest, key_id: str) -> HttpResponse:
    caller = Caller.of(request)
    key = ApiKey.objects.filter(pk=key_id, user_id=request.user.pk).first()
    if key is None:
        raise Http404("No such key.")
    if request.method == "POST":
        keys.revoke_key(caller, key)
        messages.success(request, f"Revoked the key “{key.name}”. Anything still using it gets 401 from now on.")
        return HttpResponseRedirect(KEYS_URL)
    context = {
        "title": f"Revoke the key “{key.name}”?",
        "consequence": "Scripts and pipelines that use it stop working at once. This cannot be undone.",
        "confirm": "Revoke key",
        "cancel_url": KEYS_URL,
    }
    return render(request, "tenants_app/key_revoke.html", context)
