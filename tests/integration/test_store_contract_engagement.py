"""The engagement role of the state stores (``stores/engagement.py``), on
SQLite and PostgreSQL: template status events and customer sessions."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from sidecar.stores.base import OUTCOME_SENT, SendRecord, SendState, StateStore, Subject

pytestmark = pytest.mark.integration

DAY = 86_400.0
PN = "pn-1"
_ids = itertools.count()


async def new_subject(store: StateStore) -> str:
    number = f"+1555{next(_ids)}".encode()
    subject = Subject(f"s{next(_ids)}", "bi-1", number, b"dek", 1.0)
    return (await store.create_subject(subject, lambda c: c.number_ct == number)).id


async def reply(store: StateStore, subject_id: str, at: float, *, pn: str = PN) -> float | None:
    """A send to the subject accepted at ``at``; what ``finish_sent`` says of it."""
    key = f"k{next(_ids)}"
    record = SendRecord(
        key=key,
        fingerprint="fp",
        state=SendState.IN_FLIGHT,
        owner="me",
        phone_number_id=pn,
        category="SERVICE",
        subject_id=subject_id,
        created_at=at,
        updated_at=at,
    )
    assert await store.begin_send(record) is None
    stored, delay = await store.finish_sent(key, "me", "wamid.x", b"{}", at, DAY)
    assert stored
    assert (await store.get_send(key)).outcome == OUTCOME_SENT
    return delay


async def test_template_events_are_counted_once_per_key_by_category_and_event(
    state_store: StateStore,
) -> None:
    events = [
        ("e1", "t1", "APPROVED", "UTILITY", 100.0),
        ("e2", "t2", "APPROVED", "UTILITY", 200.0),
        ("e3", "t3", "REJECTED", "UTILITY", 300.0),
        ("e4", "t4", "APPROVED", "MARKETING", 400.0),
        ("e1", "t1", "APPROVED", "UTILITY", 100.0),  # re-delivered
        ("e5", "t5", "REJECTED", "MARKETING", 50.0),  # before the window
    ]
    for event in events:
        await state_store.record_template_status(*event)
    assert await state_store.template_counts(100.0) == {
        ("UTILITY", "APPROVED"): 2,
        ("UTILITY", "REJECTED"): 1,
        ("MARKETING", "APPROVED"): 1,
    }
    assert (await state_store.template_counts(0.0))[("MARKETING", "REJECTED")] == 1


async def test_the_first_inbound_opens_a_session_and_later_ones_extend_it(
    state_store: StateStore,
) -> None:
    s = await new_subject(state_store)
    assert await state_store.record_inbound(PN, s, 1_000.0, DAY) is True
    assert await state_store.record_inbound(PN, s, 1_000.0, DAY) is False  # re-delivered
    assert await state_store.record_inbound(PN, s, 1_000.0 + DAY - 1, DAY) is False
    # The window runs from the last inbound message: still open here.
    assert await state_store.record_inbound(PN, s, 1_000.0 + 2 * DAY - 2, DAY) is False
    assert await state_store.record_inbound(PN, s, 1_000.0 + 3 * DAY, DAY) is True
    # Another number, another session; the service window moved too.
    assert await state_store.record_inbound("pn-2", s, 1_000.0, DAY) is True
    assert await state_store.last_inbound(PN, s) == 1_000.0 + 3 * DAY
    assert [o for o, _ in await state_store.session_times(0.0)] == [
        1_000.0,
        1_000.0,
        1_000.0 + 3 * DAY,
    ]


async def test_a_late_message_moves_the_start_of_its_session(state_store: StateStore) -> None:
    s = await new_subject(state_store)
    assert await state_store.record_inbound(PN, s, 5_000.0, DAY) is True
    assert await state_store.record_inbound(PN, s, 4_000.0, DAY) is False
    assert await state_store.session_times(0.0) == [(4_000.0, None)]
    # Far earlier: a session of its own.
    assert await state_store.record_inbound(PN, s, 4_000.0 - 2 * DAY, DAY) is True


async def test_the_first_reply_in_time_answers_the_session_once(state_store: StateStore) -> None:
    s = await new_subject(state_store)
    await state_store.record_inbound(PN, s, 1_000.0, DAY)
    assert await reply(state_store, s, 1_090.0) == 90.0
    assert await reply(state_store, s, 1_200.0) is None  # not the first
    assert await state_store.session_times(0.0) == [(1_000.0, 1_090.0)]


async def test_a_reply_too_late_or_without_a_session_answers_nothing(
    state_store: StateStore,
) -> None:
    late, never, other = [await new_subject(state_store) for _ in range(3)]
    await state_store.record_inbound(PN, late, 1_000.0, DAY)
    await state_store.record_inbound(PN, other, 1_000.0, DAY)
    assert await reply(state_store, late, 1_000.0 + DAY) is None
    assert await reply(state_store, never, 1_500.0) is None
    assert await reply(state_store, other, 1_500.0, pn="pn-2") is None  # another number
    assert await reply(state_store, other, 900.0) is None  # before it opened
    assert await state_store.session_times(0.0) == [(1_000.0, None), (1_000.0, None)]


async def test_a_send_resolved_meanwhile_stores_nothing_and_answers_no_session(
    state_store: StateStore,
) -> None:
    s = await new_subject(state_store)
    await state_store.record_inbound(PN, s, 1_000.0, DAY)
    record = SendRecord(
        key="taken",
        fingerprint="fp",
        state=SendState.IN_FLIGHT,
        owner="me",
        phone_number_id=PN,
        category="SERVICE",
        subject_id=s,
        created_at=1_050.0,
        updated_at=1_050.0,
    )
    assert await state_store.begin_send(record) is None
    # Another owner's outcome: not ours to store, and not a reply of ours.
    assert await state_store.finish_sent("taken", "other", "wamid.y", b"{}", 1_060.0, DAY) == (
        False,
        None,
    )
    assert (await state_store.get_send("taken")).state is SendState.IN_FLIGHT
    assert await state_store.session_times(0.0) == [(1_000.0, None)]


async def test_concurrent_inbound_messages_open_one_session(state_store: StateStore) -> None:
    s = await new_subject(state_store)
    opened = await asyncio.gather(
        *(state_store.record_inbound(PN, s, 1_000.0 + i, DAY) for i in range(20))
    )
    assert sum(opened) == 1
    assert len(await state_store.session_times(0.0)) == 1


async def test_session_times_start_at_since_and_purge_forgets_old_rows(
    state_store: StateStore,
) -> None:
    a, b = await new_subject(state_store), await new_subject(state_store)
    await state_store.record_inbound(PN, a, 1_000.0, DAY)
    await state_store.record_inbound(PN, b, 9_000.0, DAY)
    await state_store.record_template_status("old", "t", "APPROVED", "UTILITY", 1_000.0)
    await state_store.record_template_status("new", "t", "APPROVED", "UTILITY", 9_000.0)
    assert await state_store.session_times(9_000.0) == [(9_000.0, None)]
    assert await state_store.purge_engagement(5_000.0) == 2
    assert await state_store.session_times(0.0) == [(9_000.0, None)]
    assert await state_store.template_counts(0.0) == {("UTILITY", "APPROVED"): 1}


async def test_erasure_deletes_the_subjects_sessions(state_store: StateStore) -> None:
    s = await new_subject(state_store)
    await state_store.record_inbound(PN, s, 1_000.0, DAY)
    await state_store.record_inbound("pn-2", s, 1_000.0, DAY)
    counts = await state_store.delete_subject(s)
    assert counts["sessions"] == 2
    assert await state_store.session_times(0.0) == []
