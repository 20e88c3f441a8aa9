"""The ``authorizationPolicy`` of an authentication (ksef-api.md §4.2a): tokens obtained with
it are used only from the listed IPv4 addresses, ranges (``a.b.c.d-e.f.g.h``) and masks
(``a.b.c.d/n``); from anywhere else a call is 403 ``ip-not-allowed``."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from typing import Any

import attrs

from ksef_emulator.errors import validation

__all__ = ["IpPolicy"]

_MAX_ENTRIES = 10


@attrs.frozen
class IpPolicy:
    """Allowed addresses, ranges and networks; empty means no restriction."""

    addresses: tuple[ipaddress.IPv4Address, ...] = ()
    ranges: tuple[tuple[ipaddress.IPv4Address, ipaddress.IPv4Address], ...] = ()
    networks: tuple[ipaddress.IPv4Network, ...] = ()

    @property
    def restricts(self) -> bool:
        """Whether any entry was given."""
        return bool(self.addresses or self.ranges or self.networks)

    def allows(self, ip: str) -> bool:
        """Whether a call from ``ip`` may use the tokens."""
        if not self.restricts:
            return True
        try:
            address = ipaddress.IPv4Address(ip)
        except ValueError:
            return False
        return (
            address in self.addresses
            or any(low <= address <= high for low, high in self.ranges)
            or any(address in network for network in self.networks)
        )

    @classmethod
    def parse(
        cls, addresses: Iterable[str], ranges: Iterable[str], masks: Iterable[str]
    ) -> IpPolicy:
        """From the three lists (21405 for a malformed entry or more than ten of a kind)."""
        lists = [list(addresses), list(ranges), list(masks)]
        if any(len(entries) > _MAX_ENTRIES for entries in lists):
            raise validation(f"Dozwolonych jest najwyżej {_MAX_ENTRIES} wpisów każdego rodzaju.")
        try:
            return cls(
                addresses=tuple(ipaddress.IPv4Address(a) for a in lists[0]),
                ranges=tuple(_range(r) for r in lists[1]),
                networks=tuple(ipaddress.IPv4Network(m, strict=False) for m in lists[2]),
            )
        except ValueError as error:
            raise validation(f"Nieprawidłowa polityka adresów IP: {error}") from error

    @classmethod
    def from_json(cls, policy: Any) -> IpPolicy:
        """From ``authorizationPolicy`` of ``POST /auth/ksef-token``."""
        if policy is None:
            return cls()
        allowed = policy.get("allowedIps") if isinstance(policy, Mapping) else None
        if allowed is None:
            return cls()
        if not isinstance(allowed, Mapping):
            raise validation("'authorizationPolicy.allowedIps' musi być obiektem.")
        lists = []
        for field in ("ip4Addresses", "ip4Ranges", "ip4Masks"):
            entries = allowed.get(field) or []
            if not isinstance(entries, list) or not all(isinstance(e, str) for e in entries):
                raise validation(f"'authorizationPolicy.allowedIps.{field}' musi być listą.")
            lists.append(entries)
        return cls.parse(*lists)


def _range(text: str) -> tuple[ipaddress.IPv4Address, ipaddress.IPv4Address]:
    low, _, high = text.partition("-")
    first, last = ipaddress.IPv4Address(low.strip()), ipaddress.IPv4Address(high.strip())
    if last < first:
        raise ValueError(f"range {text} ends before it starts")
    return first, last
