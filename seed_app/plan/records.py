"""What an import writes: the rows of the new tenant, as the plan describes them before anything is written."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from items_app.related import MetadataValue
from seed_app.report import Report


@dataclass
class NewUser:
    id: str
    username: str
    email: str | None
    role: str
    # bcrypt hashes as Django encodes them ("bcrypt$$2a$08$…"); plain-text passwords as they came, hashed
    # by the importer (``plain``); "" for none (an unusable password).
    password: str
    plain: bool
    timestamp: datetime
    created_password: datetime | None
    validity_days: int | None


@dataclass
class NewEntry:
    """A tag or a metadata name."""

    name: str
    usage: str
    owner_id: str | None
    timestamp: datetime


@dataclass
class NewVersion:
    ordinal: int
    label: str
    original: str
    content_type: str
    description: str
    timestamp: datetime
    source: Path
    size: int


@dataclass
class NewItem:
    id: str
    kind: str
    name: str
    owner_id: str
    status: str
    visibility: str
    timestamp: datetime
    lastmod: datetime
    users: list[str] = field(default_factory=list)
    tags: list[str] = field(default_factory=list)
    metadata: list[MetadataValue] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    versions: list[NewVersion] = field(default_factory=list)
    last_ordinal: int = 0  # the highest number the original registry gave, even to a version left out


@dataclass
class Plan:
    users: list[NewUser]
    tags: list[NewEntry]
    metadata: list[NewEntry]
    items: list[NewItem]
    report: Report

    def sources(self) -> list[Path]:
        """Every file the versions copy, each once."""
        return sorted({version.source for item in self.items for version in item.versions})
