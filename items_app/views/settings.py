"""``/manage/settings/``: the tenant's own settings (``items_app.tenant_settings``), for its admins."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.views.decorators.http import require_http_methods

from framework.web.pages import admin_required
from items_app import tenant_settings
from tenants_app.audit import Caller


class SettingsForm(forms.Form):
    refuse_dangerous_uploads = forms.BooleanField(
        required=False,
        label="Refuse dangerous uploads",
        help_text="Refuse (422) a file whose pickles import code-execution globals (os.system, eval, …) instead "
        "of storing it with a warning.",
    )


@require_http_methods(["GET", "POST"])
@admin_required
def tenant_settings_page(request: HttpRequest) -> HttpResponse:
    row = tenant_settings.current()
    form = SettingsForm(request.POST or None, initial={"refuse_dangerous_uploads": row.refuse_dangerous_uploads})
    if request.method == "POST" and form.is_valid():
        tenant_settings.change(Caller.of(request), form.cleaned_data)
        messages.success(request, "Settings saved.")
        return HttpResponseRedirect(request.path)
    context = {"section": "manage", "active": "settings", "form": form, "row": row}
    return render(request, "items/manage_settings.html", context, status=400 if form.is_bound else 200)
