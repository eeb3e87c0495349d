"""Identifiers handed out by the registry."""

from __future__ import annotations

import re
import secrets

OBJECT_ID = re.compile(r"^[0-9a-f]{24}$")


def new_object_id() -> str:
    """A random 24-hex identifier: shaped like a MongoDB ObjectId, but opaque and non-sequential."""
    return secrets.token_hex(12)


def looks_like_object_id(value: str) -> bool:
    return bool(OBJECT_ID.match(value))
