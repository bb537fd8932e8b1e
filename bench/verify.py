"""VerifyWebhook with a 2 KB signed delivery vs an empty grpc.aio handler (goal: ratio ≥ 0.8).

The delivery is a Meta-shaped status batch (8 ``statuses`` of sidecar-sent
messages, with ``biz_opaque_callback_data`` and pricing). Three figures run
alternately against two processes:

- ``unique``: every delivery carries new wamids, so the sidecar verifies,
  parses, records 8 statuses and claims 8 dedup keys — what a live webhook
  costs. **The goal ratio uses this one.**
- ``replay``: the same delivery again and again (Meta's retries); every
  event is a duplicate.
- ``empty``: the same kind of request bytes (unique bodies, real signatures)
  to ``bench.empty_server``, which answers an empty ``WebhookResult``.
- ``floor`` / ``floor_durable``: the same requests to ``bench.empty_server
  --verify floor`` (HMAC, parse, answer the 8 events: the sidecar's own code)
  and ``--verify floor-durable`` (that, plus recording the 8 statuses in
  SQLite before answering, their unique index being the dedup claim). Their
  ratios to ``empty`` (``ceiling_*``) are the best any verifier on grpc.aio
  could reach here: when ``ceiling_durable`` is below the goal, so is every
  sidecar that keeps "durable before the answer".
"""

from __future__ import annotations

import itertools
import os
import time
import timeit
from typing import Any

from bench.load import (
    RUNS,
    SECONDS,
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
from sidecar.api import convert_events
from sidecar.api._gen.wasidecar.v1 import verify_pb2, verify_pb2_grpc
from sidecar.policy.signature import SignatureVerifier
from sidecar.service.webhooks import Applied, Rejection, WebhookOutcome
from sidecar.simulator.webhooks import status_item
from sidecar.testing import DEV_APP_SECRET, signature, webhook_body
from sidecar.whatsapp.webhooks import parse_delivery

CONCURRENCY = 64
STATUSES = 8
_SLOT = b"@" * 12  # replaced by a unique 12-digit number per delivery
_REMOTE_IP = "173.252.88.1"  # a Meta webhook source address

SIDECAR_ENV = {
    "WA_SIDECAR_WEBHOOK_RATE_LIMIT": "",  # one client IP at thousands/s is the point here
}


def _template() -> list[bytes]:
    now = int(time.time())
    slot = _SLOT.decode()
    items = [
        status_item(
            f"wamid.HBgLMTY1MDIwMDAwMDAVAgARGBI{slot}",
            "sent" if i % 2 == 0 else "delivered",
            f"1650200{i:04d}",
            now,
            biz_opaque_callback_data=f"bench-{slot}",
            pricing_category="utility" if i % 2 == 0 else None,
        )
        for i in range(STATUSES)
    ]
    return webhook_body(*items, kind="statuses").split(_SLOT)


_PARTS = _template()


_SCRAMBLE = 0x9E3779B97F4A7C15  # odd: a bijection modulo 2**48
_MASK = (1 << 48) - 1


def delivery(n: int) -> bytes:
    """A signed-ready delivery whose wamids and callback keys derive from ``n``.

    The ids are unique but scattered (12 hex digits of a bijective scramble),
    as Meta's wamids are: ids that grow in order would keep every index
    insert on one page and flatter the store.
    """
    out = [_PARTS[0]]
    for k, part in enumerate(_PARTS[1:]):
        out.append(b"%012x" % (((n * 100 + k) * _SCRAMBLE) & _MASK))
        out.append(part)
    return b"".join(out)


def request(body: bytes) -> verify_pb2.WebhookRequest:
    return verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip=_REMOTE_IP)


BODY_BYTES = len(delivery(0))


def in_process_us() -> dict[str, float]:
    """CPU-µs per delivery of the steps every verifier must run on its event
    loop, timed here in the bench process with the sidecar's own code: the
    HMAC check, parsing into typed events, and building the 8-event answer.
    Beside the two processes' ``main_thread_cpu_us_per_op`` this shows how
    much of the event loop's time per delivery they account for."""
    body = delivery(next_id())
    sig = signature(body)
    verifier = SignatureVerifier([DEV_APP_SECRET.encode()])
    outcome = WebhookOutcome(Rejection.NONE, events=tuple(Applied(e) for e in parse_delivery(body)))

    def answer() -> bytes:
        return convert_events.webhook_result(outcome).SerializeToString()

    steps = {
        "hmac": lambda: verifier.verify(body, sig),
        "parse": lambda: parse_delivery(body),
        "answer": answer,
    }
    out = {
        name: round(min(timeit.repeat(step, number=500, repeat=5)) / 500 * 1e6, 1)
        for name, step in steps.items()
    }
    out["sum"] = round(sum(out.values()), 1)
    return out


