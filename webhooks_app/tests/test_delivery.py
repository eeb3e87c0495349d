"""The delivery worker against a real receiver on loopback: signed per Standard Webhooks (checked with the
``standardwebhooks`` library), retried with the same ``webhook-id`` and in order, never for a rolled-back
change, refused to internal addresses, never following redirects, within what the creator may read."""

from __future__ import annotations

import io
import ssl
import threading
import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import transaction
from django.test import override_settings
from django.utils import timezone

from items_app import kinds, services
from tenants_app import tenancy
from tenants_app.audit import Caller
from tenants_app.models import Event, Role, User
from testing.helpers import PASSWORD, create_model
from webhooks_app import services as webhook_services
from webhooks_app.models import Attempt, Message, MessageState, Webhook
from webhooks_app.tests.receiver import Receiver, running
from webhooks_app.worker import Worker


def subscribe(admin, receiver: Receiver, events=("item.created",), **fields) -> dict:
    response = admin.post("/v1/webhooks", {"url": receiver.url, "events": list(events), **fields}, format="json")
    assert response.status_code == 201, response.content
    receiver.secret = response.json()["secret"]
    return response.json()


def new_user(client) -> None:
    body = {"username": "nora", "password": PASSWORD, "email": "nora@example.org"}
    assert client.post("/v1/users", body, format="json").status_code == 201


def deliver(worker: Worker | None = None, until=None, timeout: float = 20.0) -> None:
    """Worker rounds until ``until()`` holds (or, without it, until a round finds nothing to do)."""
    worker = worker or Worker()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        busy = worker.round()
        if until is None and not busy:
            return
        if until is not None and until():
            return
        time.sleep(0.02)
    raise AssertionError("the worker did not get there in time")


def test_an_event_arrives_signed_per_standard_webhooks(acme, admin, owner, receiver):
    subscribe(admin, receiver)
    model = create_model(owner, "churn", visibility="public")

    deliver(until=lambda: receiver.count == 1)

    [got] = receiver.received
    assert got.error == ""
    assert got.path == "/hooks/registry"
    assert got.payload["type"] == "item.created"
    data = got.payload["data"]
    assert data["resource"] == "models"
    assert data["target"] == model["_id"]
    assert data["actor"] == "reggie"
    assert data["tenant"] == "acme"
    assert data["document"]["name"] == "churn"
    with tenancy.using_tenant(acme.tenant):
        assert data["_id"] == Event.objects.get(type="item.created").pk
    assert got.headers["webhook-id"].startswith("msg_")
    assert got.headers["webhook-signature"].startswith("v1,")
    assert got.headers["content-type"] == "application/json"


def test_a_tampered_body_does_not_verify(acme, admin, owner, receiver):
    subscribe(admin, receiver)
    receiver.secret = "whsec_" + "A" * 43 + "="  # another key: the library must refuse
    create_model(owner, "churn", visibility="public")

    deliver(until=lambda: receiver.count == 1)

    assert receiver.received[0].payload is None
    assert "Signature" in receiver.received[0].error or "signature" in receiver.received[0].error


def test_the_webhook_only_gets_the_types_it_names(acme, admin, owner, receiver):
    subscribe(admin, receiver, events=["item.updated"])
    model = create_model(owner, "churn", visibility="public")
    owner.put(f"/v1/models/{model['_id']}", {"description": "better"}, format="json")

    deliver(until=lambda: receiver.count >= 1)
    deliver()

    assert receiver.event_types() == ["item.updated"]


def test_a_receiver_that_is_down_gets_the_events_later_in_order_with_the_same_ids(acme, admin, owner, fast_retries):
    receiver = Receiver()
    with running(receiver):
        port = receiver.port
    subscribe(admin, receiver)
    for name in ("first", "second", "third"):
        create_model(owner, name, visibility="public")

    worker = Worker()
    deliver(worker, until=lambda: acme.count(Attempt) >= 3)  # refused: nothing listens

    assert acme.count(Message, state=MessageState.DELIVERED) == 0
    with tenancy.using_tenant(acme.tenant):
        tried = set(Attempt.objects.values_list("message__event_id", flat=True))
        first_message = Message.objects.order_by("id").first()
    assert len(tried) == 1  # only the first: the others wait behind it
    assert first_message is not None
    with running(receiver, port=port):
        deliver(worker, until=lambda: receiver.count >= 3)

    names = [payload["data"]["document"]["name"] for payload in receiver.payloads()]
    assert names == ["first", "second", "third"]
    assert receiver.received[0].message_id == first_message.message_id
    with tenancy.using_tenant(acme.tenant):
        logged = Attempt.objects.filter(message=first_message).order_by("id")
        assert [row.status_code for row in logged][-1] == 200
        assert all(row.status_code is None and row.error for row in list(logged)[:-1])
        assert logged.first().next_retry is not None


