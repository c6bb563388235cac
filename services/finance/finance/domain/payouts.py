"""What finance owes a host per captured payment, whether it may be paid out now, and the
journals of the money that moves when it is (pure).

Accounts are the ledger's (`finance.domain.ledger`): a transfer to a host pays what the platform
owed it (Dr `liability:host_payable:<account>`) out of the Stripe balance (Cr
`asset:stripe_balance:pending`); a reversal is the opposite. A returned bank debit undoes what its
capture booked.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from finance.domain.ledger import (
    PLATFORM_FEES,
    STRIPE_PENDING,
    TAX_PAYABLE,
    Journal,
    Share,
    UnbalancedJournal,
    host_payable,
)

HOST_TRANSFER = "host_transfer"
HOST_TRANSFER_REVERSED = "host_transfer_reversed"
PAYMENT_RETURNED = "payment_returned"


class PayoutRefused(Exception):
    """A release finance will not make now; `code` says why (see the payout-release runbook)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Payable:
    """What one captured payment owes one booking's host."""

    payment_id: str
    booking_id: str
    host_account_id: str
    currency: str
    host_amount: int
    refunded: int = 0
    released: int = 0
    reversed: int = 0
    destination_charge: bool = False
    hold_until: datetime | None = None
    cleared_at: datetime | None = None
    returned_at: datetime | None = None

    @property
    def remaining(self) -> int:
        """Owed and not released yet (a reversal gives back what a refund took of a transfer)."""
        return self.host_amount - self.refunded - self.released + self.reversed

    def held(self, now: datetime) -> bool:
        return self.hold_until is not None and self.cleared_at is None and self.hold_until > now

    def releasable(self, now: datetime, amount: int | None = None) -> int:
        """What a release may pay now (all that remains by default); raises PayoutRefused."""
        what = f"payment {self.payment_id}, booking {self.booking_id}"
        if self.destination_charge:
            raise PayoutRefused(
                "destination_charge",
                f"{what}: a destination charge; Stripe paid the host at capture",
            )
        if self.returned_at is not None:
            raise PayoutRefused(
                "payment_returned", f"{what}: the bank debit was returned on {self.returned_at}"
            )
        if self.held(now):
            assert self.hold_until is not None
            raise PayoutRefused(
                "funds_on_hold",
                f"{what}: held until {self.hold_until.isoformat()} (the bank debit can still "
                "be returned)",
            )
        if self.remaining <= 0:
            raise PayoutRefused("nothing_to_release", f"{what}: nothing is left to release")
        if amount is None:
            return self.remaining
        if amount <= 0 or amount > self.remaining:
            raise PayoutRefused(
                "amount_exceeds_available",
                f"{what}: {amount} asked, {self.remaining} may be released",
            )
        return amount


def host_transfer(*, amount: int, host_account_id: str, currency: str) -> Journal:
    """The host's share left the Stripe balance for its connected account."""
    if amount <= 0:
        raise UnbalancedJournal(f"host_transfer: nothing transferred ({amount})")
    return Journal(
        HOST_TRANSFER,
        currency,
        ((host_payable(host_account_id), amount), (STRIPE_PENDING, -amount)),
    )


def host_transfer_reversed(*, amount: int, host_account_id: str, currency: str) -> Journal:
    """Part of a transfer came back from the host's account to the Stripe balance."""
    if amount <= 0:
        raise UnbalancedJournal(f"host_transfer_reversed: nothing reversed ({amount})")
    return Journal(
        HOST_TRANSFER_REVERSED,
        currency,
        ((STRIPE_PENDING, amount), (host_payable(host_account_id), -amount)),
    )


def payment_returned(
    *, amount: int, platform_fee: int, tax: int, host_account_id: str, currency: str
) -> Journal:
    """A bank debit came back after its capture was booked: the capture's journal reversed
    (the cash, the platform's fee net of tax, the tax and the host's share)."""
    if amount <= 0:
        raise UnbalancedJournal(f"payment_returned: nothing returned ({amount})")
    share = Share(host_account_id, amount, platform_fee, amount - platform_fee, tax)
    share.check()
    lines = (
        (STRIPE_PENDING, -amount),
        (PLATFORM_FEES, platform_fee - tax),
        (TAX_PAYABLE, tax),
        (host_payable(host_account_id), amount - platform_fee),
    )
    return Journal(PAYMENT_RETURNED, currency, tuple((a, v) for a, v in lines if v))
