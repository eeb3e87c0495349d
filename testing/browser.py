"""Browser tests: the registry served on a free loopback port, and Debian's Chromium driven by Playwright.

Playwright's own browser download does not work here (and is not wanted): the tests launch
``/usr/bin/chromium`` (``scripts/ensure-chromium.sh`` installs Debian's package when it is missing).
"""

from __future__ import annotations

import os
import shutil
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.core.handlers.wsgi import WSGIHandler
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler

from testing.servers import free_port

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


class InFlight:
    """The WSGI application, counting its requests until their response is closed.

    Django's ``request_finished`` runs when the server closes a response, after the client may already have
    read it, and it touches the databases. A test that ends meanwhile (a browser moving on, a fuzzer timing
    out) would have its databases dropped under that request: the test's teardown waits here first.
    """

    def __init__(self, application: Callable[..., Any]) -> None:
        self.application = application
        self.active = 0
        self.changed = threading.Condition()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        with self.changed:
            self.active += 1
        try:
            return _ClosedThenDone(self.application(environ, start_response), self._done)
        except BaseException:
            self._done()
            raise

    def _done(self) -> None:
        with self.changed:
            self.active -= 1
            self.changed.notify_all()

    def wait_until_idle(self, timeout: float = 30) -> bool:
        with self.changed:
            return self.changed.wait_for(lambda: self.active == 0, timeout)


class _ClosedThenDone:
    def __init__(self, response: Iterable[bytes], done: Callable[[], None]) -> None:
        self.response = response
        self.done = done

    def __iter__(self) -> Iterator[bytes]:
        return iter(self.response)

    def close(self) -> None:
        try:
            close = getattr(self.response, "close", None)
            if close is not None:
                close()
        finally:
            self.done()


_running: list[InFlight] = []


def wait_for_live_requests() -> None:
    """Block until every live server's requests have finished (a test's teardown calls it)."""
    for application in _running:
        application.wait_until_idle()


@contextmanager
def live_server() -> Iterator[str]:
    """The whole registry (pages, API, static files through whitenoise) on ``http://127.0.0.1:<port>``."""
    port = free_port()
    server = ThreadedWSGIServer(("127.0.0.1", port), _QuietHandler, allow_reuse_address=True)
    server.daemon_threads = True
    application = InFlight(WSGIHandler())
    server.set_app(application)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _running.append(application)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        _running.remove(application)
        server.shutdown()
        server.server_close()


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() or shutil.which("chromium") is not None


@contextmanager
def chromium() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the ORM calls the tests make beside it
    # are still synchronous, so Django's "async unsafe" guard is lifted for the browser tests only.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: object, name: str) -> Path:
    """Keep a picture of the page for reviewers (test-artifacts/ is git-ignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)  # type: ignore[attr-defined]
    return path