def test_a_failing_endpoint_is_disabled_after_the_retry_period_saying_why(acme, admin, owner, receiver):
    receiver.answer = 503
    hook = subscribe(admin, receiver)
    create_model(owner, "churn", visibility="public")

    with override_settings(WEBHOOK_RETRY_HOURS=0.5 / 3600):  # half a second
        deliver(until=lambda: acme.count(Webhook, active=False) == 1)

    shown = admin.get(f"/v1/webhooks/{hook['_id']}").json()
    assert shown["active"] is False
    assert "failed" in shown["disabled_reason"]
    assert "503" in shown["disabled_reason"]
    assert acme.count(Message, state=MessageState.FAILED) == 1
    log = admin.get(f"/v1/webhooks/{hook['_id']}/deliveries").json()
    assert log["docs"][0]["status"] == 503
    assert log["docs"][0]["response"] == '{"ok": false}'

    receiver.answer = 200
    again = admin.patch(f"/v1/webhooks/{hook['_id']}", {"active": True}, format="json").json()
    assert again["active"] is True
    assert again["disabled_reason"] == ""


def test_redeliver_sends_a_logged_event_again_with_its_id(acme, admin, owner, receiver):
    hook = subscribe(admin, receiver)
    create_model(owner, "churn", visibility="public")
    deliver(until=lambda: receiver.count == 1)
    [row] = admin.get(f"/v1/webhooks/{hook['_id']}/deliveries").json()["docs"]
    assert row["status"] == 200
    assert row["state"] == "delivered"

    response = admin.post(f"/v1/webhooks/{hook['_id']}/deliveries/{row['_id']}/redeliver")

    assert response.status_code == 202
    deliver(until=lambda: receiver.count == 2)
    assert receiver.received[1].message_id == receiver.received[0].message_id
    assert receiver.received[1].payload == receiver.received[0].payload


def test_a_rolled_back_change_is_never_delivered(acme, admin, receiver):
    subscribe(admin, receiver)

    def failing_change() -> None:
        with tenancy.using_tenant(acme.tenant) as active, transaction.atomic(using=active.alias):
            reggie = User.objects.get(username="reggie")
            services.create_item(Caller(user=reggie), kinds.get("model"), name="ghost", visibility="public")
            raise RuntimeError("the change fails after the item's insert")

    with pytest.raises(RuntimeError):
        failing_change()

    deliver()

    assert receiver.count == 0
    assert acme.count(Event, type="item.created") == 0
    assert acme.count(Message) == 0


def test_redirects_are_not_followed(acme, admin, owner, fast_retries):
    with running() as elsewhere, running(Receiver(answer=302)) as redirecting:
        redirecting.redirect_to = elsewhere.url
        hook = subscribe(admin, redirecting)
        create_model(owner, "churn", visibility="public")

        deliver(until=lambda: acme.count(Attempt) >= 1)

        assert elsewhere.count == 0
        [row, *_] = admin.get(f"/v1/webhooks/{hook['_id']}/deliveries").json()["docs"]
        assert row["status"] == 302
        assert "not followed" in row["error"]
        assert row["state"] == "pending"


@pytest.mark.parametrize("allowed_at_creation", ["127.0.0.1", "localhost"])
def test_an_internal_address_is_refused_at_delivery(acme, admin, owner, receiver, allowed_at_creation):
    url = receiver.url.replace("127.0.0.1", allowed_at_creation)
    with override_settings(WEBHOOK_ALLOWED_HOSTS=[allowed_at_creation]):
        response = admin.post("/v1/webhooks", {"url": url, "events": ["item.created"]}, format="json")
    assert response.status_code == 201
    create_model(owner, "churn", visibility="public")

    with override_settings(WEBHOOK_ALLOWED_HOSTS=[]):  # the operator took the host off the list
        deliver(until=lambda: acme.count(Attempt) >= 1)

    assert receiver.count == 0
    with tenancy.using_tenant(acme.tenant):
        attempt = Attempt.objects.order_by("id").first()
    assert attempt is not None
    assert attempt.error.startswith("refused:")
    assert attempt.status_code is None


