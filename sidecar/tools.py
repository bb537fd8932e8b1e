"""Offline operator commands (``wa-sidecar audit verify``, ``keys rotate``, ``kpis``)."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Sequence

from sidecar.config import Settings
from sidecar.service.consent import verify_audit_log
from sidecar.stores.factory import open_stores

OPERATOR = "operator:cli"
"""The audit actor of offline commands."""


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
    if not check.ok:
        sys.stderr.write(
            f"wa-sidecar: audit log broken at entry seq={check.first_bad_seq}: {check.problem}\n"
        )
    return 0 if check.ok else 1


async def rotate_keys(settings: Settings) -> int:
    """Re-wrap subject keys and re-encrypt stored requests under the primary key.

    Online (the sidecar may keep serving on the same state) and idempotent.
    Prints the counts as JSON; exit 0 when every blob is under the primary,
    1 when some were unreadable or kept changing (run it again).
    """
    from sidecar.devkey import load_keyring
    from sidecar.service.keys import KeyRotator

    keyring = load_keyring(settings, generate=False)
    stores = await open_stores(settings.state_url, settings.quota_url)
    try:
        report = await KeyRotator(stores.state, keyring).rotate(actor=OPERATOR)
    finally:
        await stores.close()
    sys.stdout.write(json.dumps(report.to_dict(), sort_keys=True) + "\n")
    return 0 if report.complete else 1


async def print_kpis(settings: Settings, windows: Sequence[int]) -> int:
    """Print delivery, read and failure rates, template approval per category
    and the session response rate per window from the state store
    (``sidecar.service.kpis`` defines them) as one JSON object."""
    from sidecar.service.kpis import read_kpis

    now = time.time()
    stores = await open_stores(settings.state_url, settings.quota_url)
    try:
        kpis = await read_kpis(
            stores.state,
            windows,
            now,
            settings.retention_days,
            session_window=settings.service_window_hours * 3600.0,
        )
    finally:
        await stores.close()
    out = {"generated_at": now, "windows": {f"{k.days}d": k.to_dict() for k in kpis}}
    sys.stdout.write(json.dumps(out) + "\n")
    return 0
