"""The audit hash chain (``sidecar/stores/audit_chain.py``), pure."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.stores.audit_chain import (
    DELETED,
    GENESIS_HASH,
    INSERTED,
    MODIFIED,
    OK,
    REORDERED,
    entry_hash,
    record_hash,
    verify_chain,
)
from sidecar.stores.base import AuditRecord

pytestmark = pytest.mark.unit


def chain(n: int, start_hash: str = GENESIS_HASH, start_seq: int = 1) -> list[AuditRecord]:
    entries, prev = [], start_hash
    for seq in range(start_seq, start_seq + n):
        fields = (float(seq), "admin", "consent.revoke", f"idx{seq % 3}", f'{{"n": {seq}}}')
        digest = entry_hash(prev, seq, *fields)
        entries.append(AuditRecord(seq, *fields, prev, digest))
        prev = digest
    return entries


def rehash(entry: AuditRecord, **changes: object) -> AuditRecord:
    """``entry`` changed and given a hash consistent with its new fields."""
    changed = replace(entry, **changes)
    return replace(changed, hash=record_hash(changed))


def test_hash_is_lowercase_hex_sha256_and_deterministic() -> None:
    h = entry_hash(GENESIS_HASH, 1, 1.0, "a", "b", "c", "{}")
    assert h == entry_hash(GENESIS_HASH, 1, 1.0, "a", "b", "c", "{}")
    assert len(h) == 64
    assert int(h, 16) >= 0
    assert h == h.lower()


def test_length_prefixes_keep_field_boundaries_apart() -> None:
    assert entry_hash(GENESIS_HASH, 1, 1.0, "ab", "c", "", "") != entry_hash(
        GENESIS_HASH, 1, 1.0, "a", "bc", "", ""
    )
    assert entry_hash(GENESIS_HASH, 1, 1.0, "", "", "x", "") != entry_hash(
        GENESIS_HASH, 1, 1.0, "", "", "", "x"
    )


@given(
    st.tuples(st.integers(1, 10**9), st.floats(0, 2e9), st.text(), st.text(), st.text(), st.text()),
    st.integers(0, 5),
)
def test_every_field_is_committed_to(
    fields: tuple[int, float, str, str, str, str], which: int
) -> None:
    values = list(fields)
    original = entry_hash(GENESIS_HASH, *fields)  # type: ignore[arg-type]
    if which == 0:
        values[0] = fields[0] + 1
    elif which == 1:
        values[1] = fields[1] + 1.0 if fields[1] < 1e9 else fields[1] / 2 - 1
    else:
        values[which] = f"{fields[which]}!"
    assert entry_hash(GENESIS_HASH, *values) != original  # type: ignore[arg-type]
    assert entry_hash("1" * 64, *fields) != original  # type: ignore[arg-type]


@pytest.mark.parametrize("n", [0, 1, 7])
def test_an_untouched_chain_verifies(n: int) -> None:
    assert verify_chain(chain(n)) == OK


def test_a_later_page_verifies_from_its_anchor() -> None:
    full = chain(10)
    assert verify_chain(full[4:], start_hash=full[3].hash, start_seq=5) == OK
    assert verify_chain(full[4:]).problem != ""


def test_a_field_edit_is_reported_as_modified_at_that_entry() -> None:
    entries = chain(5)
    entries[2] = replace(entries[2], detail_json="{}")
    assert verify_chain(entries) == (False, 3, MODIFIED)


def test_an_edit_with_a_recomputed_hash_is_caught_by_the_next_link() -> None:
    entries = chain(5)
    entries[2] = rehash(entries[2], actor="mallory")
    assert verify_chain(entries) == (False, 3, MODIFIED)


def test_an_edited_last_entry_is_caught() -> None:
    entries = chain(3)
    entries[2] = replace(entries[2], time=99.0)
    assert verify_chain(entries) == (False, 3, MODIFIED)


@pytest.mark.parametrize("index", [0, 2, 3])
def test_a_deleted_entry_is_reported_at_the_missing_seq(index: int) -> None:
    entries = chain(5)
    del entries[index]
    assert verify_chain(entries) == (False, index + 1, DELETED)


def test_a_deleted_entry_is_found_even_if_the_next_one_is_relinked() -> None:
    entries = chain(5)
    del entries[1]
    entries[1] = rehash(entries[1], prev_hash=entries[0].hash)
    assert verify_chain(entries) == (False, 2, DELETED)


def test_an_entry_inserted_with_renumbering_is_reported_as_inserted() -> None:
    entries = chain(5)
    forged = rehash(entries[2], actor="mallory", prev_hash=entries[1].hash)
    shifted = [replace(e, seq=e.seq + 1) for e in entries[2:]]
    assert verify_chain([*entries[:2], forged, *shifted]) == (False, 3, INSERTED)


def test_an_entry_inserted_at_the_front_is_reported_as_inserted() -> None:
    entries = chain(3)
    forged = rehash(entries[0], actor="mallory")
    shifted = [replace(e, seq=e.seq + 1) for e in entries]
    assert verify_chain([forged, *shifted]) == (False, 1, INSERTED)


def test_swapped_entries_are_reported_as_reordered() -> None:
    entries = chain(5)
    entries[1], entries[3] = replace(entries[3], seq=2), replace(entries[1], seq=4)
    assert verify_chain(entries) == (False, 2, REORDERED)


def test_entries_out_of_seq_order_are_reported_as_reordered() -> None:
    entries = chain(4)
    entries[1], entries[2] = entries[2], entries[1]
    assert verify_chain(entries) == (False, 3, REORDERED)  # the first entry out of place


def test_a_duplicated_seq_is_reported_as_reordered() -> None:
    entries = chain(3)
    assert verify_chain([*entries, entries[2]]) == (False, 3, REORDERED)