def test_an_admins_webhook_gets_private_items_and_users(acme, admin, owner, receiver):
    subscribe(admin, receiver, events=["item.created", "user.created"])
    create_model(owner, "secret-model")  # private
    new_user(admin)

    deliver(until=lambda: receiver.count == 2)

    assert receiver.event_types() == ["item.created", "user.created"]


def test_a_creator_who_is_no_longer_admin_gets_only_what_they_may_read(acme, admin, owner, receiver):
    subscribe(admin, receiver, events=["item.created", "user.created"])
    with tenancy.using_tenant(acme.tenant):
        User.objects.filter(username="ada").update(role=Role.REGULAR)
    with tenancy.using_tenant(acme.tenant):
        User.objects.create_user("root", PASSWORD, role=Role.ADMIN, email="root@example.org")
    root = acme.client("root")
    create_model(owner, "hidden")  # private to reggie
    create_model(owner, "shared", users=["ada"])
    create_model(owner, "open", visibility="public")
    new_user(root)

    deliver(until=lambda: receiver.count >= 2)
    deliver()

    names = [payload["data"]["document"]["name"] for payload in receiver.payloads()]
    assert names == ["shared", "open"]


def test_a_filter_lets_through_only_the_items_it_matches(acme, admin, owner, receiver):
    subscribe(admin, receiver, filter={"tags": "prod"})
    create_model(owner, "plain", visibility="public")
    create_model(owner, "tagged", visibility="public", tags=["prod"])
    owner.post("/v1/datasets", {"name": "tagged-data", "tags": ["prod"], "visibility": "public"}, format="json")

    deliver(until=lambda: receiver.count >= 2)
    deliver()

    assert [payload["data"]["document"]["name"] for payload in receiver.payloads()] == ["tagged", "tagged-data"]


def test_a_filter_on_a_field_of_models_only_passes_no_dataset(acme, admin, owner, receiver):
    subscribe(admin, receiver, filter={"status": "production"})
    create_model(owner, "live", visibility="public", status="production")
    owner.post("/v1/datasets", {"name": "data", "visibility": "public"}, format="json")

    deliver(until=lambda: receiver.count >= 1)
    deliver()

    assert [payload["data"]["document"]["name"] for payload in receiver.payloads()] == ["live"]


def test_two_workers_at_once_deliver_each_event_once(acme, admin, owner, receiver):
    subscribe(admin, receiver)
    for number in range(12):
        create_model(owner, f"model-{number}", visibility="public")
    workers = [Worker(), Worker()]
    threads = [threading.Thread(target=deliver, args=(w, lambda: receiver.count >= 12)) for w in workers]

    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    ids = [item.message_id for item in receiver.received]
    assert len(ids) == 12
    assert len(set(ids)) == 12
    names = [payload["data"]["document"]["name"] for payload in receiver.payloads()]
    assert names == [f"model-{number}" for number in range(12)]


def test_a_deleted_items_events_pass_the_filter_as_it_cannot_be_tested(acme, admin, owner, receiver):
    subscribe(admin, receiver, events=["item.deleted"], filter={"tags": "prod"})
    tagged = create_model(owner, "tagged", visibility="public", tags=["prod"])
    plain = create_model(owner, "plain", visibility="public")
    for model in (tagged, plain):
        assert owner.delete(f"/v1/models/{model['_id']}").status_code == 200

    deliver(until=lambda: receiver.count >= 2)

    assert [payload["data"]["document"]["name"] for payload in receiver.payloads()] == ["tagged", "plain"]


def test_changing_a_webhook_does_not_move_its_cursor_back(acme, admin, owner, receiver):
    hook = subscribe(admin, receiver)
    with tenancy.using_tenant(acme.tenant):
        stale = Webhook.objects.get(pk=hook["_id"])  # as an admin's page loaded it
    create_model(owner, "churn", visibility="public")
    deliver(until=lambda: receiver.count == 1)

    with tenancy.using_tenant(acme.tenant):
        webhook_services.update_webhook(Caller(user=User.objects.get(username="ada")), stale, {"description": "x"})
    deliver()

    assert receiver.count == 1


