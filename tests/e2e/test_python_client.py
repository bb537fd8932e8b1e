"""The Python client (clients/python) against a real ``wa-sidecar serve --with-simulator``.

One sidecar serves the module, with caller auth, the webhook ingress and
tracing to a real OTLP receiver; its event loop runs in a background thread so
the receiver keeps receiving while the (blocking) client calls it. The retry
tests start their own sidecar late, on a port where nothing listened at first.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import pytest
from opentelemetry import trace
from opentelemetry.trace import NonRecordingSpan, SpanContext, TraceFlags
from support.otlp import Receiver, otlp_receiver
from wa_sidecar_client import (
    AsyncSidecarClient,
    InvalidArgument,
    PermissionDenied,
    RetryPolicy,
    SendRefused,
    SidecarClient,
    Unauthenticated,
    Unavailable,
    WebhookRejected,
)
from wa_sidecar_client.v1 import common_pb2, send_pb2

from sidecar.testing import (
    DEV_VERIFY_TOKEN,
    SidecarProcess,
    free_port,
    inbound_text,
    signature,
)

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
CLIENT = str(ROOT / "clients" / "python")
TOKEN = "client-test-token-7f3a"  # a throwaway caller token of this test
AUDITOR_TOKEN = "client-test-auditor-91c2"
T = TypeVar("T")


class Background:
    """An event loop in a thread: the sidecar handle and the OTLP receiver live there."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._thread.start()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Served:
    def __init__(self, proc: SidecarProcess, receiver: Receiver, bg: Background) -> None:
        self.proc = proc
        self.receiver = receiver
        self.bg = bg

    @property
    def addr(self) -> str:
        return self.proc.grpc_addr

    def client(self, **kw: Any) -> SidecarClient:
        return SidecarClient(self.addr, token=kw.pop("token", TOKEN), **kw)

    def post_webhook(self, body: bytes, sig: str) -> int:
        """POST to the sidecar's own ingress, as Meta does; the HTTP status."""
        request = urllib.request.Request(
            self.proc.admin_url + "/webhook",
            data=body,
            headers={"X-Hub-Signature-256": sig, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as reply:
                return int(reply.status)
        except urllib.error.HTTPError as exc:
            return exc.code


def _auth_file(tmp: Path) -> Path:
    def sha(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    path = tmp / "auth.yaml"
    path.write_text(
        "principals:\n"
        f"  - name: app\n    token_sha256: {sha(TOKEN)}\n"
        "    roles: [sender, webhook, consent-writer]\n"
        f"  - name: auditor\n    token_sha256: {sha(AUDITOR_TOKEN)}\n    roles: [auditor]\n"
    )
    return path


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp = tmp_path_factory.mktemp("python-client")
    bg = Background()
    receiver_cm = otlp_receiver()
    receiver, port = bg.run(receiver_cm.__aenter__())
    env = {
        "WA_SIDECAR_AUTH_FILE": str(_auth_file(tmp)),
        "WA_SIDECAR_WEBHOOK_INGRESS": "true",
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    proc = SidecarProcess(tmp, env, args=("--with-simulator",))
    bg.run(proc.__aenter__())
    try:
        yield Served(proc, receiver, bg)
    finally:
        bg.run(proc.__aexit__(None, None, None))
        bg.run(receiver_cm.__aexit__(None, None, None))
        bg.close()


def test_send_template_after_a_grant_reaches_graph(served: Served) -> None:
    with served.client() as client:
        state = client.grant("+16505551234", ["MARKETING"], source="web-form", evidence="form 8812")
        assert not state.suppression_stands
        reply = client.send_template(
            "+16505551234", "spring_sale", category="MARKETING", params=["20%"]
        )
        assert reply.outcome == send_pb2.OUTCOME_SENT
        assert reply.message_id.startswith("wamid.")
        assert reply.idempotency_key.startswith("py-")  # a key was made, so retries are safe


def test_a_text_outside_the_service_window_is_refused_with_its_reason(served: Served) -> None:
    with served.client() as client:
        with pytest.raises(SendRefused) as refused:
            client.send_text("+16505550188", "Your parcel is at the door")
        assert refused.value.reason == "REASON_OUTSIDE_SERVICE_WINDOW"
        reply = client.send_text("+16505550188", "again", check=False)
        assert reply.outcome == send_pb2.OUTCOME_REJECTED


def test_bad_input_is_invalid_argument_naming_the_field_and_not_retried(
    served: Served, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wa_sidecar_client")
    with served.client() as client, pytest.raises(InvalidArgument) as err:
        client.send_text("12345", "hi")
    assert err.value.field == "to"
    assert not [r for r in caplog.records if getattr(r, "event", "") == "retry"]


def test_verify_webhook_accepts_the_raw_bytes_and_refuses_a_tampered_body(
    served: Served,
) -> None:
    body = inbound_text("14155550123", "hello")
    with served.client() as client:
        result = client.verify_webhook(body, signature(body), "127.0.0.1")
        assert result.valid
        assert result.events[0].message.from_number == "14155550123"
        assert result.events[0].message.text == "hello"

        reserialised = json.dumps(json.loads(body), indent=2).encode()
        with pytest.raises(WebhookRejected) as rejected:
            client.verify_webhook(reserialised, signature(body), "127.0.0.1")
        assert rejected.value.reason == "REJECTION_BAD_SIGNATURE"
        assert rejected.value.http_status == 401
        assert client.verify_subscription("subscribe", DEV_VERIFY_TOKEN, "1158") == "1158"
        assert client.verify_subscription("subscribe", "wrong", "1158") is None
        with pytest.raises(TypeError, match="raw_body"):
            client.verify_webhook(json.loads(body), signature(body), "127.0.0.1")


def test_grant_then_revoke_decides_the_next_send(served: Served) -> None:
    number = "+14155550199"
    promo = send_pb2.SendRequest(
        to=number,
        category=common_pb2.CATEGORY_MARKETING,
        template=send_pb2.Template(name="promo", language=send_pb2.TemplateLanguage(code="en")),
    )
    with served.client() as client:
        assert client.check(promo).reason == common_pb2.REASON_NO_CONSENT
        granted = client.grant(number, ["marketing"], source="web-form", jurisdiction="GDPR")
        assert [c.status for c in granted.categories if c.category == 1] == [1]  # GRANTED
        assert client.check(promo).allowed
        client.revoke(number, ["MARKETING"], source="preference-center", reason="asked")
        with pytest.raises(SendRefused) as refused:
            client.send(promo)
        assert refused.value.reason in {"REASON_NO_CONSENT", "REASON_OPTED_OUT"}
        history = client.get_consent(number).history
        assert [e.action for e in history] == [1, 2]  # GRANT, REVOKE


def test_the_token_comes_from_the_environment_and_is_checked(
    served: Served, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("WASIDECAR_TOKEN", TOKEN)
    monkeypatch.setenv("WASIDECAR_ADDR", served.addr)
    with SidecarClient() as client:
        assert client.get_consent("+16505551234").subject_index
    with SidecarClient(token="not-a-known-token") as client, pytest.raises(Unauthenticated):
        client.get_consent("+16505551234")
    with SidecarClient(token=AUDITOR_TOKEN) as client, pytest.raises(PermissionDenied) as denied:
        client.get_consent("+16505551234")
    assert "consent-writer" in denied.value.detail


def _deliver_until_subscribed(served: Served, body: bytes) -> int:
    """POST ``body`` to the ingress; it answers 503 until a subscriber is
    connected, and Meta redelivers, so this does the same until it is open."""
    deadline = time.monotonic() + 10
    while (status := served.post_webhook(body, signature(body))) == 503:
        assert time.monotonic() < deadline, "the subscription never opened"
        time.sleep(0.05)
    return status


def _wait_until_unsubscribed(served: Served, body: bytes) -> None:
    """Closing a stream cancels its call: once the cancellation reaches the
    sidecar it drops the subscriber, and the ingress refuses again."""
    deadline = time.monotonic() + 10
    while served.post_webhook(body, signature(body)) != 503:
        assert time.monotonic() < deadline, "the stream outlived its close()"
        time.sleep(0.05)


async def test_stream_events_yields_what_the_ingress_verified(served: Served) -> None:
    async with AsyncSidecarClient(served.addr, token=TOKEN) as client:
        events = client.stream_events(timeout=30)
        first = asyncio.ensure_future(anext(events))
        body = inbound_text("12025550143", "STOP")
        assert await asyncio.to_thread(_deliver_until_subscribed, served, body) == 200
        event = await asyncio.wait_for(first, 10)
        await events.aclose()
        await asyncio.to_thread(_wait_until_unsubscribed, served, body)
        assert event.message.from_number == "12025550143"
        assert event.message.opt_out
        state = await client.get_consent("+12025550143")
        assert state.suppressed


def test_the_blocking_stream_yields_events_and_ends_when_closed(served: Served) -> None:
    with served.client() as client, ThreadPoolExecutor(1) as pool:
        events = client.stream_events(timeout=30)
        first = pool.submit(next, events)
        body = inbound_text("12025550111", "hello")
        assert _deliver_until_subscribed(served, body) == 200
        event = first.result(10)
        events.close()
        assert event.message.text == "hello"
        _wait_until_unsubscribed(served, body)


def test_the_callers_trace_continues_in_the_sidecar(served: Served) -> None:
    trace_id = int("4bf92f3577b34da6a3ce929d0e0e4736", 16)
    span_id = int("00f067aa0ba902b7", 16)
    parent = SpanContext(trace_id, span_id, is_remote=False, trace_flags=TraceFlags(1))
    with served.client() as client, trace.use_span(NonRecordingSpan(parent)):
        client.send_template("+13125550177", "otp", category="AUTHENTICATION", params=["1"])

    def continued() -> bool:
        return any(
            r.span.trace_id == trace_id.to_bytes(16, "big")
            and r.span.parent_span_id == span_id.to_bytes(8, "big")
            and r.attrs.get("rpc.method") == "wasidecar.v1.SendService/Send"
            for r in served.receiver.spans
        )

    served.bg.run(served.receiver.wait_for(continued))


def _unused_addr() -> str:
    return f"127.0.0.1:{free_port()}"


def _retries(caplog: pytest.LogCaptureFixture) -> list[int]:
    return [r.retry for r in caplog.records if getattr(r, "event", "") == "retry"]


def test_unavailable_is_retried_until_the_sidecar_answers(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="wa_sidecar_client")
    addr = _unused_addr()
    first_retry = threading.Event()

    class OnRetry(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if getattr(record, "event", "") == "retry":
                first_retry.set()

    handler = OnRetry()
    logging.getLogger("wa_sidecar_client").addHandler(handler)
    bg = Background()
    proc = SidecarProcess(tmp_path, {"WA_SIDECAR_GRPC_ADDR": addr}, args=("--with-simulator",))
    retry = RetryPolicy(max_attempts=100, initial_backoff=0.05, max_backoff=0.3)
    try:
        with SidecarClient(addr, retry=retry, timeout=40) as client, ThreadPoolExecutor(1) as pool:
            call = pool.submit(client.get_consent, "+16505551234")
            # Nothing listens yet: an attempt fails before the sidecar starts.
            assert first_retry.wait(20)
            bg.run(proc.__aenter__())
            assert call.result(40).subject_index
    finally:
        logging.getLogger("wa_sidecar_client").removeHandler(handler)
        bg.run(proc.__aexit__(None, None, None))
        bg.close()
    assert _retries(caplog)


def test_unavailable_gives_up_after_the_policys_attempts(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="wa_sidecar_client")
    retry = RetryPolicy(max_attempts=3, initial_backoff=0.01, max_backoff=0.02)
    with (
        SidecarClient(_unused_addr(), retry=retry, timeout=10) as client,
        pytest.raises(Unavailable),
    ):
        client.get_consent("+16505551234")
    assert _retries(caplog) == [1, 2]


def test_a_deadline_bounds_the_retries() -> None:
    retry = RetryPolicy(max_attempts=1000, initial_backoff=0.05, max_backoff=0.1)
    with SidecarClient(_unused_addr(), retry=retry, timeout=0.5) as client:
        started = time.monotonic()
        with pytest.raises(Unavailable):
            client.get_consent("+16505551234")
    assert time.monotonic() - started < 2.0


def test_the_client_installs_and_works_without_the_sidecars_dependencies(
    served: Served, tmp_path: Path
) -> None:
    # Built from a copy: an in-tree build would leave build/ in the checkout.
    source = shutil.copytree(CLIENT, tmp_path / "src", ignore=shutil.ignore_patterns("*.egg-info"))
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet", str(source)],
        check=True,
        capture_output=True,
        timeout=120,
    )
    script = (
        "import importlib.util, sys\n"
        "from wa_sidecar_client import SidecarClient\n"
        "absent = [m for m in ('sidecar', 'aiohttp', 'cryptography', 'opentelemetry')"
        " if importlib.util.find_spec(m)]\n"
        "assert not absent, absent\n"
        "from importlib.resources import files\n"
        "assert files('wa_sidecar_client').joinpath('py.typed').is_file()\n"
        f"with SidecarClient({served.addr!r}, token={TOKEN!r}) as c:\n"
        "    r = c.send_template('+16505551234', 'otp', category='AUTHENTICATION', params=['7'])\n"
        "    print(r.message_id)\n"
    )
    done = subprocess.run(
        [str(python), "-c", script],
        check=False,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wamid.")


def _first_block(readme: Path, lang: str) -> str:
    text = readme.read_text()
    return text.split(f"```{lang}\n", 1)[1].split("```", 1)[0]


@pytest.mark.parametrize(
    "readme",
    [ROOT / "README.md", ROOT / "clients" / "python" / "README.md"],
    ids=lambda p: str(p.relative_to(ROOT)),
)
def test_the_readme_example_runs(served: Served, readme: Path, tmp_path: Path) -> None:
    env = {**os.environ, "WASIDECAR_ADDR": served.addr, "WASIDECAR_TOKEN": TOKEN}
    done = subprocess.run(
        [sys.executable, "-c", _first_block(readme, "python")],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].startswith("wamid.")
    if readme != ROOT / "README.md":
        assert lines[1] == "REASON_OUTSIDE_SERVICE_WINDOW"
