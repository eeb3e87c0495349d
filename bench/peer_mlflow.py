#!/usr/bin/env python
"""The registry against MLflow 3.17's model registry: same records, same queries, one run (issue 18 point 6).

    .venv/bin/python bench/peer_mlflow.py --database sqlite                  # 100,000 items, ~20-30 min on 2 cores
    .venv/bin/python bench/peer_mlflow.py --database postgres                # one throwaway server for both
    .venv/bin/python bench/peer_mlflow.py --items 2000 --requests 10 --rounds 1   # a smoke run

What it does (see bench/README.md, "peer_mlflow.py", for the results and how to read them):

1. MLflow lives in its own virtualenv, ``bench/.peer-venv`` (git-ignored), created on first use with
   ``python3 -m venv`` and ``pip install mlflow==3.17.2 psycopg2-binary``: a benchmark-only peer, never a
   dependency of the registry;
2. a fresh temporary directory; with ``postgres`` one throwaway server from ``scripts/postgres.sh`` holding
   both databases (``registry_catalog`` and ``mlflow``), always stopped again;
3. seeds our registry as ``bench/api_latency.py --public`` does (bulk, through the ORM; every item public),
   then starts ``mlflow server`` (2 workers, as our gunicorn has) so that it creates its schema, and copies the
   same records into MLflow's own tables with plain SQL: one ``registered_models`` row per item (same name,
   description and times) and one ``registered_model_tags`` row per tag (key = the tag, value ``true``) and
   per metadata entry (key = the metadata name, value = its JSON text: ``0.9312``, ``true``, ``pytorch-7``);
4. starts our server as ``make run`` does and measures each scenario on both, through HTTP, one keep-alive
   client per server, in alternating rounds (ours then MLflow, then MLflow then ours, …): the first-time form
   (every request new: ``name != 'no-such-<n>'`` or a shifted bound / pattern) and the repeated form (the same
   request again and again);
5. prints a markdown table (p50 / p95 ms, and MLflow ÷ ours of the p50s) with the load average at the start
   and the end, and writes the JSON to bench/results/ (git-ignored).
"""

# ruff: noqa: S311 - the random data of a benchmark needs no cryptographic generator

from __future__ import annotations

import argparse
import contextlib
import json
import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench import api_latency as ours  # noqa: E402

PEER_VENV = ROOT / "bench" / ".peer-venv"
MLFLOW_VERSION = "3.17.2"
MLFLOW_SEARCH = "/api/2.0/mlflow/registered-models/search?max_results=10"
QUIET = Path("/tmp/quiet")  # noqa: S108 - while it exists another benchmark runs on the shared machine: pause
REPEAT = 999  # the request number of the repeated form (first-time requests count from 0 and stay below it)


@dataclass(frozen=True)
class Scenario:
    """One query on both sides. ``ours``/``mlflow`` are templates with ``{n}`` (or ``{n:03d}``, ``{n:09d}``) for
    the request number; ``ours_repeated``/``mlflow_repeated`` override the repeated form (else the template
    with n = REPEAT). ``mlflow`` None: MLflow's filter grammar cannot say it."""

    key: str
    description: str
    ours: str
    mlflow: str | None
    ours_repeated: str | None = None
    mlflow_repeated: str | None = None


def items(document: Any) -> str:
    return "/v1/models?filter=" + quote(json.dumps(document, separators=(",", ":")))


def mlflow_path(filter_string: str | None) -> str:
    return MLFLOW_SEARCH + (f"&filter={quote(filter_string)}" if filter_string else "")


NEW = "no-such-{n}"  # a name condition that matches every item and changes with every request
TAG = ours.TAG_FILTER

