"""The environment as a secret source: read once, never changes."""

from __future__ import annotations

from collections.abc import Mapping

from sidecar.config import Secret
from sidecar.secrets.base import Reading


class EnvSource:
    """Secrets given as ``WA_SIDECAR_<NAME>`` (already loaded into the settings).

    A process's environment cannot change, so the first reading is the only one.
    """

    name = "environment"
    where = "the environment"
    setting = "WA_SIDECAR_ACCESS_TOKEN"

    def __init__(self, values: Mapping[str, Secret]) -> None:
        self._values = dict(values)

    async def read(self, since: Reading | None) -> Reading | None:
        return Reading(self._values, "static") if since is None else None

    async def close(self) -> None:
        return None
