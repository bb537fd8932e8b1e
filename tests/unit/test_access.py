"""Caller access policy (SPEC §4.10): the auth document, tokens, roles, categories."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from sidecar.api._gen.wasidecar.v1 import consent_pb2, send_pb2, verify_pb2
from sidecar.policy.access import (
    REQUIRED_ROLE,
    AccessFileError,
    AccessPolicy,
    Role,
    category_refusal,
    is_open,
    permits,
    token_sha256,
)
from sidecar.policy.types import Category, Reason

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]


def doc(*principals: dict[str, Any]) -> dict[str, Any]:
    return {"principals": list(principals)}


def entry(name: str, token: str, roles: list[str], **more: Any) -> dict[str, Any]:
    return {"name": name, "token_sha256": token_sha256(token), "roles": roles, **more}


POLICY = AccessPolicy.from_document(
    doc(
        entry("checkout", "tok-checkout", ["sender"], categories=["UTILITY", "authentication"]),
        entry("ops", "tok-ops", ["consent-admin", "auditor"]),
        entry("webhooks", "tok-webhooks", ["webhook"]),
    )
)


def test_every_rpc_of_every_service_needs_a_role() -> None:
    methods = {
        f"/wasidecar.v1.{service.name}/{method.name}"
        for module in (send_pb2, verify_pb2, consent_pb2)
        for service in module.DESCRIPTOR.services_by_name.values()
        for method in service.methods
    }
    assert methods == set(REQUIRED_ROLE)


def test_the_role_table_is_the_one_spec_gives() -> None:
    assert REQUIRED_ROLE["/wasidecar.v1.SendService/SendBatch"] is Role.SENDER
    assert REQUIRED_ROLE["/wasidecar.v1.SendService/ResolveInDoubt"] is Role.SENDER
    assert REQUIRED_ROLE["/wasidecar.v1.VerifyService/VerifyWebhook"] is Role.WEBHOOK
    assert REQUIRED_ROLE["/wasidecar.v1.ConsentService/Get"] is Role.CONSENT_WRITER
    assert REQUIRED_ROLE["/wasidecar.v1.ConsentService/EraseSubject"] is Role.CONSENT_ADMIN
    assert REQUIRED_ROLE["/wasidecar.v1.ConsentService/ExportSubject"] is Role.CONSENT_ADMIN
    assert REQUIRED_ROLE["/wasidecar.v1.ConsentService/ApproveOperation"] is Role.APPROVER
    assert REQUIRED_ROLE["/wasidecar.v1.ConsentService/VerifyAudit"] is Role.AUDITOR


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ("Bearer tok-checkout", "checkout"),
        ("bearer tok-ops", "ops"),
        ("BEARER   tok-webhooks  ", "webhooks"),
        ("Bearer tok-unknown", None),
        ("Bearer ", None),
        ("tok-checkout", None),  # no scheme
        ("Basic tok-checkout", None),
        ("", None),
        (None, None),
    ],
)
def test_a_bearer_token_names_its_principal(header: str | None, name: str | None) -> None:
    principal = POLICY.authenticate(header)
    assert (principal.name if principal else None) == name


def test_a_hash_in_upper_case_is_the_same_hash() -> None:
    upper = AccessPolicy.from_document(
        doc({"name": "a", "token_sha256": token_sha256("t").upper(), "roles": ["sender"]})
    )
    assert upper.authenticate("Bearer t") is not None


def test_roles_decide_what_a_principal_may_call() -> None:
    checkout = POLICY.authenticate("Bearer tok-checkout")
    ops = POLICY.authenticate("Bearer tok-ops")
    assert checkout is not None and ops is not None
    assert permits(checkout, "/wasidecar.v1.SendService/Send")
    assert not permits(checkout, "/wasidecar.v1.ConsentService/Grant")
    assert permits(ops, "/wasidecar.v1.ConsentService/EraseSubject")
    assert not permits(ops, "/wasidecar.v1.ConsentService/ApproveOperation")
    assert not permits(ops, "/wasidecar.v1.SendService/Send")
    assert not permits(ops, "/wasidecar.v1.ConsentService/NoSuchMethod")  # deny by default


def test_health_and_reflection_are_open() -> None:
    assert is_open("/grpc.health.v1.Health/Check")
    assert is_open("/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")
    assert not is_open("/wasidecar.v1.SendService/Send")


def test_categories_limit_what_a_sender_may_send() -> None:
    checkout = POLICY.authenticate("Bearer tok-checkout")
    assert checkout is not None
    assert category_refusal(checkout, Category.UTILITY) is None
    assert category_refusal(checkout, Category.AUTHENTICATION) is None
    refusal = category_refusal(checkout, Category.MARKETING)
    assert refusal is not None and not refusal.allowed
    assert refusal.reason is Reason.PERMISSION_DENIED
    assert "MARKETING" in refusal.detail and "checkout" in refusal.detail
    unlimited = POLICY.authenticate("Bearer tok-ops")
    assert category_refusal(unlimited, Category.MARKETING) is None  # no categories: any
    assert category_refusal(None, Category.MARKETING) is None  # auth off


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        (None, "principals: a list"),
        ({"principals": {}}, "principals: a list"),
        (doc("x"), r"principals\[0\]: must be a mapping"),
        (doc({"token_sha256": "0" * 64, "roles": ["sender"]}), r"principals\[0\]\.name"),
        (doc({"name": " bad", "token_sha256": "0" * 64, "roles": ["sender"]}), r"\.name"),
        (doc({"name": "a", "token_sha256": "abc", "roles": ["sender"]}), r"\.token_sha256"),
        (doc({"name": "a", "token": "plain", "roles": ["sender"]}), "unknown field 'token'"),
        (doc({"name": "a", "token_sha256": "0" * 64, "roles": []}), r"\.roles: a non-empty"),
        (doc({"name": "a", "token_sha256": "0" * 64, "roles": ["root"]}), "unknown role 'root'"),
        (
            doc({"name": "a", "token_sha256": "0" * 64, "roles": ["sender"], "categories": "X"}),
            r"\.categories: a list",
        ),
        (
            doc({"name": "a", "token_sha256": "0" * 64, "roles": ["sender"], "categories": ["X"]}),
            "unknown category 'X'",
        ),
        (
            doc(entry("a", "t1", ["sender"]), entry("a", "t2", ["sender"])),
            r"principals\[1\]\.name: 'a' appears twice",
        ),
        (
            doc(entry("a", "t1", ["sender"]), entry("b", "t1", ["sender"])),
            r"principals\[1\]\.token_sha256: another principal",
        ),
    ],
)
def test_an_invalid_document_is_refused_naming_the_entry(document: Any, problem: str) -> None:
    with pytest.raises(AccessFileError, match=problem):
        AccessPolicy.from_document(document)


def test_the_documented_example_file_is_valid() -> None:
    import yaml

    text = (ROOT / "examples" / "auth.yaml").read_text()
    policy = AccessPolicy.from_document(yaml.safe_load(text))
    assert len(policy) >= 2
    assert not re.search(r"^\s*-?\s*token:", text, re.MULTILINE)  # hashes only
