"""The vocabulary's card on the /manage/ overview: the overview belongs to the tenants' pages, below the
vocabulary, so it takes the card through this tag rather than by importing the vocabulary."""

from __future__ import annotations

from typing import Any

from django import template
from django.db.models import Count, Q

from folksonomy_app.models import MetadataName, Tag, Usage

register = template.Library()


@register.inclusion_tag("folksonomy_app/_manage_card.html")
def vocabulary_card() -> dict[str, Any]:
    defaults = Count("pk", filter=Q(usage=Usage.DEFAULT))
    return {
        "tags": Tag.objects.aggregate(total=Count("pk"), defaults=defaults),
        "metadata": MetadataName.objects.aggregate(total=Count("pk"), defaults=defaults),
    }
