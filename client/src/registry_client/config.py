"""Where the client finds the registry and its credentials: arguments, then environment, then a profile.

The profile file is an INI file (``configparser``, so Python 3.9 needs nothing more), one section per
profile, written with mode 0600 because it holds a secret:

    [default]
    url = https://registry.example.org
    tenant = acme
    key = mrk_acme.6650…

Its place: ``$REGISTRY_CONFIG``, else ``$XDG_CONFIG_HOME/model-registry/config.ini``, else
``~/.config/model-registry/config.ini``. The environment: ``REGISTRY_URL``, ``REGISTRY_TENANT``,
``REGISTRY_KEY``, ``REGISTRY_PROFILE``, and ``REGISTRY_API_TOKEN`` for tenant management.
"""

from __future__ import annotations

import configparser
import os
from dataclasses import dataclass, replace
from pathlib import Path

from registry_client.errors import ConfigurationError

DEFAULT_PROFILE = "default"
FIELDS = ("url", "tenant", "key", "api_token")


@dataclass(frozen=True)
class Settings:
    """What one client needs: where the registry is and how to authenticate. Empty values are unknown."""

    url: str = ""
    tenant: str = ""
    key: str = ""
    api_token: str = ""

    def overridden_by(self, **values: str | None) -> Settings:
        """These settings with every given (non-empty) value replacing ours."""
        return replace(self, **{name: value for name, value in values.items() if value})


def config_path() -> Path:
    explicit = os.environ.get("REGISTRY_CONFIG")
    if explicit:
        return Path(explicit).expanduser()
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "model-registry" / "config.ini"


def profile_name(name: str | None = None) -> str:
    return name or os.environ.get("REGISTRY_PROFILE") or DEFAULT_PROFILE


def _read_config(path: Path) -> configparser.ConfigParser:
    parser = configparser.ConfigParser(interpolation=None)
    try:
        parser.read(path, encoding="utf-8")
    except (configparser.Error, UnicodeDecodeError) as exc:
        raise ConfigurationError(f"{path}: not a readable profile file ({exc})") from None
    return parser


def from_profile(name: str | None = None) -> Settings:
    """The named profile's settings (empty when the file or the section does not exist)."""
    section = profile_name(name)
    parser = _read_config(config_path())
    if not parser.has_section(section):
        return Settings()
    return Settings(**{field: parser.get(section, field, fallback="") for field in FIELDS})


def from_environment() -> Settings:
    return Settings(
        url=os.environ.get("REGISTRY_URL", ""),
        tenant=os.environ.get("REGISTRY_TENANT", ""),
        key=os.environ.get("REGISTRY_KEY", ""),
        api_token=os.environ.get("REGISTRY_API_TOKEN", ""),
    )


def resolve(profile: str | None = None, **arguments: str | None) -> Settings:
    """Arguments win over the environment, which wins over the profile."""
    return from_profile(profile).overridden_by(**vars(from_environment())).overridden_by(**arguments)


def save_profile(settings: Settings, name: str | None = None) -> Path:
    """Write (or replace) one profile, keeping the others; the file is readable by its owner only."""
    path = config_path()
    section = profile_name(name)
    parser = _read_config(path)
    if not parser.has_section(section):
        parser.add_section(section)
    for field in FIELDS:
        value = getattr(settings, field)
        if value:
            parser.set(section, field, value)
        else:
            parser.remove_option(section, field)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    # Created 0600 before a byte is written: the secret is never readable by others, not even briefly.
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as output:
        parser.write(output)
    os.chmod(partial, 0o600)  # an older file of that name may have had wider permissions
    os.replace(partial, path)
    return path
