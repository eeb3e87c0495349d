#!/usr/bin/env python
"""What writing events (issue 22's outbox) adds to a create: ``POST /v1/models`` p50, before and after.

    .venv/bin/python bench/events.py --before 8daa9de                    # SQLite and PostgreSQL, ~3 min
    .venv/bin/python bench/events.py --before 8daa9de --databases sqlite --rounds 10   # quick
    .venv/bin/python bench/events.py --before HEAD --strip-events        # only the events differ

Both sides are clean ``git worktree``s (``--before``: the commit before the events, ``--after``: HEAD by
default), made under a temporary directory and removed after, run with this virtualenv. With
``--strip-events`` the before side has the events of creates cut out of its copy (``strip_events``), so
other work committed since the events does not blur the difference. For each database,
each side runs in its own long-lived child process: a fresh registry (``manage.py bootstrap`` in a new
DATA_DIR; on PostgreSQL a new catalog on the server ``--postgres`` names, e.g. one that
``scripts/postgres.sh`` started) and a regular user. After ``--warmup`` creates each, the sides take turns
for ``--rounds`` rounds of ``--creates`` single-item creates (a name, 3 tags, 2 metadata entries), the order
swapping every round, so both meet the same machine load. Requests go through Django's test client: the
whole request path in process, no network, so the difference is the server's. It prints p50 and p95 per side
and database, the added p50 (overall, and the median of the per-round differences), and the load average
before and after.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"


def child(code: str) -> None:
    """Run in a child process whose working directory is the checkout ``code``: start a registry, then for each
    line ``N`` read from stdin send N creates and print their latencies (ms) as a JSON array."""
    sys.path.insert(0, code)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry_project.settings")
    import io

    import django

    django.setup()
    from django.core.management import call_command
    from rest_framework.test import APIClient

    from tenants_app import tenancy
    from tenants_app.models import Role, Tenant, User
    from tenants_app.tokens import RegistryToken

    call_command("bootstrap", stdout=io.StringIO())
    tenant = Tenant.objects.get()
    with tenancy.using_tenant(tenant):
        user = User.objects.create_user("bencher", "a long bench password", email="b@example.org", role=Role.REGULAR)
    client = APIClient(SERVER_NAME="127.0.0.1")
    client.credentials(HTTP_AUTHORIZATION=f"JWT {RegistryToken.issue(tenant, user)}")
    number = 0
    print("ready", flush=True)
    for line in sys.stdin:
        latencies = []
        for _ in range(int(line)):
            body = {
                "name": f"model-{number}",
                "tags": ["vision", "bench", f"t{number % 7}"],
                "metadata": [{"name": "accuracy", "value": 0.9}, {"name": "framework", "value": "onnx"}],
            }
            number += 1
            started = time.perf_counter()
            response = client.post("/v1/models", body, format="json")
            latencies.append((time.perf_counter() - started) * 1000)
            if response.status_code != 201:
                raise SystemExit(f"create answered {response.status_code}: {response.content[:300]!r}")
        print(json.dumps(latencies), flush=True)


class Side:
    """One checkout's registry in a child process, driven batch by batch."""

    def __init__(self, code: Path, database: str, postgres: str) -> None:
        self.data_dir = tempfile.mkdtemp(prefix="bench-events-")
        env = {**os.environ, "DATA_DIR": self.data_dir, "DJANGO_SETTINGS_MODULE": "registry_project.settings"}
        env.pop("DATABASE", None)
        if database == "postgres":
            name = f"bench_events_{os.getpid()}_{code.name}"
            env["DATABASE"] = f"{postgres.rstrip('/')}/{name}"
            env["DEFAULT_TENANT_DATABASE"] = name.replace("_", "-")  # one server serves both sides
        command = [str(PYTHON), str(Path(__file__).resolve()), "--child", str(code)]
        self.process = subprocess.Popen(
            command, cwd=code, env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )
        self._read()  # "ready"

    def _read(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"a child ended: status {self.process.wait()}")
        return line

    def creates(self, count: int) -> list[float]:
        assert self.process.stdin is not None
        self.process.stdin.write(f"{count}\n")
        self.process.stdin.flush()
        return [float(value) for value in json.loads(self._read())]

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        self.process.wait()
        shutil.rmtree(self.data_dir, ignore_errors=True)


def strip_events(tree: Path) -> None:
    """Cut out of checkout ``tree`` what a create does for events: building them (``change.emit`` in the item
    services) and writing them with their lock (the end of ``generation.changing``). Everything else, other
    sessions' changes included, is the same on both sides."""
    services = tree / "items_app" / "services.py"
    text = services.read_text()
    emit = "        change.emit(*(events.created_item("
    assert emit in text, "the create's emit moved: update strip_events"
    services.write_text("\n".join(line for line in text.split("\n") if not line.startswith(emit)))
    generation = tree / "items_app" / "generation.py"
    text = generation.read_text()
    write = (
        "        if change.events:\n            record_events(change.events)\n"
        "        else:\n            in_commit_order(require_tenant().alias)\n"
    )
    assert write in text, "changing() writes events differently: update strip_events"
    generation.write_text(text.replace(write, ""))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--before", help="the commit before the change (required unless --child)")
    parser.add_argument("--after", default="HEAD")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--postgres", default="postgres://postgres@127.0.0.1:55471", help="server URL, no database")
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--creates", type=int, default=50, help="creates per side and round")
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument(
        "--strip-events",
        action="store_true",
        help="the before side is --before with the events of creates cut out (strip_events): only they differ",
    )
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return 0
    if not args.before:
        parser.error("--before COMMIT is required")
    load_before = os.getloadavg()
    work = Path(tempfile.mkdtemp(prefix="bench-events-trees-"))
    trees = {"before": work / "before", "after": work / "after"}
    for side, commit in (("before", args.before), ("after", args.after)):
        subprocess.run(["git", "worktree", "add", "--detach", str(trees[side]), commit], cwd=ROOT, check=True)
    if args.strip_events:
        strip_events(trees["before"])
    samples: dict[tuple[str, str], list[float]] = {}
    medians: dict[tuple[str, str], list[float]] = {}
    try:
        for database in args.databases.split(","):
            sides = {side: Side(tree, database, args.postgres) for side, tree in trees.items()}
            try:
                for side in sides.values():
                    side.creates(args.warmup)
                for round_number in range(args.rounds):
                    order = ["before", "after"] if round_number % 2 == 0 else ["after", "before"]
                    for side_name in order:
                        latencies = sides[side_name].creates(args.creates)
                        samples.setdefault((database, side_name), []).extend(latencies)
                        medians.setdefault((database, side_name), []).append(statistics.median(latencies))
            finally:
                for side in sides.values():
                    side.close()
    finally:
        for tree in trees.values():
            subprocess.run(["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False)
    load_after = os.getloadavg()
    print(f"\nload average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    print("| database | side | creates | p50 ms | p95 ms |")
    print("|---|---|---:|---:|---:|")
    for (database, side), values in samples.items():
        p50, p95 = statistics.median(values), percentile(values, 0.95)
        print(f"| {database} | {side} | {len(values)} | {p50:.2f} | {p95:.2f} |")
    for database in args.databases.split(","):
        added = statistics.median(samples[(database, "after")]) - statistics.median(samples[(database, "before")])
        paired = [a - b for a, b in zip(medians[(database, "after")], medians[(database, "before")], strict=True)]
        print(
            f"{database}: events add {added:+.2f} ms p50 overall; median of the {len(paired)} paired rounds "
            f"{statistics.median(paired):+.2f} ms"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
