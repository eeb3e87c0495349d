#!/usr/bin/env python
"""Load and faults: many clients of several tenants, idle and slow connections, kill -9, a database and an
object store that stop and come back, a full disk. Every phase prints a table and is checked against its rule.

    .venv/bin/python bench/load_faults.py                                    # `make load`: SQLite, local disk
    .venv/bin/python bench/load_faults.py --database postgres --storage s3   # PostgreSQL and SeaweedFS, both started here
    .venv/bin/python bench/load_faults.py --quick                            # the bounded form CI runs (~30 s)

A fresh registry as ``make run`` starts it (``manage.py bootstrap``, then ``gunicorn -c gunicorn.conf.py`` with its
defaults: 2 workers of 8 threads) in a temporary ``DATA_DIR``; PostgreSQL (``scripts/postgres.sh``) and SeaweedFS
(``testing/seaweed.py``) when asked for, always stopped again. Three tenants are seeded through the API. Phases:

load      ``--clients`` users of the three tenants (threads in a few processes, one keep-alive connection
          each, no think time) for ``--seconds``: list and search with filters, get items, create items, batch
          creates of 100, edit tags and metadata, upload 2 MiB versions, download versions, sign in. Rule: no 5xx
          (a 503 is listed with its reason), no 4xx, no broken connection.
idle      normal requests alone, then beside 200 idle connections and 4 that send a request head one byte a
          second. Rule: every normal request answered, none with a 5xx.
kill      uploads, resumable uploads and batch creates in flight while a worker, then the whole server, is
          killed with SIGKILL (and started again as ``make run`` does). Rule: every batch entirely there or
          entirely absent, every version row with its file, and once ``manage.py cleanup_blobs --grace 0`` ran, no
          file without its row and no temporary upload; partial resumable uploads only for upload rows that
          exist (they expire by ``UPLOAD_SESSION_EXPIRY``).
database  PostgreSQL stopped (``pg_ctl stop -m fast``) and started again on its data; SQLite has no server to stop,
          so another program holds the write lock of the catalog and every tenant database (``BEGIN IMMEDIATE``)
          past ``DATABASE_LOCK_TIMEOUT``. Rule: PostgreSQL: every request answers 503 with ``Retry-After``; SQLite:
          every write does, reads go on (WAL); no 500; afterwards requests succeed without a restart.
storage   (``--storage s3``) the object store killed and started again on the same data and ports. Rule: uploads
          and downloads answer 503 with ``Retry-After``, other requests go on, then both recover.
disk      the workers' file size limit (``RLIMIT_FSIZE``) set below the upload's size, what the 507 tests do: a
          full disk as far as the upload's writes can tell (EFBIG, not ENOSPC). Rule: 507, no version, no file,
          no temporary file; with room again the same upload succeeds.

``--quick`` runs 4 clients, 5 s of load and short phases (no storage phase on local disk), with
``DATABASE_LOCK_TIMEOUT=2s`` so that the SQLite lock outage fits, and exits 1 when any rule is broken. Every run
writes its JSON to ``bench/results/`` (or ``--output``); bench/README.md explains how to read it.
"""

# ruff: noqa: S311 - the random choices of a load generator need no cryptographic generator

from __future__ import annotations

import argparse
import base64
import collections
import contextlib
import http.client
import io
import json
import math
import multiprocessing
import os
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.api_latency import PASSWORD, TAGS, free_port, machine, new_model, percentile  # noqa: E402

BIN = Path(sys.executable).parent
RESULTS = ROOT / "bench" / "results"
API_TOKEN = "load-faults-api-token-0123456789"  # noqa: S105 - a throwaway installation's secret
TENANTS = ("acme", "globex", "initech")
MIB = 1024 * 1024
UPLOAD_SIZE = 2 * MIB
DOWNLOAD_SIZE = MIB
BATCH = 100
TIMEOUT = 60.0  # seconds a client waits for an answer before it counts the request as failed

# The mixed load: how often each kind of request comes, in percent.
MIX = {
    "list": 31,
    "get": 22,
    "create": 10,
    "batch": 2,
    "edit": 12,
    "upload": 5,
    "download": 15,
    "sign in": 3,
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# ------------------------------------------------------------------------------------------ HTTP


@dataclass
class Answer:
    status: int  # 0: no answer (refused, reset, timed out)
    data: bytes
    headers: dict[str, str]
    elapsed: float
    error: str = ""

    def json(self) -> Any:
        return json.loads(self.data)

    @property
    def details(self) -> str:
        """The envelope's details of an error (or what went wrong on the connection)."""
        if self.status == 0:
            return self.error
        with contextlib.suppress(ValueError, AttributeError, TypeError):
            return str(self.json().get("details", ""))[:160]
        return self.data[:160].decode(errors="replace")


class Http:
    """One keep-alive connection, as a client library keeps one; opened again after any failure."""

    def __init__(self, port: int, token: str | None = None) -> None:
        self.port = port
        self.token = token
        self.connection: http.client.HTTPConnection | None = None
        self.used = False

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        raw: bytes | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        sent = {"Accept": "application/json", **(headers or {})}
        if self.token and "Authorization" not in sent:
            sent["Authorization"] = self.token
        payload = raw
        if body is not None:
            payload = json.dumps(body).encode()
            sent["Content-Type"] = "application/json"
        for attempt in (1, 2):
            started = time.perf_counter()
            reused = self.used
            try:
                if self.connection is None:
                    self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=TIMEOUT)
                    self.used = reused = False
                self.connection.request(method, path, body=payload, headers=sent)
                response = self.connection.getresponse()
                data = response.read()
                self.used = True
                if response.getheader("Connection", "").lower() == "close":
                    self.close()
                answer_headers = {name.lower(): value for name, value in response.getheaders()}
                return Answer(response.status, data, answer_headers, time.perf_counter() - started)
            except (OSError, http.client.HTTPException) as exc:
                self.close()
                # a kept-alive connection the server had just closed: retried once, as client libraries retry
                # it, and only for a GET (a POST may have been done before the connection broke)
                stale = isinstance(exc, http.client.RemoteDisconnected | BrokenPipeError)
                if attempt == 1 and reused and stale and method == "GET":
                    continue
                return Answer(0, b"", {}, time.perf_counter() - started, f"{type(exc).__name__}: {exc}"[:160])
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self.connection is not None:
            self.connection.close()
        self.connection = None
        self.used = False


def once(port: int, method: str, path: str, body: Any = None) -> Answer:
    """One request on a connection of its own (a sign-in, a health probe)."""
    client = Http(port)
    try:
        return client.call(method, path, body)
    finally:
        client.close()


