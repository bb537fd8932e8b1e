"""Ground for unit tests of the service layer: no ports, no real time.

``Rig`` builds ``Sender``, ``QuotaGate``, ``WebhookHandler``,
``ConsentManager`` and ``Outbox`` the way ``app.py`` does, but over a SQLite state in a temporary
directory, a memory quota store, a ``ScriptedGraph`` and a ``FakeTime`` that
every part reads (the quota store's GCRA included), so a retry's backoff or a
token-bucket wait advances the clock instead of sleeping.

    rig.graph.script(GraphError(code=131000, http_status=500), "wamid.ok")
    result = await rig.sender().send(command("k1"))
    assert rig.graph.gaps() == [1.0]
"""

from __future__ import annotations

import asyncio
import dataclasses
import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sidecar.config import Settings
from sidecar.crypto import BlindIndexer, FieldCipher, Keyring, SubjectKeys
from sidecar.policy.buttons import ButtonRules
from sidecar.policy.content import Template
from sidecar.policy.inbound import InboundRules
from sidecar.policy.optout import OptOutMatcher
from sidecar.policy.signature import SignatureVerifier
from sidecar.policy.source import SourcePolicy
from sidecar.policy.types import Category
from sidecar.service.account import AccountEvents
from sidecar.service.consent import ConsentManager
from sidecar.service.models import SendCommand, send_command
from sidecar.service.outbox import Outbox
from sidecar.service.pacing import QuotaGate
from sidecar.service.send import SendDeps, Sender, SendSettings
from sidecar.service.subjects import SubjectDirectory
from sidecar.service.webhooks import RateLimiter, WebhookDeps, WebhookHandler
from sidecar.service_settings import send_settings, webhook_settings
from sidecar.stores.memory import MemoryQuotaStore
from sidecar.stores.sqlite import SqliteStateStore
from sidecar.telemetry.metrics import Metrics
from sidecar.testing import DEV_APP_SECRET, PHONE_NUMBER_ID
from sidecar.whatsapp.errors import GraphError
from sidecar.whatsapp.tokens import TokenManager

TO = "+16505551234"


class FakeTime:
    """Wall time (call it) and monotonic time (``monotonic``), moved together
    and only by ``advance`` and ``sleep``.

    ``sleep`` advances at once (after yielding to the loop, so other tasks
    run) and records how long it was asked for in ``sleeps``. Time is kept
    as seconds elapsed, so a nanosecond sleep still moves the monotonic
    reading (it starts near zero, like the real one), which the quota
    store's GCRA needs; a wall reading near 1.8e9 cannot show such a step.
    """

    def __init__(self, start: float = 1_767_225_600.0) -> None:
        self.start = start
        self.elapsed = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.start + self.elapsed

    def monotonic(self) -> float:
        return 1_000.0 + self.elapsed

    def advance(self, seconds: float) -> None:
        self.elapsed += seconds

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.elapsed += max(seconds, 0.0)
        await asyncio.sleep(0)


class Draws:
    """A deterministic ``rand``: the given values in turn, then the last one forever."""

    def __init__(self, *values: float) -> None:
        self._values = iter(values or (0.5,))
        self._last = 0.5

    def __call__(self) -> float:
        self._last = next(self._values, self._last)
        return self._last


@dataclass(frozen=True, slots=True)
class Call:
    """One ``send_message`` the service made."""

    phone_number_id: str
    body: dict[str, Any]
    resend_count: int
    at: float


class ScriptedGraph:
    """Graph's send endpoint, scripted: each call takes the next outcome of
    the script — a message id to answer, or a ``GraphError`` to raise — and
    answers a fresh id once the script is used up. Every call is recorded.
    While ``hold`` is cleared, calls wait for it (to catch concurrent repeats).
    """

    def __init__(self, clock: FakeTime) -> None:
        self._clock = clock
        self._script: list[str | GraphError] = []
        self._ids = (f"wamid.fake{n}" for n in itertools.count(1))
        self.calls: list[Call] = []
        self.hold = asyncio.Event()
        self.hold.set()
        self.called = asyncio.Event()

    def script(self, *outcomes: str | GraphError) -> None:
        self._script.extend(outcomes)

    async def send_message(
        self, phone_number_id: str, body: bytes, *, resend_count: int = 0
    ) -> str:
        self.calls.append(
            Call(phone_number_id, json.loads(body), resend_count, self._clock.monotonic())
        )
        self.called.set()
        await self.hold.wait()
        outcome = self._script.pop(0) if self._script else next(self._ids)
        if isinstance(outcome, GraphError):
            raise outcome
        return outcome

    def gaps(self) -> list[float]:
        """Seconds between consecutive calls (the waits before each retry)."""
        return [b.at - a.at for a, b in itertools.pairwise(self.calls)]


