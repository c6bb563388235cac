"""Journals as pure values: a journal is valid only if its postings sum to zero."""

from __future__ import annotations

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


def guest_payment_captured(
    *, amount: int, platform_fee: int, host_account_id: str, currency: str
) -> Journal:
    """Cash in at Stripe; the platform earns its fee; the rest is owed to the host."""
    lines = [
        (STRIPE_BALANCE, amount),
        (PLATFORM_FEES, -platform_fee),
        (host_payable(host_account_id), -(amount - platform_fee)),
    ]
    return Journal("guest_payment_captured", currency, tuple((a, v) for a, v in lines if v))
