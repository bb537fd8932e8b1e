"""Caller access (SPEC §4.10), pure: who a bearer token is, and what it may call.

The auth file (``WA_SIDECAR_AUTH_FILE``, YAML) lists principals by the
SHA-256 of their token, never the token itself::

    principals:
      - name: checkout-service
        token_sha256: <64 hex>
        roles: [sender]
        categories: [UTILITY]      # optional: what a sender may send

Each RPC needs one role (``REQUIRED_ROLE``); a method missing from the table
is denied. Health and reflection are not in it: the transport lets them
through without a token.

    >>> policy = AccessPolicy.from_document(yaml.safe_load(text))
    >>> principal = policy.authenticate(bearer_header)      # None: unknown
    >>> policy.permits(principal, "/wasidecar.v1.SendService/Send")
"""

from __future__ import annotations

import enum
import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from sidecar.policy.types import Category, Decision, Reason


class Role(enum.Enum):
    SENDER = "sender"
    WEBHOOK = "webhook"
    CONSENT_WRITER = "consent-writer"
    CONSENT_ADMIN = "consent-admin"
    APPROVER = "approver"
    AUDITOR = "auditor"


_SEND = "/wasidecar.v1.SendService/"
_VERIFY = "/wasidecar.v1.VerifyService/"
_CONSENT = "/wasidecar.v1.ConsentService/"

REQUIRED_ROLE: Final[Mapping[str, Role]] = {
    **{
        _SEND + m: Role.SENDER
        for m in (
            "Send",
            "SendBatch",
            "Enqueue",
            "GetSendStatus",
            "Check",
            "Classify",
            "ListDeadLetters",
            "RequeueDeadLetter",
            "ListInDoubt",
            "ResolveInDoubt",
        )
    },
    **{_VERIFY + m: Role.WEBHOOK for m in ("VerifyWebhook", "VerifySubscription", "StreamEvents")},
    _CONSENT + "Grant": Role.CONSENT_WRITER,
    _CONSENT + "Revoke": Role.CONSENT_WRITER,
    _CONSENT + "Get": Role.CONSENT_WRITER,
    _CONSENT + "ExportSubject": Role.CONSENT_ADMIN,
    _CONSENT + "EraseSubject": Role.CONSENT_ADMIN,
    _CONSENT + "OverrideSuppression": Role.CONSENT_ADMIN,
    _CONSENT + "ApproveOperation": Role.APPROVER,
    _CONSENT + "ListAudit": Role.AUDITOR,
    _CONSENT + "VerifyAudit": Role.AUDITOR,
}
"""The role each RPC (full gRPC path) needs."""

OPEN_PREFIXES: Final = ("/grpc.health.v1.", "/grpc.reflection.")
"""Methods every caller may use without a token (kubelet probes, grpcurl)."""

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@/-]{0,127}")
_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_BEARER = "bearer "


class AccessFileError(ValueError):
    """The auth document is invalid; the message names the entry and field."""


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller; ``categories`` is None when any may be sent."""

    name: str
    roles: frozenset[Role]
    categories: frozenset[Category] | None = None

    def may_send(self, category: Category) -> bool:
        return self.categories is None or category in self.categories


class AccessPolicy:
    """The principals of one auth document, by token hash."""

    __slots__ = ("_by_hash",)

    def __init__(self, principals: Mapping[str, Principal]) -> None:
        self._by_hash = dict(principals)

    @classmethod
    def from_document(cls, doc: Any) -> AccessPolicy:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("principals"), list):
            raise AccessFileError("principals: a list of principals is required")
        by_hash: dict[str, Principal] = {}
        names: set[str] = set()
        for i, entry in enumerate(doc["principals"]):
            where = f"principals[{i}]"
            if not isinstance(entry, Mapping):
                raise AccessFileError(f"{where}: must be a mapping")
            unknown = set(entry) - {"name", "token_sha256", "roles", "categories"}
            if unknown:
                raise AccessFileError(f"{where}: unknown field {sorted(unknown)[0]!r}")
            name = entry.get("name")
            if not isinstance(name, str) or not _NAME.fullmatch(name):
                raise AccessFileError(
                    f"{where}.name: 1-128 letters, digits or ._:@/- (starting with a letter "
                    "or digit) required"
                )
            if name in names:
                raise AccessFileError(f"{where}.name: {name!r} appears twice")
            digest = entry.get("token_sha256")
            if not isinstance(digest, str) or not _HEX64.fullmatch(digest):
                raise AccessFileError(
                    f"{where}.token_sha256: the SHA-256 of the token as 64 hex digits"
                )
            digest = digest.lower()
            if digest in by_hash:
                raise AccessFileError(f"{where}.token_sha256: another principal has this token")
            by_hash[digest] = Principal(
                name, _roles(entry.get("roles"), where), _categories(entry, where)
            )
            names.add(name)
        return cls(by_hash)

    def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal of an ``authorization: Bearer <token>`` value, or None."""
        if not authorization or authorization[:7].lower() != _BEARER:
            return None
        token = authorization[7:].strip()
        if not token:
            return None
        return self._by_hash.get(token_sha256(token))

    def __len__(self) -> int:
        return len(self._by_hash)


def required_role(method: str) -> Role | None:
    """The role a full gRPC method path needs; None: no such method (deny)."""
    return REQUIRED_ROLE.get(method)


def permits(principal: Principal, method: str) -> bool:
    role = REQUIRED_ROLE.get(method)
    return role is not None and role in principal.roles


def category_refusal(principal: Principal | None, category: Category) -> Decision | None:
    """The refusal of a send in a category the caller may not send; None
    when it may (or when there is no authenticated caller)."""
    if principal is None or principal.may_send(category):
        return None
    return Decision(
        False,
        Reason.PERMISSION_DENIED,
        f"principal {principal.name!r} may not send {category.name} messages",
    )


def is_open(method: str) -> bool:
    return method.startswith(OPEN_PREFIXES)


def token_sha256(token: str) -> str:
    """What goes in ``token_sha256`` for a token."""
    return hashlib.sha256(token.encode()).hexdigest()


def _roles(value: Any, where: str) -> frozenset[Role]:
    if not isinstance(value, list) or not value:
        raise AccessFileError(f"{where}.roles: a non-empty list of roles is required")
    known = ", ".join(r.value for r in Role)
    return _members(value, Role, f"{where}.roles: unknown role", known, lambda item: item)


def _categories(entry: Mapping[str, Any], where: str) -> frozenset[Category] | None:
    if "categories" not in entry:
        return None
    value = entry["categories"]
    if not isinstance(value, list):
        raise AccessFileError(f"{where}.categories: a list of categories is required")
    known = ", ".join(c.name for c in Category)
    where = f"{where}.categories: unknown category"
    return _members(value, Category, where, known, lambda item: str(item).lower())


E = TypeVar("E", Role, Category)


def _members(
    items: list[Any], kind: type[E], problem: str, known: str, key: Callable[[Any], Any]
) -> frozenset[E]:
    """The enum members ``items`` name (by ``key(item)``), or an error naming
    the first unknown one and the known ones."""
    out: set[E] = set()
    for item in items:
        try:
            out.add(kind(key(item)))
        except ValueError:
            raise AccessFileError(f"{problem} {item!r} (known: {known})") from None
    return frozenset(out)
