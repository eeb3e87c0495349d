"""Helpers for tests that start a real server process (gunicorn) or a server thread."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings


def free_port() -> int:
    """A loopback port nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path | None = None) -> None:
    """Return once something accepts connections on ``port``; fail with the process's output if it exits."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(_output_of(process, log))
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"nothing listens on {port}:\n{_output_of(process, log)}")


def _output_of(process: subprocess.Popen[bytes], log: Path | None) -> str:
    if log is not None and log.exists():
        return log.read_text()
    if process.stdout is not None and process.poll() is not None:
        return process.stdout.read().decode()
    return "gunicorn exited" if process.poll() is not None else "(still running)"


def registry_environment(data: Path, port: int, **overrides: str) -> dict[str, str]:
    """The environment of a registry on its embedded defaults (SQLite, local disk) with its data in ``data``."""
    return {
        **os.environ,
        "HTTP_PORT": str(port),
        "DATA_DIR": str(data),
        "DATABASE": f"sqlite:///{data / 'registry-catalog.sqlite3'}",
        "WEB_CONCURRENCY": "1",
        **overrides,
    }


@contextmanager
def gunicorn(
    environment: dict[str, str], log: Path, *arguments: str, ports: Iterable[int]
) -> Iterator[subprocess.Popen[bytes]]:
    """gunicorn as `make run` starts it (``-c gunicorn.conf.py``, then ``arguments``), writing to ``log``,
    from the moment it listens on every one of ``ports`` until the block ends."""
    command = [str(Path(sys.executable).with_name("gunicorn")), "-c", "gunicorn.conf.py", *arguments]
    with log.open("wb") as output:
        process = subprocess.Popen(  # noqa: S603 - our own server, fixed arguments
            command, cwd=settings.BASE_DIR, env=environment, stdout=output, stderr=subprocess.STDOUT
        )
    try:
        for port in ports:
            wait_for_port(port, process, log)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            # gunicorn's graceful stop waits up to graceful_timeout (30 s) for connections; on a machine
            # loaded by two test runs that can outlast the wait, and how it stops is not what is tested here.
            process.kill()
            process.wait(timeout=20)


@contextmanager
def made_run(
    environment: dict[str, str], log: Path, *arguments: str, ports: Iterable[int]
) -> Iterator[subprocess.Popen[bytes]]:
    """The registry as `make run` serves it: ``manage.py bootstrap`` (databases, default tenant, secrets),
    then ``gunicorn`` (see ``gunicorn``) for as long as the block lasts."""
    subprocess.run(
        [sys.executable, "manage.py", "bootstrap"],
        cwd=settings.BASE_DIR,
        env=environment,
        check=True,
        capture_output=True,
    )
    with gunicorn(environment, log, *arguments, ports=ports) as process:
        yield process


def wait_until_serving(log: Path, workers: int) -> None:
    """Until every worker has loaded Django and claimed its place on the board: one still loading holds no
    connections, and the others would rightly take the clients it is not there for."""
    deadline = time.monotonic() + 60
    while len(re.findall(r"Worker \d+ serving", log.read_text())) < workers:
        if time.monotonic() > deadline:
            raise RuntimeError(log.read_text())
        time.sleep(0.1)
