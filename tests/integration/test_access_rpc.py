"""Caller access control and four-eyes erasure (SPEC §4.10) on a real sidecar process.

The sidecar runs with ``WA_SIDECAR_AUTH_FILE``: every call but health needs
a bearer token whose principal has the method's role; a role denial is
audited; a sender's categories limit what it may send (refusals are
answers); the audit actor is the token's principal, never what the caller
claims; ``EraseSubject`` only records a pending operation that a different
approver runs, and that operation survives kill -9; so does
``OverrideSuppression``, the only way past a user's own opt-out besides the
user. The file is re-read when it changes; a broken version keeps the
previous principals.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest
import yaml
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sidecar.api._gen.wasidecar.v1 import (
    common_pb2,
    consent_pb2,
    consent_pb2_grpc,
    send_pb2,
    send_pb2_grpc,
    verify_pb2,
    verify_pb2_grpc,
)
from sidecar.crypto.fields import FieldCipher
from sidecar.crypto.keys import Keyring
from sidecar.devkey import load_keyring
from sidecar.policy.types import Category
from sidecar.service.consent import Proof
from sidecar.service.operations import Operations, OperationStatus
from sidecar.simulator import SimulatorHandle
from sidecar.testing import Embedded, SidecarProcess, inbound_text, signature

pytestmark = pytest.mark.integration

NUMBER = "+14155552671"
OTHER = "+442079460123"

PRINCIPALS: dict[str, tuple[list[str], list[str] | None]] = {
    # name: (roles, categories)
    "checkout": (["sender"], ["UTILITY", "AUTHENTICATION"]),
    "crm": (["consent-writer"], None),
    "dpo": (["consent-admin", "auditor"], None),
    "legal": (["approver", "auditor"], None),
    "boss": (["consent-admin", "approver"], None),
    "meta": (["webhook"], None),
    "campaigns": (["sender"], None),
}


def token(name: str) -> str:
    return f"{name}-secret-token"


def metadata(name: str, *extra: tuple[str, str]) -> Sequence[tuple[str, str]]:
    return (("authorization", f"Bearer {token(name)}"), *extra)


def write_auth_file(path: Path, names: Sequence[str]) -> None:
    principals = []
    for name in names:
        roles, categories = PRINCIPALS[name]
        entry: dict[str, Any] = {
            "name": name,
            "token_sha256": hashlib.sha256(token(name).encode()).hexdigest(),
            "roles": roles,
        }
        if categories is not None:
            entry["categories"] = categories
        principals.append(entry)
    # Replace, as a Kubernetes Secret volume does: readers never see half a file.
    scratch = path.with_suffix(".tmp")
    scratch.write_text(yaml.safe_dump({"principals": principals}))
    os.replace(scratch, path)


@pytest.fixture
def auth_file(tmp_path: Path) -> Path:
    path = tmp_path / "auth.yaml"
    write_auth_file(path, list(PRINCIPALS))
    return path


@pytest.fixture
async def guarded(
    tmp_path: Path, simulator: SimulatorHandle, auth_file: Path
) -> AsyncIterator[SidecarProcess]:
    """A sidecar process with every principal of ``PRINCIPALS`` in its auth file."""
    env = {"WA_SIDECAR_AUTH_FILE": str(auth_file)}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        yield proc


def otp(to: str = NUMBER, key: str = "") -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        idempotency_key=key,
        category=common_pb2.CATEGORY_AUTHENTICATION,
        template=send_pb2.Template(name="otp", language=send_pb2.TemplateLanguage(code="en")),
    )


def promo(to: str = NUMBER, key: str = "") -> send_pb2.SendRequest:
    return send_pb2.SendRequest(
        to=to,
        idempotency_key=key,
        category=common_pb2.CATEGORY_MARKETING,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )


def grant(number: str = NUMBER) -> consent_pb2.GrantRequest:
    return consent_pb2.GrantRequest(
        phone_number=number,
        categories=[common_pb2.CATEGORY_MARKETING],
        source="web-form",
        notice_version="v3",
        jurisdiction=consent_pb2.JURISDICTION_GDPR,
    )


async def audit_entries(consent: consent_pb2_grpc.ConsentServiceStub) -> list[Any]:
    reply = await consent.ListAudit(
        consent_pb2.ListAuditRequest(page_size=500), metadata=metadata("dpo")
    )
    return list(reply.entries)


async def metric(proc: SidecarProcess, prefix: str) -> float:
    async with aiohttp.ClientSession() as http, http.get(proc.admin_url + "/metrics") as reply:
        text = await reply.text()
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(prefix))


async def test_without_a_valid_token_only_health_answers(
    guarded: SidecarProcess,
    simulator: SimulatorHandle,
) -> None:
    proc = guarded
    send = send_pb2_grpc.SendServiceStub(proc.channel)
    verify = verify_pb2_grpc.VerifyServiceStub(proc.channel)
    health = health_pb2_grpc.HealthStub(proc.channel)
    assert (
        await health.Check(health_pb2.HealthCheckRequest())
    ).status == health_pb2.HealthCheckResponse.SERVING
    for meta in (None, [("authorization", "Bearer wrong")], [("authorization", token("crm"))]):
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await send.Send(otp(), metadata=meta)
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
        assert "Bearer" in (err.value.details() or "")
    # Streams are refused the same way, before any request is read (the
    # client need not write: the call ends with the refusal).
    batch = send.SendBatch(metadata=[("authorization", "Bearer wrong")])
    assert await batch.code() == grpc.StatusCode.UNAUTHENTICATED
    events = verify.StreamEvents(verify_pb2.StreamEventsRequest())
    assert await events.code() == grpc.StatusCode.UNAUTHENTICATED
    assert simulator.state.stats.received == 0
    assert await metric(proc, 'wa_sidecar_access_denials_total{reason="unauthenticated"}') == 5
    # The token never reaches the log.
    assert token("crm") not in proc.log_text()


async def test_roles_decide_and_a_role_denial_is_audited(
    guarded: SidecarProcess,
    simulator: SimulatorHandle,
) -> None:
    proc = guarded
    send = send_pb2_grpc.SendServiceStub(proc.channel)
    consent = consent_pb2_grpc.ConsentServiceStub(proc.channel)
    sent = await send.Send(otp(key="k-1"), metadata=metadata("checkout"))
    assert sent.outcome == send_pb2.OUTCOME_SENT
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await consent.Grant(grant(), metadata=metadata("checkout"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "'checkout'" in (err.value.details() or "")
    assert "'consent-writer'" in (err.value.details() or "")
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await send.Send(otp(key="k-2"), metadata=metadata("crm"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert simulator.state.stats.received == 1

    denials = [e for e in await audit_entries(consent) if e.action == "access.denied"]
    assert [(e.actor, json.loads(e.detail_json)["method"]) for e in denials] == [
        ("checkout", "/wasidecar.v1.ConsentService/Grant"),
        ("crm", "/wasidecar.v1.SendService/Send"),
    ]
    assert await metric(proc, 'wa_sidecar_access_denials_total{reason="permission_denied"}') == 2
    verified = await consent.VerifyAudit(consent_pb2.VerifyAuditRequest(), metadata=metadata("dpo"))
    assert verified.ok


async def test_a_sender_limited_to_some_categories_gets_the_rest_refused_as_answers(
    guarded: SidecarProcess,
    simulator: SimulatorHandle,
) -> None:
    proc = guarded
    send = send_pb2_grpc.SendServiceStub(proc.channel)
    consent = consent_pb2_grpc.ConsentServiceStub(proc.channel)
    await consent.Grant(grant(), metadata=metadata("crm"))  # consent is not the reason
    decision = await send.Check(promo(), metadata=metadata("checkout"))
    assert not decision.allowed
    assert decision.reason == common_pb2.REASON_PERMISSION_DENIED
    assert "MARKETING" in decision.detail
    refused = await send.Send(promo(key="p-1"), metadata=metadata("checkout"))
    assert refused.outcome == send_pb2.OUTCOME_REJECTED
    assert refused.decision.reason == common_pb2.REASON_PERMISSION_DENIED
    queued = await send.Enqueue(promo(key="p-2"), metadata=metadata("checkout"))
    assert queued.outcome == send_pb2.OUTCOME_REJECTED
    assert queued.decision.reason == common_pb2.REASON_PERMISSION_DENIED

    batch = send.SendBatch(metadata=metadata("checkout"))
    await batch.write(promo(key="b-promo"))
    await batch.write(otp(key="b-otp"))
    await batch.done_writing()
    answers = {r.idempotency_key: r async for r in batch}
    assert answers["b-promo"].outcome == send_pb2.OUTCOME_REJECTED
    assert answers["b-promo"].decision.reason == common_pb2.REASON_PERMISSION_DENIED
    assert answers["b-otp"].outcome == send_pb2.OUTCOME_SENT
    # Only the permitted send reached Meta; a refused key stays unused.
    assert simulator.state.stats.received == 1
    status = await send.GetSendStatus(
        send_pb2.GetSendStatusRequest(idempotency_key="p-1"), metadata=metadata("checkout")
    )
    assert not status.found


async def test_the_audit_actor_is_the_tokens_principal_not_what_the_caller_claims(
    guarded: SidecarProcess,
) -> None:
    proc = guarded
    consent = consent_pb2_grpc.ConsentServiceStub(proc.channel)
    claimed = ("x-wa-sidecar-principal", "legal")
    state = await consent.Grant(grant(), metadata=metadata("crm", claimed))
    [marketing] = [c for c in state.categories if c.category == common_pb2.CATEGORY_MARKETING]
    assert marketing.proof.actor == "crm"
    [entry] = [e for e in await audit_entries(consent) if e.action == "consent.grant"]
    assert entry.actor == "crm"


async def test_erasure_needs_a_second_principal_and_its_request_survives_kill_9(
    tmp_path: Path, simulator: SimulatorHandle, auth_file: Path
) -> None:
    env = {"WA_SIDECAR_AUTH_FILE": str(auth_file)}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as first:
        consent = consent_pb2_grpc.ConsentServiceStub(first.channel)
        await consent.Grant(grant(), metadata=metadata("crm"))
        asked = await consent.EraseSubject(
            consent_pb2.EraseSubjectRequest(phone_number=NUMBER, reason="art. 17 request"),
            metadata=metadata("dpo"),
        )
        assert asked.status == consent_pb2.OPERATION_STATUS_PENDING_APPROVAL
        assert asked.operation_id and not asked.HasField("receipt")
        # Nothing is erased yet.
        state = await consent.Get(
            consent_pb2.GetRequest(phone_number=NUMBER), metadata=metadata("crm")
        )
        assert state.categories[0].status == consent_pb2.CONSENT_STATUS_GRANTED
        # The requester may not approve (dpo has no approver role at all) …
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await consent.ApproveOperation(
                consent_pb2.ApproveOperationRequest(operation_id=asked.operation_id),
                metadata=metadata("dpo"),
            )
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        first.kill()
    assert NUMBER not in first.log_text()

    async with SidecarProcess(tmp_path, first.env, graph_url=simulator.url) as second:
        consent = consent_pb2_grpc.ConsentServiceStub(second.channel)
        approve = consent_pb2.ApproveOperationRequest(operation_id=asked.operation_id)
        done = await consent.ApproveOperation(approve, metadata=metadata("legal"))
        assert done.status == consent_pb2.OPERATION_STATUS_COMPLETED
        assert (done.receipt.erased_by, done.receipt.approved_by) == ("dpo", "legal")
        assert done.receipt.suppression_kept is False and done.receipt.digest
        state = await consent.Get(
            consent_pb2.GetRequest(phone_number=NUMBER), metadata=metadata("crm")
        )
        assert all(c.status == consent_pb2.CONSENT_STATUS_UNKNOWN for c in state.categories)
        # Asking again answers the same receipt; nothing runs twice.
        again = await consent.ApproveOperation(approve, metadata=metadata("boss"))
        assert again.status == consent_pb2.OPERATION_STATUS_COMPLETED
        assert again.receipt.digest == done.receipt.digest
        actions = [(e.action, e.actor) for e in await audit_entries(consent)]
        assert ("operation.requested", "dpo") in actions
        assert actions.count(("subject.erase", "dpo")) == 1

        with pytest.raises(grpc.aio.AioRpcError) as err:
            await consent.ApproveOperation(
                consent_pb2.ApproveOperationRequest(operation_id="f" * 32),
                metadata=metadata("legal"),
            )
        assert err.value.code() == grpc.StatusCode.NOT_FOUND
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await consent.ApproveOperation(
                consent_pb2.ApproveOperationRequest(), metadata=metadata("legal")
            )
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "operation_id" in (err.value.details() or "")


async def test_self_approval_is_denied(guarded: SidecarProcess) -> None:
    consent = consent_pb2_grpc.ConsentServiceStub(guarded.channel)
    erase = consent_pb2.EraseSubjectRequest(phone_number=OTHER, reason="asked")
    asked = await consent.EraseSubject(erase, metadata=metadata("boss"))
    approve = consent_pb2.ApproveOperationRequest(operation_id=asked.operation_id)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await consent.ApproveOperation(approve, metadata=metadata("boss"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "different principal" in (err.value.details() or "")
    assert not [e for e in await audit_entries(consent) if e.action == "subject.erase"]


async def test_an_operation_not_approved_in_time_expires_and_erases_nothing(
    sidecar: Embedded,
) -> None:
    """The approval window, on the sidecar's own store and consent service,
    with a clock the test moves (no waiting)."""
    runtime = sidecar.runtime
    now = [1_000_000.0]
    ops = Operations(
        runtime.stores.state,
        runtime.consent,
        FieldCipher(load_keyring(sidecar.settings)),
        ttl=60.0,
        clock=lambda: now[0],
    )
    view = await runtime.consent.grant(
        NUMBER, [Category.MARKETING], Proof(source="web-form"), actor="crm"
    )
    assert view.categories
    asked = await ops.request_erasure(NUMBER, "asked", requested_by="dpo")
    assert (asked.status, asked.expires_at) == (OperationStatus.PENDING_APPROVAL, now[0] + 60)
    now[0] += 60.0  # the window is [created, expires): at its end it is over
    late = await ops.approve(asked.id, approver="legal")
    assert (late.status, late.receipt) == (OperationStatus.EXPIRED, None)
    current = await runtime.consent.get(NUMBER)
    assert [c.status for c in current.categories if c.category is Category.MARKETING] == ["granted"]
    assert await runtime.stores.state.purge_operations(now[0] + 1) == 1


async def test_the_auth_file_is_reloaded_and_a_broken_version_keeps_the_old_one(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    path = tmp_path / "auth.yaml"
    write_auth_file(path, ["crm"])
    env = {"WA_SIDECAR_AUTH_FILE": str(path)}
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        send = send_pb2_grpc.SendServiceStub(proc.channel)

        async def checkout_code() -> grpc.StatusCode:
            try:
                await send.Check(otp(), metadata=metadata("checkout"))
            except grpc.aio.AioRpcError as exc:
                return exc.code()
            return grpc.StatusCode.OK

        assert await checkout_code() == grpc.StatusCode.UNAUTHENTICATED
        write_auth_file(path, ["crm", "checkout"])
        deadline = time.monotonic() + 15
        while await checkout_code() != grpc.StatusCode.OK:
            assert time.monotonic() < deadline, "the new principal was never admitted"
            await asyncio.sleep(0.1)
        assert await metric(proc, 'wa_sidecar_access_reloads_total{result="ok"}') == 1

        scratch = path.with_suffix(".tmp")
        scratch.write_text("principals: [ {name: checkout, roles: [root] } ]\n")
        os.replace(scratch, path)
        deadline = time.monotonic() + 15
        while await metric(proc, 'wa_sidecar_access_reloads_total{result="invalid"}') < 1:
            assert time.monotonic() < deadline, "the broken file was never noticed"
            await asyncio.sleep(0.1)
        assert await checkout_code() == grpc.StatusCode.OK  # previous principals stay
        assert "auth file is invalid" in proc.log_text()


def test_a_broken_auth_file_stops_start_up_and_check_config_names_the_problem(
    tmp_path: Path,
) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text("principals:\n  - name: a\n    token_sha256: abc\n    roles: [sender]\n")
    env = {**os.environ, "WA_SIDECAR_AUTH_FILE": str(path)}
    checked = subprocess.run(
        [sys.executable, "-m", "sidecar", "check-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert checked.returncode == 1
    assert "WA_SIDECAR_AUTH_FILE" in checked.stderr
    assert "principals[0].token_sha256" in checked.stderr
    path.write_text(
        "principals:\n  - name: a\n    token_sha256: " + "ab" * 32 + "\n    roles: [sender]\n"
    )
    ok = subprocess.run(
        [sys.executable, "-m", "sidecar", "check-config"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert ok.returncode == 0, ok.stderr
    assert "1 principals" in ok.stdout


async def test_serve_refuses_to_start_on_a_broken_auth_file(
    tmp_path: Path, simulator: SimulatorHandle
) -> None:
    path = tmp_path / "auth.yaml"
    path.write_text(
        "principals:\n  - name: a\n    token_sha256: " + "ab" * 32 + "\n    roles: []\n"
    )
    proc = SidecarProcess(tmp_path, {"WA_SIDECAR_AUTH_FILE": str(path)}, graph_url=simulator.url)
    proc.start()
    try:
        assert await proc.wait(60) != 0
    finally:
        await proc.stop()
    log = proc.log_text()
    assert "WA_SIDECAR_AUTH_FILE" in log and "principals[0].roles" in log


# --------------------------------------------------------------------------- suppression override


def stop_from(number: str) -> verify_pb2.WebhookRequest:
    body = inbound_text(number[1:], "STOP")
    return verify_pb2.WebhookRequest(body=body, signature=signature(body), remote_ip="127.0.0.1")


def override(number: str = NUMBER, reason: str = "re-subscribed by phone, ticket 4711") -> Any:
    return consent_pb2.OverrideSuppressionRequest(
        phone_number=number, categories=[common_pb2.CATEGORY_MARKETING], reason=reason
    )


@pytest.mark.parametrize("state", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def test_a_users_stop_is_overridden_only_by_two_principals(
    tmp_path: Path,
    simulator: SimulatorHandle,
    auth_file: Path,
    request: pytest.FixtureRequest,
    state: str,
) -> None:
    env = {"WA_SIDECAR_AUTH_FILE": str(auth_file)}
    if state == "postgres":
        env["WA_SIDECAR_STATE_URL"] = request.getfixturevalue("postgres_databases")()
        env["WA_SIDECAR_ENCRYPTION_KEY"] = Keyring.generate()
    async with SidecarProcess(tmp_path, env, graph_url=simulator.url) as proc:
        consent = consent_pb2_grpc.ConsentServiceStub(proc.channel)
        send = send_pb2_grpc.SendServiceStub(proc.channel)
        verify = verify_pb2_grpc.VerifyServiceStub(proc.channel)

        async def refused() -> bool:
            decision = await send.Check(promo(), metadata=metadata("campaigns"))
            return decision.reason == common_pb2.REASON_OPTED_OUT

        assert (await verify.VerifyWebhook(stop_from(NUMBER), metadata=metadata("meta"))).valid
        stands = await consent.Grant(grant(), metadata=metadata("crm"))
        assert stands.suppression_stands and await refused()
        # A consent-writer may not ask for an override at all.
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await consent.OverrideSuppression(override(), metadata=metadata("crm"))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        # One consent-admin asks: nothing is lifted yet.
        asked = await consent.OverrideSuppression(override(), metadata=metadata("dpo"))
        assert asked.status == consent_pb2.OPERATION_STATUS_PENDING_APPROVAL and asked.operation_id
        assert await refused()
        approve = consent_pb2.ApproveOperationRequest(operation_id=asked.operation_id)
        with pytest.raises(grpc.aio.AioRpcError) as err:
            await consent.ApproveOperation(approve, metadata=metadata("dpo"))
        assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
        assert await refused()

        # A different approver runs it: the recorded grant now counts.
        done = await consent.ApproveOperation(approve, metadata=metadata("legal"))
        assert done.status == consent_pb2.OPERATION_STATUS_COMPLETED
        assert not done.HasField("receipt")
        got = done.override_receipt
        assert (got.requested_by, got.approved_by) == ("dpo", "legal")
        assert list(got.categories) == [common_pb2.CATEGORY_MARKETING]
        assert got.subject_index == stands.subject_index and got.digest
        assert (await send.Check(promo(), metadata=metadata("campaigns"))).allowed
        again = await consent.ApproveOperation(approve, metadata=metadata("boss"))
        assert again.override_receipt == got

        entries = await audit_entries(consent)
        [requested] = [e for e in entries if e.action == "operation.requested"]
        assert json.loads(requested.detail_json)["kind"] == "override_suppression"
        [lifted] = [e for e in entries if e.action == "consent.override"]
        detail = json.loads(lifted.detail_json)
        assert (lifted.actor, detail["approved_by"]) == ("dpo", "legal")
        assert detail["digest"] == got.digest
        assert detail["categories"] == ["marketing"]
        assert "ticket" not in lifted.detail_json  # the reason stays out of the audit log
        verified = await consent.VerifyAudit(
            consent_pb2.VerifyAuditRequest(), metadata=metadata("dpo")
        )
        assert verified.ok
    assert NUMBER not in proc.log_text()


async def test_an_override_approved_by_its_requester_is_denied(guarded: SidecarProcess) -> None:
    consent = consent_pb2_grpc.ConsentServiceStub(guarded.channel)
    verify = verify_pb2_grpc.VerifyServiceStub(guarded.channel)
    send = send_pb2_grpc.SendServiceStub(guarded.channel)
    await verify.VerifyWebhook(stop_from(NUMBER), metadata=metadata("meta"))
    await consent.Grant(grant(), metadata=metadata("crm"))
    asked = await consent.OverrideSuppression(override(), metadata=metadata("boss"))
    approve = consent_pb2.ApproveOperationRequest(operation_id=asked.operation_id)
    with pytest.raises(grpc.aio.AioRpcError) as err:
        await consent.ApproveOperation(approve, metadata=metadata("boss"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert "different principal" in (err.value.details() or "")
    decision = await send.Check(promo(), metadata=metadata("campaigns"))
    assert decision.reason == common_pb2.REASON_OPTED_OUT
    assert not [e for e in await audit_entries(consent) if e.action == "consent.override"]
