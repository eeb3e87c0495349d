"""``/v1/webhooks``: tenant admins create, read, change and delete webhooks; the secret is shown once; URLs
that the SSRF guard refuses, unknown event types and bad filters are 400s naming the problem."""

from __future__ import annotations

import base64

import pytest
from django.test import override_settings

from testing.helpers import details_of, error_of
from webhooks_app.models import Webhook

URL = "https://hooks.example.org/registry"


def create(client, **fields):
    body = {"url": URL, "events": ["item.created"], **fields}
    return client.post("/v1/webhooks", body, format="json")


def test_an_admin_creates_a_webhook_and_sees_its_secret_once(acme, admin):
    response = create(admin, description="deploys", filter={"tags": "prod"})

    assert response.status_code == 201, response.content
    created = response.json()
    assert created["url"] == URL
    assert created["events"] == ["item.created"]
    assert created["active"] is True
    assert created["filter"] == {"tags": "prod"}
    assert created["created_by"] == "ada"
    assert created["secret"].startswith("whsec_")
    assert len(base64.b64decode(created["secret"].removeprefix("whsec_"))) == 32
    shown = admin.get(f"/v1/webhooks/{created['_id']}").json()
    assert "secret" not in shown
    assert shown["description"] == "deploys"
    listed = admin.get("/v1/webhooks").json()
    assert [hook["_id"] for hook in listed["docs"]] == [created["_id"]]
    assert "secret" not in listed["docs"][0]
    assert acme.count(Webhook, pk=created["_id"], secret=created["secret"]) == 1
    [entry] = [e for e in admin.get("/v1/log").json()["docs"] if e["resource"] == "webhook"]
    assert entry["action"] == "create"
    assert entry["target"] == created["_id"]
    assert created["secret"] not in str(entry)


@pytest.mark.parametrize("persona", ["owner", "reader", "outsider"])
def test_regular_users_may_not_see_or_make_webhooks(acme, admin, persona, request):
    client = request.getfixturevalue(persona)
    hook = create(admin).json()

    assert error_of(client.get("/v1/webhooks")) == (403, "restricted_access_read")
    assert error_of(client.get(f"/v1/webhooks/{hook['_id']}"))[0] == 403
    assert error_of(create(client))[0] == 403
    assert error_of(client.delete(f"/v1/webhooks/{hook['_id']}"))[0] == 403
    assert acme.count(Webhook) == 1


def test_another_tenants_admin_finds_no_such_webhook(acme, admin, other_tenant):
    hook = create(admin).json()

    assert error_of(other_tenant.get(f"/v1/webhooks/{hook['_id']}")) == (404, "resource_not_found")
    assert other_tenant.get("/v1/webhooks").json()["totalDocs"] == 0


def test_anonymous_callers_are_unauthorized(anonymous):
    assert error_of(anonymous.get("/v1/webhooks"))[0] == 401


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://127.1.2.3:8080/hook",
        "http://[::1]/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.1.2.3/hook",
        "http://192.168.0.10/hook",
        "http://172.16.5.4/hook",
        "http://100.64.0.1/hook",
        "http://0.0.0.0/hook",
        "http://[::]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://[::ffff:169.254.169.254]/hook",
        "http://[fe80::1]/hook",
        "http://[fd00::1]/hook",
        "http://224.0.0.1/hook",
        "http://localhost:8000/hook",
        "http://api.localhost/hook",
    ],
)
def test_urls_to_internal_addresses_are_refused(acme, admin, url):
    response = create(admin, url=url)

    assert error_of(response) == (400, "post_request_error"), response.content
    assert details_of(response).startswith("url:")
    assert acme.count(Webhook) == 0


@pytest.mark.parametrize(
    ("url", "named"),
    [
        ("ftp://hooks.example.org/x", "scheme"),
        ("https://user:secret@hooks.example.org/x", "user name"),
        ("https:///nohost", "host"),
        ("https://hooks.example.org/a b", "spaces"),
        ("https://intranet/x", "fully qualified"),
        ("https://hooks.example.org:99999/x", "url:"),
    ],
)
def test_malformed_urls_are_refused_naming_the_problem(admin, url, named):
    response = create(admin, url=url)

    assert error_of(response)[0] == 400
    assert named in details_of(response)


def test_a_host_listed_in_webhook_allowed_hosts_may_be_internal(admin):
    with override_settings(WEBHOOK_ALLOWED_HOSTS=["127.0.0.1", "localhost"]):
        assert create(admin, url="http://127.0.0.1:9000/hook").status_code == 201
        assert create(admin, url="http://localhost:9000/hook").status_code == 201
        assert error_of(create(admin, url="http://10.0.0.1/hook"))[0] == 400


def test_unknown_event_types_are_refused(admin):
    response = create(admin, events=["item.created", "item.exploded"])

    assert error_of(response)[0] == 400
    assert "item.exploded" in details_of(response)
    assert error_of(create(admin, events=[]))[0] == 400


def test_a_filter_the_filter_language_refuses_is_a_400_naming_it(admin):
    response = create(admin, filter={"password": "x"})
    assert error_of(response) == (400, "invalid_filter")
    assert "password" in details_of(response)

    response = create(admin, filter={"name": {"$where": "1"}})
    assert error_of(response) == (400, "invalid_filter")
    assert "$where" in details_of(response)

    assert create(admin, filter={"status": "production"}).status_code == 201  # a field of models only


def test_an_admin_changes_a_webhook_and_turns_it_off(acme, admin):
    hook = create(admin).json()

    response = admin.patch(
        f"/v1/webhooks/{hook['_id']}", {"events": ["version.created", "alias.moved"], "active": False}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["events"] == ["version.created", "alias.moved"]
    assert response.json()["active"] is False
    assert "secret" not in response.json()
    refused = admin.put(f"/v1/webhooks/{hook['_id']}", {"url": "http://127.0.0.1/"}, format="json")
    assert error_of(refused)[0] == 400
    assert error_of(admin.put(f"/v1/webhooks/{hook['_id']}", {"secret": "x"}, format="json"))[0] == 400
    assert acme.count(Webhook, url=URL, active=False) == 1


def test_rotating_the_secret_shows_the_new_one_once(acme, admin):
    hook = create(admin).json()

    response = admin.post(f"/v1/webhooks/{hook['_id']}/secret")

    assert response.status_code == 200
    secret = response.json()["secret"]
    assert secret.startswith("whsec_")
    assert secret != hook["secret"]
    assert acme.count(Webhook, secret=secret) == 1


def test_an_admin_deletes_a_webhook(acme, admin):
    hook = create(admin).json()

    response = admin.delete(f"/v1/webhooks/{hook['_id']}")

    assert response.status_code == 200
    assert response.json()["_id"] == hook["_id"]
    assert acme.count(Webhook) == 0
    assert error_of(admin.get(f"/v1/webhooks/{hook['_id']}")) == (404, "resource_not_found")


def test_a_new_webhook_has_an_empty_delivery_log(admin):
    hook = create(admin).json()

    log = admin.get(f"/v1/webhooks/{hook['_id']}/deliveries").json()

    assert log["totalDocs"] == 0
    assert log["docs"] == []
    missing = admin.post(f"/v1/webhooks/{hook['_id']}/deliveries/12345/redeliver")
    assert error_of(missing) == (404, "resource_not_found")


def test_an_internationalised_host_name_is_taken_and_a_broken_one_refused(admin):
    assert create(admin, url="https://bücher.example/hook").status_code == 201
    assert error_of(create(admin, url="https://a..b\u0300.example/hook"))[0] == 400