def sign_in(port: int, tenant: str, username: str) -> Http:
    client = Http(port)
    answer = client.call("POST", "/v1/login", {"username": username, "password": PASSWORD, "tenant": tenant})
    if answer.status != 200:
        raise RuntimeError(f"login of {tenant}/{username}: {answer.status} {answer.details}")
    client.token = answer.json()["token"]
    return client


def upload(client: Http, item: str, name: str, content: bytes, multipart: bool = False) -> Answer:
    """A version upload: a raw body, or multipart/form-data as the original registry's clients send it."""
    path = f"/v1/models/{item}/versions"
    if not multipart:
        headers = {"Content-Type": "application/octet-stream", "Content-Disposition": f'attachment; filename="{name}"'}
        return client.call("POST", path, raw=content, headers=headers)
    boundary = f"----load{random.getrandbits(64):x}"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        + content
        + f"\r\n--{boundary}--\r\n".encode()
    )
    return client.call("POST", path, raw=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})


def filtered(document: Any, path: str = "/v1/models") -> str:
    return f"{path}?filter={quote(json.dumps(document, separators=(',', ':')))}"


# ------------------------------------------------------------------------------------------ the registry


@dataclass
class Registry:
    """The registry under test, started as `make run` starts it; its output goes through a pipe to a log
    file, so that no file limit of the workers (the disk phase) touches it."""

    work: Path
    environment: dict[str, str]
    port: int
    code: Path = ROOT  # the checkout that serves: this one, or a baseline's (``--code``)
    workers: int = 2
    process: subprocess.Popen[bytes] | None = None
    log_path: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log_path = self.work / "gunicorn.log"

    def run(self, *command: str, timeout: float = 120) -> str:
        """A ``manage.py`` command with the registry's environment; its output."""
        done = subprocess.run(
            [str(BIN / "python"), "manage.py", *command],
            cwd=self.code,
            env=self.environment,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {' '.join(command)} failed:\n{done.stdout}\n{done.stderr}")
        return done.stdout

    def start(self) -> float:
        """``manage.py bootstrap``, then gunicorn; the seconds until every worker serves."""
        started = time.monotonic()
        logged_before = self.log_path.stat().st_size if self.log_path.exists() else 0
        self.run("bootstrap")
        self.process = subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
            cwd=self.code,
            env=self.environment,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: the whole server can be killed at once
        )
        threading.Thread(target=self._copy_output, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + 60
        while once(self.port, "GET", "/v1/version").status != 200:
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not start:\n{self.log_path.read_text()[-3000:]}")
            time.sleep(0.1)
        serving = time.monotonic() + 15
        while time.monotonic() < serving:  # until every worker loaded Django and takes its share of connections
            with self.log_path.open("rb") as output:
                output.seek(logged_before)
                if len(re.findall(rb"Worker \d+ serving", output.read())) >= self.workers:
                    break
            time.sleep(0.1)
        return time.monotonic() - started

    def _copy_output(self, process: subprocess.Popen[bytes]) -> None:
        assert process.stdout is not None
        with self.log_path.open("ab") as output:
            for line in process.stdout:
                output.write(line)
                output.flush()

    def pids(self) -> list[int]:
        """The master, then its workers."""
        if self.process is None or self.process.poll() is not None:
            return []
        master = self.process.pid
        with contextlib.suppress(OSError):
            return [master, *map(int, Path(f"/proc/{master}/task/{master}/children").read_text().split())]
        return [master]

    def kill_worker(self) -> int:
        worker = self.pids()[-1]
        os.kill(worker, signal.SIGKILL)
        return worker

    def kill_all(self) -> None:
        """SIGKILL to the master and its workers at once, as a power cut: nothing gets to clean up."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=35)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=30)

    def memory(self) -> dict[str, float]:
        """Resident memory (MiB) of the master and of each worker."""
        rss = {}
        for index, pid in enumerate(self.pids()):
            with contextlib.suppress(OSError, StopIteration):
                status = Path(f"/proc/{pid}/status").read_text().splitlines()
                kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
                rss["master" if index == 0 else f"worker {pid}"] = round(kib / 1024, 1)
        return rss

    def cpu_seconds(self) -> float:
        ticks = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in self.pids():
            with contextlib.suppress(OSError):
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
                total += (int(fields[11]) + int(fields[12])) / ticks  # utime, stime
        return total

    def limit_file_size(self, limit: int) -> None:
        """What the workers may write per file: past it a write fails with EFBIG (Python ignores SIGXFSZ)."""
        for pid in self.pids()[1:]:
            _soft, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
            resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))

    def consistency(self) -> dict[str, Any]:
        """What the store and the databases hold against each other, seen through the registry's own code."""
        return consistency(self.environment)

    def cleanup_blobs(self) -> list[str]:
        """``manage.py cleanup_blobs --grace 0``: what a kill left behind, removed by the registry's own tool."""
        from django.core.management import call_command
        from django.db import connections

        django_for(self.environment)
        output = io.StringIO()
        call_command("cleanup_blobs", grace="0", stdout=output)
        connections.close_all()
        return output.getvalue().strip().splitlines()


class Postgres:
    """A throwaway PostgreSQL server (scripts/postgres.sh) that can be halted and resumed on its data."""

    def __init__(self, work: Path) -> None:
        self.directory = work / "postgres"
        self.port = free_port()
        self.running = False

    def script(self, *arguments: str) -> None:
        subprocess.run(["bash", "scripts/postgres.sh", *arguments], cwd=ROOT, check=True)

    def start(self) -> None:
        self.script("start", str(self.directory), str(self.port))
        self.running = True
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", dbname="postgres") as connection:
            connection.autocommit = True
            connection.execute("CREATE DATABASE registry_catalog")

    def halt(self) -> None:
        self.script("halt", str(self.directory))

    def resume(self) -> None:
        self.script("resume", str(self.directory), str(self.port))

    def remove(self) -> None:
        if self.running:
            self.script("stop", str(self.directory))
            self.running = False

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/registry_catalog"


# ------------------------------------------------------------------------------------------ seeding


@dataclass
class Seeded:
    """What the clients of one tenant know: its users, its public items, the versions they can download."""

    tenant: str
    users: list[str]
    public: list[str]
    downloads: list[str]  # paths of versions to download


def seed(port: int, clients: int, items: int) -> list[Seeded]:
    """Three tenants through the API, side by side: users (one per client), ``items`` items each (a third
    public), and 4 public items with a 1 MiB version to download."""
    per_tenant = [clients // len(TENANTS) + (1 if n < clients % len(TENANTS) else 0) for n in range(len(TENANTS))]
    seeded: dict[str, Seeded] = {}
    failures: list[BaseException] = []

    def one(tenant: str, count: int) -> None:
        try:
            seeded[tenant] = seed_tenant(port, tenant, count, items, random.Random(tenant))
        except BaseException as exc:
            failures.append(exc)

    threads = [threading.Thread(target=one, args=pair) for pair in zip(TENANTS, per_tenant, strict=True)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if failures:
        raise failures[0]
    return [seeded[tenant] for tenant in TENANTS]


def seed_tenant(port: int, tenant: str, count: int, items: int, rng: random.Random) -> Seeded:
    body = {"_id": tenant, "email": f"office@{tenant}.example", "admin_username": "admin", "admin_password": PASSWORD}
    expect(Http(port, API_TOKEN).call("POST", "/v1/tenants", body), 201)
    admin = sign_in(port, tenant, "admin")
    users = [f"user{n:02d}" for n in range(max(count, 1))]
    for name in users:
        user = {"username": name, "password": PASSWORD, "email": f"{name}@{tenant}.example", "role": "regular"}
        expect(admin.call("POST", "/v1/users", user), 201)
    public: list[str] = []
    for start in range(0, items, BATCH):
        bodies = [
            new_model(f"seed-{n}", "public" if n % 3 == 0 else "private", rng) for n in range(start, start + BATCH)
        ]
        documents = expect(admin.call("POST", "/v1/models", bodies), 201).json()
        public += [document["_id"] for document in documents if document["visibility"] == "public"]
    downloads = []
    for n in range(4):
        item = expect(admin.call("POST", "/v1/models", new_model(f"download-{n}", "public", rng)), 201).json()
        expect(upload(admin, item["_id"], f"weights-{n}.bin", rng.randbytes(DOWNLOAD_SIZE)), 201)
        downloads.append(f"/v1/models/{item['_id']}/versions/1")
    admin.close()
    return Seeded(tenant, users[:count], public, downloads)


def expect(answer: Answer, status: int) -> Answer:
    if answer.status != status:
        raise RuntimeError(f"expected {status}, got {answer.status}: {answer.details}")
    return answer


# ------------------------------------------------------------------------------------------ clients


Record = tuple[str, int, float, str]  # kind, status, seconds, details of a 5xx or of a failed connection


class User:
    """One client: a user of one tenant on one keep-alive connection, doing what users of a registry do."""

    def __init__(self, port: int, tenant: Seeded, username: str, seed: int) -> None:
        self.port = port
        self.tenant = tenant
        self.username = username
        self.rng = random.Random(seed)
        self.http = sign_in(port, tenant.tenant, username)
        self.mine: list[str] = []
        self.counter = 0
        home = expect(self.http.call("POST", "/v1/models", new_model(f"{username}-home", "private", self.rng)), 201)
        self.home = home.json()["_id"]
        self.mine.append(self.home)

    def request(self, kind: str) -> Answer:
        rng = self.rng
        self.counter += 1
        n = self.counter
        if kind == "list":
            documents = [
                {"tags": rng.choice(TAGS)},
                {"metadata.accuracy": {"$gte": round(rng.random(), 2)}},
                {"$or": [{"tags": rng.choice(TAGS)}, {"metadata.accuracy": {"$gte": 0.95}}]},
                {"owner": self.username},
                {"status": {"$in": ["test", "production"]}},
            ]
            if rng.random() < 0.15:
                return self.http.call("GET", filtered({"_id": {"$regex": f"^{rng.choice(TAGS)[:2]}"}}, "/v1/tags"))
            return self.http.call("GET", filtered(rng.choice(documents)) + f"&page={rng.randint(1, 3)}")
        if kind == "get":
            return self.http.call("GET", f"/v1/models/{rng.choice(self.tenant.public + self.mine)}")
        if kind == "create":
            answer = self.http.call("POST", "/v1/models", new_model(f"{self.username}-{n}", "private", rng))
            if answer.status == 201:
                self.mine.append(answer.json()["_id"])
            return answer
        if kind == "batch":
            bodies = [new_model(f"{self.username}-{n}-{k}", "private", rng) for k in range(BATCH)]
            return self.http.call("POST", "/v1/models", bodies)
        if kind == "edit":
            change = {
                "tags": {"remove": [rng.choice(TAGS)], "add": [rng.choice(TAGS)]},
                "metadata": {"add": [{"name": "accuracy", "value": round(rng.random(), 4)}]},
            }
            return self.http.call("PUT", f"/v1/models/{rng.choice(self.mine)}", change)
        if kind == "upload":
            return upload(self.http, self.home, f"v{n}.bin", rng.randbytes(UPLOAD_SIZE), multipart=n % 2 == 0)
        if kind == "download":
            return self.http.call("GET", rng.choice(self.tenant.downloads), headers={"Accept": "*/*"})
        if kind == "sign in":
            body = {"username": self.username, "password": PASSWORD, "tenant": self.tenant.tenant}
            return once(self.port, "POST", "/v1/login", body)
        raise ValueError(kind)


def record(kind: str, answer: Answer) -> Record:
    details = answer.details if answer.status == 0 or answer.status >= 400 else ""
    if answer.status == 503:
        details += f" [Retry-After: {answer.headers.get('retry-after', 'missing')}]"
    return (kind, answer.status, answer.elapsed, details)


def load_process(job: dict[str, Any], ready: Any, go: Any, results: Any) -> None:
    """One client process: its users sign in and make their home item, wait for every process, then run
    the mix until the deadline; sends back every request's record and its own CPU time."""
    tenants = {seeded.tenant: seeded for seeded in (Seeded(**raw) for raw in job["tenants"])}
    users: list[User] = []
    failures: list[str] = []

    def make(tenant: str, username: str, seed_value: int) -> None:
        try:
            users.append(User(job["port"], tenants[tenant], username, seed_value))
        except Exception as exc:
            failures.append(f"{tenant}/{username}: {exc}")

    starters = [threading.Thread(target=make, args=tuple(client)) for client in job["clients"]]
    for thread in starters:
        thread.start()
    for thread in starters:
        thread.join()
    ready.wait()  # every process's users are signed in
    go.wait()
    cpu_before = sum(os.times()[:2])
    deadline = time.monotonic() + job["seconds"]
    records: list[Record] = []
    kinds, weights = list(MIX), list(MIX.values())

    def run(user: User) -> None:
        while time.monotonic() < deadline:
            kind = user.rng.choices(kinds, weights)[0]
            records.append(record(kind, user.request(kind)))

    threads = [threading.Thread(target=run, args=(user,)) for user in users]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.put({"records": records, "cpu": sum(os.times()[:2]) - cpu_before, "failures": failures})


# ------------------------------------------------------------------------------------------ statistics


def stats(latencies: list[float]) -> dict[str, float]:
    values = sorted(value * 1000 for value in latencies)
    if not values:
        return {"n": 0}
    return {
        "n": len(values),
        "p50_ms": round(percentile(values, 50), 1),
        "p95_ms": round(percentile(values, 95), 1),
        "p99_ms": round(percentile(values, 99), 1),
        "max_ms": round(values[-1], 1),
    }


def by_kind(records: list[Record], seconds: float) -> dict[str, Any]:
    table: dict[str, Any] = {}
    for kind in [*sorted({r[0] for r in records}), "all"]:
        chosen = [r for r in records if kind in ("all", r[0])]
        row: dict[str, Any] = stats([r[2] for r in chosen if r[1]])
        row["per_s"] = round(len(chosen) / seconds, 1)
        row["statuses"] = dict(sorted(collections.Counter(str(r[1]) for r in chosen).items()))
        table[kind] = row
    return table


def markdown(title: str, table: dict[str, Any], first: str = "kind") -> str:
    lines = [
        f"\n### {title}\n",
        f"| {first} | n | per s | p50 ms | p95 ms | p99 ms | max ms | statuses |",
        "|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for name, row in table.items():
        statuses = ", ".join(f"{status}: {count}" for status, count in row.get("statuses", {}).items())
        cells = [row.get(key, "—") for key in ("n", "per_s", "p50_ms", "p95_ms", "p99_ms", "max_ms")]
        lines.append(f"| {name} | " + " | ".join(str(cell) for cell in cells) + f" | {statuses} |")
    return "\n".join(lines)


def reasons(records: list[Record]) -> dict[str, int]:
    """Why requests failed: status and details, counted (5xx and connections that got no answer)."""
    return dict(collections.Counter(f"{r[0]} {r[1]}: {r[3]}" for r in records if r[1] == 0 or r[1] >= 500))


@dataclass
class Verdict:
    broken: list[str] = field(default_factory=list)

    def rule(self, holds: bool, text: str) -> None:
        if not holds:
            self.broken.append(text)

    def document(self) -> dict[str, Any]:
        return {"ok": not self.broken, "broken": self.broken}


# ------------------------------------------------------------------------------------------ phases


@dataclass
class Run:
    options: argparse.Namespace
    registry: Registry
    tenants: list[Seeded]
    postgres: Postgres | None = None
    weed: Any = None

    @property
    def port(self) -> int:
        return self.registry.port

    def user(self, index: int = 0) -> tuple[Seeded, str]:
        tenant = self.tenants[index % len(self.tenants)]
        return tenant, tenant.users[(index // len(self.tenants)) % len(tenant.users)]

    def phase_load(self) -> dict[str, Any]:
        """``--clients`` users for ``--seconds`` of the mixed load."""
        options = self.options
        processes = max(1, min(4, math.ceil(options.clients / 13)))
        clients = [(self.user(n)[0].tenant, self.user(n)[1], n) for n in range(options.clients)]
        jobs = [
            {
                "port": self.port,
                "seconds": options.seconds,
                "tenants": [vars(tenant) for tenant in self.tenants],
                "clients": clients[p::processes],
            }
            for p in range(processes)
        ]
        context = multiprocessing.get_context("spawn")
        ready, go = context.Barrier(processes + 1), context.Barrier(processes + 1)
        results = context.Queue()
        children = [context.Process(target=load_process, args=(job, ready, go, results)) for job in jobs]
        for child in children:
            child.start()
        ready.wait(timeout=300)
        memory_before = self.registry.memory()
        cpu_before, load_before = self.registry.cpu_seconds(), os.getloadavg()
        started = time.monotonic()
        go.wait(timeout=60)
        reports = [results.get(timeout=options.seconds + 2 * TIMEOUT) for _ in children]
        wall = time.monotonic() - started
        server_cpu = self.registry.cpu_seconds() - cpu_before
        for child in children:
            child.join(timeout=30)
        records = [record for report in reports for record in report["records"]]
        table = by_kind(records, wall)
        verdict = Verdict()
        failures = [failure for report in reports for failure in report["failures"]]
        verdict.rule(not failures, f"clients that could not start: {failures[:3]}")
        verdict.rule(not any(r[1] >= 500 for r in records), f"5xx answers: {reasons(records)}")
        verdict.rule(not any(r[1] == 0 for r in records), f"requests without an answer: {reasons(records)}")
        client_errors = collections.Counter(f"{r[0]} {r[1]}: {r[3]}" for r in records if 400 <= r[1] < 500)
        verdict.rule(not client_errors, f"4xx answers: {dict(client_errors)}")
        verdict.rule(set(MIX) <= set(table), f"kinds of request that never ran: {set(MIX) - set(table)}")
        client_cpu = [round(report["cpu"] / wall, 2) for report in reports]
        result = {
            "clients": options.clients,
            "client_processes": processes,
            "seconds": round(wall, 1),
            "requests_per_s": table["all"]["per_s"],
            "by_kind": table,
            "reasons_5xx": reasons(records),
            "client_cpu_cores_per_process": client_cpu,
            "server_cpu_cores": round(server_cpu / wall, 2),
            "memory_mib_before": memory_before,
            "memory_mib_after": self.registry.memory(),
            "loadavg": [load_before, os.getloadavg()],
            "verdict": verdict.document(),
        }
        print(markdown(f"load: {options.clients} clients, {wall:.1f} s", table))
        print(
            f"\nclient CPU per process (cores): {client_cpu} (a process at 1.0 would be the bottleneck); "
            f"server CPU: {result['server_cpu_cores']} cores; memory MiB before {memory_before}, "
            f"after {result['memory_mib_after']}; load average {load_before[0]:.2f} → {os.getloadavg()[0]:.2f}"
        )
        return result

    def normal_requests(self, seconds: float) -> list[Record]:
        """Two keep-alive clients (get, list) and two that open a connection per request (get)."""
        tenant, username = self.user(0)
        token = sign_in(self.port, tenant.tenant, username).token
        deadline = time.monotonic() + seconds
        records: list[Record] = []

        def keep_alive(kind: str) -> None:
            client = Http(self.port, token)
            rng = random.Random(kind)
            while time.monotonic() < deadline:
                path = (
                    f"/v1/models/{rng.choice(tenant.public)}" if kind == "get" else filtered({"tags": rng.choice(TAGS)})
                )
                records.append(record(f"{kind}, kept alive", client.call("GET", path)))
            client.close()

        def new_connections() -> None:
            rng = random.Random(2)
            while time.monotonic() < deadline:
                client = Http(self.port, token)
                records.append(
                    record("get, new connection", client.call("GET", f"/v1/models/{rng.choice(tenant.public)}"))
                )
                client.close()

        threads = [threading.Thread(target=keep_alive, args=(kind,)) for kind in ("get", "list")]
        threads += [threading.Thread(target=new_connections) for _ in range(2)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return records

    def phase_idle(self) -> dict[str, Any]:
        """Normal requests alone, then beside 200 idle connections and 4 slow request heads, for long enough
        that the server cuts the slow heads (``REQUEST_HEAD_TIMEOUT``)."""
        seconds = self.options.phase_seconds
        head_timeout = float(self.registry.environment.get("REQUEST_HEAD_TIMEOUT", "20s").rstrip("s"))
        beside_seconds = max(seconds, head_timeout + 2)
        loads = [os.getloadavg()]
        alone = self.normal_requests(seconds)
        idle = [socket.create_connection(("127.0.0.1", self.port)) for _ in range(200)]
        slow = [SlowHead(self.port) for _ in range(4)]
        time.sleep(0.5)
        beside = self.normal_requests(beside_seconds)
        for head in slow:
            head.stop()
        still_open = sum(is_open(sock) for sock in idle)
        for sock in idle:
            sock.close()
        loads.append(os.getloadavg())
        table = {f"alone: {k}": v for k, v in by_kind(alone, seconds).items()}
        table.update({f"beside idle and slow: {k}": v for k, v in by_kind(beside, beside_seconds).items()})
        verdict = Verdict()
        for name, records in (("alone", alone), ("beside idle and slow connections", beside)):
            verdict.rule(not any(r[1] == 0 or r[1] >= 500 for r in records), f"{name}: {reasons(records)}")
        outcomes = [head.outcome for head in slow]
        verdict.rule(all("408" in outcome for outcome in outcomes), f"slow heads not cut with a 408: {outcomes}")
        title = f"idle: normal requests alone ({seconds:g} s), then beside 200 idle and 4 slow connections ({beside_seconds:g} s)"
        print(markdown(title, table, "requests"))
        print(f"\nslow heads (1 byte/s): {outcomes}; idle connections still open at the end: {still_open} of 200")
        return {
            "by_kind": table,
            "slow_heads": outcomes,
            "idle_still_open": still_open,
            "loadavg": loads,
            "verdict": verdict.document(),
        }

    def phase_kill(self) -> dict[str, Any]:
        """Uploads, resumable uploads and batches in flight; SIGKILL a worker, then the whole server."""
        seconds = self.options.phase_seconds
        stop = threading.Event()
        batches: dict[str, int] = {}  # batch tag -> the status its request got
        records: list[Record] = []
        writers = max(2, self.options.clients // 8)

        tokens: dict[str, str | None] = {}

        def prepared(index: int, name: str) -> tuple[Http, str, str]:
            tenant, username = self.user(index)
            client = sign_in(self.port, tenant.tenant, username)
            home = expect(client.call("POST", "/v1/models", {"name": name}), 201).json()["_id"]
            tokens[f"{tenant.tenant}/{username}"] = client.token
            return client, home, f"{tenant.tenant}/{username}"

        def writer(client: Http, home: str, owner: str, index: int) -> None:
            rng = random.Random(index)
            n = 0
            while not stop.is_set():
                n += 1
                tag = f"batch-{index}-{n}"
                bodies = [new_model(f"{tag}-{k}", "private", rng) | {"tags": [tag]} for k in range(BATCH)]
                answer = client.call("POST", "/v1/models", bodies)
                if not answer.error.startswith("ConnectionRefusedError"):  # a refused one never reached the server
                    batches[f"{owner}/{tag}"] = answer.status
                records.append(record("batch", answer))
                answer = upload(client, home, f"kill-{n}.bin", rng.randbytes(UPLOAD_SIZE), multipart=n % 2 == 0)
                records.append(record("upload", answer))
                if answer.status == 0:
                    time.sleep(0.2)  # the server is down: it comes back soon

        def resumable(client: Http, home: str, owner: str, index: int) -> None:
            n = 0
            while not stop.is_set():
                n += 1
                answer = tus_upload(client, home, f"tus-{n}.bin", 4 * MIB)
                records.append(record("resumable upload", answer))
                if answer.status == 0:
                    time.sleep(0.2)  # the server is down: it comes back soon

        threads = [threading.Thread(target=writer, args=(*prepared(n, f"kill-{n}"), n)) for n in range(writers)]
        threads.append(threading.Thread(target=resumable, args=(*prepared(writers, "kill-tus"), writers)))
        for thread in threads:
            thread.start()
        events = []
        time.sleep(seconds / 3)
        events.append(f"SIGKILL worker {self.registry.kill_worker()}")
        time.sleep(seconds / 3)
        self.registry.kill_all()
        events.append("SIGKILL the whole server")
        events.append(f"started again (make run) in {self.registry.start():.1f} s")
        time.sleep(seconds / 3)
        stop.set()
        for thread in threads:
            thread.join(timeout=2 * TIMEOUT)
        log(f"  kill: {', '.join(events)}; {len(batches)} batches tried; checking")
        counts = self.batch_counts(batches, tokens)
        before = self.registry.consistency()
        cleaned = self.registry.cleanup_blobs()
        after = self.registry.consistency()
        partial = {tag: count for tag, count in counts.items() if count not in (0, BATCH)}
        lost = [tag for tag, count in counts.items() if batches[tag] == 201 and count != BATCH]
        verdict = Verdict()
        tried = collections.Counter(r[0] for r in records if 200 <= r[1] < 300)
        verdict.rule(
            all(tried[kind] for kind in ("batch", "upload", "resumable upload")), f"nothing in flight: {tried}"
        )
        verdict.rule(not partial, f"half-done batches: {partial}")
        verdict.rule(not lost, f"batches answered 201 but not all there: {lost}")
        verdict.rule(
            not before["rows_without_files"], f"version rows without their file: {before['rows_without_files']}"
        )
        verdict.rule(not after["rows_without_files"], "cleanup_blobs removed a file a version uses")
        verdict.rule(
            not after["files_without_rows"], f"files without rows after cleanup_blobs: {after['files_without_rows']}"
        )
        verdict.rule(not after["temporary_files"], f"temporary uploads after cleanup_blobs: {after['temporary_files']}")
        verdict.rule(not after["stray_partials"], f"partial uploads no upload row knows: {after['stray_partials']}")
        verdict.rule(not any(r[1] >= 500 for r in records), f"5xx answers: {reasons(records)}")
        table = by_kind(records, seconds)
        print(markdown(f"kill: {', '.join(events)}", table))
        complete = sum(count == BATCH for count in counts.values())
        print(
            f"\nbatches: {complete} complete, {sum(c == 0 for c in counts.values())} absent, {len(partial)} partial; "
            f"before clean-up: {summarise(before)}; cleanup_blobs: {cleaned[-1] if cleaned else ''}; after: {summarise(after)}"
        )
        return {
            "events": events,
            "by_kind": table,
            "batches": {"tried": len(counts), "complete": complete, "partial": partial, "lost": lost},
            "store_before_cleanup": before,
            "cleanup_blobs": cleaned,
            "store_after_cleanup": after,
            "loadavg": os.getloadavg(),
            "verdict": verdict.document(),
        }

    def batch_counts(self, batches: dict[str, int], tokens: dict[str, str | None]) -> dict[str, int]:
        """How many items of each batch exist, asked through the API as their owner (``tokens`` by owner)."""
        counts = {}
        for key in batches:
            owner, tag = key.rsplit("/", 1)
            answer = Http(self.port, tokens[owner]).call("GET", filtered({"tags": tag}) + "&limit=1")
            counts[key] = int(expect(answer, 200).json()["totalDocs"])
        return counts

    def prober(self) -> Prober:
        tenant, username = self.user(1)
        return Prober(self.port, tenant, username)

    def outage(
        self, name: str, down: Callable[[], None], up: Callable[[], None], kinds: list[str], expected: Expected
    ) -> dict[str, Any]:
        """``down``, ``kinds`` of requests for a phase, ``up``, the same until a whole round succeeds."""
        seconds = self.options.phase_seconds
        loads = [os.getloadavg()]
        prober = self.prober()
        down()
        outage = prober.rounds(kinds, seconds)
        came_back = time.monotonic()
        up()
        restarted = time.monotonic() - came_back
        recovery = prober.rounds(kinds, 30, until_ok=True)
        recovered = time.monotonic() - came_back
        after = prober.rounds(kinds, 1)
        loads.append(os.getloadavg())
        verdict = Verdict()
        wrong = collections.Counter(problem for r in outage if (problem := expected(r)) is not None)
        verdict.rule(not wrong, f"during the outage: {dict(wrong)}")
        others = [r for r in outage + recovery if r[1] >= 500 and r[1] != 503]
        verdict.rule(not others, f"5xx other than 503: {reasons(others)}")
        verdict.rule(all(200 <= r[1] < 300 for r in after), f"not recovered without a restart: {reasons(after)}")
        table = {f"during: {k}": v for k, v in by_kind(outage, seconds).items()}
        table.update({f"after: {k}": v for k, v in by_kind(recovery + after, max(recovered, 1)).items()})
        title = f"{name}: {seconds:g} s down, back up in {restarted:.1f} s, requests succeed {recovered:.1f} s after"
        print(markdown(title, table, "requests"))
        print(f"\nanswers during the outage: {dict(collections.Counter(f'{r[0]} {r[1]}: {r[3]}' for r in outage))}")
        return {
            "by_kind": table,
            "answers_during": dict(collections.Counter(f"{r[0]} {r[1]}: {r[3]}" for r in outage)),
            "seconds_to_restart": round(restarted, 1),
            "seconds_to_recover": round(recovered, 1),
            "loadavg": loads,
            "verdict": verdict.document(),
        }

    def phase_database(self) -> dict[str, Any]:
        kinds = ["sign in", "list", "get", "create", "edit"]
        if self.postgres is not None:
            title = "database: PostgreSQL stopped and started again"
            return self.outage(title, self.postgres.halt, self.postgres.resume, kinds, database_503)
        locks = SqliteLocks(self.registry.environment)

        def writes_503(r: Record) -> str | None:
            return answered(r, 200) if r[0] in ("list", "get") else database_503(r)

        title = "database: SQLite's write locks held by another program"
        return self.outage(title, locks.hold, locks.release, kinds, writes_503)

    def phase_storage(self) -> dict[str, Any]:
        def transfers_503(r: Record) -> str | None:
            if r[0] not in ("upload", "download"):
                return answered(r, 200)
            return None if r[1] == 503 and r[3].startswith("storage:") and "Retry-After: 5" in r[3] else problem(r)

        kinds = ["list", "get", "upload", "download"]
        return self.outage(
            "storage: SeaweedFS killed and started again", self.weed.stop, self.weed.start, kinds, transfers_503
        )

    def phase_disk(self) -> dict[str, Any]:
        """An upload larger than what the workers may still write: 507, nothing kept; then room again."""
        tenant, username = self.user(2)
        client = sign_in(self.port, tenant.tenant, username)
        rng = random.Random(3)
        item = expect(client.call("POST", "/v1/models", {"name": "disk-full"}), 201).json()["_id"]
        written = [path.stat().st_size for path in (self.registry.work / "data").rglob("*.sqlite3*") if path.is_file()]
        limit = max(written, default=0) + 2 * MIB  # the databases' own files stay writable
        content = rng.randbytes(limit + MIB)
        self.registry.limit_file_size(limit)
        try:
            refused = upload(client, item, "too-big.bin", content)
            versions = expect(client.call("GET", f"/v1/models/{item}/versions"), 200).json()
            store = self.registry.consistency()
        finally:
            self.registry.limit_file_size(resource.RLIM_INFINITY)
        accepted = upload(client, item, "too-big.bin", content)
        client.close()
        verdict = Verdict()
        verdict.rule(refused.status == 507, f"the upload on a full disk answered {refused.status}: {refused.details}")
        verdict.rule(versions == [], f"a version was kept: {versions}")
        verdict.rule(not store["files_without_rows"], f"files kept: {store['files_without_rows']}")
        verdict.rule(not store["temporary_files"], f"temporary files kept: {store['temporary_files']}")
        verdict.rule(
            accepted.status == 201, f"with room again the upload answered {accepted.status}: {accepted.details}"
        )
        print(
            f"\n### disk: an upload of {len(content) / MIB:.1f} MiB with {limit / MIB:.1f} MiB writable per file\n\n"
            f"refused: {refused.status} ({refused.details}), {refused.elapsed * 1000:.0f} ms; versions kept: "
            f"{len(versions)}; store: {summarise(store)}; with room again: {accepted.status}"
        )
        return {
            "limit_bytes": limit,
            "upload_bytes": len(content),
            "refused": [refused.status, refused.details, round(refused.elapsed, 3)],
            "kept": {"versions": versions, "store": store},
            "accepted": accepted.status,
            "loadavg": os.getloadavg(),
            "verdict": verdict.document(),
        }


Expected = Callable[[Record], "str | None"]


def problem(r: Record) -> str:
    return f"{r[0]} {r[1]}: {r[3]}"


def answered(r: Record, status: int) -> str | None:
    return None if r[1] == status else problem(r)


def database_503(r: Record) -> str | None:
    """The answer of a database that does not answer: 503, the envelope naming the database, Retry-After."""
    return None if r[1] == 503 and r[3].startswith("database:") and "Retry-After: 5" in r[3] else problem(r)


class Prober:
    """One user's requests of each kind, side by side, during an outage and after; signed in and owning an
    item before the outage starts (a token stays valid while the database is away)."""

    def __init__(self, port: int, tenant: Seeded, username: str) -> None:
        self.port = port
        self.tenant = tenant
        self.username = username
        self.token = sign_in(port, tenant.tenant, username).token
        self.rng = random.Random(7)
        # a new name for each outage's prober (the seeded generator would give every prober the same one)
        created = Http(port, self.token).call("POST", "/v1/models", {"name": f"probe-{os.urandom(6).hex()}"})
        self.item = expect(created, 201).json()["_id"]

    def one(self, kind: str) -> Answer:
        client = Http(self.port, self.token)
        try:
            return self.ask(kind, client, random.Random(self.rng.random()))
        finally:
            client.close()

    def ask(self, kind: str, client: Http, rng: random.Random) -> Answer:
        if kind == "sign in":
            body = {"username": self.username, "password": PASSWORD, "tenant": self.tenant.tenant}
            return once(self.port, "POST", "/v1/login", body)
        if kind == "list":
            return client.call("GET", filtered({"tags": rng.choice(TAGS)}))
        if kind == "get":
            return client.call("GET", f"/v1/models/{rng.choice(self.tenant.public)}")
        if kind == "create":
            return client.call("POST", "/v1/models", new_model(f"probe-{rng.getrandbits(48):x}", "private", rng))
        if kind == "edit":
            return client.call("PUT", f"/v1/models/{self.item}", {"description": f"probe {rng.random()}"})
        if kind == "upload":
            return upload(client, self.item, f"probe-{rng.getrandbits(48):x}.bin", rng.randbytes(256 * 1024))
        if kind == "download":
            return client.call("GET", rng.choice(self.tenant.downloads), headers={"Accept": "*/*"})
        raise ValueError(kind)

    def round(self, kinds: list[str]) -> list[Record]:
        answers: dict[str, Record] = {}

        def ask(kind: str) -> None:
            answers[kind] = record(kind, self.one(kind))

        threads = [threading.Thread(target=ask, args=(kind,)) for kind in kinds]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return [answers[kind] for kind in kinds]

    def rounds(self, kinds: list[str], seconds: float, until_ok: bool = False) -> list[Record]:
        """Rounds of every kind at once (a write that waits for a lock does not hold up the reads) for
        ``seconds``, or until a whole round succeeded."""
        records: list[Record] = []
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            answers = self.round(kinds)
            records += answers
            if until_ok and all(200 <= r[1] < 300 for r in answers):
                break
            time.sleep(0.05)
        return records


def summarise(store: dict[str, Any]) -> str:
    return ", ".join(f"{key} {len(value) if isinstance(value, list) else value}" for key, value in store.items())


def is_open(sock: socket.socket) -> bool:
    """Whether the server still holds a connection we sent nothing on (it has not closed it)."""
    sock.setblocking(False)
    try:
        return sock.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


class SlowHead:
    """A client that sends a request head one byte a second; notes what the server did, and when."""

    HEAD = b"GET /v1/version HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: one-byte-a-second\r\nAccept: */*\r\n\r\n"

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.sock.settimeout(1.0)
        self.outcome = "still sending"
        self.stopped = threading.Event()
        self.started = time.monotonic()
        threading.Thread(target=self._send, daemon=True).start()

    def _send(self) -> None:
        for byte in self.HEAD:
            if self.stopped.is_set():
                return
            try:
                self.sock.send(bytes([byte]))
                answer = self.sock.recv(200)
            except TimeoutError:
                continue
            except OSError as exc:
                self.outcome = f"{type(exc).__name__} after {time.monotonic() - self.started:.0f} s"
                return
            status = answer.split(b"\r\n", 1)[0].decode(errors="replace") if answer else "closed"
            self.outcome = f"{status} after {time.monotonic() - self.started:.0f} s"
            return
        self.outcome = "whole head sent"

    def stop(self) -> None:
        self.stopped.set()
        self.sock.close()


class SqliteLocks:
    """Another program holding SQLite's write lock on the catalog and every tenant database (as a long
    maintenance job or a shell's open transaction would): plain ``sqlite3``, not the registry's queue."""

    def __init__(self, environment: dict[str, str]) -> None:
        catalog = Path(environment["DATABASE"].removeprefix("sqlite:///"))
        self.paths = [catalog, *sorted((catalog.parent / "tenants").glob("*.sqlite3"))]
        self.connections: list[sqlite3.Connection] = []

    def hold(self) -> None:
        for path in self.paths:
            connection = sqlite3.connect(path, isolation_level=None, timeout=30)
            connection.execute("BEGIN IMMEDIATE")
            self.connections.append(connection)

    def release(self) -> None:
        for connection in self.connections:
            connection.execute("ROLLBACK")
            connection.close()
        self.connections.clear()


def tus_upload(client: Http, item: str, name: str, size: int) -> Answer:
    """A resumable upload (tus 1.0) of ``size`` random bytes in 1 MiB chunks; the last answer, or the first
    failed one."""
    metadata = f"filename {base64.b64encode(name.encode()).decode()}"
    tus = {"Tus-Resumable": "1.0.0"}
    created = client.call(
        "POST",
        f"/v1/models/{item}/uploads",
        raw=b"",
        headers={**tus, "Upload-Length": str(size), "Upload-Metadata": metadata},
    )
    if created.status != 201:
        return created
    location = created.headers["location"]
    offset, answer = 0, created
    while offset < size:
        chunk = os.urandom(min(MIB, size - offset))
        headers = {**tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        answer = client.call("PATCH", location, raw=chunk, headers=headers)
        if answer.status != 204:
            return answer
        offset += len(chunk)
    return answer


# ------------------------------------------------------------------------------------------ consistency


def django_for(environment: dict[str, str]) -> None:
    """Django in this process, on the registry's databases and store (once: settings are read at start-up)."""
    import django
    from django.conf import settings

    if not settings.configured:
        os.environ.clear()
        os.environ.update(environment)
        django.setup()


def consistency(environment: dict[str, str]) -> dict[str, Any]:
    """Versions against stored files, and what uploads left behind."""
    django_for(environment)
    from django.conf import settings
    from django.db import connections

    from framework.files import storage
    from framework.files.resumable import partial_ids
    from items_app.models import UploadSession, Version
    from tenants_app import tenancy
    from tenants_app.models import Tenant

    report: dict[str, Any] = {
        "versions": 0,
        "rows_without_files": [],
        "files_without_rows": [],
        "temporary_files": [],
        "pending_partials": 0,
        "stray_partials": [],
    }
    blobs = storage.blobs()
    for tenant in Tenant.objects.order_by("id"):
        with tenancy.using_tenant(tenant):
            used = dict(Version.objects.values_list("blob_id", "size"))
            report["versions"] += Version.objects.count()
            stored = {key.rsplit("/", 1)[-1] for key, _ in storage.keys(tenant.id)}
            for sha256, size in used.items():
                key = storage.blob_key(tenant.id, sha256)
                if sha256 not in stored or blobs.size(key) != size:
                    report["rows_without_files"].append(key)
            report["files_without_rows"] += [f"{tenant.id}/{sha256}" for sha256 in sorted(stored - used.keys())]
            known = set(UploadSession.objects.values_list("pk", flat=True))
            for upload_id, _ in partial_ids(tenant.id):
                if upload_id in known:
                    report["pending_partials"] += 1
                else:
                    report["stray_partials"].append(f"{tenant.id}/{upload_id}")
    incoming = Path(settings.FILE_UPLOAD_TEMP_DIR)
    report["temporary_files"] = sorted(entry.name for entry in incoming.iterdir()) if incoming.is_dir() else []
    connections.close_all()
    return report


# ------------------------------------------------------------------------------------------ main


def environment_for(
    options: argparse.Namespace, work: Path, port: int, postgres: Postgres | None, weed: Any
) -> dict[str, str]:
    data = work / "data"
    environment = {
        **os.environ,
        "DATA_DIR": str(data),
        "DATABASE": postgres.url if postgres else f"sqlite:///{data / 'registry-catalog.sqlite3'}",
        "HTTP_PORT": str(port),
        "BIND_ADDRESS": "127.0.0.1",
        "API_TOKEN": API_TOKEN,
        "DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD": PASSWORD,
        "JWT_EXPIRATIONTIME": "3h",
        "JWT_RENEW_EXPIRATIONTIME": "4h",
        "DJANGO_SETTINGS_MODULE": "registry_project.settings",
    }
    for name in ("WEB_CONCURRENCY", "GUNICORN_THREADS", "STORAGE", "DATABASE_LOCK_TIMEOUT", "REQUEST_HEAD_TIMEOUT"):
        environment.pop(name, None)  # the defaults of `make run`, whatever this shell sets
    if options.quick:  # so that a lock outage and a slow request head end within a quick phase
        # 2 s: a batch create behind another on a loaded CI machine can wait over 1 s for the write lock
        environment.update({"DATABASE_LOCK_TIMEOUT": "2s", "REQUEST_HEAD_TIMEOUT": "1s"})
    if weed is not None:
        environment.update(
            {
                "STORAGE": "s3",
                "AWS_STORAGE_BUCKET_NAME": weed.s3.bucket,
                "AWS_S3_ENDPOINT_URL": weed.s3.endpoint,
                "AWS_ACCESS_KEY_ID": weed.s3.access_key,
                "AWS_SECRET_ACCESS_KEY": weed.s3.secret_key,
            }
        )
    return environment


PHASES = ("load", "idle", "kill", "database", "storage", "disk")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--storage", choices=("local", "s3"), default="local")
    parser.add_argument("--clients", type=int, default=50, help="clients of the mixed load (50)")
    parser.add_argument("--seconds", type=float, default=60, help="seconds of the mixed load (60)")
    parser.add_argument("--phase-seconds", type=float, default=None, help="seconds of each fault phase (10; quick 4)")
    parser.add_argument("--phases", nargs="+", choices=PHASES, default=None, help="only these phases")
    parser.add_argument(
        "--quick", action="store_true", help="the bounded form: 4 clients, short phases, exit 1 on a broken rule"
    )
    parser.add_argument("--output", type=Path, default=None, help="where to write the JSON (default bench/results/)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (data, server log)")
    parser.add_argument(
        "--code",
        type=Path,
        default=ROOT,
        help="the registry checkout to serve (default this one); e.g. a `git worktree` of an older commit, for a "
        "baseline run of the same load (the same virtualenv serves it)",
    )
    options = parser.parse_args()
    if options.quick:
        options.clients, options.seconds = min(options.clients, 4), min(options.seconds, 5)
    options.phase_seconds = options.phase_seconds or (4.0 if options.quick else 10.0)  # longer than the lock timeout
    phases = [phase for phase in options.phases or PHASES if phase != "storage" or options.storage == "s3"]
    work = Path(tempfile.mkdtemp(prefix="registry-load-faults."))
    work.chmod(0o755)  # scripts/postgres.sh runs PostgreSQL as its own user, which must reach its folder
    port = free_port()
    started = time.monotonic()
    results: dict[str, Any] = {
        "options": {key: str(value) for key, value in vars(options).items()},
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "phases": {},
    }
    postgres = Postgres(work) if options.database == "postgres" else None
    weed = None
    registry = None
    log(f"work directory {work}; load average {os.getloadavg()[0]:.2f}")
    try:
        if postgres is not None:
            postgres.start()
        if options.storage == "s3":
            from testing.seaweed import SeaweedServer

            (work / "s3").mkdir()
            weed = SeaweedServer(work / "s3")
            weed.start()
        registry = Registry(work, environment_for(options, work, port, postgres, weed), port, options.code.resolve())
        log(f"registry up in {registry.start():.1f} s on port {port}")
        tenants = seed(port, options.clients, BATCH if options.quick else 2 * BATCH)
        log(f"seeded {len(tenants)} tenants")
        run = Run(options, registry, tenants, postgres, weed)
        for phase in phases:
            log(f"phase {phase}")
            results["phases"][phase] = getattr(run, f"phase_{phase}")()
            verdict = results["phases"][phase]["verdict"]
            log(f"  {phase}: {'ok' if verdict['ok'] else 'BROKEN: ' + '; '.join(verdict['broken'])}")
    finally:
        if registry is not None:
            registry.stop()
        if weed is not None:
            weed.stop()
        if postgres is not None:
            postgres.remove()
        if options.keep:
            log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    results["seconds"] = round(time.monotonic() - started, 1)
    results["machine"]["loadavg_end"] = os.getloadavg()
    results["ok"] = all(phase["verdict"]["ok"] for phase in results["phases"].values())
    output = options.output or RESULTS / (
        f"load-faults-{options.database}-{options.storage}-{datetime.now(UTC).strftime('%Y%m%dT%H%M%SZ')}.json"
    )
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    log(f"{'all rules held' if results['ok'] else 'RULES BROKEN'} in {results['seconds']} s; results: {output}")
    return 0 if results["ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
