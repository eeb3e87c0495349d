"""Checking the password hashes of the original registry's users, so that they keep their passwords.

The original registry hashed passwords with bcryptjs (``$2a$``/``$2b$``, cost 8). The importer stores those
hashes as Django encodes a bcrypt hash, ``bcrypt$<hash>``. This hasher comes after Argon2 in
``PASSWORD_HASHERS``: it only ever checks such a hash, and at the user's next successful login Django
re-hashes the password with the first hasher (Argon2) and the bcrypt hash is gone.
"""

from __future__ import annotations

from typing import Any

import bcrypt
from django.contrib.auth.hashers import BCryptPasswordHasher

BCRYPT_MAX_BYTES = 72


class SeedBCryptPasswordHasher(BCryptPasswordHasher):
    """Django's bcrypt hasher, reading a password as bcryptjs did: its first 72 bytes (UTF-8).

    bcryptjs ignored the bytes after the 72nd; bcrypt 5 refuses such a password instead of ignoring them,
    which would fail the login of a user whose long password the original registry accepted.
    """

    def encode(self, password: str, salt: Any) -> str:
        hashed = bcrypt.hashpw(password.encode()[:BCRYPT_MAX_BYTES], salt)
        return f"{self.algorithm}${hashed.decode('ascii')}"
