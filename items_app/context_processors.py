"""Template context every page gets from the item core: the kinds, for the navigation and the pages that
name them all (comparison, errors)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from items_app import kinds


def item_kinds(request: HttpRequest) -> dict[str, Any]:
    return {"item_kinds": list(kinds.every())}
