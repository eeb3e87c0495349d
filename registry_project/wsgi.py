"""WSGI entry point used by gunicorn (``gunicorn.conf.py``).

Every gunicorn worker holds its own copy of what it imports, so optional extras that libraries load only
because they are installed, and that a serving worker never uses, are hidden while those libraries look
for them (the memory this saves: bench/README.md, "Server plumbing, re-measured (December 2026)"):
- ``requests``: Django REST framework imports it for its test client (``RequestsClient``) only;
- ``cryptography``: PyJWT imports it for the RSA/EC/EdDSA algorithms; tokens here are signed with HS256
  (``SIMPLE_JWT["ALGORITHM"]`` in settings), which is ``hmac`` from the standard library;
- ``django.contrib.postgres`` (and psycopg with it): DRF maps PostgreSQL-only model fields with it; hidden
  only when the catalog is SQLite, where such fields cannot exist.
Each library imports the extra inside ``try/except ImportError`` and so sees it as not installed; afterwards
the names import normally again for any code that needs them (``registry_project/tests/test_wsgi.py``).
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings")


@contextmanager
def _not_installed(names: list[str]) -> Iterator[None]:
    """Within the block, importing any of ``names`` raises ModuleNotFoundError (a ``None`` in sys.modules)."""
    hidden = [name for name in names if name not in sys.modules]
    for name in hidden:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hidden:
            if sys.modules.get(name, ...) is None:
                del sys.modules[name]


def _extras_a_worker_never_uses() -> list[str]:
    from django.conf import settings

    names = ["requests", "cryptography"]
    if all(database["ENGINE"] != "django.db.backends.postgresql" for database in settings.DATABASES.values()):
        names.append("django.contrib.postgres")
    return names


with _not_installed(_extras_a_worker_never_uses()):
    import jwt.algorithms  # noqa: F401 - decides here which algorithms it offers
    import rest_framework.compat  # noqa: F401 - decides here which optional extras it uses

from django.core.wsgi import get_wsgi_application  # noqa: E402 - after the extras were decided

application = get_wsgi_application()
