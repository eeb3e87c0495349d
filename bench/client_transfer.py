"""Upload and download throughput through the Python client (`mreg`) against curl, same file, same run.

    .venv/bin/python bench/client_transfer.py --size 1024 --rounds 3      # MiB; about 2 min on 2 cores

1. starts the registry as `make run` does (bootstrap + gunicorn -c gunicorn.conf.py, SQLite, local disk) in a
   fresh data directory on a free loopback port, and creates a write key for its admin;
2. writes one file of random bytes;
3. alternates, per round: curl uploads (raw body from disk, `-T`) of the bytes alone, and with the
   `X-Checksum-Sha256` that `sha256sum` computes first (what a careful script does); `mreg push` (a file of
   64 MiB or more: tus, hashed in a second thread while it is sent, the digest on the last PATCH); curl
   downloads (`-o`) alone, and followed by `sha256sum -c` against the known digest (what `mreg pull` does
   before renaming); `mreg pull`. Each upload goes to a new item, so the registry receives and hashes the
   bytes every time (its content store keeps one copy on disk), and `mreg push` finds no version of the
   file's size to look for the same bytes in;
4. prints the median of each and the client/curl ratio, with the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
MiB = 1024 * 1024
sys.path.insert(0, str(ROOT))
from bench.file_transfer import api, free_port, login, make_file, start_registry, wait_for  # noqa: E402


def timed(command: list[str], env: dict[str, str]) -> float:
    os.sync()  # the transfer before is on disk: none pays for writing back another's bytes
    started = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def timed_shell(script: str, env: dict[str, str]) -> float:
    return timed(["bash", "-c", script], env)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=1024, help="file size in MiB (1024)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds (3)")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="registry-client-bench-", dir=os.environ.get("BENCH_DIR")))
    port = free_port()
    server, env, secrets = start_registry(work, port)
    load_before = os.getloadavg()
    times: dict[str, list[float]] = {
        "curl upload, bytes only": [],
        "curl upload + sha256sum": [],
        "mreg push": [],
        "curl download, bytes only": [],
        "curl download + sha256sum -c": [],
        "mreg pull": [],
    }
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz")
        token = login(base, secrets["DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD"])
        key = api(base, token, "POST", "/v1/keys", {"name": "bench", "scopes": ["write"]})["key"]
        source = work / "model.bin"
        make_file(source, options.size * MiB)
        client_env = {**env, "REGISTRY_URL": base, "REGISTRY_KEY": key, "REGISTRY_CONFIG": str(work / "none.ini")}
        auth = f"Authorization: Bearer {key}"
        expected = subprocess.run(
            ["sha256sum", str(source)], capture_output=True, text=True, check=True
        ).stdout.split()[0]
        upload_flags = (
            f'-H "{auth}" -H "Content-Type: application/octet-stream" '
            "-H 'Content-Disposition: attachment; filename=\"model.bin\"'"
        )
        for round_number in range(options.rounds):
            plain_item = api(base, f"Bearer {key}", "POST", "/v1/models", {"name": f"plain-{round_number}"})["_id"]
            times["curl upload, bytes only"].append(
                timed_shell(
                    f'curl -fsS -o /dev/null -T "{source}" -X POST {upload_flags} {base}/v1/models/{plain_item}/versions',
                    client_env,
                )
            )
            curl_item = api(base, f"Bearer {key}", "POST", "/v1/models", {"name": f"curl-{round_number}"})["_id"]
            times["curl upload + sha256sum"].append(
                timed_shell(
                    f'sum=$(sha256sum "{source}" | cut -d" " -f1) && curl -fsS -o /dev/null -T "{source}" -X POST '
                    f'-H "X-Checksum-Sha256: $sum" {upload_flags} {base}/v1/models/{curl_item}/versions',
                    client_env,
                )
            )
            times["mreg push"].append(
                timed([str(BIN / "mreg"), "-q", "push", f"mreg-{round_number}", str(source)], client_env)
            )
            target = work / "downloaded.bin"
            times["curl download, bytes only"].append(
                timed_shell(f'curl -fsS -o "{target}" -H "{auth}" {base}/v1/models/{curl_item}/versions/1', client_env)
            )
            target.unlink()
            times["curl download + sha256sum -c"].append(
                timed_shell(
                    f'curl -fsS -o "{target}" -H "{auth}" {base}/v1/models/{curl_item}/versions/1 && '
                    f'echo "{expected}  {target}" | sha256sum -c -',
                    client_env,
                )
            )
            target.unlink()
            times["mreg pull"].append(
                timed([str(BIN / "mreg"), "-q", "pull", f"admin/mreg-{round_number}@1", str(target)], client_env)
            )
            target.unlink()
    finally:
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    load_after = os.getloadavg()
    mb = options.size * MiB / 1e6
    print(
        f"file {options.size} MiB, {options.rounds} alternating rounds; load average before {load_before}, after {load_after}"
    )
    print("| transfer | median s | MB/s | each round (s) |")
    print("|---|---:|---:|---|")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"| {name} | {median:.2f} | {mb / median:.0f} | {', '.join(f'{value:.2f}' for value in values)} |")
    for ours, theirs in (
        ("mreg push", "curl upload, bytes only"),
        ("mreg push", "curl upload + sha256sum"),
        ("mreg pull", "curl download, bytes only"),
        ("mreg pull", "curl download + sha256sum -c"),
    ):
        ratio = statistics.median(times[ours]) / statistics.median(times[theirs])
        print(f"{ours} / {theirs}: {ratio:.2f} times the time")


if __name__ == "__main__":
    main()
