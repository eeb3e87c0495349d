"""Template helpers of the item pages: links that keep the rest of the query string, and model cards."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString
from django.utils.timesince import timesince

from items_app import cards, kinds
from items_app.models import Item
from items_app.urlstate import url_with

register = template.Library()


@register.simple_tag(takes_context=True)
def with_tag(context: dict[str, Any], tag: str) -> str:
    """The current list filtered by one more tag."""
    request = context["request"]
    tags = list(dict.fromkeys([*request.GET.getlist("tag"), tag]))
    return url_with(request, tag=tags)


@register.simple_tag(takes_context=True)
def without_tag(context: dict[str, Any], tag: str) -> str:
    request = context["request"]
    return url_with(request, tag=[value for value in request.GET.getlist("tag") if value != tag])


@register.filter
def item_url(item: Item) -> str:
    """The page of ``item``, whatever its kind."""
    return f"/{kinds.get(item.kind).prefix}/{item.pk}/"


@register.filter
def ago(moment: datetime) -> str:
    """'3 hours ago', or 'just now' within the first minute."""
    if moment is None:
        return ""
    if timezone.now() - moment < timedelta(minutes=1):
        return "just now"
    return f"{timesince(moment).split(', ')[0]} ago"


@register.filter
def card(text: str) -> SafeString:
    """A description (Markdown) rendered and sanitised: ``{{ doc.description|card }}``."""
    return cards.render_card(text or "")


@register.filter
def card_excerpt(text: str, length: int = 100) -> str:
    """The start of a description as plain text, for lists: ``{{ doc.description|card_excerpt:100 }}``."""
    return cards.card_excerpt(text or "", int(length))
