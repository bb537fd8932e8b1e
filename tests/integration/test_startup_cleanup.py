"""A start-up that fails after the secrets were read leaves nothing open:
Vault's HTTP session is closed when the state or quota store cannot be opened."""

from __future__ import annotations

import gc
import warnings
from pathlib import Path

import pytest
from support.openbao import OpenBao

from sidecar.app import build_runtime
from sidecar.config import load_settings
from sidecar.crypto.keys import Keyring
from sidecar.errors import StoreUnavailable
from sidecar.testing import base_env, free_port

pytestmark = pytest.mark.integration


@pytest.mark.parametrize(
    "unreachable",
    [
        ("WA_SIDECAR_STATE_URL", "postgresql://wa@127.0.0.1:{port}/wa"),
        ("WA_SIDECAR_QUOTA_URL", "redis://127.0.0.1:{port}/0"),
    ],
    ids=["state", "quota"],
)
async def test_vault_session_is_closed_when_a_store_fails_to_open(
    tmp_path: Path, unreachable: tuple[str, str]
) -> None:
    name, url = unreachable
    async with OpenBao.started(tmp_path) as bao:
        await bao.put(
            "wa-sidecar/start", app_secret="vault-start-secret", encryption_key=Keyring.generate()
        )
        env = {
            **base_env(tmp_path),
            "WA_SIDECAR_VAULT_ADDR": bao.addr,
            "WA_SIDECAR_VAULT_PATH": "secret/wa-sidecar/start",
            "WA_SIDECAR_VAULT_TOKEN": bao.root_token,
            name: url.format(port=free_port()),
        }
        settings = load_settings(environ=env)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            with pytest.raises(StoreUnavailable):
                await build_runtime(settings)
            # An unclosed aiohttp session says so when it is collected.
            gc.collect()
    unclosed = [str(w.message) for w in caught if "Unclosed" in str(w.message)]
    assert unclosed == []
