"""Sagas as the timeline sees them: their type, their hops, and when one is stuck.

A saga is every event sharing one correlation id. Its type is named by the event that began it
(`booking.checkout_requested` begins a `checkout`). It is waiting while its latest event asks
another service to act and nothing has answered yet: every `*_requested` event is such a
request, and a few facts are too (an authorization booking still has to confirm, a payout
released for a transfer that has not happened). A saga waiting longer than its type's limit is
stuck, on the step its latest event names; a dead letter after the latest event means the
answer died on the way, which is the most common reason.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

WAITING_FACTS = frozenset(
    {
        "payments.payment_authorized",  # booking confirms or fails the checkout next
        "payments.payment_processing",  # a bank debit settles or fails later
        "finance.payout_released",  # payments transfers it next
        "booking.leg_ready",  # the group's capture follows
        "booking.group_awaiting_hosts",  # hosts answer, then the group confirms or fails
    }
)


def saga_type(first_event_type: str) -> str:
    """`booking.checkout_requested` -> `checkout`; `payments.refund_succeeded` -> `refund_succeeded`."""
    name = first_event_type.split(".", 1)[-1]
    return name.removesuffix("_requested")


def is_waiting(event_type: str) -> bool:
    return event_type.endswith("_requested") or event_type in WAITING_FACTS


def limit_for(kind: str, default_seconds: int, overrides: Mapping[str, int]) -> int:
    return overrides.get(kind, default_seconds)


@dataclass(frozen=True)
class SagaState:
    """What the detector reads of one saga: how it began and where it is now."""

    correlation_id: uuid.UUID
    first_type: str
    latest_type: str
    latest_producer: str
    latest_at: datetime
    dead_letter: str | None  # "<service>: <error type>" of a dead letter after the latest event


@dataclass(frozen=True)
class Stuck:
    correlation_id: uuid.UUID
    saga_type: str
    step: str
    waiting_since: datetime
    waited_seconds: int
    limit_seconds: int


def stuck(
    sagas: Sequence[SagaState], now: datetime, default_seconds: int, overrides: Mapping[str, int]
) -> list[Stuck]:
    """The sagas past their type's limit, longest waiting first."""
    found = []
    for saga in sagas:
        if not (is_waiting(saga.latest_type) or saga.dead_letter):
            continue
        kind = saga_type(saga.first_type)
        limit = limit_for(kind, default_seconds, overrides)
        waited = int((now - saga.latest_at).total_seconds())
        if waited < limit:
            continue
        step = f"after {saga.latest_type} ({saga.latest_producer})"
        if saga.dead_letter:
            step += f"; dead letter in {saga.dead_letter}"
        found.append(Stuck(saga.correlation_id, kind, step, saga.latest_at, waited, limit))
    return sorted(found, key=lambda s: -s.waited_seconds)


@dataclass(frozen=True)
class Hop:
    """One entry of a saga's timeline, with the time since the event that caused it."""

    event_id: uuid.UUID | None
    causation_id: uuid.UUID | None
    occurred_at: datetime
    hop_ms: int | None


def hop_times(entries: Sequence[Hop]) -> dict[uuid.UUID, int]:
    """event_id -> milliseconds since its causation event (when that is on the timeline)."""
    at = {e.event_id: e.occurred_at for e in entries if e.event_id is not None}
    hops: dict[uuid.UUID, int] = {}
    for e in entries:
        if e.event_id is not None and e.causation_id in at:
            cause = at[e.causation_id]
            hops[e.event_id] = int((e.occurred_at - cause).total_seconds() * 1000)
    return hops
