"""The engagement role of the state stores: template review outcomes and
customer sessions, what the template approval rate and the 24 h session
response rate are computed from (``service/kpis.py``). ``stores.base``
re-exports it beside the other state roles.

A session is user-initiated: an inbound message that found no open service
window (none before, or the last inbound message ``window`` seconds ago or
more) opens one; later inbound messages extend it. The business's first send
accepted by Graph within ``window`` seconds of the opening message answers it.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class EngagementStore(Protocol):
    """Template status events and sessions; nothing here names a phone number."""

    async def record_template_status(
        self, event_key: str, template_id: str, event: str, category: str, at: float
    ) -> None:
        """Keep one template status event; a repeated ``event_key`` changes nothing."""
        ...

    async def template_counts(self, since: float) -> dict[tuple[str, str], int]:
        """``(category, event) → events`` whose time is at or after ``since``."""
        ...

    async def record_inbound(
        self, phone_number_id: str, subject_id: str, at: float, window: float
    ) -> bool:
        """An inbound message at ``at``: the service window keeps the latest time
        (as ``WindowStore.touch_window``) and the subject's session on this
        number is extended, or one is opened. True only when this call opened
        a session; a message delivered again, or late but inside an open
        session (which then starts earlier), opens none. Atomic per
        (number, subject), across replicas."""
        ...

    async def finish_sent(
        self, key: str, owner: str, message_id: str, response: bytes, at: float, window: float
    ) -> tuple[bool, float | None]:
        """``finish_send`` with the outcome SENT (Graph accepted it at ``at``)
        and, in the same operation, the reply it may be: if the latest session
        of its recipient on its number opened at or before ``at`` has no reply
        yet and opened less than ``window`` seconds before, ``at`` is recorded
        as its first reply. Returns (stored, seconds since that session opened
        or None). Nothing stored (the record was resolved meanwhile): no reply
        is marked either. Atomic."""
        ...

    async def session_times(self, since: float) -> list[tuple[float, float | None]]:
        """``(opened_at, first_reply_at or None)`` of every session opened at
        or after ``since``."""
        ...

    async def purge_engagement(self, older_than: float) -> int:
        """Delete sessions opened and template events dated before ``older_than``;
        returns how many rows went."""
        ...
