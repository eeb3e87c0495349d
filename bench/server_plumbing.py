#!/usr/bin/env python
"""Whether the server plumbing earns its place: the gunicorn worker class, and the module hiding of wsgi.py.

    .venv/bin/python bench/server_plumbing.py memory --rounds 4      # ~1 min
    .venv/bin/python bench/server_plumbing.py workers --rounds 6 \
        --candidate registry_project.server.workers.BalancedThreadWorker     # ~9 min on 2 cores
    (the same) --rounds 5 --workloads create --database postgres

Each round starts gunicorn as `make run` does (`gunicorn -c gunicorn.conf.py`, SQLite, local storage) on
a fresh copy of one bootstrapped data directory, and the two variants alternate, so both meet the same
neighbours on a shared machine. The load average is recorded before each round.

``workers``: 2 workers, 4 keep-alive clients (separate processes, connecting one after another as scripts
start), each doing a fixed amount of work: GETs of /v1/version, then (a second server) item creates;
``--database postgres`` runs against a throwaway server from ``scripts/postgres.sh`` (items accumulate
over the rounds there; the alternating order ABBA... evens that out).
Variants: a ``--candidate`` worker class and gunicorn's own ``gthread``, each given with ``--worker-class``
on the command line, which overrides the configuration file. Reported per round: how the 4 connections
spread over the 2 workers (from the access log, which ends with the worker's pid), the throughput over
the wall time until the last client finished, and each worker's CPU seconds.

``memory``: 1 worker serves a few API requests (login, info, create, list, get, readyz), then its RSS
(/proc/<pid>/status) and USS (private pages, /proc/<pid>/smaps_rollup) are read, and it lists its
``sys.modules``. Variants: wsgi.py as it is (``hiding``), and ``no-hiding``, where a small wrapper app
imports the two modules wsgi.py guards (``jwt.algorithms``, ``rest_framework.compat``) before it, with
nothing hidden, so the hiding finds everything already imported and hides nothing.
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
CLIENTS = 4
ACCESS_LINE = re.compile(r'"\w+ \S+[?&]client=(\d+)\S* HTTP/1.1" \d+ .* <(\d+)>$')
WATCHED = ("requests", "cryptography", "django.contrib.postgres", "psycopg", "urllib3", "charset_normalizer")

PROBE_APP = '''\
"""registry_project.wsgi behind a wrapper that lists the worker's modules at /__modules."""
import json
import os
import sys

if os.environ["BENCH_VARIANT"] == "no-hiding":
    import jwt.algorithms  # noqa: F401 - what wsgi.py imports with extras hidden, here with nothing hidden
    import rest_framework.compat  # noqa: F401

from registry_project.wsgi import application as registry


def application(environ, start_response):
    if environ["PATH_INFO"] == "/__modules":
        body = json.dumps(sorted(name for name, module in sys.modules.items() if module is not None)).encode()
        start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
        return [body]
    return registry(environ, start_response)
