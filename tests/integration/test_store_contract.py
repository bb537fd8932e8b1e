"""The store contract (``sidecar/stores/base.py``), run on every backend.

Fixtures in ``tests/conftest.py`` choose the backends; nothing here names
one. Races are provoked with ``asyncio.gather``, time is passed in or faked.
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from sidecar.stores.admission import GRANTED, Bucket, UniqueCap
from sidecar.stores.audit_chain import (
    DELETED,
    GENESIS_HASH,
    INSERTED,
    MODIFIED,
    REORDERED,
    entry_hash,
    verify_chain,
)
from sidecar.stores.base import (
    OUTCOME_IN_DOUBT,
    OUTCOME_REJECTED,
    OUTCOME_SENT,
    ConsentAction,
    ConsentRecord,
    DeadLetterRecord,
    DedupStore,
    OperationRecord,
    OperationState,
    QuotaStore,
    SendRecord,
    SendState,
    StartVerdict,
    StateStore,
    StatusRecord,
    Subject,
)

if TYPE_CHECKING:
    from tests.conftest import FakeClock, StateBackend

pytestmark = pytest.mark.integration

GRANT, REVOKE = ConsentAction.GRANT, ConsentAction.REVOKE
_ids = itertools.count()
NOW = 1_000.0


def subject(number: bytes = b"+1555", blind_index: str = "bi-1") -> Subject:
    return Subject(f"s{next(_ids)}", blind_index, number, b"dek", 1.0)


def consent(
    subject_id: str,
    action: ConsentAction,
    at: float,
    category: str = "MARKETING",
    event_key: str = "",
) -> ConsentRecord:
    return ConsentRecord(
        f"c{next(_ids)}", subject_id, category, action, at, "tester", b"p", event_key
    )


def send(key: str, **fields: object) -> SendRecord:
    base = SendRecord(
        key=key,
        fingerprint="fp",
        state=SendState.IN_FLIGHT,
        owner="me",
        phone_number_id="pn",
        category="UTILITY",
        created_at=10.0,
        updated_at=10.0,
        request_ct=b"req",
    )
    return replace(base, **fields)


def operation(operation_id: str, **fields: object) -> OperationRecord:
    base = OperationRecord(
        id=operation_id,
        kind="erase_subject",
        payload=bytes(range(256)),  # every byte value, as ciphertext has
        requested_by="alice",
        created_at=10.0,
        expires_at=100.0,
    )
    return replace(base, **fields)


async def new_subject(store: StateStore, number: bytes = b"+1555") -> Subject:
    return await store.create_subject(subject(number), lambda c: c.number_ct == number)


# --------------------------------------------------------------------------- subjects


async def test_create_subject_returns_the_candidate_the_caller_recognises(
    state_store: StateStore,
) -> None:
    first = await new_subject(state_store, b"+1555")
    again = await state_store.create_subject(subject(b"+1555"), lambda c: c.number_ct == b"+1555")
    assert again == first


async def test_numbers_sharing_a_blind_index_become_separate_subjects(
    state_store: StateStore,
) -> None:
    a = await new_subject(state_store, b"+1555")
    b = await new_subject(state_store, b"+1666")
    assert a.id != b.id
    assert {s.id for s in await state_store.subjects_by_index("bi-1")} == {a.id, b.id}


async def test_concurrent_creation_of_one_number_ends_with_one_subject(
    state_store: StateStore,
) -> None:
    made = await asyncio.gather(*(new_subject(state_store) for _ in range(8)))
    assert len({s.id for s in made}) == 1
    assert len(await state_store.subjects_by_index("bi-1")) == 1


# --------------------------------------------------------------------------- consent


async def test_current_consent_is_the_latest_by_time_not_by_arrival(
    state_store: StateStore,
) -> None:
    s = await new_subject(state_store)
    assert await state_store.append_consent(consent(s.id, GRANT, 20.0), "", lift_suppression=False)
    assert await state_store.append_consent(consent(s.id, REVOKE, 10.0), "", lift_suppression=False)
    snap = await state_store.snapshot(s.id, "sup")
    assert snap.current == {"MARKETING": GRANT}
    history = await state_store.consent_history(s.id)
    assert [c.recorded_at for c in history] == [10.0, 20.0]


@pytest.mark.parametrize("order", [(GRANT, REVOKE), (REVOKE, GRANT)])
async def test_revoke_wins_a_tie_in_either_arrival_order(
    state_store: StateStore, order: tuple[ConsentAction, ConsentAction]
) -> None:
    s = await new_subject(state_store)
    for action in order:
        await state_store.append_consent(consent(s.id, action, 5.0), "", lift_suppression=True)
    assert (await state_store.snapshot(s.id, "")).current == {"MARKETING": REVOKE}


async def test_reapplying_an_event_key_is_a_no_op(state_store: StateStore) -> None:
    s = await new_subject(state_store)
    first = consent(s.id, REVOKE, 5.0, event_key="wamid.X")
    assert await state_store.append_consent(first, "sup", lift_suppression=False)
    replay = consent(s.id, GRANT, 9.0, event_key="wamid.X")
    assert not await state_store.append_consent(replay, "sup", lift_suppression=True)
    assert len(await state_store.consent_history(s.id)) == 1
    snap = await state_store.snapshot(s.id, "sup")
    assert snap.current == {"MARKETING": REVOKE}
    assert snap.suppressed == {"MARKETING"}


async def test_revoke_suppresses_and_grant_lifts_only_when_asked(state_store: StateStore) -> None:
    s = await new_subject(state_store)
    await state_store.append_consent(
        consent(s.id, REVOKE, 1.0), "sup", lift_suppression=False, by_user=False
    )
    assert (await state_store.snapshot(s.id, "sup")).suppressed == {"MARKETING"}
    await state_store.append_consent(consent(s.id, GRANT, 2.0), "sup", lift_suppression=False)
    assert (await state_store.snapshot(s.id, "sup")).suppressed == {"MARKETING"}
    await state_store.append_consent(consent(s.id, GRANT, 3.0), "sup", lift_suppression=True)
    snap = await state_store.snapshot(s.id, "sup")
    assert snap.suppressed == frozenset()
    assert snap.current == {"MARKETING": GRANT}


async def test_a_grant_never_lifts_the_users_own_opt_out(state_store: StateStore) -> None:
    s = await new_subject(state_store)
    await state_store.append_consent(consent(s.id, REVOKE, 1.0), "sup", lift_suppression=False)
    await state_store.append_consent(consent(s.id, GRANT, 2.0), "sup", lift_suppression=True)
    snap = await state_store.snapshot(s.id, "sup")
    assert snap.current == {"MARKETING": GRANT}  # recorded as proof …
    assert snap.suppressed == {"MARKETING"}  # … but the user's suppression stands
    await state_store.unsuppress("sup", ["MARKETING"])  # the user's START, or an override
    assert (await state_store.snapshot(s.id, "sup")).suppressed == frozenset()


@pytest.mark.parametrize("app_first", [True, False])
async def test_the_users_opt_out_and_the_apps_on_one_entry_stay_the_users(
    state_store: StateStore, app_first: bool
) -> None:
    s = await new_subject(state_store)
    for by_user in (False, True) if app_first else (True, False):
        at = 1.0 if by_user is not app_first else 2.0
        await state_store.append_consent(
            consent(s.id, REVOKE, at), "sup", lift_suppression=False, by_user=by_user
        )
    await state_store.append_consent(consent(s.id, GRANT, 3.0), "sup", lift_suppression=True)
    assert (await state_store.snapshot(s.id, "sup")).suppressed == {"MARKETING"}


async def test_an_older_grant_arriving_late_does_not_lift_a_newer_opt_out(
    state_store: StateStore,
) -> None:
    s = await new_subject(state_store)
    await state_store.append_consent(consent(s.id, REVOKE, 9.0), "sup", lift_suppression=False)
    await state_store.append_consent(consent(s.id, GRANT, 1.0), "sup", lift_suppression=True)
    assert (await state_store.snapshot(s.id, "sup")).suppressed == {"MARKETING"}


async def test_snapshot_without_a_subject_reads_suppression_only(state_store: StateStore) -> None:
    await state_store.suppress("sup", ["MARKETING", "UTILITY"], now=1.0)
    await state_store.suppress("sup", ["MARKETING"], now=2.0)  # repeating is harmless
    await state_store.suppress("other", ["AUTHENTICATION"], now=1.0)
    snap = await state_store.snapshot(None, "sup")
    assert snap.suppressed == {"MARKETING", "UTILITY"}
    assert snap.current == {}


async def test_prepare_send_reads_record_candidates_and_snapshot_at_once(
    state_store: StateStore,
) -> None:
    nothing = await state_store.prepare_send("k", None, "bi-1", "sup")
    assert (nothing.existing, nothing.candidates) == (None, [])
    assert nothing.snapshot == await state_store.snapshot(None, "sup")

    s = await new_subject(state_store)
    await state_store.append_consent(consent(s.id, GRANT, 1.0), "sup", lift_suppression=False)
    await state_store.suppress("sup", ["UTILITY"], now=1.0)
    await state_store.begin_send(send("k"))
    # First sight of the number: candidates by blind index, suppression only.
    first = await state_store.prepare_send("k", None, "bi-1", "sup")
    assert first.existing == await state_store.get_send("k")
    assert first.candidates == [s]
    assert first.snapshot == await state_store.snapshot(None, "sup")
    # Subject known: its consent too; neither key nor blind index asked.
    known = await state_store.prepare_send(None, s.id, None, "sup")
    assert (known.existing, known.candidates) == (None, [])
    assert known.snapshot.current == {"MARKETING": GRANT}
    assert known.snapshot.suppressed == {"UTILITY"}


async def test_unsuppress_removes_only_the_named_categories(state_store: StateStore) -> None:
    await state_store.suppress("sup", ["MARKETING", "UTILITY"], now=1.0)
    await state_store.suppress("other", ["MARKETING"], now=1.0)
    await state_store.unsuppress("sup", ["MARKETING", "AUTHENTICATION"])
    assert (await state_store.snapshot(None, "sup")).suppressed == {"UTILITY"}
    assert (await state_store.snapshot(None, "other")).suppressed == {"MARKETING"}


# --------------------------------------------------------------------------- windows


async def test_service_window_keeps_the_latest_inbound_time(state_store: StateStore) -> None:
    s = await new_subject(state_store)
    assert await state_store.last_inbound("pn", s.id) is None
    await state_store.touch_window("pn", s.id, 50.0)
    await state_store.touch_window("pn", s.id, 40.0)
    assert await state_store.last_inbound("pn", s.id) == 50.0
    assert await state_store.last_inbound("other-pn", s.id) is None


# --------------------------------------------------------------------------- sends


async def test_begin_send_is_idempotent_and_returns_the_existing_record(
    state_store: StateStore,
) -> None:
    assert await state_store.begin_send(send("k1", fingerprint="a")) is None
    existing = await state_store.begin_send(send("k1", fingerprint="b", owner="other"))
    assert existing == send("k1", fingerprint="a")
    assert await state_store.get_send("k1") == send("k1", fingerprint="a")
    assert await state_store.get_send("missing") is None


async def test_concurrent_begin_send_of_one_key_has_exactly_one_winner(
    state_store: StateStore,
) -> None:
    results = await asyncio.gather(
        *(state_store.begin_send(send("k", owner=f"o{i}")) for i in range(8))
    )
    winners = [i for i, r in enumerate(results) if r is None]
    assert len(winners) == 1
    assert {r.owner for r in results if r is not None} == {f"o{winners[0]}"}


async def test_begin_sends_treats_each_record_like_begin_send(state_store: StateStore) -> None:
    await state_store.begin_send(send("old"))
    results = await state_store.begin_sends(
        [send("new"), send("old", owner="x"), send("new", owner="y")]
    )
    assert results == [None, send("old"), send("new")]


async def test_finish_send_stores_the_final_outcome(state_store: StateStore) -> None:
    await state_store.begin_sends([send("a"), send("b"), send("c")])
    await state_store.finish_send("a", "me", "sent", "wamid.A", b"{}", now=20.0)
    await state_store.finish_sends(
        [("b", "failed", "", b"e"), ("c", "sent", "wamid.C", b"")], "me", 21.0
    )
    a, b = await state_store.get_send("a"), await state_store.get_send("b")
    assert a == send(
        "a",
        state=SendState.DONE,
        outcome="sent",
        message_id="wamid.A",
        response=b"{}",
        updated_at=20.0,
    )
    assert b is not None
    assert (b.state, b.outcome, b.updated_at) == (SendState.DONE, "failed", 21.0)


async def test_in_doubt_lists_in_flight_sends_of_other_owners_paged_by_key(
    state_store: StateStore,
) -> None:
    await state_store.begin_sends(
        [send(f"k{i}", owner="crashed") for i in range(5)]
        + [send("mine", owner="me"), send("queued", owner="crashed", state=SendState.QUEUED)]
    )
    await state_store.finish_send("k2", "crashed", "sent", "w", b"", 1.0)
    page = await state_store.list_in_doubt("me", limit=2, now=NOW)
    assert [s.key for s in page] == ["k0", "k1"]
    page = await state_store.list_in_doubt("me", limit=10, after_key="k1", now=NOW)
    assert [s.key for s in page] == ["k3", "k4"]


async def test_a_callback_carrying_the_key_resolves_an_in_doubt_send(
    state_store: StateStore,
) -> None:
    await state_store.begin_send(send("k", owner="crashed"))
    assert await state_store.resolve_by_callback("k", "wamid.K", "delivered", now=30.0)
    resolved = await state_store.get_send("k")
    assert resolved is not None
    assert resolved.state is SendState.DONE
    assert (resolved.outcome, resolved.message_id, resolved.delivery_status) == (
        OUTCOME_SENT,
        "wamid.K",
        "delivered",
    )
    assert await state_store.list_in_doubt("me", 10, now=NOW) == []
    assert not await state_store.resolve_by_callback("unknown", "w", "sent", now=30.0)


async def test_only_a_send_in_doubt_can_be_resolved_in_review(state_store: StateStore) -> None:
    await state_store.begin_sends(
        [
            send("doubt", owner="crashed"),
            send("doubt-with-id", owner="crashed", message_id="wamid.S"),
            send("live", owner="me"),
            send("queued", owner="crashed", state=SendState.QUEUED),
            send("done", owner="crashed"),
        ]
    )
    await state_store.finish_send("done", "crashed", "sent", "wamid.D", b"", 20.0)
    assert await state_store.resolve_in_doubt("doubt", "me", "failed", "", b"F", now=30.0)
    assert await state_store.resolve_in_doubt("doubt-with-id", "me", "sent", "", b"S", now=30.0)
    for key in ("doubt", "live", "queued", "done", "unknown"):  # "doubt" is resolved now
        assert not await state_store.resolve_in_doubt(key, "me", "sent", "wamid.X", b"", now=31.0)
    got = {key: await state_store.get_send(key) for key in ("doubt", "doubt-with-id", "done")}
    assert {k: (r.state, r.outcome, r.message_id, r.response) for k, r in got.items() if r} == {
        "doubt": (SendState.DONE, "failed", "", b"F"),
        "doubt-with-id": (SendState.DONE, "sent", "wamid.S", b"S"),  # "" keeps the stored id
        "done": (SendState.DONE, "sent", "wamid.D", b""),
    }
    assert await state_store.list_in_doubt("me", 10, now=NOW) == []
    live = await state_store.get_send("live")
    assert live is not None and live.state is SendState.IN_FLIGHT


async def test_a_send_held_in_doubt_is_listed_whoever_asks_and_kept_by_retention(
    state_store: StateStore,
) -> None:
    """The maybe-sent marker does not depend on an owner: even the process
    that held the send (and is alive) lists it."""
    await state_store.begin_sends([send("maybe", owner="me"), send("other", owner="them")])
    assert await state_store.hold_in_doubt("maybe", "me", b"R", b"sealed", now=20.0)
    held = await state_store.get_send("maybe")
    assert held is not None
    assert (held.state, held.outcome, held.owner, held.response, held.request_ct) == (
        SendState.IN_DOUBT,
        OUTCOME_IN_DOUBT,
        "",
        b"R",
        b"sealed",
    )
    assert not await state_store.hold_in_doubt("other", "me", b"R", b"", now=20.0)  # not mine
    assert not await state_store.hold_in_doubt("maybe", "me", b"R", b"", now=21.0)  # not in flight
    for asker in ("me", "them", "anyone"):
        listed = [r.key for r in await state_store.list_in_doubt(asker, 10, now=25.0)]
        assert "maybe" in listed, asker
    assert await state_store.purge_sends(older_than=1e9) == 0
    assert await state_store.get_send("maybe") is not None


async def test_a_callback_resolves_a_held_send_as_sent_and_drops_its_request(
    state_store: StateStore,
) -> None:
    await state_store.begin_send(send("maybe", owner="me"))
    await state_store.hold_in_doubt("maybe", "me", b"R", b"sealed", now=20.0)
    assert await state_store.resolve_by_callback("maybe", "wamid.M", "sent", now=30.0)
    done = await state_store.get_send("maybe")
    assert done is not None
    assert (done.state, done.outcome, done.message_id, done.response, done.request_ct) == (
        SendState.DONE,
        OUTCOME_SENT,
        "wamid.M",
        b"",
        b"",
    )
    assert await state_store.list_in_doubt("me", 10, now=25.0) == []
    assert not await state_store.claim_resend("maybe", "me", now=31.0)


async def test_a_person_resolves_a_held_send_even_as_its_former_owner(
    state_store: StateStore,
) -> None:
    await state_store.begin_send(send("maybe", owner="me"))
    await state_store.hold_in_doubt("maybe", "me", b"R", b"sealed", now=20.0)
    assert await state_store.resolve_in_doubt("maybe", "me", "failed", "", b"F", now=30.0)
    done = await state_store.get_send("maybe")
    assert done is not None
    assert (done.state, done.outcome, done.response, done.request_ct) == (
        SendState.DONE,
        "failed",
        b"F",
        b"",
    )
    assert not await state_store.resolve_in_doubt("maybe", "me", "sent", "", b"", now=31.0)


async def test_held_sends_are_resent_at_most_once_by_one_claimer(
    state_store: StateStore,
) -> None:
    await state_store.begin_sends([send(k, owner="me") for k in ("a", "b", "c", "kept-none")])
    await state_store.hold_in_doubt("b", "me", b"", b"sealed-b", now=20.0)
    await state_store.hold_in_doubt("a", "me", b"", b"sealed-a", now=21.0)
    await state_store.hold_in_doubt("c", "me", b"", b"sealed-c", now=40.0)
    await state_store.hold_in_doubt("kept-none", "me", b"", b"", now=20.0)
    due = await state_store.list_resendable(before=30.0, limit=10)
    assert [(r.key, r.request_ct) for r in due] == [("b", b"sealed-b"), ("a", b"sealed-a")]
    assert [r.key for r in await state_store.list_resendable(before=30.0, limit=1)] == ["b"]
    wins = await asyncio.gather(
        state_store.claim_resend("b", "r1", now=31.0), state_store.claim_resend("b", "r2", now=31.0)
    )
    assert sorted(wins) == [False, True]
    claimed = await state_store.get_send("b")
    assert claimed is not None
    assert (claimed.state, claimed.request_ct) == (SendState.IN_FLIGHT, b"")
    assert claimed.owner == ("r1" if wins[0] else "r2")
    assert not await state_store.claim_resend("kept-none", "r1", now=31.0)
    # Its resend got no usable answer either: held again, without a request.
    assert await state_store.hold_in_doubt("b", claimed.owner, b"", b"", now=32.0)
    assert [r.key for r in await state_store.list_resendable(before=100.0, limit=10)] == [
        "a",
        "c",
    ]


async def test_a_callback_on_a_finished_send_keeps_its_outcome(state_store: StateStore) -> None:
    await state_store.begin_send(send("k"))
    await state_store.finish_send("k", "me", "failed", "wamid.K", b"", 20.0)
    assert await state_store.resolve_by_callback("k", "wamid.K", "read", now=30.0)
    done = await state_store.get_send("k")
    assert done is not None
    assert (done.outcome, done.delivery_status) == ("failed", "read")


async def test_statuses_update_the_send_and_are_counted(state_store: StateStore) -> None:
    await state_store.begin_send(send("k"))
    await state_store.finish_send("k", "me", "sent", "wamid.K", b"", 20.0)
    for status, ts in (("sent", 100), ("read", 102), ("delivered", 101)):
        await state_store.record_status(StatusRecord("wamid.K", status, ts, "pn"))
    done = await state_store.get_send("k")
    assert done is not None
    assert done.delivery_status == "read"  # a late "delivered" does not move it back
    assert await state_store.status_counts(since=101) == {"read": 1, "delivered": 1}


async def test_a_delivery_of_statuses_is_recorded_in_one_call_and_only_once(
    state_store: StateStore,
) -> None:
    await state_store.begin_send(send("k", owner="crashed"))
    statuses = [
        StatusRecord("wamid.K", "sent", 100, "pn"),
        StatusRecord("wamid.K", "delivered", 101, "pn"),
        StatusRecord("wamid.L", "sent", 100, "pn"),
    ]
    firsts = [  # Meta re-delivers: the repeat changes nothing and says so
        await state_store.record_statuses(statuses, [("k", "wamid.K", "delivered")], now=30.0)
        for _ in range(2)
    ]
    assert firsts == [[True, True, True], [False, False, False]]
    resolved = await state_store.get_send("k")
    assert resolved is not None
    assert (resolved.state, resolved.message_id, resolved.delivery_status) == (
        SendState.DONE,
        "wamid.K",
        "delivered",
    )
    assert await state_store.status_counts(since=0) == {"sent": 2, "delivered": 1}
    assert await state_store.record_statuses([], [], now=31.0) == []  # an empty delivery is fine


async def test_a_mixed_delivery_moves_each_send_by_key_or_message_id(
    state_store: StateStore,
) -> None:
    # k: done, resolved through its callback key; m: done, no callback (message
    # id only); d: in doubt, no message id yet; wamid.X: not a send of ours.
    await state_store.begin_sends([send("k"), send("m"), send("d", owner="crashed")])
    await state_store.finish_send("k", "me", "sent", "wamid.K", b"", 20.0)
    await state_store.finish_send("m", "me", "sent", "wamid.M", b"", 20.0)
    statuses = [
        StatusRecord("wamid.K", "read", 102, "pn"),
        StatusRecord("wamid.K", "delivered", 101, "pn"),
        StatusRecord("wamid.M", "delivered", 101, "pn"),
        StatusRecord("wamid.D", "sent", 100, "pn"),
        StatusRecord("wamid.X", "delivered", 101, "pn"),
    ]
    callbacks = [("k", "wamid.K", "read"), ("k", "wamid.K", "delivered"), ("d", "wamid.D", "sent")]
    assert await state_store.record_statuses(statuses, callbacks, now=30.0) == [True] * 5
    got = {key: await state_store.get_send(key) for key in ("k", "m", "d")}
    assert {key: (r.state, r.message_id, r.delivery_status) for key, r in got.items() if r} == {
        "k": (SendState.DONE, "wamid.K", "read"),  # a late "delivered" does not move it back
        "m": (SendState.DONE, "wamid.M", "delivered"),
        "d": (SendState.DONE, "wamid.D", "sent"),
    }
    assert got["d"] is not None and got["d"].outcome == OUTCOME_SENT


async def test_a_status_repeated_within_a_delivery_is_first_once(state_store: StateStore) -> None:
    sent = StatusRecord("wamid.R", "sent", 100, "pn")
    read = StatusRecord("wamid.R", "read", 101, "pn")
    assert await state_store.record_statuses([sent, read, sent], [], now=1.0) == [True, True, False]
    assert await state_store.status_counts(since=0) == {"sent": 1, "read": 1}


async def test_concurrent_deliveries_of_one_status_record_it_once(state_store: StateStore) -> None:
    statuses = [StatusRecord(f"wamid.C{i}", "delivered", 100, "pn") for i in range(20)]
    results = await asyncio.gather(
        *(state_store.record_statuses(statuses, [], now=1.0) for _ in range(6))
    )
    # Each status is first in exactly one of the six deliveries.
    assert [sum(r[i] for r in results) for i in range(20)] == [1] * 20


async def test_purge_drops_old_finished_sends_and_keeps_open_ones(state_store: StateStore) -> None:
    await state_store.begin_sends(
        [send("old-done", created_at=1.0), send("old-open", created_at=1.0), send("new")]
    )
    await state_store.finish_send("old-done", "me", "sent", "w", b"", 2.0)
    await state_store.finish_send("new", "me", "sent", "w2", b"", 2.0)
    assert await state_store.purge_sends(older_than=5.0) == 1
    assert await state_store.get_send("old-done") is None
    assert await state_store.get_send("old-open") is not None
    assert await state_store.get_send("new") is not None


# --------------------------------------------------------------------------- dead letters, outbox


async def test_dead_letters_are_listed_by_page_and_taken_once(state_store: StateStore) -> None:
    for i in range(3):
        await state_store.put_dead_letter(
            DeadLetterRecord(f"d{i}", f"k{i}", "pn", "UTILITY", "+1***", "{}", 4, 1.0, b"r")
        )
    assert [d.id for d in await state_store.list_dead_letters(2)] == ["d0", "d1"]
    assert [d.id for d in await state_store.list_dead_letters(2, after_id="d1")] == ["d2"]
    taken = await state_store.take_dead_letter("d1")
    assert taken is not None
    assert (taken.key, taken.attempts, taken.request_ct) == ("k1", 4, b"r")
    assert await state_store.take_dead_letter("d1") is None
    assert [d.id for d in await state_store.list_dead_letters(10)] == ["d0", "d2"]


async def test_enqueue_stores_queued_records_idempotently(state_store: StateStore) -> None:
    assert await state_store.enqueue([send("q1"), send("q2")]) == [None, None]
    again = await state_store.enqueue([send("q1", fingerprint="other")])
    assert again == [send("q1", state=SendState.QUEUED)]
    [claimed] = await state_store.claim_queued("worker", limit=1, now=11.0)
    q2 = await state_store.get_send(claimed.key)
    assert q2 is not None
    assert (q2.state, q2.owner, q2.updated_at) == (SendState.RESERVED, "worker", 11.0)


async def test_claim_queued_takes_the_oldest_first(state_store: StateStore) -> None:
    await state_store.enqueue([send(f"q{i}", created_at=float(10 - i)) for i in range(4)])
    claimed = await state_store.claim_queued("w", limit=2, now=50.0)
    assert [s.key for s in claimed] == ["q3", "q2"]
    assert all(s.state is SendState.RESERVED and s.owner == "w" for s in claimed)
    assert [s.key for s in await state_store.claim_queued("w", 10, 51.0)] == ["q1", "q0"]
    assert await state_store.claim_queued("w", 10, 52.0) == []


async def test_a_reserved_record_is_claimed_again_only_after_its_owners_lease_lapsed(
    state_store: StateStore,
) -> None:
    await state_store.enqueue([send("q")])
    await state_store.renew_lease("a", expires_at=NOW + 30)
    assert [s.key for s in await state_store.claim_queued("a", 10, NOW)] == ["q"]
    assert await state_store.claim_queued("b", 10, NOW + 29) == []  # a is alive
    [taken] = await state_store.claim_queued("b", 10, NOW + 31)  # a's lease lapsed
    assert (taken.key, taken.state, taken.owner) == ("q", SendState.RESERVED, "b")
    # The old owner cannot start it any more; the new one can.
    assert await state_store.start_send("q", "a", "sup", b"R", NOW + 32) is StartVerdict.LOST
    assert await state_store.start_send("q", "b", "sup", b"R", NOW + 32) is StartVerdict.GO
    started = await state_store.get_send("q")
    assert started is not None and (started.state, started.owner) == (SendState.IN_FLIGHT, "b")
    # In flight: never claimed again, whatever the lease.
    await state_store.release_lease("b")
    assert await state_store.claim_queued("c", 10, NOW + 40) == []


async def test_start_send_refuses_a_suppressed_recipient_and_stores_the_refusal(
    state_store: StateStore,
) -> None:
    await state_store.enqueue([send("q", category="MARKETING"), send("u")])
    await state_store.claim_queued("w", 10, NOW)
    await state_store.suppress("sup", ["MARKETING"], NOW)
    assert await state_store.start_send("q", "w", "sup", b"R", NOW) is StartVerdict.SUPPRESSED
    assert await state_store.start_send("u", "w", "sup", b"R", NOW) is StartVerdict.GO
    refused = await state_store.get_send("q")
    assert refused is not None
    assert (refused.state, refused.outcome, refused.response) == (
        SendState.DONE,
        OUTCOME_REJECTED,
        b"R",
    )
    assert await state_store.start_send("q", "w", "sup", b"R", NOW) is StartVerdict.LOST


async def test_begin_send_refuses_a_suppressed_recipient_and_stores_the_refusal(
    state_store: StateStore,
) -> None:
    await state_store.suppress("sup", ["UTILITY"], NOW)
    refused = await state_store.begin_send(send("k"), "sup", b"R")
    assert refused is not None
    assert (refused.state, refused.outcome, refused.response) == (
        SendState.DONE,
        OUTCOME_REJECTED,
        b"R",
    )
    assert await state_store.get_send("k") == refused
    assert await state_store.begin_send(send("k"), "sup", b"R") == refused  # a repeat: stored
    assert await state_store.begin_send(send("m", category="MARKETING"), "sup", b"R") is None
    assert await state_store.begin_send(send("other"), "sup-2", b"R") is None


async def test_a_live_owners_send_is_in_doubt_only_once_its_lease_lapsed(
    state_store: StateStore,
) -> None:
    await state_store.begin_sends([send("a", owner="live"), send("b", owner="gone")])
    await state_store.renew_lease("live", expires_at=NOW + 30)
    await state_store.renew_lease("gone", expires_at=NOW + 30)
    await state_store.release_lease("gone")  # a clean shutdown: in doubt at once
    assert [s.key for s in await state_store.list_in_doubt("me", 10, now=NOW)] == ["b"]
    assert not await state_store.resolve_in_doubt("a", "me", "failed", "", b"F", now=NOW)
    assert await state_store.lease_expiry("live") == NOW + 30
    assert await state_store.lease_expiry("gone") is None
    await state_store.renew_lease("live", expires_at=NOW + 60)  # a heartbeat
    assert [s.key for s in await state_store.list_in_doubt("me", 10, now=NOW + 59)] == ["b"]
    lapsed = NOW + 61
    assert [s.key for s in await state_store.list_in_doubt("me", 10, now=lapsed)] == ["a", "b"]
    assert await state_store.resolve_in_doubt("a", "me", "failed", "", b"F", now=lapsed)


async def test_finish_send_writes_only_under_its_owner_and_never_over_a_resolution(
    state_store: StateStore,
) -> None:
    await state_store.begin_sends([send("cb"), send("review", owner="gone"), send("mine")])
    assert await state_store.resolve_by_callback("cb", "wamid.CB", "sent", now=20.0)
    assert not await state_store.finish_send("cb", "me", "failed", "", b"F", 21.0)
    assert await state_store.resolve_in_doubt("review", "me", "failed", "", b"N", now=20.0)
    assert not await state_store.finish_send("review", "gone", "sent", "wamid.R", b"S", 21.0)
    assert not await state_store.finish_send("mine", "someone-else", "sent", "w", b"", 21.0)
    got = {k: await state_store.get_send(k) for k in ("cb", "review", "mine")}
    assert {k: (r.state, r.outcome) for k, r in got.items() if r} == {
        "cb": (SendState.DONE, OUTCOME_SENT),
        "review": (SendState.DONE, "failed"),
        "mine": (SendState.IN_FLIGHT, ""),
    }
    assert await state_store.finish_send("mine", "me", "sent", "w", b"", 21.0)


async def test_a_cut_off_send_is_released_or_handed_over_as_in_doubt(
    state_store: StateStore,
) -> None:
    await state_store.renew_lease("me", expires_at=NOW + 30)
    await state_store.begin_sends([send("unsent", request_ct=b""), send("cut", request_ct=b"")])
    await state_store.enqueue([send("queued")])
    await state_store.claim_queued("me", 10, NOW)
    for key in ("unsent", "queued"):  # Graph never called
        await state_store.release_send(key, "me")
    assert await state_store.get_send("unsent") is None  # a repeat sends afresh
    back = await state_store.get_send("queued")
    assert back is not None and (back.state, back.owner) == (SendState.QUEUED, "")
    await state_store.abandon_send("cut", "me", NOW)  # Graph call cut off: maybe sent
    assert [s.key for s in await state_store.list_in_doubt("me", 10, now=NOW)] == ["cut"]


async def test_concurrent_claimers_get_disjoint_sets(state_store: StateStore) -> None:
    await state_store.enqueue([send(f"q{i:02}", created_at=float(i)) for i in range(20)])
    for i in range(8):  # live claimers: none takes over another's reservation
        await state_store.renew_lease(f"w{i}", expires_at=NOW)
    batches = await asyncio.gather(
        *(state_store.claim_queued(f"w{i}", limit=3, now=1.0) for i in range(8))
    )
    keys = [s.key for batch in batches for s in batch]
    assert len(keys) == len(set(keys)) == 20
    for i, batch in enumerate(batches):
        assert all(s.owner == f"w{i}" for s in batch)


# --------------------------------------------------------------------------- audit


async def append_entries(store: StateStore, n: int) -> None:
    for i in range(n):
        await store.append_audit(float(i), "admin", "consent.revoke", f"idx{i % 2}", "{}")


async def test_audit_entries_chain_from_genesis(state_store: StateStore) -> None:
    first = await state_store.append_audit(1.5, "admin", "erase", "idx", '{"n": 1}')
    assert (first.seq, first.prev_hash) == (1, GENESIS_HASH)
    assert first.hash == entry_hash(GENESIS_HASH, 1, 1.5, "admin", "erase", "idx", '{"n": 1}')
    second = await state_store.append_audit(2.0, "admin", "export", "", "{}")
    assert (second.seq, second.prev_hash) == (2, first.hash)
    assert await state_store.audit_entries(0, 10) == [first, second]


async def test_concurrent_audit_appends_form_one_chain(state_store: StateStore) -> None:
    await asyncio.gather(
        *(state_store.append_audit(1.0, f"a{i}", "x", "", "{}") for i in range(10))
    )
    entries = await state_store.audit_entries(0, 100)
    assert [e.seq for e in entries] == list(range(1, 11))
    assert verify_chain(entries).ok


async def test_audit_entries_page_by_seq_and_filter_by_subject(state_store: StateStore) -> None:
    await append_entries(state_store, 6)
    assert [e.seq for e in await state_store.audit_entries(2, 2)] == [3, 4]
    assert [e.seq for e in await state_store.audit_entries(1, 10, "idx0")] == [3, 5]


async def test_verify_detects_a_modified_entry(state_backend: StateBackend) -> None:
    await append_entries(state_backend.store, 5)
    await state_backend.raw("UPDATE audit SET actor = 'mallory' WHERE seq = ?", [3])
    verdict = verify_chain(await state_backend.store.audit_entries(0, 100))
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 3, MODIFIED)


async def test_verify_detects_a_deleted_entry(state_backend: StateBackend) -> None:
    await append_entries(state_backend.store, 5)
    await state_backend.raw("DELETE FROM audit WHERE seq = ?", [2])
    verdict = verify_chain(await state_backend.store.audit_entries(0, 100))
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 2, DELETED)


async def test_verify_detects_an_inserted_entry(state_backend: StateBackend) -> None:
    store = state_backend.store
    await append_entries(store, 5)
    # Make room at seq 3 and forge a well-formed entry linked to entry 2.
    for seq in (5, 4, 3):
        await state_backend.raw("UPDATE audit SET seq = seq + 1 WHERE seq = ?", [seq])
    prev = (await store.audit_entries(1, 1))[0].hash
    forged = entry_hash(prev, 3, 2.5, "mallory", "x", "", "{}")
    await state_backend.raw(
        "INSERT INTO audit (seq, time, actor, action, subject_index, detail_json, prev_hash, hash)"
        " VALUES (3, 2.5, 'mallory', 'x', '', '{}', ?, ?)",
        [prev, forged],
    )
    verdict = verify_chain(await store.audit_entries(0, 100))
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 3, INSERTED)


async def test_verify_detects_reordered_entries(state_backend: StateBackend) -> None:
    await append_entries(state_backend.store, 5)
    for old, new in ((2, -2), (4, 2), (-2, 4)):
        await state_backend.raw("UPDATE audit SET seq = ? WHERE seq = ?", [new, old])
    verdict = verify_chain(await state_backend.store.audit_entries(0, 100))
    assert (verdict.ok, verdict.first_bad_seq, verdict.problem) == (False, 2, REORDERED)


# --------------------------------------------------------------------------- operations

PENDING, APPROVED, COMPLETED = (
    OperationState.PENDING,
    OperationState.APPROVED,
    OperationState.COMPLETED,
)


async def test_an_operation_is_stored_with_its_bytes_intact(state_store: StateStore) -> None:
    op = operation("op1")
    await state_store.put_operation(op)
    assert await state_store.get_operation("op1") == op
    assert await state_store.get_operation("missing") is None


async def test_a_pending_operations_payload_is_under_key_rotation(
    state_store: StateStore,
) -> None:
    await state_store.put_operation(operation("op1"))
    [(row_id, blob)] = await state_store.encrypted_rows("operation_payload", "", 10)
    assert (row_id, blob) == ("op1", operation("op1").payload)
    assert await state_store.replace_encrypted("operation_payload", "op1", blob, b"resealed")
    stored = await state_store.get_operation("op1")
    assert stored is not None and stored.payload == b"resealed"
    assert not await state_store.replace_encrypted("operation_payload", "op1", blob, b"stale")


async def test_the_requester_cannot_approve_their_own_operation(state_store: StateStore) -> None:
    await state_store.put_operation(operation("op1"))
    assert await state_store.approve_operation("op1", "alice", now=20.0) is None
    assert await state_store.get_operation("op1") == operation("op1")


async def test_an_expired_or_unknown_operation_cannot_be_approved(
    state_store: StateStore,
) -> None:
    await state_store.put_operation(operation("op1"))
    assert await state_store.approve_operation("op1", "bob", now=100.0) is None  # expires_at
    assert await state_store.approve_operation("op1", "bob", now=150.0) is None
    assert await state_store.approve_operation("missing", "bob", now=20.0) is None
    assert await state_store.get_operation("op1") == operation("op1")


async def test_a_second_principal_approves_and_only_they_may_retry(
    state_store: StateStore,
) -> None:
    await state_store.put_operation(operation("op1"))
    approved = await state_store.approve_operation("op1", "bob", now=20.0)
    assert approved == operation("op1", state=APPROVED, approved_by="bob")
    assert await state_store.get_operation("op1") == approved
    # A retry after a crash mid-operation gets the record back unchanged.
    assert await state_store.approve_operation("op1", "bob", now=30.0) == approved
    assert await state_store.approve_operation("op1", "carol", now=30.0) is None
    assert await state_store.approve_operation("op1", "alice", now=30.0) is None
    assert await state_store.get_operation("op1") == approved


async def test_concurrent_approvals_by_different_principals_have_one_winner(
    state_store: StateStore,
) -> None:
    await state_store.put_operation(operation("op1"))
    results = await asyncio.gather(
        *(state_store.approve_operation("op1", f"approver{i}", now=20.0) for i in range(6))
    )
    winners = [r for r in results if r is not None]
    assert len(winners) == 1
    assert await state_store.get_operation("op1") == winners[0]
    assert winners[0].approved_by == f"approver{results.index(winners[0])}"


async def test_completing_an_operation_keeps_its_result_and_drops_the_payload(
    state_store: StateStore,
) -> None:
    await state_store.put_operation(operation("op1"))
    await state_store.complete_operation("op1", b"too early")  # still pending: no change
    assert await state_store.get_operation("op1") == operation("op1")
    await state_store.approve_operation("op1", "bob", now=20.0)
    await state_store.complete_operation("op1", b"\x00receipt\xff")
    done = operation(
        "op1", state=COMPLETED, approved_by="bob", payload=b"", result=b"\x00receipt\xff"
    )
    assert await state_store.get_operation("op1") == done
    assert await state_store.approve_operation("op1", "bob", now=30.0) is None
    await state_store.complete_operation("op1", b"again")  # completed: no change
    assert await state_store.get_operation("op1") == done


async def test_purge_drops_expired_operations_but_keeps_approved_ones(
    state_store: StateStore,
) -> None:
    for op in (
        operation("pending-expired", expires_at=10.0),
        operation("completed-expired", expires_at=10.0),
        operation("approved-expired", expires_at=10.0),
        operation("pending-at-cut-off", expires_at=50.0),
        operation("pending-live", expires_at=100.0),
    ):
        await state_store.put_operation(op)
    for op_id in ("completed-expired", "approved-expired"):
        assert await state_store.approve_operation(op_id, "bob", now=5.0) is not None
    await state_store.complete_operation("completed-expired", b"done")

    assert await state_store.purge_operations(older_than=50.0) == 2
    left = {
        op_id: op.state if op else None
        for op_id in (
            "pending-expired",
            "completed-expired",
            "approved-expired",
            "pending-at-cut-off",
            "pending-live",
        )
        for op in [await state_store.get_operation(op_id)]
    }
    assert left == {
        "pending-expired": None,
        "completed-expired": None,
        "approved-expired": APPROVED,
        "pending-at-cut-off": PENDING,
        "pending-live": PENDING,
    }
    assert await state_store.purge_operations(older_than=50.0) == 0


async def test_a_database_at_schema_version_1_migrates_to_the_latest(
    state_backend: StateBackend,
) -> None:
    await state_backend.store.set_meta("m", "v")
    s = await new_subject(state_backend.store)
    # Back to what release 1 left behind: no operations table, suppression
    # entries that do not say who made them, no index of sends held in doubt,
    # no leases, no engagement tables, version 1.
    await state_backend.raw("DROP TABLE operations", [])
    await state_backend.raw("ALTER TABLE suppression DROP COLUMN by_user", [])
    await state_backend.raw("DROP INDEX sends_in_doubt", [])
    await state_backend.raw("DROP TABLE owner_leases", [])
    await state_backend.raw("DROP INDEX sends_reserved", [])
    await state_backend.raw("DROP TABLE template_events", [])
    await state_backend.raw("DROP TABLE sessions", [])
    await state_backend.raw(
        "INSERT INTO suppression (suppression_index, category, created_at) VALUES (?, ?, ?)",
        ["sup", "MARKETING", 1.0],
    )
    await state_backend.raw("DELETE FROM schema_version WHERE version > ?", [1])

    reopened = await state_backend.reopen()
    assert await reopened.get_meta("m") == "v"
    await reopened.put_operation(operation("op1"))
    assert await reopened.get_operation("op1") == operation("op1")
    # An entry from before the migration counts as the user's: a grant stays proof only.
    await reopened.append_consent(consent(s.id, GRANT, 2.0), "sup", lift_suppression=True)
    assert (await reopened.snapshot(s.id, "sup")).suppressed == {"MARKETING"}
    await reopened.renew_lease("o", expires_at=1.0)
    assert await reopened.record_inbound("pn", s.id, 5.0, 86_400.0) is True


# --------------------------------------------------------------------------- subjects' data


async def test_subject_data_gathers_everything_keyed_by_the_subject(
    state_store: StateStore,
) -> None:
    s = await new_subject(state_store)
    await state_store.append_consent(consent(s.id, REVOKE, 1.0), "sup", lift_suppression=False)
    await state_store.touch_window("pn", s.id, 7.0)
    await state_store.begin_sends([send("k", subject_id=s.id), send("someone-else")])
    data = await state_store.subject_data(s.id, "sup")
    assert data.subject == s
    assert [c.action for c in data.consent] == [REVOKE]
    assert data.windows == {"pn": 7.0}
    assert [x.key for x in data.sends] == ["k"]
    assert data.suppressed == {"MARKETING"}
    assert (await state_store.subject_data("nobody")).subject is None


async def test_delete_subject_erases_its_rows_but_suppression_survives(
    state_store: StateStore,
) -> None:
    s = await new_subject(state_store)
    await state_store.append_consent(consent(s.id, REVOKE, 1.0), "sup", lift_suppression=False)
    await state_store.touch_window("pn", s.id, 7.0)
    await state_store.begin_sends([send("k", subject_id=s.id), send("other")])
    await state_store.put_dead_letter(
        DeadLetterRecord("d", "k", "pn", "UTILITY", "+1***", "{}", 4, 1.0, b"r")
    )
    counts = await state_store.delete_subject(s.id)
    assert {k: counts[k] for k in ("subject", "consent", "windows", "sends", "dead_letters")} == {
        "subject": 1,
        "consent": 1,
        "windows": 1,
        "sends": 1,
        "dead_letters": 1,
    }
    assert await state_store.subjects_by_index("bi-1") == []
    assert await state_store.consent_history(s.id) == []
    assert await state_store.get_send("k") is None
    assert await state_store.get_send("other") is not None
    assert (await state_store.snapshot(None, "sup")).suppressed == {"MARKETING"}


async def test_meta_values_are_kept_and_replaced(state_store: StateStore) -> None:
    assert await state_store.get_meta("key-id") is None
    await state_store.set_meta("key-id", "k1")
    await state_store.set_meta("key-id", "k2")
    assert await state_store.get_meta("key-id") == "k2"


async def test_everything_written_is_there_after_reopening(state_backend: StateBackend) -> None:
    store = state_backend.store
    s = await new_subject(store)
    await store.append_consent(consent(s.id, REVOKE, 1.0), "sup", lift_suppression=False)
    await store.begin_send(send("k"))
    await store.set_meta("m", "v")
    entry = await store.append_audit(1.0, "a", "b", "", "{}")

    reopened = await state_backend.reopen()
    assert await reopened.subjects_by_index("bi-1") == [s]
    assert (await reopened.snapshot(s.id, "sup")).suppressed == {"MARKETING"}
    assert await reopened.get_send("k") == send("k")
    assert await reopened.get_meta("m") == "v"
    assert await reopened.audit_entries(0, 10) == [entry]
    await reopened.ping()


async def test_replicas_on_one_database_serialise_their_writes(
    state_backend: StateBackend,
) -> None:
    stores = [state_backend.store, await state_backend.replica(), await state_backend.replica()]
    made = await asyncio.gather(*(new_subject(stores[i % 3]) for i in range(9)))
    assert len({s.id for s in made}) == 1
    begun = await asyncio.gather(*(stores[i % 3].begin_send(send("k")) for i in range(9)))
    assert begun.count(None) == 1
    await stores[0].enqueue([send(f"q{i:02}", created_at=float(i)) for i in range(30)])
    for i in range(9):
        await stores[i % 3].renew_lease(f"w{i}", expires_at=NOW)
    batches = await asyncio.gather(
        *(stores[i % 3].claim_queued(f"w{i}", limit=4, now=1.0) for i in range(9))
    )
    keys = [s.key for batch in batches for s in batch]
    assert len(keys) == len(set(keys)) == 30
    await asyncio.gather(
        *(stores[i % 3].append_audit(1.0, f"a{i}", "x", "", "{}") for i in range(9))
    )
    assert verify_chain(await stores[0].audit_entries(0, 100)).ok


# --------------------------------------------------------------------------- key rotation


async def _all_rows(store: StateStore, kind: str, page: int) -> list[tuple[str, bytes]]:
    rows: list[tuple[str, bytes]] = []
    after = ""
    while chunk := await store.encrypted_rows(kind, after, page):
        assert len(chunk) <= page
        rows.extend(chunk)
        after = chunk[-1][0]
    return rows


async def test_encrypted_rows_page_through_each_kind_by_id(state_store: StateStore) -> None:
    subjects = [await new_subject(state_store, f"+1{i}".encode()) for i in range(5)]
    for i in range(3):
        await state_store.put_dead_letter(
            DeadLetterRecord(f"d{i}", f"k{i}", "pn", "UTILITY", "+1***", "{}", 4, 1.0, b"r%d" % i)
        )
    await state_store.begin_sends(
        [
            send("s-b", request_ct=b"rb"),
            send("s-a", request_ct=b"ra"),
            send("s-none", request_ct=b""),
        ]
    )
    got = await _all_rows(state_store, "subject_dek", page=2)
    assert got == sorted((s.id, s.wrapped_dek) for s in subjects)
    assert await _all_rows(state_store, "dead_letter", page=2) == [
        ("d0", b"r0"),
        ("d1", b"r1"),
        ("d2", b"r2"),
    ]
    # Sends without an encrypted request (sent directly, not queued) are skipped.
    assert await _all_rows(state_store, "send_request", page=1) == [("s-a", b"ra"), ("s-b", b"rb")]
    assert await state_store.encrypted_rows("dead_letter", "d2", 10) == []


async def test_replace_encrypted_is_compare_and_set(state_store: StateStore) -> None:
    s = await new_subject(state_store)
    await state_store.put_dead_letter(
        DeadLetterRecord("d", "k", "pn", "UTILITY", "+1***", "{}", 4, 1.0, b"old")
    )
    await state_store.begin_send(send("q", request_ct=b"old-req"))

    assert await state_store.replace_encrypted("subject_dek", s.id, b"dek", b"dek2")
    assert not await state_store.replace_encrypted("subject_dek", s.id, b"dek", b"dek3")
    assert await state_store.encrypted_rows("subject_dek", "", 10) == [(s.id, b"dek2")]
    [stored] = await state_store.subjects_by_index("bi-1")
    assert stored.number_ct == s.number_ct  # only the blob changed

    assert await state_store.replace_encrypted("send_request", "q", b"old-req", b"new-req")
    changed = await state_store.get_send("q")
    assert changed is not None
    assert changed.request_ct == b"new-req"

    taken = await state_store.take_dead_letter("d")  # deleted meanwhile
    assert taken is not None
    assert not await state_store.replace_encrypted("dead_letter", "d", b"old", b"new")
    assert not await state_store.replace_encrypted("send_request", "missing", b"old", b"new")
    with pytest.raises(ValueError, match="kind"):
        await state_store.replace_encrypted("consent_proof", "x", b"a", b"b")


async def test_concurrent_replacements_of_one_blob_have_one_winner(
    state_store: StateStore,
) -> None:
    s = await new_subject(state_store)
    results = await asyncio.gather(
        *(
            state_store.replace_encrypted("subject_dek", s.id, b"dek", b"dek-%d" % i)
            for i in range(8)
        )
    )
    assert results.count(True) == 1
    [(_, blob)] = await state_store.encrypted_rows("subject_dek", "", 10)
    assert blob == b"dek-%d" % results.index(True)


# --------------------------------------------------------------------------- dedup


async def test_dedup_claim_is_true_only_the_first_time(dedup_store: DedupStore) -> None:
    assert await dedup_store.claim(["a", "b", "a"], ttl=60, now=0.0) == [True, True, False]
    assert await dedup_store.claim(["a", "c"], ttl=60, now=1.0) == [False, True]


async def test_concurrent_dedup_claims_have_exactly_one_winner(dedup_store: DedupStore) -> None:
    results = await asyncio.gather(*(dedup_store.claim(["k"], 60, 0.0) for _ in range(8)))
    assert sorted(r[0] for r in results) == [False] * 7 + [True]


async def test_dedup_keys_expire_after_their_ttl(dedup_store: DedupStore) -> None:
    await dedup_store.claim(["a"], ttl=10, now=0.0)
    await dedup_store.claim(["b"], ttl=100, now=0.0)
    assert await dedup_store.claim(["a"], ttl=10, now=9.9) == [False]
    assert await dedup_store.purge_expired(now=10.0) == 1
    assert await dedup_store.claim(["a", "b"], ttl=10, now=10.0) == [True, False]


# --------------------------------------------------------------------------- quotas


async def test_gcra_allows_the_burst_then_one_per_interval(
    quota_store: QuotaStore, fake_clock: FakeClock
) -> None:
    assert [await quota_store.acquire("pn", rate=10, burst=3) for _ in range(3)] == [0.0] * 3
    assert await quota_store.acquire("pn", rate=10, burst=3) == pytest.approx(0.1)
    fake_clock.advance(0.05)
    assert await quota_store.acquire("pn", rate=10, burst=3) == pytest.approx(0.05)
    fake_clock.advance(0.05)
    assert await quota_store.acquire("pn", rate=10, burst=3) == 0.0
    assert await quota_store.acquire("pn", rate=10, burst=3) > 0.0
    granted = 0
    for _ in range(100):  # 10 s at 10/s, asking twice per token
        fake_clock.advance(0.05)
        granted += await quota_store.acquire("pn", rate=10, burst=3) == 0.0
    assert granted == 50
    assert await quota_store.acquire("other", rate=10, burst=3) == 0.0


async def test_gcra_cost_takes_several_tokens_or_none(
    quota_store: QuotaStore, fake_clock: FakeClock
) -> None:
    assert await quota_store.acquire("pn", rate=1, burst=5, cost=4) == 0.0
    assert await quota_store.acquire("pn", rate=1, burst=5, cost=3) == pytest.approx(2.0)
    assert await quota_store.acquire("pn", rate=1, burst=5, cost=1) == 0.0


async def test_peek_reports_the_wait_without_taking(
    quota_store: QuotaStore, fake_clock: FakeClock
) -> None:
    for _ in range(5):
        assert await quota_store.peek("pn", rate=1, burst=1) == 0.0
    assert await quota_store.acquire("pn", rate=1, burst=1) == 0.0
    assert await quota_store.peek("pn", rate=1, burst=1) == pytest.approx(1.0)
    assert await quota_store.peek("pn", rate=1, burst=1) == pytest.approx(1.0)
    fake_clock.advance(1.0)
    assert await quota_store.acquire("pn", rate=1, burst=1) == 0.0


async def test_unique_members_are_capped_over_a_rolling_window(
    quota_store: QuotaStore, fake_clock: FakeClock
) -> None:
    assert await quota_store.add_unique("tier", "a", window=100, limit=2)
    fake_clock.advance(10)
    assert await quota_store.add_unique("tier", "b", window=100, limit=2)
    assert not await quota_store.add_unique("tier", "c", window=100, limit=2)
    assert await quota_store.add_unique("tier", "a", window=100, limit=2)  # already inside
    fake_clock.advance(95)  # "b" (t=10) is still inside; "a" was seen again at t=10
    assert not await quota_store.add_unique("tier", "c", window=100, limit=2)
    fake_clock.advance(10)  # both left the window; "c" was never recorded
    assert await quota_store.add_unique("tier", "c", window=100, limit=2)
    assert await quota_store.add_unique("tier", "d", window=100, limit=2)
    assert not await quota_store.add_unique("tier", "e", window=100, limit=2)
    await quota_store.ping()


# Quota tests without a fake clock run on every backend, Redis included. They
# use intervals of a second or more, so real time passing between calls
# (milliseconds) cannot change the verdicts.


async def test_the_burst_is_admitted_then_refused_with_at_most_one_interval_to_wait(
    quota_store: QuotaStore,
) -> None:
    assert [await quota_store.acquire("pn", rate=1, burst=5) for _ in range(5)] == [0.0] * 5
    wait = await quota_store.acquire("pn", rate=1, burst=5)
    assert 0.0 < wait <= 1.0 + 1e-6
    again = await quota_store.acquire("pn", rate=1, burst=5)  # a refusal took nothing
    assert 0.0 < again <= wait
    assert await quota_store.acquire("other-pn", rate=1, burst=5) == 0.0


async def test_peek_never_takes_a_token(quota_store: QuotaStore) -> None:
    for _ in range(10):
        assert await quota_store.peek("pn", rate=0.5, burst=2) == 0.0
    assert await quota_store.acquire("pn", rate=0.5, burst=2) == 0.0
    assert await quota_store.acquire("pn", rate=0.5, burst=2) == 0.0
    first = await quota_store.peek("pn", rate=0.5, burst=2)
    assert 0.0 < first <= 2.0 + 1e-6
    assert 0.0 < await quota_store.peek("pn", rate=0.5, burst=2) <= first
    assert await quota_store.acquire("pn", rate=0.5, burst=2) > 0.0


async def test_concurrent_acquires_never_exceed_the_burst(quota_store: QuotaStore) -> None:
    waits = await asyncio.gather(
        *(quota_store.acquire("pn", rate=0.1, burst=10) for _ in range(60))
    )
    assert sum(w == 0.0 for w in waits) == 10
    assert all(0.0 < w <= 10.0 + 1e-6 for w in waits if w)


async def test_a_cost_above_the_burst_is_a_programming_error(quota_store: QuotaStore) -> None:
    with pytest.raises(ValueError, match="burst"):
        await quota_store.acquire("pn", rate=1, burst=2, cost=3)
    with pytest.raises(ValueError, match="rate"):
        await quota_store.peek("pn", rate=0, burst=2)
    assert await quota_store.acquire("pn", rate=1, burst=2, cost=2) == 0.0


# admit: the limits of one send, taken all together or not at all.

RATE = Bucket("rate", rate=0.01, burst=2)  # two tokens, the next after 100 s


def pair(member: str) -> Bucket:
    return Bucket(f"pair:{member}", rate=0.01, burst=1)


def tier(member: str, limit: int = 2) -> UniqueCap:
    return UniqueCap("tier", member, window=3600, limit=limit)


async def test_admit_takes_every_limit_when_all_grant(quota_store: QuotaStore) -> None:
    assert await quota_store.admit("pn", [pair("a"), RATE], tier("a")) == GRANTED
    refused = await quota_store.admit("pn", [pair("a"), RATE], tier("a"))
    assert refused.refused == "pair:a"
    assert 0.0 < refused.wait <= 100.0 + 1e-6
    assert (await quota_store.admit("pn", [pair("b"), RATE], tier("c", limit=1))).refused == "tier"


async def test_a_refusal_by_a_later_limit_takes_nothing_from_the_earlier_ones(
    quota_store: QuotaStore,
) -> None:
    assert await quota_store.admit("pn", [pair("a"), RATE], tier("a")) == GRANTED
    assert await quota_store.admit("pn", [RATE]) == GRANTED  # the rate is now spent
    refused = await quota_store.admit("pn", [pair("b"), RATE], tier("b"))
    assert refused.refused == "rate"
    assert 0.0 < refused.wait <= 100.0 + 1e-6
    # Neither b's pair token nor its tier slot was taken: both still grant, once.
    assert await quota_store.admit("pn", [pair("b")], tier("b")) == GRANTED
    assert (await quota_store.admit("pn", [pair("b")])).refused == "pair:b"
    assert (await quota_store.admit("pn", [pair("c")], tier("c"))).refused == "tier"


async def test_a_refusal_by_the_tier_takes_no_bucket_token(quota_store: QuotaStore) -> None:
    assert await quota_store.admit("pn", [pair("a")], tier("a", limit=1)) == GRANTED
    assert (await quota_store.admit("pn", [pair("b"), RATE], tier("b", limit=1))).refused == "tier"
    assert await quota_store.admit("pn", [pair("b"), RATE]) == GRANTED
    assert await quota_store.admit("pn", [RATE]) == GRANTED  # both rate tokens were left


async def test_admit_without_take_grants_again_and_again(quota_store: QuotaStore) -> None:
    for _ in range(5):
        assert await quota_store.admit("pn", [pair("a"), RATE], take=False) == GRANTED
    assert await quota_store.admit("pn", [pair("a"), RATE], tier("a", limit=1)) == GRANTED
    peeked = await quota_store.admit("pn", [pair("a"), RATE], take=False)
    assert peeked.refused == "pair:a"
    assert (await quota_store.admit("pn", [pair("z")], tier("z", 1), take=False)).refused == "tier"


async def test_admit_groups_are_separate_and_concurrent_admits_never_overshoot(
    quota_store: QuotaStore,
) -> None:
    assert await quota_store.admit("pn", [pair("a")], tier("a", limit=1)) == GRANTED
    assert await quota_store.admit("other-pn", [pair("a")], tier("a", limit=1)) == GRANTED
    answers = await asyncio.gather(
        *(
            quota_store.admit("race", [pair(f"m{i}"), Bucket("rate", 0.01, 4)], tier(f"m{i}", 3))
            for i in range(20)
        )
    )
    assert answers.count(GRANTED) == 3
    assert {a.refused for a in answers if a != GRANTED} == {"tier"}
    again = await quota_store.admit("race", [Bucket("rate", 0.01, 4)])
    assert again == GRANTED  # the tier refusals took none of the rate's four tokens


# refund: what an admitted send took, given back when it did not go after all.


async def test_a_refund_gives_back_one_token_of_each_bucket_never_beyond_the_burst(
    quota_store: QuotaStore,
) -> None:
    assert await quota_store.admit("pn", [pair("a"), RATE]) == GRANTED
    assert await quota_store.admit("pn", [RATE]) == GRANTED  # the rate is spent
    await quota_store.refund("pn", [pair("a"), RATE])
    assert await quota_store.admit("pn", [pair("a"), RATE]) == GRANTED  # both came back
    assert (await quota_store.admit("pn", [RATE])).refused == "rate"  # one, not two
    for _ in range(3):  # more refunds than takes: a bucket holds at most its burst
        await quota_store.refund("pn", [pair("a"), RATE])
    assert await quota_store.admit("pn", [pair("a"), RATE]) == GRANTED
    assert await quota_store.admit("pn", [RATE]) == GRANTED
    assert (await quota_store.admit("pn", [RATE])).refused == "rate"
    assert (await quota_store.admit("pn", [pair("a")])).refused == "pair:a"
    await quota_store.refund("other-pn", [RATE])  # another group's bucket: nothing here
    assert (await quota_store.admit("pn", [RATE])).refused == "rate"


async def test_a_refund_frees_the_tier_slot_only_of_an_admission_that_added_the_member(
    quota_store: QuotaStore,
) -> None:
    taken = await quota_store.admit("pn", [pair("a")], tier("a", limit=1))
    assert taken == GRANTED and taken.added is not None
    assert (await quota_store.admit("pn", [pair("b")], tier("b", limit=1))).refused == "tier"
    await quota_store.refund("pn", [pair("a")], tier("a", limit=1), taken.added)
    assert await quota_store.admit("pn", [pair("b")], tier("b", limit=1)) == GRANTED
    # b is inside the window now: admitting it again adds nothing, and refunding
    # that admission leaves b's slot taken.
    inside = await quota_store.admit("pn", [RATE], tier("b", limit=1))
    assert inside == GRANTED and inside.added is None
    await quota_store.refund("pn", [RATE], tier("b", limit=1), inside.added)
    assert (await quota_store.admit("pn", [], tier("c", limit=1))).refused == "tier"
    assert await quota_store.admit("pn", [], tier("b", limit=1)) == GRANTED


async def test_a_refund_keeps_a_member_another_admission_recorded_since(
    quota_store: QuotaStore,
) -> None:
    first = await quota_store.admit("pn", [], tier("a", limit=1))
    assert first.added is not None
    assert await quota_store.admit("pn", [], tier("a", limit=1)) == GRANTED  # a second send
    await quota_store.refund("pn", [], tier("a", limit=1), first.added)
    assert (await quota_store.admit("pn", [], tier("b", limit=1))).refused == "tier"


async def test_a_refund_moves_the_bucket_back_by_its_cost_in_time(
    quota_store: QuotaStore, fake_clock: FakeClock
) -> None:
    assert await quota_store.acquire("other", rate=1, burst=1) == 0.0  # unrelated key
    assert await quota_store.admit("pn", [Bucket("rate", rate=1, burst=3, cost=3)]) == GRANTED
    await quota_store.refund("pn", [Bucket("rate", rate=1, burst=3, cost=2)])
    fake_clock.advance(0.5)  # 2.5 tokens now: two go, the next needs 0.5 s more
    assert await quota_store.admit("pn", [Bucket("rate", rate=1, burst=3, cost=2)]) == GRANTED
    refused = await quota_store.admit("pn", [Bucket("rate", rate=1, burst=3)])
    assert refused.refused == "rate" and refused.wait == pytest.approx(0.5)


async def test_unique_members_are_capped_and_members_inside_always_pass(
    quota_store: QuotaStore,
) -> None:
    assert [await quota_store.add_unique("tier", m, 3600, 3) for m in "abc"] == [True] * 3
    assert not await quota_store.add_unique("tier", "d", 3600, 3)
    assert await quota_store.add_unique("tier", "a", 3600, 3)
    assert not await quota_store.add_unique("tier", "d", 3600, 3)  # nothing was recorded
    assert await quota_store.add_unique("other-tier", "d", 3600, 3)
    results = await asyncio.gather(
        *(quota_store.add_unique("race", f"m{i}", 3600, 5) for i in range(20))
    )
    assert results.count(True) == 5


# hit_window: the per-source webhook limit, a moving window of hits.


async def test_a_hit_window_counts_the_last_period_and_a_refusal_records_nothing(
    quota_store: QuotaStore, fake_clock: FakeClock
) -> None:
    hits = []
    for _ in range(4):  # t = 0, 10, 20, 30
        hits.append(await quota_store.hit_window("webhook:ip", limit=3, period=60))
        fake_clock.advance(10)
    assert hits == [True, True, True, False]
    fake_clock.advance(20)  # t = 60: the hit at 0 is still inside the window
    assert not await quota_store.hit_window("webhook:ip", limit=3, period=60)
    fake_clock.advance(0.5)  # t = 60.5: it has left; the refusals took no room
    assert await quota_store.hit_window("webhook:ip", limit=3, period=60)
    assert not await quota_store.hit_window("webhook:ip", limit=3, period=60)
    fake_clock.advance(10)  # t = 70.5: the hit at 10 has left
    assert await quota_store.hit_window("webhook:ip", limit=3, period=60)
    assert not await quota_store.hit_window("webhook:ip", limit=3, period=60)


async def test_a_hit_window_allows_the_limit_per_key_and_refuses_the_rest(
    quota_store: QuotaStore,
) -> None:
    hits = [await quota_store.hit_window("webhook:a", limit=3, period=60) for _ in range(5)]
    assert hits == [True, True, True, False, False]
    assert await quota_store.hit_window("webhook:b", limit=3, period=60)
    assert not await quota_store.hit_window("webhook:c", limit=0, period=60)
    results = await asyncio.gather(
        *(quota_store.hit_window("webhook:race", limit=5, period=60) for _ in range(20))
    )
    assert results.count(True) == 5
