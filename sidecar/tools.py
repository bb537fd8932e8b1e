"""Offline operator commands (``wa-sidecar audit verify``, ``keys rotate``)."""

from __future__ import annotations

import json
import sys

from sidecar.config import Settings
from sidecar.service.consent import verify_audit_log
from sidecar.stores.factory import open_stores


async def verify_audit(settings: Settings) -> int:
    """Verify the audit hash chain; exit 0 if intact, 1 naming the first bad entry."""
    stores = await open_stores(settings.state_url, settings.quota_url)
    try:
        check = await verify_audit_log(stores.state)
    finally:
        await stores.close()
    sys.stdout.write(
        json.dumps(
            {
                "ok": check.ok,
                "entries_checked": check.entries_checked,
                "first_bad_seq": check.first_bad_seq,
                "problem": check.problem,
                "head_hash": check.head_hash,
            }
        )
        + "\n"
    )
    return 0 if check.ok else 1


async def rotate_keys(settings: Settings) -> int:
    """Re-encrypt stored data under the primary key (online, idempotent)."""
    sys.stderr.write(
        "wa-sidecar: keys rotate is not available in this release; "
        "old keys stay readable while listed in WA_SIDECAR_ENCRYPTION_KEY\n"
    )
    return 2