'''


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def loadavg() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def children(pid: int) -> list[int]:
    return [int(child) for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def memory_mb(pid: int) -> dict[str, float]:
    status = Path(f"/proc/{pid}/status").read_text()
    rss_kb = int(re.search(r"^VmRSS:\s+(\d+)", status, re.MULTILINE)[1])
    rollup = dict(re.findall(r"^(\w+):\s+(\d+) kB", Path(f"/proc/{pid}/smaps_rollup").read_text(), re.MULTILINE))
    uss_kb = int(rollup["Private_Clean"]) + int(rollup["Private_Dirty"])
    return {"rss_MB": round(rss_kb / 1024, 1), "uss_MB": round(uss_kb / 1024, 1)}


class Server:
    """gunicorn as `make run` starts it, on a fresh copy of the bootstrapped data directory."""

    def __init__(self, work: Path, environment: dict[str, str], arguments: list[str]) -> None:
        data = work / "data"
        shutil.rmtree(data, ignore_errors=True)
        shutil.copytree(work / "template", data)
        self.port = int(environment["HTTP_PORT"])
        self.log = work / "gunicorn.log"
        with self.log.open("wb") as output:
            self.process = subprocess.Popen(
                [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", *arguments],
                cwd=ROOT,
                env=environment,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 60
        while self.log.read_text().count("Booting worker") < int(environment["WEB_CONCURRENCY"]):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(self.log.read_text()[-3000:])
            time.sleep(0.1)
        time.sleep(1)  # every worker has imported the app and waits on the socket

    def workers(self) -> list[int]:
        return children(self.process.pid)

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            self.process.wait(timeout=40)


def request(connection: http.client.HTTPConnection, method: str, path: str, body: Any = None, **headers: str) -> Any:
    payload = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": "application/json", **headers}
    if payload is not None:
        headers["Content-Type"] = "application/json"
    connection.request(method, path, body=payload, headers=headers)
    response = connection.getresponse()
    data = response.read()
    if response.status >= 300:
        raise RuntimeError(f"{method} {path}: {response.status} {data[:300]!r}")
    return json.loads(data) if data else None


def client(index: int, port: int, password: str, workload: str, count: int, ready: Any, start: Any) -> None:
    """One script keeping its connection: its first request picks the worker, then it waits for the start."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    if workload == "version":
        request(connection, "GET", f"/v1/version?client={index}")
    else:
        login = {"username": "admin", "password": password}
        token = request(connection, "POST", f"/v1/login?client={index}", login)["token"]
    ready.put(index)
    start.wait()
    started = time.time_ns()  # a new name prefix each round: on PostgreSQL the items of earlier rounds remain
    for n in range(count):
        if workload == "version":
            request(connection, "GET", f"/v1/version?client={index}")
        else:
            body = {
                "name": f"bench-{started}-{index}-{n}",
                "visibility": "private",
                "tags": ["bench", f"client-{index}"],
            }
            request(connection, "POST", f"/v1/models?client={index}", body, Authorization=token)
    connection.close()


def spread(log: Path) -> tuple[list[int], bool]:
    """Connections per worker (largest first), and whether each client stayed on one worker."""
    workers_of: dict[str, set[str]] = {}
    for line in log.read_text().splitlines():
        match = ACCESS_LINE.search(line)
        if match:
            workers_of.setdefault(match[1], set()).add(match[2])
    kept = len(workers_of) == CLIENTS and all(len(pids) == 1 for pids in workers_of.values())
    per_worker = Counter(pid for pids in workers_of.values() for pid in pids)
    return sorted(per_worker.values(), reverse=True), kept


def workers_round(work: Path, environment: dict[str, str], variant: str, workload: str, count: int) -> dict:
    arguments = ["--worker-class", variant]
    if environment.get("BENCH_CANDIDATE_PATH"):
        arguments += ["--pythonpath", environment["BENCH_CANDIDATE_PATH"]]
    load = loadavg()
    server = Server(work, {**environment, "WEB_CONCURRENCY": "2"}, arguments)
    context = multiprocessing.get_context("spawn")
    ready, start = context.Queue(), context.Event()
    password = environment["BENCH_PASSWORD"]
    processes = []
    try:
        for index in range(CLIENTS):  # one after another, as scripts start
            process = context.Process(target=client, args=(index, server.port, password, workload, count, ready, start))
            process.start()
            processes.append(process)
            ready.get(timeout=60)
            time.sleep(0.05)
        cpu_before = {pid: cpu_seconds(pid) for pid in server.workers()}
        started = time.perf_counter()
        start.set()
        for process in processes:
            process.join()
        elapsed = time.perf_counter() - started
        cpu = sorted((round(cpu_seconds(pid) - before, 1) for pid, before in cpu_before.items()), reverse=True)
        if any(process.exitcode for process in processes):
            raise RuntimeError(f"a client failed:\n{server.log.read_text()[-2000:]}")
        per_worker, kept = spread(server.log)
    finally:
        for process in processes:
            if process.is_alive():
                process.kill()
        server.stop()
    return {
        "variant": variant,
        "workload": workload,
        "loadavg": load,
        "connections_per_worker": per_worker,
        "each_client_kept_its_worker": kept,
        "requests_per_s": round(CLIENTS * count / elapsed, 1),
        "seconds": round(elapsed, 2),
        "worker_cpu_s": cpu,
    }


def memory_round(work: Path, environment: dict[str, str], variant: str) -> dict:
    load = loadavg()
    environment = {**environment, "WEB_CONCURRENCY": "1", "BENCH_VARIANT": variant}
    server = Server(work, environment, ["--pythonpath", str(work), "plumbing_probe:application"])
    try:
        connection = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
        login = {"username": "admin", "password": environment["BENCH_PASSWORD"]}
        token = request(connection, "POST", "/v1/login", login)["token"]
        request(connection, "GET", "/v1/info", Authorization=token)
        created = request(connection, "POST", "/v1/models", {"name": "probe", "tags": ["a"]}, Authorization=token)
        request(connection, "GET", "/v1/models", Authorization=token)
        request(connection, "GET", f"/v1/models/{created['_id']}", Authorization=token)
        request(connection, "GET", "/readyz")
        modules = set(request(connection, "GET", "/__modules"))
        connection.close()
        time.sleep(0.5)
        (worker,) = server.workers()
        figures = memory_mb(worker)
    finally:
        server.stop()
    loaded = [name for name in WATCHED if name in modules]
    return {"variant": variant, "loadavg": load, **figures, "modules": len(modules), "watched_loaded": loaded}


def start_postgres(work: Path) -> str:
    """A throwaway PostgreSQL server (stopped by ``stop_postgres``); the catalog database's URL."""
    port = free_port()
    work.chmod(0o755)  # scripts/postgres.sh runs the server as the "postgres" user, which must reach it
    subprocess.run(["bash", "scripts/postgres.sh", "start", str(work / "postgres"), str(port)], cwd=ROOT, check=True)
    command = ["psql", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "-c", "CREATE DATABASE registry_catalog"]
    subprocess.run(command, check=True, capture_output=True)
    return f"postgres://postgres@127.0.0.1:{port}/registry_catalog"


def stop_postgres(work: Path) -> None:
    if (work / "postgres").exists():
        subprocess.run(["bash", "scripts/postgres.sh", "stop", str(work / "postgres")], cwd=ROOT, check=False)


FIRST_LOGIN = """
import os
from django.conf import settings
from tenants_app import services
services.authenticate(
    tenant_id=settings.DEFAULT_TENANT,
    username=settings.DEFAULT_TENANT_ADMIN_USERNAME,
    password=settings.DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD,
    address=None,
    new_password=os.environ["BENCH_PASSWORD"],
)
"""


def prepare(work: Path, database: str) -> dict[str, str]:
    """A bootstrapped data directory (``template``), copied afresh for every round."""
    data = work / "data"
    environment = {
        **os.environ,
        "DATA_DIR": str(data),
        "DATABASE": start_postgres(work)
        if database == "postgres"
        else f"sqlite:///{data / 'registry-catalog.sqlite3'}",
        "HTTP_PORT": str(free_port()),
        "BIND_ADDRESS": "127.0.0.1",
        "DJANGO_SETTINGS_MODULE": "registry_project.settings",
    }
    for name in ("STORAGE", "PROTOCOL", "GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"):
        environment.pop(name, None)
    subprocess.run(
        [str(BIN / "python"), "manage.py", "bootstrap"], cwd=ROOT, env=environment, check=True, capture_output=True
    )
    secrets = json.loads((data / "secrets.json").read_text())
    environment["BENCH_PASSWORD"] = f"bench {secrets['DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD']}"
    # The first password is temporary: replace it once, in the template, as a first login would.
    subprocess.run(
        [str(BIN / "python"), "manage.py", "shell", "-c", FIRST_LOGIN],
        cwd=ROOT,
        env=environment,
        check=True,
        capture_output=True,
    )
    data.rename(work / "template")
    (work / "plumbing_probe.py").write_text(PROBE_APP)
    return environment


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("what", choices=("workers", "memory"))
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds per variant")
    parser.add_argument("--versions", type=int, default=1500, help="GETs of /v1/version per client and round")
    parser.add_argument("--creates", type=int, default=200, help="items each client creates per round")
    parser.add_argument("--workloads", nargs="+", choices=("version", "create"), default=["version", "create"])
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument("--candidate", help="workers: the worker class compared with gthread (module.Class)")
    parser.add_argument("--candidate-path", help="workers: a directory to import the candidate from (a scratch copy)")
    args = parser.parse_args()
    if args.what == "workers" and not args.candidate:
        parser.error("workers needs --candidate")

    work = Path(tempfile.mkdtemp(prefix="registry-plumbing-"))
    results: list[dict] = []
    try:
        environment = prepare(work, args.database)
        if args.candidate_path:
            environment["BENCH_CANDIDATE_PATH"] = str(Path(args.candidate_path).resolve())
        for number in range(args.rounds):
            if args.what == "memory":
                for variant in ("hiding", "no-hiding") if number % 2 == 0 else ("no-hiding", "hiding"):
                    results.append(memory_round(work, environment, variant))
                    print(json.dumps({"round": number + 1, **results[-1]}), flush=True)
                continue
            counts = {"version": args.versions, "create": args.creates}
            for workload, count in ((workload, counts[workload]) for workload in args.workloads):
                pair = (args.candidate, "gthread")
                for variant in pair if number % 2 == 0 else reversed(pair):
                    results.append(
                        {"database": args.database, **workers_round(work, environment, variant, workload, count)}
                    )
                    print(json.dumps({"round": number + 1, **results[-1]}), flush=True)
    finally:
        stop_postgres(work)
        shutil.rmtree(work, ignore_errors=True)
    output = ROOT / "bench" / "results" / f"plumbing-{args.what}-{args.database}-{time.strftime('%Y%m%dT%H%M%S')}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results: {output.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
