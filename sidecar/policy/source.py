"""Webhook source controls (SPEC §4.2), pure: who sent this POST, and may they?

``X-Forwarded-For`` is believed only when the connection comes from a listed
proxy: the list is walked from the right (the hop nearest to us), skipping
addresses of trusted proxies, and the first address that is not one is the
client. Anything else could be written by the client itself. A request may
carry several ``X-Forwarded-For`` lines (each proxy may add its own): they are
one list, in order, so all of them are read and the walk starts at the end of
the last one. Addresses are
normalised (IPv4-mapped IPv6 becomes IPv4), so ``::ffff:10.0.0.1`` and
``10.0.0.1`` are one client for the allowlist and the per-source rate limit.

    >>> policy = SourcePolicy(allow_cidrs=["31.13.24.0/21"], trusted_proxies=["10.0.0.0/8"])
    >>> ip = policy.client_ip("10.1.2.3", "31.13.24.7, 10.4.5.6")
    >>> ip, policy.allowed(ip)
    ('31.13.24.7', True)
"""

from __future__ import annotations

import functools
import ipaddress
from collections.abc import Sequence

_Address = ipaddress.IPv4Address | ipaddress.IPv6Address
_Network = ipaddress.IPv4Network | ipaddress.IPv6Network
# (mask, {network address & mask}) per distinct prefix length: a lookup costs one
# set probe per prefix length, however many networks are listed.
_Table = tuple[tuple[int, frozenset[int]], ...]

_MAX_ADDRESS_LEN = 64  # "[v6%zone]:port" fits; longer is garbage, not worth caching
_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")


class SourcePolicy:
    """CIDR allowlist plus trusted-proxy ``X-Forwarded-For`` handling.

    Both lists are parsed once; an empty allowlist allows every source and an
    empty proxy list ignores ``X-Forwarded-For`` altogether.
    """

    __slots__ = ("_allow4", "_allow6", "_open", "_proxy4", "_proxy6")

    def __init__(self, allow_cidrs: Sequence[str], trusted_proxies: Sequence[str]) -> None:
        self._allow4, self._allow6 = _tables(allow_cidrs, "allow_cidrs")
        self._proxy4, self._proxy6 = _tables(trusted_proxies, "trusted_proxies")
        self._open = not (self._allow4 or self._allow6)

    def client_ip(self, remote_ip: str, forwarded_for: str | Sequence[str] | None) -> str | None:
        """The client's normalised address, or ``None`` when it cannot be told.

        ``forwarded_for`` is the ``X-Forwarded-For`` value, or the values of
        all its header lines in the order they came.
        """
        remote = _parse(remote_ip)
        if remote is None:
            return None
        if not forwarded_for or not (self._proxy4 or self._proxy6) or not self._trusted(remote):
            return _text(remote)
        lines = (forwarded_for,) if isinstance(forwarded_for, str) else forwarded_for
        address = remote
        for line in reversed(lines):
            for hop in reversed(line.split(",")):
                parsed = _parse(hop)
                if parsed is None:
                    return None
                address = parsed
                if not self._trusted(address):
                    # If every hop was one of our proxies, the leftmost is the best we know.
                    return _text(address)
        return _text(address)

    def allowed(self, ip: str | None) -> bool:
        """Whether ``ip`` (from :meth:`client_ip`) passes the allowlist."""
        if self._open:
            return True
        address = None if ip is None else _parse(ip)
        if address is None:
            return False
        if address.version == 4:
            return _contains(self._allow4, int(address))
        return _contains(self._allow6, int(address))

    def _trusted(self, address: _Address) -> bool:
        if address.version == 4:
            return _contains(self._proxy4, int(address))
        return _contains(self._proxy6, int(address))


def _contains(table: _Table, value: int) -> bool:
    return any((value & mask) in networks for mask, networks in table)


def _tables(entries: Sequence[str], setting: str) -> tuple[_Table, _Table]:
    by_prefix: dict[tuple[int, int], set[int]] = {}
    for entry in entries:
        network = _network(entry, setting)
        by_prefix.setdefault((network.version, network.prefixlen), set()).add(
            int(network.network_address)
        )
    tables: dict[int, list[tuple[int, frozenset[int]]]] = {4: [], 6: []}
    for (version, prefixlen), networks in sorted(by_prefix.items()):
        bits = 32 if version == 4 else 128
        mask = ((1 << prefixlen) - 1) << (bits - prefixlen)
        tables[version].append((mask, frozenset(networks)))
    return tuple(tables[4]), tuple(tables[6])


def _network(entry: str, setting: str) -> _Network:
    try:
        network = ipaddress.ip_network(entry.strip(), strict=True)
    except (ValueError, TypeError, AttributeError):
        raise ValueError(f"{setting}: {entry!r} is not an IP address or CIDR network") from None
    if (
        isinstance(network, ipaddress.IPv6Network)
        and network.prefixlen >= 96
        and network.subnet_of(_MAPPED)
    ):
        # "::ffff:10.0.0.0/104" means 10.0.0.0/8; addresses are compared as IPv4.
        mapped = network.network_address.ipv4_mapped
        assert mapped is not None  # inside ::ffff:0:0/96
        return ipaddress.IPv4Network((mapped, network.prefixlen - 96))
    return network


@functools.lru_cache(maxsize=1024)
def _parse_cached(text: str) -> _Address | None:
    # Accept what proxies actually write: "a.b.c.d", "a.b.c.d:port",
    # "v6", "[v6]" and "[v6]:port".
    if text.startswith("["):
        text, sep, rest = text[1:].partition("]")
        if not sep or (rest and not (rest[0] == ":" and _is_port(rest[1:]))):
            return None
    elif text.count(":") == 1:
        text, _, port = text.partition(":")
        if not _is_port(port):
            return None
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


# Formatting an address is slower than parsing it; webhook sources are few.
_text = functools.lru_cache(maxsize=1024)(str)


def _parse(text: str) -> _Address | None:
    text = text.strip()
    if not text or len(text) > _MAX_ADDRESS_LEN:
        return None
    return _parse_cached(text)


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 5
