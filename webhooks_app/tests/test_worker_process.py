"""``manage.py deliver_webhooks`` as the process it is in production: killed in the middle of a delivery it
leaves the event to the next worker (at least once, with the same ``webhook-id``); SIGTERM ends it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import urlsplit

from django.conf import settings
from django.db import connections

from testing.helpers import create_model
from webhooks_app.models import Message, MessageState
from webhooks_app.tests.receiver import Receiver, running


def catalog_url() -> str:
    """The URL of the test run's catalog database, for a worker process to find the same tenants."""
    name = connections["default"].settings_dict["NAME"]
    if connections["default"].vendor == "sqlite":
        return f"sqlite:///{name}"
    return urlsplit(os.environ["DATABASE"])._replace(path=f"/{name}").geturl()


@contextmanager
def worker_process() -> Iterator[subprocess.Popen[bytes]]:
    environment = {key: value for key, value in os.environ.items() if key != "ENV_FILE"}
    environment.update(
        DATABASE=catalog_url(),
        DATA_DIR=str(settings.DATA_DIR),
        WEBHOOK_ALLOWED_HOSTS="127.0.0.1",
        WEBHOOK_POLL_SECONDS="0.05",
        WEBHOOK_RETRY_BASE_SECONDS="0.1",
        WEBHOOK_LEASE_SECONDS="1",
    )
    process = subprocess.Popen(
        [sys.executable, "manage.py", "deliver_webhooks"],
        cwd=settings.BASE_DIR,
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(10)
        if process.stderr is not None:
            process.stderr.close()


def subscribe(admin, receiver: Receiver) -> None:
    body = {"url": receiver.url, "events": ["item.created"]}
    response = admin.post("/v1/webhooks", body, format="json")
    assert response.status_code == 201, response.content
    receiver.secret = response.json()["secret"]


def test_an_event_whose_worker_was_killed_mid_delivery_is_delivered_after_a_restart(acme, admin, owner, fast_retries):
    held = threading.Event()
    with running(Receiver(hold=held)) as receiver:
        subscribe(admin, receiver)
        create_model(owner, "churn", visibility="public")
        with worker_process() as first:
            receiver.wait_for(lambda r: r.begun == 1)
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        receiver.hold = None
        held.set()
        receiver.wait_for(lambda r: r.count == 1)  # the held request ends; its worker never learnt of it
        assert acme.count(Message, state=MessageState.PENDING) == 1

        with worker_process():
            receiver.wait_for(lambda r: r.count == 2)
            ids = [item.message_id for item in receiver.received]
            assert ids[0] == ids[1]
            assert receiver.received[1].payload["data"]["document"]["name"] == "churn"


def test_sigterm_stops_the_worker_cleanly(acme, admin, owner, fast_retries):
    with running() as receiver:
        subscribe(admin, receiver)
        with worker_process() as worker:
            create_model(owner, "churn", visibility="public")
            receiver.wait_for(lambda r: r.count == 1)
            worker.send_signal(signal.SIGTERM)

            assert worker.wait(20) == 0
    assert receiver.received[0].payload["type"] == "item.created"
