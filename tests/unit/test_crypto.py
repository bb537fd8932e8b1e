"""sidecar.crypto: keyring parsing, field AEAD, rotation, crypto-shredding, blind indexes."""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.crypto import (
    DEFAULT_BITS,
    BlindIndexer,
    DecryptionError,
    FieldCipher,
    Keyring,
    SubjectCipher,
    SubjectKeys,
    aad,
    matches,
    recommended_bits,
)
from sidecar.errors import ConfigError

pytestmark = pytest.mark.unit

NUMBER = "+447700900123"
WHERE = aad("subjects", "e164", "subject-1")


def b64key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


K1, K2, IDX = b64key(), b64key(), b64key()
RING_1 = Keyring.parse(f"k1:{K1},idx:{IDX}")
RING_2 = Keyring.parse(f"k2:{K2},k1:{K1},idx:{IDX}")
RING_2_ONLY = Keyring.parse(f"k2:{K2},idx:{IDX}")
FIELD = FieldCipher(RING_2)
SUBJECT_KEYS = SubjectKeys(RING_2)
SUBJECT = SUBJECT_KEYS.cipher(SUBJECT_KEYS.new_wrapped_dek())


# --- keyring ---------------------------------------------------------------------------


def test_first_entry_is_primary_and_idx_is_not_an_encryption_key() -> None:
    ring = Keyring.parse(f" k2:{K2},\n idx:{IDX}, k1:{K1} \n")
    assert ring.primary_id == "k2"
    assert ring.ids == ("k2", "k1")
    assert ring.index_id == "idx"


def test_bare_value_means_k1_and_roots_the_index() -> None:
    ring = Keyring.parse(K1)
    assert (ring.primary_id, ring.ids, ring.index_id) == ("k1", ("k1",), "k1")


def test_generated_value_parses_with_separate_index_key() -> None:
    ring = Keyring.parse(Keyring.generate())
    assert (ring.primary_id, ring.ids, ring.index_id) == ("k1", ("k1",), "idx")
    assert Keyring.generate() != Keyring.generate()


def test_repr_shows_ids_only() -> None:
    text = repr(RING_2)
    assert "k2" in text
    assert K1 not in text
    assert K2 not in text


BAD_KEY_VALUES = [
    "",
    "   ",
    base64.b64encode(os.urandom(31)).decode(),
    base64.b64encode(os.urandom(33)).decode(),
    K1[:-2] + "!!",
    K1[:-1],
    f"k1:{K1},k1:{K2}",
    f"k1:{K1},k2:{K1},idx:{IDX}",
    f"k1:{K1},k2:{K2}",
    f"idx:{IDX}",
    f"idx:{IDX},idx:{K1},k1:{K2}",
    f"k1:{K1},,idx:{IDX}",
    f"k1:{K1},{K2}",
    f"k1:{K1},idx:",
    f"bad id:{K1}",
    f"{'x' * 33}:{K1}",
    f"k1:{K1} {K2}",
]


@pytest.mark.parametrize("value", BAD_KEY_VALUES)
def test_bad_key_material_is_a_config_error_that_never_echoes_it(value: str) -> None:
    with pytest.raises(ConfigError) as caught:
        Keyring.parse(value)
    exc = caught.value
    assert exc.setting == "WA_SIDECAR_ENCRYPTION_KEY"
    assert exc.__cause__ is None
    assert exc.__context__ is None or exc.__suppress_context__
    message = str(exc)
    for secret in (K1, K2, IDX, value.strip()):
        if len(secret) >= 8:
            assert secret not in message
            assert secret[:12] not in message


def test_several_keys_without_idx_explains_how_to_keep_indexes() -> None:
    with pytest.raises(ConfigError, match="idx"):
        Keyring.parse(f"k2:{K2},k1:{K1}")


# --- field encryption --------------------------------------------------------------------


def test_field_round_trip_and_fresh_nonce_each_time() -> None:
    cipher = FieldCipher(RING_1)
    first, second = cipher.encrypt(b"+447700900123", WHERE), cipher.encrypt(b"+447700900123", WHERE)
    assert first != second
    assert cipher.decrypt(first, WHERE) == cipher.decrypt(second, WHERE) == b"+447700900123"


def test_blob_header_carries_version_and_key_id() -> None:
    blob = FieldCipher(RING_2).encrypt(b"x", WHERE)
    assert blob[:4] == b"\x01\x02k2"
    assert len(blob) == 4 + 12 + 1 + 16


