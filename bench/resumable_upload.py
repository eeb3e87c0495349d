"""Resumable uploads (tus 1.0, 64 MiB chunks) against a plain raw upload of the same file, same run.

    .venv/bin/python bench/resumable_upload.py --size 4096 --rounds 4     # MiB; about 3 min on 2 cores

1. starts the registry as `make run` does (bootstrap + gunicorn -c gunicorn.conf.py, SQLite, local disk) in a
   fresh data directory on a free loopback port;
2. writes one file of random bytes;
3. alternates, per round (order swapped every round): one raw upload (``POST …/versions``, the whole file
   as one body), and one tus upload (create, then ``PATCH`` chunks of ``--chunk`` MiB). Both are sent by the
   same code, ``socket.sendfile`` from the file (as curl would, no Python copy of the bytes), each to a new
   item, so the registry receives, hashes and stores every byte every time; ``sync`` before each, so no
   upload pays for writing back the one before it (without it, the second of a pair was up to 50 % slower);
4. once: a tus upload whose connection is cut half way through the file (mid-chunk), then resumed from the
   offset the server reports (``HEAD``): the bytes sent in total;
5. the server's peak memory (RSS of gunicorn and its workers) during the uploads against before them;
6. prints medians, the tus/raw throughput ratio and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import base64
import http.client
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MiB = 1024 * 1024
sys.path.insert(0, str(ROOT))
from bench.file_transfer import PeakRss, api, free_port, login, make_file, start_registry, tree_rss, wait_for  # noqa: E402


class Sender:
    """One keep-alive connection that sends requests whose body is a range of a file (``sendfile``)."""

    def __init__(self, port: int, token: str) -> None:
        self.port, self.token = port, token
        self.connection = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        self.sent = 0  # body bytes handed to the kernel

    def request(
        self,
        method: str,
        path: str,
        headers: dict[str, str],
        file: Path | None = None,
        offset: int = 0,
        count: int = 0,
        cut_after: int | None = None,
    ) -> http.client.HTTPResponse | None:
        self.connection.putrequest(method, path, skip_accept_encoding=True)
        for name, value in {"Authorization": self.token, "Content-Length": str(count), **headers}.items():
            self.connection.putheader(name, value)
        self.connection.endheaders()
        if file is not None and count:
            with file.open("rb") as source:
                sending = count if cut_after is None else cut_after
                self.sent += self.connection.sock.sendfile(source, offset, sending)
            if cut_after is not None:  # the link drops: the server sees the connection end mid-body
                self.connection.close()
                self.connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=600)
                return None
        response = self.connection.getresponse()
        response.read()
        if response.status >= 400:
            raise RuntimeError(f"{method} {path}: {response.status}")
        return response


def new_item(base: str, token: str, name: str) -> str:
    return api(base, token, "POST", "/v1/models", {"name": name})["_id"]


def raw_upload(sender: Sender, item: str, file: Path) -> None:
    headers = {"Content-Type": "application/octet-stream", "Content-Disposition": 'attachment; filename="big.bin"'}
    sender.request("POST", f"/v1/models/{item}/versions", headers, file, 0, file.stat().st_size)


def tus_upload(sender: Sender, item: str, file: Path, chunk: int, cut_at: int | None = None) -> None:
    size = file.stat().st_size
    tus = {"Tus-Resumable": "1.0.0"}
    metadata = f"filename {base64.b64encode(b'big.bin').decode()}"
    created = sender.request(
        "POST", f"/v1/models/{item}/uploads", {**tus, "Upload-Length": str(size), "Upload-Metadata": metadata}
    )
    assert created is not None
    location = created.getheader("Location")
    offset = 0
    while offset < size:
        count = min(chunk, size - offset)
        headers = {**tus, "Upload-Offset": str(offset), "Content-Type": "application/offset+octet-stream"}
        if cut_at is not None and offset <= cut_at < offset + count:
            sender.request("PATCH", location, headers, file, offset, count, cut_after=cut_at - offset)
            cut_at = None
            time.sleep(0.5)
            head = sender.request("HEAD", location, tus)
            assert head is not None
            offset = int(head.getheader("Upload-Offset"))
            continue
        answer = sender.request("PATCH", location, headers, file, offset, count)
        assert answer is not None
        offset = int(answer.getheader("Upload-Offset"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=4096, help="file size in MiB (4096)")
    parser.add_argument("--chunk", type=int, default=64, help="tus chunk size in MiB (64)")
    parser.add_argument("--rounds", type=int, default=4, help="alternating rounds, each order half of them (4)")
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="registry-resumable-bench-", dir=os.environ.get("BENCH_DIR")))
    port = free_port()
    server, _env, secrets = start_registry(work, port)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for(f"{base}/healthz")
        token = login(base, secrets["DEFAULT_TENANT_ADMIN_TEMPORARY_PASSWORD"])
        source = work / "big.bin"
        make_file(source, options.size * MiB)
        size = source.stat().st_size
        load_before = os.getloadavg()
        idle_rss = tree_rss(server.pid)
        times: dict[str, list[float]] = {"raw upload (one body)": [], f"tus, {options.chunk} MiB chunks": []}
        peaks: list[int] = []
        for round_number in range(options.rounds):
            order = list(times) if round_number % 2 == 0 else list(reversed(times))
            for name in order:
                sender = Sender(port, token)
                item = new_item(base, token, f"{name[:3]}-{round_number}")
                os.sync()  # the last upload's dirty pages are on disk: no upload pays for the one before it
                with PeakRss(server.pid) as peak:
                    started = time.perf_counter()
                    if name.startswith("raw"):
                        raw_upload(sender, item, source)
                    else:
                        tus_upload(sender, item, source, options.chunk * MiB)
                    times[name].append(time.perf_counter() - started)
                peaks.append(peak.peak)
        sender = Sender(port, token)
        tus_upload(sender, new_item(base, token, "cut"), source, options.chunk * MiB, cut_at=size // 2 + 12345)
        load_after = os.getloadavg()
    finally:
        server.terminate()
        server.wait()
    print(
        f"file: {size / MiB:.0f} MiB; rounds: {options.rounds}; load average before {load_before}, after {load_after}"
    )
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        runs = ", ".join(f"{value:.2f}" for value in values)
        print(f"{name:28} median {medians[name]:6.2f} s = {size / MiB / medians[name]:7.1f} MiB/s  (runs: {runs})")
    raw, tus = medians.values()
    print(f"tus throughput / raw throughput: {raw / tus:.1%}")
    print(
        f"cut at 50 % and resumed: {sender.sent / MiB:.1f} MiB sent for {size / MiB:.0f} MiB ({sender.sent / size:.3f}x)"
    )
    print(f"server RSS: idle {idle_rss / MiB:.0f} MiB, peak during uploads {max(peaks) / MiB:.0f} MiB")


if __name__ == "__main__":
    main()
