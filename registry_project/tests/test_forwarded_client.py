"""Behind a trusted proxy the client's address comes from X-Forwarded-For; from anyone else it is ignored.

Personas: a client behind the tenant's reverse proxy (which the registry trusts), an outsider connecting
directly who writes the header themselves, and the tenant's admin reading the audit log.
"""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import override_settings
from rest_framework.test import APIClient

from registry_project.config import ConfigurationError
from registry_project.server.forwarding import TrustedProxies, client_address
from testing.helpers import PASSWORD

PROXIES = TrustedProxies.parse("127.0.0.1, 10.0.0.0/8")


@pytest.mark.parametrize(
    ("peer", "forwarded_for", "client"),
    [
        ("127.0.0.1", "203.0.113.7", "203.0.113.7"),  # one trusted proxy
        ("127.0.0.1", "203.0.113.7, 10.1.2.3", "203.0.113.7"),  # a chain of trusted proxies
        ("127.0.0.1", "1.2.3.4, 203.0.113.7", "203.0.113.7"),  # the client wrote 1.2.3.4 in: not believed
        ("198.51.100.2", "203.0.113.7", "198.51.100.2"),  # not a proxy: the header is the client's own
        ("127.0.0.1", None, "127.0.0.1"),  # no header
        ("127.0.0.1", "not-an-address", "127.0.0.1"),  # a malformed chain believes nothing
        ("127.0.0.1", "203.0.113.7, garbage", "127.0.0.1"),
        ("127.0.0.1", "10.9.9.9", "10.9.9.9"),  # every hop trusted: the first one
        ("127.0.0.1", "2001:db8::7", "2001:db8::7"),
    ],
)
def test_the_client_is_the_rightmost_address_that_is_not_a_trusted_proxy(peer, forwarded_for, client):
    assert client_address(peer, forwarded_for, PROXIES) == client


def test_a_star_trusts_every_peer():
    assert client_address("198.51.100.2", "203.0.113.7", TrustedProxies.parse("*")) == "203.0.113.7"


@pytest.mark.parametrize("text", ["localhost", "10.0.0.0/33", "127.0.0.1, nonsense"])
def test_nonsense_in_forwarded_allow_ips_is_refused_naming_the_variable(text):
    with pytest.raises(ConfigurationError, match="FORWARDED_ALLOW_IPS"):
        TrustedProxies.parse(text)


def test_the_default_trusts_no_proxy_not_even_a_local_one():
    """A local process must not be able to rotate X-Forwarded-For to dodge the per-address login limit."""
    assert not settings.TRUSTED_PROXIES.trust("127.0.0.1")
    assert not settings.TRUSTED_PROXIES.trust("10.0.0.1")


@pytest.fixture
def local_proxy_trusted():
    """The operator set FORWARDED_ALLOW_IPS=127.0.0.1: a reverse proxy on the same host."""
    with override_settings(TRUSTED_PROXIES=TrustedProxies.parse("127.0.0.1")):
        yield


def failed_login(client: APIClient, **headers: str) -> int:
    body = {"tenant": "acme", "username": "reggie", "password": "wrong password!"}
    response = client.post("/v1/login", body, format="json", **headers)
    return response.status_code


def addresses_of_failed_logins(admin: APIClient) -> list[str]:
    log = admin.get("/v1/log?limit=100").json()["docs"]
    return [entry["address"] for entry in log if entry["action"] == "login" and entry["result"] == "failure"]


def test_a_local_process_cannot_choose_its_address_by_default(acme, admin):
    local = APIClient(REMOTE_ADDR="127.0.0.1")
    assert failed_login(local, HTTP_X_FORWARDED_FOR="203.0.113.7") == 401
    assert addresses_of_failed_logins(admin) == ["127.0.0.1"]


def test_the_audit_log_names_the_client_behind_the_proxy(acme, admin, local_proxy_trusted):
    behind_proxy = APIClient(REMOTE_ADDR="127.0.0.1")
    assert failed_login(behind_proxy, HTTP_X_FORWARDED_FOR="203.0.113.7") == 401
    assert addresses_of_failed_logins(admin) == ["203.0.113.7"]


def test_an_outsider_cannot_choose_their_address_by_writing_the_header(acme, admin):
    outsider = APIClient(REMOTE_ADDR="198.51.100.2")
    assert failed_login(outsider, HTTP_X_FORWARDED_FOR="203.0.113.7") == 401
    assert addresses_of_failed_logins(admin) == ["198.51.100.2"]


@override_settings(LOGIN_MAX_FAILURES_PER_ADDRESS=3)
def test_clients_behind_one_proxy_are_throttled_each_on_their_own(acme, local_proxy_trusted):
    behind_proxy = APIClient(REMOTE_ADDR="127.0.0.1")

    def login_as(username: str, password: str, client: str) -> int:
        body = {"tenant": "acme", "username": username, "password": password}
        return behind_proxy.post("/v1/login", body, format="json", HTTP_X_FORWARDED_FOR=client).status_code

    for username in ("olive", "ada", "nobody"):  # one client's failures over several accounts
        assert login_as(username, "wrong password!", "198.51.100.66") == 401
    assert login_as("reggie", PASSWORD, "198.51.100.66") == 429, "that client is throttled"
    assert login_as("reggie", PASSWORD, "203.0.113.7") == 200, "the others behind the same proxy are not"
