"""Events produced by the finance service on `finance.events`, keyed by journal id."""

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marketplace_contracts.envelope import EventModel
from marketplace_contracts.money import Currency, MinorUnits
from marketplace_contracts.purposes import reversal_cause_field


class Posting(BaseModel):
    """One line of a journal: positive is a debit, negative a credit."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(examples=["asset:stripe_balance:pending", "liability:host_payable:acct_1"])
    amount: int = Field(description="Signed minor units; debits positive, credits negative.")


class JournalPostedV1(EventModel):
    """A balanced journal entry was written to the ledger."""

    TYPE: ClassVar[str] = "finance.journal_posted"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    journal_id: str
    kind: str = Field(examples=["guest_payment_captured"])
    booking_id: str | None
    source_event_id: str
    currency: Currency
    postings: list[Posting] = Field(min_length=2)


class PayoutReleasedV1(EventModel):
    """Finance releases a host's share of a separate-charges-and-transfers payment (a Linked
    Booking Group's leg): payments transfers it to the host's connected account. Keyed by
    `release_id`, which is payments' idempotency key for the transfer."""

    TYPE: ClassVar[str] = "finance.payout_released"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    release_id: str
    payment_id: str
    booking_id: str
    group_id: str | None = None
    host_account_id: str
    amount: MinorUnits
    currency: Currency


# -- the payout queue (docs/finance.md), keyed by entry id ------------------------------------


class PayoutScheduledV1(EventModel):
    """A host payable joined the payout queue (or its holds were cleared): it is paid at
    `due_at` unless held by then. `reserve_amount` of it is held back by the reserve policy
    named."""

    TYPE: ClassVar[str] = "finance.payout_scheduled"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    entry_id: str = Field(examples=["pay_1:bk_1"])
    payment_id: str
    booking_id: str
    host_account_id: str
    gross: MinorUnits = Field(description="What the payable owes the host.")
    reserve_amount: MinorUnits = 0
    currency: Currency
    due_at: datetime | None = Field(description="None while the booking's start is not known yet.")
    reserve_policy_id: str | None = None
    reserve_policy_version: int | None = None


class PayoutHeldV1(EventModel):
    """A queue entry is held; `reasons` lists every reason that stands (`bank_debit_return_window`,
    `dispute:<id>`, `reserve`, `payouts_disabled`, `manual`,
    `awaiting_booking`)."""

    TYPE: ClassVar[str] = "finance.payout_held"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    entry_id: str
    host_account_id: str
    booking_id: str
    reasons: list[str] = Field(min_length=1)
    actor: str = Field(examples=["finance", "ops@example.com"])
    note: str = ""


class PayoutTransferredV1(EventModel):
    """Payments transferred a released entry to the host's connected account (or, with
    `transfer_id` None, the entry was settled by recovering what the host owed)."""

    TYPE: ClassVar[str] = "finance.payout_transferred"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    entry_id: str
    release_id: str | None
    transfer_id: str | None
    host_account_id: str
    amount: MinorUnits = Field(description="What reached the host (after netting).")
    netted: MinorUnits = Field(default=0, description="Recovered of what the host owed.")
    currency: Currency


class PayoutFailedV1(EventModel):
    """The transfer of a released entry failed; finance retries it with backoff, or staff do."""

    TYPE: ClassVar[str] = "finance.payout_failed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    entry_id: str
    release_id: str
    host_account_id: str
    amount: MinorUnits
    currency: Currency
    code: str
    message: str = ""
    retry_at: datetime | None = Field(description="None: no automatic retry is left.")


class ReserveHeldV1(EventModel):
    """Part of a payable went to the host's reserve (Dr host_payable, Cr host_reserve)."""

    TYPE: ClassVar[str] = "finance.reserve_held"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    reserve_id: str
    entry_id: str
    host_account_id: str
    amount: MinorUnits
    currency: Currency
    release_at: datetime
    policy_id: str
    policy_version: int


class ReserveReleasedV1(EventModel):
    """A reserve's time passed: it is payable again and joins the queue as its own entry."""

    TYPE: ClassVar[str] = "finance.reserve_released"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    reserve_id: str
    entry_id: str = Field(description="The queue entry that pays the released reserve.")
    host_account_id: str
    amount: MinorUnits
    currency: Currency


class NegativeBalanceRecordedV1(EventModel):
    """A host owes the platform (`asset:host_receivable:<acct>`): a cancellation penalty, or a
    refund after its payout whose transfer reversal failed. Recovered from its next payouts."""

    TYPE: ClassVar[str] = "finance.negative_balance_recorded"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    host_account_id: str
    amount: MinorUnits
    currency: Currency
    cause: str = Field(
        examples=["host_penalty", "transfer_reversal_failed", "debit_return_recovery"],
        description="The journal kind that booked what the host owes.",
    )
    booking_id: str | None = None
    balance: MinorUnits = Field(description="What the host owes in all, after this.")


class NegativeBalanceRecoveredV1(EventModel):
    """Part of what a host owed was taken from one of its payouts."""

    TYPE: ClassVar[str] = "finance.negative_balance_recovered"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    host_account_id: str
    entry_id: str
    amount: MinorUnits
    currency: Currency
    balance: MinorUnits = Field(description="What the host still owes, after this.")


class TransferReversalRequestedV1(EventModel):
    """Finance asks payments to take an amount back from a host's transfer, when the host was
    already paid: a lost dispute's host share (`dispute_lost`), or the share of a bank debit
    returned after its payout (`debit_returned`). Payments reverses it under the idempotency
    key `payments:reverse_transfer:<request_id>` and answers `payments.transfer_reversed` or
    `payments.transfer_reversal_failed` with the same `request_id`; on failure finance keeps
    the amount as the host's negative balance, netted from its next payouts."""

    TYPE: ClassVar[str] = "finance.transfer_reversal_requested"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    request_id: str
    transfer_id: str = Field(examples=["tr_1Abc"])
    payment_id: str
    booking_id: str
    host_account_id: str
    amount: MinorUnits
    currency: Currency
    cause: str = reversal_cause_field()
    dispute_id: str | None = None