SCENARIOS = [
    Scenario(
        "first_page",
        "first page, no filter (first-time: `name != <new>`)",
        items({"name": {"$ne": NEW}}),
        f"name != '{NEW}'",
        ours_repeated="/v1/models",
        mlflow_repeated="",
    ),
    Scenario(
        "tag",
        f"tag equality (`{TAG}`; MLflow tags.`{TAG}` = 'true')",
        items({"tags": TAG, "name": {"$ne": NEW}}),
        f"tags.`{TAG}` = 'true' AND name != '{NEW}'",
    ),
    Scenario(
        "name_prefix",
        "name starts with (`^model-0<nnn>` vs `name LIKE 'model-0<nnn>%'`)",
        items({"name": {"$regex": "^model-0{n:03d}"}}),
        "name LIKE 'model-0{n:03d}%'",
    ),
    Scenario(
        "name_contains_i",
        "name contains, case-insensitive (`EL-0<nnn>`, i vs `ILIKE '%EL-0<nnn>%'`)",
        items({"name": {"$regex": "EL-0{n:03d}", "$options": "i"}}),
        "name ILIKE '%EL-0{n:03d}%'",
    ),
    Scenario(
        "tag_and_metadata",
        f"tag `{TAG}` AND `metadata.quantized = true` (MLflow: two tags)",
        items({"tags": TAG, "metadata.quantized": True, "name": {"$ne": NEW}}),
        f"tags.`{TAG}` = 'true' AND tags.quantized = 'true' AND name != '{NEW}'",
    ),
    Scenario(
        "metadata_gte",
        "`metadata.accuracy >= 0.9` (MLflow: tags.accuracy LIKE '0.9%')",
        "/v1/models?filter=" + quote('{"metadata.accuracy":{"$gte":0.9{n:09d}}}'),
        f"tags.accuracy LIKE '0.9%' AND name != '{NEW}'",
    ),
    Scenario(
        "or_metadata",
        "`$or` of two metadata values (framework, optimizer)",
        items({"$or": [{"metadata.framework": "pytorch-7"}, {"metadata.optimizer": "adam-3"}], "name": {"$ne": NEW}}),
        None,
    ),
    Scenario(
        "in_metadata",
        "`metadata.framework $in` 3 values",
        items({"metadata.framework": {"$in": ["pytorch-7", "jax-3", "mit-9"]}, "name": {"$ne": NEW}}),
        None,
    ),
    Scenario(
        "range_two_metadata",
        "numeric ranges on two metadata fields (epochs, learning_rate)",
        "/v1/models?filter="
        + quote('{"metadata.epochs":{"$gte":1000,"$lt":20000},"metadata.learning_rate":{"$lt":50.{n:09d}}}'),
        None,
    ),
]


def numbered(template: str, n: int) -> str:
    """A template with its request number: quoted (our paths) or plain (MLflow filters)."""
    # Name patterns (``{n:03d}``) stride through the whole name range (379 is prime to 1,000): MLflow walks its
    # names in order, so patterns of the first names only would be its best case, of the last ones its worst.
    spread = f"{n * 379 % 1000:03d}"
    for placeholder, value in (("{n}", str(n)), ("{n:09d}", f"{n:09d}"), ("{n:03d}", spread)):
        template = template.replace(quote(placeholder), value).replace(placeholder, value)
    return template


def paths(scenario: Scenario, system: str, form: str, n: int) -> str:
    if system == "ours":
        if form == "repeated" and scenario.ours_repeated is not None:
            return scenario.ours_repeated
        return numbered(scenario.ours, REPEAT if form == "repeated" else n)
    assert scenario.mlflow is not None
    if form == "repeated" and scenario.mlflow_repeated is not None:
        return mlflow_path(scenario.mlflow_repeated)
    return mlflow_path(numbered(scenario.mlflow, REPEAT if form == "repeated" else n))


# ------------------------------------------------------------------------------------------ MLflow