@pytest.fixture
def tls_pair(tmp_path, monkeypatch) -> ssl.SSLContext:
    """A receiver's TLS context for ``localhost``, whose self-signed certificate the worker trusts (OpenSSL's
    SSL_CERT_FILE: the default context reads it)."""
    call_command("selfsigned", host=["localhost"], directory=str(tmp_path), stdout=io.StringIO())
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "fullchain.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "fullchain.pem", tmp_path / "privkey.pem")
    return context


def test_https_deliveries_name_the_host_in_tls_and_host_while_connecting_to_the_checked_address(
    acme, admin, owner, fast_retries, tls_pair
):
    with override_settings(WEBHOOK_ALLOWED_HOSTS=["localhost"]), running(tls=tls_pair) as receiver:
        url = f"https://localhost:{receiver.port}/hooks/registry"
        response = admin.post("/v1/webhooks", {"url": url, "events": ["item.created"]}, format="json")
        receiver.secret = response.json()["secret"]
        create_model(owner, "churn", visibility="public")

        deliver(until=lambda: receiver.count == 1)

    assert receiver.received[0].error == ""
    assert receiver.received[0].headers["host"] == f"localhost:{receiver.port}"
    assert "localhost" in receiver.server_names


def test_a_certificate_for_another_name_is_refused(acme, admin, owner, fast_retries, tmp_path, monkeypatch):
    call_command("selfsigned", host=["elsewhere.example"], directory=str(tmp_path), stdout=io.StringIO())
    monkeypatch.setenv("SSL_CERT_FILE", str(tmp_path / "fullchain.pem"))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(tmp_path / "fullchain.pem", tmp_path / "privkey.pem")
    with override_settings(WEBHOOK_ALLOWED_HOSTS=["localhost"]), running(tls=context) as receiver:
        url = f"https://localhost:{receiver.port}/hooks/registry"
        admin.post("/v1/webhooks", {"url": url, "events": ["item.created"]}, format="json")
        create_model(owner, "churn", visibility="public")

        deliver(until=lambda: acme.count(Attempt) >= 1)

    assert receiver.count == 0
    with tenancy.using_tenant(acme.tenant):
        assert Attempt.objects.order_by("id").first().error.startswith("TLS:")


def test_after_a_rotation_deliveries_are_signed_with_the_new_secret(acme, admin, owner, receiver):
    hook = subscribe(admin, receiver)
    old_secret = receiver.secret
    receiver.secret = admin.post(f"/v1/webhooks/{hook['_id']}/secret").json()["secret"]
    create_model(owner, "churn", visibility="public")

    deliver(until=lambda: receiver.count == 1)

    assert receiver.received[0].error == ""
    assert receiver.secret != old_secret


def test_a_webhook_the_worker_cannot_serve_does_not_hold_back_the_others(acme, admin, owner, receiver):
    broken = subscribe(admin, Receiver(port=receiver.port))
    subscribe(admin, receiver)
    with tenancy.using_tenant(acme.tenant):  # a URL no rule of today lets in, stored by an older version
        Webhook.objects.filter(pk=broken["_id"]).update(url="http://ex ample.org/\u00e9")
    create_model(owner, "churn", visibility="public")

    deliver(until=lambda: receiver.count == 1 and acme.count(Attempt, webhook_id=broken["_id"]) >= 1)

    with tenancy.using_tenant(acme.tenant):
        assert Attempt.objects.get(webhook_id=broken["_id"], attempt=1).error.startswith("refused:")


def test_the_delivery_log_is_kept_as_long_as_the_events(acme, admin, owner, receiver):
    subscribe(admin, receiver)
    create_model(owner, "churn", visibility="public")
    deliver(until=lambda: receiver.count == 1)
    long_ago = timezone.now() - timedelta(days=settings.EVENT_RETENTION_DAYS + 1)
    with tenancy.using_tenant(acme.tenant):
        Attempt.objects.update(timestamp=long_ago)
        Message.objects.update(created=long_ago)
        webhook = Webhook.objects.get()
        owed = Message.objects.create(webhook=webhook, event_id=0, event_type="x", message_id="m", body="{}")
        Message.objects.filter(pk=owed.pk).update(created=long_ago, next_attempt=timezone.now() + timedelta(days=1))

    Worker().round()

    assert acme.count(Attempt) == 0
    assert acme.count(Message) == 1  # the pending one: its endpoint still owes it
