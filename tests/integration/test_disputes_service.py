"""The disputes service as users run it (`python -m disputes serve`): a dispute fact from Kafka
opens a case, the payout hold goes out on `disputes.events`, moving the simulator's clock
auto-submits the evidence, and a kill -9 and restart in the middle neither loses nor repeats
anything."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from aiokafka import AIOKafkaConsumer

from disputes.config import DEV_JWT_SECRET
from eventkit.producer import durable_producer
from marketplace_contracts import Envelope, decode_data, make_envelope
from marketplace_contracts.events import disputes as out
from tests.conftest import service_dsn
from tests.support import free_port
from tests.support.disputes_harness import ids, opened
from tests.support.poll import eventually, wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]
ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def served(env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "disputes", "serve"],
            cwd=ROOT,
            env=env,
            stdout=out_file,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)


async def publish(bootstrap: str, event: Any, key: str) -> None:
    producer = durable_producer(bootstrap, client_id="test-disputes")
    await producer.start()
    try:
        env = make_envelope(event, key=key, producer="payments", correlation_id=uuid.uuid4())
        await producer.send_and_wait(event.TOPIC, env.to_bytes(), key=key.encode())
    finally:
        await producer.stop()


async def published(bootstrap: str, dispute_id: str) -> list[Any]:
    """Every event disputes published for the dispute (the whole topic, read once), once per
    event id: a relay killed between sending a row and marking it sent sends it again, and the
    consumers' inboxes drop the copy, so a copy is not a second event."""
    consumer = AIOKafkaConsumer(
        "disputes.events",
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        group_id=None,
    )
    await consumer.start()
    found: dict[Any, Any] = {}
    try:
        while batch := await consumer.getmany(timeout_ms=1500):
            for records in batch.values():
                for record in records:
                    if record.key == dispute_id.encode():
                        envelope = Envelope.from_bytes(record.value or b"")
                        found.setdefault(envelope.event_id, decode_data(envelope))
    finally:
        await consumer.stop()
    return list(found.values())


async def test_the_served_service_opens_holds_and_auto_submits_once_across_a_kill(
    kafka_bootstrap: str, sim: httpx.AsyncClient, sim_base: str, tmp_path: Path
) -> None:
    port = free_port()
    env = {
        **os.environ,
        "DISPUTES_DATABASE_URL": service_dsn("disputes"),
        "DISPUTES_HTTP_PORT": str(port),
        "KAFKA_BOOTSTRAP": kafka_bootstrap,
        "DISPUTES_CLOCK_URL": f"{sim_base}/_sim/clock",
        "DISPUTES_CLOCK_REFRESH_SECONDS": "0.2",
        "DISPUTES_SCHEDULER_POLL_SECONDS": "0.2",
    }
    claims = {"sub": "trust-1", "role": "trust", "exp": int(time.time()) + 600}
    headers = {"Authorization": f"Bearer {jwt.encode(claims, DEV_JWT_SECRET, algorithm='HS256')}"}
    api = httpx.Client(base_url=f"http://127.0.0.1:{port}", headers=headers, timeout=5)
    dispute_id, payment_id = ids()
    now = datetime.now(UTC)
    event = opened(dispute_id, payment_id, due_by=now + timedelta(days=7), opened_at=now)

    def case() -> dict[str, Any]:
        try:
            return api.get(f"/v1/disputes/{dispute_id}").json()
        except httpx.TransportError:
            return {}

    log = tmp_path / "disputes.log"
    with served(env, log) as first:
        wait_until(lambda: api_up(api), bool, timeout=60)
        await publish(kafka_bootstrap, event, payment_id)
        await publish(kafka_bootstrap, event, payment_id)  # payments redelivers it
        wait_until(case, lambda c: c.get("status") == "needs_response")
        first.kill()  # SIGKILL: no shutdown; whatever was in flight is done again
        first.wait(timeout=10)
    moved = await sim.post("/_sim/clock/advance", json={"seconds": 6 * 86400 + 60})
    assert moved.status_code == 200
    with served(env, log):
        wait_until(case, lambda c: c.get("status") == "submitting", timeout=60)
        events = await _wait_published(kafka_bootstrap, dispute_id)
        history = [(h["actor"], h["trigger"]) for h in case()["history"]]

    holds = [e for e in events if isinstance(e, out.PayoutHoldChangedV1)]
    submissions = [e for e in events if isinstance(e, out.EvidenceSubmissionRequestedV1)]
    assert [(h.held, h.payment_id) for h in holds] == [(True, payment_id)]
    assert [(s.request_id, s.auto) for s in submissions] == [(f"dsr_auto_{dispute_id}", True)]
    assert history.count(("processor", "opened")) == 1
    assert history.count(("system:auto_submit", "submit")) == 1
    reminders = sorted(e.hours_before for e in events if isinstance(e, out.DeadlineApproachingV1))
    assert reminders == [24, 72]
    # `serve` settled the process' heap once started, each time (eventkit.heap).
    assert log.read_text().count("heap settled") == 2


def api_up(api: httpx.Client) -> bool:
    try:
        return api.get("/healthz").status_code == 200
    except httpx.TransportError:
        return False


async def _wait_published(bootstrap: str, dispute_id: str) -> list[Any]:
    found: list[Any] = await eventually(
        lambda: published(bootstrap, dispute_id),
        lambda events: any(isinstance(e, out.EvidenceSubmissionRequestedV1) for e in events),
        timeout=40,
        interval=0.5,
        what="a submission request published",
    )
    return found
