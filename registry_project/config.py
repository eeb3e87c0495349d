"""Typed readers for the registry's configuration.

Every setting comes from the environment (optionally pre-filled from a ``.env`` file, see
``load_env_files``). Each reader rejects nonsense with a ``ConfigurationError`` that names the variable,
so a typo stops the start-up instead of silently running with a default.
"""

from __future__ import annotations

import json
import os
import re
import secrets
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TypeVar, cast

from framework.units import parse_duration, parse_size

N = TypeVar("N", int, float)  # the type of a numeric variable

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}


class ConfigurationError(Exception):
    """A configuration value is malformed; the message names the variable."""


def load_env_files(paths: Iterable[Path]) -> None:
    """Pre-fill the environment from ``.env``-style files; real environment variables win."""
    from dotenv import load_dotenv

    for path in paths:
        if path.is_file():
            load_dotenv(path, override=False)


def _raw(name: str) -> str | None:
    """The variable's value, or the content of the file named by ``<name>_FILE`` (Docker secrets)."""
    value = os.environ.get(name)
    if value is not None and value.strip() != "":
        return value.strip()
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        try:
            return Path(file_name).read_text().strip()
        except OSError as exc:
            raise ConfigurationError(f"{name}_FILE: cannot read {file_name!r} ({exc.strerror})") from exc
    return None


def env_str(name: str, default: str) -> str:
    value = _raw(name)
    return default if value is None else value


def env_optional(name: str) -> str | None:
    return _raw(name)


def env_bool(name: str, default: bool) -> bool:
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(f"{name}: expected true or false, got {value!r}")


def env_int(name: str, default: int, *, minimum: int = 0, maximum: int = 2**31) -> int:
    return _env_number(name, default, int, "a whole number", minimum, maximum)


def env_float(name: str, default: float, *, minimum: float = 0.0, maximum: float = 1e9) -> float:
    return _env_number(name, default, float, "a number such as 1.1", minimum, maximum)


def _env_number(name: str, default: N, convert: Callable[[str], N], expected: str, minimum: N, maximum: N) -> N:
    value = _raw(name)
    if value is None:
        return default
    try:
        number = convert(value)
    except ValueError:
        raise ConfigurationError(f"{name}: expected {expected}, got {value!r}") from None
    if not minimum <= number <= maximum:  # also refuses a float nan
        raise ConfigurationError(f"{name}: {number} is outside {minimum}..{maximum}")
    return number


def env_duration(name: str, default: str) -> int:
    value = _raw(name) or default
    try:
        return parse_duration(value)
    except ValueError:
        raise ConfigurationError(
            f"{name}: expected a positive duration such as 45s, 30m, 1h or 3600, got {value!r}"
        ) from None


def env_size(name: str, default: str, zero_allowed: bool = False) -> int:
    """A size in bytes (``parse_size``); ``zero_allowed``: ``0`` too, for a cache that may be turned off."""
    value = _raw(name) or default
    if zero_allowed and value.strip() == "0":
        return 0
    try:
        return parse_size(value)
    except ValueError:
        raise ConfigurationError(f"{name}: expected a size such as 500M or 10G, got {value!r}") from None


def env_choice(name: str, default: str, choices: Iterable[str]) -> str:
    value = (_raw(name) or default).lower()
    allowed = sorted(choices)
    if value not in allowed:
        raise ConfigurationError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")
    return value


def env_list(name: str) -> list[str]:
    value = _raw(name)
    return [item.strip() for item in value.split(",") if item.strip()] if value else []


def env_slug(name: str, default: str) -> str:
    value = env_str(name, default)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", value):
        raise ConfigurationError(f"{name}: expected letters, digits, '-' or '_' (at most 64), got {value!r}")
    return value


def writable_directory(name: str, path: Path) -> Path:
    """``path`` (the value of variable ``name``), created if missing; a ``ConfigurationError`` naming the
    variable unless this process can create files in it. Tried by writing, not by ``os.access``: a read-only
    mount, a full disk or a file in the way all fail the same way then."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-probe.{os.getpid()}.{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise ConfigurationError(
            f"{name}: {path} is not a folder this user (uid {os.getuid()}) can write to ({exc.strerror}).\n"
            f"Create it and give this user write access, or set {name} to another folder."
        ) from None
    return path


MIN_DISTINCT_CHARACTERS = 8  # "aaaaaaaa…" is long and still guessable


class SecretStore:
    """Secrets generated once and kept in the data directory (``secrets.json``, mode 0600).

    Every process (each gunicorn worker, each ``manage.py`` call) must agree on the same generated values,
    so the file is created atomically: the first process to link its file in place wins and the others
    read what it wrote.
    """

    def __init__(self, path: Path) -> None:
        self.path = path

    def is_generated(self, name: str) -> bool:
        """True when the value comes from this store rather than from the environment."""
        return env_optional(name) is None

    def get(self, name: str, generate_bytes: int = 32, *, minimum_length: int = 0) -> str:
        """The secret ``name``: the operator's (which must be at least ``minimum_length`` characters of some
        variety), else one generated once for this data directory."""
        given = env_optional(name)
        if given is not None:
            if len(given) < minimum_length or len(set(given)) < MIN_DISTINCT_CHARACTERS:
                raise ConfigurationError(
                    f"{name}: too weak; use at least {minimum_length} random characters, for example "
                    f"`python3 -c 'import secrets; print(secrets.token_urlsafe({generate_bytes}))'`, "
                    "or leave it unset and one is generated"
                )
            return given
        stored = self._read()
        if name not in stored:
            stored = self._add(name, secrets.token_urlsafe(generate_bytes))
        return stored[name]

    def _read(self) -> dict[str, str]:
        try:
            return cast(dict[str, str], json.loads(self.path.read_text()))  # written by ``_add``
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            raise ConfigurationError(f"cannot read the secrets file {self.path}: {exc}") from exc

    def _add(self, name: str, value: str) -> dict[str, str]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        for _attempt in range(5):
            current = self._read()
            if name in current:
                return current
            updated = {**current, name: value}
            temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.{secrets.token_hex(4)}")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                json.dump(updated, handle, indent=2)
            try:
                if current:
                    os.replace(temporary, self.path)
                else:
                    os.link(temporary, self.path)  # fails if another process created it first
                    os.unlink(temporary)
            except FileExistsError:
                os.unlink(temporary)
                continue
            return updated
        return self._read()
