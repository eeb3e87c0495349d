"""What a version's file says about itself (contract §9.6), read once when the file is stored.

Every way a version arrives (one-request uploads, tus, direct S3, the seed importer, the demo) goes through
``versions.add_version``, which stores the blob, asks ``facts_for`` and only then records the row: a
tenant that refuses dangerous files answers 422 before anything is recorded, and the blob is released as
for any other refusal. The readers (``items_app.inspection``) read headers only, through a seekable file
(``framework.files.blobreader``: the file on local disk, ranged reads with a read-ahead buffer on S3).

Inspection never fails an upload: any exception of a reader, or one running longer than
``INSPECT_TIMEOUT``, is logged and the version is stored with format "unknown" and the reason. A file whose
bytes are already stored (same SHA-256) reuses the facts of an earlier version of them.
"""

from __future__ import annotations

import importlib
import logging
import re
import threading
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db.models import F
from django.utils import timezone

from framework.errors import Unprocessable
from framework.files import storage
from framework.files.blobreader import open_blob
from items_app import generation
from items_app.models import Item, TenantSettings, Version


def _readers() -> Any:
    """``items_app.inspection``, the pure readers (``inspect_file(file, size, filename)`` → ``Inspection``),
    imported on first use."""
    return importlib.import_module("items_app.inspection")


logger = logging.getLogger("registry.inspection")

UNKNOWN = "unknown"
NOT_APPLICABLE = "not_applicable"
WARNED = ("suspicious", "dangerous")  # the safety values a download and the item page warn about
NOT_INSPECTED = "not inspected yet: stored before files were inspected (manage.py inspect_versions)"
UNFINISHED = ("internal:", "not inspected")  # reasons of an inspection that may give facts another time
MAX_HEADER_GLOBALS = 1000  # characters of X-Registry-Safety-Globals
_HEADER_UNSAFE = re.compile(r"[^A-Za-z0-9_.:<>-]")


@dataclass(frozen=True)
class Facts:
    """A file's inspection as a version keeps it."""

    format: str
    facts: dict[str, Any]
    safety: str
    safety_globals: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, inspection: Any) -> Facts:
        """From the readers' ``Inspection`` (format, facts, safety, safety_globals)."""
        return cls(inspection.format, dict(inspection.facts), inspection.safety, list(inspection.safety_globals))

    @classmethod
    def failed(cls, reason: str) -> Facts:
        return cls(UNKNOWN, {"reason": reason}, NOT_APPLICABLE, [])

    def fields(self) -> dict[str, Any]:
        """The version's columns: the document's four fields, the typed parameter count, when."""
        return {
            "format": self.format,
            "facts": self.facts,
            "safety": self.safety,
            "safety_globals": self.safety_globals,
            "parameters": parameters_of(self.facts),
            "inspected": timezone.now(),
        }


def parameters_of(facts: dict[str, Any]) -> int | None:
    """``facts["parameters"]`` when it is a whole number a BigInteger column holds, else None."""
    value = facts.get("parameters")
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63:
        return value
    return None


def facts_for(sha256: str, key: str, size: int, filename: str) -> Facts:
    """The facts of a stored blob: those of an earlier version of the same bytes, or read now."""
    earlier = Version.objects.filter(blob_id=sha256, inspected__isnull=False).values(
        "format", "facts", "safety", "safety_globals"
    )
    for row in earlier[:5]:
        if not str(row["facts"].get("reason", "")).startswith(UNFINISHED):
            return Facts(**row)
    return inspect_stored(key, size, filename)


