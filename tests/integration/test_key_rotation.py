"""Key rotation end to end: real sidecar processes, `wa-sidecar keys rotate`
as a separate process while the sidecar serves, then the old key retired."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast

import pytest
from support.waiting import eventually

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.crypto import FieldCipher, Keyring, SubjectKeys, aad
from sidecar.service.keys import KeyRotator
from sidecar.simulator import FaultRule, SimulatorHandle
from sidecar.stores.base import ENCRYPTED_KINDS, DeadLetterRecord, StateStore, Subject
from sidecar.stores.sqlite import SqliteStateStore
from sidecar.testing import SidecarProcess, inbound_text, signature

pytestmark = pytest.mark.integration

MARKETING = common_pb2.CATEGORY_MARKETING
NUMBERS = [f"+1415555{i:04d}" for i in range(1, 11)]
PAUSED = {"WA_SIDECAR_OUTBOX_DISPATCH": "false"}


def new_key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def template(to: str, key: str = "", category: int = MARKETING) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        idempotency_key=key,
        to=to,
        category=category,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


def grant(number: str, evidence: str) -> consent_pb2.GrantRequest:
    return consent_pb2.GrantRequest(
        phone_number=number, categories=[MARKETING], source="web-form", evidence=evidence
    )


async def blobs_by_key_id(db: Path) -> dict[str, dict[str, int]]:
    """``{kind: {key id: count}}`` read straight from the SQLite file (kinds
    with blobs only: this test makes no four-eyes operations)."""
    store = SqliteStateStore(db)
    await store.open()
    header = FieldCipher(Keyring.parse(f"k0:{new_key()}"))  # reads headers only
    found: dict[str, dict[str, int]] = {}
    try:
        for kind in ENCRYPTED_KINDS:
            counts: dict[str, int] = {}
            after = ""
            while rows := await store.encrypted_rows(kind, after, 100):
                after = rows[-1][0]
                for _, blob in rows:
                    key_id = header.key_id(blob)
                    counts[key_id] = counts.get(key_id, 0) + 1
            if counts:
                found[kind] = counts
    finally:
        await store.close()
    return found


async def run_rotate(env: dict[str, str], cwd: Path) -> tuple[int, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sidecar",
        "keys",
        "rotate",
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    lines = out.decode().strip().splitlines()
    assert lines, err.decode()
    return proc.returncode, json.loads(lines[-1])


class Traffic:
    """Grants and checks in a loop against a serving sidecar; every call must succeed."""

    def __init__(self, proc: SidecarProcess) -> None:
        self.consent = consent_pb2_grpc.ConsentServiceStub(proc.channel)
        self.send = send_pb2_grpc.SendServiceStub(proc.channel)
        self.done = 0
        self._stop = asyncio.Event()
        self._reached: list[tuple[int, asyncio.Event]] = []

    def reached(self, count: int) -> asyncio.Event:
        event = asyncio.Event()
        self._reached.append((count, event))
        return event

    async def run(self) -> None:
        i = 0
        while not self._stop.is_set():
            i += 1
            fresh = f"+1628555{i:04d}"  # a new subject, its DEK under the new primary
            await self.consent.Grant(grant(fresh, f"live-{i}"))
            old = NUMBERS[1 + i % (len(NUMBERS) - 1)]  # subjects whose DEK is being rewrapped
            await self.consent.Grant(grant(old, f"again-{i}"))
            assert (await self.send.Check(template(old))).allowed
            refused = await self.send.Check(template(NUMBERS[0]))
            assert refused.reason == common_pb2.REASON_OPTED_OUT
            self.done += 4
            for count, event in self._reached:
                if self.done >= count:
                    event.set()

    def stop(self) -> None:
        self._stop.set()


async def test_rotation_runs_online_and_the_old_key_can_be_retired(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    k1, k2, idx = new_key(), new_key(), new_key()
    db = tmp_path / "state.db"

    # 1. Data written under k1: consent, an opt-out, a window, sends, a dead letter, queued sends.
    first = SidecarProcess(
        tmp_path,
        {"WA_SIDECAR_ENCRYPTION_KEY": f"k1:{k1},idx:{idx}", **PAUSED},
        graph_url=simulator.url,
    )
    async with first:
        consent = consent_pb2_grpc.ConsentServiceStub(first.channel)
        send = send_pb2_grpc.SendServiceStub(first.channel)
        for i, number in enumerate(NUMBERS):
            await consent.Grant(grant(number, f"ev-{i}"))
        await consent.Revoke(
            consent_pb2.RevokeRequest(phone_number=NUMBERS[0], source="crm", reason="asked")
        )
        body = inbound_text(NUMBERS[1].lstrip("+"), "hello")
        await verify_pb2_grpc.VerifyServiceStub(first.channel).VerifyWebhook(
            verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")
        )
        assert (await send.Send(template(NUMBERS[2], "direct-1"))).outcome == (
            send_pb2.OUTCOME_SENT
        )
        simulator.state.add_fault(FaultRule(code=131016, count=4))
        dead = await send.Send(template(NUMBERS[3], "dead-1"))
        assert dead.outcome == send_pb2.OUTCOME_DEAD_LETTERED
        for i in range(3):
            queued = await send.Enqueue(template(NUMBERS[4 + i], f"q-{i}"))
            assert queued.outcome == send_pb2.OUTCOME_QUEUED
    before = await blobs_by_key_id(db)
    assert before == {
        "subject_dek": {"k1": 10},
        "dead_letter": {"k1": 1},
        "send_request": {"k1": 3},
    }

    # 2. k2 promoted, k1 still listed; rotate in another process while traffic flows.
    both = {"WA_SIDECAR_ENCRYPTION_KEY": f"k2:{k2},k1:{k1},idx:{idx}", **PAUSED}
    second = SidecarProcess(tmp_path, both, graph_url=simulator.url)
    async with second:
        traffic = Traffic(second)
        warmed_up = traffic.reached(8)
        loop = asyncio.create_task(traffic.run())
        await asyncio.wait_for(warmed_up.wait(), 20)
        started_at = traffic.done
        code, report = await run_rotate(second.env, tmp_path)
        during = traffic.done - started_at
        cooled_down = traffic.reached(traffic.done + 8)
        await asyncio.wait_for(cooled_down.wait(), 20)
        traffic.stop()
        await asyncio.wait_for(loop, 20)  # re-raises any failed call
        assert during > 0, "the sidecar served nothing while the rotation ran"

        assert code == 0, report
        assert report["primary"] == "k2" and report["complete"]
        kinds = report["kinds"]
        assert kinds["subject_dek"]["rotated"] == 10
        assert kinds["subject_dek"]["unreadable"] == 0
        assert kinds["dead_letter"]["rotated"] == 1
        assert kinds["send_request"]["rotated"] == 3
        assert all(k["pending"] == 0 for k in kinds.values())

        # Idempotent: a second run (in this process, beside the sidecar) finds
        # everything current.
        store = SqliteStateStore(db)
        await store.open()
        try:
            ring = Keyring.parse(both["WA_SIDECAR_ENCRYPTION_KEY"])
            again = await KeyRotator(store, ring).rotate(actor="test")
        finally:
            await store.close()
        assert again.complete
        assert {k: v.rotated for k, v in again.kinds.items()} == dict.fromkeys(ENCRYPTED_KINDS, 0)
        assert again.kinds["subject_dek"].current >= 10 + traffic.done // 4

    after = await blobs_by_key_id(db)
    assert {kind: set(ids) for kind, ids in after.items()} == {
        "subject_dek": {"k2"},
        "dead_letter": {"k2"},
        "send_request": {"k2"},
    }

    # 3. k1 retired: everything is still readable and usable.
    third = SidecarProcess(
        tmp_path, {"WA_SIDECAR_ENCRYPTION_KEY": f"k2:{k2},idx:{idx}"}, graph_url=simulator.url
    )
    async with third:
        consent = consent_pb2_grpc.ConsentServiceStub(third.channel)
        send = send_pb2_grpc.SendServiceStub(third.channel)
        for i, number in enumerate(NUMBERS):
            state = await consent.Get(consent_pb2.GetRequest(phone_number=number))
            evidence = [e.proof.evidence for e in state.history]
            assert evidence[0] == f"ev-{i}", number
            [marketing] = [c for c in state.categories if c.category == MARKETING]
            expected = (
                consent_pb2.CONSENT_STATUS_REVOKED if i == 0 else consent_pb2.CONSENT_STATUS_GRANTED
            )
            assert marketing.status == expected
            check = await send.Check(template(number))
            assert check.allowed == (i != 0)
        window = await consent.ExportSubject(
            consent_pb2.ExportSubjectRequest(phone_number=NUMBERS[1])
        )
        assert window.last_inbound
        messages = await consent.ExportSubject(
            consent_pb2.ExportSubjectRequest(phone_number=NUMBERS[2])
        )
        assert [m.idempotency_key for m in messages.messages] == ["direct-1"]

        # The dead letter's request decrypts under k2: it can be sent again.
        letters = await send.ListDeadLetters(send_pb2.ListDeadLettersRequest())
        [letter] = letters.dead_letters
        requeued = await send.RequeueDeadLetter(send_pb2.RequeueDeadLetterRequest(id=letter.id))
        assert requeued.requeued and requeued.response.outcome == send_pb2.OUTCOME_SENT

        # The queued requests decrypt under k2: the dispatcher sends them.
        async def all_sent() -> bool:
            for i in range(3):
                status = await send.GetSendStatus(
                    send_pb2.GetSendStatusRequest(idempotency_key=f"q-{i}")
                )
                if status.response.outcome != send_pb2.OUTCOME_SENT:
                    return False
            return True

        await eventually(all_sent, "queued sends to go out", timeout=15.0)

        audit = await consent.ListAudit(consent_pb2.ListAuditRequest(page_size=1000))
        rotations = [json.loads(e.detail_json) for e in audit.entries if e.action == "keys.rotate"]
        assert [r["kinds"]["subject_dek"]["rotated"] for r in rotations] == [10, 0]
        verdict = await consent.VerifyAudit(consent_pb2.VerifyAuditRequest())
        assert verdict.ok
    assert "k1" not in {k for ids in (await blobs_by_key_id(db)).values() for k in ids}


class Interleaved:
    """A real store, with another writer's change slipped in just before the
    rotator swaps a chosen row (what a serving replica could do at that moment)."""

    def __init__(
        self, store: StateStore, before_swap: dict[str, Callable[[], Awaitable[None]]]
    ) -> None:
        self._store = store
        self._before_swap = before_swap

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def replace_encrypted(self, kind: str, row_id: str, old: bytes, new: bytes) -> bool:
        hook = self._before_swap.pop(row_id, None)
        if hook is not None:
            await hook()
        return await self._store.replace_encrypted(kind, row_id, old, new)


async def test_rows_changed_meanwhile_are_retried_and_unreadable_ones_left_alone(
    tmp_path: Path,
) -> None:
    k1, k2, idx = new_key(), new_key(), new_key()
    old_ring = Keyring.parse(f"k1:{k1},idx:{idx}")
    new_ring = Keyring.parse(f"k2:{k2},k1:{k1},idx:{idx}")
    retired_ring = Keyring.parse(f"k2:{k2},idx:{idx}")
    old_keys, old_fields = SubjectKeys(old_ring), FieldCipher(old_ring)
    store = SqliteStateStore(tmp_path / "state.db")
    await store.open()
    try:
        subjects = []
        for i in range(3):
            s = Subject(f"s{i}", "bi", b"n", old_keys.new_wrapped_dek(), 1.0)
            subjects.append(await store.create_subject(s, lambda _: False))
        for dl_id in ("d0", "d1", "d2"):
            blob = old_fields.encrypt(
                b"request " + dl_id.encode(), aad("dead_letters", "request", dl_id)
            )
            if dl_id == "d2":  # tampered: must be reported, never overwritten
                blob = blob[:-1] + bytes([blob[-1] ^ 1])
            await store.put_dead_letter(
                DeadLetterRecord(dl_id, f"k-{dl_id}", "pn", "utility", "+1***", "{}", 4, 1.0, blob)
            )
        tampered = (await store.list_dead_letters(10, "d1"))[0].request_ct

        async def other_replica_rewraps_s0() -> None:
            blob = subjects[0].wrapped_dek
            assert await store.replace_encrypted(
                "subject_dek", "s0", blob, SubjectKeys(new_ring).rewrap(blob)
            )

        async def d0_is_requeued() -> None:
            assert await store.take_dead_letter("d0") is not None

        interleaved = Interleaved(store, {"s0": other_replica_rewraps_s0, "d0": d0_is_requeued})
        rotator = KeyRotator(cast(StateStore, interleaved), new_ring, page_size=2)
        report = await rotator.rotate(actor="test")

        subject_counts = report.kinds["subject_dek"]
        assert (subject_counts.scanned, subject_counts.rotated, subject_counts.retried) == (3, 2, 1)
        assert (subject_counts.pending, subject_counts.passes) == (0, 2)
        letters = report.kinds["dead_letter"]
        assert (letters.scanned, letters.rotated, letters.unreadable, letters.retried) == (
            3,
            1,
            1,
            1,
        )
        assert not report.complete  # the tampered blob

        # Same DEKs, now wrapped under k2 only.
        retired_keys = SubjectKeys(retired_ring)
        for s in subjects:
            [(_, wrapped)] = [
                r for r in await store.encrypted_rows("subject_dek", "", 10) if r[0] == s.id
            ]
            assert retired_keys.unwrap(wrapped) == old_keys.unwrap(s.wrapped_dek)
        rows = dict(await store.encrypted_rows("dead_letter", "", 10))
        assert set(rows) == {"d1", "d2"}
        assert FieldCipher(retired_ring).decrypt(
            rows["d1"], aad("dead_letters", "request", "d1")
        ) == (b"request d1")
        assert rows["d2"] == tampered
        [entry] = [e for e in await store.audit_entries(0, 10) if e.action == "keys.rotate"]
        assert json.loads(entry.detail_json)["kinds"]["dead_letter"]["unreadable"] == 1
        assert entry.actor == "test"
    finally:
        await store.close()
