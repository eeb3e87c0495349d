"""The vocabulary pages under /manage/vocabulary/: tags and metadata names with their use; curated entries.

Lists are the API's lists: the same counted queryset (``VocabularyViewSet.counted``: how many items use each
entry), the same ``ListSpec`` and filter language. Writes go through ``folksonomy_app.services``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from folksonomy_app import lists, services
from folksonomy_app.forms import EntryCreateForm, EntryDeleteForm, EntryFilterForm
from framework.errors import ServiceError
from framework.web.pages import admin_required, focus_first_error, list_page, show_refusal, status_of
from tenants_app.audit import Caller

if TYPE_CHECKING:
    from tenants_app.http import SignedInRequest


@dataclass(frozen=True)
class Vocabulary:
    name: str  # the services' name: "tag" or "metadata"
    noun: str
    plural: str
    url_name: str
    delete_url_name: str


VOCABULARIES = {
    "tag": Vocabulary("tag", "tag", "tags", "manage:vocabulary:tags", "manage:vocabulary:tag-delete"),
    "metadata": Vocabulary(
        "metadata",
        "metadata name",
        "metadata names",
        "manage:vocabulary:metadata",
        "manage:vocabulary:metadata-delete",
    ),
}


def _counted(request: SignedInRequest, vocabulary: Vocabulary) -> QuerySet[Any]:
    # The API's entries, so "count" means the same everywhere (items the viewer can read that use it).
    return lists.counted(vocabulary.name, request.user)


def _page(
    request: HttpRequest, template: str, vocabulary: Vocabulary, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    focus_first_error(context)
    context = {"section": "manage", "active": "vocabulary", "vocabulary": vocabulary, **context}
    return render(request, template, context, status=status)


@require_GET
@admin_required
def overview(request: HttpRequest) -> HttpResponse:
    return HttpResponseRedirect(reverse("manage:vocabulary:tags"))


@require_http_methods(["GET", "POST"])
@admin_required
def entries(request: SignedInRequest, vocabulary: str) -> HttpResponse:
    """The list (filtered, paged) and the form that adds a default entry."""
    kind = VOCABULARIES[vocabulary]
    create_form = EntryCreateForm(request.POST if request.method == "POST" else None)
    status = 200
    if request.method == "POST":
        status = 400
        if create_form.is_valid():
            try:
                entry = services.create_default(Caller.of(request), kind.name, create_form.cleaned_data["name"])
            except ServiceError as error:
                show_refusal(create_form, error, {"_id": "name"})
                status = status_of(error, request)
            else:
                messages.success(request, f"Default {kind.noun} “{entry.id}” created.")
                return HttpResponseRedirect(reverse(kind.url_name))
    filter_form = EntryFilterForm(request.GET)
    listing = None
    if filter_form.is_valid():
        listing = list_page(
            request,
            _counted(request, kind),
            lists.ENTRIES,
            filter_form.filter_document(),
            sort=filter_form.sort_document(),
            page=filter_form.cleaned_data["page"],
        )
    elif status == 200:
        status = 400
    context = {
        "create_form": create_form,
        "filter_form": filter_form,
        "listing": listing,
        "filtered": filter_form.is_valid() and bool(filter_form.filter_document()),
    }
    return _page(request, "folksonomy_app/vocabulary.html", kind, context, status=status)


@require_http_methods(["GET", "POST"])
@admin_required
def delete(request: SignedInRequest, vocabulary: str) -> HttpResponse:
    """Confirm, then delete an entry; an entry items still use is refused (409) and the page says by whom."""
    kind = VOCABULARIES[vocabulary]
    form = EntryDeleteForm(request.POST if request.method == "POST" else request.GET)
    if not form.is_valid():
        raise Http404(f"No {kind.noun} named here.")
    entry = _counted(request, kind).filter(pk=form.cleaned_data["name"]).first()
    if entry is None:
        raise Http404(f"No such {kind.noun}.")
    context: dict[str, Any] = {"entry": entry, "form": form, "error": None}
    if request.method == "POST":
        try:
            services.delete_entry(Caller.of(request), kind.name, entry)
        except ServiceError as error:
            context["error"] = str(error.details).removeprefix("_id: ")
            return _page(
                request, "folksonomy_app/vocabulary_delete.html", kind, context, status=status_of(error, request)
            )
        messages.success(request, f"The {kind.noun} “{entry.id}” was deleted.")
        return HttpResponseRedirect(reverse(kind.url_name))
    return _page(request, "folksonomy_app/vocabulary_delete.html", kind, context)
