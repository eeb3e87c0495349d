#!/usr/bin/env python
"""How many events a webhook worker delivers per second to a local receiver (issue 22: at least 200/s).

    .venv/bin/python bench/webhooks.py                                   # SQLite, 3,000 events, 1 worker
    .venv/bin/python bench/webhooks.py --events 5000 --workers 2
    .venv/bin/python bench/webhooks.py --postgres postgres://postgres@127.0.0.1:55473/postgres

A fresh registry (``manage.py bootstrap`` in a new DATA_DIR; on PostgreSQL a new catalog on the given server),
one webhook on the default tenant subscribed to ``item.created`` with no filter, pointed at a receiver in this
process (a threaded HTTP/1.1 server on loopback that checks every signature with ``standardwebhooks``, as
the tests' receiver does). ``--events`` events are written to the outbox first (``record_events``: the rows
the services write, a model's document each, public), then ``manage.py deliver_webhooks`` starts in its own
process(es) and the clock runs from the first delivery received to the last. Each delivery is a real signed
POST, one at a time per endpoint (ordering), with its log row and message update in the tenant database.
It prints the rate and the load average before and after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
PYTHON = ROOT / ".venv" / "bin" / "python"
sys.path.insert(0, str(ROOT))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--postgres", help="a PostgreSQL server URL; a new catalog database is made on it")
    parser.add_argument("--no-verify", action="store_true", help="count deliveries without checking signatures")
    options = parser.parse_args()

    data = Path(tempfile.mkdtemp(prefix="bench-webhooks-"))
    os.environ["DATA_DIR"] = str(data)
    os.environ["WEBHOOK_ALLOWED_HOSTS"] = "127.0.0.1"
    os.environ.setdefault("SECRET_KEY", "bench-secret-key-0123456789-0123456789-0123456789")
    os.environ.setdefault("JWT_SECRET", "bench-jwt-secret-0123456789-0123456789")
    os.environ.setdefault("API_TOKEN", "bench-api-token-0123456789")
    if options.postgres:
        catalog = f"bench_webhooks_{os.getpid()}"
        os.environ["DATABASE"] = urlsplit(options.postgres)._replace(path=f"/{catalog}").geturl()
        os.environ["DEFAULT_TENANT_DATABASE"] = f"{catalog}_default"
    else:
        os.environ["DATABASE"] = f"sqlite:///{data / 'registry-catalog.sqlite3'}"
    os.environ["DJANGO_SETTINGS_MODULE"] = "registry_project.settings"
    import io

    import django

    django.setup()
    from django.core.management import call_command

    from items_app.models import Item
    from tenants_app import tenancy
    from tenants_app.audit import Caller
    from tenants_app.events import audience, event, record_events
    from tenants_app.models import Role, Tenant, User
    from webhooks_app import services
    from webhooks_app.tests.receiver import Receiver, running

    call_command("bootstrap", stdout=io.StringIO())
    tenant = Tenant.objects.get()
    receiver = Receiver(count_only=True)
    with running(receiver):
        with tenancy.using_tenant(tenant):
            admin = User.objects.create_user("bencher", "a long bench password", email="b@x.org", role=Role.ADMIN)
            _, secret = services.create_webhook(Caller(user=admin), url=receiver.url, events=["item.created"])
            if not options.no_verify:
                receiver.secret = secret
            document = {"_id": "0" * 24, "name": "model", "tags": ["vision", "bench"], "visibility": "public"}
            for start in range(0, options.events, 500):
                batch = [
                    event(
                        "item.created",
                        actor="bencher",
                        resource="models",
                        target=f"{number:024x}",
                        document={**document, "_id": f"{number:024x}", "name": f"model-{number}"},
                        audience=audience(public=True, owner=admin.pk),
                    )
                    for number in range(start, min(start + 500, options.events))
                ]
                record_events(batch)
            assert not Item.objects.exists()  # events only: the filter-free path needs no items
        load_before = os.getloadavg()
        processes = [
            subprocess.Popen([str(PYTHON), "manage.py", "deliver_webhooks"], cwd=ROOT, env=os.environ.copy())
            for _ in range(options.workers)
        ]
        try:
            receiver.wait_for(lambda r: r.count >= 1, timeout=60)
            first = time.monotonic()
            receiver.wait_for(lambda r: r.count >= options.events, timeout=600)
            elapsed = time.monotonic() - first
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)
        load_after = os.getloadavg()
    database = "PostgreSQL" if options.postgres else "SQLite"
    rate = (options.events - 1) / elapsed
    print(f"{database}: {options.events} events, {options.workers} worker(s), verify={not options.no_verify}")
    repeats = receiver.count - len(receiver.message_ids)
    print(f"  delivered in {elapsed:.2f} s: {rate:.0f} events/s (received {receiver.count}, {repeats} repeated)")
    print(f"  load average before {load_before[0]:.2f}, after {load_after[0]:.2f}")
    if options.postgres:
        from tenants_app import databases

        databases.drop(f"{os.environ['DEFAULT_TENANT_DATABASE']}")


if __name__ == "__main__":
    main()
