"""The rules a single setting must follow, named beside its field in ``fields``.

A rule takes the setting's value and raises ``ValueError`` with the problem;
``validation`` turns that into ``ConfigError`` naming the setting. Rules that
need two settings live in ``validation`` instead.

    send_rate: float = field(default=80.0, metadata=_doc("…", check=(positive, at_most(100_000))))
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sidecar.policy.buttons import ButtonRules
from sidecar.policy.optout_packs import PACKS

Rule = Callable[[Any], None]


def rule(holds: Callable[[Any], bool], problem: str) -> Rule:
    """A rule from a predicate; ``{}`` in ``problem`` shows the value."""

    def check(value: Any) -> None:
        if not holds(value):
            raise ValueError(problem.format(value))

    return check


positive = rule(lambda v: v > 0, "must be > 0, got {}")
non_negative = rule(lambda v: v >= 0, "must be ≥ 0, got {}")
not_empty = rule(bool, "must not be empty")


def starts_with(prefixes: str | tuple[str, ...], problem: str) -> Rule:
    return rule(lambda v: v.startswith(prefixes), problem)


def between(low: float, high: float, problem: str) -> Rule:
    """From ``low`` to ``high``, both included."""
    return rule(lambda v: low <= v <= high, problem)


def one_of(choices: Iterable[str], *, fold: Callable[[str], str] = str) -> Rule:
    names = tuple(choices)
    return rule(lambda v: fold(v) in names, f"must be one of {', '.join(names)}")


def host_port(*, optional: bool = False) -> Rule:
    """``host:port`` (IPv6 in brackets); empty only when ``optional``."""

    def check(value: str) -> None:
        if not value:
            if optional:
                return
            raise ValueError("must be host:port")
        host, sep, port = value.rpartition(":")
        if not sep or not host:
            raise ValueError(f"must be host:port, got {value!r}")
        if not port.isdigit() or not 0 <= int(port) <= 65535:
            raise ValueError(f"port must be 0-65535, got {port!r}")

    return check


UNIX_PREFIX = "unix://"


def is_unix(address: str) -> bool:
    """True for a Unix domain socket address ``unix:///path``."""
    return address.startswith(UNIX_PREFIX)


def grpc_address(value: str) -> None:
    """``host:port`` or ``unix:///absolute/path``."""
    if is_unix(value):
        path = value.removeprefix(UNIX_PREFIX)
        if not path.startswith("/") or path.endswith("/"):
            raise ValueError(f"must be unix:///absolute/path.sock, got {value!r}")
        return
    host_port()(value)


def host_of(address: str) -> str:
    """The host of a checked ``host:port`` address, without IPv6 brackets."""
    return address.rpartition(":")[0].strip("[]")


def is_loopback(host: str) -> bool:
    if host in ("localhost", "unix"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def cidrs(values: tuple[str, ...]) -> None:
    for cidr in values:
        try:
            ipaddress.ip_network(cidr, strict=False)
        except ValueError:
            raise ValueError(f"{cidr!r} is not a CIDR") from None


def rate_limit(text: str) -> None:
    """Empty (off) or a rate in ``limits`` notation."""
    if not text:
        return
    from limits import parse  # imported here: only needed to validate

    try:
        parse(text)
    except ValueError:
        raise ValueError(f"{text!r} is not like 200/second") from None


def existing_file(path: str) -> None:
    """Empty (off) or a file that exists."""
    if path and not Path(path).is_file():
        raise ValueError("file does not exist")


# --------------------------------------------------------------------------- opt-out

BUTTON_CATEGORIES = ("MARKETING", "UTILITY", "AUTHENTICATION", "SERVICE")


def known_locales(names: tuple[str, ...]) -> None:
    unknown = [name for name in names if name not in PACKS]
    if unknown:
        raise ValueError(f"unknown locale {unknown[0]!r}; known: {', '.join(PACKS)}")


def button_payloads(payloads: tuple[str, ...]) -> None:
    ButtonRules(payloads)  # its ValueError names the clashing payloads


def button_categories(names: tuple[str, ...]) -> None:
    if not names:
        raise ValueError("must name a category")
    for name in names:
        if name.upper() not in BUTTON_CATEGORIES:
            raise ValueError(f"{name!r} is not one of {', '.join(BUTTON_CATEGORIES)}")
