"""gunicorn settings used by `make run` and in production (docs/operations.md).

Worker class: ``gthread``, because a sync worker answers its arbiter's heartbeat from the thread that
serves the request, so a long upload or download on a slow link outlives ``timeout`` and is killed; with
threads the heartbeat comes from the worker's main loop while request threads stream. Our subclass
(``registry_project.server.workers``) also spreads keep-alive connections evenly over the workers.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from registry_project.config import env_choice, env_int, env_str, load_env_files

BASE_DIR = Path(__file__).resolve().parent
load_env_files([BASE_DIR / ".env", BASE_DIR / "variables.env"])

_protocol = env_choice("PROTOCOL", "http", {"http", "https"})
_host = env_str("BIND_ADDRESS", "127.0.0.1")
_port = env_int("HTTPS_PORT", 8443) if _protocol == "https" else env_int("HTTP_PORT", 8000)

bind = [f"[{_host}]:{_port}" if ":" in _host else f"{_host}:{_port}"]
wsgi_app = "registry_project.wsgi:application"
worker_class = "registry_project.server.workers.BalancedThreadWorker"
workers = env_int("WEB_CONCURRENCY", 2, minimum=1)
threads = env_int("GUNICORN_THREADS", 8, minimum=1)
timeout = env_int("GUNICORN_TIMEOUT", 120, minimum=10)
graceful_timeout = 30
keepalive = 5
accesslog = "-"
errorlog = "-"
# Never log request headers: the Authorization header carries tokens.
access_log_format = '%(h)s "%(r)s" %(s)s %(b)s %(M)sms %(p)s'
# The runtime control socket lives in the user's home by default and would be shared by every
# installation on the machine; the registry is managed by restarting, so it is off.
control_socket_disable = True
forwarded_allow_ips = env_str("FORWARDED_ALLOW_IPS", "")  # no proxy is trusted unless configured

if _protocol == "https":
    certfile = env_str("TLS_CERTFILE", str(BASE_DIR / "resources" / "fullchain.pem"))
    keyfile = env_str("TLS_KEYFILE", str(BASE_DIR / "resources" / "privkey.pem"))
    if not (os.path.exists(certfile) and os.path.exists(keyfile)):
        sys.exit("PROTOCOL=https needs resources/fullchain.pem and resources/privkey.pem (manage.py selfsigned)")
    from registry_project.server.workers import ssl_context  # noqa: F401  # handshakes bounded in time


def on_starting(server: object) -> None:
    """Before binding: a port in use ends the start in one line naming the setting, instead of gunicorn's
    five retries and "Can't connect" (tenants_app/preflight.py)."""
    from tenants_app.preflight import StartupProblem, check_port_free

    ports = [(_port, "HTTPS_PORT" if _protocol == "https" else "HTTP_PORT")]
    if _protocol == "https" and os.environ.get("HTTP_PORT"):
        ports.append((env_int("HTTP_PORT", 8000), "HTTP_PORT"))  # the redirect listener of when_ready
    try:
        for port, setting in ports:
            check_port_free(_host, port, setting)
    except StartupProblem as exc:
        sys.exit(f"configuration error: {exc}")


def when_ready(server: object) -> None:
    """With PROTOCOL=https and HTTP_PORT set, plain HTTP on HTTP_PORT answers with a redirect to HTTPS."""
    if _protocol == "https" and os.environ.get("HTTP_PORT"):
        from registry_project.server.redirect import serve_redirects

        serve_redirects(_host, env_int("HTTP_PORT", 8000), _port)
