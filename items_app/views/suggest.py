"""The suggestions of the item form's chip inputs: vocabulary entries (tags, metadata names) and usernames."""

from __future__ import annotations

from typing import Any

from django.db.models import Case, IntegerField, Q, Value, When
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.http import require_GET

from folksonomy_app.models import MetadataName, Tag, Usage
from items_app.views.common import json_endpoint
from tenants_app.models import User

SUGGESTIONS = 20


def _ranked(queryset: Any, field_name: str, text: str) -> Any:
    """Entries containing ``text`` (case-insensitive); those starting with it first."""
    if not text:
        return queryset
    starts = Case(When(**{f"{field_name}__istartswith": text}, then=Value(0)), default=Value(1))
    return (
        queryset.filter(**{f"{field_name}__icontains": text})
        .annotate(prefix_rank=starts)
        .order_by("prefix_rank", field_name)
    )


@require_GET
@json_endpoint
def suggest(request: HttpRequest, vocabulary: str) -> HttpResponse:
    """``/suggest/tags?q=`` and ``/suggest/metadata?q=``: the tenant's vocabulary, default entries first."""
    model = Tag if vocabulary == "tags" else MetadataName
    text = request.GET.get("q", "").strip()[:64]
    default_first = Case(When(usage=Usage.DEFAULT, then=Value(0)), default=Value(1), output_field=IntegerField())
    rows = _ranked(model.objects.annotate(default_rank=default_first), "id", text)
    ordering = ["default_rank", *(["prefix_rank"] if text else []), "id"]
    entries = rows.order_by(*ordering)[:SUGGESTIONS]
    return JsonResponse({"results": [{"name": entry.id, "usage": entry.usage} for entry in entries]})


@require_GET
@json_endpoint
def suggest_users(request: HttpRequest) -> HttpResponse:
    """``/suggest/users?q=``: usernames of the tenant's active users (for sharing)."""
    text = request.GET.get("q", "").strip()[:150]
    users = _ranked(User.objects.filter(is_active=True).exclude(Q(pk=request.user.pk)), "username", text)
    names = users.order_by(*(["prefix_rank"] if text else []), "username").values_list("username", flat=True)
    return JsonResponse({"results": [{"name": name} for name in names[:SUGGESTIONS]]})
