"""Events of finance's books on `finance.events`: the daily close (issue 11, section 6).

Kept apart from `finance.py` (payouts and journals) so the two can grow independently."""

from datetime import date, datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from marketplace_contracts.envelope import EventModel
from marketplace_contracts.money import Currency


class AccountBalance(BaseModel):
    """One account of a closed day's trial balance (debit > 0, credit < 0)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    account: str = Field(examples=["asset:stripe_balance:available"])
    balance: int = Field(description="Signed minor units at the end of the day.")


class DayClosedV1(EventModel):
    """Finance closed a business day for one currency: its trial balance is frozen, nothing
    posts into it any more (a late fact posts into the next open day as an adjustment), and
    its close report is final. Keyed by `<business_date>:<currency>`."""

    TYPE: ClassVar[str] = "finance.day_closed"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    business_date: date
    currency: Currency
    closed_at: datetime
    trial_balance: list[AccountBalance]
    acknowledged: int = Field(
        ge=0, description="Differences and exceptions finance acknowledged to close the day."
    )
    open_exceptions: int = Field(ge=0, description="Reconciliation exceptions open at close.")


class ReconciliationExceptionRaisedV1(EventModel):
    """Reconciliation found Stripe, the ledger and payments disagreeing about a Stripe object
    (docs/runbooks/reconciliation.md says what each kind means). Raised once per object and
    kind while it stays open. Keyed by `object_id`."""

    TYPE: ClassVar[str] = "finance.reconciliation_exception_raised"
    VERSION: ClassVar[int] = 1
    TOPIC: ClassVar[str] = "finance.events"

    exception_id: int = Field(ge=1)
    kind: str = Field(
        examples=["missing_in_ledger", "missing_at_stripe", "amount_mismatch", "unexpected_fee"]
    )
    object_id: str = Field(examples=["re_1Abc", "ch_1Abc"])
    currency: str = Field(
        examples=["usd"], description="The object's currency (`mixed` if its sides disagree)."
    )
    detail: str
    raised_at: datetime
