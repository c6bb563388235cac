"""What the end-to-end tests share: a listing of this run only, published as the catalog would
and waited for until booking has replicated it, and polling until a state is reached."""

from __future__ import annotations

import asyncio
import uuid

import httpx

from eventkit.producer import durable_producer
from marketplace_contracts import make_envelope
from marketplace_contracts.events.catalog import ListingUpsertedV1
from tests.conftest import KAFKA
from tests.e2e.conftest import System
from tests.support.poll import wait_until as wait_until


async def publish(listing: ListingUpsertedV1) -> None:
    """Publish ``listing`` to the catalog topic, as the catalog service would."""
    producer = durable_producer(KAFKA, client_id="e2e-catalog")
    await producer.start()
    try:
        envelope = make_envelope(
            listing, key=listing.listing_id, producer="catalog", correlation_id=uuid.uuid4()
        )
        await producer.send_and_wait(
            listing.TOPIC, envelope.to_bytes(), key=listing.listing_id.encode()
        )
    finally:
        await producer.stop()


def wait_until_listed(
    client: httpx.Client, *listing_ids: str, what: str = "the test listing"
) -> None:
    """Wait (30 s at the most) until booking's `/v1/listings` lists every one of ``listing_ids``."""
    wait_until(
        lambda: set(listing_ids) - {i["listing_id"] for i in client.get("/v1/listings").json()},
        lambda missing: not missing,
        timeout=30,
        what=f"{what} replicated",
    )


def publish_listing(
    system: System, listing: ListingUpsertedV1, what: str = "the test listing"
) -> ListingUpsertedV1:
    """Publish a listing of this test run and wait until booking has replicated it."""
    asyncio.run(publish(listing))
    wait_until_listed(system.client("booking", sub="anyone"), listing.listing_id, what=what)
    return listing
