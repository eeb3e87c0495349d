"""Python client of the Model Registry: ``Registry`` for scripts, ``mreg`` on the command line."""

from registry_client.client import Registry
from registry_client.errors import (
    Conflict,
    DigestMismatch,
    Forbidden,
    InvalidRequest,
    NetworkError,
    NotFound,
    RegistryError,
    Unauthorized,
)
from registry_client.types import Item, Ref, Version

__version__ = "0.1.0"
__all__ = [
    "Conflict",
    "DigestMismatch",
    "Forbidden",
    "InvalidRequest",
    "Item",
    "NetworkError",
    "NotFound",
    "Ref",
    "Registry",
    "RegistryError",
    "Unauthorized",
    "Version",
]
