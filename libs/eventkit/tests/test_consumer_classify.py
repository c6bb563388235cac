"""What a consumer passes over before any transaction: types its router does not consume."""

from __future__ import annotations

import uuid
from typing import Any

from aiokafka.structs import ConsumerRecord

from eventkit.consumer import MessageProcessor
from eventkit.routing import EventRouter
from marketplace_contracts import make_envelope
from marketplace_contracts.events.booking import BookingCancelledV1, BookingConfirmedV1
from marketplace_contracts.events.catalog import ListingUpsertedV1


async def _noop(*_: Any) -> None:
    return None


def _processor() -> MessageProcessor:
    router = EventRouter("test")
    router.add(BookingCancelledV1, _noop)
    return MessageProcessor(None, "test", router, None)  # type: ignore[arg-type]


def _record(value: bytes, headers: list[tuple[str, bytes]]) -> ConsumerRecord:
    return ConsumerRecord("t", 0, 1, 0, 0, b"k", value, None, 0, len(value), headers)


def test_a_type_named_by_the_header_and_not_consumed_is_ignored_unparsed() -> None:
    item = _processor().classify(_record(b"not json at all", [("event_type", b"catalog.x")]))
    assert item.ignored


def test_a_consumed_type_named_by_the_header_is_decoded() -> None:
    item = _processor().classify(
        _record(b"not json at all", [("event_type", BookingCancelledV1.TYPE.encode())])
    )
    assert not item.ignored  # undecodable: left for the one-by-one path to dead-letter


def test_without_the_header_the_envelope_decides() -> None:
    listing = ListingUpsertedV1.model_construct()
    env = make_envelope(listing, key="k", correlation_id=uuid.uuid4(), producer="catalog")
    assert _processor().classify(_record(env.to_bytes(), [])).ignored


def _confirmed(captured: bool) -> ConsumerRecord:
    event = BookingConfirmedV1(
        booking_id="b1", payment_id="p1", amount=100, currency="usd", payment_captured=captured
    )
    env = make_envelope(event, key="b1", correlation_id=uuid.uuid4(), producer="booking")
    return _record(env.to_bytes(), [("event_type", event.TYPE.encode())])


async def _prepare(*_: Any) -> None:
    return None


async def test_an_event_a_field_says_asks_nothing_is_passed_over_on_both_paths() -> None:
    """A route's `skip` (payments: a booking confirmed on its capture): classified ignored,
    and the one-by-one path (a retry, a replay) answers `ignored` before any transaction (the
    processor here has no pool: a transaction would raise)."""
    router = EventRouter("test")
    router.add(BookingConfirmedV1, _noop, _prepare, skip=lambda e: e.payment_captured)
    processor = MessageProcessor(None, "test", router, None)  # type: ignore[arg-type]
    assert processor.classify(_confirmed(True)).ignored
    assert await processor._attempt_one(_confirmed(True)) == "ignored"
    kept = processor.classify(_confirmed(False))
    assert not kept.ignored and kept.decoded is None  # a step of its own: handled alone
