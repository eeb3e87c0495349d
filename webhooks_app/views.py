"""The /manage/webhooks/ pages for tenant admins: the webhooks, their delivery logs and a redeliver button.

Writes go through ``webhooks_app.services`` as the API's do; refusals are shown next to the field they name.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods, require_POST

from framework.errors import NotFound, ServiceError
from framework.web.pages import admin_required, focus_first_error, show_refusal, status_of
from tenants_app.audit import Caller
from webhooks_app import services
from webhooks_app.forms import WebhookForm
from webhooks_app.models import Webhook

SECTION = {"section": "manage", "active": "webhooks"}
LOG_ROWS = 50  # the page shows the newest attempts; the API lists them all


def _page(request: HttpRequest, template: str, context: dict[str, Any], status: int = 200) -> HttpResponse:
    focus_first_error(context)
    return render(request, template, {**SECTION, **context}, status=status)


def _webhook(request: HttpRequest, webhook_id: str) -> Webhook:
    try:
        return services.find_webhook(Caller.of(request), webhook_id)
    except NotFound:
        raise Http404("no such webhook") from None


@require_http_methods(["GET", "POST"])
@admin_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None, initial={"active": True, "events": ["item.created"]})
    context: dict[str, Any] = {"form": form, "created": None}
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                webhook, secret = services.create_webhook(Caller.of(request), **form.cleaned_data)
            except ServiceError as error:
                show_refusal(form, error)
                status = status_of(error, request)
            else:  # no redirect: the secret is in this answer and nowhere else
                context.update(
                    created={"webhook": webhook, "secret": secret}, form=WebhookForm(initial={"active": True})
                )
                status = 200
    context["webhooks"] = list(services.webhooks(Caller.of(request)))
    return _page(request, "webhooks_app/webhooks.html", context, status=status)


@require_http_methods(["GET", "POST"])
@admin_required
def webhook_detail(request: HttpRequest, webhook_id: str) -> HttpResponse:
    caller = Caller.of(request)
    webhook = _webhook(request, webhook_id)
    form = WebhookForm(request.POST) if request.method == "POST" else WebhookForm.of(webhook)
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                services.update_webhook(caller, webhook, form.cleaned_data)
            except ServiceError as error:
                show_refusal(form, error)
                status = status_of(error, request)
            else:
                messages.success(request, "Webhook saved.")
                return HttpResponseRedirect(reverse("webhooks:webhook", args=[webhook.pk]))
    attempts = services.attempts(caller, webhook).order_by("-id")[:LOG_ROWS]
    context = {"webhook": webhook, "form": form, "attempts": list(attempts)}
    return _page(request, "webhooks_app/webhook_detail.html", context, status=status)


@require_http_methods(["GET", "POST"])
@admin_required
def webhook_delete(request: HttpRequest, webhook_id: str) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    if request.method == "POST":
        services.delete_webhook(Caller.of(request), webhook)
        messages.success(request, f"Webhook {webhook.url} deleted.")
        return HttpResponseRedirect(reverse("webhooks:webhooks"))
    return _page(request, "webhooks_app/webhook_delete.html", {"webhook": webhook})


@require_POST
@admin_required
def redeliver(request: HttpRequest, webhook_id: str, attempt_id: str) -> HttpResponse:
    webhook = _webhook(request, webhook_id)
    try:
        message = services.redeliver(Caller.of(request), webhook, attempt_id)
    except NotFound:
        raise Http404("no such delivery") from None
    messages.success(request, f"Event {message.event_id} queued for delivery again.")
    return HttpResponseRedirect(reverse("webhooks:webhook", args=[webhook.pk]))
