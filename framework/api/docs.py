"""The interactive API reference (Swagger UI at /docs.html, Redoc at /redoc.html), served by the registry.

Both pages load only the registry's own assets (drf-spectacular-sidecar); their JavaScript inserts style
elements and Redoc's search runs in a blob: worker, so these two pages get a policy that allows exactly that
(scripts still come only from the registry itself).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.views import SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.request import Request
from rest_framework.response import Response

DOCS_POLICY = (
    "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
    "worker-src 'self' blob:; connect-src 'self'; frame-ancestors 'none'; base-uri 'self'; object-src 'none'"
)


class _DocsPolicy:
    def get(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        # A mixin: ``get`` is the drf-spectacular view's it is mixed into, which mypy cannot see from here.
        response: Response = super().get(request, *args, **kwargs)  # type: ignore[misc]
        response["Content-Security-Policy"] = DOCS_POLICY
        return response


class SwaggerView(_DocsPolicy, SpectacularSwaggerSplitView):
    pass


class RedocView(_DocsPolicy, SpectacularRedocView):
    pass