def ensure_peer_venv() -> Path:
    """bench/.peer-venv with MLflow (and psycopg2 for its PostgreSQL store); created on first use."""
    mlflow = PEER_VENV / "bin" / "mlflow"
    if mlflow.exists():
        return mlflow
    ours.log(f"creating {PEER_VENV.relative_to(ROOT)} with mlflow=={MLFLOW_VERSION} (once)")
    subprocess.run(["python3", "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(PEER_VENV / "bin" / "pip"), "install", "-q", f"mlflow=={MLFLOW_VERSION}", "psycopg2-binary"], check=True
    )
    return mlflow


def peer_version() -> str:
    result = subprocess.run(
        [str(PEER_VENV / "bin" / "python"), "-c", "import mlflow; print(mlflow.__version__)"],
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


class MlflowServer:
    def __init__(self, work: Path, store: str, workers: int) -> None:
        self.work = work
        self.store = store
        self.workers = workers
        self.port = ours.free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.log = work / "mlflow.log"

    def start(self) -> None:
        (self.work / "mlflow-artifacts").mkdir(exist_ok=True)
        environment = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "DATABASE", "DATA_DIR"))}
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [
                    str(PEER_VENV / "bin" / "mlflow"),
                    "server",
                    "--backend-store-uri",
                    self.store,
                    "--default-artifact-root",
                    str(self.work / "mlflow-artifacts"),
                    "--host",
                    "127.0.0.1",
                    "--port",
                    str(self.port),
                    "--workers",
                    str(self.workers),
                ],
                cwd=self.work,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"mlflow server exited: {self.log.read_text()[-2000:]}")
            with contextlib.suppress(OSError, RuntimeError):
                client = ours.Client(self.port)
                try:
                    client.json("GET", MLFLOW_SEARCH)
                    return
                finally:
                    client.close()
            time.sleep(0.5)
        raise RuntimeError("mlflow server did not answer its search within 180 s")

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)  # the session this script started for mlflow
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()


def our_records() -> tuple[list[tuple[str, int, int, str]], list[tuple[str, str, str]]]:
    """What our tenant holds, as MLflow rows: (name, created ms, updated ms, description) per item and
    (name, key, value) per tag (value ``true``) and per metadata entry (its JSON text)."""
    from django.db import connections

    from items_app.models import Item, ItemTag, MetadataEntry
    from tenants_app.models import Tenant
    from tenants_app.tenancy import using_tenant

    with using_tenant(Tenant.objects.get()):
        names: dict[str, str] = {}
        models = []
        for item_id, name, created, updated, description in (
            Item.objects.of_kind("model")
            .values_list("id", "name", "timestamp", "lastmod", "description")
            .iterator(chunk_size=5000)
        ):
            names[item_id] = name
            models.append((name, int(created.timestamp() * 1000), int(updated.timestamp() * 1000), description))
        tags = [
            (names[item_id], tag, "true")
            for item_id, tag in ItemTag.objects.values_list("item_id", "tag_id").iterator(chunk_size=20000)
        ]
        tags.extend(
            (names[item_id], key, text)
            for item_id, key, text in MetadataEntry.objects.values_list("item_id", "name_id", "text").iterator(
                chunk_size=20000
            )
        )
    connections.close_all()
    return models, tags


def seed_mlflow(
    database: str, target: Any, models: list[tuple[str, int, int, str]], tags: list[tuple[str, str, str]]
) -> dict[str, Any]:
    """Bulk-insert into MLflow's own tables (its server has created them); ``target`` is the SQLite file or the
    PostgreSQL port. The workspace column keeps its server default (``default``)."""
    started = time.perf_counter()
    if database == "sqlite":
        connection = sqlite3.connect(target)
        with connection:
            connection.executemany(
                "INSERT INTO registered_models (name, creation_time, last_updated_time, description) VALUES (?, ?, ?, ?)",
                models,
            )
            connection.executemany("INSERT INTO registered_model_tags (name, key, value) VALUES (?, ?, ?)", tags)
        connection.close()
    else:
        import psycopg

        with psycopg.connect(host="127.0.0.1", port=target, user="postgres", dbname="mlflow") as connection:
            with connection.cursor() as cursor:
                with cursor.copy(
                    "COPY registered_models (name, creation_time, last_updated_time, description) FROM STDIN"
                ) as copy:
                    for row in models:
                        copy.write_row(row)
                with cursor.copy("COPY registered_model_tags (name, key, value) FROM STDIN") as copy:
                    for row in tags:
                        copy.write_row(row)
            connection.commit()
            connection.autocommit = True
            connection.execute("VACUUM ANALYZE")  # as for ours: what autovacuum does soon after a bulk load
    return {"models": len(models), "tags": len(tags), "seconds": round(time.perf_counter() - started, 1)}


# ------------------------------------------------------------------------------------------ measuring


