"""The item page's view of what a version's file says about itself (``items_app.facts``): its key facts as
short labelled lines, parameter counts humanised."""

from __future__ import annotations

from typing import Any

from django import template

from items_app.facts import WARNED
from items_app.models import Version

register = template.Library()

MAX_ITEMS = 8  # entries shown of a list or an object fact (inputs, dtypes…); the rest counted
MAX_TEXT = 120


@register.filter
def parameter_count(value: Any) -> str:
    """7241732096 → "7.24 B", 124439808 → "124 M", 1234 → "1,234"."""
    if not isinstance(value, int) or isinstance(value, bool):
        return ""
    for size, unit in ((10**12, "T"), (10**9, "B"), (10**6, "M"), (10**3, "K")):
        if value >= size:
            scaled = value / size
            digits = 2 if scaled < 10 else 1 if scaled < 100 else 0
            return f"{scaled:.{digits}f} {unit}"
    return f"{value:,}"


def _short(value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def _shape(shape: Any) -> str:
    if isinstance(shape, list):
        more = ", …" if len(shape) > MAX_ITEMS else ""
        return "[" + ", ".join(_short(dim) for dim in shape[:MAX_ITEMS]) + more + "]"
    return _short(shape)


def _tensor(entry: Any) -> str:
    """An ONNX input or output: ``name: float32 [1, 3, 224, 224]``."""
    if not isinstance(entry, dict):
        return _short(entry)
    parts = [str(entry.get("name", "?"))]
    kind = entry.get("elem_type") or entry.get("type") or entry.get("dtype")
    if kind:
        parts.append(f": {kind}")
    if "shape" in entry:
        parts.append(f" {_shape(entry['shape'])}")
    return _short("".join(parts))


def _listing(values: list[Any], render: Any = _short) -> str:
    shown = ", ".join(render(value) for value in values[:MAX_ITEMS])
    return shown + (f" (+{len(values) - MAX_ITEMS} more)" if len(values) > MAX_ITEMS else "")


def _mapping(values: dict[str, Any], render: Any = _short) -> str:
    pairs = list(values.items())
    shown = ", ".join(f"{key}: {render(value)}" for key, value in pairs[:MAX_ITEMS])
    return shown + (f" (+{len(pairs) - MAX_ITEMS} more)" if len(pairs) > MAX_ITEMS else "")


@register.simple_tag
def fact_lines(version: Version) -> list[tuple[str, str]]:
    """(label, text) of the facts a reader looks for first, in a fixed order; missing ones left out."""
    facts: dict[str, Any] = version.facts if isinstance(version.facts, dict) else {}
    lines: list[tuple[str, str]] = []
    if isinstance(facts.get("parameters"), int):
        lines.append(("Parameters", parameter_count(facts["parameters"])))
    if isinstance(facts.get("tensors"), int):
        lines.append(("Tensors", f"{facts['tensors']:,}"))
    dtypes = facts.get("dtypes")
    if isinstance(dtypes, dict) and dtypes:
        lines.append(("Dtypes", _mapping(dtypes, parameter_count_or_text)))
    elif isinstance(dtypes, list) and dtypes:
        lines.append(("Dtypes", _listing(dtypes)))
    quantization = facts.get("quantization")
    if isinstance(quantization, dict):  # GGUF: the file type, and the tensors' types
        types = quantization.get("tensor_types") if isinstance(quantization.get("tensor_types"), list) else []
        named = [str(quantization["file_type"])] if quantization.get("file_type") else []
        text = ", ".join(named + ([f"tensors {_listing(types)}"] if types else []))
        if text:
            lines.append(("Quantisation", _short(text)))
    for key, label in (("architecture", "Architecture"), ("name", "Name")):
        value = facts.get(key)
        if isinstance(value, list) and value:
            lines.append((label, _listing(value)))
        elif isinstance(value, dict) and value:
            lines.append((label, _mapping(value)))
        elif value not in (None, "", [], {}):
            lines.append((label, _short(value)))
    if facts.get("context_length") is not None:
        lines.append(("Context length", _short(facts["context_length"])))
    opset = facts.get("opset")
    if isinstance(opset, dict) and opset:
        lines.append(("Opset", _mapping({key or "ai.onnx": value for key, value in opset.items()})))
    elif opset is not None:
        lines.append(("Opset", _short(opset)))
    if facts.get("ir_version") is not None:
        lines.append(("IR version", _short(facts["ir_version"])))
    producer = facts.get("producer")
    if isinstance(producer, dict):
        producer = " ".join(str(part) for part in producer.values() if part)
    if producer:
        lines.append(("Producer", _short(producer)))
    for key, label in (("inputs", "Inputs"), ("outputs", "Outputs")):
        if isinstance(facts.get(key), list) and facts[key]:
            lines.append((label, _listing(facts[key], _tensor)))
    if isinstance(facts.get("nodes"), int):
        lines.append(("Nodes", f"{facts['nodes']:,}"))
    if version.format == "unknown" and facts.get("reason"):
        lines.append(("Not read", _short(facts["reason"])))
    return lines


def parameter_count_or_text(value: Any) -> str:
    return parameter_count(value) or _short(value)


@register.simple_tag
def fact_members(version: Version) -> list[dict[str, Any]]:
    """The members of an archive (zip, tar, a PyTorch checkpoint), as the readers listed them."""
    facts = version.facts if isinstance(version.facts, dict) else {}
    members = facts.get("members")
    return [member for member in members if isinstance(member, dict)] if isinstance(members, list) else []


@register.filter
def warned(version: Version) -> bool:
    return version.safety in WARNED
