"""Pages keep their whole state in the query string (bookmarkable searches and comparisons)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def url_with(request: HttpRequest, **changes: Any) -> str:
    """The current URL's query string with some parameters replaced (None or [] removes one).

    Changing anything but the page goes back to page 1: page 3 of another search means nothing.
    """
    params = request.GET.copy()
    if "page" not in changes:
        params.pop("page", None)
    for name, value in changes.items():
        if value is None or value == [] or value == "":
            params.pop(name, None)
        elif isinstance(value, list | tuple):
            params.setlist(name, [str(item) for item in value])
        else:
            params[name] = str(value)
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else request.path
