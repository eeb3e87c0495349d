"""One HTTP connection pool per client, with the retry rules every call shares.

Retried: connection failures and broken connections (for a request the server may not have acted on, or
that is safe to repeat), 429 and 503 (the server said "not now"; its ``Retry-After`` is honoured), and 502/504
from a proxy in front of it. Never retried: any other 4xx, which would only fail again.
"""

from __future__ import annotations

import email.utils
import http.client
import json as json_module
import random
import ssl
import time
import urllib.parse
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any, Callable

import httpx

from registry_client import errors

RETRYABLE_STATUS = frozenset({429, 502, 503, 504})
IDEMPOTENT = frozenset({"GET", "HEAD", "PUT", "DELETE", "OPTIONS"})
MAX_RETRY_AFTER = 120.0  # seconds: a server asking for longer is treated as down

# How a request proves who sends it: returns the Authorization header value, or "" for none.
AuthHeader = Callable[[], str]
# A request body that can be produced again for a retry (a file re-read from its start).
BodyFactory = Callable[[], Iterable[bytes]]


class Transport:
    def __init__(self, base_url: str, *, timeout: float = 60.0, retries: int = 5, backoff: float = 0.5) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff
        # connect quickly or not at all; reads may be slow (a server hashing a big upload before answering)
        self.client = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)), follow_redirects=False)
        self.auth: AuthHeader = lambda: ""
        self.on_unauthorized: Callable[[], bool] | None = None  # renews a token; True when it did

    def close(self) -> None:
        self.client.close()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(self, method: str, path: str, **options: Any) -> httpx.Response:
        """Send (``options`` as ``stream`` takes them), retrying as the module says, and return the read
        answer; an error answer raises."""
        with self.stream(method, path, **options) as response:
            response.read()
            return response

    @contextmanager
    def stream(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        body: BodyFactory | None = None,
        headers: dict[str, str] | None = None,
        auth: AuthHeader | None = None,
    ) -> Iterator[httpx.Response]:
        """Like ``request``, but the successful answer's body is left to be streamed inside the block."""
        renewed = False
        attempt = 0
        while True:
            request_headers = self._signed(headers or {}, auth)
            content = body() if body is not None else None
            try:
                request = self.client.build_request(
                    method, self.url(path), params=params, json=json, content=content, headers=request_headers
                )
                response = self.client.send(request, stream=True)
            except httpx.TransportError as exc:
                if attempt < self.retries and _may_repeat(method, exc):
                    attempt += 1
                    time.sleep(self._pause(attempt))
                    continue
                raise errors.NetworkError(f"{method} {self.url(path)}: {exc or type(exc).__name__}") from None
            # A request that brings its own credentials (a login, a renewal) takes its 401 as the answer.
            if response.status_code == 401 and not renewed and auth is None and self.on_unauthorized is not None:
                refused = _error_of(response)
                renewed = True
                if self.on_unauthorized():  # a token that expired mid-job, renewed: send again
                    continue
                raise refused
            wait = self._retry_wait(response.status_code, response, attempt)
            if wait is not None:
                response.close()
                attempt += 1
                time.sleep(wait)
                continue
            if response.status_code >= 400:
                raise _error_of(response)
            try:
                yield response
            finally:
                response.close()
            return

    @contextmanager
    def bulk_get(self, path: str, headers: dict[str, str]) -> Iterator[http.client.HTTPResponse]:
        """A GET whose answer is a big body (a version's file), on a connection of the standard library read
        with ``readinto``: httpx hands a body over in 64 KiB pieces, each a new bytes object, which costs
        more than the network on a fast link (bench/README.md). The same retry and renewal rules as
        ``stream``; a broken connection raises ``NetworkError``."""
        parts = urllib.parse.urlsplit(self.url(path))
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        renewed = False
        attempt = 0
        while True:
            connection = self._connection(parts)
            try:
                connection.request("GET", target, headers=self._signed(headers, None))
                response = connection.getresponse()
            except (OSError, http.client.HTTPException) as exc:
                connection.close()
                if attempt < self.retries:
                    attempt += 1
                    time.sleep(self._pause(attempt))
                    continue
                raise errors.NetworkError(f"GET {self.url(path)}: {exc or type(exc).__name__}") from None
            if response.status >= 400:
                refused = _plain_error_of(response)
                connection.close()
                if response.status == 401 and not renewed and self.on_unauthorized is not None:
                    renewed = True
                    if self.on_unauthorized():
                        continue
                wait = self._retry_wait(response.status, response, attempt)
                if wait is not None:
                    attempt += 1
                    time.sleep(wait)
                    continue
                raise refused
            try:
                yield response
            finally:
                connection.close()
            return

    def _connection(self, parts: urllib.parse.SplitResult) -> http.client.HTTPConnection:
        if parts.scheme == "https":
            context = ssl.create_default_context()
            return http.client.HTTPSConnection(parts.hostname or "", parts.port, timeout=self.timeout, context=context)
        return http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=self.timeout)

    def _signed(self, headers: dict[str, str], auth: AuthHeader | None) -> dict[str, str]:
        """``headers`` with this client's ``Authorization`` (or ``auth``'s), when it has one."""
        authorization = (auth or self.auth)()
        return {**headers, "Authorization": authorization} if authorization else dict(headers)

    def _retry_wait(
        self, status: int, response: httpx.Response | http.client.HTTPResponse, attempt: int
    ) -> float | None:
        """Seconds to wait before sending again after a ``status`` that says "not now", or None: not such a
        status, no retries left, or a server asking for longer than ``MAX_RETRY_AFTER`` (down, not busy)."""
        if status not in RETRYABLE_STATUS or attempt >= self.retries:
            return None
        wait = _retry_after(response) or self._pause(attempt + 1)
        return wait if wait <= MAX_RETRY_AFTER else None

    def _pause(self, attempt: int) -> float:
        """Exponential backoff with full jitter, so that many clients do not come back at the same moment."""
        return float(random.uniform(0, self.backoff * 2 ** (attempt - 1)))  # noqa: S311 - not a secret


def _may_repeat(method: str, exc: httpx.TransportError) -> bool:
    # A request that never reached the server can always be sent again; one that may have been acted on
    # only when sending it twice does no harm.
    return method in IDEMPOTENT or isinstance(exc, (httpx.ConnectError, httpx.ConnectTimeout))


def _retry_after(response: httpx.Response | http.client.HTTPResponse) -> float | None:
    value = response.headers.get("Retry-After")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, moment.timestamp() - time.time())


def _error_of(response: httpx.Response) -> errors.RegistryError:
    text = response.read().decode("utf-8", "replace")
    try:
        envelope = response.json()
    except ValueError:
        envelope = None
    finally:
        response.close()
    return errors.from_response(response.status_code, envelope, text)


def _plain_error_of(response: http.client.HTTPResponse) -> errors.RegistryError:
    text = response.read().decode("utf-8", "replace")
    try:
        envelope = json_module.loads(text)
    except ValueError:
        envelope = None
    return errors.from_response(response.status, envelope, text)
