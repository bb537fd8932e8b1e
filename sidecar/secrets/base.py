"""The one interface every secret source implements.

A source holds some of the four secrets (``KEYS``) and answers ``read``:
the values it holds now, or ``None`` when nothing changed since the reading
it is shown. What "changed" means is the source's own cheap marker — a file's
inode, size and mtime, Vault's KV version — carried as ``Reading.revision``.

    reading = await source.read(None)          # first look: always values
    later = await source.read(reading)         # None, or the new values

A source that cannot be read raises ``SecretSourceUnavailable`` naming itself
and its address; values never appear in messages, reprs or logs (``Secret``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from sidecar.config import Secret

KEYS = ("access_token", "app_secret", "verify_token", "encryption_key")
"""The secrets a source may hold, by their key in Vault and their setting name."""


@dataclass(frozen=True, slots=True)
class Reading:
    """What one source holds now; ``revision`` changes whenever the values may have."""

    values: Mapping[str, Secret]
    revision: str


class SecretSource(Protocol):
    """A place secrets come from.

    ``name`` labels the source in metrics and logs (``environment``,
    ``files``, ``vault``); ``where`` is what an operator needs to find it (an
    address, a directory) and may appear in errors; ``setting`` is the
    variable an error at start names.
    """

    name: str
    where: str
    setting: str

    async def read(self, since: Reading | None) -> Reading | None:
        """The values now, or None when they did not change since ``since``.

        Raises ``SecretSourceUnavailable`` when the source cannot be read.
        """
        ...

    async def close(self) -> None: ...
