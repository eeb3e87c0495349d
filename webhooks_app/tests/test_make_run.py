"""``make run`` is still one command: it starts the webhook worker beside gunicorn, and the worker goes
when gunicorn goes (the recipe's trap), whether gunicorn stops by itself or the user presses Ctrl-C."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings

from testing.servers import free_port, registry_environment, wait_for_port

MAKE = shutil.which("make")
pytestmark = pytest.mark.skipif(MAKE is None, reason="make is not installed")


def descendants(pid: int) -> dict[int, str]:
    """The processes below ``pid``, with their command lines (from /proc)."""
    children: dict[int, list[int]] = {}
    commands: dict[int, str] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            commands[int(entry.name)] = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
        children.setdefault(parent, []).append(int(entry.name))
    found: dict[int, str] = {}
    todo = [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found[child] = commands.get(child, "")
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return Path(f"/proc/{pid}").exists() and "Z" not in Path(f"/proc/{pid}/stat").read_text().split()[2]


def wait_until(condition, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.1)


@contextmanager
def make_run(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, int]]:
    port = free_port()
    environment = registry_environment(tmp_path / "var", port)
    with (tmp_path / "make.log").open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - make, our own Makefile
            [MAKE, "--no-print-directory", "run"],
            cwd=settings.BASE_DIR,
            env=environment,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        wait_for_port(port, process, tmp_path / "make.log")
        running = {pid: command for pid, command in descendants(process.pid).items() if "sh -c" not in command}
        workers = [pid for pid, command in running.items() if "manage.py deliver_webhooks" in command]
        gunicorn = min(pid for pid, command in running.items() if "bin/gunicorn" in command)  # the arbiter
        assert len(workers) == 1, running
        yield process, gunicorn, workers[0]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)


def test_make_run_starts_the_worker_and_stops_it_when_gunicorn_exits(tmp_path):
    with make_run(tmp_path) as (make, gunicorn, worker):
        assert alive(worker)

        os.kill(gunicorn, signal.SIGTERM)

        make.wait(60)
        wait_until(lambda: not alive(worker))


def test_ctrl_c_stops_gunicorn_and_the_worker(tmp_path):
    with make_run(tmp_path) as (make, gunicorn, worker):
        os.killpg(make.pid, signal.SIGINT)  # what the terminal sends the foreground group

        make.wait(60)
        wait_until(lambda: not alive(worker) and not alive(gunicorn))
