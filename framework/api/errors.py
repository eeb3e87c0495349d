"""The error catalogue and the one place that turns any failure under ``/v1/`` into the JSON envelope.

Every error a client can see is ``{"status", "value", "message", "details"}``: ``value`` is a stable,
unique number from ``CATALOGUE``; ``message`` is fixed text; ``details`` says what exactly was wrong.
``GET /v1/errors`` lists the catalogue. Services refuse with the domain errors of ``framework.errors``;
``refusal`` maps each to its entry here, for the API and the pages alike.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseOperationalError
from django.http import Http404, HttpRequest, JsonResponse, UnreadablePostError
from rest_framework import exceptions as drf
from rest_framework.response import Response

from framework import errors

logger = logging.getLogger("registry.errors")


@dataclass(frozen=True)
class ErrorKind:
    name: str
    status: int
    value: int
    message: str


def _kinds(*rows: tuple[str, int, int, str]) -> dict[str, ErrorKind]:
    catalogue = {name: ErrorKind(name, status, value, message) for name, status, value, message in rows}
    values = [kind.value for kind in catalogue.values()]
    assert len(values) == len(set(values)) == len(rows), "error values must be unique"
    return catalogue


# Values 0..13 keep the seed system's names and numbers; the rest are this registry's additions.
CATALOGUE = _kinds(
    ("internal_server_error", 500, 0, "Internal server error"),
    ("generic_upload_error", 400, 1, "Upload request error"),
    ("generic_download_error", 400, 2, "Download request error"),
    ("authentication_error", 401, 3, "Authentication error"),
    ("generic_request_error", 400, 4, "Request error"),
    ("post_request_error", 400, 5, "Resource not created"),
    ("get_request_error", 400, 6, "Resource not retrieved"),
    ("delete_request_error", 400, 7, "Resource not deleted"),
    ("put_request_error", 400, 8, "Resource not updated"),
    ("resource_not_found", 404, 9, "Resource not found"),
    ("restricted_access_read", 403, 10, "You cannot read this resource"),
    ("restricted_access_create", 403, 11, "You cannot create this resource"),
    ("restricted_access_modify", 403, 12, "You cannot modify this resource"),
    ("restricted_access_delete", 403, 13, "You cannot delete this resource"),
    ("unauthorized", 401, 14, "Missing or invalid authorization"),
    ("token_expired", 401, 15, "The token has expired"),
    ("invalid_json", 400, 16, "The request body is not valid JSON"),
    ("invalid_filter", 400, 17, "The filter is not valid"),
    ("invalid_list_parameter", 400, 18, "A list parameter is not valid"),
    ("conflict", 409, 19, "The request conflicts with the current state"),
    ("method_not_allowed", 405, 20, "Method not allowed"),
    ("not_acceptable", 406, 21, "Cannot produce the requested representation"),
    ("payload_too_large", 413, 22, "The request body is too large"),
    ("unsupported_media_type", 415, 23, "Unsupported media type"),
    ("too_many_requests", 429, 24, "Too many requests"),
    ("range_not_satisfiable", 416, 25, "The requested range cannot be served"),
    ("digest_mismatch", 400, 26, "The uploaded file does not match the expected digest"),
    ("service_unavailable", 503, 27, "The service is temporarily unavailable"),
    ("precondition_failed", 412, 28, "A precondition of the request is not met"),
    ("checksum_mismatch", 460, 29, "The chunk does not match its checksum"),
    ("upload_expired", 410, 30, "The upload has expired"),
    ("insufficient_storage", 507, 31, "The server has no room left for the file"),
    ("uri_too_long", 414, 32, "The request line is too long"),
    ("header_fields_too_large", 431, 33, "The request's header fields are too large"),
    ("expectation_failed", 417, 34, "The Expect header cannot be met"),
    ("not_implemented", 501, 35, "The server does not support this request"),
    ("request_timeout", 408, 36, "The request did not arrive in time"),
    ("password_expired", 401, 37, "The password has expired"),
    ("password_change_required", 401, 38, "The password must be changed"),
    ("demo_tenant_required", 403, 39, "Demo routes only work in the demo tenant"),
    ("unprocessable_content", 422, 40, "The content is refused"),
)


def by_status(status: int) -> ErrorKind:
    """The catalogue entry for an HTTP status produced outside the application (the HTTP server's own
    refusals of malformed requests): the entry of that status, the first by value."""
    generic = {400: "generic_request_error", 403: "restricted_access_read", 404: "resource_not_found"}
    if status in generic:
        return CATALOGUE[generic[status]]
    return next((kind for kind in CATALOGUE.values() if kind.status == status), CATALOGUE["internal_server_error"])


# Validation failures are reported with the seed's per-method error names.
_VALIDATION_BY_METHOD = {
    "POST": "post_request_error",
    "PUT": "put_request_error",
    "PATCH": "put_request_error",
    "DELETE": "delete_request_error",
    "GET": "get_request_error",
}


def envelope(kind: ErrorKind, details: Any = "") -> dict[str, Any]:
    return {"status": kind.status, "value": kind.value, "message": kind.message, "details": details}


def catalogue_document() -> dict[str, dict[str, Any]]:
    return {
        kind.name: {"status": kind.status, "value": kind.value, "message": kind.message} for kind in CATALOGUE.values()
    }


def validation_details(detail: Any) -> str:
    """Flatten DRF/Django validation details into one readable line naming each field."""
    if isinstance(detail, Mapping):
        parts = []
        for field, problems in detail.items():
            text = validation_details(problems)
            parts.append(text if field in ("non_field_errors", "__all__") else f"{field}: {text}")
        return "; ".join(parts)
    if isinstance(detail, list | tuple):
        return " ".join(validation_details(item) for item in detail)
    return str(detail)


_RESTRICTED_BY_METHOD = {
    "POST": "restricted_access_create",
    "PUT": "restricted_access_modify",
    "PATCH": "restricted_access_modify",
    "DELETE": "restricted_access_delete",
}


def _restricted_kind(method: str | None) -> ErrorKind:
    return CATALOGUE[_RESTRICTED_BY_METHOD.get((method or "").upper(), "restricted_access_read")]


def _method_validation_kind(method: str | None) -> ErrorKind:
    return CATALOGUE[_VALIDATION_BY_METHOD.get((method or "").upper(), "generic_request_error")]


# The catalogue entry of each domain error (``framework.errors``); ``Invalid`` and ``Forbidden`` are named
# after what the request did (``_method_validation_kind``, the action).
_DOMAIN: dict[type[errors.ServiceError], str] = {
    errors.InvalidFilter: "invalid_filter",
    errors.InvalidListParameter: "invalid_list_parameter",
    errors.NotFound: "resource_not_found",
    errors.Conflict: "conflict",
    errors.DemoTenantRequired: "demo_tenant_required",
    errors.TooLarge: "payload_too_large",
    errors.UnsupportedMediaType: "unsupported_media_type",
    errors.UploadFailed: "generic_upload_error",
    errors.Unprocessable: "unprocessable_content",
    errors.RequestTimeout: "request_timeout",
    errors.DigestMismatch: "digest_mismatch",
    errors.RangeNotSatisfiable: "range_not_satisfiable",
    errors.ChecksumMismatch: "checksum_mismatch",
    errors.PreconditionFailed: "precondition_failed",
    errors.Gone: "upload_expired",
    errors.StorageFull: "insufficient_storage",
    errors.Unavailable: "service_unavailable",
    errors.AuthenticationFailed: "authentication_error",
    errors.PasswordExpired: "password_expired",
    errors.PasswordChangeRequired: "password_change_required",
    errors.TokenExpired: "token_expired",
    errors.Unauthorized: "unauthorized",
    errors.TooManyRequests: "too_many_requests",
}
_ACTIONS = {
    "read": "restricted_access_read",
    "create": "restricted_access_create",
    "modify": "restricted_access_modify",
    "delete": "restricted_access_delete",
}


def refusal(exc: errors.ServiceError, method: str | None) -> tuple[ErrorKind, str, dict[str, str]]:
    """The catalogue entry, details and headers of a service's refusal: the one mapping the API and the
    pages both use."""
    headers: dict[str, str] = {}
    if isinstance(exc, errors.TooManyRequests | errors.Unavailable):
        headers["Retry-After"] = str(exc.retry_after)
    if isinstance(exc, errors.RangeNotSatisfiable):
        headers["Content-Range"] = f"bytes */{exc.size}"
    if isinstance(exc, errors.Forbidden):
        return CATALOGUE[_ACTIONS[exc.action]], exc.details, headers
    for domain_type in type(exc).__mro__:
        if domain_type in _DOMAIN:
            return CATALOGUE[_DOMAIN[domain_type]], exc.details, headers
    return _method_validation_kind(method), exc.details, headers  # Invalid: named after the request


DATABASE_RETRY_AFTER = 5  # seconds: a restarting database is usually back within a few


def database_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` says the database cannot be reached or used right now (down, refusing connections,
    SQLite's file locked past its wait): an outage to name with a 503, not a bug."""
    return isinstance(exc, DatabaseOperationalError | DatabaseInterfaceError)


