"""PROTOCOL=https: gunicorn serves TLS with a pair made by `manage.py selfsigned`, plain HTTP redirects to it,
and the security headers are on every answer."""

from __future__ import annotations

import http.client
import ssl
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from testing.servers import free_port, gunicorn, registry_environment


@pytest.fixture
def https_server(tmp_path: Path):
    resources = tmp_path / "resources"
    call_command("selfsigned", "--directory", str(resources), stdout=StringIO())
    https_port, http_port = free_port(), free_port()
    environment = registry_environment(
        tmp_path / "data",
        http_port,
        PROTOCOL="https",
        HTTPS_PORT=str(https_port),
        TLS_CERTFILE=str(resources / "fullchain.pem"),
        TLS_KEYFILE=str(resources / "privkey.pem"),
    )
    with gunicorn(environment, tmp_path / "gunicorn.log", ports=(https_port, http_port)):
        yield https_port, http_port, resources / "fullchain.pem"


def test_it_serves_tls_with_the_generated_pair_and_security_headers(https_server):
    https_port, _, certificate = https_server
    context = ssl.create_default_context(cafile=str(certificate))
    connection = http.client.HTTPSConnection("127.0.0.1", https_port, context=context, timeout=10)

    connection.request("GET", "/v1/version")
    response = connection.getresponse()

    assert response.status == 200
    assert response.getheader("Strict-Transport-Security").startswith("max-age=")
    assert response.getheader("X-Content-Type-Options") == "nosniff"
    assert response.getheader("X-Frame-Options") == "DENY"
    assert "default-src 'self'" in response.getheader("Content-Security-Policy")


def test_plain_http_is_redirected_to_https(https_server):
    https_port, http_port, _ = https_server
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)

    connection.request("GET", "/v1/models?page=2", headers={"Host": f"localhost:{http_port}"})
    response = connection.getresponse()

    assert response.status == 301
    assert response.getheader("Location") == f"https://localhost:{https_port}/v1/models?page=2"


def test_a_strange_host_header_is_not_echoed_into_the_redirect(https_server):
    https_port, http_port, _ = https_server
    connection = http.client.HTTPConnection("127.0.0.1", http_port, timeout=10)

    connection.request("POST", "/v1/login", headers={"Host": "evil.example/<x>"})
    response = connection.getresponse()

    assert response.status == 308
    assert response.getheader("Location") == f"https://localhost:{https_port}/v1/login"


@pytest.mark.parametrize("path", ["/v1/version", "/v1/nope", "/healthz", "/signin/"])
def test_every_answer_carries_the_content_security_policy_over_plain_http_too(anonymous, path):
    response = anonymous.get(path)

    assert response["Content-Security-Policy"] == settings.CONTENT_SECURITY_POLICY


def test_selfsigned_refuses_to_overwrite_an_existing_pair(tmp_path):
    call_command("selfsigned", "--directory", str(tmp_path), stdout=StringIO())

    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--force"):
        call_command("selfsigned", "--directory", str(tmp_path), stdout=StringIO())


def test_clients_that_stall_their_tls_handshake_hold_no_thread_for_long(tmp_path):
    import socket

    resources = tmp_path / "resources"
    call_command("selfsigned", "--directory", str(resources), stdout=StringIO())
    https_port, http_port = free_port(), free_port()
    environment = registry_environment(
        tmp_path / "data",
        http_port,
        PROTOCOL="https",
        HTTPS_PORT=str(https_port),
        TLS_CERTFILE=str(resources / "fullchain.pem"),
        TLS_KEYFILE=str(resources / "privkey.pem"),
        GUNICORN_THREADS="2",
        REQUEST_HEAD_TIMEOUT="2s",
    )
    with gunicorn(environment, tmp_path / "gunicorn.log", ports=(https_port,)):
        stalled = [socket.create_connection(("127.0.0.1", https_port)) for _ in range(4)]
        for sock in stalled:
            sock.sendall(b"\x16\x03\x01")  # the start of a ClientHello, and nothing more
        try:
            # both threads take a stalled handshake; gunicorn's waited without a limit, so this request did too
            context = ssl.create_default_context(cafile=str(resources / "fullchain.pem"))
            connection = http.client.HTTPSConnection("127.0.0.1", https_port, context=context, timeout=15)
            connection.request("GET", "/v1/version")
            response = connection.getresponse()
        finally:
            for sock in stalled:
                sock.close()

    assert response.status == 200
