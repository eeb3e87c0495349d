"""The client's address when the registry runs behind proxies it trusts.

Behind a reverse proxy every request comes from the proxy's address: login throttling would then count
all clients as one (one attacker's failures would lock everyone out), and the audit and request logs would
name the proxy. The proxy says who its client was in ``X-Forwarded-For``. That header is believed only from
the addresses in ``FORWARDED_ALLOW_IPS`` (the setting gunicorn reads for ``X-Forwarded-Proto``), and only as
far as the chain of trusted proxies goes: the client is the rightmost address not itself a trusted proxy,
so an address a client wrote into the header is never taken for theirs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings

from registry_project.config import ConfigurationError

if TYPE_CHECKING:  # settings.py imports this module: nothing here loads Django's request machinery
    from django.http import HttpRequest, HttpResponse

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


@dataclass(frozen=True)
class TrustedProxies:
    everyone: bool = False
    networks: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str, name: str = "FORWARDED_ALLOW_IPS") -> TrustedProxies:
        """``*``, or addresses and networks separated by commas (``127.0.0.1,10.0.0.0/8``)."""
        entries = [entry.strip() for entry in text.split(",") if entry.strip()]
        if "*" in entries:
            return cls(everyone=True)
        try:
            return cls(networks=tuple(ipaddress.ip_network(entry, strict=False) for entry in entries))
        except ValueError as exc:
            raise ConfigurationError(f"{name}: expected '*' or IP addresses and networks, {exc}") from None

    def trust(self, address: str) -> bool:
        if self.everyone:
            return True
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


def client_address(peer: str, forwarded_for: str | None, trusted: TrustedProxies) -> str:
    """The client's address: ``peer`` itself, unless it is a trusted proxy that forwarded the request."""
    if not forwarded_for or not trusted.trust(peer):
        return peer
    chain = [entry.strip() for entry in forwarded_for.split(",")]
    client = peer
    for entry in reversed(chain):
        try:
            client = str(ipaddress.ip_address(entry))
        except ValueError:
            return peer  # a malformed chain: nothing in it can be believed
        if not trusted.trust(client):
            return client
    return client  # every hop is trusted: the first one is the client


class ForwardedClientMiddleware:
    """Sets ``REMOTE_ADDR`` to the client's address, for everything that records or throttles it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        meta = request.META
        meta["REMOTE_ADDR"] = client_address(
            meta.get("REMOTE_ADDR", ""), meta.get("HTTP_X_FORWARDED_FOR"), settings.TRUSTED_PROXIES
        )
        return self.get_response(request)
