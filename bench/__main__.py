"""``python -m bench [name ...]``: run benchmarks, print one JSON object per line.

Figures are medians over alternating runs on this machine; every rate comes
with the CPU-µs per message that the sidecar process spent.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys

BENCHES = (
    "startup",
    "verify",
    "send",
    "check",
    "check_redis",
    "send_rate",
    "global_rate",
    "tracing",
)


def main(argv: list[str]) -> int:
    names = argv or list(BENCHES)
    for name in names:
        module = importlib.import_module(f"bench.{name}")
        result = asyncio.run(module.run())
        sys.stdout.write(json.dumps({"bench": name, **result}, sort_keys=True) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
