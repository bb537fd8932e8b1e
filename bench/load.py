"""Shared bench drivers: child processes, closed- and open-loop clients, figures.

Every measured server runs in its own process (the sidecar through
``SidecarProcess``, the Graph API simulator as ``python -m sidecar simulator``,
the empty baseline as ``python -m bench.empty_server``); this process is only
the client, so a server's CPU is read from ``/proc/<pid>`` around each run.

    sim = await start_simulator_process()
    result = await closed_loop(call, concurrency=64, seconds=2.5, pid=sim.pid)
    result.rate, result.cpu_us_per_op
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import itertools
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import grpc

from bench.common import cpu_seconds, main_thread_cpu_seconds, median
from sidecar.testing import DEV_APP_SECRET, DEV_TOKEN, SidecarProcess, free_port

RUNS = int(os.environ.get("BENCH_RUNS", "5"))
"""Alternating repetitions per figure (SPEC §9: medians of at least 5)."""
SECONDS = float(os.environ.get("BENCH_SECONDS", "2.5"))
"""Length of one closed-loop run."""
CHANNELS = 4
"""gRPC channels (separate HTTP/2 connections) the client spreads calls over."""

# Separate channels to one target share one connection unless each has its own
# subchannel pool.
_CHANNEL_OPTIONS = [
    ("grpc.use_local_subchannel_pool", 1),
    ("grpc.max_receive_message_length", 16 * 1024 * 1024),
]


# --------------------------------------------------------------------- processes


@dataclass
class Child:
    """A server child process this bench started (simulator or empty server)."""

    proc: subprocess.Popen[bytes]
    address: str
    log_path: Path

    @property
    def pid(self) -> int:
        return self.proc.pid

    @property
    def url(self) -> str:
        return f"http://{self.address}"

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def log_tail(self) -> str:
        return self.log_path.read_text(errors="replace")[-2000:]


def _spawn(args: Sequence[str], tmp: Path, name: str, env: Mapping[str, str] | None) -> Child:
    log_path = tmp / f"{name}.log"
    port = free_port()
    with log_path.open("ab") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", *args, "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, **(env or {})},
        )
    child = Child(proc, f"127.0.0.1:{port}", log_path)
    _children.append(child)
    return child


_children: list[Child] = []
"""Every child started here; ``scratch()`` stops those still running on the way out."""


async def start_simulator_process(tmp: Path) -> Child:
    """``python -m sidecar simulator --no-limits`` on a free port, ready to answer."""
    child = _spawn(
        [
            "sidecar",
            "simulator",
            "--no-limits",
            "--app-secret",
            DEV_APP_SECRET,
            "--token",
            DEV_TOKEN,
        ],
        tmp,
        "simulator",
        {"WA_SIDECAR_LOG_LEVEL": "WARNING"},
    )
    deadline = time.monotonic() + 20
    async with aiohttp.ClientSession() as session:
        while True:
            try:
                async with session.get(child.url + "/") as resp:
                    await resp.read()
                    return child
            except aiohttp.ClientConnectionError:
                if child.proc.poll() is not None or time.monotonic() > deadline:
                    child.stop()
                    raise RuntimeError(f"simulator did not start:\n{child.log_tail()}") from None
                await asyncio.sleep(0.05)


async def start_empty_server(tmp: Path, *args: str, name: str = "empty-server") -> Child:
    """``python -m bench.empty_server [args]`` on a free port, ready to answer."""
    child = _spawn(["bench.empty_server", *args], tmp, name, None)
    async with grpc.aio.insecure_channel(child.address) as channel:
        try:
            await asyncio.wait_for(channel.channel_ready(), 20)
        except TimeoutError:
            child.stop()
            raise RuntimeError(f"empty server did not start:\n{child.log_tail()}") from None
    return child


async def start_sidecar(tmp: Path, graph_url: str, env: Mapping[str, str]) -> SidecarProcess:
    proc = SidecarProcess(tmp, dict(env), graph_url=graph_url)
    proc.start()
    try:
        await proc.ready()
    except BaseException:
        await proc.stop()
        raise
    return proc


def channels(address: str, count: int = CHANNELS) -> list[grpc.aio.Channel]:
    return [grpc.aio.insecure_channel(address, options=_CHANNEL_OPTIONS) for _ in range(count)]


async def close_channels(chans: Sequence[grpc.aio.Channel]) -> None:
    for channel in chans:
        await channel.close()


# --------------------------------------------------------------------- drivers


@dataclass
class Run:
    """One measured run against one server process."""

    done: int
    errors: int
    seconds: float
    cpu_s: float
    latencies_ms: list[float] = field(default_factory=list)
    first_error: str = ""
    client_cpu_s: float = 0.0
    main_cpu_s: float = 0.0
    """The server's main thread (event loop) alone: a grpc.aio process is bound by it."""

    @property
    def rate(self) -> float:
        return self.done / self.seconds if self.seconds else 0.0

    @property
    def cpu_us_per_op(self) -> float:
        return self.cpu_s * 1e6 / self.done if self.done else math.inf

    @property
    def main_cpu_us_per_op(self) -> float:
        return self.main_cpu_s * 1e6 / self.done if self.done else math.inf

    @property
    def client_cpu_us_per_op(self) -> float:
        return self.client_cpu_s * 1e6 / self.done if self.done else math.inf


