"""Seed listings onto `catalog.listings`, standing in for the upstream catalogue until it exists."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

from marketplace_contracts import make_envelope
from marketplace_contracts.events.catalog import ListingUpsertedV1

from eventkit.producer import durable_producer

DEFAULT_LISTINGS = Path(__file__).with_name("seed_listings.json")


async def publish_listings(bootstrap: str, path: Path = DEFAULT_LISTINGS) -> list[str]:
    listings = [ListingUpsertedV1.model_validate(item) for item in json.loads(path.read_text())]
    producer = durable_producer(bootstrap, client_id="catalog-seed")
    await producer.start()
    try:
        for listing in listings:
            envelope = make_envelope(listing, key=listing.listing_id, producer="catalog",
                                     correlation_id=uuid.uuid4())
            await producer.send_and_wait(
                listing.TOPIC, envelope.to_bytes(), key=listing.listing_id.encode(),
                headers=[("event_type", listing.TYPE.encode()),
                         ("event_id", str(envelope.event_id).encode())],
            )
    finally:
        await producer.stop()
    return [listing.listing_id for listing in listings]


def run(bootstrap: str, path: Path = DEFAULT_LISTINGS) -> list[str]:
    return asyncio.run(publish_listings(bootstrap, path))
