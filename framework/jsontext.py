"""JSON from clients, read with bounds: every body, filter and JSON field the registry takes goes through here.

Python's ``json`` accepts what the registry must not: ``NaN`` and ``Infinity``, numbers of any length (one
past ``float``'s range becomes ``inf``; 4,300 digits and more raise a ``ValueError``), nesting until the
interpreter's recursion limit (then a ``RecursionError``), lone surrogates (``"\\ud800"``, which no database
can encode) and NUL characters (which PostgreSQL refuses in text). Each became a 500 somewhere; here each is
an ``Unreadable`` whose message names the problem, which the callers turn into their 400.
"""

from __future__ import annotations

import json
import math
from typing import Any

MAX_DEPTH = 32  # arrays and objects inside each other; the deepest the API's own shapes go is 6
MAX_NUMBER_LENGTH = 100  # characters of one number literal: far more than any metric needs


class Unreadable(ValueError):
    """Text that is not JSON the registry takes; the message says why."""


def loads(text: str | bytes) -> Any:
    """The JSON value of ``text``, or ``Unreadable``."""
    try:
        document = json.loads(text, parse_constant=_constant, parse_int=_integer, parse_float=_decimal)
    except json.JSONDecodeError as exc:
        raise Unreadable(f"{exc.msg} at position {exc.pos}") from None
    except RecursionError:
        raise Unreadable(f"nested deeper than {MAX_DEPTH} levels") from None
    except UnicodeDecodeError:
        raise Unreadable("not UTF-8 text") from None
    check(document)
    return document


def check(document: Any) -> None:
    """Refuse nesting past ``MAX_DEPTH`` and strings (values or keys) with a lone surrogate or a NUL."""
    pending: list[tuple[Any, int]] = [(document, 0)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, str):
            _check_text(value)
        elif isinstance(value, dict | list):
            if depth >= MAX_DEPTH:
                raise Unreadable(f"nested deeper than {MAX_DEPTH} levels")
            children = list(value.items()) if isinstance(value, dict) else [(None, item) for item in value]
            for key, child in children:
                if key is not None:
                    _check_text(key)
                pending.append((child, depth + 1))


def _check_text(text: str) -> None:
    if "\x00" in text:
        raise Unreadable(f"a string contains a NUL character (\\u0000): {_shown(text)}")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise Unreadable(f"a string contains a lone surrogate (such as \\ud800): {_shown(text)}") from None


def _shown(text: str) -> str:
    return ascii(text[:40])


def _constant(name: str) -> Any:
    raise Unreadable(f"{name} is not a JSON number")


def _integer(literal: str) -> int:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise Unreadable(f"a number of {len(literal)} characters; at most {MAX_NUMBER_LENGTH}")
    return int(literal)


def _decimal(literal: str) -> float:
    if len(literal) > MAX_NUMBER_LENGTH:
        raise Unreadable(f"a number of {len(literal)} characters; at most {MAX_NUMBER_LENGTH}")
    value = float(literal)
    if not math.isfinite(value):
        raise Unreadable(f"{literal[:40]} is too large for a number")
    return value
