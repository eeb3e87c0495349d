#!/usr/bin/env python
"""Latency and write throughput of the item API at scale, through real HTTP against gunicorn.

    .venv/bin/python bench/api_latency.py --database sqlite            # 100,000 items, ~5 min on 2 cores
    .venv/bin/python bench/api_latency.py --database postgres --items 2000 --requests 50

What it does (see bench/README.md for the results and how to read them):

1. a fresh DATA_DIR in a temporary directory; for ``postgres`` a throwaway server from
   ``scripts/postgres.sh`` (always stopped again);
2. migrates and creates the default tenant (what ``manage.py bootstrap`` does), then seeds it in bulk
   through the ORM: 50 regular users, ~200 tags, 30 metadata names, N models with 5 tags and 10 metadata
   entries each ("accuracy" on every one), about a third public, some private ones shared;
3. starts the server as ``make run`` does (``manage.py bootstrap``, then ``gunicorn -c gunicorn.conf.py``
   with 2 workers), logs in as a
   regular user and measures each read scenario with one keep-alive client, sequentially;
4. measures create throughput: 4 client threads POSTing /v1/models, one item per request, then the same
   number of items in batches (``--batch``, 100 per request);
5. with ``--explain``: runs each read scenario's list code in-process (no HTTP), times it and prints the
   database's plan of every SQL statement it sends;
6. prints a markdown table and writes JSON to bench/results/ (git-ignored).
"""

# The random data of a benchmark needs no cryptographic generator.
# ruff: noqa: S311

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import math
import os
import platform
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results"
VENV_BIN = Path(sys.executable).parent
PASSWORD = "bench passphrase 2718"  # noqa: S105 - a throwaway benchmark account
READER = "user00"  # the regular user every read scenario runs as
WRITERS = ("user01", "user02", "user03", "user04")
OWNERS = 50

# Tags: 20 stems x 10; "tabular", "target" and "task" start with "ta" (30 tags for the regex scenario).
TAG_STEMS = (
    "vision", "nlp", "tabular", "audio", "speech", "target", "task", "robotics", "recsys", "forecast",
    "baseline", "prod", "staging", "experimental", "distilled", "quantized", "finetuned", "pretrained",
    "multilingual", "edge",
)  # fmt: skip
TAGS = [f"{stem}-{n}" for stem in TAG_STEMS for n in range(10)]
TAG_FILTER = "nlp-3"  # an ordinary tag: about 2.5% of the items carry it
TAG_OR = "edge-7"
# name -> kind of value. "accuracy" is on every item; each item gets 9 of the other 29 at random.
METADATA = {
    "accuracy": "unit",
    "precision": "unit", "recall": "unit", "f1": "unit", "auc": "unit", "loss": "float",
    "learning_rate": "float", "epochs": "int", "batch_size": "int", "params_millions": "float",
    "latency_ms": "float", "dataset_rows": "int", "seed": "int", "gpu_hours": "float", "layers": "int",
    "framework": "str", "license": "str", "optimizer": "str", "architecture": "str", "language": "str",
    "commit": "str", "author": "str", "task_type": "str", "input_shape": "str", "hardware": "str",
    "quantized": "bool", "distilled": "bool", "onnx_export": "bool", "reviewed": "bool", "deprecated": "bool",
}  # fmt: skip
WORDS = ("pytorch", "tensorflow", "jax", "sklearn", "xgboost", "mit", "apache-2.0", "adam", "sgd", "resnet", "bert")

# Scenarios also measured right after a write by another user: an edit of one of their models' description,
# or the create of a new private model (the key gets the suffix; the write is not timed).
AFTER_EDIT = "_after_edit"
AFTER_CREATE = "_after_create"
AFTER_WRITES = {AFTER_EDIT: "after an edit", AFTER_CREATE: "after a create"}
# Before each request another user publishes an item: everyone's unfiltered total and first page are new
# (the private create and the edit above leave the reader's total cached).
AFTER_PUBLISH = "_after_publish"
AFTER_WRITE_OF = ("get_cached", "first_page", "tag", "metadata_gte", "or", "tags_regex")

# Targets (p95, ms) from the issue, and MLflow 3.17's p95 at 100,000 models for scale.
TARGETS = {
    "get": 10, "get_cached": 10, "first_page": 20, "tag": 20, "metadata_gte": 30, "or": 30, "tags_regex": 30,
    "first_page_uncached": 20, "tag_uncached": 20, "metadata_gte_uncached": 30,
    "name_prefix_uncached": 30, "name_prefix_i_uncached": 30, "name_contains_i_uncached": 30,
    "tag_and_metadata_uncached": 30, "or_metadata_uncached": 30, "in_metadata_uncached": 30,
    "range_two_metadata_uncached": 30, "tag_boolean_range_uncached": 30, "first_page_after_publish": 30,
}  # fmt: skip
TARGETS.update({f"{key}{suffix}": TARGETS[key] for key in AFTER_WRITE_OF for suffix in AFTER_WRITES})
MLFLOW = {"get": "11.2", "first_page": "28.0", "tag": "66.7", "tag_and_metadata": "1,959"}
CREATE_TARGET = 200  # items/s with 4 clients


