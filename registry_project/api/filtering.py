"""The filter language: a safe subset of MongoDB's query syntax, parsed and translated into ORM ``Q`` objects.

Nothing from the client ever reaches a database as text: every field name is looked up in the resource's
whitelist (``FilterField``), every operator in ``_COMPARISONS`` / ``_LOGIC``, and every value is checked
against the field's kind before it becomes an ORM lookup argument. Anything else is a 400
``invalid_filter`` naming the offending field, operator or value.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from registry_project.api.errors import ApiError

FieldKind = Literal["string", "number", "boolean", "datetime"]
MAX_FILTER_LENGTH = 8192
MAX_DEPTH = 8
MAX_REGEX_LENGTH = 128
MAX_IN_VALUES = 100


@dataclass(frozen=True)
class FilterField:
    """One client-visible field: where it lives in the ORM and what kind of values it compares."""

    lookup: str
    kind: FieldKind = "string"
    nullable: bool = False


def invalid(details: str) -> ApiError:
    return ApiError("invalid_filter", details)


def parse_filter_parameter(raw: str | None) -> Any:
    """The ``filter`` query parameter as JSON (empty means no filter)."""
    if raw is None or raw.strip() == "":
        return {}
    if len(raw) > MAX_FILTER_LENGTH:
        raise invalid(f"filter is longer than {MAX_FILTER_LENGTH} characters")
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise invalid(f"filter is not valid JSON ({exc.msg} at position {exc.pos})") from None


class FilterTranslator:
    """Turns one parsed filter document into a ``Q`` over a whitelist of fields."""

    def __init__(self, fields: Mapping[str, FilterField]) -> None:
        self.fields = fields

    def translate(self, document: Any) -> Q:
        if isinstance(document, list):  # a top-level array means $or of its elements
            return self._logic("$or", document, depth=0)
        return self._document(document, depth=0)

    def _document(self, document: Any, depth: int) -> Q:
        if depth > MAX_DEPTH:
            raise invalid(f"filter nests deeper than {MAX_DEPTH} levels")
        if not isinstance(document, dict):
            raise invalid(f"expected a JSON object, got {json.dumps(document)[:80]}")
        query = Q()
        for key, value in document.items():
            if key in _LOGIC:
                query &= self._logic(key, value, depth)
            elif key.startswith("$"):
                raise invalid(f"unknown or forbidden operator {key}")
            else:
                query &= self._field(key, value, depth)
        return query

    def _logic(self, operator: str, value: Any, depth: int) -> Q:
        if not isinstance(value, list) or not value:
            raise invalid(f"{operator} expects a non-empty array of conditions")
        parts = [self._document(item, depth + 1) for item in value]
        combined = parts[0]
        for part in parts[1:]:
            combined = combined | part if operator in ("$or", "$nor") else combined & part
        return ~combined if operator == "$nor" else combined

    def _field(self, name: str, condition: Any, depth: int) -> Q:
        field = self.fields.get(name)
        if field is None:
            raise invalid(f"unknown field {name!r}; filterable fields: {', '.join(sorted(self.fields))}")
        if isinstance(condition, dict) and any(key.startswith("$") for key in condition):
            return self._operators(name, field, condition, depth)
        return self._compare(name, field, "$eq", condition)

    def _operators(self, name: str, field: FilterField, condition: dict[str, Any], depth: int) -> Q:
        if depth > MAX_DEPTH:
            raise invalid(f"filter nests deeper than {MAX_DEPTH} levels")
        query = Q()
        options = condition.get("$options")
        for operator, operand in condition.items():
            if operator == "$options":
                if "$regex" not in condition:
                    raise invalid(f"{name}: $options is only allowed beside $regex")
                continue
            if operator == "$not":
                if not isinstance(operand, dict):
                    raise invalid(f"{name}: $not expects an operator object")
                query &= ~self._operators(name, field, operand, depth + 1)
            elif operator == "$regex":
                query &= self._regex(name, field, operand, options)
            elif operator in _COMPARISONS:
                query &= self._compare(name, field, operator, operand)
            else:
                raise invalid(f"{name}: unknown or forbidden operator {operator}")
        return query

    def _compare(self, name: str, field: FilterField, operator: str, operand: Any) -> Q:
        if operator == "$exists":
            if not isinstance(operand, bool):
                raise invalid(f"{name}: $exists expects true or false")
            if not field.nullable:
                return Q() if operand else Q(pk__in=[])
            return Q(**{f"{field.lookup}__isnull": not operand})
        if operator in ("$in", "$nin"):
            if not isinstance(operand, list) or len(operand) > MAX_IN_VALUES:
                raise invalid(f"{name}: {operator} expects an array of at most {MAX_IN_VALUES} values")
            values = [self._value(name, field, item) for item in operand]
            query = Q(**{f"{field.lookup}__in": values})
            return ~query if operator == "$nin" else query
        value = self._value(name, field, operand)
        if value is None:
            query = Q(**{f"{field.lookup}__isnull": True})
            return ~query if operator == "$ne" else query
        lookup = _COMPARISONS[operator]
        if lookup != "exact" and field.kind == "boolean":
            raise invalid(f"{name}: {operator} does not apply to true/false values")
        query = Q(**{f"{field.lookup}__{lookup}": value})
        return ~query if operator == "$ne" else query

    def _value(self, name: str, field: FilterField, value: Any) -> Any:
        if value is None:
            return None
        check = _VALUE_CHECKS[field.kind]
        converted = check(value)
        if converted is _INVALID:
            raise invalid(f"{name}: expected a {field.kind} value, got {json.dumps(value)[:80]}")
        return converted

    def _regex(self, name: str, field: FilterField, pattern: Any, options: Any) -> Q:
        if field.kind != "string":
            raise invalid(f"{name}: $regex applies to text fields only")
        if not isinstance(pattern, str) or not pattern:
            raise invalid(f"{name}: $regex expects a non-empty string")
        if len(pattern) > MAX_REGEX_LENGTH:
            raise invalid(f"{name}: $regex is longer than {MAX_REGEX_LENGTH} characters")
        if options not in (None, "", "i"):
            raise invalid(f'{name}: $options supports only "i" (case-insensitive)')
        check_safe_regex(name, pattern)
        lookup = "iregex" if options == "i" else "regex"
        return Q(**{f"{field.lookup}__{lookup}": pattern})


def check_safe_regex(name: str, pattern: str) -> None:
    """Accept only patterns a linear-time engine can run: RE2 syntax, so no backreferences or lookaround.

    SQLite evaluates REGEXP with RE2 (see ``registry_project.sqlite``); PostgreSQL's engine runs such
    patterns without backtracking blow-ups, and ``statement_timeout`` bounds it anyway.
    """
    import re2

    try:
        re2.compile(pattern)
    except re2.error as exc:
        raise invalid(f"{name}: $regex is not a supported pattern ({exc})") from None


_INVALID = object()
_COMPARISONS = {
    "$eq": "exact",
    "$ne": "exact",
    "$gt": "gt",
    "$gte": "gte",
    "$lt": "lt",
    "$lte": "lte",
    "$in": "in",
    "$nin": "in",
    "$exists": "isnull",
}
_LOGIC = {"$and", "$or", "$nor"}


def _as_string(value: Any) -> Any:
    return value if isinstance(value, str) else _INVALID


def _as_number(value: Any) -> Any:
    return value if isinstance(value, int | float) and not isinstance(value, bool) else _INVALID


def _as_boolean(value: Any) -> Any:
    return value if isinstance(value, bool) else _INVALID


def _as_datetime(value: Any) -> Any:
    if not isinstance(value, str):
        return _INVALID
    try:
        parsed: datetime | None = parse_datetime(value)
    except ValueError:
        return _INVALID
    return parsed if parsed is not None else _INVALID


_VALUE_CHECKS: dict[str, Callable[[Any], Any]] = {
    "string": _as_string,
    "number": _as_number,
    "boolean": _as_boolean,
    "datetime": _as_datetime,
}
