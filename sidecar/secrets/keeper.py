"""``SecretKeeper``: the secrets in force, merged from every source, kept fresh.

Sources are merged in order, a later one winning per key (environment, then
files, then Vault). ``start`` reads them all; ``run`` looks again every
``interval`` seconds and hands each change to the listeners as
``(values, changed keys)``. A source that cannot be read keeps its last good
values: ``wa_sidecar_secret_source_up{source}`` drops to 0, the health
listener hears ``False`` (gRPC health ``wasidecar.secrets``), and both recover
at the next good read.

    keeper = SecretKeeper([EnvSource(...), VaultSource(...)], metrics, interval=5.0)
    values = await keeper.start(strict=True)     # prod: an unreachable source stops the start
    keeper.listen(custody.adopt)
    await keeper.run(stop)

A listener that refuses a value (``ValueError``: an encryption key that does
not parse) keeps the old one in force; that is counted as ``invalid``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence

from sidecar.config import Secret
from sidecar.errors import ConfigError, SecretSourceUnavailable
from sidecar.secrets.base import KEYS, Reading, SecretSource
from sidecar.telemetry.metrics import Metrics

log = logging.getLogger(__name__)

Values = Mapping[str, Secret]
Listener = Callable[[Values, frozenset[str]], Awaitable[None]]
HealthListener = Callable[[bool], Awaitable[None]]


class SecretKeeper:
    """Merged values of ``sources``; see the module docstring."""

    def __init__(
        self, sources: Sequence[SecretSource], metrics: Metrics, *, interval: float
    ) -> None:
        self._sources = list(sources)
        self._metrics = metrics
        self._interval = interval
        self._readings: dict[str, Reading | None] = {s.name: None for s in self._sources}
        self._down: set[str] = set()
        self._values: dict[str, Secret] = {}
        self._listeners: list[Listener] = []
        self._health: list[HealthListener] = []
        self.looks = 0  # completed looks at every source (tests wait on it)
        self._looked = asyncio.Condition()

    @property
    def values(self) -> Values:
        return dict(self._values)

    @property
    def healthy(self) -> bool:
        return not self._down

    def listen(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def on_health(self, listener: HealthListener) -> None:
        self._health.append(listener)

    async def start(self, *, strict: bool) -> Values:
        """Read every source once. ``strict`` (prod): an unreachable source is a
        ``ConfigError`` naming its setting and address; otherwise it is marked
        down and retried by ``run``."""
        for source in self._sources:
            self._metrics.secret_source_up.labels(source.name).set(1.0)
            try:
                self._readings[source.name] = await source.read(None)
            except SecretSourceUnavailable as exc:
                if strict:
                    raise ConfigError(source.setting, f"cannot read secrets: {exc}") from None
                self._mark(source, False, str(exc))
        self._values = self._merge()
        return self.values

    def _merge(self) -> dict[str, Secret]:
        merged: dict[str, Secret] = {}
        for source in self._sources:
            reading = self._readings[source.name]
            if reading is not None:
                merged.update((k, v) for k, v in reading.values.items() if k in KEYS and v)
        return merged

    def _mark(self, source: SecretSource, up: bool, detail: str = "") -> bool:
        """Record a source's state; True when it flipped."""
        self._metrics.secret_source_up.labels(source.name).set(1.0 if up else 0.0)
        if up == (source.name not in self._down):
            return False
        if up:
            self._down.discard(source.name)
            log.info(
                "secret source readable again",
                extra={"event": "secret_source_up", "source": source.name},
            )
        else:
            self._down.add(source.name)
            log.warning(
                "secret source unreadable; the last good values stay in force: %s",
                detail,
                extra={"event": "secret_source_down", "source": source.name},
            )
        return True

    async def poll(self) -> None:
        """One look at every source; listeners hear what changed."""
        was_healthy = self.healthy
        changed_sources: list[str] = []
        for source in self._sources:
            try:
                reading = await source.read(self._readings[source.name])
            except SecretSourceUnavailable as exc:
                if self._mark(source, False, str(exc)):
                    self._metrics.secret_reloads.labels(source.name, "failed").inc()
                continue
            self._mark(source, True)
            if reading is not None:
                self._readings[source.name] = reading
                changed_sources.append(source.name)
        if changed_sources:
            await self._apply(self._merge(), changed_sources)
        if self.healthy != was_healthy:
            for health in self._health:
                await health(self.healthy)
        async with self._looked:
            self.looks += 1
            self._looked.notify_all()

    async def _apply(self, merged: dict[str, Secret], sources: list[str]) -> None:
        # A key no source holds any more keeps its last value: an emptied
        # secret must not stop sends or webhooks.
        changed = frozenset(k for k in merged if merged[k] != self._values.get(k))
        result = "ok" if changed else "unchanged"
        if changed:
            new = {**self._values, **{k: merged[k] for k in changed}}
            try:
                for listener in self._listeners:
                    await listener(new, changed)
            except ValueError as exc:
                result = "invalid"
                log.error(
                    "new secret values refused; the previous ones stay in force: %s",
                    exc,
                    extra={"event": "secret_rejected", "keys": sorted(changed)},
                )
            else:
                self._values = new
                log.info(
                    "secrets changed",
                    extra={"event": "secrets_reloaded", "keys": sorted(changed)},
                )
        for name in sources:
            self._metrics.secret_reloads.labels(name, result).inc()

    async def wait_looks(self, count: int) -> None:
        """Wait until ``count`` looks have completed (tests, operators)."""
        async with self._looked:
            await self._looked.wait_for(lambda: self.looks >= count)

    async def run(self, stop: asyncio.Event) -> None:
        """Look every ``interval`` seconds until ``stop`` is set."""
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._interval)
            if not stop.is_set():
                await self.poll()

    async def close(self) -> None:
        for source in self._sources:
            await source.close()
