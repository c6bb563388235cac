"""The topic catalogue: every topic, its key, partitions, retention, producer and consumers."""

from __future__ import annotations

from dataclasses import dataclass, field

DAY_MS = 24 * 60 * 60 * 1000
SERVICES = ("booking", "payments", "finance", "disputes")


@dataclass(frozen=True)
class Topic:
    name: str
    key: str
    partitions: int
    producer: str
    consumers: tuple[str, ...]
    description: str
    retention_ms: int = 14 * DAY_MS
    cleanup_policy: str = "delete"
    configs: dict[str, str] = field(default_factory=dict)

    def kafka_configs(self) -> dict[str, str]:
        base = {"retention.ms": str(self.retention_ms), "cleanup.policy": self.cleanup_policy}
        return base | self.configs


def dead_letter_topic(service: str) -> str:
    """Each consuming service owns one dead-letter topic for everything it failed to handle."""
    return f"{service}.dlt"


def retry_topic(service: str) -> str:
    """Where a replayed dead letter goes: read by the failing service's consumer alone, so the
    other services consuming the original topic never see the message again."""
    return f"{service}.retry"


def dead_letter_notes_topic(service: str) -> str:
    """What ops decided about each dead letter (replayed, skipped with a note): compacted,
    keyed by the dead letter's `PARTITION:OFFSET`, so the latest decision is kept."""
    return f"{service}.dlt-notes"


_EVENT_TOPICS = (
    Topic(
        name="catalog.listings",
        key="listing_id",
        partitions=3,
        producer="catalog",
        consumers=("booking",),
        description="Listing snapshots from the upstream catalogue; compacted, latest per key.",
        retention_ms=-1,
        cleanup_policy="compact",
    ),
    Topic(
        name="booking.events",
        key="booking_id (invite_id for invite events, group_id for group events)",
        partitions=6,
        producer="booking",
        consumers=("payments", "finance", "disputes", "ops"),
        description="Booking lifecycle facts: checkout requested, confirmed, failed, "
        "host response requested; Smart Invites sent and closed; Linked Booking Groups "
        "requested, captured, confirmed and failed; cancellations, amendments and extra "
        "charges; reauthorizations; deposits released and damage claims.",
    ),
    Topic(
        name="payments.events",
        key="payment_id (host_account_id for account events, payout_id for platform payouts)",
        partitions=6,
        producer="payments",
        consumers=("booking", "finance", "disputes", "ops"),
        description="Payment facts: authorized, processing (bank debits), failed, captured, "
        "returned, funds cleared, voided, reauthorized; refunds; transfers and reversals; "
        "expiring authorizations; host account updates; platform payouts.",
    ),
    Topic(
        name="finance.events",
        key="journal_id (entry_id for payout events, reserve_id for reserves, host_account_id "
        "for negative balances)",
        partitions=3,
        producer="finance",
        consumers=("booking", "payments", "ops"),
        description="Ledger facts: balanced journals posted; the payout queue (payouts "
        "scheduled, held, released for transfer, transferred, failed); reserves held and "
        "released; negative balances recorded and recovered.",
    ),
    Topic(
        name="disputes.events",
        key="dispute_id",
        partitions=3,
        producer="disputes",
        consumers=("payments", "finance", "ops"),
        description="Dispute cases: payout holds raised and cleared; deadline reminders; "
        "requests to submit evidence or accept a dispute (payments calls Stripe); outcomes "
        "with who bears a loss.",
    ),
)

_DEAD_LETTER_TOPICS = tuple(
    Topic(
        name=dead_letter_topic(service),
        key="original key",
        partitions=1,
        producer=service,
        consumers=("ops",),
        description=f"Messages {service} could not handle, with the reason in headers.",
        retention_ms=30 * DAY_MS,
    )
    for service in SERVICES
)

_RETRY_TOPICS = tuple(
    Topic(
        name=retry_topic(service),
        key="original key",
        partitions=3,
        producer="ops (`eventkit.admin dlq replay`)",
        consumers=(service,),
        description=f"Dead letters of {service} replayed to {service} alone, with the original "
        "bytes and key; handled by the same routes and inbox as the original topic.",
        retention_ms=30 * DAY_MS,
    )
    for service in SERVICES
)

_NOTE_TOPICS = tuple(
    Topic(
        name=dead_letter_notes_topic(service),
        key="PARTITION:OFFSET of the dead letter",
        partitions=1,
        producer="ops (`eventkit.admin dlq replay|skip`)",
        consumers=("ops",),
        description=f"The state of each dead letter of {service}: replayed or skipped, by whom, "
        "when, with the operator's note. Compacted: the latest decision per dead letter.",
        retention_ms=-1,
        cleanup_policy="compact",
    )
    for service in SERVICES
)

CATALOGUE: dict[str, Topic] = {
    t.name: t for t in _EVENT_TOPICS + _DEAD_LETTER_TOPICS + _RETRY_TOPICS + _NOTE_TOPICS
}


def consumed_by(service: str) -> list[str]:
    return [t.name for t in _EVENT_TOPICS if service in t.consumers]
