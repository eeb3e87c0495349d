"""The server-side-request-forgery guard: which webhook URLs and addresses the registry may deliver to.

By default a delivery never reaches loopback, link-local (cloud metadata at 169.254.169.254), private,
shared (100.64/10), multicast, reserved or unspecified addresses, nor an IPv4-mapped or NAT64-embedded IPv6
form of one; ``WEBHOOK_ALLOWED_HOSTS`` names the hosts (as written in the URL, or addresses) that may be
reached anyway, for receivers on the same machine or network. At creation a URL whose host IS such an
address is refused; at delivery the worker resolves the name, refuses if ANY address it resolves to is
refused, and connects to the address it checked (``webhooks_app.delivery``): no second lookup that a
rebinding DNS server could answer differently.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit

from django.conf import settings

from framework.errors import Invalid

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
MAX_URL_LENGTH = 2000
NAT64 = ipaddress.ip_network("64:ff9b::/96")
SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: not "private" to ipaddress, still internal


class Refused(Exception):
    """The URL or an address it resolves to is one deliveries may not reach."""


@dataclass(frozen=True)
class Target:
    """A webhook URL taken apart: what the worker connects to and what it says in ``Host``."""

    scheme: str
    host: str  # a name, or an address without brackets
    port: int
    path: str  # with the query

    @property
    def host_header(self) -> str:
        name = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return name if self.port == default else f"{name}:{self.port}"


def parse(url: str) -> Target:
    """The parts of an http(s) URL without user information; ``Invalid`` naming what is wrong otherwise."""
    if not isinstance(url, str) or not url or len(url) > MAX_URL_LENGTH:
        raise Invalid(f"url: an http:// or https:// URL of at most {MAX_URL_LENGTH} characters")
    if any(ord(character) <= 32 or ord(character) == 127 for character in url):
        raise Invalid("url: no spaces or control characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise Invalid(f"url: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise Invalid(f"url: the scheme must be http or https, not {parts.scheme!r}")
    if parts.username is not None or parts.password is not None or "@" in parts.netloc:
        raise Invalid("url: no user name or password in the URL (the payload is signed instead)")
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise Invalid("url: no host")
    if not host.isascii():  # an internationalised name: its ASCII form (punycode) is what DNS and Host carry
        try:
            host = host.encode("idna").decode("ascii")
        except UnicodeError:
            raise Invalid(f"url: {host!r} is not a valid host name") from None
    if parts.fragment:
        raise Invalid("url: no #fragment")
    path = parts.path or "/"
    if parts.query:
        path = f"{path}?{parts.query}"
    return Target(parts.scheme, host.lower(), port or (443 if parts.scheme == "https" else 80), path)


def refused_address(address: Address) -> bool:
    """Whether ``address`` is one deliveries may not reach unless its host is allowed."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None and refused_address(embedded):
            return True
    return (
        address.is_loopback
        or address.is_link_local
        or address.is_private
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
        or (isinstance(address, ipaddress.IPv4Address) and address in SHARED)
        or not address.is_global
    )


def allowed_host(host: str) -> bool:
    return host.lower() in settings.WEBHOOK_ALLOWED_HOSTS


def literal_address(host: str) -> Address | None:
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        return None


def check_url(url: str) -> Target:
    """The URL as a webhook may name it (creation and changes): http(s), no user information, and, unless
    its host is allowed, not an address the guard refuses, nor a name the guard knows to be local
    (``localhost``). Names are resolved at delivery, where it counts (DNS answers change)."""
    target = parse(url)
    if allowed_host(target.host):
        return target
    address = literal_address(target.host)
    if address is not None and refused_address(address):
        raise Invalid(
            f"url: {target.host} is a loopback, link-local, private or otherwise internal address; "
            "list the host in WEBHOOK_ALLOWED_HOSTS to deliver there"
        )
    if address is None and (target.host == "localhost" or target.host.endswith((".localhost", ".local"))):
        raise Invalid(f"url: {target.host} names this machine or the local network; list it in WEBHOOK_ALLOWED_HOSTS")
    if address is None and "." not in target.host:
        raise Invalid(f"url: {target.host!r} is not a fully qualified host name")
    return target


def resolve(target: Target) -> list[Address]:
    """The addresses to try for ``target``, all of them checked: ``Refused`` if any one is refused (a name
    that resolves to a public and a private address is refused whole) and the host is not allowed."""
    literal = literal_address(target.host)
    if literal is not None:
        found = [literal]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise Refused(f"{target.host} does not resolve ({exc})") from None
        found = []
        for info in infos:
            address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
            if address not in found:
                found.append(address)
    if not found:
        raise Refused(f"{target.host} resolves to no address")
    if not allowed_host(target.host):
        for address in found:
            if refused_address(address) and not allowed_host(str(address)):
                raise Refused(f"{target.host} resolves to {address}, an internal address, and is not allowed")
    return found