Call = Callable[[int], Awaitable[None]]
"""One operation; ``i`` is unique across the whole bench process. Raises on failure."""

_sequence = itertools.count()


def next_id() -> int:
    """A number never handed out before in this process (unique keys, wamids, recipients)."""
    return next(_sequence)


class CpuMeter:
    """CPU used since it was made by the server ``pid`` (whole process and
    main thread) and by this bench process; ``run`` stamps it on a ``Run``."""

    def __init__(self, pid: int | None) -> None:
        self._pid = pid
        self._start = self._now()

    def _now(self) -> tuple[float, float, float]:
        pid = self._pid
        if pid is None:
            return 0.0, 0.0, time.process_time()
        return cpu_seconds(pid), main_thread_cpu_seconds(pid), time.process_time()

    def run(
        self,
        done: int,
        errors: int,
        seconds: float,
        first_error: str = "",
        latencies_ms: list[float] | None = None,
    ) -> Run:
        now = self._now()
        return Run(
            done,
            errors,
            seconds,
            now[0] - self._start[0],
            latencies_ms or [],
            first_error,
            client_cpu_s=now[2] - self._start[2],
            main_cpu_s=now[1] - self._start[1],
        )


async def closed_loop(
    call: Call, *, concurrency: int, seconds: float = SECONDS, pid: int | None = None
) -> Run:
    """``concurrency`` callers each issue ``call`` back to back until ``seconds`` have passed."""
    done = errors = 0
    first_error = ""
    deadline = time.perf_counter() + seconds

    async def caller() -> None:
        nonlocal done, errors, first_error
        while time.perf_counter() < deadline:
            try:
                await call(next_id())
            except Exception as exc:
                errors += 1
                first_error = first_error or repr(exc)[:300]
            else:
                done += 1

    gc.collect()
    meter = CpuMeter(pid)
    started = time.perf_counter()
    await asyncio.gather(*(caller() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return meter.run(done, errors, elapsed, first_error)


async def open_loop(
    call: Call, *, rate: float, seconds: float, pid: int | None = None, warmup: int = 50
) -> Run:
    """Start one ``call`` every ``1/rate`` s whatever happens to earlier ones, and time
    each from its *scheduled* start, so a stall shows up in every request it delays
    (no coordinated omission). ``warmup`` calls run first and are not counted."""
    for _ in range(warmup):
        await call(next_id())
    loop = asyncio.get_running_loop()
    latencies: list[float] = []
    errors = 0
    first_error = ""

    async def one(scheduled: float) -> None:
        nonlocal errors, first_error
        try:
            await call(next_id())
        except Exception as exc:
            errors += 1
            first_error = first_error or repr(exc)[:300]
        else:
            latencies.append((time.perf_counter() - scheduled) * 1000.0)

    total = int(rate * seconds)
    interval = 1.0 / rate
    tasks: list[asyncio.Task[None]] = []
    gc.collect()
    meter = CpuMeter(pid)
    start = time.perf_counter() + 0.01
    for n in range(total):
        scheduled = start + n * interval
        delay = scheduled - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(loop.create_task(one(scheduled)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - start
    return meter.run(len(latencies), errors, elapsed, first_error, latencies)


Phase = Callable[[float], Awaitable[Run]]
"""One measured run of a figure, lasting about the given seconds."""


async def alternate(
    phases: Sequence[tuple[str, Phase]],
    *,
    runs: int = RUNS,
    seconds: float = SECONDS,
    warmup: float = 0.5,
) -> dict[str, list[Run]]:
    """Run the phases in turn (A, B, C, A, B, C, …) ``runs`` times, after one short
    warm-up round (connections, caches) that is left out of the figures."""
    for _, phase in phases:
        await phase(warmup)
    results: dict[str, list[Run]] = {name: [] for name, _ in phases}
    for _ in range(runs):
        for name, phase in phases:
            results[name].append(await phase(seconds))
    return results


# --------------------------------------------------------------------- figures


def machine(before: float) -> dict[str, Any]:
    """How busy the machine was: with more runnable work than CPUs, every process
    gets a slice and throughput ratios drift towards 1, so they are not trusted."""
    after = os.getloadavg()[0]
    cpus = os.cpu_count() or 1
    return {
        "cpus": cpus,
        "loadavg_1m_before": round(before, 2),
        "loadavg_1m_after": round(after, 2),
        "busy": max(before, after) > cpus,
    }


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (``q`` in 0–100)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100.0 * len(ordered)))
    return ordered[rank - 1]


def _num(value: float, digits: int = 1) -> float | None:
    """Rounded, or None when not finite (JSON has no NaN/Infinity)."""
    return round(value, digits) if math.isfinite(value) else None


def _error_fields(runs: Sequence[Run]) -> dict[str, Any]:
    errors = sum(r.errors for r in runs)
    first = next((r.first_error for r in runs if r.first_error), "")
    return {"errors": errors, **({"first_error": first} if first else {})}


def errors_of(*figures: dict[str, Any]) -> int:
    """Failed operations in figures built by ``rate_figures``/``latency_figures``."""
    return sum(int(f["errors"]) for f in figures)


def rate_figures(runs: Sequence[Run], unit: str = "rps") -> dict[str, Any]:
    """Median rate and server CPU per operation over runs, with every run listed."""
    return {
        f"{unit}_median": _num(median([r.rate for r in runs])),
        "cpu_us_per_op_median": _num(median([r.cpu_us_per_op for r in runs])),
        f"{unit}_runs": [_num(r.rate) for r in runs],
        "cpu_us_per_op_runs": [_num(r.cpu_us_per_op) for r in runs],
        "main_thread_cpu_us_per_op_median": _num(median([r.main_cpu_us_per_op for r in runs])),
        "client_cpu_us_per_op_median": _num(median([r.client_cpu_us_per_op for r in runs])),
        "ops": sum(r.done for r in runs),
        **_error_fields(runs),
    }


def latency_figures(runs: Sequence[Run]) -> dict[str, Any]:
    """Per-run p50/p99 (medians over runs) and pooled p50/p99/max, in ms."""
    pooled = [v for r in runs for v in r.latencies_ms]
    done = sum(r.done for r in runs)
    cpu = sum(r.cpu_s for r in runs)
    return {
        "p50_ms_median": _num(median([percentile(r.latencies_ms, 50) for r in runs]), 3),
        "p99_ms_median": _num(median([percentile(r.latencies_ms, 99) for r in runs]), 3),
        "p99_ms_runs": [_num(percentile(r.latencies_ms, 99), 3) for r in runs],
        "max_ms_runs": [_num(max(r.latencies_ms, default=math.nan), 3) for r in runs],
        "pooled_p50_ms": _num(percentile(pooled, 50), 3),
        "pooled_p99_ms": _num(percentile(pooled, 99), 3),
        "pooled_p999_ms": _num(percentile(pooled, 99.9), 3),
        "pooled_max_ms": _num(max(pooled, default=math.nan), 3),
        "achieved_rps_median": _num(median([r.rate for r in runs])),
        "cpu_us_per_op": _num(cpu * 1e6 / done) if done else None,
        "client_cpu_us_per_op": _num(sum(r.client_cpu_s for r in runs) * 1e6 / done)
        if done
        else None,
        "requests": done,
        **_error_fields(runs),
    }


def paired_ratio(a: Sequence[Run], b: Sequence[Run]) -> float:
    """Median over repetitions of rate(a_i) / rate(b_i): each pair ran back to back,
    so slow drifts of the machine cancel out."""
    return round(median([x.rate / y.rate if y.rate else 0.0 for x, y in zip(a, b, strict=True)]), 3)


def goal(name: str, value: float | None, op: str, target: float, unit: str = "") -> dict[str, Any]:
    """A goal beside its measured figure: ``{"goal": "...", "value": v, "pass": bool}``."""
    if value is None or not math.isfinite(value):
        return {"goal": f"{name} {op} {target:g}{unit}", "value": None, "pass": False}
    ok = {">=": value >= target, "<=": value <= target, "<": value < target}[op]
    return {
        "goal": f"{name} {op} {target:g}{unit}",
        "value": round(value, 3),
        "pass": bool(ok),
    }


@contextlib.asynccontextmanager
async def scratch() -> AsyncIterator[Path]:
    """A temporary directory for logs and sidecar state, removed afterwards; child
    processes still running then (a bench failed half-way) are stopped."""
    with tempfile.TemporaryDirectory(prefix="wa-bench-") as tmp:
        try:
            yield Path(tmp)
        finally:
            while _children:
                _children.pop().stop()
