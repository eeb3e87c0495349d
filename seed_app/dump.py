"""Reading one tenant database of the original registry as its operators dumped it, without a MongoDB server.

A dump is one folder with one file per collection:

- ``<collection>.bson``: ``mongodump``'s form (BSON documents one after the other); the
  ``<collection>.metadata.json`` beside it describes indexes and is not needed;
- ``<collection>.json``: ``mongoexport``'s form, extended JSON, one document per line or (``--jsonArray``)
  one array of documents.

Either may be gzipped (``mongodump --gzip``), and the form is decided per file, so a dump may mix them.
``mongodump`` writes ``dump/<database>/…``: a folder holding no collection file but exactly one folder
that does is read through. BSON and extended JSON are decoded by ``bson``, which pymongo ships and which
needs no server.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC
from pathlib import Path
from typing import IO, Any, cast

import bson
from bson import json_util
from bson.codec_options import CodecOptions
from bson.errors import BSONError

# What the original registry keeps in a tenant database (its models, one collection each).
SEED_COLLECTIONS = frozenset(
    {"users", "tags", "metadatas", "datasets", "models", "algorithms", "passwordresets", "files"}
)
BSON_OPTIONS: CodecOptions[dict[str, Any]] = CodecOptions(tz_aware=True, tzinfo=UTC)
JSON_OPTIONS = json_util.JSONOptions(tz_aware=True, tzinfo=UTC)
FORMS = (".bson", ".json")


class DumpError(Exception):
    """The dump is not one the importer understands; the message names the file, the document and the field."""


@dataclass(frozen=True)
class Collection:
    """The documents of one collection file, in the order the file holds them."""

    name: str
    file: str  # the file's name, as messages name it
    documents: list[dict[str, Any]]


@dataclass
class Dump:
    """The collections of a dump, and the files in its folder that are not collections of the original registry."""

    folder: Path
    collections: dict[str, Collection] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)

    def documents(self, name: str) -> list[dict[str, Any]]:
        collection = self.collections.get(name)
        return collection.documents if collection is not None else []

    def file(self, name: str) -> str:
        collection = self.collections.get(name)
        return collection.file if collection is not None else f"{name}.bson"


def read_dump(folder: Path) -> Dump:
    """Every collection file of ``folder`` read and decoded; a file that cannot be is a ``DumpError``."""
    if not folder.is_dir():
        raise DumpError(f"{folder}: not a folder")
    folder = _collections_folder(folder)
    dump = Dump(folder)
    for path in sorted(folder.iterdir()):
        form = _form_of(path)
        if form is None:
            if path.is_file() and not path.name.endswith((".metadata.json", ".metadata.json.gz")):
                dump.ignored.append(path.name)
            continue
        name = _collection_name(path)
        if name not in SEED_COLLECTIONS:
            dump.ignored.append(path.name)
            continue
        if name in dump.collections:
            raise DumpError(f"{path.name}: {dump.collections[name].file} holds the collection {name!r} already")
        reader = _bson_documents if form == ".bson" else _json_documents
        dump.collections[name] = Collection(name, path.name, list(reader(path)))
    if "users" not in dump.collections:
        raise DumpError(f"{folder}: no users.bson or users.json: not a dump of one of the original registry's tenants")
    return dump


def _collections_folder(folder: Path) -> Path:
    if any(_form_of(path) for path in folder.iterdir()):
        return folder
    inner = [path for path in folder.iterdir() if path.is_dir() and any(_form_of(child) for child in path.iterdir())]
    return inner[0] if len(inner) == 1 else folder


def _form_of(path: Path) -> str | None:
    """``.bson`` or ``.json`` for a collection file (gzipped or not), None for anything else."""
    if not path.is_file():
        return None
    name = path.name.removesuffix(".gz")
    if name.endswith(".metadata.json"):
        return None
    return next((form for form in FORMS if name.endswith(form)), None)


def _collection_name(path: Path) -> str:
    name = path.name.removesuffix(".gz")
    return name.rsplit(".", 1)[0]


def _open(path: Path) -> IO[bytes]:
    if path.name.endswith(".gz"):
        return cast("IO[bytes]", gzip.open(path, "rb"))  # a GzipFile reads bytes like any binary file
    return open(path, "rb")  # closed by the caller's with-block


def _bson_documents(path: Path) -> Iterator[dict[str, Any]]:
    with _open(path) as handle:
        read = 0
        try:
            for document in bson.decode_file_iter(handle, BSON_OPTIONS):
                read += 1
                yield document
        except (BSONError, OSError, ValueError) as exc:
            raise DumpError(f"{path.name}: document {read + 1} is not readable BSON ({exc})") from None


def _json_documents(path: Path) -> Iterator[dict[str, Any]]:
    """mongoexport's two layouts: one document per line, or one array (``--jsonArray``)."""
    try:
        with _open(path) as handle:
            text = handle.read().decode("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DumpError(f"{path.name}: not a UTF-8 text file ({exc})") from None
    if text.lstrip().startswith("["):
        documents = _loads(path, text, "the array")
        if not isinstance(documents, list):
            raise DumpError(f"{path.name}: expected an array of documents")
        for number, document in enumerate(documents, start=1):
            yield _document(path, document, f"document {number}")
        return
    for number, line in enumerate(text.splitlines(), start=1):
        if line.strip():
            yield _document(path, _loads(path, line, f"line {number}"), f"line {number}")


def _loads(path: Path, text: str, where: str) -> Any:
    try:
        return json_util.loads(text, json_options=JSON_OPTIONS)
    except (ValueError, TypeError, BSONError) as exc:  # json.JSONDecodeError is a ValueError
        raise DumpError(f"{path.name}: {where} is not extended JSON ({exc})") from None


def _document(path: Path, value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise DumpError(f"{path.name}: {where}: expected a document (a JSON object), got {type(value).__name__}")
    return value
