"""The create/edit form of items of every kind.

The form only turns what a browser sends into the shapes ``services.create_item`` / ``update_item`` take
(lists of names, ``{"name", "value"}`` metadata pairs, list changes). Every business rule — name rules,
users and references that must exist and be readable, vocabulary names, value limits, uniqueness — is
checked by the services; their refusals name the field first, and ``add_service_error`` puts them next to
that field. A kind's traits add their fields (a select for a scalar, what the list trait offers).
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from django import forms
from django.forms.utils import ErrorDict

from framework import jsontext
from framework.errors import ServiceError
from items_app.cards import MAX_CARD_LENGTH
from items_app.kinds import ItemKind
from items_app.models import Item, ValueType, Visibility
from items_app.related import ListChange

if TYPE_CHECKING:
    from django.utils.datastructures import MultiValueDict

    from items_app.related import MetadataValue
    from tenants_app.models import User

# What a metadata row's "Type" select offers; "auto" reads true/false as booleans and numbers as numbers.
METADATA_TYPES = [("auto", "Auto"), ("string", "Text"), ("number", "Number"), ("boolean", "Yes/No")]
_NUMBER = re.compile(r"-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?")
_TRUE = {"true", "yes", "on", "1"}
_FALSE = {"false", "no", "off", "0"}
CORE_SCALARS = ("name", "visibility", "description")
NAME_LISTS = ("tags", "users")  # comma-separated names in the form


def split_names(raw: str) -> list[str]:
    """Comma-separated names (the no-JavaScript form of the chip inputs), trimmed, without duplicates."""
    names: list[str] = []
    for part in raw.split(","):
        name = part.strip()
        if name and name not in names:
            names.append(name)
    return names


def metadata_value(name: str, raw: str, value_type: str) -> Any:
    """A form row's value as the JSON value the services store (raises ``ValueError`` with a message)."""
    text = raw.strip() if value_type != ValueType.STRING else raw
    if value_type == "auto":
        return _auto_value(text)
    if value_type == ValueType.NUMBER:
        return _number_value(name, raw, text)
    if value_type == ValueType.BOOLEAN:
        return _boolean_value(name, raw, text)
    return raw


def _auto_value(text: str) -> Any:
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    if _NUMBER.fullmatch(text):
        return json.loads(text)
    return text


def _number_value(name: str, raw: str, text: str) -> Any:
    try:
        number = json.loads(text) if _NUMBER.fullmatch(text) else float(text)
    except ValueError:
        raise ValueError(f"{name}: {raw[:40]!r} is not a number") from None
    if isinstance(number, float) and not math.isfinite(number):
        raise ValueError(f"{name}: {raw[:40]!r} is not a finite number")
    return number


def _boolean_value(name: str, raw: str, text: str) -> bool:
    if text.lower() in _TRUE:
        return True
    if text.lower() in _FALSE:
        return False
    raise ValueError(f"{name}: {raw[:40]!r} is not yes/no (true/false)")


def metadata_rows_of(entries: Iterable[MetadataValue]) -> list[dict[str, str]]:
    """Rows for the form from an item's entries: the exact stored text and its type."""
    return [{"name": entry.name, "value": entry.text, "type": entry.value_type} for entry in entries]


class CardField(forms.CharField):
    """A description typed in a browser: its CRLF line ends become the LF the API's clients send, so the
    stored Markdown and its length are the same whichever way it came (the textarea counts a line end as one
    character too)."""

    def to_python(self, value: Any) -> str | None:
        text = super().to_python(value)
        return text.replace("\r\n", "\n") if text else text