def database_outage(exc: BaseException) -> tuple[ErrorKind, str, dict[str, str]]:
    """The 503 of a database that does not answer, logged as one line without a traceback."""
    logger.warning("database unavailable: %s", str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__)
    details = "database: unavailable right now; try again shortly"
    return CATALOGUE["service_unavailable"], details, {"Retry-After": str(DATABASE_RETRY_AFTER)}


def _classify(exc: Exception, method: str | None) -> tuple[ErrorKind, Any, dict[str, str]]:
    """The catalogue entry, details and extra headers for any exception a view may raise."""
    if isinstance(exc, errors.ServiceError):
        return refusal(exc, method)
    if database_unavailable(exc):
        return database_outage(exc)
    if isinstance(exc, UnreadablePostError):  # the client fell silent or went away mid-body
        return refusal(errors.receiving_failed(exc), method)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return CATALOGUE["payload_too_large"], f"body: larger than {limit} bytes; send a batch in parts", {}
    if isinstance(exc, TooManyFieldsSent):
        return _method_validation_kind(method), f"body: more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} fields", {}
    if isinstance(exc, drf.ParseError):
        return CATALOGUE["invalid_json"], str(exc.detail), {}
    if isinstance(exc, drf.ValidationError | DjangoValidationError):
        detail = exc.detail if isinstance(exc, drf.ValidationError) else getattr(exc, "message_dict", exc.messages)
        return _method_validation_kind(method), validation_details(detail), {}
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return _authentication_kind(exc), str(exc.detail), {}
    if isinstance(exc, drf.PermissionDenied | DjangoPermissionDenied):
        return _restricted_kind(method), "Your role does not allow this.", {}
    if isinstance(exc, drf.NotFound | Http404):
        return CATALOGUE["resource_not_found"], "No such resource.", {}
    if isinstance(exc, drf.MethodNotAllowed):
        return CATALOGUE["method_not_allowed"], f"{method} is not allowed here.", {}
    if isinstance(exc, drf.NotAcceptable):
        return CATALOGUE["not_acceptable"], str(exc.detail), {}
    if isinstance(exc, drf.UnsupportedMediaType):
        return CATALOGUE["unsupported_media_type"], str(exc.detail), {}
    if isinstance(exc, drf.Throttled):
        # DRF sets ``wait`` (seconds, or None) in __init__; djangorestframework-stubs does not declare it.
        headers = {"Retry-After": str(int(exc.wait))} if exc.wait is not None else {}  # type: ignore[attr-defined]
        return CATALOGUE["too_many_requests"], str(exc.detail), headers
    return CATALOGUE["internal_server_error"], "The server could not complete the request.", {}


