"""Events produced by the finance service on `finance.events`, keyed by journal id."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marketplace_contracts.envelope import EventModel
from marketplace_contracts.money import Currency, MinorUnits


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