def batch(
    client: ours.Client, scenario: Scenario, system: str, form: str, counter: list[int], args: argparse.Namespace
) -> tuple[list[float], int]:
    """One round's requests of one scenario on one system: warm-ups (unmeasured), then ``requests`` measured
    ones, fewer past ``budget`` seconds. Returns the latencies and the last answer's count (our totalDocs, or
    the number of models on MLflow's page)."""
    latencies: list[float] = []
    count = 0
    deadline = time.monotonic() + args.budget
    for index in range(args.warmup + args.requests):
        if index >= args.warmup and time.monotonic() > deadline and len(latencies) >= 10:
            break
        path = paths(scenario, system, form, counter[0])
        if form == "first-time":
            counter[0] += 1
        document, elapsed = client.json("GET", path)
        if index >= args.warmup:
            latencies.append(elapsed)
        count = document.get("totalDocs", 0) if system == "ours" else len(document.get("registered_models", []))
    return latencies, count


def wait_for_quiet() -> None:
    """Pause between batches while another benchmark on this shared machine asks for quiet (``/tmp/quiet``)."""
    if QUIET.exists():
        ours.log(f"{QUIET} exists: pausing")
        while QUIET.exists():
            time.sleep(10)
        ours.log("resuming")


def measure(our_port: int, mlflow_port: int, args: argparse.Namespace) -> dict[str, Any]:
    clients = {"ours": ours.login(our_port, ours.READER), "mlflow": ours.Client(mlflow_port)}
    latencies: dict[tuple[str, str, str], list[float]] = {}
    counts: dict[tuple[str, str, str], int] = {}
    counters = {(s.key, system): [0] for s in SCENARIOS for system in clients}
    loads = []
    try:
        for round_number in range(args.rounds):
            order = ("ours", "mlflow") if round_number % 2 == 0 else ("mlflow", "ours")
            ours.log(f"round {round_number + 1} of {args.rounds} ({' then '.join(order)}), load {os.getloadavg()}")
            loads.append(os.getloadavg())
            for scenario in SCENARIOS:
                for form in ("first-time", "repeated"):
                    for system in order:
                        if system == "mlflow" and scenario.mlflow is None:
                            continue
                        key = (scenario.key, form, system)
                        wait_for_quiet()
                        values, count = batch(
                            clients[system], scenario, system, form, counters[(scenario.key, system)], args
                        )
                        latencies.setdefault(key, []).extend(values)
                        counts[key] = count
                        median = ours.summary(values)["p50_ms"]
                        ours.log(f"  {scenario.key:18} {form:10} {system:6} p50 {median:8.1f} ms ({count})")
    finally:
        for client in clients.values():
            client.close()
    results: dict[str, Any] = {"loadavg_per_round": loads}
    for scenario in SCENARIOS:
        row: dict[str, Any] = {"description": scenario.description, "ours_path": paths(scenario, "ours", "x", 0)}
        if scenario.mlflow is not None:
            row["mlflow_path"] = paths(scenario, "mlflow", "x", 0)
        for (key, form, system), values in latencies.items():
            if key == scenario.key:
                row[f"{system} {form}"] = {**ours.summary(values), "count": counts[(key, form, system)]}
        results[scenario.key] = row
    return results


# ------------------------------------------------------------------------------------------ report


def cell(row: dict[str, Any], system: str, form: str) -> str:
    figures = row.get(f"{system} {form}")
    return "—" if figures is None else f"{figures['p50_ms']:,} / {figures['p95_ms']:,}"


def ratio(row: dict[str, Any], form: str) -> str:
    mine, theirs = row.get(f"ours {form}"), row.get(f"mlflow {form}")
    if mine is None or theirs is None:
        return "—"
    return f"{theirs['p50_ms'] / mine['p50_ms']:.2f}"


