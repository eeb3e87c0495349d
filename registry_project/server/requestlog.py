"""One log line per request, with a request id; JSON lines when LOG_FORMAT=json.

gunicorn's access log knows neither the route, the tenant nor the user; this line lets an operator find the
request behind an id a client reports (``X-Request-ID``) and see who did what.

Logged: request id, method, route pattern, status, duration, tenant and username. Never a body, a query
string, a header or a token.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("registry.requests")
_INCOMING_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
REQUEST_FIELDS = ("request_id", "method", "route", "status", "duration_ms", "tenant", "user", "address")


def _route(request: HttpRequest) -> str:
    match = request.resolver_match  # None until URL resolution, and when it failed
    if match is not None and match.route:
        return "/" + match.route.lstrip("^").rstrip("$")
    return "<unresolved>"


class RequestLogMiddleware:
    """Outermost middleware: gives each request an id (``X-Request-ID``) and logs how it ended."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.META.get("HTTP_X_REQUEST_ID", "")
        request_id = incoming if _INCOMING_ID.match(incoming) else uuid.uuid4().hex
        started = time.perf_counter()
        response = self.get_response(request)
        response["X-Request-ID"] = request_id
        logger.info(
            "%s %s %s",
            request.method,
            _route(request),
            response.status_code,
            extra={
                "request_id": request_id,
                "method": request.method,
                "route": _route(request),
                "status": response.status_code,
                "duration_ms": round((time.perf_counter() - started) * 1000, 1),
                "tenant": getattr(request, "registry_tenant", None),
                "user": getattr(request, "registry_user", None),
                "address": request.META.get("REMOTE_ADDR"),
            },
        )
        return response


class JsonFormatter(logging.Formatter):
    """A JSON object per line: time, level, logger, message, the request fields when present, and errors."""

    def format(self, record: logging.LogRecord) -> str:
        document: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        for name in REQUEST_FIELDS:
            if hasattr(record, name):
                document[name] = getattr(record, name)
        if record.exc_info:
            document["error"] = self.formatException(record.exc_info)
        return json.dumps(document, default=str)
