"""Journals as pure values: a journal is valid only if its postings sum to zero.

The chart of accounts (debit > 0, credit < 0; docs/finance.md):
- `asset:stripe_balance:pending`: the platform's Stripe balance not yet available; every
  operational journal that moves money at Stripe (capture, refund, transfer, reversal, return,
  platform payout, Stripe fee) posts here;
- `asset:stripe_balance:available`: moved from pending by the Stripe import only, when Stripe
  reports a balance transaction available (so both equal Stripe's balance once imported);
- `expense:stripe_fees`: Stripe's processing fees, booked by the import;
- `asset:platform_bank`: Stripe's payouts to the platform's bank account;
- `revenue:platform_fees`: the platform's fees, net of tax;
- `liability:tax_payable`: the part of the fees that is tax the platform remits;
- `liability:host_payable:<account>`: owed to a host's connected account, not yet transferred;
- `liability:host_reserve:<account>`: owed to a host, held back by a reserve policy;
- `asset:host_receivable:<account>`: what a host owes the platform (a penalty or a refund after
  its payout, a failed transfer reversal), netted from its next payouts;
- `revenue:host_penalties`: charged to hosts who cancel confirmed bookings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

STRIPE_PENDING = "asset:stripe_balance:pending"
STRIPE_AVAILABLE = "asset:stripe_balance:available"
STRIPE_FEES = "expense:stripe_fees"
PLATFORM_BANK = "asset:platform_bank"
PLATFORM_FEES = "revenue:platform_fees"
TAX_PAYABLE = "liability:tax_payable"
HOST_PENALTIES = "revenue:host_penalties"
# Kinds booked once per Stripe object (a charge's capture, a refund, a transfer to a host and a
# reversal of it), whichever fact announces it: the ledger equals what Stripe did, so a capture
# announced twice is one capture.
ONCE_PER_OBJECT = frozenset(
    {"guest_payment_captured", "guest_refund", "host_transfer", "host_transfer_reversed"}
)


def host_payable(account_id: str) -> str:
    return f"liability:host_payable:{account_id}"


def host_reserve(account_id: str) -> str:
    return f"liability:host_reserve:{account_id}"


def host_receivable(account_id: str) -> str:
    return f"asset:host_receivable:{account_id}"


class UnbalancedJournal(ValueError):
    pass


@dataclass(frozen=True)
class Journal:
    kind: str
    currency: str
    postings: tuple[tuple[str, int], ...]  # (account, signed minor units; debit > 0)

    def __post_init__(self) -> None:
        if sum(amount for _, amount in self.postings) != 0:
            raise UnbalancedJournal(f"{self.kind}: postings do not sum to zero: {self.postings}")
        if len(self.postings) < 2:
            raise UnbalancedJournal(f"{self.kind}: a journal needs at least two postings")


def two_lines(
    kind: str, currency: str, debit: str, credit: str, amount: int, *, nothing: str = "to post"
) -> Journal:
    """`amount` (> 0) moved from `credit` to `debit`; `nothing` says, in the refusal of an
    amount of zero or less, what there was none of."""
    if amount <= 0:
        raise UnbalancedJournal(f"{kind}: nothing {nothing} ({amount})")
    return Journal(kind, currency, ((debit, amount), (credit, -amount)))


@dataclass(frozen=True)
class Share:
    """What one booking of a captured payment paid, and how it divides: the platform's fee (of
    which `tax` is tax to remit) and the rest owed to the booking's host."""

    host_account_id: str
    amount: int
    platform_fee: int
    host_amount: int
    tax: int = 0

    def check(self) -> None:
        """Raises UnbalancedJournal unless `amount = platform_fee + host_amount` and the tax is
        part of the fee."""
        if self.amount != self.platform_fee + self.host_amount:
            raise UnbalancedJournal(
                f"share of {self.host_account_id}: {self.amount} is not its fee "
                f"{self.platform_fee} plus its host amount {self.host_amount}"
            )
        if self.host_amount < 0:
            raise UnbalancedJournal(
                f"share of {self.host_account_id}: negative host amount {self.host_amount}"
            )
        if not 0 <= self.tax <= self.platform_fee:
            raise UnbalancedJournal(
                f"share of {self.host_account_id}: tax {self.tax} is not part of its fee "
                f"{self.platform_fee}"
            )


def guest_payment_captured(
    *, amount: int, platform_fee: int, host_account_id: str, currency: str
) -> Journal:
    """Cash in at Stripe; the platform earns its fee; the rest is owed to the host."""
    share = Share(host_account_id, amount, platform_fee, amount - platform_fee)
    return guest_payment_split(
        amount=amount, platform_fee=platform_fee, shares=[share], currency=currency
    )


def guest_payment_split(
    *, amount: int, platform_fee: int, shares: Iterable[Share], currency: str
) -> Journal:
    """Cash in at Stripe; the platform earns the fees of every booking the payment covers, less
    their tax, which it owes the tax authority; each host is owed the rest of its bookings (one
    posting per host account, however many of its bookings the payment covers). Raises
    UnbalancedJournal when the shares do not add up to the payment."""
    shares = tuple(shares)
    for share in shares:
        share.check()
    paid = sum(share.amount for share in shares)
    fees = sum(share.platform_fee for share in shares)
    if (paid, fees) != (amount, platform_fee):
        raise UnbalancedJournal(
            f"shares pay {paid} with fees {fees}; the payment is {amount} with fees {platform_fee}"
        )
    owed: dict[str, int] = {}
    for share in shares:
        owed[share.host_account_id] = owed.get(share.host_account_id, 0) + share.host_amount
    tax = sum(share.tax for share in shares)
    lines = [
        (STRIPE_PENDING, amount),
        (PLATFORM_FEES, -(fees - tax)),
        (TAX_PAYABLE, -tax),
        *((host_payable(account), -total) for account, total in owed.items()),
    ]
    return _journal("guest_payment_captured", currency, lines)


def guest_refund(
    *,
    amount: int,
    platform_fee: int,
    host_amount: int,
    tax: int,
    host_account_id: str,
    currency: str,
) -> Journal:
    """Money given back to the guest out of the Stripe balance, reversing what its capture
    booked: the platform's fee (net of tax), the tax owed, and the host's share. Raises
    UnbalancedJournal unless `amount = platform_fee + host_amount` and the tax is part of the
    fee."""
    if amount <= 0:
        raise UnbalancedJournal(f"guest_refund: nothing to refund ({amount})")
    share = Share(host_account_id, amount, platform_fee, host_amount, tax)
    share.check()
    lines = [
        (STRIPE_PENDING, -amount),
        (PLATFORM_FEES, platform_fee - tax),
        (TAX_PAYABLE, tax),
        (host_payable(host_account_id), host_amount),
    ]
    return _journal("guest_refund", currency, lines)


def _journal(kind: str, currency: str, lines: Iterable[tuple[str, int]]) -> Journal:
    """A journal of the non-zero lines."""
    return Journal(kind, currency, tuple((a, v) for a, v in lines if v))
