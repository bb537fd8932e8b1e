"""Phone number → subject, without a plaintext number at rest.

A subject row holds the truncated blind index, the number encrypted under the
subject's own data key, and that key wrapped under the keyring. A lookup
reads the candidates sharing the blind index, decrypts each and compares in
constant time. Resolved subjects are cached in process under the untruncated
suppression hash (never the number); erasure drops the entry, and a stale
entry on another replica only points at rows that no longer exist, which the
consent check treats as "no consent" (fail closed).

    directory = SubjectDirectory(state, indexer, subject_keys)
    subject = await directory.find("+16505551234")            # None if unknown
    subject = await directory.find_or_create("+16505551234")
"""

from __future__ import annotations

import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from sidecar.crypto import DecryptionError
from sidecar.crypto.blind_index import BlindIndexer, matches
from sidecar.crypto.fields import aad
from sidecar.crypto.subjects import SubjectCipher, SubjectKeys
from sidecar.stores.base import Subject, SubjectStore

_CACHE_SIZE = 100_000
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Indexes:
    """Both keyed hashes of one number: the truncated lookup index and the
    exact suppression hash."""

    blind: str
    full: str


class SubjectDirectory:
    """Finds and creates subjects; caches resolutions and subject ciphers."""

    def __init__(
        self,
        state: SubjectStore,
        indexer: BlindIndexer,
        keys: SubjectKeys,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state = state
        self._indexer = indexer
        self._keys = keys
        self._clock = clock
        self._subjects: OrderedDict[str, Subject] = OrderedDict()
        self._ciphers: OrderedDict[str, SubjectCipher] = OrderedDict()

    def indexes(self, e164: str) -> Indexes:
        return Indexes(self._indexer.index(e164), self._indexer.full_index(e164))

    def cipher(self, subject: Subject) -> SubjectCipher:
        cipher = self._ciphers.get(subject.id)
        if cipher is None:
            cipher = self._keys.cipher(subject.wrapped_dek)
            _remember(self._ciphers, subject.id, cipher)
        return cipher

    def _is(self, e164: str) -> Callable[[Subject], bool]:
        def same(candidate: Subject) -> bool:
            try:
                plain = self.cipher(candidate).decrypt(
                    candidate.number_ct, aad("subjects", "number", candidate.id)
                )
            except DecryptionError:
                return False
            return matches(plain, e164)

        return same

    def cached(self, indexes: Indexes) -> Subject | None:
        """The subject if this process resolved the number before (no I/O)."""
        return self._subjects.get(indexes.full)

    async def find(self, e164: str, indexes: Indexes | None = None) -> Subject | None:
        idx = indexes or self.indexes(e164)
        cached = self._subjects.get(idx.full)
        if cached is not None:
            self._subjects.move_to_end(idx.full)
            return cached
        return self.pick(e164, idx, await self._state.subjects_by_index(idx.blind))

    def pick(self, e164: str, indexes: Indexes, candidates: list[Subject]) -> Subject | None:
        """The candidate (subjects sharing the blind index) holding ``e164``,
        remembered for next time; None if none does."""
        same = self._is(e164)
        for candidate in candidates:
            if same(candidate):
                _remember(self._subjects, indexes.full, candidate)
                return candidate
        return None

    async def find_or_create(self, e164: str, indexes: Indexes | None = None) -> Subject:
        idx = indexes or self.indexes(e164)
        found = await self.find(e164, idx)
        if found is not None:
            return found
        subject_id = uuid.uuid4().hex
        wrapped = self._keys.new_wrapped_dek()
        cipher = self._keys.cipher(wrapped)
        fresh = Subject(
            id=subject_id,
            blind_index=idx.blind,
            number_ct=cipher.encrypt(e164.encode(), aad("subjects", "number", subject_id)),
            wrapped_dek=wrapped,
            created_at=self._clock(),
        )
        stored = await self._state.create_subject(fresh, self._is(e164))
        _remember(self._subjects, idx.full, stored)
        return stored

    def forget(self, full_index: str, subject_id: str) -> None:
        self._subjects.pop(full_index, None)
        self._ciphers.pop(subject_id, None)

    def decrypt_number(self, subject: Subject) -> str:
        return (
            self.cipher(subject)
            .decrypt(subject.number_ct, aad("subjects", "number", subject.id))
            .decode()
        )


def _remember(cache: OrderedDict[str, T], key: str, value: T) -> None:
    cache[key] = value
    if len(cache) > _CACHE_SIZE:
        cache.popitem(last=False)
