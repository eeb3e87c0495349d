"""Side-by-side comparison of items: one row per property and per metadata name, one column per item.

Rules (also in docs/pages.md):
- a row is *identical* when every item has the same value (same JSON type and text); a name that some
  items lack is a difference;
- in a row where at least two items have numbers that are not all equal, the best number is marked:
  the highest, unless the name reads as lower-is-better — one of its words (split on anything but letters
  and digits, case-insensitive) is in ``LOWER_IS_BETTER``, e.g. ``val_loss``, ``error_rate``,
  ``p95-latency``, ``RMSE``. A per-row link flips the direction (``flip=<name>`` in the URL).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from items_app import kinds
from items_app.models import Item, Version

LOWER_IS_BETTER = frozenset(
    {"loss", "error", "err", "errors", "latency", "rmse", "mae", "mse", "mape", "wer", "cer", "perplexity",
     "ppl", "time", "duration", "seconds", "ms", "fpr", "fnr", "cost"}
)  # fmt: skip


def lower_is_better_by_name(name: str) -> bool:
    return any(word in LOWER_IS_BETTER for word in re.split(r"[^a-z0-9]+", name.lower()) if word)


@dataclass
class Cell:
    display: str
    key: str | None  # what equality compares; None = the item has no value here
    number: float | None = None
    best: bool = False


@dataclass
class Row:
    label: str
    cells: list[Cell]
    metadata_name: str | None = None
    lower_is_better: bool = False
    flipped: bool = False
    ranked: bool = False  # a best value was marked
    flip_url: str = ""  # the same comparison with this row's direction reversed
    identical: bool = field(init=False)

    def __post_init__(self) -> None:
        keys = {cell.key for cell in self.cells}
        self.identical = len(keys) == 1 and None not in keys


def _cell(value: Any) -> Cell:
    if value is None:
        return Cell("—", None)
    if isinstance(value, bool):
        return Cell("true" if value else "false", f"b:{value}")
    if isinstance(value, int | float):
        return Cell(json.dumps(value), f"n:{json.dumps(value)}", float(value))
    return Cell(str(value), f"s:{value}")


def _rank(row: Row) -> None:
    numbers = [cell.number for cell in row.cells if cell.number is not None]
    if len(numbers) < 2 or len(set(numbers)) == 1:
        return
    best = min(numbers) if row.lower_is_better else max(numbers)
    for cell in row.cells:
        cell.best = cell.number == best
    row.ranked = True


def property_rows(items: Sequence[Item]) -> list[Row]:
    """What every item has, before its metadata. Expects items passed through ``load_related``."""

    def latest(item: Item) -> str | None:
        versions = item.related.versions
        return f"v{versions[-1].ordinal} · {versions[-1].original}" if versions else None

    rows = [
        Row("Kind", [_cell(kinds.get(item.kind).singular) for item in items]),
        Row("Owner", [_cell(item.owner.username) for item in items]),
    ]
    scalars = {scalar.field: scalar for item in items for scalar in kinds.get(item.kind).scalars}
    for scalar in scalars.values():
        rows.append(Row(scalar.label, [_cell(getattr(item, scalar.field) or None) for item in items]))
    rows += [
        Row("Visibility", [_cell(item.visibility) for item in items]),
        Row("Tags", [_cell(", ".join(item.related.tags) or None) for item in items]),
        Row("Latest version", [_cell(latest(item)) for item in items]),
    ]
    return rows


def metadata_rows(items: Sequence[Item], flipped: Iterable[str] = ()) -> list[Row]:
    """One row per metadata name any of the items has (sorted by name), best numbers marked."""
    return rows_of_values([{entry.name: entry.value for entry in item.related.metadata} for item in items], flipped)


def version_property_rows(versions: Sequence[Version]) -> list[Row]:
    """What every version has, before its metadata. Expects versions passed through ``attach_version_rows``."""
    return [
        Row("File", [_cell(version.original) for version in versions]),
        Row("Size (bytes)", [_cell(version.size) for version in versions]),
        Row("SHA-256", [_cell(version.blob_id) for version in versions]),
        Row("Aliases", [_cell(", ".join(f"@{name}" for name in version.alias_names) or None) for version in versions]),
        Row("Description", [_cell(version.description or None) for version in versions]),
        Row("Uploaded by", [_cell(version.owner.username if version.owner_id else None) for version in versions]),  # type: ignore[union-attr]
    ]


def version_metadata_rows(versions: Sequence[Version], flipped: Iterable[str] = ()) -> list[Row]:
    """One row per metadata name any of the versions has: v1 and v2's metrics side by side."""
    return rows_of_values(
        [{entry.name: entry.value for entry in version.metadata_values} for version in versions], flipped
    )


def rows_of_values(values: Sequence[dict[str, Any]], flipped: Iterable[str] = ()) -> list[Row]:
    flipped = set(flipped)
    names = sorted({name for entries in values for name in entries}, key=lambda name: (name.lower(), name))
    rows = []
    for name in names:
        lower = lower_is_better_by_name(name) != (name in flipped)
        row = Row(
            name,
            [_cell(entries.get(name)) for entries in values],
            metadata_name=name,
            lower_is_better=lower,
            flipped=name in flipped,
        )
        _rank(row)
        rows.append(row)
    return rows