def table(results: dict[str, Any]) -> str:
    lines = [
        f"| scenario ({results['database']}, {results['items']:,} items, p50 / p95 ms) | ours first-time "
        "| MLflow first-time | MLflow ÷ ours | ours repeated | MLflow repeated | MLflow ÷ ours |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for scenario in SCENARIOS:
        row = results["reads"][scenario.key]
        lines.append(
            f"| {row['description']} | {cell(row, 'ours', 'first-time')} | {cell(row, 'mlflow', 'first-time')} "
            f"| {ratio(row, 'first-time')} | {cell(row, 'ours', 'repeated')} | {cell(row, 'mlflow', 'repeated')} "
            f"| {ratio(row, 'repeated')} |"
        )
    return "\n".join(lines)


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (ours/MLflow, MLflow/ours, …)")
    parser.add_argument("--requests", type=int, default=50, help="measured requests per scenario, form and round")
    parser.add_argument("--warmup", type=int, default=3, help="unmeasured requests before each of them")
    parser.add_argument(
        "--budget", type=float, default=30, help="seconds per scenario, form, system and round: fewer requests past it"
    )
    parser.add_argument("--workers", type=int, default=2, help="MLflow server workers (ours: WEB_CONCURRENCY=2)")
    parser.add_argument("--seed", type=int, default=42, help="random seed of the data set")
    parser.add_argument("--keep", action="store_true", help="keep the temporary directory (databases, logs)")
    args = parser.parse_args()

    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # a kill still stops both servers (the finally)
    ensure_peer_venv()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="registry-peer."))
    work.chmod(0o755)  # scripts/postgres.sh runs the server as the "postgres" user, which must reach it
    environment = ours.Environment(args.database, work, ours.free_port())
    peer: MlflowServer | None = None
    results: dict[str, Any] = {
        "database": args.database,
        "items": args.items,
        "rounds": args.rounds,
        "requests_per_round": args.requests,
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {**ours.machine(), "mlflow": peer_version(), "mlflow_workers": args.workers},
        "uptime_start": uptime(),
    }
    ours.log(f"work directory {work}; {results['uptime_start']}")
    try:
        if args.database == "postgres":
            results["machine"]["postgres"] = environment.start_postgres()
            import psycopg

            with psycopg.connect(
                host="127.0.0.1", port=environment.pg_port, user="postgres", dbname="postgres", autocommit=True
            ) as connection:
                connection.execute("CREATE DATABASE mlflow")
            # psycopg2 named: SQLAlchemy 2.1's default PostgreSQL driver is psycopg 3, not in the peer venv
            store = f"postgresql+psycopg2://postgres@127.0.0.1:{environment.pg_port}/mlflow"
            target: Any = environment.pg_port
        else:
            store = f"sqlite:///{work / 'mlflow.sqlite3'}"
            target = work / "mlflow.sqlite3"
        environment.configure()
        ours.log(f"seeding ours: {args.items:,} items, all public")
        seeded = ours.seed(args.items, rng, 1.0)
        results["seed_ours"] = seeded["counts"]
        ours.log(f"  seeded in {seeded['counts']['seconds']} s")
        peer = MlflowServer(work, store, args.workers)
        peer.start()
        ours.log(f"mlflow server up on port {peer.port} (schema created); copying the same records")
        started = time.perf_counter()
        models, tags = our_records()
        results["seed_mlflow"] = seed_mlflow(args.database, target, models, tags)
        results["seed_mlflow"]["seconds_with_export"] = round(time.perf_counter() - started, 1)
        del models, tags
        ours.log(f"  {results['seed_mlflow']}")
        environment.start_server()
        ours.log(f"gunicorn up on port {environment.port}")
        results["reads"] = measure(environment.port, peer.port, args)
        results["uptime_end"] = uptime()
        results["machine"]["loadavg_end"] = os.getloadavg()
    finally:
        if peer is not None:
            peer.stop()
        environment.stop_server()
        environment.stop_postgres(keep=args.keep)
        if args.keep:
            ours.log(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    ours.RESULTS.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    output = ours.RESULTS / f"peer-mlflow-{args.database}-{args.items}-{stamp}.json"
    output.write_text(json.dumps(results, indent=2) + "\n")
    print()
    print(table(results))
    print(f"\nload: start `{results['uptime_start']}`; end `{results['uptime_end']}`")
    print(
        f"seeding: ours {results['seed_ours']['seconds']} s (ORM bulk), "
        f"MLflow {results['seed_mlflow']['seconds_with_export']} s (SQL bulk copy of our rows)"
    )
    print(f"\nresults: {output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
