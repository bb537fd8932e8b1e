"""The generated code under sidecar/api/_gen and the Python client's stubs
match proto/ (run `make proto`)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
GEN = ROOT / "sidecar" / "api" / "_gen"
CLIENT_GEN = ROOT / "clients" / "python" / "wa_sidecar_client" / "_gen"


def _sources(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.suffix in (".py", ".pyi")]


@pytest.mark.parametrize(("target", "committed_dir"), [("sidecar", GEN), ("client", CLIENT_GEN)])
def test_generated_code_is_current(tmp_path: Path, target: str, committed_dir: Path) -> None:
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "tools" / "gen_proto.py"),
            "--target",
            target,
            "--out",
            str(tmp_path),
        ],
        check=True,
        capture_output=True,
    )
    fresh = {p.relative_to(tmp_path): p.read_text() for p in _sources(tmp_path)}
    committed = {p.relative_to(committed_dir): p.read_text() for p in _sources(committed_dir)}
    stale = sorted(
        str(k) for k in fresh.keys() | committed.keys() if fresh.get(k) != committed.get(k)
    )
    assert not stale, f"generated code is stale, run `make proto`: {stale}"


def test_contract_names_exist() -> None:
    from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, verify_pb2

    req = send_pb2.SendRequest
    for name in (
        "idempotency_key",
        "to",
        "category",
        "text",
        "template",
        "message_json",
        "phone_number_id",
        "tags",
        "dry_run",
    ):
        assert name in req.DESCRIPTOR.fields_by_name
    assert common_pb2.Category.Value("CATEGORY_MARKETING")
    assert common_pb2.Reason.Value("REASON_OPTED_OUT")
    assert send_pb2.Outcome.Value("OUTCOME_IN_DOUBT")
    assert verify_pb2.Rejection.Value("REJECTION_TOO_LARGE")
    assert "events" in verify_pb2.WebhookResult.DESCRIPTOR.fields_by_name
