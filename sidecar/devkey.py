"""The keyring from settings, or in development a key kept beside SQLite.

``WA_SIDECAR_ENCRYPTION_KEY`` is required unless the state is a local SQLite
file; then the key lives in ``<state file>.key`` (mode 0600), generated on the
first start. Offline tools pass ``generate=False``: they must never mint a
key that the data was not encrypted under.

    keyring = load_keyring(settings)
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

from sidecar.config import Settings
from sidecar.crypto.keys import Keyring
from sidecar.errors import ConfigError

log = logging.getLogger(__name__)


def load_keyring(settings: Settings, *, generate: bool = True) -> Keyring:
    """The configured key, or in dev a key kept beside the SQLite file
    (generated on first start; offline tools pass ``generate=False``)."""
    if settings.encryption_key:
        return Keyring.parse(settings.encryption_key.reveal())
    if not settings.state_url.startswith("sqlite:///"):
        raise ConfigError(
            "WA_SIDECAR_ENCRYPTION_KEY", "required unless the state is a local SQLite file"
        )
    path = Path(settings.state_url.removeprefix("sqlite:///") + ".key")
    if not path.exists() and not generate:
        raise ConfigError(
            "WA_SIDECAR_ENCRYPTION_KEY", f"not set, and no development key file at {path}"
        )
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, stat.S_IRUSR | stat.S_IWUSR)
        with os.fdopen(fd, "w") as f:
            f.write(Keyring.generate())
        log.warning(
            "generated a development encryption key beside the SQLite state",
            extra={"event": "dev_key_generated", "path": str(path)},
        )
    return Keyring.parse(path.read_text().strip())
