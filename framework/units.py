"""Durations and sizes as people write them (``30m``, ``10G``): read by the configuration and the commands."""

from __future__ import annotations

import re

_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$", re.IGNORECASE)
# Binary units, as the contract says: 4M is 4 MiB.
_SIZE_UNITS = {"": 1, "b": 1, "k": 1024, "m": 1024**2, "g": 1024**3, "t": 1024**4}
_SIZE = re.compile(r"^\s*(\d+)\s*([kmgt]?)(?:i?b)?\s*$", re.IGNORECASE)


def parse_duration(text: str) -> int:
    """Seconds in ``30m``, ``1h``, ``45s``, ``2d`` or a plain number of seconds."""
    match = _DURATION.match(text)
    if not match:
        raise ValueError(text)
    seconds = int(match.group(1)) * _DURATION_UNITS[match.group(2).lower()]
    if seconds <= 0:
        raise ValueError(text)
    return seconds


def parse_size(text: str) -> int:
    """Bytes in ``10G``, ``500M``, ``64k``, ``4MiB`` or a plain number of bytes (binary units)."""
    match = _SIZE.match(text)
    if not match:
        raise ValueError(text)
    size = int(match.group(1)) * _SIZE_UNITS[match.group(2).lower()]
    if size <= 0:
        raise ValueError(text)
    return size