class ItemForm(forms.Form):
    """Name, visibility, description, tags, sharing and metadata rows, and the fields of the kind's traits.

    ``tags`` and ``users`` are comma-separated (static/js/item-form.js turns them into chip inputs with
    suggestions); metadata arrives as parallel ``meta_name`` / ``meta_value`` / ``meta_type`` lists (the
    same script adds and removes rows).
    """

    name = forms.CharField(max_length=200, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    visibility = forms.ChoiceField(choices=Visibility.choices, initial=Visibility.PRIVATE, widget=forms.RadioSelect)
    description = CardField(
        max_length=MAX_CARD_LENGTH,
        required=False,
        strip=False,
        widget=forms.Textarea(attrs={"rows": 10, "aria-describedby": "description-help"}),
    )
    tags = forms.CharField(required=False, max_length=70000)
    users = forms.CharField(required=False, max_length=200000, label="Shared with")
    # Not a widget of its own: the rows are read from meta_* lists; the field carries their errors.
    metadata = forms.Field(required=False)
    # The lists as they were when the edit form was shown: a save only removes what the user removed, so
    # entries someone else added meanwhile are kept (the services apply add/remove changes row by row).
    original = forms.CharField(required=False, widget=forms.HiddenInput)

    if TYPE_CHECKING:
        # Bound, request.POST (a QueryDict); unbound, Django's empty MultiValueDict: ``getlist`` either way.
        data: MultiValueDict[str, Any]

    def __init__(self, *args: Any, kind: ItemKind, viewer: User, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind = kind
        for scalar in kind.scalars:
            self.fields[scalar.field] = scalar.form_field()
        for trait in kind.lists:
            self.fields[trait.field] = trait.form_field(viewer)

    def unchecked(self) -> ItemForm:
        """This form to show again as typed, without checking it (a preview saves nothing, so it has no errors
        to report)."""
        self._errors = ErrorDict()
        return self

    # ------------------------------------------------------------ reading the rows

    def metadata_rows(self) -> list[dict[str, str]]:
        """The rows to show: what was posted (bound), else the initial rows; always one empty row to fill."""
        if self.is_bound:
            names = self.data.getlist("meta_name")
            values = self.data.getlist("meta_value")
            types = self.data.getlist("meta_type")
            rows = [
                {
                    "name": name,
                    "value": values[i] if i < len(values) else "",
                    "type": types[i] if i < len(types) else "auto",
                }
                for i, name in enumerate(names)
            ]
            rows = [row for row in rows if row["name"].strip() or row["value"].strip()]
        else:
            rows = list(self.initial.get("metadata_rows", []))
        return [*rows, {"name": "", "value": "", "type": "auto"}]

    def clean_metadata(self) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        problems: list[str] = []
        for row in self.metadata_rows()[:-1]:
            name = row["name"].strip()
            if not name:
                problems.append(f"a row has the value {row['value'][:40]!r} but no name")
                continue
            value_type = row["type"] if row["type"] in dict(METADATA_TYPES) else "auto"
            try:
                entries.append({"name": name, "value": metadata_value(name, row["value"], value_type)})
            except ValueError as exc:
                problems.append(str(exc))
        if problems:
            raise forms.ValidationError(problems)
        return entries

    def clean_tags(self) -> list[str]:
        return split_names(self.cleaned_data.get("tags") or "")

    def clean_users(self) -> list[str]:
        return split_names(self.cleaned_data.get("users") or "")

    def clean_original(self) -> dict[str, Any] | None:
        raw = self.cleaned_data.get("original") or ""
        if not raw:
            return None
        try:
            document = jsontext.loads(raw)
        except ValueError:
            document = None
        if not isinstance(document, dict):
            raise forms.ValidationError("The form was damaged; reload the page and try again.")
        return document

    # ------------------------------------------------------------ what the services get

    def create_arguments(self) -> dict[str, Any]:
        data = self.cleaned_data
        arguments = {
            "name": data["name"],
            "visibility": data["visibility"],
            "description": data.get("description", ""),
            "tags": data["tags"],
            "users": data["users"],
            "metadata": data["metadata"],
        }
        for trait in (*self.kind.scalars, *self.kind.lists):
            arguments[trait.field] = data[trait.field]
        return arguments

    def changes(self, item: Item) -> tuple[dict[str, Any], dict[str, ListChange]]:
        """(scalars that differ from ``item``, list changes against the lists the form was shown with)."""
        original = self.cleaned_data.get("original") or {}
        lists = self._name_list_changes(original)
        metadata = self._metadata_change(original)
        if metadata is not None:
            lists["metadata"] = metadata
        return self._scalar_changes(item), lists

    def _scalar_changes(self, item: Item) -> dict[str, Any]:
        data = self.cleaned_data
        names = [*CORE_SCALARS, *(scalar.field for scalar in self.kind.scalars)]
        scalars = {name: data[name] for name in names if data.get(name, "") != getattr(item, name)}
        if "name" in scalars and data["name"].strip() == item.name:
            del scalars["name"]  # the services trim names: "x " is no change of "x"
        return scalars

    def _name_list_changes(self, original: dict[str, Any]) -> dict[str, ListChange]:
        """What the user removed from and added to each list of names or ids, since the form was shown."""
        lists: dict[str, ListChange] = {}
        for name in (*NAME_LISTS, *(trait.field for trait in self.kind.lists)):
            before = [value for value in original.get(name, []) if isinstance(value, str)]
            after = self.cleaned_data[name]
            remove = [value for value in before if value not in after]
            add = [value for value in after if value not in before]
            if remove or add:
                lists[name] = ListChange(remove=remove, add=add)
        return lists

    def _metadata_change(self, original: dict[str, Any]) -> ListChange | None:
        """The entries the user removed, and those added or given another value, since the form was shown."""
        rows = original.get("metadata", [])
        before = {row[0]: row[1] for row in rows if isinstance(row, list) and len(row) == 2}
        after = {entry["name"]: entry["value"] for entry in self.cleaned_data["metadata"]}
        remove = [name for name in before if name not in after]
        add = [
            {"name": name, "value": value}
            for name, value in after.items()
            if name not in before or not _same_value(before[name], value)
        ]
        return ListChange(remove=remove, add=add) if remove or add else None

    # ------------------------------------------------------------ service errors

    def add_service_error(self, error: ServiceError) -> None:
        """Show a service's refusal next to the field its details name ("name: …", "metadata.x: …")."""
        details = str(error.details)
        prefix, separator, message = details.partition(": ")
        field = prefix.split(".")[0] if separator else ""
        if field in self.fields and field != "original":
            shown = message if "." not in prefix else f"{prefix.split('.', 1)[1]}: {message}"
            self.add_error(field, shown)
        else:
            self.add_error(None, message if separator and prefix == "_id" else details)


def original_lists(kind: ItemKind, document: dict[str, Any]) -> str:
    """The hidden ``original`` value of an edit form, from the item's API document (``item_document``)."""
    lists: dict[str, Any] = {"tags": document["tags"], "users": document["users"]}
    for trait in kind.lists:
        lists[trait.field] = document[trait.field]
    lists["metadata"] = [[entry["name"], entry["value"]] for entry in document["metadata"]]
    return json.dumps(lists)


def _same_value(before: Any, after: Any) -> bool:
    """Equal values of the same JSON type (in Python ``1 == True``; here a boolean never equals a number)."""
    return type(before) is type(after) and before == after
