"""SecretKeeper: merge order, changes to listeners, last good values kept
while a source is unreadable; the file source's change detection; the
encryption key swap that keeps the blind-index root."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from sidecar.config import Secret
from sidecar.crypto.fields import FieldCipher, aad
from sidecar.crypto.keys import Keyring
from sidecar.errors import ConfigError, SecretSourceUnavailable
from sidecar.secrets.base import Reading
from sidecar.secrets.env import EnvSource
from sidecar.secrets.files import FileSource
from sidecar.secrets.keeper import SecretKeeper
from sidecar.service.custody import rekeyer
from sidecar.telemetry.metrics import Metrics

pytestmark = pytest.mark.unit


class ScriptedSource:
    """A source whose values and reachability a test sets (it holds no store)."""

    name = "scripted"
    where = "http://vault.test:8200"
    setting = "WA_SIDECAR_VAULT_ADDR"

    def __init__(self, **values: str) -> None:
        self.values = values
        self.version = 1
        self.down = False

    def set(self, **values: str) -> None:
        self.values = values
        self.version += 1

    async def read(self, since: Reading | None) -> Reading | None:
        if self.down:
            raise SecretSourceUnavailable(f"Vault at {self.where} unreachable (test)")
        if since is not None and since.revision == str(self.version):
            return None
        return Reading({k: Secret(v) for k, v in self.values.items()}, str(self.version))

    async def close(self) -> None:
        return None


def revealed(values: object) -> dict[str, str]:
    assert isinstance(values, dict)
    return {k: v.reveal() for k, v in values.items()}


def gauge(metrics: Metrics, name: str) -> float:
    value = metrics.registry.get_sample_value("wa_sidecar_secret_source_up", {"source": name})
    assert value is not None
    return value


async def test_later_sources_win_and_listeners_hear_only_what_changed() -> None:
    env = EnvSource({"access_token": Secret("env-token"), "verify_token": Secret("env-v")})
    vault = ScriptedSource(access_token="vault-token")
    keeper = SecretKeeper([env, vault], Metrics(), interval=1.0)
    assert revealed(await keeper.start(strict=True)) == {
        "access_token": "vault-token",
        "verify_token": "env-v",
    }
    heard: list[frozenset[str]] = []

    async def listener(values: object, changed: frozenset[str]) -> None:
        heard.append(changed)

    keeper.listen(listener)
    await keeper.poll()
    assert heard == []  # nothing changed
    vault.set(access_token="vault-token", app_secret="new-secret")
    await keeper.poll()
    assert heard == [frozenset({"app_secret"})]
    vault.set(app_secret="new-secret", verify_token="vault-v")
    await keeper.poll()
    # A key that left Vault falls back to the next source that holds it...
    assert revealed(keeper.values)["access_token"] == "env-token"
    vault.set(app_secret="new-secret")
    await keeper.poll()
    assert revealed(keeper.values)["verify_token"] == "env-v"
    vault.set(access_token="vault-token")
    await keeper.poll()
    # ...and one no source holds any more keeps its last value.
    assert revealed(keeper.values)["app_secret"] == "new-secret"


async def test_strict_start_names_the_unreachable_source() -> None:
    vault = ScriptedSource(access_token="t")
    vault.down = True
    with pytest.raises(ConfigError) as err:
        await SecretKeeper([vault], Metrics(), interval=1.0).start(strict=True)
    assert err.value.setting == "WA_SIDECAR_VAULT_ADDR"
    assert "http://vault.test:8200" in str(err.value)
    metrics = Metrics()
    lenient = SecretKeeper([vault], metrics, interval=1.0)
    assert await lenient.start(strict=False) == {}
    assert not lenient.healthy and gauge(metrics, "scripted") == 0.0


async def test_an_unreachable_source_keeps_the_last_values_and_reports_it() -> None:
    metrics = Metrics()
    vault = ScriptedSource(access_token="good")
    keeper = SecretKeeper([vault], metrics, interval=1.0)
    await keeper.start(strict=True)
    health: list[bool] = []

    async def on_health(ok: bool) -> None:
        health.append(ok)

    keeper.on_health(on_health)
    vault.down = True
    await keeper.poll()
    await keeper.poll()
    assert revealed(keeper.values) == {"access_token": "good"}
    assert health == [False] and gauge(metrics, "scripted") == 0.0
    failed = {"source": "scripted", "result": "failed"}
    assert metrics.registry.get_sample_value("wa_sidecar_secret_reloads_total", failed) == 1.0
    vault.down = False
    vault.set(access_token="fresh")
    await keeper.poll()
    assert health == [False, True] and gauge(metrics, "scripted") == 1.0
    assert revealed(keeper.values) == {"access_token": "fresh"}


async def test_a_refused_value_keeps_the_old_one_in_force() -> None:
    metrics = Metrics()
    vault = ScriptedSource(encryption_key="old")
    keeper = SecretKeeper([vault], metrics, interval=1.0)
    await keeper.start(strict=True)

    async def refuse(values: object, changed: frozenset[str]) -> None:
        raise ValueError("encryption_key: does not parse")

    keeper.listen(refuse)
    vault.set(encryption_key="broken")
    await keeper.poll()
    assert revealed(keeper.values) == {"encryption_key": "old"}
    invalid = {"source": "scripted", "result": "invalid"}
    assert metrics.registry.get_sample_value("wa_sidecar_secret_reloads_total", invalid) == 1.0


async def test_files_are_read_again_only_when_their_inode_size_or_mtime_changes(
    tmp_path: Path,
) -> None:
    path = tmp_path / "token"
    path.write_text("first\n")
    source = FileSource({"access_token": str(path)})
    first = await source.read(None)
    assert first is not None and first.values["access_token"].reveal() == "first"
    assert await source.read(first) is None
    staged = tmp_path / "token.new"
    staged.write_text("second\n")
    os.replace(staged, path)  # a new inode, as a Secret volume swap gives
    second = await source.read(first)
    assert second is not None and second.values["access_token"].reveal() == "second"
    path.unlink()
    with pytest.raises(SecretSourceUnavailable) as err:
        await source.read(second)
    assert str(path) in str(err.value) and "second" not in str(err.value)


def test_a_new_encryption_key_is_taken_only_with_the_same_index_root() -> None:
    old = Keyring.generate()
    old_key, index = (part.split(":", 1)[1] for part in old.split(","))
    cipher = FieldCipher(Keyring.parse(old))
    rekey = rekeyer(Keyring.parse(old), cipher)
    where = aad("sends", "request", "k")
    sealed_before = cipher.encrypt(b"payload", where)
    fresh = Keyring.generate().split(",")[0].split(":", 1)[1]
    rekey(f"k2:{fresh},k1:{old_key},idx:{index}")
    assert cipher.primary_id == "k2"
    assert cipher.decrypt(sealed_before, where) == b"payload"  # k1 still decrypts
    with pytest.raises(ValueError, match="idx"):
        rekey(Keyring.generate())
    with pytest.raises(ValueError, match="encryption_key"):
        rekey("not a key")
    assert cipher.primary_id == "k2"
