"""Three-way reconciliation with Stripe, as pure rules.

Three views of every Stripe object (a charge `ch_`/`py_`, a refund `re_`, a transfer `tr_`, a
transfer reversal `trr_`, a platform payout `po_`, a dispute `du_`):
- **Stripe**: the balance transactions whose `source` is the object (imported from Stripe);
- **ledger**: what finance's journals for the object moved on the Stripe balance (the
  operational journals; the import's own fee and availability journals are left out);
- **payments**: what payments asked Stripe for, as its facts said (`stripe_objects`).

Amounts are signed the way Stripe signs balance transactions: money in > 0 (a charge, a transfer
reversal), money out < 0 (a refund, a transfer, a payout). An object reconciles when all three
sides agree on the amount and currency; `classify` names every way they do not, as exception
kinds. An object younger than the grace period is not judged yet: payments' fact and the
balance transaction arrive by different roads, seconds apart.

The journals the import books (what only Stripe knows) are built here too: the fee of a balance
transaction, its net moving from pending to available, and platform payouts.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from finance.domain.disputes import DISPUTE_FEE, dispute_fee, is_dispute_transaction
from finance.domain.ledger import (
    PLATFORM_BANK,
    STRIPE_AVAILABLE,
    STRIPE_FEES,
    STRIPE_PENDING,
    Journal,
)

# Journal kinds the import books; unique per (balance transaction, kind), so a re-import posts
# nothing.
STRIPE_FEE = "stripe_fee"
BALANCE_AVAILABLE = "balance_available"
PLATFORM_PAYOUT = "platform_payout"
PLATFORM_PAYOUT_FAILURE = "platform_payout_failure"
IMPORT_KINDS = (STRIPE_FEE, BALANCE_AVAILABLE, DISPUTE_FEE)
"""Left out of the ledger side of matching: they book Stripe's own view, not an object's (a
dispute's fee is booked by payments' fact or the import, whichever comes first, under the
same key; the matched amount is the balance transaction's `amount`, fees apart)."""
# How far behind the newest `created` seen each import re-lists: Stripe's list may show a
# transaction a little after one created later (its lists lag writes by seconds). Every round
# re-lists this span, so its cost is the rate times this, whatever the history.
LOOKBACK = timedelta(minutes=2)
# An object is judged once its newest fact, on any side, is this old: payments' fact and
# Stripe's transaction arrive by different roads, seconds apart (and a later movement of the
# same object, a dispute's reversal, restarts the wait).
GRACE = timedelta(seconds=30)

# Stripe charges a fee on money coming in (charges, bank debits) and on disputes; a fee on
# anything else is not in the platform's pricing and is worth a look.
FEE_BEARING_TYPES = frozenset(
    {"charge", "payment", "adjustment", "dispute", "stripe_fee", "application_fee"}
)
# Balance transactions without a platform object behind them: nothing to match.
UNMATCHED_TYPES = frozenset({"stripe_fee", "application_fee", "application_fee_refund"})

# Balance transaction types of what payments asks Stripe for (a payout to the platform's bank
# is Stripe's own schedule): judged by what Stripe says the movement is, not by an id's shape.
REQUESTED_TYPES = frozenset(
    {"charge", "payment", "refund", "payment_refund", "transfer", "transfer_refund"}
)

_NAMESPACE = uuid.UUID("6f1d8f62-8c5e-4c1a-9d7e-3b0c3f9e2a11")


def source_event_id(txn_id: str) -> uuid.UUID:
    """The journal source of a balance transaction: the same id on every import."""
    return uuid.uuid5(_NAMESPACE, txn_id)


@dataclass(frozen=True)
class BalanceTransaction:
    """One of Stripe's balance transactions (`txn_…`) on the platform account."""

    txn_id: str
    type: str
    source: str | None
    amount: int
    fee: int
    net: int
    currency: str
    status: str  # pending | available
    created: datetime
    available_on: datetime | None = None
    reporting_category: str | None = None


def import_journals(bt: BalanceTransaction) -> Iterator[Journal]:
    """What the import books for a balance transaction, all keyed by it (unique per kind)."""
    if bt.fee and is_dispute_transaction(bt.type, bt.reporting_category):
        yield dispute_fee(fee=bt.fee, currency=bt.currency)  # a dispute fee is no processing fee
    elif bt.fee:
        # The fee leaves the pending balance with the transaction: its net is what remains.
        yield Journal(STRIPE_FEE, bt.currency, ((STRIPE_FEES, bt.fee), (STRIPE_PENDING, -bt.fee)))
    if bt.type == "payout" and bt.amount:
        yield Journal(
            PLATFORM_PAYOUT, bt.currency, ((PLATFORM_BANK, -bt.amount), (STRIPE_PENDING, bt.amount))
        )
    if bt.type == "payout_failure" and bt.amount:
        yield Journal(
            PLATFORM_PAYOUT_FAILURE,
            bt.currency,
            ((STRIPE_PENDING, bt.amount), (PLATFORM_BANK, -bt.amount)),
        )
    if bt.status == "available" and bt.net:
        yield available_journal(bt)


def available_journal(bt: BalanceTransaction) -> Journal:
    """Stripe reports the transaction available: its net moves from pending to available."""
    return Journal(
        BALANCE_AVAILABLE, bt.currency, ((STRIPE_AVAILABLE, bt.net), (STRIPE_PENDING, -bt.net))
    )


class ExceptionKind(StrEnum):
    MISSING_IN_LEDGER = "missing_in_ledger"
    """Stripe moved money for an object the ledger never booked (a dashboard refund)."""
    MISSING_AT_STRIPE = "missing_at_stripe"
    """The ledger or payments has the object; Stripe has no balance transaction for it."""
    NOT_REQUESTED = "not_requested"
    """Stripe and the ledger agree, but no payments fact asked for the object."""
    AMOUNT_MISMATCH = "amount_mismatch"
    CURRENCY_MISMATCH = "currency_mismatch"
    SIGN_MISMATCH = "sign_mismatch"
    UNEXPECTED_FEE = "unexpected_fee"
    """A fee on a balance transaction type the platform is not charged for."""
    UNKNOWN_TYPE = "unknown_type"
    """A balance transaction type the reconciliation has no rule for."""


KNOWN_TYPES = frozenset(
    {
        "charge",
        "payment",
        "refund",
        "payment_refund",
        "payment_failure_refund",
        "transfer",
        "transfer_refund",
        "transfer_cancel",
        "transfer_failure",
        "payout",
        "payout_failure",
        "payout_cancel",
        "adjustment",
        "dispute",
        "dispute_reversal",
    }
    | UNMATCHED_TYPES
)


@dataclass(frozen=True)
class Side:
    """One side's view of an object: its signed amount and currency (None: nothing there)."""

    amount: int
    currency: str


@dataclass(frozen=True)
class ObjectView:
    """Everything known of one Stripe object, from the three sides."""

    object_id: str
    stripe: Side | None
    ledger: Side | None
    payments: Side | None
    types: frozenset[str] = frozenset()
    unexpected_fee: int = 0
    last_seen: datetime | None = None  # when its newest fact arrived, on any side


@dataclass(frozen=True)
class Finding:
    kind: ExceptionKind
    object_id: str
    currency: str
    detail: str


def _compare(object_id: str, name: str, stripe: Side, other: Side) -> Finding | None:
    if stripe.currency != other.currency:
        detail = f"Stripe {stripe.currency}, {name} {other.currency}"
        return Finding(ExceptionKind.CURRENCY_MISMATCH, object_id, stripe.currency, detail)
    if stripe.amount == other.amount:
        return None
    detail = f"Stripe {stripe.amount}, {name} {other.amount} {stripe.currency}"
    if stripe.amount and other.amount and (stripe.amount > 0) != (other.amount > 0):
        return Finding(ExceptionKind.SIGN_MISMATCH, object_id, stripe.currency, detail)
    return Finding(ExceptionKind.AMOUNT_MISMATCH, object_id, stripe.currency, detail)


def classify(view: ObjectView, *, now: datetime, grace: timedelta) -> list[Finding]:
    """Every way the three sides of one object disagree (empty: it reconciles)."""
    if view.last_seen is not None and now - view.last_seen < grace:
        return []  # the other sides may still be on their way
    found: list[Finding] = []
    oid = view.object_id
    currency = next(s.currency for s in (view.stripe, view.ledger, view.payments) if s)
    unknown = sorted(view.types - KNOWN_TYPES)
    if unknown:
        found.append(Finding(ExceptionKind.UNKNOWN_TYPE, oid, currency, f"types {unknown}"))
    if view.unexpected_fee:
        detail = f"fee {view.unexpected_fee} on {sorted(view.types)}"
        found.append(Finding(ExceptionKind.UNEXPECTED_FEE, oid, currency, detail))
    if view.stripe is None:
        have = "ledger" if view.ledger else "payments"
        amount = (view.ledger or view.payments or Side(0, currency)).amount
        if amount:
            detail = f"{have} has {amount} {currency}; no balance transaction"
            found.append(Finding(ExceptionKind.MISSING_AT_STRIPE, oid, currency, detail))
        return found
    if view.ledger is None:
        if view.stripe.amount:
            detail = f"Stripe moved {view.stripe.amount} {currency}; the ledger has no journal"
            found.append(Finding(ExceptionKind.MISSING_IN_LEDGER, oid, currency, detail))
    else:
        mismatch = _compare(oid, "ledger", view.stripe, view.ledger)
        if mismatch:
            found.append(mismatch)
    if view.payments is None:
        if view.ledger is not None and view.stripe.amount and view.types & REQUESTED_TYPES:
            detail = f"Stripe and ledger moved {view.stripe.amount}; no payments fact asked"
            found.append(Finding(ExceptionKind.NOT_REQUESTED, oid, currency, detail))
    else:
        mismatch = _compare(oid, "payments", view.stripe, view.payments)
        if mismatch and all(m.kind != mismatch.kind for m in found):
            found.append(mismatch)
    return found
