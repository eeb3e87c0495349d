"""The request log: one line per request with id, route, status, duration, tenant and user — never secrets."""

from __future__ import annotations

import json
import logging

from registry_project.server.requestlog import JsonFormatter
from testing.helpers import PASSWORD


def _request_records(caplog):
    return [record for record in caplog.records if record.name == "registry.requests"]


def test_each_request_is_logged_with_its_tenant_user_route_and_status(acme, admin, caplog):
    with caplog.at_level(logging.INFO, logger="registry.requests"):
        response = admin.get("/v1/users?filter={}")

    (record,) = _request_records(caplog)
    assert record.tenant == "acme"
    assert record.user == "ada"
    assert record.method == "GET"
    assert record.route == "/v1/users/?"
    assert record.status == 200
    assert record.duration_ms >= 0
    assert record.request_id == response["X-Request-ID"]


def test_a_sane_incoming_request_id_is_kept_and_a_strange_one_replaced(anonymous, caplog):
    with caplog.at_level(logging.INFO, logger="registry.requests"):
        kept = anonymous.get("/v1/version", HTTP_X_REQUEST_ID="trace-0123456789")
        replaced = anonymous.get("/v1/version", HTTP_X_REQUEST_ID="<script>")

    assert kept["X-Request-ID"] == "trace-0123456789"
    assert replaced["X-Request-ID"] != "<script>"
    assert len(replaced["X-Request-ID"]) == 32


def test_json_lines_carry_the_request_fields_and_never_a_password_or_token(acme, anonymous, caplog):
    with caplog.at_level(logging.INFO, logger="registry.requests"):
        login = anonymous.post("/v1/login", {"username": "ada", "password": PASSWORD, "tenant": "acme"}, format="json")
    token = login.json()["token"].split()[1]
    formatter = JsonFormatter()

    lines = [json.loads(formatter.format(record)) for record in _request_records(caplog)]

    assert lines[0]["route"] == "/v1/login/?"
    assert {"time", "level", "logger", "message", "request_id", "status", "duration_ms"} <= set(lines[0])
    text = json.dumps(lines)
    assert PASSWORD not in text
    assert token not in text