@pytest.mark.parametrize(
    "other",
    [
        aad("subjects", "e164", "subject-2"),
        aad("subjects", "name", "subject-1"),
        aad("contacts", "e164", "subject-1"),
        b"",
    ],
)
def test_ciphertext_moved_to_another_row_column_or_table_fails(other: bytes) -> None:
    cipher = FieldCipher(RING_1)
    with pytest.raises(DecryptionError):
        cipher.decrypt(cipher.encrypt(b"+447700900123", WHERE), other)


def test_aad_encoding_is_unambiguous() -> None:
    assert aad("ab", "c", "1") != aad("a", "bc", "1")
    assert aad("a", "b", "c1") != aad("a", "bc", "1")
    assert aad("t", "c", 7) == aad("t", "c", "7") == aad("t", "c", b"7")


def test_tampering_with_any_byte_fails() -> None:
    cipher = FieldCipher(RING_2)
    blob = cipher.encrypt(b"+447700900123", WHERE)
    for position in range(len(blob)):
        for flip in (0x01, 0x80):
            tampered = bytearray(blob)
            tampered[position] ^= flip
            with pytest.raises(DecryptionError):
                cipher.decrypt(bytes(tampered), WHERE)


def test_every_truncation_fails() -> None:
    cipher = FieldCipher(RING_1)
    blob = cipher.encrypt(b"", WHERE)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            cipher.decrypt(blob[:length], WHERE)


def test_unknown_key_id_fails_and_names_the_id() -> None:
    blob = FieldCipher(RING_2_ONLY).encrypt(b"x", WHERE)
    with pytest.raises(DecryptionError, match="'k2'"):
        FieldCipher(RING_1).decrypt(blob, WHERE)


def test_same_key_id_with_other_material_fails() -> None:
    blob = FieldCipher(RING_1).encrypt(b"x", WHERE)
    impostor = Keyring.parse(f"k1:{K2},idx:{IDX}")
    with pytest.raises(DecryptionError):
        FieldCipher(impostor).decrypt(blob, WHERE)


# --- rotation ----------------------------------------------------------------------------


def test_rotation_end_to_end() -> None:
    old_blob = FieldCipher(RING_1).encrypt(b"+447700900123", WHERE)

    during = FieldCipher(RING_2)
    assert during.decrypt(old_blob, WHERE) == b"+447700900123"
    assert during.needs_rotation(old_blob)

    rotated = during.rotate(old_blob, WHERE)
    assert during.key_id(rotated) == "k2"
    assert not during.needs_rotation(rotated)
    assert during.rotate(rotated, WHERE) == rotated

    after = FieldCipher(RING_2_ONLY)
    assert after.decrypt(rotated, WHERE) == b"+447700900123"
    with pytest.raises(DecryptionError):
        after.decrypt(old_blob, WHERE)


def test_staged_rollout_keeps_old_primary_until_promoted() -> None:
    staged = Keyring.parse(f"k1:{K1},k2:{K2},idx:{IDX}")
    blob = FieldCipher(staged).encrypt(b"x", WHERE)
    assert FieldCipher(RING_1).decrypt(blob, WHERE) == b"x"


def test_rotate_refuses_a_blob_it_cannot_authenticate() -> None:
    cipher = FieldCipher(RING_2)
    blob = cipher.encrypt(b"x", WHERE)
    with pytest.raises(DecryptionError):
        cipher.rotate(blob, aad("subjects", "e164", "other"))


def test_needs_rotation_on_garbage_is_a_decryption_error() -> None:
    with pytest.raises(DecryptionError):
        FieldCipher(RING_1).needs_rotation(b"\x07garbage")


# --- per-subject keys and crypto-shredding -----------------------------------------------


def test_subject_round_trip_and_dek_is_32_random_bytes() -> None:
    keys = SubjectKeys(RING_1)
    wrapped = keys.new_wrapped_dek()
    assert len(keys.unwrap(wrapped)) == 32
    assert keys.unwrap(wrapped) != keys.unwrap(keys.new_wrapped_dek())
    blob = keys.cipher(wrapped).encrypt(b"Ada Lovelace", WHERE)
    assert keys.cipher(wrapped).decrypt(blob, WHERE) == b"Ada Lovelace"
    with pytest.raises(DecryptionError):
        keys.cipher(wrapped).decrypt(blob, aad("subjects", "e164", "subject-2"))


