"""The import's report: one line for every record the importer changed or left out, and why.

Records that come over as they were get no line of their own; the totals at the end count them. The same
report is printed with ``--dry-run``, which writes nothing.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Line:
    """``users 65f0c… (bob): email '@' is not an e-mail address; imported without one``."""

    collection: str
    record: str
    message: str

    def __str__(self) -> str:
        return f"{self.collection} {self.record}: {self.message}"


@dataclass
class Report:
    lines: list[Line] = field(default_factory=list)
    totals: Counter[str] = field(default_factory=Counter)

    def note(self, collection: str, record: str, message: str) -> None:
        self.lines.append(Line(collection, record, message))

    def count(self, what: str, n: int = 1) -> None:
        self.totals[what] += n

    def rendered(self) -> list[str]:
        summary = ", ".join(f"{n} {what}" for what, n in self.totals.items())
        return [*(str(line) for line in self.lines), f"totals: {summary or 'nothing'}"]
