"""Secret files (``WA_SIDECAR_<NAME>_FILE``) as a watched source.

A Kubernetes Secret volume updates by swapping its ``..data`` symlink to a
new directory: the path stays, the inode behind it changes. So a look is a
``stat`` of every file (following links); the files are read only when an
inode, size or mtime differs from the last reading.

    source = FileSource({"access_token": "/etc/wa/access_token"})
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path

from sidecar.config import Secret
from sidecar.errors import SecretSourceUnavailable
from sidecar.secrets.base import Reading


def _signature(path: str) -> str:
    try:
        st = os.stat(path)
    except OSError as exc:
        raise SecretSourceUnavailable(f"secret file {path}: {exc.strerror}") from None
    return f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}"


class FileSource:
    """The secrets named by ``*_FILE`` variables, re-read when their files change."""

    name = "files"
    setting = "WA_SIDECAR_ACCESS_TOKEN_FILE"

    def __init__(self, paths: Mapping[str, str]) -> None:
        self._paths = dict(paths)
        self.where = ", ".join(sorted({str(Path(p).parent) for p in self._paths.values()}))

    def _look(self, since: Reading | None) -> Reading | None:
        revision = "|".join(_signature(path) for path in self._paths.values())
        if since is not None and since.revision == revision:
            return None
        values: dict[str, Secret] = {}
        for key, path in self._paths.items():
            try:
                values[key] = Secret(Path(path).read_text().strip(), file=path)
            except OSError as exc:
                raise SecretSourceUnavailable(f"secret file {path}: {exc.strerror}") from None
        return Reading(values, revision)

    async def read(self, since: Reading | None) -> Reading | None:
        return await asyncio.to_thread(self._look, since)

    async def close(self) -> None:
        return None
