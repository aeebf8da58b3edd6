"""Refusing URLs that point inside the network (SSRF), for any request field that holds one.

No public request field takes a URL today (``tests/api/test_gw_hostile_input.py`` fails when
one appears without this guard). A URL is refused unless every address its host resolves to is
public: loopback, private, link-local (cloud metadata at 169.254.169.254), multicast, reserved
and unspecified addresses are all inside. The fetch must then use the address checked here, not
resolve the name again (DNS rebinding). It resolves names, so async code calls it in a thread.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

from ragline_common.errors import ValidationFailed

_SCHEMES = frozenset({"http", "https"})
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def is_public(address: IpAddress) -> bool:
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return is_public(address.ipv4_mapped)
    return address.is_global and not address.is_multicast


def public_addresses(url: str) -> list[IpAddress]:
    """The addresses ``url`` may be fetched from, or ``ValidationFailed`` (code ``unsafe_url``)."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in _SCHEMES or not parts.hostname:
        raise ValidationFailed("Only absolute http(s) URLs are accepted.", code="unsafe_url")
    if parts.username or parts.password:
        raise ValidationFailed("URLs may not carry credentials.", code="unsafe_url")
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError):
        raise ValidationFailed("The URL's host does not resolve.", code="unsafe_url") from None
    addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses or not all(is_public(address) for address in addresses):
        raise ValidationFailed(
            "The URL points to a private, loopback or link-local address.", code="unsafe_url"
        )
    return addresses
