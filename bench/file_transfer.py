"""Upload/download throughput of version files through the real server, next to the machine's ceilings.

    .venv/bin/python bench/file_transfer.py --sizes 1 4          # GiB; writes bench/results/transfer-*.json

What it does, all in one run (the ceilings swing between runs, so only ratios within one run mean much):
1. starts the registry exactly as `make run` does (bootstrap + gunicorn -c gunicorn.conf.py, SQLite, local
   storage) in a fresh data directory, on a free loopback port;
2. for each size, writes a test file (random 1 MiB blocks) in the data directory's file system;
3. ceilings: `cp` of the file on the same disk before the uploads, and `curl` of the file from a minimal
   static server on loopback (a gunicorn app answering with wsgi.file_wrapper, i.e. sendfile) after them,
   alternating with the downloads after a `sync` (3 rounds each), so both meet the same page cache;
4. uploads with `curl` (raw body, and multipart), downloads with `curl` (whole file, and a Range request of
   the second half), each timed, while sampling the server's process tree RSS every 20 ms; the server's CPU
   time per upload (steadier than throughput on a shared machine) and its idle RSS per process;
5. prints a table and writes JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DOWNLOAD_ROUNDS = 3  # alternating (static server, registry) download pairs per size
MiB = 1024 * 1024
GiB = 1024 * MiB


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def tree_pids(pid: int) -> list[int]:
    """A process and all its descendants, parents first."""
    found, pending = [], [pid]
    while pending:
        current = pending.pop(0)
        found.append(current)
        try:
            pending.extend(int(child) for child in Path(f"/proc/{current}/task/{current}/children").read_text().split())
        except (FileNotFoundError, ProcessLookupError):
            continue
    return found


def process_rss(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            return next(int(line.split()[1]) * 1024 for line in status if line.startswith("VmRSS:"))
    except (FileNotFoundError, ProcessLookupError, StopIteration):
        return 0


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process tree so far (a process's figure includes its finished threads).

    On a shared machine the throughput swings with the neighbours' load; the server's CPU time per upload
    does much less, so it shows what a change in the code did.
    """
    ticks = 0
    for current in tree_pids(pid):
        try:
            fields = Path(f"/proc/{current}/stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of proc(5))
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_rss(pid: int) -> int:
    """Resident memory of a process and all its descendants, in bytes."""
    return sum(process_rss(current) for current in tree_pids(pid))


class PeakRss:
    """Samples a process tree's RSS in a thread; ``peak`` is the highest value seen."""

    def __init__(self, pid: int) -> None:
        self.pid, self.peak, self.running = pid, 0, True
        self.thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while self.running:
            self.peak = max(self.peak, tree_rss(self.pid))
            time.sleep(0.02)

    def __enter__(self) -> PeakRss:
        self.peak = tree_rss(self.pid)
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.running = False
        self.thread.join()


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def make_file(path: Path, size: int) -> None:
    block = os.urandom(MiB)
    with open(path, "wb") as handle:
        for index in range(size // MiB):
            handle.write(block[index % 7 :] + block[: index % 7])  # distinct blocks, cheap to make


STATIC_APP = """
import os
def application(environ, start_response):
    path = os.environ["BENCH_FILE"]
    start_response("200 OK", [("Content-Length", str(os.path.getsize(path))), ("Content-Type", "application/octet-stream")])
    return environ["wsgi.file_wrapper"](open(path, "rb"), 1 << 20)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=float, nargs="+", default=[1, 4], help="file sizes in GiB")
    parser.add_argument("--keep", action="store_true", help="keep the data directory")
    options = parser.parse_args()
    if not shutil.which("curl"):
        sys.exit("curl is needed (apt-get install curl)")

    work = Path(tempfile.mkdtemp(prefix="registry-transfer-", dir=os.environ.get("BENCH_DIR")))
    port, static_port = free_port(), free_port()
    server, env, secrets = start_registry(work, port)
    (work / "static_app.py").write_text(STATIC_APP)
    static = None
    results = []
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(f"{base}/healthz")
        token = login(base, secrets["DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD"])
        for size_gib in options.sizes:
            size = int(size_gib * GiB)
            source = work / "var" / f"bench-{size_gib:g}g.bin"
            make_file(source, size)
            static = subprocess.Popen(
                [
                    str(BIN / "gunicorn"),
                    "-b",
                    f"127.0.0.1:{static_port}",
                    "-w",
                    "1",
                    "--chdir",
                    str(work),
                    "static_app:application",
                ],
                env={**env, "BENCH_FILE": str(source)},
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            wait_for(f"http://127.0.0.1:{static_port}/")
            results.append(measure(base, token, source, size, static_port, server.pid, work))
            static.send_signal(signal.SIGTERM)
            static.wait()
            static = None
            source.unlink()
    finally:
        if static is not None:
            static.terminate()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
        if not options.keep:
            shutil.rmtree(work, ignore_errors=True)
    report(results)


def start_registry(work: Path, port: int) -> tuple[subprocess.Popen[bytes], dict[str, str], dict[str, str]]:
    """The registry as `make run` starts it (bootstrap, then gunicorn), on SQLite and local disk in ``work``:
    the server process, its environment, and the secrets of its first start."""
    env = {
        **os.environ,
        "DATA_DIR": str(work / "var"),
        "DATABASE": f"sqlite:///{work / 'var' / 'registry-catalog.sqlite3'}",
        "HTTP_PORT": str(port),
        "MAX_UPLOAD_SIZE": "100G",
        "LOG_LEVEL": "warning",
    }
    env.pop("STORAGE", None)
    subprocess.run([str(BIN / "python"), "manage.py", "bootstrap"], cwd=ROOT, env=env, check=True, capture_output=True)
    secrets = json.loads((work / "var" / "secrets.json").read_text())
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return server, env, secrets


def login(base: str, password: str) -> str:
    """The default admin's token, from a fresh installation: its first password is temporary, so this login
    (one per installation) also replaces it, as the README's recipe does."""
    first_login = {"username": "admin", "password": password, "new_password": f"bench {password}"}
    request = urllib.request.Request(
        f"{base}/v1/login",
        data=json.dumps(first_login).encode(),
        headers={"Content-Type": "application/json"},
    )
    return json.loads(urllib.request.urlopen(request).read())["token"]


def api(base: str, token: str, method: str, path: str, body: dict | None = None) -> dict:
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": token, "Content-Type": "application/json"},
    )
    return json.loads(urllib.request.urlopen(request).read())


def measure(base: str, token: str, source: Path, size: int, static_port: int, server_pid: int, work: Path) -> dict:
    mb = size / 1e6
    copy_target = source.with_suffix(".copy")
    subprocess.run(["sync"], check=True)
    copy_seconds = timed(["cp", str(source), str(copy_target)])
    copy_target.unlink()

    # "Expect:" stops curl from waiting up to a second for a "100 Continue" before sending a large body.
    auth = f"Authorization: {token}"
    no_expect = ["-H", "Expect:"]
    row: dict = {"size_bytes": size, "copy_MBps": mb / copy_seconds}
    model = api(base, token, "POST", "/v1/models", {"name": f"bench-{size}-{time.time()}"})["_id"]
    url = f"{base}/v1/models/{model}/versions"

    cpu_before = tree_cpu_seconds(server_pid)
    with PeakRss(server_pid) as rss:
        seconds = timed(
            ["curl", "-sS", "-f", "-o", "/dev/null", "-X", "POST", url, "-H", auth, *no_expect, "-H", "Content-Type: application/octet-stream",
             "-H", 'Content-Disposition: attachment; filename="raw.bin"', "-T", str(source)]
        )  # fmt: skip
    cpu_after = tree_cpu_seconds(server_pid)
    row.update(
        upload_raw_MBps=mb / seconds,
        upload_raw_peak_rss_MB=rss.peak / 1e6,
        upload_raw_server_cpu_s=cpu_after - cpu_before,
    )

    with PeakRss(server_pid) as rss:
        seconds = timed(
            [
                "curl",
                "-sS",
                "-f",
                "-o",
                "/dev/null",
                "-X",
                "POST",
                url,
                "-H",
                auth,
                *no_expect,
                "-F",
                f"file=@{source};filename=multipart.bin",
            ]
        )
    row.update(
        upload_multipart_MBps=mb / seconds,
        upload_multipart_peak_rss_MB=rss.peak / 1e6,
        upload_multipart_server_cpu_s=tree_cpu_seconds(server_pid) - cpu_after,
    )

    # The download ceiling is taken beside the downloads, in the same state (the uploads leave gigabytes of
    # dirty pages whose write-back competes with any read that follows), and both are measured over
    # DOWNLOAD_ROUNDS alternating rounds (total bytes / total time): one transfer of either swings up to
    # 3x here, in both directions.
    subprocess.run(["sync"], check=True)
    static_times, download_times = [], []
    with PeakRss(server_pid) as rss:
        for _ in range(DOWNLOAD_ROUNDS):
            static_times.append(timed(["curl", "-sS", "-o", "/dev/null", f"http://127.0.0.1:{static_port}/"]))
            download_times.append(timed(["curl", "-sS", "-f", "-o", "/dev/null", f"{url}/1", "-H", auth]))
    row["static_curl_MBps"] = mb * DOWNLOAD_ROUNDS / sum(static_times)
    row.update(download_MBps=mb * DOWNLOAD_ROUNDS / sum(download_times), download_peak_rss_MB=rss.peak / 1e6)
    row["download_rounds_MBps"] = [[mb / a, mb / b] for a, b in zip(static_times, download_times, strict=True)]

    half = size // 2
    with PeakRss(server_pid) as rss:
        seconds = timed(["curl", "-sS", "-f", "-o", "/dev/null", f"{url}/1", "-H", auth, "-H", f"Range: bytes={half}-"])
    row.update(download_range_MBps=(size - half) / 1e6 / seconds, download_range_peak_rss_MB=rss.peak / 1e6)
    row["server_idle_rss_MB"] = tree_rss(server_pid) / 1e6
    row["server_idle_rss_per_process_MB"] = [process_rss(pid) / 1e6 for pid in tree_pids(server_pid)]  # master first
    return row


def report(results: list[dict]) -> None:
    out = ROOT / "bench" / "results"
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    (out / f"transfer-{stamp}.json").write_text(json.dumps(results, indent=2))
    print(
        "| size | cp MB/s | static curl MB/s | upload raw MB/s | upload multipart MB/s | server CPU s/GiB (raw / multipart) "
        "| download MB/s (vs curl) | range MB/s | peak RSS MB (upload / download) | idle RSS MB per process |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|")
    for row in results:
        size = f"{row['size_bytes'] / GiB:g} GiB"
        ratio = row["download_MBps"] / row["static_curl_MBps"]
        peak_up = max(row["upload_raw_peak_rss_MB"], row["upload_multipart_peak_rss_MB"])
        peak_down = max(row["download_peak_rss_MB"], row["download_range_peak_rss_MB"])
        per_gib = GiB / row["size_bytes"]
        cpu = f"{row['upload_raw_server_cpu_s'] * per_gib:.2f} / {row['upload_multipart_server_cpu_s'] * per_gib:.2f}"
        idle = " + ".join(f"{value:.0f}" for value in row["server_idle_rss_per_process_MB"])
        print(
            f"| {size} | {row['copy_MBps']:.0f} | {row['static_curl_MBps']:.0f} | {row['upload_raw_MBps']:.0f} | "
            f"{row['upload_multipart_MBps']:.0f} | {cpu} | {row['download_MBps']:.0f} ({ratio:.0%}) | "
            f"{row['download_range_MBps']:.0f} | {peak_up:.0f} / {peak_down:.0f} | {idle} |"
        )


if __name__ == "__main__":
    main()
