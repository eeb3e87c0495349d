"""The Content-Security-Policy header on every answer, which Django 5.2 does not set itself.

The pages load everything from the registry itself, so the browser is told to refuse anything else: a
script injected into a page, or a page framing ours, then runs nothing. A view that needs a different
policy (the API docs) sets its own, which is kept.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        response.headers.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        return response