def command(
    key: str = "k1",
    to: str = TO,
    category: Category = Category.AUTHENTICATION,
    *,
    template: str = "otp",
    dry_run: bool = False,
) -> SendCommand:
    """A validated template send, as ``api/convert_send.py`` would hand it over."""
    return send_command(
        key=key,
        to=to,
        category=category,
        phone_number_id=PHONE_NUMBER_ID,
        message=Template(template, "en"),
        dry_run=dry_run,
    )


class Rig:
    """The parts ``app.py`` wires, over test backends; build services with
    the methods, each taking settings overrides by field name."""

    def __init__(self, state: SqliteStateStore, clock: FakeTime, rand: Draws) -> None:
        self.clock = clock
        self.rand = rand
        self.state = state
        self.dedup = state.dedup()
        self.quota = MemoryQuotaStore(clock=clock.monotonic)
        self.graph = ScriptedGraph(clock)
        self.metrics = Metrics()
        self.keyring = Keyring.parse(Keyring.generate())
        self.cipher = FieldCipher(self.keyring)
        self.directory = SubjectDirectory(
            state, BlindIndexer(self.keyring), SubjectKeys(self.keyring), clock=clock
        )
        self.consent = ConsentManager(state, self.directory, self.metrics, clock=clock)
        self.tokens = TokenManager("test-token", app_secret=DEV_APP_SECRET.encode(), clock=clock)

    @classmethod
    async def open(cls, tmp_path: Path, clock: FakeTime, rand: Draws) -> Rig:
        state = SqliteStateStore(str(tmp_path / "state.db"))
        await state.open()
        return cls(state, clock, rand)

    async def close(self) -> None:
        await self.quota.close()
        await self.state.close()

    def send_settings(self, **settings: Any) -> SendSettings:
        """The defaults of ``Settings()``, with ``settings`` overriding fields (a
        ``burst`` given is the bucket's size: it no longer follows the rate)."""
        if "burst" in settings:
            settings.setdefault("burst_follows_rate", False)
        return dataclasses.replace(send_settings(Settings()), **settings)

    def sender(self, **settings: Any) -> Sender:
        return Sender(
            SendDeps(
                state=self.state,
                quota=self.quota_gate(**settings),
                directory=self.directory,
                graph=self.graph,
                tokens=self.tokens,
                cipher=self.cipher,
                metrics=self.metrics,
                fingerprint_key=self.keyring.index_subkey(b"test/fingerprint"),
            ),
            self.send_settings(**settings),
            clock=self.clock,
            sleep=self.clock.sleep,
            rand=self.rand,
        )

    def quota_gate(self, **settings: Any) -> QuotaGate:
        return QuotaGate(
            self.quota,
            self.metrics,
            self.send_settings(**settings),
            fallback=MemoryQuotaStore(clock=self.clock.monotonic),
            clock=self.clock,
            sleep=self.clock.sleep,
        )

    def webhooks(self, *, limiter: RateLimiter | None = None, **settings: Any) -> WebhookHandler:
        base = webhook_settings(Settings())
        return WebhookHandler(
            WebhookDeps(
                state=self.state,
                dedup=self.dedup,
                directory=self.directory,
                consent=self.consent,
                verifier=SignatureVerifier([DEV_APP_SECRET.encode()]),
                source=SourcePolicy(allow_cidrs=[], trusted_proxies=[]),
                rules=InboundRules(OptOutMatcher(), ButtonRules(), (Category.MARKETING,)),
                metrics=self.metrics,
                event_key_secret=self.keyring.index_subkey(b"test/event-keys"),
                limiter=limiter,
                account=AccountEvents(self.metrics, templates=self.state, clock=self.clock),
            ),
            dataclasses.replace(base, **settings),
            clock=self.clock,
        )

    def outbox(self, sender: Sender) -> Outbox:
        return Outbox(sender, self.state, self.directory, self.cipher, clock=self.clock)

    def metric(self, name: str, **labels: str) -> float:
        """A sample of the rig's metrics (0 when never touched)."""
        value = self.metrics.registry.get_sample_value(name, labels)
        return 0.0 if value is None else value