def scenarios() -> list[tuple[str, str, str | None]]:
    """(key, description, path) of each read scenario; ``get`` gets its path per request."""

    def items(document: Any) -> str:
        return "/v1/models?filter=" + quote(json.dumps(document, separators=(",", ":")))

    base: list[tuple[str, str, str | None]] = [
        ("version", "floor: `/v1/version` (no auth, no database)", "/v1/version"),
        ("info", "floor: `/v1/info` (JWT, tenant and user lookup)", "/v1/info"),
        ("get", "get by id (a different item each time: uncached)", None),
        ("get_cached", "get by id, 20 items read again and again (cached)", None),
        ("first_page", "first list page", "/v1/models"),
        ("tag", f"tag filter `tags={TAG_FILTER}`", items({"tags": TAG_FILTER})),
        ("metadata_gte", "`metadata.accuracy >= 0.9`", items({"metadata.accuracy": {"$gte": 0.9}})),
        (
            "or",
            f"`$or` tag {TAG_OR} / accuracy >= 0.99",
            items({"$or": [{"tags": TAG_OR}, {"metadata.accuracy": {"$gte": 0.99}}]}),
        ),
        (
            "tag_and_metadata",
            f"tag {TAG_FILTER} AND accuracy >= 0.5 (extra)",
            items({"tags": TAG_FILTER, "metadata.accuracy": {"$gte": 0.5}}),
        ),
        (
            "tags_regex",
            "tag autocomplete `_id ~ ^ta`",
            "/v1/tags?filter=" + quote(json.dumps({"_id": {"$regex": "^ta"}}, separators=(",", ":"))),
        ),
    ]
    return [
        *base,
        # Uncached: every request's filter is new (``{n}`` is the request number), so the page and its
        # totalDocs are computed every time, as for the first read after any write. The new part matches
        # nothing and is of the query's own class: a value nobody uses in an `$in` or `$or` of tag and
        # metadata conditions (which stay conditions on rows only), a shifted bound, or `name != <new>`.
        (
            "first_page_uncached",
            "first page, uncached (`name != <new>`: all readable)",
            items({"name": {"$ne": "no-such-{n}"}}),
        ),
        (
            "tag_uncached",
            f"tag filter, uncached (`tags $in [{TAG_FILTER}, <new>]`)",
            items({"tags": {"$in": [TAG_FILTER, "no-such-tag-{n}"]}}),
        ),
        (
            "metadata_gte_uncached",
            "`metadata.accuracy >= 0.9 + n·1e-9`, uncached",
            "/v1/models?filter=" + quote('{"metadata.accuracy":{"$gte":0.9{n:09d}}}'),
        ),
        # Name search (issue 18 point 2), a new pattern each time; each matches 100 items (model-0nnn00…99).
        (
            "name_prefix_uncached",
            "name starts with, uncached (`^model-0<nnn>`)",
            items({"name": {"$regex": "^model-0{n:03d}"}}),
        ),
        (
            "name_prefix_i_uncached",
            "name starts with, case-insensitive, uncached (`^MODEL-0<nnn>`, i)",
            items({"name": {"$regex": "^MODEL-0{n:03d}", "$options": "i"}}),
        ),
        (
            "name_contains_i_uncached",
            "name contains, case-insensitive, uncached (`EL-0<nnn>`, i)",
            items({"name": {"$regex": "EL-0{n:03d}", "$options": "i"}}),
        ),
        # Metadata (issue 18 point 3): equality, $in, $or and ranges, new every request (`name != <new>`,
        # or a bound shifted by n·1e-9); a string value such as "pytorch-7" is on ~60 items of 100,000, a
        # boolean such as `quantized: true` on ~15 %.
        (
            "tag_and_metadata_uncached",
            f"tag {TAG_FILTER} AND `metadata.quantized = true`, uncached",
            items({"tags": {"$in": [TAG_FILTER, "no-such-tag-{n}"]}, "metadata.quantized": True}),
        ),
        (
            "or_metadata_uncached",
            "`$or` of two metadata values (framework, optimizer), uncached",
            items(
                {
                    "$or": [
                        {"metadata.framework": "pytorch-7"},
                        {"metadata.optimizer": "adam-3"},
                        {"metadata.framework": "no-such-{n}"},
                    ]
                }
            ),
        ),
        (
            "in_metadata_uncached",
            "`metadata.framework $in` 3 values, uncached",
            items({"metadata.framework": {"$in": ["pytorch-7", "jax-3", "mit-9", "no-such-{n}"]}}),
        ),
        (
            "range_two_metadata_uncached",
            "numeric ranges on two metadata fields (epochs, learning_rate), uncached",
            "/v1/models?filter="
            + quote('{"metadata.epochs":{"$gte":1000,"$lt":20000},"metadata.learning_rate":{"$lt":50.{n:09d}}}'),
        ),
        (  # many matches (4,000 at 1M) of far more rows (481,000): the page is looked up by ordinal
            "tag_boolean_range_uncached",
            f"tag {TAG_FILTER} AND `metadata.quantized = true` AND `metadata.epochs >= <n>`, uncached",
            "/v1/models?filter="
            + quote(f'{{"tags":"{TAG_FILTER}","metadata.quantized":true,"metadata.epochs":{{"$gte":{{n}}}}}}'),
        ),
        # After a write: before each request another user edits one of their items, or creates one (not
        # timed), so the reader's usual request is the first read after a change.
        *[
            (f"{key}{suffix}", f"{description.replace(' (cached)', '')}, {label}", path)
            for suffix, label in AFTER_WRITES.items()
            for key, description, path in base
            if key in AFTER_WRITE_OF
        ],
        (
            f"first_page{AFTER_PUBLISH}",
            "first page, no filter, after another user publishes an item (total and page new)",
            "/v1/models",
        ),
    ]