def inspect_stored(key: str, size: int, filename: str) -> Facts:
    """Read the blob at ``key``; never raises, never takes much longer than ``INSPECT_TIMEOUT``."""
    if not settings.INSPECT_UPLOADS:
        return Facts.failed("not inspected: inspection is off on this registry (INSPECT_UPLOADS)")
    outcome: dict[str, Any] = {}

    def run() -> None:
        try:
            with open_blob(key, size) as file:
                outcome["inspection"] = _readers().inspect_file(file, size, filename)
        except BaseException as exc:  # a reader's failure is reported, never raised
            outcome["error"] = exc

    # A thread, so that a pathological file cannot hold the request: past the timeout the version is stored
    # without facts, and the thread ends at the readers' own bounds (its file is closed when it does).
    reader = threading.Thread(target=run, name=f"inspect {key}", daemon=True)
    reader.start()
    reader.join(settings.INSPECT_TIMEOUT)
    if reader.is_alive():
        logger.warning("inspection of %s (%s) timed out after %s s", key, filename, settings.INSPECT_TIMEOUT)
        return Facts.failed(f"internal: timed out after {settings.INSPECT_TIMEOUT} s")
    if "error" in outcome:
        error = outcome["error"]
        logger.warning("inspection of %s (%s) failed", key, filename, exc_info=error)
        return Facts.failed(f"internal: {type(error).__name__}")
    return Facts.of(outcome["inspection"])


def refuses_dangerous() -> bool:
    row = TenantSettings.objects.filter(pk=1).values_list("refuse_dangerous_uploads", flat=True).first()
    return bool(row)


def check_allowed(facts: Facts) -> None:
    """Refuse (422) a dangerous file when the tenant says so, naming the globals that make it dangerous."""
    if facts.safety == "dangerous" and refuses_dangerous():
        names = ", ".join(facts.safety_globals[:20]) or "(unnamed)"
        raise Unprocessable(
            f"file: it is dangerous (its pickles import {names}, which can run code when it is loaded); this "
            "tenant refuses dangerous uploads (settings: refuse_dangerous_uploads)"
        )


def document_fields(version: Version) -> dict[str, Any]:
    """The four fields of contract §9.6 in a version's document."""
    facts = version.facts if version.inspected is not None else {**version.facts, "reason": NOT_INSPECTED}
    return {
        "format": version.format,
        "facts": facts,
        "safety": version.safety,
        "safety_globals": list(version.safety_globals),
    }


def safety_headers(version: Version) -> dict[str, str]:
    """``X-Registry-Safety`` (and the globals, bounded, header-safe) of a download warned about."""
    if version.safety not in WARNED:
        return {}
    names = [_HEADER_UNSAFE.sub("?", str(name)) for name in version.safety_globals]
    text = ", ".join(names)
    if len(text) > MAX_HEADER_GLOBALS:
        text = text[: MAX_HEADER_GLOBALS - 3].rsplit(", ", 1)[0] + ", ..."
    headers = {"X-Registry-Safety": version.safety}
    if text:
        headers["X-Registry-Safety-Globals"] = text
    return headers


@dataclass
class Filled:
    """What ``inspect_versions`` did in one tenant."""

    blobs: int = 0
    versions: int = 0
    formats: dict[str, int] = field(default_factory=dict)
    warned: int = 0  # versions found suspicious or dangerous


def inspect_versions(tenant_id: str, *, only_missing: bool = True) -> Filled:
    """Inspect stored versions of the active tenant (those never inspected, or all), one blob at a time and
    streaming as an upload does; every version of a blob gets its facts. Cached documents follow: each
    changed item's revision is bumped (not its ``lastmod``: nobody changed it)."""
    filled = Filled()
    chosen = Version.objects.filter(inspected__isnull=True) if only_missing else Version.objects.all()
    blobs = chosen.order_by("blob_id").values_list("blob_id", flat=True).distinct()
    for sha256 in list(blobs.iterator()):
        first = chosen.filter(blob_id=sha256).order_by("timestamp").values("original", "size").first()
        if first is None:  # deleted meanwhile
            continue
        key = storage.blob_key(tenant_id, sha256)
        facts = inspect_stored(key, first["size"], first["original"])
        with generation.changing("versions"):
            rows = chosen.filter(blob_id=sha256)
            items = list(rows.values_list("item_id", flat=True).distinct())
            count = rows.update(**facts.fields())
            Item.objects.filter(pk__in=items).update(revision=F("revision") + 1)
        filled.blobs += 1
        filled.versions += count
        filled.formats[facts.format] = filled.formats.get(facts.format, 0) + count
        if facts.safety in WARNED:
            filled.warned += count
    return filled