def _phase(
    address: str, pid: int, *, unique: bool, stubs_are_sidecar: bool = True
) -> tuple[Any, list[Any]]:  # (phase, channels to close)
    chans = channels(address)
    stubs = [verify_pb2_grpc.VerifyServiceStub(c) for c in chans]
    replayed = request(delivery(next_id()))

    async def call(i: int) -> None:
        req = request(delivery(next_id())) if unique else replayed
        reply = await stubs[i % len(stubs)].VerifyWebhook(req)
        if not reply.valid and reply.reason != verify_pb2.REJECTION_UNSPECIFIED:
            raise RuntimeError(f"rejected: {verify_pb2.Rejection.Name(reply.reason)}")
        if unique and stubs_are_sidecar and len(reply.events) != STATUSES:
            raise RuntimeError(f"{len(reply.events)} new events, expected {STATUSES}")

    async def phase(seconds: float) -> Run:
        return await closed_loop(call, concurrency=CONCURRENCY, seconds=seconds, pid=pid)

    return phase, chans


async def run() -> dict[str, Any]:
    load_before = os.getloadavg()[0]
    async with scratch() as tmp:
        sim = await start_simulator_process(tmp)
        empty = await start_empty_server(tmp)
        pure = await start_empty_server(tmp, "--verify", "floor", name="floor")
        durable = await start_empty_server(
            tmp, "--verify", "floor-durable", "--db", str(tmp / "floor.db"), name="floor-durable"
        )
        sidecar = await start_sidecar(tmp, sim.url, SIDECAR_ENV)
        opened: list[Any] = []
        try:
            assert sidecar.proc is not None
            unique, c1 = _phase(sidecar.grpc_addr, sidecar.proc.pid, unique=True)
            replay, c2 = _phase(sidecar.grpc_addr, sidecar.proc.pid, unique=False)
            baseline, c3 = _phase(empty.address, empty.pid, unique=True, stubs_are_sidecar=False)
            floor, c4 = _phase(pure.address, pure.pid, unique=True)
            floor_durable, c5 = _phase(durable.address, durable.pid, unique=True)
            opened = list(itertools.chain(c1, c2, c3, c4, c5))
            runs = await alternate(
                [
                    ("unique", unique),
                    ("replay", replay),
                    ("empty", baseline),
                    ("floor", floor),
                    ("floor_durable", floor_durable),
                ]
            )
        finally:
            await close_channels(opened)
            await sidecar.stop()
            for child in (empty, pure, durable):
                child.stop()
            sim.stop()
    figures = {name: rate_figures(r) for name, r in runs.items()}
    ratio_unique = paired_ratio(runs["unique"], runs["empty"])
    ratio_replay = paired_ratio(runs["replay"], runs["empty"])
    return {
        "machine": machine(load_before),
        "body_bytes": BODY_BYTES,
        "statuses_per_delivery": STATUSES,
        "concurrency": CONCURRENCY,
        "runs": RUNS,
        "seconds_per_run": SECONDS,
        "unique": figures["unique"],
        "replay": figures["replay"],
        "empty_handler": figures["empty"],
        "floor": figures["floor"],
        "floor_durable": figures["floor_durable"],
        "ratio_unique": ratio_unique,
        "ratio_replay": ratio_replay,
        "ceiling_pure": paired_ratio(runs["floor"], runs["empty"]),
        "ceiling_durable": paired_ratio(runs["floor_durable"], runs["empty"]),
        "ratio_to_durable_floor": paired_ratio(runs["unique"], runs["floor_durable"]),
        "in_process_us": in_process_us(),
        # Load-insensitive view: empty-handler CPU per call / sidecar CPU per call.
        "cpu_ratio_unique": round(
            (figures["empty"]["cpu_us_per_op_median"] or 0)
            / (figures["unique"]["cpu_us_per_op_median"] or 1),
            3,
        ),
        "goals": [
            goal(
                "VerifyWebhook/empty handler throughput ratio (unique deliveries)",
                ratio_unique,
                ">=",
                0.8,
            ),
            goal("failed calls", errors_of(*figures.values()), "<=", 0),
        ],
        "note": "cpu_us_per_op is the server process's CPU (sidecar, or the empty server)",
    }