def _authentication_kind(exc: drf.APIException) -> ErrorKind:
    """An authentication class names the catalogue entry in its exception's code (``token_expired``)."""
    code = exc.get_codes()
    return CATALOGUE[code] if isinstance(code, str) and code in CATALOGUE else CATALOGUE["unauthorized"]


def not_authenticated(exc: errors.ServiceError) -> drf.AuthenticationFailed:
    """A refusal of an authentication class, in the exception DRF expects from one (it then treats the
    request as anonymous); the catalogue entry travels in its code."""
    kind, details, _ = refusal(exc, None)
    return drf.AuthenticationFailed(details, code=kind.name)


# Statuses outside the HTTP registry that this catalogue uses (tus 1.0's checksum extension), and their text.
_REASONS = {460: "Checksum Mismatch"}


def error_response(kind: ErrorKind, details: Any = "", headers: Mapping[str, str] | None = None) -> Response:
    response = Response(envelope(kind, details), status=kind.status)
    if kind.status in _REASONS:
        response.reason_phrase = _REASONS[kind.status]
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def exception_handler(exc: Exception, context: Mapping[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: every exception, expected or not, becomes the envelope."""
    request = context.get("request")
    method = getattr(request, "method", None)
    kind, details, headers = _classify(exc, method)
    if kind.status == 403 and getattr(getattr(request, "user", None), "limited_by_key", False):
        # an admin's key without the admin scope: the role it lacks is the scope it lacks
        details = f"{details} (this API key lacks the 'admin' scope)"
    if kind.status >= 500 and not isinstance(exc, errors.ServiceError):  # a refusal is expected: no traceback
        logger.error("unhandled error in %s %s", method, getattr(request, "path", "?"), exc_info=exc)
    if kind.status == 401:
        headers = {"WWW-Authenticate": 'JWT realm="api"', **headers}
    return error_response(kind, details, headers)


def json_error(kind_name: str, details: Any = "", status_headers: Mapping[str, str] | None = None) -> JsonResponse:
    """The envelope as a plain Django response, for code that runs outside DRF views."""
    kind = CATALOGUE[kind_name]
    response = JsonResponse(envelope(kind, details), status=kind.status, reason=_REASONS.get(kind.status))
    for name, value in (status_headers or {}).items():
        response[name] = value
    return response


def is_api_path(request: HttpRequest) -> bool:
    return request.path.startswith("/v1/") or request.path in ("/v1", "/login", "/login/")
