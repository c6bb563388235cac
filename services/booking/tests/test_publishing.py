"""`publish` writes exactly the events a transition declares, or refuses (no database: the
outbox is a recorder)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from booking.service_layer.publishing import Cause, publish
from marketplace_contracts.events.booking import InviteClosedV1, LegReadyV1

CAUSE = Cause(uuid.uuid4(), uuid.uuid4())


def _closed() -> InviteClosedV1:
    return InviteClosedV1(invite_id="inv_1", outcome="declined")


def _ready() -> LegReadyV1:
    return LegReadyV1(booking_id="b1", group_id="g1", cause="host_accepted")


async def test_only_the_declared_events_are_written_with_their_key_and_cause(outbox: Any) -> None:
    builders = {InviteClosedV1.TYPE: _closed, LegReadyV1.TYPE: _ready}
    await publish(outbox.unit(), (InviteClosedV1.TYPE,), builders, key="inv_1", cause=CAUSE)
    [(event, meta)] = outbox.added
    assert event == _closed()
    assert meta == {
        "key": "inv_1",
        "correlation_id": CAUSE.correlation_id,
        "causation_id": CAUSE.causation_id,
    }


async def test_a_transition_that_declares_nothing_writes_nothing(outbox: Any) -> None:
    await publish(outbox.unit(), (), {LegReadyV1.TYPE: _ready}, key="g1", cause=CAUSE)
    assert outbox.added == []


async def test_a_declared_event_without_a_builder_is_refused(outbox: Any) -> None:
    with pytest.raises(LookupError, match=r"booking\.group_failed"):
        await publish(outbox.unit(), ("booking.group_failed",), {}, key="g1", cause=CAUSE)
    assert outbox.added == []


async def test_a_builder_that_builds_another_event_is_refused(outbox: Any) -> None:
    with pytest.raises(TypeError, match=r"built booking\.leg_ready"):
        await publish(
            outbox.unit(),
            (InviteClosedV1.TYPE,),
            {InviteClosedV1.TYPE: _ready},
            key="i",
            cause=CAUSE,
        )
    assert outbox.added == []
