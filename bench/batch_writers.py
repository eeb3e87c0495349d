#!/usr/bin/env python
"""Concurrent batch creates against one database, as issue 17 item 2 found them: does any writer fail?

    .venv/bin/python bench/batch_writers.py                                # 4 clients x 5 batches of 1,000, SQLite
    .venv/bin/python bench/batch_writers.py --seeder 20000 --requests 3    # while api_latency's seeder writes too
    .venv/bin/python bench/batch_writers.py --batch 100 --requests 50      # the same items in smaller batches
    .venv/bin/python bench/batch_writers.py --requests 25 --readers 4      # 100,000 items while 4 clients read (WAL)

A fresh registry as ``make run`` starts it (``bench/api_latency.py``'s ``Environment``: 2 gunicorn workers,
SQLite or a throwaway PostgreSQL); the default tenant's admin creates one user per client; then every client
POSTs ``--requests`` arrays of ``--batch`` models (5 tags and 10 metadata entries each) on its own keep-alive
connection, all at once. With ``--seeder N``, ``api_latency.seed`` inserts N more items through the ORM in
another process at the same time (transactions of 5,000 items). With ``--readers N``, N more clients list
models (100 a page, a new page each time) until the writers are done: readers that keep old snapshots open
are what let SQLite's write-ahead log grow (issue 23). It reports each status, the latency of every request,
the items per second, on SQLite the largest and the last size of the tenant database's write-ahead log
(sampled every 0.2 s), and the server log's lines about locked or unavailable databases; the JSON goes to
``bench/results/``.
"""

# ruff: noqa: S311 - the random data of a benchmark needs no cryptographic generator

from __future__ import annotations

import argparse
import collections
import json
import os
import random
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import api_latency as bench  # noqa: E402


class WalWatch:
    """The size of a SQLite write-ahead log, sampled every 0.2 s in a thread: its peak and its last value."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.peak = 0
        self.last = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
        self.last = self._size()

    def _size(self) -> int:
        try:
            return self.path.stat().st_size
        except FileNotFoundError:
            return 0

    def _sample(self) -> None:
        while not self._stop.wait(0.2):
            self.peak = max(self.peak, self._size())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--batch", type=int, default=1000, help="items per request")
    parser.add_argument("--requests", type=int, default=5, help="requests per client")
    parser.add_argument("--seeder", type=int, default=0, help="items seeded through the ORM meanwhile")
    parser.add_argument("--readers", type=int, default=0, help="clients listing models while the writers write")
    options = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="registry-batch-writers."))
    work.chmod(0o755)  # scripts/postgres.sh runs PostgreSQL as its own user
    environment = bench.Environment(options.database, work, bench.free_port())
    results: dict[str, Any] = {"options": vars(options), "loadavg_start": os.getloadavg()}
    statuses: collections.Counter[int] = collections.Counter()
    latencies: list[float] = []
    failures: list[str] = []
    seeder = None
    reads = collections.Counter[int]()
    wal = WalWatch(work / "data" / "tenants" / "registry-default.sqlite3-wal")
    try:
        if options.database == "postgres":
            environment.start_postgres()
        environment.configure()
        environment.env["DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD"] = bench.PASSWORD
        environment.start_server()
        names = create_users(environment.port, options.clients + options.readers)
        if options.seeder:
            seeder = start_seeder(environment, options.seeder)
        started = time.perf_counter()

        def client(index: int) -> None:
            connection = bench.login(environment.port, names[index])
            rng = random.Random(index)
            for n in range(options.requests):
                body = [bench.new_model(f"c{index}-r{n}-{k}", "private", rng) for k in range(options.batch)]
                status, data, elapsed = connection.request("POST", "/v1/models", body)
                statuses[status] += 1
                latencies.append(elapsed)
                if status != 201:
                    failures.append(f"{status} after {elapsed:.1f} s: {data[:200].decode(errors='replace')}")
            connection.close()

        writing = threading.Event()
        writing.set()

        def reader(index: int) -> None:
            connection = bench.login(environment.port, names[index])
            page = 0
            while writing.is_set():
                page = page % 50 + 1
                status, _data, _elapsed = connection.request("GET", f"/v1/models?limit=100&page={page}")
                reads[status] += 1
            connection.close()

        readers = [threading.Thread(target=reader, args=(options.clients + index,)) for index in range(options.readers)]
        threads = [threading.Thread(target=client, args=(index,)) for index in range(options.clients)]
        wal.start()
        for thread in [*readers, *threads]:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started
        writing.clear()
        for thread in readers:
            thread.join()
        wal.stop()
        if seeder is not None:
            seeder.wait(timeout=900)
    finally:
        if seeder is not None and seeder.poll() is None:
            seeder.kill()
        environment.stop_server()
        environment.stop_postgres()
    log = (work / "gunicorn.log").read_text(errors="replace")
    created = statuses[201] * options.batch
    results.update(
        {
            "statuses": dict(statuses),
            "failures": failures[:10],
            "wall_s": round(wall, 1),
            "items_per_s": round(created / wall, 1),
            "latency": bench.summary(latencies),
            "reads": dict(reads),
            "wal_peak_mb": round(wal.peak / 1e6, 1),
            "wal_end_mb": round(wal.last / 1e6, 1),
            "log_lines": [line for line in log.splitlines() if "locked" in line or "unavailable" in line][:20],
            "loadavg_end": os.getloadavg(),
        }
    )
    bench.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = bench.RESULTS / f"batch-writers-{options.database}-{stamp}.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    latency = results["latency"]
    print(
        f"| {options.clients} clients x {options.requests} x {options.batch} items"
        f"{f', seeder {options.seeder:,}' if options.seeder else ''} | {dict(statuses)} "
        f"| {latency['p50_ms'] / 1000:.1f} / {latency['max_ms'] / 1000:.1f} s | {results['items_per_s']} items/s "
        f"| load {results['loadavg_start'][0]:.2f} → {results['loadavg_end'][0]:.2f} |"
    )
    if options.database == "sqlite":
        print(f"    WAL peak {results['wal_peak_mb']} MB, at the end {results['wal_end_mb']} MB; reads {dict(reads)}")
    for line in failures[:5] + results["log_lines"][:5]:
        print("   ", line)
    print(f"results: {output.relative_to(ROOT)}")
    return 0 if statuses[201] == sum(statuses.values()) else 1


def create_users(port: int, count: int) -> list[str]:
    admin = bench.Client(port)
    # The first password is temporary (DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD): this first login replaces it.
    first_login = {"username": "admin", "password": bench.PASSWORD, "new_password": f"admin {bench.PASSWORD}"}
    document, _ = admin.json("POST", "/v1/login", first_login)
    admin.token = document["token"]
    names = [f"writer{n}" for n in range(count)]
    for name in names:
        user = {"username": name, "password": bench.PASSWORD, "email": f"{name}@bench.example", "role": "regular"}
        admin.json("POST", "/v1/users", user, expect=201)
    admin.close()
    return names


def start_seeder(environment: bench.Environment, items: int) -> subprocess.Popen[bytes]:
    """``api_latency.seed`` in a process of its own, on the same databases as the server."""
    program = (
        "import random, sys; sys.path.insert(0, '.'); from bench import api_latency; "
        f"api_latency.seed({items}, random.Random(1))"
    )
    seeder = subprocess.Popen(
        [sys.executable, "-c", program], cwd=ROOT, env={**os.environ, **environment.env}, stdout=subprocess.DEVNULL
    )
    time.sleep(3)  # past its migrations and users: its item transactions run beside the clients'
    return seeder


if __name__ == "__main__":
    sys.exit(main())
