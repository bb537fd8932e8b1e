"""Shared bench helpers: process CPU time, RSS, medians."""

from __future__ import annotations

import os
import statistics
from collections.abc import Sequence

_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User+system CPU seconds a process has used (from /proc)."""
    return _stat_cpu(f"/proc/{pid}/stat")


def main_thread_cpu_seconds(pid: int) -> float:
    """The same for the process's main thread only (its event loop)."""
    return _stat_cpu(f"/proc/{pid}/task/{pid}/stat")


def _stat_cpu(path: str) -> float:
    with open(path) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def median(values: Sequence[float]) -> float:
    return round(statistics.median(values), 3)
