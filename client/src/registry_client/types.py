"""Items and versions as typed objects, and the references that name them.

A reference names an item and, optionally, one of its versions:

- ``grace/resnet50`` — the item ``resnet50`` of user ``grace`` (its latest version where one is needed);
- ``resnet50`` — the caller's own item of that name;
- ``6650c0ffee…`` (24 hex digits) — an item by id;
- ``…@production`` — the version the alias ``production`` points at; ``…@latest`` the highest ordinal;
- ``…@3`` — version 3 (an alias always starts with a letter, so the two never collide);
- ``…@v2.0.0`` — the version labelled ``v2.0.0`` at upload (``push(label=…)``), or else the version whose
  file is named so (``…@model.onnx``). A label that is also a valid alias name (``v2``) is asked for as the
  alias first, then as a label.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Union
from urllib.parse import quote

from registry_client.errors import ConfigurationError

MetadataValue = Union[str, int, float, bool]
ITEM_ID = re.compile(r"^[0-9a-f]{24}$")
ALIAS = re.compile(r"^[a-z][a-z0-9_-]{0,31}$")  # the registry's alias names


def metadata_dict(entries: Any) -> dict[str, MetadataValue]:
    """The API's ``[{"name", "value"}]`` as a dict, in the server's order."""
    return {entry["name"]: entry["value"] for entry in entries or []}


def metadata_list(values: dict[str, MetadataValue] | None) -> list[dict[str, Any]]:
    return [{"name": name, "value": value} for name, value in (values or {}).items()]


@dataclass(frozen=True)
class Version:
    ordinal: int
    original: str
    size: int
    sha256: str
    description: str = ""
    metadata: dict[str, MetadataValue] = field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    label: str | None = None
    owner: str | None = None
    timestamp: str = ""
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, document: dict[str, Any]) -> Version:
        return cls(
            ordinal=int(document["ordinal"]),
            original=document["original"],
            size=int(document["size"]),
            sha256=document["sha256"],
            description=document.get("description") or "",
            metadata=metadata_dict(document.get("metadata")),
            aliases=tuple(document.get("aliases") or ()),
            label=document.get("label"),
            owner=document.get("owner"),
            timestamp=document.get("timestamp", ""),
            document=document,
        )


@dataclass(frozen=True)
class Item:
    id: str
    kind: str  # the URL segment: "models", "datasets", "algorithms"
    name: str
    owner: str
    visibility: str
    tags: tuple[str, ...]
    metadata: dict[str, MetadataValue]
    description: str
    versions: tuple[Version, ...]
    aliases: dict[str, int]
    timestamp: str
    lastmod: str
    document: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, kind: str, document: dict[str, Any]) -> Item:
        return cls(
            id=document["_id"],
            kind=kind,
            name=document["name"],
            owner=document["owner"],
            visibility=document.get("visibility", ""),
            tags=tuple(document.get("tags") or ()),
            metadata=metadata_dict(document.get("metadata")),
            description=document.get("description") or "",
            versions=tuple(Version.of(version) for version in document.get("versions") or ()),
            aliases=dict(document.get("aliases") or {}),
            timestamp=document.get("timestamp", ""),
            lastmod=document.get("lastmod", ""),
            document=document,
        )

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.name}"

    def version_with_sha256(self, sha256: str) -> Version | None:
        return next((version for version in self.versions if version.sha256 == sha256), None)


@dataclass(frozen=True)
class Ref:
    """A parsed reference: an item (by id, or by owner and name) and an optional version."""

    name: str = ""
    owner: str = ""  # "" means the caller
    id: str = ""
    version: str = ""  # "" none given; "3"; "@production"; "@latest"; "v2.0.0" (a label or a file name)

    @classmethod
    def parse(cls, text: str) -> Ref:
        item, at, version = text.partition("@")
        if at and not version:
            raise ConfigurationError(f"{text!r}: nothing after '@' (an alias, 'latest' or a version number)")
        version = f"@{version}" if ALIAS.match(version) else version
        if ITEM_ID.match(item):
            return cls(id=item, version=version)
        owner, slash, name = item.rpartition("/")
        if not name or (slash and not owner) or "/" in owner:
            raise ConfigurationError(f"{text!r}: name an item as owner/name, name, or its 24-hex id")
        return cls(name=name, owner=owner, version=version)

    def with_owner(self, username: str) -> Ref:
        return self if self.owner or self.id else Ref(name=self.name, owner=username, version=self.version)

    def item_path(self, kind: str) -> str:
        """``/v1/<kind>/<id>`` or ``/v1/<kind>/by-name/<owner>/<name>``, each part URL-encoded."""
        if self.id:
            return f"/v1/{kind}/{self.id}"
        return f"/v1/{kind}/by-name/{quote(self.owner, safe='')}/{quote(self.name, safe='')}"

    def version_path(self, kind: str, default: str = "@latest") -> str:
        return f"{self.item_path(kind)}/versions/{quote(self.version or default, safe='@')}"

    def __str__(self) -> str:
        base = self.id or (f"{self.owner}/{self.name}" if self.owner else self.name)
        if not self.version:
            return base
        return f"{base}@{self.version.lstrip('@')}"
