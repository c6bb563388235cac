"""A booking's saga on one timeline across the services, found by any of its ids; a saga that
waits too long is listed as stuck with its step."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from tests.e2e_ops.conftest import Ops, ago, dead_letter, envelope, publish
from tests.support.poll import wait_until

pytestmark = pytest.mark.e2e

TIMELINE = """
query ($id: String!) {
  timeline(id: $id) {
    correlationId sagaType deadLetters
    entries { kind service type eventId hopMs topic errorType attempts retries partition offset
              ids { field value } }
  }
}"""


def checkout_saga(booking_id: str, payment_id: str, cid: uuid.UUID) -> list:  # type: ignore[type-arg]
    """A checkout as booking and payments tell it, in `test.*` types (see `envelope`)."""
    requested = envelope(
        "test.checkout_requested", {"booking_id": booking_id}, producer="booking",
        correlation_id=cid, at=ago(seconds=3),
    )  # fmt: skip
    authorized = envelope(
        "test.payment_authorized",
        {"payment_id": payment_id, "booking_id": booking_id}, producer="payments",
        correlation_id=cid, causation_id=requested.event_id, at=ago(seconds=2.5),
    )  # fmt: skip
    confirmed = envelope(
        "test.booking_confirmed",
        {"booking_id": booking_id, "payment": {"payment_id": payment_id}}, producer="booking",
        correlation_id=cid, causation_id=authorized.event_id, at=ago(seconds=2),
    )  # fmt: skip
    return [requested, authorized, confirmed]


def test_a_bookings_timeline_shows_every_hop_and_the_dead_letter_on_the_way(ops: Ops) -> None:
    booking_id, payment_id, cid = (
        f"bk-{uuid.uuid4().hex[:8]}",
        f"pay-{uuid.uuid4().hex[:8]}",
        uuid.uuid4(),
    )
    requested, authorized, confirmed = checkout_saga(booking_id, payment_id, cid)
    asyncio.run(publish(requested, authorized, confirmed))
    # finance failed the authorization five times and dead-lettered it.
    asyncio.run(
        dead_letter(
            "finance", authorized.to_bytes(), key=payment_id, topic="payments.events",
            error=KeyError("host_account_id"),
        )
    )  # fmt: skip

    def sagas() -> list:  # type: ignore[type-arg]
        return ops.graphql(TIMELINE, id=payment_id, role="trust")["data"]["timeline"]

    [saga] = wait_until(
        sagas,
        lambda s: len(s) == 1 and len(s[0]["entries"]) == 4,
        timeout=30,
        what="the saga's four entries projected",
    )
    assert saga["correlationId"] == str(cid)
    assert (saga["sagaType"], saga["deadLetters"]) == ("checkout", 1)
    kinds = [(e["kind"], e["service"], e["type"]) for e in saga["entries"]]
    # The dead letter sits at the time it failed (now), after the events it came from.
    assert kinds == [
        ("EVENT", "booking", "test.checkout_requested"),
        ("EVENT", "payments", "test.payment_authorized"),
        ("EVENT", "booking", "test.booking_confirmed"),
        ("DEAD_LETTER", "finance", "test.payment_authorized"),
    ]
    events = [e for e in saga["entries"] if e["kind"] == "EVENT"]
    assert events[0]["hopMs"] is None
    assert 400 <= events[1]["hopMs"] <= 600 and 400 <= events[2]["hopMs"] <= 600
    [letter] = [e for e in saga["entries"] if e["kind"] == "DEAD_LETTER"]
    assert (letter["errorType"], letter["attempts"], letter["retries"]) == ("KeyError", 5, 4)
    assert {"field": "payment_id", "value": payment_id} in events[2]["ids"]  # found nested

    # The same saga by the booking id, the correlation id and the event id.
    for ident in (booking_id, str(cid), str(confirmed.event_id)):
        found = ops.graphql(TIMELINE, id=ident, role="finance")["data"]["timeline"]
        assert [s["correlationId"] for s in found] == [str(cid)]
    assert ops.graphql(TIMELINE, id="no-such-id")["data"]["timeline"] == []


def test_a_saga_waiting_past_its_types_limit_is_listed_as_stuck_with_its_step(ops: Ops) -> None:
    cid, fine = uuid.uuid4(), uuid.uuid4()
    probe = f"x-{uuid.uuid4().hex[:8]}"
    waiting = envelope(
        "test.opsprobe_requested", {"booking_id": probe}, producer="booking",
        correlation_id=cid, at=ago(seconds=5),
    )  # fmt: skip
    answered = envelope(
        "test.opsprobe_requested", {"booking_id": probe + "-2"}, producer="booking",
        correlation_id=fine, at=ago(seconds=5),
    )  # fmt: skip
    done = envelope(
        "test.opsprobe_done", {"booking_id": probe + "-2"}, producer="payments",
        correlation_id=fine, causation_id=answered.event_id, at=ago(seconds=4),
    )  # fmt: skip
    asyncio.run(publish(waiting, answered, done))
    query = '{ stuckSagas(sagaType: "opsprobe", first: 200) { items { correlationId sagaType step limitSeconds waitedSeconds } } }'

    def stuck() -> list:  # type: ignore[type-arg]
        return ops.graphql(query, role="trust")["data"]["stuckSagas"]["items"]

    def listed(items: list) -> set[str]:  # type: ignore[type-arg]
        return {i["correlationId"] for i in items}

    # The answered saga may look stuck for one scan, until its answer is projected too; the
    # waiting one must be listed and the answered one not, in the same scan.
    items = wait_until(
        stuck,
        lambda items: str(cid) in listed(items) and str(fine) not in listed(items),
        timeout=30,
        what="the waiting saga listed as stuck and the answered one not",
    )
    [mine] = [i for i in items if i["correlationId"] == str(cid)]
    assert mine["step"] == "after test.opsprobe_requested (booking)"
    assert mine["limitSeconds"] == 1 and mine["waitedSeconds"] >= 1