# ------------------------------------------------------------------------------------------ utilities


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    rank = max(1, math.ceil(p / 100 * len(sorted_values)))
    return sorted_values[rank - 1]


def summary(latencies_s: list[float]) -> dict[str, float]:
    values = sorted(v * 1000 for v in latencies_s)
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 2),
        "p95_ms": round(percentile(values, 95), 2),
        "p99_ms": round(percentile(values, 99), 2),
        "max_ms": round(values[-1], 2),
        "mean_ms": round(sum(values) / len(values), 2),
    }


def machine() -> dict[str, Any]:
    import sqlite3

    import django

    meminfo = Path("/proc/meminfo").read_text().split("\n")[0].split()
    return {
        "nproc": os.cpu_count(),
        "ram_gib": round(int(meminfo[1]) / 1024 / 1024, 1),
        "cpu": next(
            (
                line.split(":", 1)[1].strip()
                for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")
            ),
            platform.processor(),
        ),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "django": django.get_version(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_start": os.getloadavg(),
        "commit": git("rev-parse", "--short", "HEAD"),
        "dirty_tree": bool(git("status", "--porcelain", "--untracked-files=no")),
    }


def git(*args: str) -> str:
    try:
        return subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return ""


class Client:
    """One keep-alive HTTP/1.1 connection; reconnects once if the server closed it."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        self.reconnects = 0

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, bytes, float]:
        headers = {"Accept": "application/json"}
        if self.token:
            headers["Authorization"] = self.token
        payload = None
        if body is not None:
            payload = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        for attempt in (1, 2):
            started = time.perf_counter()
            try:
                self.connection.request(method, path, body=payload, headers=headers)
                response = self.connection.getresponse()
                data = response.read()
            except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
                if attempt == 2:
                    raise
                self.connection.close()
                self.reconnects += 1
                continue
            return response.status, data, time.perf_counter() - started
        raise AssertionError("unreachable")

    def json(self, method: str, path: str, body: Any = None, expect: int = 200) -> tuple[Any, float]:
        status, data, elapsed = self.request(method, path, body)
        if status != expect:
            raise RuntimeError(f"{method} {path} answered {status}: {data[:500]!r}")
        return json.loads(data), elapsed

    def close(self) -> None:
        self.connection.close()


# ------------------------------------------------------------------------------------------ environment


@dataclass
class Environment:
    database: str
    work: Path
    port: int
    pg_port: int | None = None
    pg_dir: Path | None = None
    server: subprocess.Popen[bytes] | None = None
    server_log: Path | None = None
    env: dict[str, str] = field(default_factory=dict)
    postgres_settings: list[str] = field(default_factory=list)

    def database_url(self) -> str:
        if self.database == "sqlite":
            return f"sqlite:///{self.work / 'data' / 'registry-catalog.sqlite3'}"
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/registry_catalog"

    def start_postgres(self, resume: bool = False) -> str:
        """A new server with an empty catalogue database, or (``resume``) the kept server of an earlier run."""
        self.pg_port = free_port()
        self.pg_dir = self.work / "postgres"
        command = "resume" if resume else "start"
        options = " ".join(f"-c {setting}" for setting in self.postgres_settings)
        subprocess.run(
            ["bash", "scripts/postgres.sh", command, str(self.pg_dir), str(self.pg_port)],
            cwd=ROOT,
            check=True,
            env={**os.environ, "POSTGRES_OPTIONS": options},
        )
        with self.connect("postgres") as connection:
            if not resume:
                connection.execute("CREATE DATABASE registry_catalog")
            return str(connection.execute("SHOW server_version").fetchone()[0])

    def connect(self, database: str) -> Any:
        """A psycopg connection (autocommit) to ``database`` on the bench's PostgreSQL server."""
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.pg_port, user="postgres", dbname=database, autocommit=True)

    def prewarm(self) -> dict[str, int]:
        """Load every tenant database's tables, then its indexes, into PostgreSQL's shared buffers (pg_prewarm),
        as a server that has been serving them a while holds them; returns the blocks loaded per database."""
        with self.connect("registry_catalog") as catalog:
            names = [row[0] for row in catalog.execute('SELECT "database" FROM tenants_app_tenant ORDER BY 1')]
        loaded: dict[str, int] = {}
        for name in names:
            with self.connect(name) as connection:
                connection.execute("CREATE EXTENSION IF NOT EXISTS pg_prewarm")
                (blocks,) = connection.execute(
                    "SELECT coalesce(sum(pg_prewarm(oid)), 0) FROM (SELECT c.oid FROM pg_class c "
                    "WHERE c.relnamespace = 'public'::regnamespace AND c.relkind IN ('r', 'i') "
                    "ORDER BY c.relkind DESC) AS relations"  # 'r' before 'i': the indexes are read last, kept first
                ).fetchone()
                loaded[name] = int(blocks)
        return loaded

    def stop_postgres(self, keep: bool = False) -> None:
        """Stop and remove the server; with ``keep``, stop it only (``scripts/postgres.sh resume DIR PORT``)."""
        if self.pg_dir is not None:
            command = "halt" if keep else "stop"
            subprocess.run(["bash", "scripts/postgres.sh", command, str(self.pg_dir)], cwd=ROOT, check=False)
            if keep:
                log(f"PostgreSQL kept: bash scripts/postgres.sh resume {self.pg_dir} {self.pg_port}")
            self.pg_dir = None

    def configure(self) -> None:
        """The environment of this process (for the seeding) and of gunicorn."""
        self.env = {
            "DATA_DIR": str(self.work / "data"),
            "DATABASE": self.database_url(),
            "HTTP_PORT": str(self.port),
            "BIND_ADDRESS": "127.0.0.1",
            "WEB_CONCURRENCY": "2",
            "JWT_EXPIRATIONTIME": "3h",
            "JWT_RENEW_EXPIRATIONTIME": "4h",
            "DJANGO_SETTINGS_MODULE": "registry_project.settings",
        }
        os.environ.update(self.env)

    def start_server(self) -> None:
        """What ``make run`` does: ``manage.py bootstrap``, then gunicorn with gunicorn.conf.py."""
        self.server_log = self.work / "gunicorn.log"
        subprocess.run(
            [str(VENV_BIN / "python"), "manage.py", "bootstrap"],
            cwd=ROOT,
            env={**os.environ, **self.env},
            check=True,
            stdout=subprocess.DEVNULL,
        )
        with self.server_log.open("wb") as output:
            self.server = subprocess.Popen(
                [str(VENV_BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
                cwd=ROOT,
                env={**os.environ, **self.env},
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.server.poll() is not None:
                raise RuntimeError(f"gunicorn exited: {self.server_log.read_text()[-2000:]}")
            with contextlib.suppress(OSError):
                connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=2)
                connection.request("GET", "/v1/version")
                if connection.getresponse().status == 200:
                    connection.close()
                    return
            time.sleep(0.2)
        raise RuntimeError("gunicorn did not answer /v1/version within 60 s")

    def stop_server(self) -> None:
        if self.server is None or self.server.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.server.pid, signal.SIGTERM)  # the session this script started for gunicorn
        try:
            self.server.wait(timeout=35)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.server.pid, signal.SIGKILL)
            self.server.wait()


