"""Idle connections against normal requests: our worker class and gunicorn's own gthread, same run.

    .venv/bin/python bench/idle_connections.py --idle 0 16 100 200 --rounds 2     # about 2 min

For each variant (alternating, each round), gunicorn starts as `make run` starts it (`-c gunicorn.conf.py`:
2 workers of 8 threads, SQLite, local disk) in a fresh data directory; then, for each count of idle
connections (opened, nothing sent, kept open), 20 normal requests (`GET /v1/version`, each on a new
connection, one after another) are timed from connect to the end of the answer. A request that waits
longer than 10 s counts as timed out, and so do the rest of its series (not waited for). Variants: ``ours`` (registry_project.server.workers, the default)
and ``gthread`` (`--worker-class gthread` on the command line, which overrides the configuration file).
"""

from __future__ import annotations

import argparse
import http.client
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
from bench.file_transfer import free_port, wait_for  # noqa: E402

REQUESTS = 20
TIMEOUT = 10.0


def start(work: Path, port: int, variant: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "DATA_DIR": str(work / "var"),
        "DATABASE": f"sqlite:///{work / 'var' / 'registry-catalog.sqlite3'}",
        "HTTP_PORT": str(port),
        "LOG_LEVEL": "warning",
    }
    subprocess.run([str(BIN / "python"), "manage.py", "bootstrap"], cwd=ROOT, env=env, check=True, capture_output=True)
    extra = ["--worker-class", "gthread"] if variant == "gthread" else []
    command = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", *extra]
    server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(f"http://127.0.0.1:{port}/healthz")
    time.sleep(1.0)  # both workers up
    return server


def one_request(port: int) -> float:
    started = time.perf_counter()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=TIMEOUT)
        connection.request("GET", "/v1/version")
        connection.getresponse().read()
        connection.close()
    except OSError:
        return float("inf")
    return time.perf_counter() - started


def measure(port: int, idle_count: int) -> list[float]:
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(idle_count)]
    try:
        time.sleep(0.3)
        times: list[float] = []
        for _ in range(REQUESTS):
            times.append(one_request(port))
            if times[-1] == float("inf"):  # the others would wait as long: counted as timed out, not waited for
                return times + [float("inf")] * (REQUESTS - len(times))
        return times
    finally:
        for sock in idle:
            sock.close()
        time.sleep(0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--idle", type=int, nargs="+", default=[0, 16, 100, 200])
    parser.add_argument("--rounds", type=int, default=2)
    options = parser.parse_args()
    results: dict[tuple[str, int], list[float]] = {}
    loads = [os.getloadavg()[0]]
    for round_number in range(options.rounds):
        for variant in ("ours", "gthread") if round_number % 2 == 0 else ("gthread", "ours"):
            work = Path(tempfile.mkdtemp(prefix="registry-idle-bench-"))
            port = free_port()
            server = start(work, port, variant)
            try:
                for count in options.idle:
                    results.setdefault((variant, count), []).extend(measure(port, count))
            finally:
                server.terminate()
                server.wait(timeout=40)
    loads.append(os.getloadavg()[0])
    print(
        f"{REQUESTS} requests per count per round, {options.rounds} rounds; load average {loads[0]:.2f} → {loads[1]:.2f}"
    )
    print("| idle connections | ours p50 / max ms | gthread p50 / max ms | gthread timed out |")
    print("|---:|---:|---:|---:|")
    for count in options.idle:
        cells = []
        for variant in ("ours", "gthread"):
            values = results[(variant, count)]
            finite = [value for value in values if value != float("inf")]
            p50 = statistics.median(values) * 1000 if finite else float("inf")
            worst = max(values) * 1000
            cells.append(f"{p50:.1f} / {worst:.1f}")
        timed_out = sum(value == float("inf") for value in results[("gthread", count)])
        print(f"| {count} | {cells[0]} | {cells[1]} | {timed_out} of {len(results[('gthread', count)])} |")


if __name__ == "__main__":
    main()
