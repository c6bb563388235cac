"""Seed listings onto `catalog.listings`, standing in for the upstream catalogue until it exists."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path

from eventkit.producer import durable_producer
from marketplace_contracts import make_envelope
from marketplace_contracts.events.catalog import ListingUpsertedV1

DEFAULT_LISTINGS = Path(__file__).with_name("seed_listings.json")
# The seed's events are dated once and for all: published again (every `make up` does), they
# restore nothing the catalogue has changed since (booking keeps a listing's newest event).
SEED_OCCURRED_AT = datetime(2026, 1, 1, tzinfo=UTC)


def load_listings(path: Path = DEFAULT_LISTINGS) -> list[ListingUpsertedV1]:
    return [ListingUpsertedV1.model_validate(item) for item in json.loads(path.read_text())]


async def publish_listings(bootstrap: str, listings: list[ListingUpsertedV1]) -> list[str]:
    producer = durable_producer(bootstrap, client_id="catalog-seed")
    await producer.start()
    try:
        for listing in listings:
            envelope = make_envelope(
                listing,
                key=listing.listing_id,
                producer="catalog",
                correlation_id=uuid.uuid4(),
                occurred_at=SEED_OCCURRED_AT,
            )
            await producer.send_and_wait(
                listing.TOPIC,
                envelope.to_bytes(),
                key=listing.listing_id.encode(),
                headers=[
                    ("event_type", listing.TYPE.encode()),
                    ("event_id", str(envelope.event_id).encode()),
                ],
            )
    finally:
        await producer.stop()
    return [listing.listing_id for listing in listings]


def run(bootstrap: str, path: Path = DEFAULT_LISTINGS) -> list[str]:
    return asyncio.run(publish_listings(bootstrap, load_listings(path)))