# ------------------------------------------------------------------------------------------ seeding


def metadata_value(kind: str, rng: random.Random) -> tuple[str, str, float | None]:
    """(value_type, text, number) as the service stores a value sent by a client."""
    if kind == "unit":
        value: Any = round(rng.random(), 4)
    elif kind == "float":
        value = round(rng.uniform(0.0001, 1000), 4)
    elif kind == "int":
        value = rng.randint(1, 100_000)
    elif kind == "bool":
        value = rng.random() < 0.5
        return "boolean", json.dumps(value), None
    else:
        return "string", f"{rng.choice(WORDS)}-{rng.randint(1, 50)}", None
    return "number", json.dumps(value), float(value)


def client_value(kind: str, rng: random.Random) -> Any:
    """A metadata value as a client sends it in JSON."""
    value_type, text, _ = metadata_value(kind, rng)
    return text if value_type == "string" else json.loads(text)


def seed(items: int, rng: random.Random, public_share: float = 1 / 3) -> dict[str, Any]:
    """Migrate, create the default tenant, and bulk-insert users, vocabulary and items into it (a share
    ``public_share`` of them public)."""
    import django

    django.setup()
    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.db import connections, transaction

    from folksonomy_app.models import MetadataName, Tag, Usage
    from framework.ids import new_object_id
    from items_app import generation
    from items_app.models import Item, ItemLists, ItemTag, MetadataEntry, Share, Visibility

    try:
        from items_app.models import reader_copies
    except ImportError:  # a checkout from before the rows carried copies (a before/after comparison)

        def reader_copies(item: Any) -> dict[str, Any]:
            return {}

    from items_app.related import MetadataValue, Related
    from models_app.kind import MODEL, Status
    from tenants_app.models import Role, User
    from tenants_app.services import ensure_default_tenant
    from tenants_app.tenancy import using_tenant

    started = time.perf_counter()
    call_command("migrate_tenants", verbosity=0)
    tenant, _ = ensure_default_tenant()
    counts = {"items": 0, "item_tags": 0, "metadata_entries": 0, "shares": 0}
    reader_visible: list[str] = []
    with using_tenant(tenant) as active:
        alias = active.alias
        password = make_password(PASSWORD)  # one Argon2 hash for every benchmark user
        users = [
            User(username=f"user{n:02d}", password=password, role=Role.REGULAR, email=f"user{n:02d}@bench.example")
            for n in range(OWNERS)
        ]
        User.objects.bulk_create(users)
        users = list(User.objects.filter(username__startswith="user").order_by("username"))
        reader = users[0]
        with transaction.atomic(using=alias):
            Tag.objects.bulk_create([Tag(id=name, usage=Usage.FOLK, owner=rng.choice(users)) for name in TAGS])
            MetadataName.objects.bulk_create(
                [MetadataName(id=name, usage=Usage.FOLK, owner=rng.choice(users)) for name in METADATA]
            )
        # Tag popularity: a mild long tail (weight 1/(rank+20)), so some tags are far commoner than others.
        order = TAGS[:]
        rng.shuffle(order)
        order.remove(TAG_FILTER)
        order.insert(60, TAG_FILTER)  # a mid-popularity tag for the tag-filter scenario
        weights = [1 / (rank + 20) for rank in range(len(order))]
        other_metadata = [name for name in METADATA if name != "accuracy"]
        statuses = list(Status.values)
        now = datetime.now(UTC)
        batch = 5000
        for start in range(0, items, batch):
            rows: list[Item] = []
            tags: list[ItemTag] = []
            entries: list[MetadataEntry] = []
            shares: list[Share] = []
            lists: list[ItemLists] = []
            for n in range(start, min(start + batch, items)):
                owner = users[int(rng.paretovariate(1.2)) % OWNERS] if rng.random() < 0.5 else rng.choice(users)
                public = rng.random() < public_share
                stamp = now - timedelta(seconds=(items - n) * 300 + rng.randint(0, 299))
                item = Item(
                    id=new_object_id(),
                    kind=MODEL.value,
                    name=f"model-{n:06d}",
                    owner=owner,
                    status=rng.choice(statuses),
                    visibility=Visibility.PUBLIC if public else Visibility.PRIVATE,
                    description=f"benchmark model {n}",
                    timestamp=stamp,
                    lastmod=stamp,
                )
                rows.append(item)
                chosen: set[str] = set()
                while len(chosen) < 5:
                    chosen.update(rng.choices(order, weights=weights, k=5 - len(chosen)))
                copies = reader_copies(item)
                tags.extend(ItemTag(item=item, tag_id=name, **copies) for name in sorted(chosen))
                values = []
                for name in ["accuracy", *rng.sample(other_metadata, 9)]:
                    value_type, text, number = metadata_value(METADATA[name], rng)
                    values.append(MetadataValue(name, value_type, text, number))
                    entries.append(
                        MetadataEntry(
                            item=item, name_id=name, value_type=value_type, text=text, number=number, **copies
                        )
                    )
                shared_with: list[Any] = []
                if not public and rng.random() < 0.3:
                    shared_with = rng.sample([u for u in users if u.pk != owner.pk], rng.randint(1, 3))
                    shares.extend(Share(item=item, user=user) for user in shared_with)
                # The item's stored lists, as a create through the API writes them.
                related = Related(users=[user.username for user in shared_with], tags=sorted(chosen), metadata=values)
                lists.append(ItemLists(item=item, content=related.put_in_order().stored()))
                if public or owner.pk == reader.pk or reader in shared_with:
                    reader_visible.append(item.id)
            with generation.changing():  # the one way to write item rows: a transaction that bumps the caches
                Item.objects.bulk_create(rows)
                ItemTag.objects.bulk_create(tags, batch_size=2000)
                MetadataEntry.objects.bulk_create(entries, batch_size=2000)
                Share.objects.bulk_create(shares, batch_size=2000)
                ItemLists.objects.bulk_create(lists, batch_size=2000)
            counts["items"] += len(rows)
            counts["item_tags"] += len(tags)
            counts["metadata_entries"] += len(entries)
            counts["shares"] += len(shares)
            if (start // batch) % 4 == 3:
                log(f"  seeded {counts['items']:,} items ({time.perf_counter() - started:.0f} s)")
        connection = connections[alias]
        if connection.vendor == "postgresql":
            # A bulk load leaves no statistics yet; autovacuum would gather them within a minute or so.
            with connection.cursor() as cursor:
                cursor.execute("VACUUM ANALYZE")
        counts["seconds_to_seed"] = round(time.perf_counter() - started, 1)
        counts["database_mb"] = round(database_bytes(connection) / 2**20, 1)
    connections.close_all()
    counts["reader_visible"] = len(reader_visible)
    counts["seconds"] = round(time.perf_counter() - started, 1)
    return {"counts": counts, "reader_visible": reader_visible}


SEEDED = "seeded.json"
# Names of the items a run creates carry it, so that a --reuse run does not collide with earlier runs' items.
RUN = datetime.now(UTC).strftime("%H%M%S")


def seed_and_record(work: Path, args: argparse.Namespace, rng: random.Random) -> dict[str, Any]:
    """Seed, and write what was seeded into the work directory for a later ``--reuse`` run."""
    log(f"seeding {args.items:,} items")
    seeded = seed(args.items, rng, 1.0 if args.public else 1 / 3)
    log(f"seeded in {seeded['counts']['seconds']} s: {seeded['counts']}")
    (work / SEEDED).write_text(json.dumps({"public": args.public, **seeded}))
    return seeded


def reseeded(work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The data set of an earlier ``--keep`` run, migrated to this checkout (migrations only, no seeding).

    Items the earlier run's create scenarios added stay: the totals of a reused run are a few thousand higher."""
    import django

    django.setup()
    from django.core.management import call_command

    seeded: dict[str, Any] = json.loads((work / SEEDED).read_text())
    if seeded["public"] != args.public or seeded["counts"]["items"] != args.items:
        raise SystemExit(f"{work} holds {seeded['counts']['items']:,} items, public={seeded['public']}")
    log(f"reusing the {args.items:,} items seeded in {work}")
    call_command("migrate_tenants", verbosity=0)
    seeded["counts"]["reused"] = True
    return seeded


def database_bytes(connection: Any) -> int:
    """The size of the tenant database: its SQLite file once checkpointed, or PostgreSQL's own figure."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_database_size(current_database())")
            return int(cursor.fetchone()[0])
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the rows into the file, the WAL emptied
    return Path(connection.settings_dict["NAME"]).stat().st_size


# ------------------------------------------------------------------------------------------ measuring


def login(port: int, username: str) -> Client:
    client = Client(port)
    document, _ = client.json("POST", "/v1/login", {"username": username, "password": PASSWORD})
    client.token = document["token"]
    return client


def measure_reads(
    port: int,
    visible_ids: list[str],
    requests: int,
    warmup: int,
    budget_s: float,
    rng: random.Random,
    only: set[str] | None = None,
) -> dict[str, Any]:
    """Each scenario: ``warmup`` unmeasured requests, then ``requests`` measured ones (fewer past ``budget_s``)."""
    client = login(port, READER)
    writer = login(port, WRITERS[0])
    mine = quote(json.dumps({"owner": WRITERS[0]}))
    writer_item = writer.json("GET", f"/v1/models?limit=1&filter={mine}")[0]["docs"][0]["_id"]
    results: dict[str, Any] = {}
    ids = rng.sample(visible_ids, min(len(visible_ids), requests + warmup))
    try:
        for key, description, path in scenarios():
            if only and key not in only:
                continue
            write_before = next((suffix for suffix in (*AFTER_WRITES, AFTER_PUBLISH) if key.endswith(suffix)), None)
            latencies: list[float] = []
            total = None
            deadline = math.inf
            for n in range(warmup + requests):
                if n == warmup:
                    deadline = time.monotonic() + budget_s
                elif time.monotonic() > deadline and len(latencies) >= 20:
                    break
                url = numbered_path(path, n) if path else None
                url = url or f"/v1/models/{ids[n % (20 if key.startswith('get_cached') else len(ids))]}"
                if write_before == AFTER_EDIT:
                    writer.json("PUT", f"/v1/models/{writer_item}", {"description": f"edited before read {n}"})
                elif write_before in (AFTER_CREATE, AFTER_PUBLISH):
                    visibility = "public" if write_before == AFTER_PUBLISH else "private"
                    writer.json(
                        "POST", "/v1/models", new_model(f"created before {key} {n} {RUN}", visibility, rng), expect=201
                    )
                document, elapsed = client.json("GET", url)
                if n >= warmup:
                    latencies.append(elapsed)
                total = document.get("totalDocs", 1)
            results[key] = {"description": description, "path": path or "/v1/models/<id>", "totalDocs": total}
            results[key].update(summary(latencies))
            log(f"  {key:16} p50 {results[key]['p50_ms']:7.1f}  p95 {results[key]['p95_ms']:7.1f} ms  ({total} docs)")
        results["_reconnects"] = client.reconnects
    finally:
        client.close()
        writer.close()
    return results


def numbered_path(path: str, n: int) -> str:
    """A scenario's path for its ``n``-th request (uncached scenarios make each request's filter new)."""
    return (
        path.replace(quote("{n}"), str(n))
        .replace(quote("{n:09d}"), f"{n:09d}")
        .replace(quote("{n:03d}"), f"{n % 1000:03d}")
    )


def new_model(name: str, visibility: str, rng: random.Random) -> dict[str, Any]:
    """The body of a create through the API: 5 tags and 10 metadata entries, as seeded items have."""
    return {
        "name": name,
        "visibility": visibility,
        "description": "created through the API by the benchmark",
        "tags": rng.sample(TAGS, 5),
        "metadata": [
            {"name": entry, "value": client_value(METADATA[entry], rng)}
            for entry in ["accuracy", *rng.sample([m for m in METADATA if m != "accuracy"], 9)]
        ],
    }


def measure_creates(port: int, total: int, rng: random.Random, batch: int = 0) -> dict[str, Any]:
    """4 clients create ``total`` models, one per request, or (``batch``) that many per request; latencies
    are per request."""
    clients = [login(port, name) for name in WRITERS]
    per_client = total // len(clients)
    latencies: list[list[float]] = [[] for _ in clients]
    errors: list[str] = []
    barrier = threading.Barrier(len(clients) + 1)
    bodies = []
    for index in range(len(clients)):
        local = random.Random(rng.random())
        bodies.append(
            [
                new_model(
                    f"bench-create{batch}-{index}-{n}-{RUN}", "public" if local.random() < 1 / 3 else "private", local
                )
                for n in range(per_client)
            ]
        )
    requests = [
        [client_bodies[start : start + batch] for start in range(0, len(client_bodies), batch)]
        if batch
        else client_bodies
        for client_bodies in bodies
    ]

    def work(index: int) -> None:
        barrier.wait()
        for body in requests[index]:
            try:
                _, elapsed = clients[index].json("POST", "/v1/models", body, expect=201)
            except Exception as exc:
                errors.append(str(exc)[:300])
                continue
            latencies[index].append(elapsed)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(clients))]
    for thread in threads:
        thread.start()
    barrier.wait()
    started = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - started
    for client in clients:
        client.close()
    created = sum(len(values) for values in latencies) * (batch or 1)
    result = {
        "clients": len(clients),
        "batch": batch,
        "created": created,
        "errors": len(errors),
        "first_errors": errors[:3],
        "seconds": round(elapsed, 2),
        "items_per_s": round(created / elapsed, 1),
    }
    result.update(summary([value for values in latencies for value in values]))
    return result


# ------------------------------------------------------------------------------------------ explaining


def explain(requests: int) -> dict[str, Any]:
    """Each list scenario's code path without HTTP: its time, and the plan of every statement it sends."""
    from django.db import connections
    from django.http import QueryDict
    from django.test.utils import CaptureQueriesContext

    from framework.api.listing import paginate
    from items_app import kinds
    from items_app.documents import item_documents
    from items_app.listing import item_list_spec
    from items_app.models import Item
    from tenants_app.models import Tenant, User
    from tenants_app.tenancy import using_tenant

    tenant = Tenant.objects.get()
    report: dict[str, Any] = {}
    with using_tenant(tenant) as active:
        connection = connections[active.alias]
        user = User.objects.get(username=READER)
        for key, _description, path in scenarios():
            if path is None or not path.startswith(("/v1/models", "/v1/tags")) or key.endswith(tuple(AFTER_WRITES)):
                continue
            route = path.partition("?")[0]
            requests_made = iter(range(10**6))

            def next_params() -> QueryDict:  # a new filter each time for the uncached scenarios
                return QueryDict(numbered_path(path, next(requests_made)).partition("?")[2])  # noqa: B023

            if route == "/v1/tags":
                continue  # the vocabulary's counts are cached per change, not per filter: nothing to explain
            queryset = Item.objects.of_kind("model").visible_to(user).select_related("owner")
            spec = item_list_spec(kinds.get("model"), user)

            def serialize(rows: list[Any]) -> list[Any]:
                return item_documents(rows, user)

            timings = []
            for _ in range(max(5, requests // 10)):
                params = next_params()
                started = time.perf_counter()
                paginate(queryset, params, spec, serialize)
                timings.append(time.perf_counter() - started)
            with CaptureQueriesContext(connection) as captured:
                paginate(queryset, next_params(), spec, serialize)
            statements = []
            # the count, the walk's boundary and the page (prefetches follow), not the generation counters
            listed = [query["sql"] for query in captured.captured_queries if "items_generation" not in query["sql"]]
            for sql in listed[:4]:
                single = []
                for _ in range(5):
                    with connection.cursor() as cursor:
                        started = time.perf_counter()
                        cursor.execute(sql)
                        cursor.fetchall()
                        single.append(time.perf_counter() - started)
                with connection.cursor() as cursor:
                    if connection.vendor == "sqlite":
                        cursor.execute("EXPLAIN QUERY PLAN " + sql)
                        plan = "\n".join(f"{row[0]}|{row[1]}| {row[3]}" for row in cursor.fetchall())
                    else:
                        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
                        plan = "\n".join(row[0] for row in cursor.fetchall())
                statements.append({"sql": sql, "median_ms": round(sorted(single)[2] * 1000, 2), "plan": plan})
            report[key] = {
                "in_process": summary(timings),
                "queries": len(captured.captured_queries),
                "statements": statements,
            }
            p50 = report[key]["in_process"]["p50_ms"]
            print(f"\n### {key}: in-process p50 {p50} ms, {report[key]['queries']} queries")
            for statement in statements:
                print(f"-- {statement['median_ms']} ms\n{statement['sql']}\n{statement['plan']}")
    connections.close_all()
    return report


# ------------------------------------------------------------------------------------------ report


def table(results: dict[str, Any]) -> str:
    lines = [
        f"| scenario ({results['database']}, {results['items']:,} items) | p50 ms | p95 ms | p99 ms "
        "| n | totalDocs | target p95 | MLflow 3.17 p95 |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for key, row in results["reads"].items():
        if key.startswith("_"):
            continue
        target = TARGETS.get(key)
        verdict = "" if target is None else (f"≤ {target} ✅" if row["p95_ms"] <= target else f"≤ {target} ❌")
        lines.append(
            f"| {row['description']} | {row['p50_ms']} | {row['p95_ms']} | {row['p99_ms']} | {row['n']} "
            f"| {row['totalDocs']:,} "
            f"| {verdict or '—'} | {MLFLOW.get(key, '—')} |"
        )
    for key in ("create", "create_batch"):
        if key not in results:
            continue
        create = results[key]
        verdict = "✅" if create["items_per_s"] >= CREATE_TARGET else "❌"
        unit = f"batches of {create['batch']}" if create["batch"] else "one per request"
        lines.append(
            f"| create, {create['clients']} clients, {unit} ({create['created']:,} items, {create['errors']} errors) "
            f"| {create['p50_ms']} | {create['p95_ms']} | {create['p99_ms']} | {create['n']} | — "
            f"| **{create['items_per_s']} items/s** (≥ {CREATE_TARGET} {verdict}) | — |"
        )
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=300, help="measured requests per read scenario")
    parser.add_argument("--warmup", type=int, default=20, help="unmeasured requests before each scenario")
    parser.add_argument(
        "--budget", type=float, default=120, help="seconds per read scenario: stop measuring early past it"
    )
    parser.add_argument("--creates", type=int, default=2000, help="items created by the 4 writer clients")
    parser.add_argument("--batch", type=int, default=100, help="items per request of the batch create scenario")
    parser.add_argument("--port", type=int, default=0, help="gunicorn's port (default: a free one)")
    parser.add_argument("--seed", type=int, default=42, help="random seed of the data set")
    parser.add_argument("--explain", action="store_true", help="also time and EXPLAIN each list query in-process")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (SQLite data, logs)")
    parser.add_argument(
        "--reuse",
        type=Path,
        help="measure the data set a --keep run left in this directory instead of seeding (implies --keep)",
    )
    parser.add_argument(
        "--public", action="store_true", help="make every seeded item public (a catalogue the reader reads whole)"
    )
    parser.add_argument("--scenarios", default="", help="comma-separated read scenario keys to run (default: all)")
    parser.add_argument(
        "--prewarm",
        action="store_true",
        help="PostgreSQL: load the tenant databases into shared buffers (pg_prewarm) before measuring",
    )
    parser.add_argument(
        "--postgres-setting",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL server setting for the run (repeatable), e.g. shared_buffers=6GB; default: the server's",
    )
    args = parser.parse_args()
    only = {key.strip() for key in args.scenarios.split(",") if key.strip()}
    unknown = only - {key for key, _, _ in scenarios()}
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")

    os.chdir(ROOT)
    sys.path.insert(0, str(ROOT))
    rng = random.Random(args.seed)
    if args.reuse:
        args.keep = True
        work = args.reuse.resolve()
    else:
        work = Path(tempfile.mkdtemp(prefix="registry-bench."))
        work.chmod(0o755)  # scripts/postgres.sh runs the server as the "postgres" user, which must reach it
    environment = Environment(args.database, work, args.port or free_port(), postgres_settings=args.postgres_setting)
    results: dict[str, Any] = {
        "database": args.database,
        "items": args.items,
        "requests_per_scenario": args.requests,
        "public": args.public,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
    }
    log(f"work directory {work}")
    try:
        if args.database == "postgres":
            results["machine"]["postgres"] = environment.start_postgres(resume=bool(args.reuse))
            results["machine"]["postgres_settings"] = args.postgres_setting
            log(f"PostgreSQL {results['machine']['postgres']} on port {environment.pg_port}")
        environment.configure()
        seeded = reseeded(work, args) if args.reuse else seed_and_record(work, args, rng)
        results["seed"] = seeded["counts"]
        if args.prewarm and args.database == "postgres":
            started = time.perf_counter()
            results["prewarmed_blocks"] = environment.prewarm()
            log(f"prewarmed {results['prewarmed_blocks']} in {time.perf_counter() - started:.1f} s")
        environment.start_server()
        log(f"gunicorn up on port {environment.port}")
        results["reads"] = measure_reads(
            environment.port, seeded["reader_visible"], args.requests, args.warmup, args.budget, rng, only
        )
        if args.creates:
            log(f"creating {args.creates:,} items with {len(WRITERS)} clients")
            results["create"] = measure_creates(environment.port, args.creates, rng)
            log(f"  {results['create']['items_per_s']} items/s, {results['create']['errors']} errors")
            log(f"creating {args.creates:,} items in batches of {args.batch} with {len(WRITERS)} clients")
            results["create_batch"] = measure_creates(environment.port, args.creates, rng, batch=args.batch)
            log(f"  {results['create_batch']['items_per_s']} items/s, {results['create_batch']['errors']} errors")
        environment.stop_server()
        if args.explain:
            results["explain"] = explain(args.requests)
        results["machine"]["loadavg_end"] = os.getloadavg()
    finally:
        environment.stop_server()
        environment.stop_postgres(keep=args.keep)
        if args.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = RESULTS / f"{args.database}-{args.items}-{stamp}.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nresults: {output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
