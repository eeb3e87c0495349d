"""``manage.py deliver_webhooks``: the webhook delivery worker, for every tenant, until SIGTERM or SIGINT."""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from webhooks_app.worker import Worker, run_until_idle


class Command(BaseCommand):
    help = "Deliver the tenants' events to their webhooks (docs/webhooks.md); stops cleanly on SIGTERM."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Deliver what is due now, then stop.")
        parser.add_argument(
            "--heartbeat", type=Path, help="A file to touch after every round (a container's health check)."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        worker = Worker(heartbeat=options["heartbeat"])
        if options["once"]:
            run_until_idle(worker)
            worker.connections.close()
            return

        def stop(signum: int, frame: object) -> None:
            worker.stop()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        worker.run()
