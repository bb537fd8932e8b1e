"""Retry classification, backoff and the adaptive send rate (SPEC §4.7-4.8), pure.

Graph error codes are data: ``ERROR_TABLE`` maps each code Meta documents to an
``ErrorClass``, whether the send loop may retry it within the same call, a
minimum wait and a short reason. ``classify`` looks a failure up (code first,
as Meta asks, then HTTP status, then network errors); ``RetryPolicy`` turns a
classification and an attempt number into a yes/no and a jittered delay.
Nothing here sleeps: the loop in ``service/`` does the waiting.

    >>> c = classify(130429, http_status=400)
    >>> policy = RetryPolicy()
    >>> if policy.should_retry(0, c):
    ...     wait = policy.delay(0, c, rand=random.random)

Decisions on codes Meta leaves open (FACTS §4, §4.6):

* 131049 (per-user marketing limit) is THROTTLED with ``retry_after`` 24 h but
  not retryable in-call: the recipient is fine, only *now* is wrong, so it must
  not be suppressed like a RECIPIENT failure; no call waits a day.
* 132069 (Flow throttled, ≤ 1 h) is likewise THROTTLED, 3600 s, not in-call.
* 133016 (register/deregister attempt limit) is a long wait (hours to days,
  FACTS §4.2): THROTTLED, not in-call, at least an hour.
* A failure that may have reached Meta (``maybe_sent``: the request was
  written and no usable answer came back, or a 2xx without a message id) is
  ``in_doubt`` and never retryable: Graph has no idempotency key, so a resend
  could deliver the message twice. A network failure before the request left
  (``"connect"``: refused, DNS, TLS handshake, pool wait) is TRANSIENT.
* 131064 (limit from template-classification violations) is POLICY: it comes
  from an enforcement a person must look at, and ends at an unstated time.
* 131021 (sender is the recipient) is RECIPIENT: it fails for that number only.
* 200-299 are POLICY although 200 can mean "no token": our client always sends
  one, so a refresh would not help; the asset access must be fixed.
* 131056 waits 4**x s and is retried in-call only while that wait is at most
  ``MAX_IN_CALL_WAIT`` (x = 0, 1, 2); after that the caller gets the wait.
* A known code wins over the HTTP status (Meta: "build your error handling
  around error codes"); the status only decides for unknown or missing codes.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

from sidecar.policy.types import ErrorClass

THROTTLING_CODES: frozenset[int] = frozenset({130429, 80007, 4, 17})
"""Rate signals that lower ``AdaptiveRate``; 131056 is per recipient, so it is not one."""

OPT_OUT_CODES: frozenset[int] = frozenset({131050})
"""Codes that record an opt-out for the recipient (SPEC §4.5)."""

PAIR_LIMIT_CODE = 131056
_PAIR_LIMIT_MAX_EXPONENT = 8  # 4**8 s ≈ 18 h; beyond that the wait is meaningless
MAX_IN_CALL_WAIT = 60.0
"""Longer waits are not worth holding a call open: the failure is reported instead."""
_DAY = 86_400.0
_HOUR = 3_600.0


@dataclass(frozen=True, slots=True)
class CodeRule:
    """How one Graph error code is handled; ``retry_after`` is a floor in seconds."""

    error_class: ErrorClass
    retryable: bool
    retry_after: float
    reason: str


_T, _TH, _A = ErrorClass.TRANSIENT, ErrorClass.THROTTLED, ErrorClass.AUTH
_R, _TP, _P, _PM = (
    ErrorClass.RECIPIENT,
    ErrorClass.TEMPLATE,
    ErrorClass.POLICY,
    ErrorClass.PERMANENT,
)

# code, class, retryable in-call, minimum wait (s), reason. Sources: FACTS §4.1-4.4.
_ROWS: tuple[tuple[int, ErrorClass, bool, float, str], ...] = (
    (1, _T, True, 0.0, "invalid request or possible server error"),
    (2, _T, True, 0.0, "temporary downtime or overload"),
    (131000, _T, True, 0.0, "unknown error"),
    (131016, _T, True, 0.0, "service temporarily unavailable"),
    (133004, _T, True, 0.0, "server temporarily unavailable"),
    (139103, _T, True, 0.0, "internal error, try again"),
    # A rate window is at least a second long, so never come back sooner.
    (4, _TH, True, 1.0, "app call rate limit reached"),
    (17, _TH, True, 1.0, "user request limit reached"),
    (80007, _TH, True, 1.0, "WABA rate limit reached"),
    (130429, _TH, True, 1.0, "phone number throughput reached"),
    (PAIR_LIMIT_CODE, _TH, True, 1.0, "pair rate limit for this recipient"),
    (131057, _TH, True, 60.0, "business account in maintenance mode"),
    (2494100, _TH, False, 300.0, "account in maintenance (phone migration)"),
    (131049, _TH, False, _DAY, "per-user marketing limit; wait 24 h"),
    (132069, _TH, False, _HOUR, "Flow throttled; wait up to 1 h"),
    (133016, _TH, False, _HOUR, "register/deregister attempt limit; wait until unblocked"),
    (0, _A, True, 0.0, "cannot authenticate"),
    (102, _A, True, 0.0, "session invalid"),
    (190, _A, True, 0.0, "access token expired"),
    (130403, _R, False, 0.0, "business blocked this user"),
    (130472, _R, False, 0.0, "user in a marketing experiment holdout"),
    (131021, _R, False, 0.0, "sender and recipient are the same number"),
    (131026, _R, False, 0.0, "undeliverable: not a WhatsApp user or outdated client"),
    (131030, _R, False, 0.0, "recipient not on the test allow list"),
    (131050, _R, False, 0.0, "recipient stopped marketing messages"),
    (132000, _TP, False, 0.0, "template parameter count mismatch"),
    (132001, _TP, False, 0.0, "template missing in this language or not approved"),
    (132005, _TP, False, 0.0, "translated text too long"),
    (132007, _TP, False, 0.0, "template content policy violation"),
    (132012, _TP, False, 0.0, "template parameter format mismatch"),
    (132015, _TP, False, 0.0, "template paused for low quality"),
    (132016, _TP, False, 0.0, "template permanently disabled"),
    (132018, _TP, False, 0.0, "template validation error"),
    (132068, _TP, False, 0.0, "Flow blocked"),
    (3, _P, False, 0.0, "capability or permission missing"),
    (10, _P, False, 0.0, "permission denied"),
    (33, _P, False, 0.0, "business phone number deleted"),
    (368, _P, False, 0.0, "WABA restricted for a policy violation"),
    (130497, _P, False, 0.0, "WABA restricted for this country"),
    (131005, _P, False, 0.0, "permission not granted"),
    (131031, _P, False, 0.0, "account locked"),
    (131037, _P, False, 0.0, "display name not approved"),
    (131042, _P, False, 0.0, "payment method problem"),
    (131045, _P, False, 0.0, "phone number registration error"),
    (131048, _P, False, 0.0, "spam rate limit; check quality"),
    (131063, _P, False, 0.0, "marketing messages disabled on Cloud API"),
    (131064, _P, False, 0.0, "messaging limit from template classification violations"),
    (133010, _P, False, 0.0, "phone number not registered"),
    (134011, _P, False, 0.0, "payments terms not accepted"),
    (100, _PM, False, 0.0, "invalid parameter"),
    (131008, _PM, False, 0.0, "missing required parameter"),
    (131009, _PM, False, 0.0, "invalid parameter value"),
    (131047, _PM, False, 0.0, "outside the 24 h window; send a template"),
    (131051, _PM, False, 0.0, "unsupported message type"),
    (131053, _PM, False, 0.0, "media upload failed"),
    (131055, _PM, False, 0.0, "only marketing templates are supported"),
    (135000, _PM, False, 0.0, "unknown error with request parameters"),
)

ERROR_TABLE: Mapping[int, CodeRule] = MappingProxyType(
    {code: CodeRule(cls, retry, wait, why) for code, cls, retry, wait, why in _ROWS}
)
"""Graph error code → rule; 200-299 are POLICY through ``rule_for``."""

_PERMISSION_RANGE = CodeRule(_P, False, 0.0, "permission not granted or removed")


def rule_for(code: int) -> CodeRule | None:
    """The table's rule for ``code``, including the 200-299 permission range."""
    rule = ERROR_TABLE.get(code)
    if rule is None and 200 <= code <= 299:
        return _PERMISSION_RANGE
    return rule


