"""A card dispute's money, as pure posting rules (docs/finance.md, "Disputes").

What Stripe does, and what finance books for it:
- **funds withdrawn**: one balance transaction (type `adjustment`, reporting category
  `dispute`, source the dispute `du_…`) takes the disputed amount and the dispute fee out of
  the balance, available at once. `dispute_funds_withdrawn` moves the amount from the Stripe
  balance to `asset:disputed_funds` (money the platform may still win back);
  `dispute_fee` books the fee (`expense:stripe_dispute_fees`). Both credit
  `asset:stripe_balance:pending` like every journal that moves money at Stripe; the import's
  `balance_available` moves the transaction's net from pending to available, as Stripe made it
  available at once, so the ledger's pending and available equal Stripe's.
- **funds reinstated** (won): `dispute_funds_reinstated` brings the amount back (and any part
  of the fee Stripe returns, a negative `dispute_fee`).
- **lost** (or accepted): `dispute_loss` takes the withdrawn amount off `asset:disputed_funds`
  and charges it as the liability policy says: the platform's share to
  `expense:dispute_losses`, each host's share to what the host owes: the host's receivable
  (netted from its next payouts, as any negative balance) or, for a host already paid, to
  `asset:dispute_recovery:<acct>` while a transfer reversal is asked for. The reversal moves it
  back into the Stripe balance (`dispute_recovery_reversed`); a failed one moves it to the
  receivable (`dispute_recovery_failed`), netted later. Each share is recovered exactly once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from finance.domain.ledger import (
    STRIPE_PENDING,
    Journal,
    UnbalancedJournal,
    host_receivable,
    two_lines,
)

DISPUTED_FUNDS = "asset:disputed_funds"
DISPUTE_FEES = "expense:stripe_dispute_fees"
DISPUTE_LOSSES = "expense:dispute_losses"

FUNDS_WITHDRAWN = "dispute_funds_withdrawn"
FUNDS_REINSTATED = "dispute_funds_reinstated"
DISPUTE_FEE = "dispute_fee"
DISPUTE_LOSS = "dispute_loss"
RECOVERY_REVERSED = "dispute_recovery_reversed"
RECOVERY_FAILED = "dispute_recovery_failed"

LOST_OUTCOMES = frozenset({"lost", "accepted"})
DISPUTE_LOST = "dispute_lost"  # the cause on a transfer reversal finance asked for
DISPUTE_CATEGORIES = frozenset({"dispute", "dispute_reversal"})
"""Stripe's reporting categories of a dispute's balance transactions (withdrawal, reinstatement);
older accounts show types `dispute` / `dispute_reversal` instead of `adjustment`."""


def dispute_recovery(account_id: str) -> str:
    """A lost dispute's host share while its transfer reversal is under way (not netted: the
    reversal may still bring it back)."""
    return f"asset:dispute_recovery:{account_id}"


def is_dispute_transaction(type_: str, reporting_category: str | None) -> bool:
    return reporting_category in DISPUTE_CATEGORIES or type_ in DISPUTE_CATEGORIES


def funds_withdrawn(*, amount: int, currency: str) -> Journal:
    return two_lines(
        FUNDS_WITHDRAWN, currency, DISPUTED_FUNDS, STRIPE_PENDING, amount, nothing="withdrawn"
    )


def funds_reinstated(*, amount: int, currency: str) -> Journal:
    return two_lines(
        FUNDS_REINSTATED, currency, STRIPE_PENDING, DISPUTED_FUNDS, amount, nothing="reinstated"
    )


def dispute_fee(*, fee: int, currency: str) -> Journal:
    """Stripe's dispute fee as its balance transaction carries it: > 0 taken, < 0 returned.
    The Stripe import books the same journal under the same key (the transaction's id and
    this kind): whichever comes first books it, once."""
    if fee == 0:
        raise UnbalancedJournal(f"{DISPUTE_FEE}: no fee")
    return Journal(DISPUTE_FEE, currency, ((DISPUTE_FEES, fee), (STRIPE_PENDING, -fee)))


@dataclass(frozen=True, slots=True)
class Charge:
    """Who bears part of a lost dispute, and how it is recovered: `platform` (an expense),
    `receivable` (netted from the host's next payouts) or `reversal` (taken back from the
    host's transfer `transfer_id`)."""

    how: str
    amount: int
    host_account_id: str | None = None
    booking_id: str | None = None
    transfer_id: str | None = None


PLATFORM, RECEIVABLE, REVERSAL = "platform", "receivable", "reversal"


@dataclass(frozen=True, slots=True)
class HostShare:
    host_account_id: str
    booking_id: str | None
    amount: int


@dataclass(frozen=True, slots=True)
class Paid:
    """A host's payout of the disputed booking that reached it: the transfer, and how much
    of it may still be reversed."""

    transfer_id: str
    reversible: int


def recovery(share: HostShare, paid: Paid | None) -> list[Charge]:
    """How one host's share is recovered: by a reversal of the transfer that paid the booking
    (up to what is left of it), the rest netted from the host's next payouts. A booking not
    paid yet (its payout held by the dispute), being paid, or paid by a destination charge
    (no transfer of ours to reverse) is netted."""
    if share.amount <= 0:
        return []
    reverse = min(share.amount, paid.reversible) if paid is not None else 0
    found = []
    if reverse > 0:
        assert paid is not None
        found.append(
            Charge(REVERSAL, reverse, share.host_account_id, share.booking_id, paid.transfer_id)
        )
    if share.amount - reverse > 0:
        found.append(
            Charge(RECEIVABLE, share.amount - reverse, share.host_account_id, share.booking_id)
        )
    return found


def check_shares(amount: int, platform: int, hosts: Iterable[HostShare]) -> None:
    """The shares of a loss must add up to the disputed amount (the policy's promise)."""
    hosts = list(hosts)
    if platform < 0 or any(h.amount < 0 for h in hosts):
        raise UnbalancedJournal(f"{DISPUTE_LOSS}: a negative share")
    total = platform + sum(h.amount for h in hosts)
    if total != amount:
        raise UnbalancedJournal(f"{DISPUTE_LOSS}: shares add up to {total}, not {amount}")


def loss(*, amount: int, currency: str, charges: Iterable[Charge]) -> Journal:
    """The withdrawn amount is lost: off `asset:disputed_funds`, onto who bears it."""
    lines: dict[str, int] = {}
    for charge in charges:
        if charge.how == PLATFORM:
            account = DISPUTE_LOSSES
        else:
            assert charge.host_account_id is not None
            recover = host_receivable if charge.how == RECEIVABLE else dispute_recovery
            account = recover(charge.host_account_id)
        lines[account] = lines.get(account, 0) + charge.amount
    postings = [(DISPUTED_FUNDS, -amount), *((a, v) for a, v in lines.items() if v)]
    return Journal(DISPUTE_LOSS, currency, tuple(postings))


def recovery_reversed(
    *, amount: int, host_account_id: str, currency: str, kind: str = RECOVERY_REVERSED
) -> Journal:
    """The reversal brought the host's share back into the Stripe balance (`kind`: a lost
    dispute's share, or a returned bank debit's)."""
    recovery = dispute_recovery(host_account_id)
    return two_lines(kind, currency, STRIPE_PENDING, recovery, amount, nothing="reversed")


def recovery_failed(
    *, amount: int, host_account_id: str, currency: str, kind: str = RECOVERY_FAILED
) -> Journal:
    """The reversal failed: the host owes the share, netted from its next payouts."""
    owed, recovery = host_receivable(host_account_id), dispute_recovery(host_account_id)
    return two_lines(kind, currency, owed, recovery, amount, nothing="owed")
