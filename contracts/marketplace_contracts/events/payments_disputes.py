"""Card disputes as payments sees them, on `payments.events`, keyed by payment id.

Payments is the only service that talks to Stripe: it turns Stripe's dispute webhooks
(`charge.dispute.*`, `radar.early_fraud_warning.*`) into these facts, with the platform's own ids
(dispute, payment, booking or group legs, host accounts). Stripe's object shapes stay inside
payments' adapter. A bank debit returned after capture keeps its own path
(`payments.payment_returned` with `dispute_id`); none of these facts is emitted for it, so the
two paths never count the same money twice.

Every fact is emitted once per change, whatever order or how many times Stripe delivers its
webhooks: payments keeps each dispute's state and each balance transaction it has reported.
"""

from datetime import datetime
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field

from marketplace_contracts.envelope import EventModel
from marketplace_contracts.money import Currency, MinorUnits

# Statuses, as Stripe names them: a chargeback is `needs_response` → `under_review` → `won` |
# `lost`; an inquiry (a retrieval request, no money moved yet) is `warning_needs_response` →
# `warning_under_review` → `warning_closed` (or it becomes a chargeback).
DISPUTE_STATUSES = (
    "warning_needs_response",
    "warning_under_review",
    "warning_closed",
    "needs_response",
    "under_review",
    "won",
    "lost",
)

# The bank's reasons for a dispute, as Stripe names them (`reason` of the facts below; the
# disputes service's queue filters by them).
DisputeReason = Literal[
    "bank_cannot_process",
    "check_returned",
    "credit_not_processed",
    "customer_initiated",
    "debit_not_authorized",
    "duplicate",
    "fraudulent",
    "general",
    "incorrect_account_details",
    "insufficient_funds",
    "noncompliant",
    "product_not_received",
    "product_unacceptable",
    "subscription_canceled",
    "unrecognized",
]


