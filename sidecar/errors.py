"""Domain errors of the sidecar.

    SidecarError                    base of everything we raise on purpose
    ├── ConfigError                 invalid settings; names the setting
    ├── InvalidRequest              bad input; names the field   → INVALID_ARGUMENT
    ├── IdempotencyConflict         key reused with other content → FAILED_PRECONDITION
    ├── PreconditionFailed          the system is not in a state for this → FAILED_PRECONDITION
    ├── NotFound                    an id that does not exist     → NOT_FOUND
    ├── PermissionDenied            principal lacks the role      → PERMISSION_DENIED
    ├── Unauthenticated             no or unknown bearer token    → UNAUTHENTICATED
    ├── StoreUnavailable            a backing store is down       → UNAVAILABLE
    ├── SecretSourceUnavailable     Vault or a secret file cannot be read (last good values kept)
    ├── DecryptionError             a sealed blob will not open   → DATA_LOSS (crypto/)
    ├── WebhookParseError           malformed webhook payload (answered, never raised to callers)
    └── GraphError                  the Graph API refused or failed (whatsapp/)

Errors become gRPC status codes in exactly one place: ``sidecar/api/status.py``.
Messages never contain phone numbers, tokens or secrets.
"""

from __future__ import annotations


class SidecarError(Exception):
    """Base class for errors the sidecar raises deliberately."""


class ConfigError(SidecarError):
    """A setting is invalid; ``setting`` is its environment variable name."""

    def __init__(self, setting: str, problem: str) -> None:
        super().__init__(f"{setting}: {problem}")
        self.setting = setting
        self.problem = problem


class InvalidRequest(SidecarError):
    """The request is malformed; ``field`` names the offending field."""

    def __init__(self, field: str, problem: str) -> None:
        super().__init__(f"{field}: {problem}")
        self.field = field
        self.problem = problem


class IdempotencyConflict(SidecarError):
    """An idempotency key was reused for a request with different content."""


class PreconditionFailed(SidecarError):
    """The request is valid but the system is not set up for it."""


class NotFound(SidecarError):
    """The named resource does not exist."""


class PermissionDenied(SidecarError):
    """The caller is known but may not do this."""


class Unauthenticated(SidecarError):
    """The caller presented no token, or an unknown one."""


class StoreUnavailable(SidecarError):
    """A backing store (SQLite, PostgreSQL, Redis) could not be reached in time."""


class SecretSourceUnavailable(SidecarError):
    """A secret source (Vault/OpenBao, a secret file) could not be read.

    The message names the source and its address, never a value.
    """


class DecryptionError(SidecarError):
    """A blob could not be opened: truncated, tampered, wrong AAD, or unknown key id.

    Raised by :mod:`sidecar.crypto`. The message names the cause class only,
    never plaintext or key material.
    """


class WebhookParseError(SidecarError):
    """A webhook body is not a well-formed WhatsApp delivery."""
