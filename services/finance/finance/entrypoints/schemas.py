"""What finance's HTTP API answers: one model per answer, each a route's `response_model`.

`Shape` forbids undeclared fields, so a column added to a table and served by a `SELECT *`
fails the route's tests until it is declared here (and so documented), rather than reaching
clients unannounced. Money is integer minor units; times are ISO 8601 as `isoformat()` writes
them (`Instant`)."""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from eventkit.endpoint import Instant, Shape


# Ledger (http.py)
class AccountBalance(Shape):
    account: str
    currency: str
    balance: int
    postings: int


class TrialBalance(Shape):
    accounts: list[AccountBalance]
    totals: dict[str, int] = Field(description="Per currency; every one sums to zero.")
    balanced: bool


class JournalLine(Shape):
    journal_id: str
    kind: str
    currency: str
    posted_at: Instant
    account: str
    amount: int


class Posting(Shape):
    account: str
    amount: int


class DisputeJournal(Shape):
    journal_id: str
    kind: str
    booking_id: str | None
    currency: str
    posted_at: Instant
    postings: list[Posting]


class DisputeRecovery(Shape):
    recovery_id: str
    dispute_id: str
    payment_id: str
    booking_id: str | None
    host_account_id: str
    currency: str
    amount: int
    reversal_amount: int
    transfer_id: str | None
    state: str
    reversal_id: str | None
    failure_code: str | None
    created_at: Instant
    updated_at: Instant


class DisputeBooks(Shape):
    dispute_id: str
    processor_dispute_id: str
    journals: list[DisputeJournal]
    totals: dict[str, int] = Field(description="Per account, the accounts not back at zero.")
    recoveries: list[DisputeRecovery]


# Payables (payouts_http.py)
class Release(Shape):
    release_id: str
    payment_id: str
    booking_id: str
    host_account_id: str
    amount: int
    currency: str
    status: str
    transfer_id: str | None
    failure_code: str | None
    failure_message: str | None
    released_at: Instant
    decided_at: Instant | None


class Payable(Shape):
    payment_id: str
    booking_id: str
    group_id: str | None
    host_account_id: str
    currency: str
    host_amount: int
    refunded: int
    released: int
    reversed: int
    reserved: int
    netted: int
    transfer_group: str | None
    destination_charge: bool
    payment_method_type: str
    charge_id: str | None
    hold_until: Instant | None
    cleared_at: Instant | None
    returned_at: Instant | None
    releases: int
    created_at: Instant
    updated_at: Instant
    remaining: int = Field(description="What is still owed to the host.")
    held: bool = Field(description="Funds not yet cleared, or returned: not releasable now.")


class Payables(Shape):
    booking_id: str
    payables: list[Payable]
    releases: list[Release]


# The payout queue (queue_http.py)
class PayoutEntry(Shape):
    entry_id: str
    kind: str
    payment_id: str
    booking_id: str
    group_id: str | None
    purpose: str | None
    host_account_id: str
    currency: str
    gross: int
    reserve_amount: int
    policy_id: str | None
    policy_version: int | None
    netted: int
    amount: int | None
    state: str
    holds: list[str]
    due_at: Instant | None
    release_id: str | None
    transfer_id: str | None
    failure_code: str | None
    retries: int
    version: int
    created_at: Instant
    updated_at: Instant


class QueuePage(Shape):
    entries: list[PayoutEntry]
    next_cursor: str | None


class EntryChange(Shape):
    from_state: str | None
    to_state: str
    trigger: str
    reason: str | None
    actor: str
    note: str
    at: Instant


class Reserve(Shape):
    reserve_id: str
    entry_id: str
    host_account_id: str
    currency: str
    amount: int
    policy_id: str
    policy_version: int
    release_at: Instant
    state: str
    released_at: Instant | None


class EntryDetail(PayoutEntry):
    host_owes: int = Field(description="What the host owes the platform in this currency.")
    history: list[EntryChange]
    reserves: list[Reserve]
    releases: list[Release]
    dispute_recoveries: list[DisputeRecovery]


class EntryState(Shape):
    entry_id: str
    state: str


class HostSettings(Shape):
    host_account_id: str
    payout_delay_seconds: int | None
    risk_tier: str | None
    payouts_enabled: bool
    updated_by: str | None
    updated_at: Instant


class PolicyVersion(Shape):
    policy_id: str
    version: int
    kind: str
    percent_bps: int
    hold_days: int
    fixed_amount: int
    currency: str | None


class StoredPolicyVersion(PolicyVersion):
    created_by: str
    note: str
    created_at: Instant


class Assignment(Shape):
    scope: str
    scope_key: str
    policy_id: str


class StoredAssignment(Assignment):
    assigned_by: str
    assigned_at: Instant


class ReservePolicies(Shape):
    policies: list[StoredPolicyVersion]
    assignments: list[StoredAssignment]


# The books (books_http.py)
class ImportCounts(Shape):
    listed: int
    changed: int
    journals: int
    seconds: float


class MatchCounts(Shape):
    full: bool = Field(
        description="Every object judged (a full round), not only those touched since the "
        "last match and those with an open exception."
    )
    objects: int
    judged: int
    findings: dict[str, int]
    raised: int
    resolved: int
    seconds: float


class ReconciliationRun(Shape):
    import_: ImportCounts = Field(alias="import")
    match: MatchCounts


class ReconException(Shape):
    exception_id: int
    kind: str
    object_id: str
    currency: str
    detail: str
    raised_at: Instant
    status: str
    resolved_at: Instant | None
    resolved_by: str | None
    note: str | None
    age_seconds: int


class ExceptionPage(Shape):
    items: list[ReconException]
    next_after: int | None = Field(description="The `after` of the next page; null: no more.")


class Closes(Shape):
    closes: list[dict[str, Any]] = Field(description="Each currency's close report.")


class CloseSummary(Shape):
    business_date: date
    currency: str
    status: str
    attempts: int
    blockers: Any = Field(description="What kept the day open (none once closed).")
    updated_at: Instant | None
    closed_at: Instant | None


class AcknowledgementOut(Shape):
    business_date: date
    currency: str
    item: str
    amount: int
    note: str
    actor: str
