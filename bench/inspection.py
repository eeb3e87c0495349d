"""What reading a file's header at upload (issue 21, items_app/facts.py) adds to the upload of a big file.

    .venv/bin/python bench/inspection.py --size 1 --rounds 4     # GiB; prints a table, writes bench/results/

Two registries are started as `make run` starts them (bench/file_transfer.start_registry: bootstrap +
gunicorn, SQLite, local disk), one with INSPECT_UPLOADS=true (the default) and one with
INSPECT_UPLOADS=false, each in its own data directory. Each round uploads a fresh 1 GiB safetensors file
(a header naming one F32 tensor, then zeros, written sparse: fast to make, a distinct SHA-256 per file so no
upload is deduplicated) to both with `curl -T` (raw body), in alternating order, timing each upload and the
server's CPU time for it. The median of each side, and the added time in %, are reported; the target is at
most 5 %. On a shared machine those swing by more than the feature costs, so the readers' own time for the
same file (``inspect_file`` in-process, 50 times) is measured too. Waits while /tmp/quiet exists before each
round.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from file_transfer import (  # the bench folder is not a package
    GiB,
    api,
    free_port,
    login,
    start_registry,
    timed,
    tree_cpu_seconds,
    wait_for,
)

ROOT = Path(__file__).resolve().parent.parent


def wait_while_quiet() -> None:
    while os.path.exists("/tmp/quiet"):  # noqa: S108 - the shared machine's agreed flag
        time.sleep(20)


def safetensors_file(path: Path, size: int, tag: str) -> None:
    """A valid safetensors file of ``size`` bytes: one F32 tensor filling it, zeros written as a hole."""
    elements = (size - 4096) // 4
    header = {
        "__metadata__": {"bench": tag},
        "weight": {"dtype": "F32", "shape": [elements], "data_offsets": [0, elements * 4]},
    }
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as handle:
        handle.write(struct.pack("<Q", len(text)) + text)
        handle.truncate(8 + len(text) + elements * 4)


def inspection_cost(path: Path, repeats: int = 50) -> float:
    """Seconds one ``inspect_file`` of ``path`` takes in-process (the readers alone, no server): the part of
    an upload the feature adds, without the noise of a shared machine's upload times."""
    sys.path.insert(0, str(ROOT))
    from items_app.inspection import inspect_file  # pure: no Django needed

    size = path.stat().st_size
    started = time.perf_counter()
    for _ in range(repeats):
        with open(path, "rb") as handle:
            result = inspect_file(handle, size, path.name)
    assert result.format == "safetensors", result
    return (time.perf_counter() - started) / repeats


def upload(base: str, token: str, model: str, source: Path, server_pid: int) -> tuple[float, float, dict]:
    url = f"{base}/v1/models/{model}/versions"
    cpu_before = tree_cpu_seconds(server_pid)
    answer = source.with_suffix(".json")
    seconds = timed(
        ["curl", "-sS", "-f", "-o", str(answer), "-X", "POST", url, "-H", f"Authorization: {token}", "-H", "Expect:",
         "-H", "Content-Type: application/octet-stream",
         "-H", f'Content-Disposition: attachment; filename="{source.name}"', "-T", str(source)]
    )  # fmt: skip
    cpu = tree_cpu_seconds(server_pid) - cpu_before
    document = json.loads(answer.read_text())
    answer.unlink()
    return seconds, cpu, document


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=float, default=1, help="file size in GiB")
    parser.add_argument("--rounds", type=int, default=4, help="uploads to each registry")
    options = parser.parse_args()
    size = int(options.size * GiB)
    servers: dict[str, subprocess.Popen[bytes]] = {}
    bases: dict[str, str] = {}
    tokens: dict[str, str] = {}
    models: dict[str, str] = {}
    works: list[Path] = []
    times: dict[str, list[float]] = {"on": [], "off": []}
    cpus: dict[str, list[float]] = {"on": [], "off": []}
    try:
        for side in ("on", "off"):
            work = Path(tempfile.mkdtemp(prefix=f"registry-inspection-{side}-", dir=os.environ.get("BENCH_DIR")))
            works.append(work)
            port = free_port()
            os.environ["INSPECT_UPLOADS"] = "true" if side == "on" else "false"
            server, _env, secrets = start_registry(work, port)
            servers[side] = server
            bases[side] = f"http://127.0.0.1:{port}"
            wait_for(f"{bases[side]}/healthz")
            tokens[side] = login(bases[side], secrets["DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD"])
            models[side] = api(bases[side], tokens[side], "POST", "/v1/models", {"name": "bench"})["_id"]
        os.environ.pop("INSPECT_UPLOADS", None)
        probe = works[0] / "probe.safetensors"
        safetensors_file(probe, size, "probe")
        reader_seconds = inspection_cost(probe)
        probe.unlink()
        print(f"inspect_file in-process: {reader_seconds * 1e3:.3f} ms", flush=True)
        for round_number in range(options.rounds):
            order = ("on", "off") if round_number % 2 == 0 else ("off", "on")
            wait_while_quiet()
            for side in order:
                source = works[0] / f"round-{round_number}-{side}.safetensors"
                safetensors_file(source, size, f"{round_number}-{side}")
                subprocess.run(["sync"], check=True)
                seconds, cpu, document = upload(bases[side], tokens[side], models[side], source, servers[side].pid)
                source.unlink()
                expected = "safetensors" if side == "on" else "unknown"
                assert document["format"] == expected, document
                times[side].append(seconds)
                cpus[side].append(cpu)
                print(f"round {round_number + 1} {side:>3}: {seconds:6.2f} s, server CPU {cpu:5.2f} s", flush=True)
    finally:
        os.environ.pop("INSPECT_UPLOADS", None)
        for server in servers.values():
            server.send_signal(signal.SIGTERM)
            server.wait(timeout=30)
        for work in works:
            shutil.rmtree(work, ignore_errors=True)
    load = os.getloadavg()
    on, off = statistics.median(times["on"]), statistics.median(times["off"])
    cpu_on, cpu_off = statistics.median(cpus["on"]), statistics.median(cpus["off"])
    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "size_bytes": size,
        "rounds": options.rounds,
        "seconds": times,
        "server_cpu_seconds": cpus,
        "median_on_s": on,
        "median_off_s": off,
        "added_percent": 100 * (on - off) / off,
        "median_cpu_on_s": cpu_on,
        "median_cpu_off_s": cpu_off,
        "added_cpu_percent": 100 * (cpu_on - cpu_off) / cpu_off,
        "inspect_file_seconds": reader_seconds,
        "load_average": load,
    }
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"inspection-{int(time.time())}.json").write_text(json.dumps(result, indent=2))
    print(
        f"\n{size / GiB:g} GiB safetensors, {options.rounds} rounds each, medians: inspected {on:.2f} s, "
        f"not inspected {off:.2f} s, added {result['added_percent']:+.1f} %; server CPU {cpu_on:.2f} s vs "
        f"{cpu_off:.2f} s ({result['added_cpu_percent']:+.1f} %); the readers alone {reader_seconds * 1e3:.2f} ms "
        f"({100 * reader_seconds / off:.4f} % of the upload); load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f}"
    )


if __name__ == "__main__":
    main()
