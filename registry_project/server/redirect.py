"""Plain HTTP → HTTPS redirects, served by a thread of the gunicorn master when PROTOCOL=https.

TLS and plain HTTP cannot share gunicorn's listeners, and a person typing the host name gets plain HTTP
first; this answers every plain request with a permanent redirect to the same path on the HTTPS port.
"""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


def _handler(https_port: int) -> type[BaseHTTPRequestHandler]:
    class Redirect(BaseHTTPRequestHandler):
        def _redirect(self) -> None:
            host = (self.headers.get("Host") or "localhost").rsplit(":", 1)[0]
            if host.startswith("[") or not host.replace(".", "").replace("-", "").isalnum():
                host = "localhost"  # never echo a strange Host header into Location
            suffix = "" if https_port == 443 else f":{https_port}"
            self.send_response(308 if self.command not in ("GET", "HEAD") else 301)
            self.send_header("Location", f"https://{host}{suffix}{self.path}")
            self.send_header("Content-Length", "0")
            self.end_headers()

        do_GET = do_HEAD = do_POST = do_PUT = do_DELETE = do_PATCH = _redirect

        def log_message(self, format: str, *args: object) -> None:
            pass

    return Redirect


def serve_redirects(host: str, http_port: int, https_port: int) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, http_port), _handler(https_port))
    threading.Thread(target=server.serve_forever, name="https-redirect", daemon=True).start()
    return server
