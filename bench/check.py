"""Check latency at a paced 1,000 requests/s (goal: p99 < 2 ms).

Open loop: a request is started every millisecond whatever happened to the
earlier ones, and its latency runs from its *scheduled* start to the answer,
so a stall of the sidecar (or of this client) is charged to every request it
delays instead of being hidden by a waiting client (coordinated omission).

Three figures run alternately:

- ``authentication``: an AUTHENTICATION template to a number never seen
  (no consent needed; subject lookup misses, quota peeks).
- ``marketing_consented``: a MARKETING template to a number holding a
  granted MARKETING consent (consent store hit).
- ``authentication_caller_auth``: ``authentication`` against a second
  sidecar with caller access control on (``WA_SIDECAR_AUTH_FILE``, the
  request carries ``authorization: Bearer …``): what the auth interceptor
  costs per call.
- ``empty_handler``: the same requests to ``bench.empty_server`` — the floor
  set by gRPC and this Python client on this machine.
"""

from __future__ import annotations

import hashlib
import os
from typing import Any

from bench.load import (
    RUNS,
    Run,
    alternate,
    channels,
    close_channels,
    errors_of,
    goal,
    latency_figures,
    machine,
    open_loop,
    scratch,
    start_empty_server,
    start_sidecar,
    start_simulator_process,
)
from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
)

RATE = 1000.0
SECONDS = 2.0
"""Per run; with 5 runs each figure pools about 10,000 requests."""
CONSENTED = "+16505550142"
STRANGER = "+16505550199"
SIDECAR_ENV: dict[str, str] = {}
BENCH_TOKEN = "bench-sender-token"
AUTH_FILE = (
    "principals:\n"
    "  - name: bench-sender\n"
    f"    token_sha256: {hashlib.sha256(BENCH_TOKEN.encode()).hexdigest()}\n"
    "    roles: [sender]\n"
)


def _request(to: str, category: int) -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        category=category,  # type: ignore[arg-type]
        template=send_pb2.Template(
            name="order_update", language=send_pb2.TemplateLanguage(code="en_US")
        ),
    )


def _phase(
    stubs: list[send_pb2_grpc.SendServiceStub],
    pid: int,
    req: send_pb2.SendRequest,
    metadata: tuple[tuple[str, str], ...] = (),
) -> Any:
    async def call(n: int) -> None:
        decision = await stubs[n % len(stubs)].Check(req, metadata=metadata or None)
        if not decision.allowed:
            raise RuntimeError(f"refused: {common_pb2.Reason.Name(decision.reason)}")

    async def phase(seconds: float) -> Run:
        return await open_loop(call, rate=RATE, seconds=seconds, pid=pid)

    return phase


async def _grant(stub: consent_pb2_grpc.ConsentServiceStub) -> None:
    await stub.Grant(
        consent_pb2.GrantRequest(
            phone_number=CONSENTED,
            categories=[common_pb2.CATEGORY_MARKETING],
            source="web-form",
            notice_version="2026-01",
            jurisdiction=consent_pb2.JURISDICTION_GDPR,
            evidence="form-submission:bench",
        )
    )


async def run() -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    async with scratch() as tmp:
        sim = await start_simulator_process(tmp)
        empty = await start_empty_server(tmp)
        sidecar = await start_sidecar(tmp, sim.url, SIDECAR_ENV)
        (tmp / "auth.yaml").write_text(AUTH_FILE)
        (tmp / "guarded").mkdir()
        guarded = await start_sidecar(
            tmp / "guarded",
            sim.url,
            {**SIDECAR_ENV, "WA_SIDECAR_AUTH_FILE": str(tmp / "auth.yaml")},
        )
        side_chans = channels(sidecar.grpc_addr, 2)
        guarded_chans = channels(guarded.grpc_addr, 2)
        empty_chans = channels(empty.address, 2)
        try:
            assert sidecar.proc is not None and guarded.proc is not None
            pid = sidecar.proc.pid
            await _grant(consent_pb2_grpc.ConsentServiceStub(side_chans[0]))
            side = [send_pb2_grpc.SendServiceStub(c) for c in side_chans]
            behind_auth = [send_pb2_grpc.SendServiceStub(c) for c in guarded_chans]
            base = [send_pb2_grpc.SendServiceStub(c) for c in empty_chans]
            auth = _request(STRANGER, common_pb2.CATEGORY_AUTHENTICATION)
            marketing = _request(CONSENTED, common_pb2.CATEGORY_MARKETING)
            bearer = (("authorization", f"Bearer {BENCH_TOKEN}"),)
            runs = await alternate(
                [
                    ("authentication", _phase(side, pid, auth)),
                    ("marketing_consented", _phase(side, pid, marketing)),
                    (
                        "authentication_caller_auth",
                        _phase(behind_auth, guarded.proc.pid, auth, bearer),
                    ),
                    ("empty_handler", _phase(base, empty.pid, auth)),
                ],
                seconds=SECONDS,
            )
        finally:
            await close_channels(side_chans + guarded_chans + empty_chans)
            await sidecar.stop()
            await guarded.stop()
            empty.stop()
            sim.stop()
    auth_fig = latency_figures(runs["authentication"])
    mkt_fig = latency_figures(runs["marketing_consented"])
    empty_fig = latency_figures(runs["empty_handler"])
    guarded_fig = latency_figures(runs["authentication_caller_auth"])
    return {
        "machine": machine(load_before),
        "rate_rps": RATE,
        "runs": RUNS,
        "seconds_per_run": SECONDS,
        "authentication": auth_fig,
        "marketing_consented": mkt_fig,
        "authentication_caller_auth": guarded_fig,
        "empty_handler": empty_fig,
        "goals": [
            goal(
                "Check p99 (AUTHENTICATION, median of runs)",
                auth_fig["p99_ms_median"],
                "<",
                2,
                " ms",
            ),
            goal(
                "Check p99 (MARKETING with consent, median of runs)",
                mkt_fig["p99_ms_median"],
                "<",
                2,
                " ms",
            ),
            goal("failed checks", errors_of(auth_fig, mkt_fig, guarded_fig, empty_fig), "<=", 0),
        ],
        "note": "latency from scheduled start; cpu_us_per_op is the server process's CPU",
    }
