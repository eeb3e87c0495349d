"""One item's pages: its page, the create and edit form, and the confirmation of its deletion."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.contrib import messages
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.safestring import SafeString
from django.views.decorators.http import require_GET, require_http_methods

from folksonomy_app.models import MetadataName, Tag, Usage
from framework.errors import ServiceError
from framework.web.pages import status_of
from items_app import cards, kinds, services
from items_app.documents import item_document
from items_app.forms import METADATA_TYPES, ItemForm, metadata_rows_of, original_lists
from items_app.kinds import ItemKind
from items_app.models import Item
from items_app.views.common import confirm_page, item_path, load_item, may_edit, page, require_edit, scalars_of
from tenants_app.audit import Caller

if TYPE_CHECKING:
    from tenants_app.http import SignedInRequest

CURATED_SUGGESTIONS = 50  # the admins' curated vocabulary entries rendered into the form before anyone types
PREVIEW = "preview"  # the name of the form's "Preview" submit button


@dataclass(frozen=True)
class CardPreview:
    """What the form page shows above the form after "Preview": the card rendered (None when too long)."""

    html: SafeString | None
    length: int


@page
@require_GET
def detail(request: SignedInRequest, kind: str, pk: str) -> HttpResponse:
    k = kinds.get(kind)
    item = load_item(request, k, pk)
    document = item_document(item)
    context: dict[str, Any] = {
        "k": k,
        "section": k.prefix,
        "item": item,
        "doc": document,
        "scalars": scalars_of(k, document),
        "sections": [trait.detail_template for trait in k.traits if trait.detail_template],
        "can_edit": may_edit(request, item),
        "versions": item.related.versions,
        "max_upload_size": settings.MAX_UPLOAD_SIZE,
        "upload_chunk_size": settings.UPLOAD_CHUNK_SIZE,
    }
    for trait in k.traits:
        context.update(trait.detail_context(request.user, item, document))
    return render(request, "items/detail.html", context)


def _curated(model: type[Any]) -> list[str]:
    """The admins' curated entries, rendered into the datalists before anyone types."""
    return list(
        model.objects.filter(usage=Usage.DEFAULT).order_by("id").values_list("id", flat=True)[:CURATED_SUGGESTIONS]
    )


def _form_page(
    request: SignedInRequest,
    k: ItemKind,
    form: ItemForm,
    item: Item | None,
    status: int,
    preview: CardPreview | None = None,
) -> HttpResponse:
    context = {
        "preview": preview,
        "max_card_length": f"{cards.MAX_CARD_LENGTH:,}",
        "k": k,
        "section": k.prefix,
        "form": form,
        "item": item,
        "scalar_fields": [form[scalar.field] for scalar in k.scalars],
        "list_templates": [trait.form_template for trait in k.lists],
        "metadata_rows": form.metadata_rows(),
        "metadata_types": METADATA_TYPES,
        "tag_defaults": _curated(Tag),
        "metadata_defaults": _curated(MetadataName),
    }
    return render(request, "items/form.html", context, status=status)


def _previewed(request: SignedInRequest, k: ItemKind, form: ItemForm, item: Item | None) -> HttpResponse:
    """The form as typed, not checked, with the description rendered above it as the item's page shows it.

    The "Preview" button is a submit button (the page runs no inline script, so this works without
    JavaScript): nothing is written, and the typed text comes back in the form.
    """
    text = str(form.data.get("description", "")).replace("\r\n", "\n")
    rendered = cards.render_card(text) if len(text) <= cards.MAX_CARD_LENGTH else None
    return _form_page(request, k, form.unchecked(), item, 200, preview=CardPreview(rendered, len(text)))


@page
@require_http_methods(["GET", "POST"])
def create(request: SignedInRequest, kind: str) -> HttpResponse:
    k = kinds.get(kind)
    data = request.POST if request.method == "POST" else None
    form = ItemForm(data, kind=k, viewer=request.user)
    if data is None:
        return _form_page(request, k, form, None, 200)
    if PREVIEW in data:
        return _previewed(request, k, form, None)
    if not form.is_valid():
        return _form_page(request, k, form, None, 400)
    try:
        item = services.create_item(Caller.of(request), k, **form.create_arguments())
    except ServiceError as error:
        form.add_service_error(error)
        return _form_page(request, k, form, None, status_of(error, request))
    messages.success(request, f"{k.singular} “{item.name}” registered.")
    return HttpResponseRedirect(item_path(item))


def _initial(k: ItemKind, item: Item) -> dict[str, Any]:
    """The edit form as the item is now."""
    document = item_document(item)
    initial: dict[str, Any] = {
        "name": item.name,
        "visibility": item.visibility,
        "description": item.description,
        "tags": ", ".join(document["tags"]),
        "users": ", ".join(document["users"]),
        "metadata_rows": metadata_rows_of(item.related.metadata),
        "original": original_lists(k, document),
    }
    for scalar in k.scalars:
        initial[scalar.field] = getattr(item, scalar.field)
    for trait in k.lists:
        initial[trait.field] = document[trait.field]
    return initial


@page
@require_http_methods(["GET", "POST"])
def edit(request: SignedInRequest, kind: str, pk: str) -> HttpResponse:
    k = kinds.get(kind)
    item = load_item(request, k, pk)
    require_edit(request, item, "modify")
    data = request.POST if request.method == "POST" else None
    form = ItemForm(data, initial=_initial(k, item), kind=k, viewer=request.user)
    if data is None:
        return _form_page(request, k, form, item, 200)
    if PREVIEW in data:
        return _previewed(request, k, form, item)
    if not form.is_valid():
        return _form_page(request, k, form, item, 400)
    scalars, lists = form.changes(item)
    if not scalars and not lists:
        messages.info(request, "Nothing to save: you changed nothing.")
        return HttpResponseRedirect(item_path(item))
    try:
        updated = services.update_item(Caller.of(request), item, scalars, lists)
    except ServiceError as error:
        if status_of(error, request) == 403:
            raise
        form.add_service_error(error)
        return _form_page(request, k, form, item, status_of(error, request))
    messages.success(request, f"Saved your changes to “{updated.name}”.")
    return HttpResponseRedirect(item_path(updated))


@page
@require_http_methods(["GET", "POST"])
def delete(request: SignedInRequest, kind: str, pk: str) -> HttpResponse:
    k = kinds.get(kind)
    item = load_item(request, k, pk)
    require_edit(request, item, "delete")
    if request.method == "POST":
        try:
            services.delete_item(Caller.of(request), item)
        except ServiceError as error:
            if status_of(error, request) == 403:
                raise
            messages.error(request, f"Not deleted: {str(error.details).split(': ', 1)[-1]}")
            return HttpResponseRedirect(item_path(item))
        messages.success(request, f"Deleted the {k.lower} “{item.name}”.")
        return HttpResponseRedirect(f"/{k.prefix}/")
    return confirm_page(
        request,
        k,
        item,
        title=f"Delete the {k.lower} “{item.name}”?",
        consequence=f"Its {len(item.related.versions)} version file(s), metadata, tags and sharing are deleted "
        "too. This cannot be undone.",
        confirm=f"Delete {k.lower}",
        cancel_url=item_path(item),
    )
