"""The Go and Java examples (clients/go, clients/java), built from proto/ with
Debian's toolchains, run against a real sidecar: consent, send, webhook
verification and the W3C trace context each reach the sidecar intact.

The sidecar runs with caller auth, so the example's bearer token is proven
too: every request log line names the example's principal and its trace id.
Builds are cached under .tools/clients/ by build.sh (keyed by the proto and
the example), so a warm run only starts processes.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from sidecar.testing import DEV_APP_SECRET, SidecarProcess

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "example-app-token-for-tests"
PRINCIPAL = "example-app"
MISSING_TOOL = 3  # build.sh's exit status when a toolchain piece is absent
ENSURE = {"go": "tools/ensure_go.sh", "java": "tools/ensure_java_grpc.sh"}
METHODS = [
    "wasidecar.v1.ConsentService/Grant",
    "wasidecar.v1.SendService/Send",
    "wasidecar.v1.VerifyService/VerifyWebhook",
    "wasidecar.v1.VerifyService/VerifyWebhook",
    "wasidecar.v1.ConsentService/Revoke",
    "wasidecar.v1.SendService/Check",
]


def example_command(lang: str) -> list[str]:
    """Build (or find cached) the example; the command that runs it."""
    done = subprocess.run(
        ["sh", str(ROOT / "clients" / lang / "build.sh")],
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if done.returncode == MISSING_TOOL:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{lang} toolchain missing on CI ({ENSURE[lang]}): {done.stderr}")
        pytest.skip(f"{lang} toolchain not installed ({ENSURE[lang]} installs it)")
    assert done.returncode == 0, done.stdout + done.stderr
    artefact = done.stdout.strip().splitlines()[-1]
    return [artefact] if lang == "go" else ["java", "-jar", artefact]


def auth_file(tmp: Path) -> Path:
    path = tmp / "auth.yaml"
    principal = {
        "name": PRINCIPAL,
        "token_sha256": hashlib.sha256(TOKEN.encode()).hexdigest(),
        "roles": ["sender", "webhook", "consent-writer"],
    }
    path.write_text(yaml.safe_dump({"principals": [principal]}))
    return path


def rpc_lines(proc: SidecarProcess) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in proc.log_text().splitlines() if line.startswith("{")]
    return [line for line in lines if line.get("event") == "rpc"]


@pytest.mark.parametrize("lang", ["go", "java"])
async def test_example_sends_verifies_and_records_consent_in_the_callers_trace(
    lang: str, tmp_path: Path
) -> None:
    command = await asyncio.to_thread(example_command, lang)
    env = {
        "WA_SIDECAR_AUTH_FILE": str(auth_file(tmp_path)),
        "WA_SIDECAR_REQUEST_LOG_SAMPLE": "1.0",  # a log line per call, with its trace id
    }
    async with SidecarProcess(tmp_path, env, args=("--with-simulator",)) as proc:
        done = await asyncio.to_thread(
            subprocess.run,
            command,
            env={**proc.env, "WA_SIDECAR_TOKEN": TOKEN},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stdout + done.stderr
    trace, consent, send, good, bad, after = done.stdout.splitlines()
    trace_id = trace.removeprefix("trace: ")
    assert re.fullmatch(r"[0-9a-f]{32}", trace_id), trace
    assert consent == "consent: CONSENT_STATUS_GRANTED"
    outcome, wamid = send.removeprefix("send: ").split(" ")
    assert outcome == "OUTCOME_SENT"
    assert wamid.startswith("wamid.")
    assert good == "webhook valid: true events: 1"
    assert bad == "tampered valid: false reason: REJECTION_BAD_SIGNATURE"
    assert after == "after revoke: allowed: false reason: REASON_OPTED_OUT"

    # Read after the sidecar exited, so every call's line is written.
    lines = rpc_lines(proc)
    assert [line["rpc_method"] for line in lines] == METHODS
    for line in lines:
        assert (line["status_code"], line["principal"], line["trace_id"]) == (
            "OK",
            PRINCIPAL,
            trace_id,
        )
    assert lines[1]["message_id"] == wamid
    for secret in (TOKEN, DEV_APP_SECRET):
        assert secret not in done.stdout + done.stderr + proc.log_text()
