"""The limits one quota decision takes together (``QuotaStore.admit``).

A send is paced by several limits at once — the messaging tier, the pair
limit, the number's token bucket. ``admit`` evaluates them in one atomic step
and takes all of them or none, so a send refused by one limit consumes
nothing from the others.

    admission = await quotas.admit(
        "106540352242922",
        [Bucket("pair:ab12", rate=1 / 6, burst=10), Bucket("rate", rate=80, burst=80)],
        UniqueCap("tier", member="ab12", window=86400, limit=1000),
    )
    if admission.refused is not None:
        ...  # admission.refused names the limit; retry after admission.wait

A send that was admitted and then did not go (the recipient opted out before
the Graph call) gives back what it took with ``QuotaStore.refund``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Bucket:
    """A GCRA token bucket: ``rate`` tokens a second, at most ``burst`` at once."""

    key: str
    rate: float
    burst: float
    cost: int = 1


@dataclass(frozen=True, slots=True)
class UniqueCap:
    """A rolling-window distinct-member cap: at most ``limit`` members in
    ``window`` seconds; a member already inside the window always passes."""

    key: str
    member: str
    window: float
    limit: int


@dataclass(frozen=True, slots=True)
class Admission:
    """``refused``: the key of the first limit that refuses (the unique cap,
    then the buckets in order), or None when every limit granted; ``wait``:
    the seconds until that limit would grant. ``added``: on a grant that
    recorded the unique cap's member anew, the mark it was recorded with (what
    ``QuotaStore.refund`` needs to take it back); None otherwise. It is not
    part of the verdict, so a grant equals ``GRANTED`` either way."""

    refused: str | None = None
    wait: float = 0.0
    added: float | None = field(default=None, compare=False)


GRANTED = Admission()
