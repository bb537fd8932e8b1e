"""Retry classification, backoff and adaptive rate (SPEC §4.7-4.8)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sidecar.policy.retry import (
    ERROR_TABLE,
    MAX_IN_CALL_WAIT,
    OPT_OUT_CODES,
    THROTTLING_CODES,
    AdaptiveRate,
    Classification,
    RetryPolicy,
    classify,
    maybe_sent,
    pair_limit_wait,
    rule_for,
)
from sidecar.policy.types import ErrorClass

pytestmark = pytest.mark.unit

TRANSIENT_CODES = [1, 2, 131000, 131016, 133004]
THROTTLED_IN_CALL = [130429, 80007, 4, 131056, 131057]
AUTH_CODES = [0, 190]
RECIPIENT_CODES = [130403, 131026, 131050, 130472, 131021]
TEMPLATE_CODES = [132000, 132001, 132005, 132007, 132012, 132015, 132016, 132068]
POLICY_CODES = [368, 130497, 131031, 131042, 131048, 131064, 3, 10, 200, 250, 299, 131005, 33]
POLICY_CODES += [131037, 131045, 131063]
PERMANENT_CODES = [100, 131008, 131009, 131047, 131051, 131053, 135000]


# --- classification -----------------------------------------------------------------------


@pytest.mark.parametrize("code", TRANSIENT_CODES)
def test_transient_codes_are_retried_with_backoff(code: int) -> None:
    c = classify(code, 400)
    assert (c.error_class, c.retryable, c.retry_after, c.code) == (
        ErrorClass.TRANSIENT,
        True,
        0.0,
        code,
    )


@pytest.mark.parametrize("code", THROTTLED_IN_CALL)
def test_throttling_codes_are_retried_after_at_least_a_second(code: int) -> None:
    c = classify(code, 400)
    assert c.error_class is ErrorClass.THROTTLED
    assert c.retryable
    assert c.retry_after >= 1.0


def test_maintenance_mode_131057_waits_about_a_minute() -> None:
    assert classify(131057).retry_after == 60.0


@pytest.mark.parametrize(("code", "wait"), [(131049, 86_400.0), (132069, 3_600.0)])
def test_long_waits_are_throttled_but_not_retried_in_call(code: int, wait: float) -> None:
    c = classify(code)
    assert (c.error_class, c.retryable, c.retry_after) == (ErrorClass.THROTTLED, False, wait)
    assert not RetryPolicy().should_retry(0, c)


@pytest.mark.parametrize("code", AUTH_CODES)
def test_auth_codes_ask_for_a_token_refresh(code: int) -> None:
    c = classify(code, 401)
    assert (c.error_class, c.retryable) == (ErrorClass.AUTH, True)


@pytest.mark.parametrize(
    ("codes", "error_class"),
    [
        (RECIPIENT_CODES, ErrorClass.RECIPIENT),
        (TEMPLATE_CODES, ErrorClass.TEMPLATE),
        (POLICY_CODES, ErrorClass.POLICY),
        (PERMANENT_CODES, ErrorClass.PERMANENT),
    ],
)
def test_non_retryable_classes_are_never_retried(codes: list[int], error_class: ErrorClass) -> None:
    for code in codes:
        c = classify(code, 400)
        assert c.error_class is error_class, code
        assert not c.retryable, code
        assert not RetryPolicy().should_retry(0, c), code


def test_window_closed_131047_is_permanent_and_says_to_use_a_template() -> None:
    c = classify(131047)
    assert c.error_class is ErrorClass.PERMANENT
    assert "template" in c.reason


def test_pair_limit_waits_four_to_the_power_of_prior_failures() -> None:
    waits = [classify(131056, recipient_failures=x).retry_after for x in range(4)]
    assert waits == [1.0, 4.0, 16.0, 64.0]


def test_pair_limit_stops_in_call_retries_once_the_wait_exceeds_a_minute() -> None:
    assert classify(131056, recipient_failures=2).retryable
    c = classify(131056, recipient_failures=3)
    assert c.retry_after > MAX_IN_CALL_WAIT
    assert not c.retryable


def test_pair_limit_wait_is_bounded_and_ignores_negative_counts() -> None:
    assert pair_limit_wait(-5) == 1.0
    assert pair_limit_wait(10**9) == pair_limit_wait(8) == 4.0**8


def test_known_code_wins_over_http_status() -> None:
    assert classify(100, 500).error_class is ErrorClass.PERMANENT
    assert classify(131000, 400).error_class is ErrorClass.TRANSIENT


@pytest.mark.parametrize("status", [500, 502, 503, 504, 599])
def test_server_errors_without_code_are_transient(status: int) -> None:
    c = classify(None, status)
    assert (c.error_class, c.retryable, c.code) == (ErrorClass.TRANSIENT, True, None)


def test_server_error_with_unknown_code_is_transient() -> None:
    c = classify(987654, 503)
    assert (c.error_class, c.code) == (ErrorClass.TRANSIENT, 987654)


@pytest.mark.parametrize("code", [None, 987654])
def test_http_429_is_throttled(code: int | None) -> None:
    c = classify(code, 429)
    assert (c.error_class, c.retryable, c.retry_after) == (ErrorClass.THROTTLED, True, 1.0)


@pytest.mark.parametrize("status", [400, 403, 404, 422])
def test_unknown_code_with_client_error_is_permanent(status: int) -> None:
    c = classify(987654, status)
    assert (c.error_class, c.retryable) == (ErrorClass.PERMANENT, False)
    assert "unknown code" in c.reason


def test_no_code_and_no_status_is_permanent() -> None:
    c = classify(None)
    assert (c.error_class, c.retryable) == (ErrorClass.PERMANENT, False)


def test_bare_401_asks_for_a_token_refresh_and_bare_408_is_transient() -> None:
    assert classify(None, 401).error_class is ErrorClass.AUTH
    assert classify(None, 408).error_class is ErrorClass.TRANSIENT
    assert classify(987654, 401).error_class is ErrorClass.PERMANENT


def test_a_failure_before_the_request_left_is_transient_and_retried() -> None:
    c = classify(None, 0, "connect")
    assert (c.error_class, c.retryable, c.in_doubt) == (ErrorClass.TRANSIENT, True, False)
    assert "connect" in c.reason
    assert RetryPolicy().should_retry(0, c)


@pytest.mark.parametrize("kind", ["timeout", "connection", "tls", "something-new"])
def test_a_network_failure_after_the_request_was_written_is_in_doubt(kind: str) -> None:
    """Graph has no idempotency key: a maybe-sent failure is never retried
    (an unknown kind counts as maybe sent: the safe side)."""
    c = classify(None, 0, kind)
    assert (c.error_class, c.retryable, c.in_doubt) == (ErrorClass.TRANSIENT, False, True)
    assert kind in c.reason
    assert not RetryPolicy().should_retry(0, c)


@pytest.mark.parametrize("status", [200, 201, 299])
def test_a_success_status_without_a_usable_body_is_in_doubt(status: int) -> None:
    c = classify(None, status)
    assert (c.retryable, c.in_doubt) == (False, True)
    assert f"HTTP {status}" in c.reason


@pytest.mark.parametrize(("status", "network"), [(0, "connect"), (500, ""), (400, ""), (0, "")])
def test_answers_and_unsent_failures_are_not_in_doubt(status: int, network: str) -> None:
    assert not maybe_sent(status, network)
    assert not classify(None, status, network).in_doubt


def test_133016_is_a_long_wait_never_retried_in_call() -> None:
    c = classify(133016, 400)
    assert (c.error_class, c.retryable) == (ErrorClass.THROTTLED, False)
    assert c.retry_after >= 3600
    assert not RetryPolicy().should_retry(0, c)


def test_permission_range_200_to_299_is_policy() -> None:
    assert rule_for(200) is rule_for(299)
    assert rule_for(199) is None
    assert rule_for(300) is None


def test_table_codes_are_unique_and_consistent() -> None:
    for code, rule in ERROR_TABLE.items():
        assert rule.reason, code
        if rule.error_class in {ErrorClass.TRANSIENT, ErrorClass.AUTH}:
            assert rule.retryable, code
        if rule.error_class in {ErrorClass.RECIPIENT, ErrorClass.TEMPLATE, ErrorClass.POLICY}:
            assert not rule.retryable, code


def test_rate_signals_exclude_the_per_recipient_pair_limit() -> None:
    assert {130429, 80007, 4} <= THROTTLING_CODES
    assert 131056 not in THROTTLING_CODES
    assert all(classify(c).error_class is ErrorClass.THROTTLED for c in THROTTLING_CODES)


def test_marketing_opt_out_131050_is_the_opt_out_code() -> None:
    assert 131050 in OPT_OUT_CODES
    assert classify(131050).error_class is ErrorClass.RECIPIENT


@given(
    code=st.none() | st.integers(),
    status=st.integers(),
    network=st.text(),
    failures=st.integers(),
)
def test_classify_never_raises(code: int | None, status: int, network: str, failures: int) -> None:
    c = classify(code, status, network, recipient_failures=failures)
    assert isinstance(c, Classification)
    assert c.retry_after >= 0
    assert len(c.reason) < 200


# --- backoff ------------------------------------------------------------------------------

BACKOFF = classify(131000)


def test_full_jitter_at_its_maximum_gives_1_2_4_8_then_stays_at_8() -> None:
    policy = RetryPolicy()
    assert [policy.delay(a, BACKOFF, rand=lambda: 1.0) for a in range(6)] == [
        1.0,
        2.0,
        4.0,
        8.0,
        8.0,
        8.0,
    ]


def test_full_jitter_at_its_minimum_is_zero_without_a_floor() -> None:
    policy = RetryPolicy()
    assert all(policy.delay(a, BACKOFF, rand=lambda: 0.0) == 0.0 for a in range(5))


def test_jitter_scales_the_cap() -> None:
    assert RetryPolicy().delay(2, BACKOFF, rand=lambda: 0.25) == 1.0


def test_classification_wait_is_a_floor() -> None:
    c = classify(131056, recipient_failures=2)
    assert RetryPolicy().delay(0, c, rand=lambda: 0.0) == 16.0
    assert RetryPolicy().delay(0, classify(130429), rand=lambda: 0.0) == 1.0


def test_retry_after_header_is_honoured_as_a_floor() -> None:
    policy = RetryPolicy()
    assert policy.delay(0, BACKOFF, rand=lambda: 1.0, retry_after_header=30.0) == 30.0
    assert policy.delay(3, BACKOFF, rand=lambda: 1.0, retry_after_header=2.0) == 8.0


@pytest.mark.parametrize("header", [math.nan, math.inf, -math.inf, -5.0])
def test_unusable_retry_after_header_is_ignored(header: float) -> None:
    assert RetryPolicy().delay(1, BACKOFF, rand=lambda: 1.0, retry_after_header=header) == 2.0


@pytest.mark.parametrize(("value", "expected"), [(-3.0, 0.0), (7.0, 4.0), (math.nan, 4.0)])
def test_out_of_range_random_values_are_clamped(value: float, expected: float) -> None:
    assert RetryPolicy().delay(2, BACKOFF, rand=lambda: value) == expected


def test_huge_and_negative_attempts_do_not_overflow() -> None:
    policy = RetryPolicy()
    assert policy.delay(10**6, BACKOFF, rand=lambda: 1.0) == 8.0
    assert policy.delay(-4, BACKOFF, rand=lambda: 1.0) == 1.0


def test_custom_policy_changes_base_and_cap() -> None:
    policy = RetryPolicy(base_delay=0.5, max_delay=3.0)
    assert [policy.cap(a) for a in range(4)] == [0.5, 1.0, 2.0, 3.0]


@given(attempt=st.integers(), fraction=st.floats(0, 1))
def test_delay_stays_within_zero_and_the_cap(attempt: int, fraction: float) -> None:
    d = RetryPolicy().delay(attempt, BACKOFF, rand=lambda: fraction)
    assert 0.0 <= d <= 8.0


def test_transient_failures_are_retried_at_most_max_retries_times() -> None:
    policy = RetryPolicy(max_retries=3)
    assert [policy.should_retry(a, BACKOFF) for a in range(5)] == [True, True, True, False, False]
    assert not RetryPolicy(max_retries=0).should_retry(0, BACKOFF)


def test_auth_failure_is_retried_once() -> None:
    policy = RetryPolicy(max_retries=5)
    auth = classify(190)
    assert policy.should_retry(0, auth)
    assert not policy.should_retry(1, auth)


# --- adaptive rate ------------------------------------------------------------------------


def test_throttling_halves_the_rate() -> None:
    rate = AdaptiveRate(configured=80.0, floor=1.0)
    assert rate.current(0.0) == 80.0
    assert rate.on_throttle(10.0) == 40.0
    assert rate.current(10.0) == 40.0


def test_rate_recovers_additively_to_the_configured_rate() -> None:
    rate = AdaptiveRate(configured=80.0, floor=1.0, increase_per_second=4.0)
    rate.on_throttle(10.0)
    assert rate.on_success(12.0) == 48.0
    assert rate.current(15.0) == 60.0
    assert rate.on_success(100.0) == 80.0
    assert rate.current(1_000.0) == 80.0


def test_default_recovery_takes_thirty_seconds_from_zero() -> None:
    rate = AdaptiveRate(configured=60.0, floor=1.0)
    assert rate.increase_per_second == 2.0


def test_rate_never_drops_below_the_floor() -> None:
    rate = AdaptiveRate(configured=80.0, floor=30.0, cooldown=0.0)
    assert rate.on_throttle(1.0) == 40.0
    assert rate.on_throttle(1.0) == 30.0
    assert rate.on_throttle(1.0) == 30.0


def test_a_burst_of_throttles_within_the_cooldown_cuts_once() -> None:
    rate = AdaptiveRate(configured=80.0, floor=1.0, increase_per_second=0.0, cooldown=1.0)
    assert [rate.on_throttle(t) for t in (5.0, 5.1, 5.9)] == [40.0, 40.0, 40.0]
    assert rate.on_throttle(6.0) == 20.0


def test_custom_decrease_factor() -> None:
    rate = AdaptiveRate(configured=100.0, floor=1.0, decrease=0.8)
    assert rate.on_throttle(0.0) == 80.0


def test_a_clock_going_backwards_recovers_nothing() -> None:
    rate = AdaptiveRate(configured=80.0, floor=1.0, increase_per_second=4.0)
    rate.on_throttle(10.0)
    assert rate.current(5.0) == 40.0
    assert rate.on_success(5.0) == 40.0
    assert rate.current(11.0) == 44.0


def test_success_at_full_rate_keeps_the_configured_rate() -> None:
    rate = AdaptiveRate(configured=80.0, floor=1.0)
    assert rate.on_success(3.0) == 80.0


@pytest.mark.parametrize(
    "kwargs",
    [
        {"configured": 0.0, "floor": 1.0},
        {"configured": 10.0, "floor": 0.0},
        {"configured": 10.0, "floor": 11.0},
        {"configured": 10.0, "floor": 1.0, "decrease": 1.0},
        {"configured": 10.0, "floor": 1.0, "decrease": 0.0},
        {"configured": 10.0, "floor": 1.0, "increase_per_second": -1.0},
        {"configured": 10.0, "floor": 1.0, "cooldown": -1.0},
        {"configured": math.nan, "floor": 1.0},
    ],
)
def test_invalid_adaptive_rate_settings_are_rejected(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        AdaptiveRate(**kwargs)


@given(
    events=st.lists(
        st.tuples(st.booleans(), st.floats(min_value=0, max_value=1e6, allow_nan=False)),
        max_size=50,
    )
)
def test_rate_always_stays_between_floor_and_configured(
    events: list[tuple[bool, float]],
) -> None:
    rate = AdaptiveRate(configured=80.0, floor=2.0)
    for throttled, now in events:
        value = rate.on_throttle(now) if throttled else rate.on_success(now)
        assert 2.0 <= value <= 80.0
        assert 2.0 <= rate.current(now) <= 80.0


def test_an_upgrade_moves_the_rate_to_the_new_ceiling_even_after_a_cut() -> None:
    rate = AdaptiveRate(configured=80.0, floor=1.0)
    rate.on_throttle(now=100.0)  # 40
    assert rate.reconfigure(1000.0, 12.5, now=100.0) == 1000.0
    assert rate.current(200.0) == 1000.0
    assert (rate.configured, rate.floor) == (1000.0, 12.5)


def test_a_downgrade_caps_the_rate_and_keeps_a_deeper_cut() -> None:
    full = AdaptiveRate(configured=1000.0, floor=12.5)
    assert full.reconfigure(80.0, 1.0, now=10.0) == 80.0
    cut = AdaptiveRate(configured=1000.0, floor=12.5, cooldown=0.0)
    cut.on_throttle(now=10.0)
    cut.on_throttle(now=10.0)
    cut.on_throttle(now=10.0)
    cut.on_throttle(now=10.0)  # 62.5, below the new ceiling
    assert cut.reconfigure(80.0, 1.0, now=10.0) == 62.5
    assert cut.current(10.0 + 30.0) == 80.0  # recovers at 80/30 per second, up to 80


def test_reconfigure_refuses_a_rate_it_cannot_hold() -> None:
    rate = AdaptiveRate(configured=80.0, floor=1.0)
    with pytest.raises(ValueError):
        rate.reconfigure(0.0, 0.0, now=1.0)
    with pytest.raises(ValueError):
        rate.reconfigure(20.0, 30.0, now=1.0)
