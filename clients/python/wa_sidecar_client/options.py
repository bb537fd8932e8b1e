"""Where the sidecar is, how to authenticate, how long to wait and when to retry.

    options = ClientOptions.from_env(timeout=5.0)
    client = SidecarClient(options=options)

The environment names are ``WASIDECAR_ADDR`` and ``WASIDECAR_TOKEN``, not
``WA_SIDECAR_*``: the sidecar refuses to start when it sees a ``WA_SIDECAR_*``
variable it does not know, and an app and its sidecar often share an env file.
"""

from __future__ import annotations

import os
import random
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final

ADDR_ENV: Final = "WASIDECAR_ADDR"
"""The sidecar's gRPC address, ``host:port``."""
TOKEN_ENV: Final = "WASIDECAR_TOKEN"  # noqa: S105  # the variable's name, not a token
"""The bearer token sent as ``authorization: Bearer <token>`` (caller auth)."""
DEFAULT_ADDR: Final = "127.0.0.1:50051"
DEFAULT_TIMEOUT: Final = 10.0

# Reconnect quickly to a sidecar on loopback: gRPC's default first reconnect
# backoff is 1 s, during which every call fails at once with UNAVAILABLE.
CHANNEL_OPTIONS: Final = (
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
)


@dataclass(frozen=True)
class RetryPolicy:
    """Retries of calls that ended ``UNAVAILABLE`` (nothing else is retried).

    Waits grow exponentially from ``initial_backoff`` to ``max_backoff`` with
    full jitter, and never run past the call's deadline. ``max_attempts`` counts
    the first try; ``RetryPolicy(max_attempts=1)`` turns retries off.
    """

    max_attempts: int = 5
    initial_backoff: float = 0.1
    max_backoff: float = 2.0
    multiplier: float = 2.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts: must be at least 1")
        if not 0 < self.initial_backoff <= self.max_backoff:
            raise ValueError("initial_backoff: must be > 0 and ≤ max_backoff")

    def backoffs(self, rand: Callable[[], float] = random.random) -> Iterator[float]:
        """The waits before each retry: ``max_attempts - 1`` of them."""
        ceiling = self.initial_backoff
        for _ in range(self.max_attempts - 1):
            yield ceiling * rand()
            ceiling = min(ceiling * self.multiplier, self.max_backoff)


@dataclass(frozen=True)
class ClientOptions:
    """Settings shared by :class:`SidecarClient` and :class:`AsyncSidecarClient`.

    ``timeout`` is every call's deadline in seconds (retries included);
    ``propagate_trace`` injects the current OpenTelemetry context as W3C
    ``traceparent`` metadata when ``opentelemetry-api`` is installed.
    """

    address: str = DEFAULT_ADDR
    token: str | None = None
    timeout: float = DEFAULT_TIMEOUT
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    propagate_trace: bool = True
    channel_options: tuple[tuple[str, int | str], ...] = CHANNEL_OPTIONS

    def __post_init__(self) -> None:
        if self.timeout <= 0:
            raise ValueError("timeout: must be > 0 seconds")

    @classmethod
    def from_env(
        cls,
        environ: Mapping[str, str] | None = None,
        *,
        address: str | None = None,
        token: str | None = None,
        timeout: float | None = None,
        retry: RetryPolicy | None = None,
    ) -> ClientOptions:
        """Options from ``WASIDECAR_ADDR`` and ``WASIDECAR_TOKEN``; arguments
        that are not ``None`` win over the environment."""
        env = os.environ if environ is None else environ
        return cls(
            address=address or env.get(ADDR_ENV) or DEFAULT_ADDR,
            token=token or env.get(TOKEN_ENV) or None,
            timeout=DEFAULT_TIMEOUT if timeout is None else timeout,
            retry=retry or RetryPolicy(),
        )

    def __repr__(self) -> str:
        token = "'***'" if self.token else "None"
        return f"ClientOptions(address={self.address!r}, token={token}, timeout={self.timeout})"
