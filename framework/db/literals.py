"""``field__literal='value'``: an equality with the value written into the SQL, not sent as a parameter.

For a column of a closed set of words on which partial indexes are split (the metadata rows' ``value_type``,
``items_app.models.reader_indexes``). A partial index serves a query only where the planner sees that the
query's condition implies the index's: SQLite needs the index's own condition among the query's, PostgreSQL
a value it knows when it plans; a generic plan of a prepared statement (settings.py: ``prepare_threshold``)
knows none, and would read every row instead. Only words (``[a-z_]+``) are written; anything else is a
programming error, never a value from a client.
"""

from __future__ import annotations

import re
from typing import Any

from django.db.models.lookups import Exact

WORD = re.compile(r"[a-z_]{1,32}")


class LiteralExact(Exact):  # type: ignore[type-arg]  # generic only in the stubs
    """``= 'word'``: an ``Exact`` (so code reading a query's conditions sees an equality) written out."""

    lookup_name = "literal"

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, list[Any]]:
        if not isinstance(self.rhs, str) or not WORD.fullmatch(self.rhs):
            raise ValueError(f"a literal must be a lower-case word, not {self.rhs!r}")
        lhs, params = self.process_lhs(compiler, connection)
        return f"{lhs} = '{self.rhs}'", list(params)