def test_shredded_dek_leaves_data_undecryptable_but_suppression_still_matches() -> None:
    keys = SubjectKeys(RING_1)
    indexer = BlindIndexer(RING_1)
    store = {"subject-1": keys.new_wrapped_dek(), "subject-2": keys.new_wrapped_dek()}
    blob = keys.cipher(store["subject-1"]).encrypt(NUMBER.encode(), WHERE)
    suppression = {indexer.full_index(NUMBER)}

    del store["subject-1"]  # erasure

    assert "subject-1" not in store
    for survivor in store.values():
        with pytest.raises(DecryptionError):
            keys.cipher(survivor).decrypt(blob, WHERE)
    with pytest.raises(DecryptionError):
        FieldCipher(RING_1).decrypt(blob, WHERE)
    with pytest.raises(DecryptionError):
        SubjectCipher(os.urandom(32)).decrypt(blob, WHERE)
    assert BlindIndexer(RING_2).full_index(NUMBER) in suppression


def test_rewrap_moves_dek_to_new_primary_without_touching_data() -> None:
    wrapped = SubjectKeys(RING_1).new_wrapped_dek()
    blob = SubjectKeys(RING_1).cipher(wrapped).encrypt(b"data", WHERE)

    during = SubjectKeys(RING_2)
    assert during.needs_rotation(wrapped)
    rewrapped = during.rewrap(wrapped)
    assert not during.needs_rotation(rewrapped)
    assert SubjectKeys(RING_2_ONLY).cipher(rewrapped).decrypt(blob, WHERE) == b"data"
    with pytest.raises(DecryptionError):
        SubjectKeys(RING_2_ONLY).unwrap(wrapped)


def test_wrapped_dek_is_not_a_field_ciphertext() -> None:
    wrapped = SubjectKeys(RING_1).new_wrapped_dek()
    with pytest.raises(DecryptionError):
        FieldCipher(RING_1).decrypt(wrapped, b"wa-sidecar/v1/subject-dek")


def test_subject_cipher_rejects_wrong_length_dek_and_hides_it() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        SubjectCipher(b"short")
    dek = os.urandom(32)
    assert dek.hex() not in repr(SubjectCipher(dek))


def test_subject_tampering_and_truncation_fail() -> None:
    cipher = SubjectCipher(os.urandom(32))
    blob = cipher.encrypt(b"data", WHERE)
    for position in range(len(blob)):
        tampered = bytearray(blob)
        tampered[position] ^= 0x01
        with pytest.raises(DecryptionError):
            cipher.decrypt(bytes(tampered), WHERE)
    for length in range(len(blob)):
        with pytest.raises(DecryptionError):
            cipher.decrypt(blob[:length], WHERE)


# --- blind index -------------------------------------------------------------------------


def test_blind_index_is_stable_across_encryption_key_rotation() -> None:
    values = {BlindIndexer(ring).index(NUMBER) for ring in (RING_1, RING_2, RING_2_ONLY)}
    assert len(values) == 1
    suppression = {BlindIndexer(ring).full_index(NUMBER) for ring in (RING_1, RING_2, RING_2_ONLY)}
    assert len(suppression) == 1


def test_single_key_deployment_keeps_indexes_when_it_adds_idx() -> None:
    before = BlindIndexer(Keyring.parse(K1))
    after = BlindIndexer(Keyring.parse(f"k2:{K2},k1:{K1},idx:{K1}"))
    assert before.index(NUMBER) == after.index(NUMBER)
    assert before.full_index(NUMBER) == after.full_index(NUMBER)


def test_index_depends_on_index_key_table_and_column() -> None:
    full = BlindIndexer(RING_1, bits=256)
    assert full.index(NUMBER) != BlindIndexer(Keyring.parse(K1), bits=256).index(NUMBER)
    assert full.index(NUMBER) != BlindIndexer(RING_1, bits=256, table="contacts").index(NUMBER)
    assert full.index(NUMBER) != BlindIndexer(RING_1, bits=256, column="phone").index(NUMBER)
    assert full.index(NUMBER) != full.index("+447700900124")


