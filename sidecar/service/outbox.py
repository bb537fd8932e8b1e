"""The durable outbox: ``Enqueue`` answers at once, a dispatcher sends later.

``Outbox.enqueue`` records a validated command as a QUEUED send whose request
(the number included) is encrypted under the field key and bound to its
idempotency key (AAD ``sends ‖ request ‖ key``). A repeated key answers what is
stored; other content under the same key is an ``IdempotencyConflict``.

``Dispatcher.run`` is one background task per process. It claims QUEUED
records as RESERVED (atomically, so replicas never share one; also RESERVED
records whose owner's lease lapsed: they never reached Graph), decrypts them
and hands them to ``Sender.dispatch`` — the pipeline and token bucket of
``Send`` — with at most ``max_in_flight`` at once and the chunk pacing of
``SendBatch``. A record turns IN_FLIGHT only right before its Graph call. It
wakes at once when this process enqueues and polls for work other replicas
accepted. On shutdown it stops claiming; claimed work gets the grace period;
what is still RESERVED is claimable again once the lease is released.

    outbox = Outbox(sender, state, directory, cipher)
    result = await outbox.enqueue(command)            # Outcome.QUEUED
    dispatcher = Dispatcher(outbox, CampaignSettings(500, 1.0, 256))
    task = asyncio.create_task(dispatcher.run(stop, grace=10.0))
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from sidecar.crypto.fields import FieldCipher
from sidecar.errors import IdempotencyConflict, SidecarError, StoreUnavailable
from sidecar.policy.access import Principal, category_refusal
from sidecar.policy.types import ErrorClass
from sidecar.service.campaign import CampaignSettings
from sidecar.service.models import Outcome, SendCommand, SendFailure, SendResult, rejected
from sidecar.service.records import held_result, new_record, stored_result
from sidecar.service.sealed import open_request, seal_request
from sidecar.service.send import Sender
from sidecar.service.subjects import SubjectDirectory
from sidecar.stores.base import LeaseStore, OutboxStore, SendRecord, SendState, SendStore

log = logging.getLogger(__name__)

POLL_INTERVAL = 0.5
"""Seconds between looks for work that other replicas enqueued."""


@dataclass(frozen=True, slots=True)
class SendStatus:
    """What ``GetSendStatus`` answers for a known key."""

    result: SendResult
    delivery_status: str


class OutboxState(OutboxStore, SendStore, LeaseStore, Protocol):
    """The state roles of the outbox: the queue, the send records it becomes,
    and the owners' leases (whether another replica's send is live)."""


class Outbox:
    """Accepts commands durably and reads back their state."""

    def __init__(
        self,
        sender: Sender,
        state: OutboxState,
        directory: SubjectDirectory,
        cipher: FieldCipher,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.sender = sender
        self.state = state
        self._directory = directory
        self._cipher = cipher
        self._clock = clock
        self.wake = asyncio.Event()
        """Set on every new enqueue; the dispatcher waits on it."""

    async def enqueue(self, cmd: SendCommand, principal: Principal | None = None) -> SendResult:
        """Queue ``cmd`` (its key is required) and answer QUEUED, or the stored
        state of the key; ``dry_run`` only decides, like ``Send``. A
        ``principal`` (the authenticated caller) queues only its categories."""
        refusal = category_refusal(principal, cmd.category)
        if refusal is not None:
            return self.sender.refuse(cmd, refusal)
        if cmd.dry_run:
            decision = await self.sender.check(cmd)
            if not decision.allowed:
                return rejected(cmd.key, decision)
            return SendResult(cmd.key, Outcome.DRY_RUN)
        fingerprint = self.sender.fingerprint(cmd)
        # Keyed by subject so that erasing the number also drops its queued sends.
        subject = await self._directory.find(cmd.to)
        now = self._clock()
        record = new_record(
            cmd,
            fingerprint,
            SendState.QUEUED,
            owner="",
            subject=subject,
            now=now,
            request_ct=seal_request(self._cipher, cmd),
        )
        [existing] = await self.state.enqueue([record])
        if existing is None:
            self.wake.set()
            return SendResult(cmd.key, Outcome.QUEUED)
        if existing.fingerprint != fingerprint:
            raise IdempotencyConflict(
                "idempotency_key was already used for a request with different content"
            )
        return self.result_of(existing)

    async def status(self, key: str) -> SendStatus | None:
        record = await self.state.get_send(key)
        if record is None:
            return None
        live = False
        if record.state is SendState.IN_FLIGHT and record.owner not in ("", self.sender.owner):
            expiry = await self.state.lease_expiry(record.owner)  # another replica's send
            live = expiry is not None and expiry > self._clock()
        return SendStatus(self.result_of(record, owner_live=live), record.delivery_status)

    def result_of(self, record: SendRecord, *, owner_live: bool = False) -> SendResult:
        """The answer for a stored record: its outcome once DONE; QUEUED while
        waiting or being sent here or by a live replica (``owner_live``);
        IN_DOUBT when held in doubt, or in flight under an owner whose lease
        lapsed."""
        if record.state is SendState.DONE:
            return stored_result(record)
        if record.state is SendState.IN_DOUBT:
            return held_result(record)
        if (
            record.state is not SendState.IN_FLIGHT
            or record.owner == self.sender.owner
            or owner_live
        ):
            return SendResult(record.key, Outcome.QUEUED)
        return SendResult(record.key, Outcome.IN_DOUBT)

    def command(self, record: SendRecord) -> SendCommand:
        """Decrypt a queued record back into its command (``DecryptionError``
        when the key that sealed it is gone)."""
        return open_request(self._cipher, record)

    async def fail_unreadable(self, record: SendRecord, problem: str) -> None:
        """Finish a claimed record whose request cannot be read: it can never be sent."""
        failure = SendFailure(
            code=0, error_class=ErrorClass.PERMANENT, retryable=False, message=problem
        )
        result = SendResult(record.key, Outcome.FAILED, error=failure)
        await self.state.finish_send(
            record.key, self.sender.owner, result.outcome.value, "", result.to_json(), self._clock()
        )


class Dispatcher:
    """Sends what the outbox holds, paced like a campaign."""

    def __init__(
        self,
        outbox: Outbox,
        settings: CampaignSettings,
        *,
        poll_interval: float = POLL_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._outbox = outbox
        self._s = settings
        self._poll = poll_interval
        self._clock = clock
        self._running: set[asyncio.Task[None]] = set()
        self._finished = asyncio.Event()
        # Claim in batches of a quarter of the window: one store transaction
        # per batch, and the window stays mostly full.
        self._batch = max(1, min(settings.max_in_flight // 4, settings.chunk_size))

    @property
    def in_flight(self) -> int:
        return len(self._running)

    async def run(self, stop: asyncio.Event, grace: float) -> None:
        """Dispatch until ``stop`` is set; then give claimed work ``grace`` seconds."""
        log.info("outbox dispatcher started", extra={"event": "dispatcher_started"})
        try:
            await self._loop(stop)
        finally:
            await self._drain(grace)
            log.info("outbox dispatcher stopped", extra={"event": "dispatcher_stopped"})

    async def _loop(self, stop: asyncio.Event) -> None:
        s = self._s
        wake = self._outbox.wake
        chunk_started = self._clock()
        in_chunk = 0
        while not stop.is_set():
            if in_chunk >= s.chunk_size:
                delay = chunk_started + s.chunk_interval - self._clock()
                if delay > 0 and await _first(stop, within=delay):
                    return
                chunk_started, in_chunk = self._clock(), 0
            self._finished.clear()
            left = s.chunk_size - in_chunk
            room = min(s.max_in_flight - len(self._running), left)
            if room < min(self._batch, left):
                await _first(stop, self._finished)
                continue
            wake.clear()  # before claiming: an enqueue from now on wakes us again
            try:
                records = await self._outbox.state.claim_queued(
                    self._outbox.sender.owner, room, time.time()
                )
            except StoreUnavailable as exc:
                log.warning(
                    "outbox claim failed: %s", exc, extra={"event": "dispatcher_store_down"}
                )
                await _first(stop, within=self._poll)
                continue
            if not records:
                await _first(stop, wake, within=self._poll)
                continue
            for record in records:
                task = asyncio.create_task(self._dispatch(record))
                self._running.add(task)
                task.add_done_callback(self._done)
            in_chunk += len(records)

    async def _dispatch(self, record: SendRecord) -> None:
        outbox = self._outbox
        try:
            try:
                cmd = outbox.command(record)
            except (SidecarError, ValueError, KeyError) as exc:
                log.error(
                    "queued request unreadable; failing it",
                    extra={"event": "outbox_unreadable", "idempotency_key": record.key},
                )
                problem = f"queued request unreadable: {type(exc).__name__}"
                await outbox.fail_unreadable(record, problem)
                return
            await outbox.sender.dispatch(cmd)
        except StoreUnavailable as exc:
            # The record stays RESERVED (claimable once this lease lapses) or
            # IN_FLIGHT (in doubt then, which is the truth) under this owner.
            log.warning(
                "outbox dispatch could not record its outcome: %s",
                exc,
                extra={"event": "dispatch_store_down", "idempotency_key": record.key},
            )
        except Exception:
            log.exception(
                "outbox dispatch failed", extra={"event": "bug", "idempotency_key": record.key}
            )

    def _done(self, task: asyncio.Task[None]) -> None:
        self._running.discard(task)
        self._finished.set()

    async def _drain(self, grace: float) -> None:
        if not self._running:
            return
        _, pending = await asyncio.wait(set(self._running), timeout=grace)
        for task in pending:
            task.cancel()
        await asyncio.gather(*pending, return_exceptions=True)
        if pending:
            log.warning(
                "outbox dispatches cut off by shutdown; unsent ones go back to the queue",
                extra={"event": "dispatch_cut_off", "count": len(pending)},
            )


async def _first(*events: asyncio.Event, within: float | None = None) -> bool:
    """Wait until one of ``events`` is set or ``within`` seconds pass; True if one is set."""
    waiters = [asyncio.ensure_future(e.wait()) for e in events]
    try:
        await asyncio.wait(waiters, timeout=within, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
        await asyncio.gather(*waiters, return_exceptions=True)
    return any(e.is_set() for e in events)
