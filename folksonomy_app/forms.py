"""Forms of the vocabulary pages. Name rules are the service's (``check_name``); its errors land on ``name``."""

from __future__ import annotations

from typing import Any

from django import forms

from folksonomy_app.models import MAX_NAME_LENGTH, Usage
from framework.web.pages import contains

SORTS = {
    "name": {"_id": "asc"},
    "count": {"count": "desc", "_id": "asc"},
    "newest": {"timestamp": "desc"},
}


class EntryCreateForm(forms.Form):
    name = forms.CharField(
        max_length=MAX_NAME_LENGTH,
        strip=False,  # the service trims and reports names it cannot take
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )


class EntryDeleteForm(forms.Form):
    name = forms.CharField(max_length=MAX_NAME_LENGTH, strip=False, widget=forms.HiddenInput)


class EntryFilterForm(forms.Form):
    q = forms.CharField(label="Search", required=False, max_length=60, widget=forms.TextInput(attrs={"type": "search"}))
    usage = forms.ChoiceField(required=False, choices=[("", "Default and folk"), *Usage.choices])
    sort = forms.ChoiceField(
        required=False,
        choices=[("name", "Name"), ("count", "Most used"), ("newest", "Newest")],
        label="Sort by",
    )
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    def filter_document(self) -> dict[str, Any]:
        """The filter of ``GET /v1/tags`` (or ``/v1/metadata``) these fields mean."""
        document: dict[str, Any] = {}
        if self.cleaned_data["q"]:
            document["_id"] = contains(self.cleaned_data["q"])
        if self.cleaned_data["usage"]:
            document["usage"] = self.cleaned_data["usage"]
        return document

    def sort_document(self) -> dict[str, str]:
        return SORTS[self.cleaned_data["sort"] or "name"]
