"""Journals as pure values: a journal is valid only if its postings sum to zero."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

STRIPE_BALANCE = "asset:stripe_balance"
PLATFORM_FEES = "revenue:platform_fees"


def host_payable(account_id: str) -> str:
    return f"liability:host_payable:{account_id}"


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


@dataclass(frozen=True)
class Share:
    """What one booking of a captured payment paid, and how it divides: the platform's fee and
    the rest owed to the booking's host."""

    host_account_id: str
    amount: int
    platform_fee: int
    host_amount: int


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
    """Cash in at Stripe; the platform earns the fees of every booking the payment covers; each
    host is owed the rest of its bookings (one posting per host account, however many of its
    bookings the payment covers). Raises UnbalancedJournal when the shares do not add up to
    the payment."""
    shares = tuple(shares)
    for share in shares:
        if share.amount != share.platform_fee + share.host_amount:
            raise UnbalancedJournal(
                f"share of {share.host_account_id}: {share.amount} is not its fee "
                f"{share.platform_fee} plus its host amount {share.host_amount}"
            )
    paid = sum(share.amount for share in shares)
    fees = sum(share.platform_fee for share in shares)
    if (paid, fees) != (amount, platform_fee):
        raise UnbalancedJournal(
            f"shares pay {paid} with fees {fees}; the payment is {amount} with fees {platform_fee}"
        )
    owed: dict[str, int] = {}
    for share in shares:
        owed[share.host_account_id] = owed.get(share.host_account_id, 0) + share.host_amount
    lines = [
        (STRIPE_BALANCE, amount),
        (PLATFORM_FEES, -fees),
        *((host_payable(account), -total) for account, total in owed.items()),
    ]
    return Journal("guest_payment_captured", currency, tuple((a, v) for a, v in lines if v))
