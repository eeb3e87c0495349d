"""SQLite evaluates REGEXP with RE2 instead of Python's backtracking ``re``.

Django registers a REGEXP function on every SQLite connection using ``re``, whose worst case is
exponential. The filter language lets clients send ``$regex``, so every SQLite connection gets a
linear-time implementation instead (RE2 also rejects backreferences and lookaround at compile time).
"""

from __future__ import annotations

import functools
from typing import Any

import re2


@functools.lru_cache(maxsize=256)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern)


def _regexp(pattern: str | None, value: Any) -> bool | None:
    if pattern is None or value is None:
        return None
    try:
        return _compiled(pattern).search(str(value)) is not None
    except re2.error:
        return False


def use_re2_for_regexp(sender: Any, connection: Any, **kwargs: Any) -> None:
    if connection.vendor == "sqlite":
        connection.connection.create_function("REGEXP", 2, _regexp, deterministic=True)
