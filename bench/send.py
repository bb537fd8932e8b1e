"""Sending through the sidecar vs the same sends made directly with aiohttp.

Three figures run alternately against one simulator process
(``python -m sidecar simulator --no-limits``):

- ``direct``: this process POSTs the Graph body itself with aiohttp, 64
  concurrent, the way an app without the sidecar would (same URL, headers,
  ``appsecret_proof``, body bytes and connection pool size as the sidecar).
- ``unary``: ``Send`` through a sidecar process, 64 concurrent calls over 4
  channels. Goals: ratio to direct ≥ 0.3, sidecar CPU ≤ 350 µs per send.
- ``batch``: ``SendBatch`` bidi streams, each keeping a window of requests in
  flight. Goals: ratio to direct ≥ 0.5 and ≥ 2,000 msg/s.
- ``empty_unary`` / ``empty_batch``: the same calls to ``bench.empty_server``,
  which answers ``OUTCOME_SENT`` without calling anyone: what gRPC alone
  costs here per send.

From these the bench derives the **floor** of any sidecar built on grpc.aio
and aiohttp on this machine: ``unary_cpu_floor_us`` = the empty server's CPU
per call + the direct client's aiohttp CPU per request (the Graph call every
send makes), and the best ratios the machine's cores could carry if the
sidecar cost exactly that floor (``ceiling_*``: every core busy, CPU per
message summed over the bench client, the simulator and that floor).

Every send is an AUTHENTICATION template (no consent needed) to a recipient
never used before, with a fresh idempotency key. The sidecar runs with the
quotas out of the way (send rate 100,000/s, pair limit off, permissive
chunking), so the figures measure its per-message work, not its pacing.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from typing import Any

import aiohttp
import grpc

from bench.load import (
    RUNS,
    SECONDS,
    CpuMeter,
    Run,
    alternate,
    channels,
    close_channels,
    closed_loop,
    errors_of,
    goal,
    machine,
    next_id,
    paired_ratio,
    rate_figures,
    scratch,
    start_empty_server,
    start_sidecar,
    start_simulator_process,
)
from sidecar.api._gen.wasidecar.v1 import common_pb2, send_pb2, send_pb2_grpc
from sidecar.api.convert_send import send_command
from sidecar.testing import DEV_APP_SECRET, DEV_TOKEN, PHONE_NUMBER_ID
from sidecar.whatsapp import messages
from sidecar.whatsapp.tokens import make_credentials

CONCURRENCY = 64
STREAMS = 2
WINDOW = 256
"""Requests each SendBatch stream keeps in flight (the sidecar's default bound)."""
API_VERSION = "v24.0"
POOL = 128  # the sidecar's default WA_SIDECAR_GRAPH_POOL_SIZE

SIDECAR_ENV = {
    "WA_SIDECAR_SEND_RATE": "100000",
    "WA_SIDECAR_PAIR_BURST": "1000000",  # pair limit out of the way
    "WA_SIDECAR_BATCH_CHUNK_SIZE": "100000",
    "WA_SIDECAR_BATCH_CHUNK_INTERVAL": "0.001",
    "WA_SIDECAR_BATCH_MAX_IN_FLIGHT": str(WINDOW),
}
if os.environ.get("BENCH_SIDECAR_UVLOOP") == "1":  # measure the opt-in uvloop setting
    SIDECAR_ENV["WA_SIDECAR_UVLOOP"] = "true"
_TAG = f"{int(time.time()):x}"


def recipient(n: int) -> str:
    return f"+1650{2_000_000 + n % 8_000_000}"


def _code(n: int) -> str:
    return f"{n % 1_000_000:06d}"


def send_request(n: int) -> send_pb2.SendRequest:
    """An AUTHENTICATION template (one-time code, copy-code button) to a new recipient."""
    code = _code(n)
    param = send_pb2.TemplateParameter(type="text", text=code)
    return send_pb2.SendRequest(
        idempotency_key=f"bench-{_TAG}-{n}",
        to=recipient(n),
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(
            name="verification_code",
            language=send_pb2.TemplateLanguage(code="en_US"),
            components=[
                send_pb2.TemplateComponent(type="body", parameters=[param]),
                send_pb2.TemplateComponent(
                    type="button", sub_type="url", index=0, parameters=[param]
                ),
            ],
        ),
    )


def graph_body(n: int) -> bytes:
    """The Graph body an app would build itself for ``send_request(n)``."""
    code = _code(n)
    param = [{"type": "text", "text": code}]
    message = {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": recipient(n),
        "type": "template",
        "template": {
            "name": "verification_code",
            "language": {"code": "en_US", "policy": "deterministic"},
            "components": [
                {"type": "body", "parameters": param},
                {"type": "button", "sub_type": "url", "index": "0", "parameters": param},
            ],
        },
        "biz_opaque_callback_data": f"bench-{_TAG}-{n}",
    }
    return json.dumps(message, separators=(",", ":")).encode()


def _same_sends() -> None:
    """Fail early if the direct body is not the one the sidecar would send."""
    cmd = send_command(send_request(7), PHONE_NUMBER_ID)
    sidecar_body = messages.graph_body(cmd.envelope, cmd.key)
    if sidecar_body != graph_body(7):
        raise RuntimeError(f"direct body differs from the sidecar's: {sidecar_body!r}")


def _direct(sim_url: str, session: aiohttp.ClientSession, sim_pid: int) -> Any:
    creds = make_credentials(DEV_TOKEN, DEV_APP_SECRET.encode())
    url = f"{sim_url}/{API_VERSION}/{PHONE_NUMBER_ID}/messages"

    async def call(n: int) -> None:
        async with session.post(
            url, data=graph_body(n), params=creds.params, headers=creds.headers
        ) as resp:
            raw = await resp.read()
            if resp.status != 200:
                raise RuntimeError(f"HTTP {resp.status}: {raw[:200]!r}")
        if not json.loads(raw)["messages"][0]["id"]:
            raise RuntimeError("no wamid")

    async def phase(seconds: float) -> Run:
        # CPU of the simulator here: direct sends have no sidecar.
        return await closed_loop(call, concurrency=CONCURRENCY, seconds=seconds, pid=sim_pid)

    return phase


def _unary(stubs: list[send_pb2_grpc.SendServiceStub], pid: int) -> Any:
    async def call(n: int) -> None:
        reply = await stubs[n % len(stubs)].Send(send_request(n))
        if reply.outcome != send_pb2.OUTCOME_SENT:
            raise RuntimeError(f"outcome {send_pb2.Outcome.Name(reply.outcome)}: {reply}")

    async def phase(seconds: float) -> Run:
        return await closed_loop(call, concurrency=CONCURRENCY, seconds=seconds, pid=pid)

    return phase


async def _stream(stub: send_pb2_grpc.SendServiceStub, deadline: float) -> tuple[int, int, str]:
    call = stub.SendBatch()
    window = asyncio.Semaphore(WINDOW)
    done = errors = 0
    first_error = ""

    async def writer() -> None:
        while time.perf_counter() < deadline:
            await window.acquire()
            await call.write(send_request(next_id()))
        await call.done_writing()

    async def reader() -> None:
        nonlocal done, errors, first_error
        while True:
            reply = await call.read()
            if reply is grpc.aio.EOF:
                return
            window.release()
            if reply.outcome == send_pb2.OUTCOME_SENT:
                done += 1
            else:
                errors += 1
                first_error = first_error or str(reply)[:300]

    await asyncio.gather(writer(), reader())
    return done, errors, first_error


def _batch(stubs: list[send_pb2_grpc.SendServiceStub], pid: int) -> Any:
    async def phase(seconds: float) -> Run:
        meter = CpuMeter(pid)
        started = time.perf_counter()
        deadline = started + seconds
        outcomes = await asyncio.gather(*(_stream(stubs[i], deadline) for i in range(STREAMS)))
        elapsed = time.perf_counter() - started
        first = next((e for _, _, e in outcomes if e), "")
        return meter.run(
            sum(d for d, _, _ in outcomes), sum(e for _, e, _ in outcomes), elapsed, first
        )

    return phase


async def run() -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    _same_sends()
    async with scratch() as tmp:
        sim = await start_simulator_process(tmp)
        empty = await start_empty_server(tmp)
        sidecar = await start_sidecar(tmp, sim.url, SIDECAR_ENV)
        chans = channels(sidecar.grpc_addr)
        empty_chans = channels(empty.address)
        session = aiohttp.ClientSession(
            connector=aiohttp.TCPConnector(limit=POOL, ttl_dns_cache=300),
            timeout=aiohttp.ClientTimeout(total=10),
        )
        try:
            assert sidecar.proc is not None
            pid = sidecar.proc.pid
            stubs = [send_pb2_grpc.SendServiceStub(c) for c in chans]
            empty_stubs = [send_pb2_grpc.SendServiceStub(c) for c in empty_chans]
            runs = await alternate(
                [
                    ("direct", _direct(sim.url, session, sim.pid)),
                    ("unary", _unary(stubs, pid)),
                    ("batch", _batch(stubs, pid)),
                    ("empty_unary", _unary(empty_stubs, empty.pid)),
                    ("empty_batch", _batch(empty_stubs, empty.pid)),
                ]
            )
        finally:
            await session.close()
            await close_channels(chans + empty_chans)
            await sidecar.stop()
            empty.stop()
            sim.stop()
    unary_ratio = paired_ratio(runs["unary"], runs["direct"])
    batch_ratio = paired_ratio(runs["batch"], runs["direct"])
    direct = rate_figures(runs["direct"])
    unary = rate_figures(runs["unary"])
    batch = rate_figures(runs["batch"], unit="msg_per_s")
    empty_unary = rate_figures(runs["empty_unary"])
    empty_batch = rate_figures(runs["empty_batch"], unit="msg_per_s")
    floors = _floors(direct, unary, batch, empty_unary, empty_batch)
    return {
        "machine": machine(load_before),
        "runs": RUNS,
        "seconds_per_run": SECONDS,
        "concurrency": CONCURRENCY,
        "batch_streams": STREAMS,
        "batch_window_per_stream": WINDOW,
        "direct_aiohttp": direct,
        "unary": unary,
        "batch": batch,
        "empty_unary": empty_unary,
        "empty_batch": empty_batch,
        "unary_ratio": unary_ratio,
        "batch_ratio": batch_ratio,
        "floors": floors,
        "goals": [
            goal("unary Send/direct throughput ratio", unary_ratio, ">=", 0.3),
            goal("sidecar CPU per unary send", unary["cpu_us_per_op_median"], "<=", 350, " µs"),
            goal("SendBatch/direct throughput ratio", batch_ratio, ">=", 0.5),
            goal("SendBatch throughput", batch["msg_per_s_median"], ">=", 2000, " msg/s"),
            goal("failed sends", errors_of(direct, unary, batch), "<=", 0),
        ],
        "note": (
            "cpu_us_per_op: sidecar CPU per message for unary/batch, empty server CPU for "
            "empty_*, simulator CPU per message for direct_aiohttp; floors: see the docstring"
        ),
    }


def _floors(
    direct: dict[str, Any],
    unary: dict[str, Any],
    batch: dict[str, Any],
    empty_unary: dict[str, Any],
    empty_batch: dict[str, Any],
) -> dict[str, Any]:
    """What gRPC + aiohttp alone cost per send here, and the ratios the
    machine's cores could carry at that cost (see the module docstring)."""
    aiohttp_client = direct["client_cpu_us_per_op_median"] or 0.0
    simulator = direct["cpu_us_per_op_median"] or 0.0
    unary_floor = (empty_unary["cpu_us_per_op_median"] or 0.0) + aiohttp_client
    batch_floor = (empty_batch["cpu_us_per_op_median"] or 0.0) + aiohttp_client
    cores = os.cpu_count() or 1
    direct_rate = direct["rps_median"] or 1.0

    def ceiling_rate(client_us: float | None, floor_us: float) -> float:
        per_message = (client_us or 0.0) + simulator + floor_us
        return cores * 1e6 / per_message if per_message else 0.0

    unary_ceiling = ceiling_rate(unary["client_cpu_us_per_op_median"], unary_floor)
    batch_ceiling = ceiling_rate(batch["client_cpu_us_per_op_median"], batch_floor)
    return {
        "aiohttp_client_cpu_us_per_request": aiohttp_client,
        "unary_cpu_floor_us": round(unary_floor, 1),
        "batch_cpu_floor_us": round(batch_floor, 1),
        "ceiling_unary_ratio": round(unary_ceiling / direct_rate, 3),
        "ceiling_batch_ratio": round(batch_ceiling / direct_rate, 3),
        "ceiling_batch_msg_per_s": round(batch_ceiling),
        "cores": cores,
    }
