"""Start-up checks: a problem the operator can fix ends the start in a line or two that name the setting and
the fix (a ``StartupProblem``, which ``bootstrap`` and ``gunicorn.conf.py`` print without a traceback before
exiting with status 1, as ``manage.py`` does for a ``ConfigurationError``).

``manage.py bootstrap`` (and so ``make run``) runs ``run_checks`` before anything else: the catalog's
database server (reachable, the role accepted and allowed to create databases; the catalog database created
on PostgreSQL when missing) and the blob storage (the S3 endpoint reachable, the credentials accepted, the
bucket there or created). ``DATA_DIR`` and ``UPLOAD_PATH`` are checked where the settings create folders in
them (``registry_project.config.writable_directory``), since every process needs them. The listening port is checked by
gunicorn's ``on_starting`` hook (``gunicorn.conf.py``: ``check_port_free``), at the moment the server binds
it: a check in ``bootstrap`` could pass and the port be taken before gunicorn starts, and ``bootstrap`` also
runs beside a serving registry (upgrades). Engine specifics live in ``tenants_app.databases``.
"""

from __future__ import annotations

import errno
import socket


class StartupProblem(Exception):
    """The registry cannot start as configured; the message names the setting and the fix."""


def run_checks() -> list[str]:
    """Every check of ``bootstrap``, in order; the lines to print about what was done (a catalog created)."""
    lines = []
    if check_database():
        lines.append("created the catalog database on first start")
    check_storage()
    return lines


def check_database() -> bool:
    """The catalog's server serves this registry; True when the catalog database was created just now."""
    from tenants_app import databases

    try:
        return databases.ensure_catalog()
    except databases.CatalogUnavailable as exc:
        raise StartupProblem(str(exc)) from None


def check_storage() -> None:
    """The upload folders exist (created) and, with ``STORAGE=s3``, the bucket answers to our credentials
    (created when missing, as ``storage.ensure_ready`` does)."""
    from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

    from framework.files import storage

    try:
        storage.ensure_ready()
    except OSError as exc:
        raise StartupProblem(f"UPLOAD_PATH: cannot create the upload folders ({exc})") from None
    except NoCredentialsError:
        raise StartupProblem(
            "AWS_ACCESS_KEY_ID: no S3 credentials were found.\n"
            "Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (or the usual boto3 credentials chain)."
        ) from None
    except ClientError as exc:
        raise _s3_refusal(exc, _s3_options()) from None
    except BotoCoreError as exc:  # the endpoint cannot be reached: refused, unknown host, timeout
        endpoint = _s3_options().get("endpoint_url") or "AWS S3"
        raise StartupProblem(
            f"AWS_S3_ENDPOINT_URL: the S3 service at {endpoint} cannot be reached ({exc}).\n"
            "Start it, or fix AWS_S3_ENDPOINT_URL."
        ) from None


def _s3_options() -> dict[str, str]:
    from django.conf import settings

    options: dict[str, str] = settings.STORAGES["blobs"].get("OPTIONS", {})  # type: ignore[attr-defined]
    return options


# What S3 services answer to an unknown key, a wrong secret or a key without rights on the bucket.
_REFUSED_CREDENTIALS = {"403", "AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "InvalidToken"}


def _s3_refusal(exc: Exception, options: dict[str, str]) -> StartupProblem:
    error = getattr(exc, "response", {}).get("Error", {})
    code = str(error.get("Code", "?"))
    endpoint = options.get("endpoint_url") or "AWS S3"
    if code in _REFUSED_CREDENTIALS or code.startswith("ExpiredToken"):
        return StartupProblem(
            f"AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY: {endpoint} refused them for bucket "
            f"{options['bucket_name']!r} ({code}).\nFix the credentials, or give that key access to the bucket."
        )
    return StartupProblem(
        f"AWS_STORAGE_BUCKET_NAME: bucket {options['bucket_name']!r} at {endpoint} is missing and could not be "
        f"created ({code}: {error.get('Message', '')}).\nCreate it, or fix AWS_STORAGE_BUCKET_NAME."
    )


def check_port_free(host: str, port: int, setting: str) -> None:
    """Nothing listens on ``host:port`` yet: else gunicorn would retry for five seconds and stop with lines of
    its own that name neither the setting nor the fix."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # as gunicorn binds: a connection of a previous run in TIME_WAIT is no conflict
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise _bind_problem(exc, host, port, setting) from None


def _bind_problem(exc: OSError, host: str, port: int, setting: str) -> StartupProblem:
    if exc.errno == errno.EADDRINUSE:
        return StartupProblem(
            f"{setting}: port {port} on {host} is already in use (another registry or program listens there).\n"
            f"Stop it, or choose another port with {setting}."
        )
    if exc.errno == errno.EACCES:
        return StartupProblem(
            f"{setting}: port {port} needs privileges this user lacks.\n"
            f"Choose a port above 1023 with {setting}, behind a proxy for 80/443."
        )
    return StartupProblem(
        f"BIND_ADDRESS: cannot listen on {host}:{port} ({exc.strerror}).\n"
        "Set BIND_ADDRESS to an address of this machine (127.0.0.1, or 0.0.0.0 for every interface)."
    )
