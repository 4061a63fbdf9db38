"""IP allow and deny lists: IPv4 and IPv6 CIDRs, checked when saved, matched with set look-ups.

A list is CIDRs or single addresses, one per line or comma-separated (``10.0.0.0/8, 2001:db8::/32,
192.0.2.7``). Matching does not walk the list: per prefix length present, a set of network numbers,
so a 50-entry list costs a few look-ups; verdicts are then remembered per address. IPv4 clients
that reach a dual-stack listener as ``::ffff:a.b.c.d`` are matched as the IPv4 address.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass

from django.core.exceptions import ValidationError

from edge import headers as h

MAX_NETWORKS = 1000
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[Network, ...]:
    found = h.items(value)
    if len(found) > MAX_NETWORKS:
        raise ValidationError(f"At most {MAX_NETWORKS} networks.", code="too_many")
    out: list[Network] = []
    for item in found:
        try:
            network = ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValidationError(
                f"{item[:50]!r} is not an IPv4 or IPv6 address or CIDR network (e.g. 203.0.113.0/24, 2001:db8::/32).",
                code="cidr",
            ) from None
        if network not in out:
            out.append(network)
    return tuple(out)


def validate_networks(value: str) -> None:
    parse_networks(value)


@dataclass(frozen=True, slots=True)
class IpListSpec:
    """One level's lists, as saved."""

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = ()


class Networks:
    """Membership of an address in a set of networks: one set of network numbers per prefix length."""

    def __init__(self, networks: tuple[Network, ...]) -> None:
        v4: dict[int, set[int]] = {}
        v6: dict[int, set[int]] = {}
        for network in networks:
            table, bits = (v4, 32) if network.version == 4 else (v6, 128)
            table.setdefault(network.prefixlen, set()).add(int(network.network_address) >> (bits - network.prefixlen))
        self.v4 = tuple((32 - length, frozenset(nets)) for length, nets in sorted(v4.items()))
        self.v6 = tuple((128 - length, frozenset(nets)) for length, nets in sorted(v6.items()))
        self.empty = not networks

    def __contains__(self, address: tuple[int, int]) -> bool:
        version, number = address
        for shift, nets in self.v4 if version == 4 else self.v6:
            if number >> shift in nets:
                return True
        return False


def address_of(text: str) -> tuple[int, int] | None:
    """``(version, number)`` of an address, or None when it is not one (never matched, so refused
    by an allow list)."""
    try:
        if ":" not in text:
            return 4, int.from_bytes(socket.inet_pton(socket.AF_INET, text), "big")
        number = int.from_bytes(socket.inet_pton(socket.AF_INET6, text.partition("%")[0]), "big")
    except OSError:
        return None
    if number >> 32 == 0xFFFF:  # ::ffff:a.b.c.d
        return 4, number & 0xFFFFFFFF
    return 6, number
