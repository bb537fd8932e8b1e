"""The Python client's pure parts: backoff, options, request building, answers read as errors."""

from __future__ import annotations

import grpc
import pytest
from google.protobuf.duration_pb2 import Duration
from wa_sidecar_client import (
    ClientOptions,
    InvalidArgument,
    RetryPolicy,
    SendFailed,
    SendRefused,
    Unavailable,
    WebhookRejected,
    _calls,
)
from wa_sidecar_client.errors import RpcError
from wa_sidecar_client.v1 import common_pb2, send_pb2, verify_pb2

pytestmark = pytest.mark.unit


def test_backoff_grows_to_its_ceiling_with_full_jitter() -> None:
    policy = RetryPolicy(max_attempts=6, initial_backoff=0.1, max_backoff=0.5)
    assert list(policy.backoffs(rand=lambda: 1.0)) == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])
    assert list(policy.backoffs(rand=lambda: 0.0)) == [0.0] * 5
    assert list(RetryPolicy(max_attempts=1).backoffs()) == []


def test_a_policy_without_attempts_or_with_a_reversed_range_is_refused() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="initial_backoff"):
        RetryPolicy(initial_backoff=3, max_backoff=1)


def test_only_unavailable_is_retried_and_never_past_the_deadline() -> None:
    attempts = _calls.Attempts(RetryPolicy(initial_backoff=0.01, max_backoff=0.01), 5.0)
    assert attempts.retry_after(RpcError(grpc.StatusCode.INTERNAL, "x")) is None
    assert attempts.retry_after(Unavailable(grpc.StatusCode.UNAVAILABLE, "x")) is not None
    late = _calls.Attempts(RetryPolicy(initial_backoff=5, max_backoff=5), 0.001)
    for _ in range(20):  # full jitter: some draw is ≥ the 1 ms left
        if late.retry_after(Unavailable(grpc.StatusCode.UNAVAILABLE, "x")) is None:
            break
    else:
        pytest.fail("a wait past the deadline was allowed")


def test_options_take_arguments_over_the_environment_and_hide_the_token() -> None:
    env = {"WASIDECAR_ADDR": "10.0.0.1:50051", "WASIDECAR_TOKEN": "s3cret"}
    assert ClientOptions.from_env(env).address == "10.0.0.1:50051"
    assert ClientOptions.from_env(env, address="127.0.0.1:1").address == "127.0.0.1:1"
    options = ClientOptions.from_env(env, token="other")
    assert options.token == "other"
    assert "other" not in repr(options)
    assert ClientOptions.from_env({}).token is None


def test_metadata_carries_the_bearer_token() -> None:
    assert ("authorization", "Bearer t0k") in _calls.metadata(ClientOptions(token="t0k"))
    assert not [k for k, _ in _calls.metadata(ClientOptions()) if k == "authorization"]


def test_categories_by_name_in_any_case_or_by_enum() -> None:
    assert _calls.to_category("marketing") == common_pb2.CATEGORY_MARKETING
    assert _calls.to_category("CATEGORY_UTILITY") == common_pb2.CATEGORY_UTILITY
    assert _calls.to_category(common_pb2.CATEGORY_SERVICE) == common_pb2.CATEGORY_SERVICE
    with pytest.raises(ValueError, match="category"):
        _calls.to_category("PROMO")


def test_sends_without_a_key_get_one_and_keep_a_given_one() -> None:
    keyless = send_pb2.SendRequest(to="+16505551234")
    keyed = _calls.with_key(keyless)
    assert keyed.idempotency_key.startswith("py-")
    assert not keyless.idempotency_key  # the caller's request is left alone
    given = send_pb2.SendRequest(idempotency_key="order-1")
    assert _calls.with_key(given).idempotency_key == "order-1"


def test_a_parsed_body_is_refused_before_any_call() -> None:
    with pytest.raises(TypeError, match="raw_body"):
        _calls.webhook_request({"object": "x"}, "sha256=00", "127.0.0.1", None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="raw_body"):
        _calls.webhook_request('{"object": "x"}', "sha256=00", "127.0.0.1", None)  # type: ignore[arg-type]


def test_refusals_carry_the_reason_from_the_answer() -> None:
    rejected = send_pb2.SendResponse(
        idempotency_key="k",
        outcome=send_pb2.OUTCOME_REJECTED,
        decision=common_pb2.Decision(
            reason=common_pb2.REASON_QUOTA_EXHAUSTED,
            detail="no token",
            retry_after=Duration(seconds=2),
        ),
    )
    with pytest.raises(SendRefused) as refused:
        _calls.checked_send(rejected)
    assert (refused.value.reason, refused.value.retry_after) == ("REASON_QUOTA_EXHAUSTED", 2.0)
    failed = send_pb2.SendResponse(
        outcome=send_pb2.OUTCOME_FAILED,
        error=send_pb2.SendError(code=131026, message="undeliverable"),
    )
    with pytest.raises(SendFailed, match="131026") as err:
        _calls.checked_send(failed)
    assert err.value.error.code == 131026
    in_doubt = send_pb2.SendResponse(outcome=send_pb2.OUTCOME_IN_DOUBT)
    assert _calls.checked_send(in_doubt) is in_doubt
    bad = verify_pb2.WebhookResult(valid=False, reason=verify_pb2.REJECTION_IP_NOT_ALLOWED)
    with pytest.raises(WebhookRejected) as rejected_hook:
        _calls.checked_webhook(bad)
    assert rejected_hook.value.http_status == 403


def test_invalid_argument_names_the_field_the_sidecar_put_first() -> None:
    assert InvalidArgument(grpc.StatusCode.INVALID_ARGUMENT, "to: must be E.164").field == "to"
    assert InvalidArgument(grpc.StatusCode.INVALID_ARGUMENT, "bad request").field == ""
