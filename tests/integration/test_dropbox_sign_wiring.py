"""The gateway configured for Dropbox Sign: a checkout's envelope goes to Dropbox Sign (our
local fake), and a verified `signed` callback lets the checkout ask for payment and publishes
booking.signatures_completed with the signed file's hash, the signer and the time."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta
from functools import partial

import asyncpg
import httpx
import pytest

from booking.bootstrap import build_app, build_runtime
from booking.config import BookingSettings
from booking.features.checkout.service import PlaceBooking, place_booking
from booking.features.documents.timers import CREATE_ENVELOPE, create_envelope
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from eventkit.scheduler import Scheduler
from fake_dropbox_sign.app import create_app as create_fake
from fake_dropbox_sign.callbacks import build_event
from tests.support.servers import serve

pytestmark = pytest.mark.integration
API_KEY = "dropbox-sign-wiring-test-key"


@pytest.fixture(scope="module")
def fake_url() -> Iterator[str]:
    with serve(create_fake(API_KEY), "the fake") as base_url:
        yield base_url


@pytest.fixture
async def wired(booking_pool: asyncpg.Pool, fake_url: str) -> AsyncIterator[tuple]:
    settings = BookingSettings(
        esign_provider="dropbox_sign",
        dropbox_sign_api_key=API_KEY,
        dropbox_sign_base_url=f"{fake_url}/v3",
    )
    runtime = build_runtime(settings)
    runtime.pool = booking_pool  # HTTP and jobs only: no consumers, no relay
    app = build_app(runtime)
    app.state.runtime = runtime
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://gateway"
    ) as client:
        yield runtime, client


async def test_a_verified_signed_callback_moves_the_checkout_to_payment(
    booking_pool: asyncpg.Pool, fake_url: str, wired: tuple
) -> None:
    runtime, gateway = wired
    listing_id = f"lst_dbx_{uuid.uuid4().hex[:8]}"
    await booking_pool.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy, required_documents) VALUES "
        "($1, 'host-x', 'acct_x', 'Dbx', 1000, 'usd', 1000, 'flexible', $2::jsonb)",
        listing_id,
        [{"document_id": "a", "title": "Agreement", "text": "Yes."}],
    )
    start = datetime(2037, 1, 1, 10, tzinfo=UTC)
    async with booking_pool.acquire() as conn, conn.transaction():
        booking = await place_booking(
            UnitOfWork(conn, runtime.state["outbox"]),
            PlaceBooking("guest-x", listing_id, start, start + timedelta(hours=1), "pm_card_visa"),
        )
    provider = runtime.state["documents"].provider
    timers = Scheduler(
        "booking",
        {
            CREATE_ENVELOPE: partial(
                create_envelope, provider, Outbox("booking", producer="booking")
            )
        },
    )
    assert await timers.run_due(booking_pool) >= 1
    envelope_id = await booking_pool.fetchval(
        "SELECT envelope_id FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking["booking_id"]),
    )
    assert envelope_id, "the envelope was sent to Dropbox Sign"

    async with httpx.AsyncClient(base_url=fake_url) as fake:
        request = (
            await fake.get(f"/v3/signature_request/{envelope_id}", auth=(API_KEY, ""))
        ).json()
        forged = build_event(
            API_KEY, "signature_request_all_signed", request["signature_request"], tamper=True
        )
        refused = await gateway.post("/webhooks/dropbox-sign", data={"json": json.dumps(forged)})
        assert refused.status_code == 400
        (await fake.post(f"/_fake/signature_request/{envelope_id}/sign")).raise_for_status()
        request = (
            await fake.get(f"/v3/signature_request/{envelope_id}", auth=(API_KEY, ""))
        ).json()
    event = build_event(API_KEY, "signature_request_all_signed", request["signature_request"])
    for _ in range(2):  # Dropbox Sign redelivers: the second changes nothing
        answered = await gateway.post("/webhooks/dropbox-sign", data={"json": json.dumps(event)})
        assert answered.status_code == 200 and answered.text == "Hello API Event Received"

    status = await booking_pool.fetchval(
        "SELECT status FROM booking.bookings WHERE booking_id = $1",
        uuid.UUID(booking["booking_id"]),
    )
    assert status == "pending_payment"
    requested = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.outbox WHERE key = $1 "
        "AND event_type = 'booking.checkout_requested'",
        booking["booking_id"],
    )
    assert requested == 1

    async with httpx.AsyncClient(base_url=fake_url) as fake:
        signed_file = await fake.get(
            f"/v3/signature_request/files/{envelope_id}",
            params={"file_type": "pdf"},
            auth=(API_KEY, ""),
        )
    signed_file.raise_for_status()
    [row] = await booking_pool.fetch(
        "SELECT payload FROM booking.outbox WHERE key = $1 "
        "AND event_type = 'booking.signatures_completed'",
        booking["booking_id"],
    )
    completed = json.loads(bytes(row["payload"]))["data"]
    assert (completed["provider"], completed["envelope_id"]) == ("dropbox_sign", envelope_id)
    [document] = completed["documents"]
    assert (document["document_id"], document["title"]) == ("a", "Agreement")
    assert document["sha256"] == hashlib.sha256(signed_file.content).hexdigest()
    assert document["signer_id"] == "guest-x" and document["signed_at"]
    # Dropbox Sign keeps the signer's IP and browser inside its PDF only, not in its API.
    assert (document["ip_address"], document["user_agent"]) == (None, None)
