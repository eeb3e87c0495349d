"""What a pipeline pays: an API key against a JWT, and ``@alias`` / by-name addressing against an ordinal.

    .venv/bin/python bench/pipelines.py                      # 100,000 items, SQLite: about 4 min on 2 cores
    .venv/bin/python bench/pipelines.py --items 2000 --rounds 4   # a one-minute smoke run

One run: seeds the default tenant as ``bench/api_latency.py`` does (same users, vocabulary and items), starts
the server as ``make run`` does (gunicorn, 2 workers), gives one of the writers' items two versions and the
alias ``production``, and creates an API key (write scope) for that writer. Then ``--rounds`` rounds, each
taking every scenario in turn for ``--requests`` requests on its own keep-alive connection (so scenarios
alternate and meet the same machine load):

- auth: ``GET /v1/models/<id>`` with the writer's JWT, then with the writer's key (the document is cached per
  worker, so authentication is most of what is left);
- refs: ``GET …/versions/1/info`` (ordinal), ``…/versions/@production/info`` (alias), and
  ``/v1/models/by-name/<owner>/<name>/versions/@production/info`` (by name and alias), with the key.

It prints p50/p95 per scenario over all rounds, the differences the issue asks about, and the load average.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.api_latency import WRITERS, Client, Environment, free_port, login, seed  # noqa: E402


def upload(port: int, token: str, item: str, name: str, content: bytes) -> None:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    headers = {
        "Authorization": token,
        "Content-Type": "application/octet-stream",
        "Content-Disposition": f'attachment; filename="{name}"',
    }
    connection.request("POST", f"/v1/models/{item}/versions", body=content, headers=headers)
    response = connection.getresponse()
    body = response.read()
    connection.close()
    if response.status != 201:
        raise RuntimeError(f"upload answered {response.status}: {body[:300]!r}")


def timed(client: Client, path: str, requests: int) -> list[float]:
    latencies = []
    for _ in range(requests):
        status, data, elapsed = client.request("GET", path)
        if status != 200:
            raise RuntimeError(f"GET {path} answered {status}: {data[:300]!r}")
        latencies.append(elapsed)
    return latencies


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--requests", type=int, default=100, help="per scenario and round")
    args = parser.parse_args()
    os.chdir(ROOT)
    work = Path(tempfile.mkdtemp(prefix="registry-bench-pipelines."))
    environment = Environment("sqlite", work, free_port())
    try:
        environment.configure()
        started = time.monotonic()
        seed(args.items, random.Random(42))  # noqa: S311 - a reproducible data set, not a secret
        print(f"seeded {args.items:,} items in {time.monotonic() - started:.0f} s", flush=True)
        environment.start_server()
        writer = login(environment.port, WRITERS[0])
        mine = quote(json.dumps({"owner": WRITERS[0]}))
        item = writer.json("GET", f"/v1/models?limit=1&filter={mine}")[0]["docs"][0]
        for ordinal in (1, 2):
            upload(environment.port, str(writer.token), item["_id"], f"v{ordinal}.onnx", os.urandom(1000))
        writer.json("PUT", f"/v1/models/{item['_id']}/aliases/production", {"version": 1})
        key = writer.json("POST", "/v1/keys", {"name": "bench", "scopes": ["write"]}, expect=201)[0]["key"]
        by_id = f"/v1/models/{item['_id']}"
        by_name = f"/v1/models/by-name/{quote(item['owner'])}/{quote(item['name'])}"
        scenarios = {
            "get item, JWT": (str(writer.token), by_id),
            "get item, API key": (f"Bearer {key}", by_id),
            "version info by ordinal": (f"Bearer {key}", f"{by_id}/versions/1/info"),
            "version info by @alias": (f"Bearer {key}", f"{by_id}/versions/@production/info"),
            "by name and @alias": (f"Bearer {key}", f"{by_name}/versions/@production/info"),
        }
        load_before = os.getloadavg()
        results: dict[str, list[float]] = {name: [] for name in scenarios}
        for _round in range(args.rounds):
            for name, (authorization, path) in scenarios.items():
                client = Client(environment.port, authorization)
                timed(client, path, 5)  # warm: connection, worker caches
                results[name].extend(timed(client, path, args.requests))
                client.close()
        load_after = os.getloadavg()
    finally:
        environment.stop_server()
        shutil.rmtree(work, ignore_errors=True)
    print(f"\n{args.items:,} items, SQLite, {args.rounds} alternating rounds x {args.requests} requests per scenario")
    print(f"load average before {load_before}, after {load_after}\n")
    print("| scenario | p50 ms | p95 ms |")
    print("|---|---:|---:|")
    p50 = {}
    for name, values in results.items():
        p50[name] = statistics.median(values) * 1000
        print(f"| {name} | {p50[name]:.2f} | {percentile(values, 95):.2f} |")
    print(f"\nAPI key minus JWT, p50: {p50['get item, API key'] - p50['get item, JWT']:+.2f} ms")
    print(f"@alias minus ordinal, p50: {p50['version info by @alias'] - p50['version info by ordinal']:+.2f} ms")
    print(
        f"by name and @alias minus ordinal, p50: {p50['by name and @alias'] - p50['version info by ordinal']:+.2f} ms"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
