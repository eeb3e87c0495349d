"""The form of the /manage/webhooks/ pages: what a browser form must check; the rules are the services'."""

from __future__ import annotations

import json
from typing import Any

from django import forms

from tenants_app.events import EVENT_TYPES
from webhooks_app.models import Webhook

FILTER_HELP = (
    'Optional: the list filter language on the item an event is about, e.g. {"tags": "prod"} or '
    '{"status": "production"}. Empty: every item.'
)


class WebhookForm(forms.Form):
    url = forms.CharField(label="URL", max_length=2000, help_text="http:// or https://; it receives signed POSTs.")
    events = forms.MultipleChoiceField(
        label="Events", choices=[(name, name) for name in EVENT_TYPES], widget=forms.CheckboxSelectMultiple
    )
    filter = forms.CharField(
        label="Filter", required=False, widget=forms.Textarea(attrs={"rows": 2}), help_text=FILTER_HELP
    )
    description = forms.CharField(label="Description", max_length=500, required=False)
    active = forms.BooleanField(label="Active: deliveries go out", required=False, initial=True)

    def clean_filter(self) -> Any:
        text = self.cleaned_data["filter"].strip()
        if not text:
            return None
        try:
            return json.loads(text)
        except ValueError as exc:
            raise forms.ValidationError(f"Not JSON: {exc}") from None

    @classmethod
    def of(cls, webhook: Webhook) -> WebhookForm:
        initial = {
            "url": webhook.url,
            "events": webhook.events,
            "filter": json.dumps(webhook.filter) if webhook.filter else "",
            "description": webhook.description,
            "active": webhook.active,
        }
        return cls(initial=initial)
