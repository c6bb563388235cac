"""Events produced by the disputes service on `disputes.events`, keyed by dispute id: payout
holds, reminders, requests for payments (the only service that calls Stripe) to submit
evidence or accept a dispute, and each case's outcome with who bears the loss."""

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marketplace_contracts.envelope import EventModel
from marketplace_contracts.money import Currency, MinorUnits


class PayoutHoldChangedV1(EventModel):
    """A dispute opened (`held`) or closed (not `held`) on a charge: finance holds, or stops
    holding, the payouts of what the charge paid for (every booking of `payment_id`; of
    `booking_id` only when given). Each dispute is its own hold reason (`dispute:<id>`), so
    two disputes on one charge both have to close."""

    TYPE: ClassVar[str] = "disputes.payout_hold_changed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "disputes.events"

    dispute_id: str = Field(examples=["dp_1Abc"])
    payment_id: str
    charge_id: str | None = Field(default=None, examples=["ch_1Abc"])
    booking_id: str | None = None
    host_account_id: str | None = None
    held: bool
    reason: str = Field(default="", examples=["fraudulent", "product_not_received", "won", "lost"])


class EvidenceFile(BaseModel):
    """A file of the evidence, carried whole (payments uploads it to the processor as a File
    with purpose `dispute_evidence`). The files of one request stay under 700 kB together,
    base64 included, so the event fits a Kafka message."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    field: str = Field(
        description="The evidence field the file goes in (Stripe's names).",
        examples=["uncategorized_file", "receipt", "service_documentation"],
    )
    filename: str = Field(max_length=200, examples=["evidence-summary.pdf"])
    content_type: str = Field(examples=["application/pdf", "image/png"])
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    content_b64: str


class EvidenceSubmissionRequestedV1(EventModel):
    """Disputes asks payments to submit a case's evidence to the processor, now: a staff
    member submitted it, or nobody acted by the auto-submit margin before `due_by` (`auto`).
    Payments uploads the files, updates the dispute with `submit`, under the idempotency key
    `payments:dispute_submit:<request_id>`, and answers `payments.dispute_evidence_submitted`
    or `payments.dispute_action_failed`."""

    TYPE: ClassVar[str] = "disputes.evidence_submission_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "disputes.events"

    request_id: str = Field(examples=["dsr_1Abc"])
    dispute_id: str
    processor_dispute_id: str
    payment_id: str
    text: dict[str, str] = Field(
        description="Text evidence fields (Stripe's names) and their values.",
        examples=[{"customer_purchase_ip": "203.0.113.9", "service_date": "2026-12-01"}],
    )
    files: list[EvidenceFile] = Field(default_factory=list)
    auto: bool = Field(description="Submitted by the deadline timer, nobody having acted.")
    actor: str = Field(examples=["trust@example.com", "system:auto_submit"])


class DisputeAcceptanceRequestedV1(EventModel):
    """Trust staff concede the dispute: payments closes it at the processor (idempotency key
    `payments:dispute_accept:<request_id>`); it is lost."""

    TYPE: ClassVar[str] = "disputes.dispute_acceptance_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "disputes.events"

    request_id: str
    dispute_id: str
    processor_dispute_id: str
    payment_id: str
    actor: str


class DeadlineApproachingV1(EventModel):
    """A reminder for trust staff (and any notifier): a case still needs a response, and its
    `due_by` is `hours_before` hours away (defaults: 72 and 24)."""

    TYPE: ClassVar[str] = "disputes.deadline_approaching"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "disputes.events"

    dispute_id: str
    payment_id: str
    booking_id: str
    status: str
    reason: str
    due_by: datetime
    hours_before: int
    evidence_submitted: bool


class LiabilityShare(BaseModel):
    """Who bears part of a lost dispute."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    party: str = Field(examples=["platform", "host"])
    host_account_id: str | None = Field(default=None, description="Set when `party` is host.")
    booking_id: str | None = None
    amount: MinorUnits


class DisputeResolvedV1(EventModel):
    """A case ended. Lost (`lost`, or `accepted` by the platform): `shares` say who bears the
    disputed amount under liability policy `policy_version` (they sum to `amount`); the
    dispute fee is the platform's. Won or an inquiry closed: `shares` is empty, nothing is
    borne. Finance books the loss and recovers each host's share (a transfer reversal if the
    host was paid, else netted from its payouts)."""

    TYPE: ClassVar[str] = "disputes.dispute_resolved"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "disputes.events"

    dispute_id: str
    processor_dispute_id: str
    payment_id: str
    booking_id: str
    outcome: str = Field(examples=["won", "lost", "accepted", "inquiry_closed"])
    reason: str
    amount: MinorUnits
    currency: Currency
    policy_version: str = Field(examples=["2026-12-01"])
    rule: str = Field(
        default="", description="The policy rule applied.", examples=["fraud_with_3ds"]
    )
    shares: list[LiabilityShare] = Field(default_factory=list)
