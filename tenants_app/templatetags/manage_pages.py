"""Template filters of the /manage/ pages."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def compact_json(value: Any) -> str:
    """An audit entry's ``details`` as one line of JSON (escaped by the template like any text)."""
    return json.dumps(value, ensure_ascii=False, separators=(", ", ": "), sort_keys=True, default=str)
