"""A card dispute on a booking's payment, through the broker and the running booking service:
payments' facts (published here as payments publishes them) make the booking show the dispute
and refuse its cancellation with 409 `payment_disputed`; a late, out-of-order update does not
reopen a closed dispute, and the closing lets the guest cancel and be refunded."""

from __future__ import annotations

import asyncio
import json
import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest

from eventkit.producer import durable_producer
from marketplace_contracts import make_envelope
from marketplace_contracts.envelope import EventModel
from marketplace_contracts.events.catalog import ListingUpsertedV1
from marketplace_contracts.events.payments_disputes import (
    DisputeClosedV1,
    DisputedLeg,
    DisputeOpenedV1,
    DisputeUpdatedV1,
)
from tests.conftest import KAFKA, service_dsn
from tests.e2e.conftest import System
from tests.e2e.test_instant_book import wait_for_booking
from tests.support.e2e import publish_listing, wait_until

pytestmark = pytest.mark.e2e
SUFFIX = uuid.uuid4().hex[:8]


async def _publish(event: EventModel, key: str) -> uuid.UUID:
    """As payments publishes its facts: on payments.events, keyed by payment id."""
    producer = durable_producer(KAFKA, client_id="e2e-payments-facts")
    await producer.start()
    try:
        envelope = make_envelope(event, key=key, producer="payments", correlation_id=uuid.uuid4())
        await producer.send_and_wait(event.TOPIC, envelope.to_bytes(), key=key.encode())
    finally:
        await producer.stop()
    return envelope.event_id


async def _handled(event_ids: list[uuid.UUID]) -> int:
    """How many of these facts booking has applied (its inbox)."""
    conn = await asyncpg.connect(service_dsn("booking"))
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM booking.inbox WHERE event_id = ANY($1::uuid[])", event_ids
        )
        return count
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def listing(system: System) -> ListingUpsertedV1:
    seeds = json.loads(
        (
            Path(__file__).resolve().parents[2] / "services/booking/booking/seed_listings.json"
        ).read_text()
    )
    seed = next(s for s in seeds if s["listing_id"] == "lst_loft_01")
    copy = ListingUpsertedV1.model_validate(
        {
            **seed,
            "listing_id": f"lst_dsp_{SUFFIX}",
            "host_id": f"host-dsp-{SUFFIX}",
            "host_account_id": f"acct_dsp_{SUFFIX}",
            "cancellation_policy": "flexible",
        }
    )
    return publish_listing(system, copy, "the disputed listing")


def test_a_dispute_fact_shows_on_the_booking_and_blocks_cancelling_until_it_closes(
    system: System, listing: ListingUpsertedV1
) -> None:
    guest = system.client("booking", sub=f"guest-dsp-{SUFFIX}")
    trust = system.client("booking", sub="trust-e2e", role="trust")
    start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(
        days=10 + random.randrange(0, 200)
    )
    placed = guest.post(
        "/v1/bookings",
        json={
            "listing_id": listing.listing_id,
            "starts_at": start.isoformat(),
            "ends_at": (start + timedelta(hours=2)).isoformat(),
            "payment_method": "pm_card_visa",
        },
        headers={"User-Agent": "e2e-browser/1.0"},
    )
    assert placed.status_code == 202, placed.text
    booking = wait_for_booking(
        guest, placed.json()["booking_id"], lambda b: b["payment_status"] == "captured"
    )
    booking_id, payment_id = booking["booking_id"], booking["payment_id"]
    assert booking["dispute"] is None
    dispute_id = f"dsp_{SUFFIX}"
    due_by = datetime.now(UTC).replace(microsecond=0) + timedelta(days=7)
    ids = {"dispute_id": dispute_id, "processor_dispute_id": f"du_{SUFFIX}"}
    ids |= {"payment_id": payment_id, "booking_id": booking_id}
    asyncio.run(
        _publish(
            DisputeOpenedV1(
                **ids,
                legs=[
                    DisputedLeg(
                        booking_id=booking_id,
                        host_account_id=listing.host_account_id,
                        amount=booking["amount"],
                        host_amount=booking["amount"] - booking["platform_fee"],
                    )
                ],
                amount=booking["amount"],
                currency=booking["currency"],
                reason="fraudulent",
                status="needs_response",
                inquiry=False,
                due_by=due_by,
                opened_at=datetime.now(UTC),
            ),
            payment_id,
        )
    )
    shown = wait_for_booking(guest, booking_id, lambda b: b["dispute"] is not None)
    assert shown["dispute"]["status"] == "needs_response"
    assert shown["dispute"]["reason"] is None  # guests see the status only
    staff_view = trust.get(f"/v1/bookings/{booking_id}").json()["dispute"]
    assert (staff_view["reason"], staff_view["dispute_id"]) == ("fraudulent", dispute_id)
    assert datetime.fromisoformat(staff_view["due_by"]) == due_by

    refused = guest.post(f"/v1/bookings/{booking_id}/cancel", json={"reason": "plans"})
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "payment_disputed"

    closed = DisputeClosedV1(
        **ids,
        status="won",
        amount=booking["amount"],
        currency=booking["currency"],
        reason="fraudulent",
        closed_at=datetime.now(UTC),
    )
    late = DisputeUpdatedV1(**ids, status="under_review", previous_status="needs_response")
    # A stale update and a duplicate after the closing (new event ids: the inbox does not
    # filter them; the forward-only status does).
    sent = [asyncio.run(_publish(fact, payment_id)) for fact in (closed, late, closed)]
    wait_until(lambda: asyncio.run(_handled(sent)), lambda n: n == len(sent))
    assert guest.get(f"/v1/bookings/{booking_id}").json()["dispute"]["status"] == "won"

    cancelled = guest.post(f"/v1/bookings/{booking_id}/cancel", json={"reason": "plans"})
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    done = wait_for_booking(guest, booking_id, lambda b: b["refund_status"] == "refunded")
    assert done["dispute"]["status"] == "won"