class DisputedLeg(BaseModel):
    """One booking the disputed payment paid for (one for a single booking, one per leg of a
    Linked Booking Group), with what it was paid and who was owed it."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    booking_id: str
    host_account_id: str
    amount: MinorUnits = Field(description="What the guest paid for this booking.")
    platform_fee: MinorUnits = 0
    host_amount: MinorUnits = Field(description="The host's share of `amount`.")


class DisputeOpenedV1(EventModel):
    """The guest's bank disputed a card payment (a chargeback) or asked about it (an inquiry:
    `inquiry`, no money withdrawn yet). While it is open the charge cannot be refunded."""

    TYPE: ClassVar[str] = "payments.dispute_opened"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    dispute_id: str = Field(
        description="The platform's id of the dispute (`dsp_…`), stable for the processor's "
        "dispute.",
        examples=["dsp_1Abc"],
    )
    processor_dispute_id: str = Field(
        description="The processor's id (Stripe `du_…`): the source of its balance "
        "transactions, for reconciliation and support.",
        examples=["du_1Abc"],
    )
    payment_id: str
    booking_id: str = Field(description="The booking, or for a group payment the group id.")
    group_id: str | None = None
    guest_id: str | None = None
    legs: list[DisputedLeg] = Field(
        default_factory=list, description="What the payment paid for; sums to the payment."
    )
    purpose: str | None = Field(
        default=None,
        examples=["checkout", "group_checkout", "extra_charge", "deposit_claim"],
        description="What the disputed payment was for (as on `payments.payment_captured`).",
    )
    amount: MinorUnits = Field(description="The disputed amount.")
    currency: Currency
    reason: str = Field(
        examples=["fraudulent", "product_not_received", "credit_not_processed", "duplicate"],
        description="The bank's reason, as Stripe names it.",
    )
    status: str = Field(examples=["needs_response", "warning_needs_response"])
    inquiry: bool = Field(description="An inquiry: no money is withdrawn unless it escalates.")
    due_by: datetime | None = Field(description="Evidence must be submitted before then.")
    card_brand: str | None = None
    three_d_secure: bool = Field(
        default=False,
        description="The payment was authenticated with 3-D Secure (liability for fraud "
        "shifts to the card issuer).",
    )
    opened_at: datetime


class DisputeUpdatedV1(EventModel):
    """The dispute's status or deadline changed (evidence submitted, under review, an inquiry
    escalated to a chargeback)."""

    TYPE: ClassVar[str] = "payments.dispute_updated"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    dispute_id: str
    processor_dispute_id: str
    payment_id: str
    booking_id: str
    status: str
    previous_status: str
    due_by: datetime | None = None
    has_evidence: bool = False
    submission_count: int = 0


class DisputeFundsWithdrawnV1(EventModel):
    """The processor took the disputed amount, and its dispute fee, from the platform's
    balance (one balance transaction)."""

    TYPE: ClassVar[str] = "payments.dispute_funds_withdrawn"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    dispute_id: str
    processor_dispute_id: str
    payment_id: str
    booking_id: str
    amount: MinorUnits = Field(description="The disputed amount withdrawn.")
    fee: MinorUnits = Field(description="The processor's dispute fee.")
    currency: Currency
    balance_transaction_id: str = Field(examples=["txn_1Abc"])


class DisputeFundsReinstatedV1(EventModel):
    """The dispute was won: the processor gave the disputed amount back (one balance
    transaction; `fee` is the part of the dispute fee returned, 0 when it is kept)."""

    TYPE: ClassVar[str] = "payments.dispute_funds_reinstated"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    dispute_id: str
    processor_dispute_id: str
    payment_id: str
    booking_id: str
    amount: MinorUnits
    fee: MinorUnits = 0
    currency: Currency
    balance_transaction_id: str


class DisputeClosedV1(EventModel):
    """The dispute ended: `won` (funds reinstated), `lost` (the bank kept them, or the platform
    accepted it) or `warning_closed` (an inquiry that never became a chargeback)."""

    TYPE: ClassVar[str] = "payments.dispute_closed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    dispute_id: str
    processor_dispute_id: str
    payment_id: str
    booking_id: str
    status: str = Field(examples=["won", "lost", "warning_closed"])
    amount: MinorUnits
    currency: Currency
    reason: str
    accepted: bool = Field(
        default=False, description="Lost because the platform accepted (conceded) it."
    )
    closed_at: datetime


class EarlyFraudWarningReceivedV1(EventModel):
    """The card network warned that a payment looks fraudulent (Stripe Radar early fraud
    warning); a chargeback may follow. Trust staff may refund it first."""

    TYPE: ClassVar[str] = "payments.early_fraud_warning_received"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    warning_id: str = Field(examples=["issfr_1Abc"])
    payment_id: str
    booking_id: str
    fraud_type: str = Field(examples=["unauthorized_use_of_card", "made_with_stolen_card"])
    actionable: bool
    received_at: datetime


class DisputeEvidenceSubmittedV1(EventModel):
    """Payments submitted the evidence disputes asked for (`disputes.evidence_submission_requested`):
    files uploaded, the dispute updated with `submit`."""

    TYPE: ClassVar[str] = "payments.dispute_evidence_submitted"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    request_id: str
    dispute_id: str
    processor_dispute_id: str
    payment_id: str
    fields: list[str] = Field(description="Evidence fields set, file fields included.")
    file_ids: list[str] = Field(default_factory=list, examples=[["file_1Abc"]])
    status: str = Field(description="The dispute's status after the submission.")
    submitted_at: datetime


class DisputeAcceptedV1(EventModel):
    """Payments accepted (closed) the dispute as disputes asked
    (`disputes.dispute_acceptance_requested`): it is lost."""

    TYPE: ClassVar[str] = "payments.dispute_accepted"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    request_id: str
    dispute_id: str
    processor_dispute_id: str
    payment_id: str
    status: str


class DisputeActionFailedV1(EventModel):
    """A submission or acceptance disputes asked for could not be made (the processor refused
    it: closed already, past due, a file too large...)."""

    TYPE: ClassVar[str] = "payments.dispute_action_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "payments.events"

    request_id: str
    dispute_id: str
    payment_id: str
    action: str = Field(examples=["submit", "accept"])
    code: str = Field(examples=["dispute_closed", "processor_refused"])
    message: str = ""