@pytest.mark.parametrize(("bits", "digits"), [(1, 1), (4, 1), (10, 3), (16, 4), (18, 5), (256, 64)])
def test_index_is_truncated_to_bits_and_padded_to_whole_hex_digits(bits: int, digits: int) -> None:
    indexer = BlindIndexer(RING_1, bits=bits)
    value = indexer.index(NUMBER)
    assert len(value) == digits == indexer.hex_digits
    assert value == value.lower()
    assert int(value, 16) % (1 << (4 * digits - bits)) == 0
    full = BlindIndexer(RING_1, bits=256).index(NUMBER)
    assert int(value, 16) >> (4 * digits - bits) == int(full, 16) >> (256 - bits)


def test_default_bits_is_sixteen() -> None:
    assert DEFAULT_BITS == 16
    assert BlindIndexer(RING_1).bits == 16


@pytest.mark.parametrize("bits", [0, -1, 257])
def test_bits_out_of_range_is_rejected(bits: int) -> None:
    with pytest.raises(ValueError):
        BlindIndexer(RING_1, bits=bits)


def test_table_and_column_must_be_identifiers() -> None:
    with pytest.raises(ValueError):
        BlindIndexer(RING_1, table="a/b")


def test_suppression_index_is_full_length_and_differs_from_blind_index() -> None:
    indexer = BlindIndexer(RING_1, bits=256)
    suppression = indexer.full_index(NUMBER)
    assert len(suppression) == 64
    assert suppression != indexer.index(NUMBER)
    assert suppression != BlindIndexer(RING_1).full_index("+447700900124")


@pytest.mark.parametrize(
    "bad", ["447700900123", "+0447700900123", "+4477009001231234", "+44 7700 900123", "+", "+4",
            "+44770090012\n", "+\u0664\u0664"],
)  # fmt: skip
def test_malformed_numbers_are_rejected_without_echo(bad: str) -> None:
    indexer = BlindIndexer(RING_1)
    for call in (indexer.index, indexer.full_index, lambda n: matches(b"", n)):
        with pytest.raises(ValueError) as caught:
            call(bad)
        if len(bad.strip()) > 2:
            assert bad.strip() not in str(caught.value)


def test_matches_confirms_candidates_exactly() -> None:
    assert matches(b"+447700900123", NUMBER)
    assert not matches(b"+447700900124", NUMBER)
    assert not matches(b"+4477009001", NUMBER)


def test_recommended_bits_on_the_worked_example() -> None:
    assert recommended_bits(10**6, 33.0) == (10, 18)
    low, high = recommended_bits(10**6)
    assert 10**6 / 2**high >= 2 and 10**6 / 2 ** (high + 1) < 2
    assert 10**6 / 2**low < 1000 <= 10**6 / 2 ** (low - 1)
    assert low <= DEFAULT_BITS <= high


def test_recommended_bits_edges() -> None:
    assert recommended_bits(2**20) == (11, 19)
    assert recommended_bits(10**6, input_bits=15) == (10, 15)
    assert recommended_bits(16) == (3, 3)
    for rows, bits in ((4, 33.0), (10**6, 9.0), (0, 33.0), (10, -1.0)):
        with pytest.raises(ValueError):
            recommended_bits(rows, bits)


# --- properties --------------------------------------------------------------------------


@given(plaintext=st.binary(max_size=512), context=st.binary(max_size=128))
def test_decrypt_inverts_encrypt_for_any_bytes(plaintext: bytes, context: bytes) -> None:
    assert FIELD.decrypt(FIELD.encrypt(plaintext, context), context) == plaintext
    assert SUBJECT.decrypt(SUBJECT.encrypt(plaintext, context), context) == plaintext


@given(blob=st.binary(max_size=128), context=st.binary(max_size=32))
def test_opening_arbitrary_bytes_only_ever_raises_decryption_error(
    blob: bytes, context: bytes
) -> None:
    for open_blob in (FIELD.decrypt, SUBJECT.decrypt, FIELD.rotate):
        with pytest.raises(DecryptionError):
            open_blob(blob, context)
    with pytest.raises(DecryptionError):
        SUBJECT_KEYS.unwrap(blob)


@given(
    key_id=st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789", min_size=1, max_size=32),
    tail=st.binary(max_size=64),
)
def test_well_formed_headers_with_garbage_bodies_fail_cleanly(key_id: str, tail: bytes) -> None:
    blob = bytes((1, len(key_id))) + key_id.encode() + tail
    with pytest.raises(DecryptionError):
        FIELD.decrypt(blob, WHERE)
