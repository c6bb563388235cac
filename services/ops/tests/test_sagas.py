"""Sagas: their type, hop times and the stuck rule with per-type limits."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from ops.domain.sagas import Hop, SagaState, hop_times, saga_type, stuck

NOW = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


def _saga(first: str, latest: str, minutes_ago: int, dead: str | None = None) -> SagaState:
    return SagaState(
        uuid.uuid4(),
        first,
        latest,
        latest.split(".")[0],
        NOW - timedelta(minutes=minutes_ago),
        dead,
    )


def test_a_saga_is_named_by_the_event_that_began_it() -> None:
    assert saga_type("booking.checkout_requested") == "checkout"
    assert saga_type("booking.group_checkout_requested") == "group_checkout"
    assert saga_type("payments.refund_succeeded") == "refund_succeeded"


def test_only_a_waiting_saga_past_its_types_limit_is_stuck() -> None:
    waiting_checkout = _saga("booking.checkout_requested", "booking.checkout_requested", 20)
    young_checkout = _saga("booking.checkout_requested", "payments.payment_authorized", 5)
    finished = _saga("booking.checkout_requested", "booking.booking_confirmed", 600)
    waiting_claim = _saga("booking.claim_filed", "booking.charge_requested", 20)
    found = stuck(
        [waiting_checkout, young_checkout, finished, waiting_claim],
        NOW,
        default_seconds=3600,
        overrides={"checkout": 900},
    )
    assert [s.correlation_id for s in found] == [waiting_checkout.correlation_id]
    [one] = found
    assert (one.saga_type, one.limit_seconds, one.waited_seconds) == ("checkout", 900, 1200)
    assert one.step == "after booking.checkout_requested (booking)"


def test_a_dead_letter_after_the_latest_event_makes_a_finished_looking_saga_stuck() -> None:
    saga = _saga("booking.checkout_requested", "booking.booking_confirmed", 90, "finance: KeyError")
    [one] = stuck([saga], NOW, default_seconds=3600, overrides={})
    assert one.step.endswith("dead letter in finance: KeyError")


def test_hop_time_is_measured_from_the_causing_event() -> None:
    a, b, c = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    hops = hop_times(
        [
            Hop(a, None, NOW, None),
            Hop(b, a, NOW + timedelta(milliseconds=250), None),
            Hop(c, uuid.uuid4(), NOW + timedelta(seconds=1), None),  # cause not on the timeline
        ]
    )
    assert hops == {b: 250}
