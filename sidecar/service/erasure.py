"""The erasure receipt (GDPR art. 17): what an erasure removed, kept and who
did it, with a digest that binds the receipt to its reason.

    receipt = await consent.erase("+16505551234", "user request #812", actor="dpo")
    receipt.digest   # sha256 of the receipt's fields and the reason
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErasureReceipt:
    subject_index: str
    erased_at: float
    erased_by: str
    erased: tuple[str, ...]
    suppression_kept: bool
    nothing_found: bool
    digest: str = ""
    approved_by: str = ""


def erasure_receipt(
    subject_index: str,
    erased_at: float,
    erased_by: str,
    erased: tuple[str, ...],
    *,
    suppression_kept: bool,
    nothing_found: bool,
    approved_by: str,
    reason: str,
) -> ErasureReceipt:
    """The receipt of one erasure, its digest computed (the reason is in the
    digest only: the receipt never carries it)."""
    digest = hashlib.sha256(
        json.dumps(
            {
                "subject_index": subject_index,
                "erased_at": erased_at,
                "by": erased_by,
                "approved_by": approved_by,
                "erased": list(erased),
                "suppression_kept": suppression_kept,
                "reason": reason,
            },
            sort_keys=True,
        ).encode()
    ).hexdigest()
    return ErasureReceipt(
        subject_index=subject_index,
        erased_at=erased_at,
        erased_by=erased_by,
        erased=erased,
        suppression_kept=suppression_kept,
        nothing_found=nothing_found,
        digest=digest,
        approved_by=approved_by,
    )
