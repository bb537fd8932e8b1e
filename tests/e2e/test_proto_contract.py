"""The API contract: proto/ passes `buf lint` (buf.yaml) and `buf breaking`
against the committed baseline image of the released proto
(proto/baseline/v1.binpb, refreshed by `make proto-baseline` at a release).

The breaking check is shown to bite: a copy of proto/ with one incompatible
edit fails it, while an added field passes.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
BUF = ROOT / "tools" / "buf" / "node_modules" / ".bin" / "buf"
BASELINE = ROOT / "proto" / "baseline" / "v1.binpb"
V1 = Path("proto") / "wasidecar" / "v1"


def buf(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    if not BUF.exists():
        if os.environ.get("CI") == "true":
            pytest.fail("buf missing on CI: `make test` runs tools/ensure_buf.sh")
        pytest.skip("buf not installed (tools/ensure_buf.sh installs it with npm ci)")
    return subprocess.run(
        [str(BUF), *args], cwd=cwd, capture_output=True, text=True, timeout=60, check=False
    )


def breaking(cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return buf("breaking", "--against", str(BASELINE), "--error-format", "json", cwd=cwd)


def test_proto_passes_buf_lint() -> None:
    done = buf("lint")
    assert done.returncode == 0, done.stdout + done.stderr


def test_proto_is_compatible_with_the_released_baseline() -> None:
    done = breaking()
    assert done.returncode == 0, done.stdout + done.stderr


def test_the_baseline_image_holds_every_v1_service() -> None:
    # An empty or partial image would let every change through.
    image = descriptor_pb2.FileDescriptorSet.FromString(BASELINE.read_bytes())
    services = {
        f"{f.package}.{s.name}"
        for f in image.file
        if f.name.startswith("wasidecar/v1/")
        for s in f.service
    }
    assert services == {
        "wasidecar.v1.SendService",
        "wasidecar.v1.VerifyService",
        "wasidecar.v1.ConsentService",
    }
    assert {f.name for f in image.file} >= {
        f"wasidecar/v1/{p.name}" for p in (ROOT / V1).glob("*.proto")
    }


def edited_copy(tmp: Path, file: str, old: str, new: str) -> Path:
    """buf.yaml and proto/ copied to ``tmp`` with one textual edit."""
    shutil.copy(ROOT / "buf.yaml", tmp / "buf.yaml")
    shutil.copytree(ROOT / "proto", tmp / "proto", ignore=shutil.ignore_patterns("baseline"))
    path = tmp / V1 / file
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} must occur once in {file}"
    path.write_text(text.replace(old, new))
    return tmp


@pytest.mark.parametrize(
    ("file", "old", "new", "rule"),
    [
        ("send.proto", "string to = 2;", "string to = 12;", "FIELD_NO_DELETE"),
        ("common.proto", "bool allowed = 1;", "string allowed = 1;", "FIELD_SAME_TYPE"),
        ("send.proto", "bool dry_run = 9;", "bool dryrun = 9;", "FIELD_SAME_JSON_NAME"),
        ("verify.proto", "  REJECTION_TOO_LARGE = 6;\n", "", "ENUM_VALUE_NO_DELETE"),
        ("send.proto", "  rpc Check(SendRequest) returns (Decision);\n", "", "RPC_NO_DELETE"),
    ],
    ids=["field-number", "field-type", "field-name", "enum-value", "rpc"],
)
def test_an_incompatible_change_fails_buf_breaking(
    tmp_path: Path, file: str, old: str, new: str, rule: str
) -> None:
    done = breaking(edited_copy(tmp_path, file, old, new))
    assert done.returncode != 0, done.stdout + done.stderr
    found = {json.loads(line)["type"] for line in done.stdout.splitlines() if line.startswith("{")}
    assert rule in found, done.stdout + done.stderr


def test_an_added_field_passes_buf_breaking(tmp_path: Path) -> None:
    added = "bool dry_run = 9;\n  // A later addition.\n  string note = 10;"
    done = breaking(edited_copy(tmp_path, "send.proto", "bool dry_run = 9;", added))
    assert done.returncode == 0, done.stdout + done.stderr