@dataclass(frozen=True, slots=True)
class Classification:
    """What to do about one failure; ``retry_after`` 0 means "use the backoff"."""

    error_class: ErrorClass
    retryable: bool
    retry_after: float
    code: int | None
    reason: str
    in_doubt: bool = False
    """The request may have reached Meta: never resent blindly (SPEC §4.8)."""


NOT_SENT_NETWORK_ERRORS: frozenset[str] = frozenset({"connect"})
"""Network failures before the request left (connect refused, DNS, TLS
handshake, pool or connect timeout): safe to retry. Every other network
failure ("timeout", "connection") came after the request was written."""


def maybe_sent(http_status: int, network_error: str) -> bool:
    """Whether a failed call may still have reached Meta: a network failure
    after the request was written, or a 2xx whose body was unusable."""
    if network_error:
        return network_error not in NOT_SENT_NETWORK_ERRORS
    return 200 <= http_status <= 299


def pair_limit_wait(recipient_failures: int) -> float:
    """Meta's 131056 wait: 4**x seconds, x = earlier 131056 failures for the recipient."""
    exponent = min(max(recipient_failures, 0), _PAIR_LIMIT_MAX_EXPONENT)
    return float(4**exponent)


def classify(
    code: int | None,
    http_status: int = 0,
    network_error: str = "",
    *,
    recipient_failures: int = 0,
) -> Classification:
    """Classify a failed Graph call; never raises.

    ``recipient_failures`` counts earlier 131056 answers for the same recipient.
    A failure that may have reached Meta (``maybe_sent``) is ``in_doubt`` and
    not retryable; a network failure before the request left is TRANSIENT.
    """
    if code is None and maybe_sent(http_status, network_error):
        what = f"network {network_error[:40]}" if network_error else f"HTTP {http_status}"
        return Classification(_T, False, 0.0, None, f"{what}: may have been sent", in_doubt=True)
    if code is not None:
        rule = rule_for(code)
        if rule is not None:
            wait = rule.retry_after
            if code == PAIR_LIMIT_CODE:
                wait = pair_limit_wait(recipient_failures)
            retryable = rule.retryable and wait <= MAX_IN_CALL_WAIT
            return Classification(rule.error_class, retryable, wait, code, rule.reason)
    if code is None and network_error:
        return Classification(_T, True, 0.0, None, f"network error: {network_error[:40]}")
    if 500 <= http_status <= 599:
        return Classification(_T, True, 0.0, code, f"HTTP {http_status}")
    if http_status == 429:
        return Classification(_TH, True, 1.0, code, "HTTP 429")
    if code is None and http_status == 408:
        return Classification(_T, True, 0.0, None, "HTTP 408")
    if code is None and http_status == 401:
        return Classification(_A, True, 0.0, None, "HTTP 401")
    label = "unknown code" if code is not None else "unclassified failure"
    return Classification(_PM, False, 0.0, code, f"{label} (HTTP {http_status})")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Bounded exponential backoff with full jitter (1, 2, 4, 8 s caps by default).

    ``attempt`` counts retries already made: 0 before the first retry.

        >>> policy = RetryPolicy(max_retries=3)
        >>> policy.should_retry(0, classify(131000))
        True
        >>> policy.delay(2, classify(131000), rand=lambda: 1.0)
        4.0
    """

    max_retries: int = 3
    base_delay: float = 1.0
    max_delay: float = 8.0

    def cap(self, attempt: int) -> float:
        """The jitter ceiling for ``attempt``: ``min(max_delay, base * 2**attempt)``."""
        # Past 2**64 the cap is max_delay anyway; stopping early avoids float overflow.
        exponent = min(max(attempt, 0), 64)
        return min(self.max_delay, self.base_delay * 2.0**exponent)

    def delay(
        self,
        attempt: int,
        classification: Classification,
        rand: Callable[[], float],
        retry_after_header: float | None = None,
    ) -> float:
        """Seconds to wait before retry ``attempt``: uniform(0, cap), floored by waits.

        The floor is the larger of ``classification.retry_after`` and a valid
        ``Retry-After`` header; ``rand`` returns a float in [0, 1].
        """
        fraction = min(max(rand(), 0.0), 1.0)
        if math.isnan(fraction):
            fraction = 1.0
        floor = classification.retry_after
        if retry_after_header is not None and math.isfinite(retry_after_header):
            floor = max(floor, retry_after_header)
        return max(fraction * self.cap(attempt), floor)

    def should_retry(self, attempt: int, classification: Classification) -> bool:
        """Whether retry ``attempt`` may happen; AUTH once (after a token refresh)."""
        if not classification.retryable:
            return False
        limit = 1 if classification.error_class is ErrorClass.AUTH else self.max_retries
        return attempt < limit


DEFAULT_DECREASE = 0.5
"""Multiplicative cut on a throttling answer (AIMD, as TCP congestion control)."""

DEFAULT_RECOVERY_SECONDS = 30.0
"""Default additive recovery: from 0 back to the configured rate in this long."""

DEFAULT_COOLDOWN = 1.0
"""Throttles within this many seconds of a cut are one event: a burst of
in-flight requests all answered 130429 must not halve the rate ten times."""


class AdaptiveRate:
    """Send rate that halves on throttling and climbs back linearly (SPEC §4.7).

    Time is passed in, never read; state changes only in ``on_throttle``/``on_success``.

        >>> rate = AdaptiveRate(configured=80.0, floor=1.0)
        >>> rate.on_throttle(now=100.0)
        40.0
        >>> round(rate.on_success(now=105.0), 1)  # +80/30 per second
        53.3
    """

    __slots__ = (
        "_cooldown",
        "_cut_at",
        "_rate",
        "_since",
        "configured",
        "decrease",
        "floor",
        "increase_per_second",
    )

    def __init__(
        self,
        configured: float,
        floor: float,
        decrease: float = DEFAULT_DECREASE,
        increase_per_second: float | None = None,
        cooldown: float = DEFAULT_COOLDOWN,
    ) -> None:
        if not configured > 0:
            raise ValueError("configured rate must be positive")
        if not 0 < floor <= configured:
            raise ValueError("floor must be in (0, configured]")
        if not 0 < decrease < 1:
            raise ValueError("decrease must be in (0, 1)")
        if increase_per_second is None:
            increase_per_second = configured / DEFAULT_RECOVERY_SECONDS
        if not increase_per_second >= 0:
            raise ValueError("increase_per_second must be >= 0")
        if not cooldown >= 0:
            raise ValueError("cooldown must be >= 0")
        self.configured = configured
        self.floor = floor
        self.decrease = decrease
        self.increase_per_second = increase_per_second
        self._cooldown = cooldown
        self._rate = configured
        self._since = -math.inf  # time of the last state change
        self._cut_at = -math.inf

    def current(self, now: float) -> float:
        """The rate at ``now``, recovery included; does not change state."""
        if self._rate >= self.configured:
            return self.configured
        elapsed = max(now - self._since, 0.0)  # a clock going back recovers nothing
        return min(self.configured, self._rate + self.increase_per_second * elapsed)

    def on_throttle(self, now: float) -> float:
        """A throttling answer arrived: cut the rate (once per cooldown), return it."""
        rate = self.current(now)
        if now - self._cut_at < self._cooldown:
            return rate
        self._rate = max(self.floor, rate * self.decrease)
        self._since = max(self._since, now)
        self._cut_at = now
        return self._rate

    def reconfigure(self, configured: float, floor: float, now: float) -> float:
        """The account allows another rate: an upgrade (or a rate at its
        ceiling) moves to the new ceiling at once — throttling seen at the old
        level says nothing of the new one; a downgrade keeps a cut below the
        new ceiling and recovers towards it. Returns the rate now."""
        if not configured > 0 or not 0 < floor <= configured:
            raise ValueError("need configured > 0 and floor in (0, configured]")
        fresh = configured > self.configured or self.current(now) >= self.configured
        rate = configured if fresh else min(self.current(now), configured)
        self.configured = configured
        self.floor = floor
        self.increase_per_second = configured / DEFAULT_RECOVERY_SECONDS
        self._rate = max(rate, floor)
        self._since = max(self._since, now)
        return self._rate

    def on_success(self, now: float) -> float:
        """A send succeeded: keep the recovery earned so far, return the rate."""
        self._rate = self.current(now)
        self._since = max(self._since, now)
        return self._rate
