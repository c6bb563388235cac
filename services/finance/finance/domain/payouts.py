"""What finance owes a host per captured payment, whether it may be paid out now, and the
journals of the money that moves when it is (pure).

Accounts are the ledger's (`finance.domain.ledger`): a transfer to a host pays what the platform
owed it (Dr `liability:host_payable:<account>`) out of the Stripe balance (Cr
`asset:stripe_balance:pending`); a reversal is the opposite. A returned bank debit undoes what its
capture booked.

A bank debit can come back weeks after its host was paid (ACH allows 60 days for an
unauthorized debit). Its return's journal still takes the host share off the host payable (Dr),
which the payout had already emptied: the payable would be left owed *by* the host.
`debit_return_recovery` moves that share back off the payable (Cr) to where it is recovered
from, as a lost dispute's share is (Stripe takes a returned debit back by a dispute): what the
transfer may still give back to `asset:dispute_recovery:<acct>` while a transfer reversal is
under way, what the payout netted (it recovered a debt out of money that is gone now) to the
host's receivable. The reversal brings its part into the Stripe balance
(`debit_return_reversed`); a failed one leaves it owed (`debit_return_reversal_failed`), netted
from the host's next payouts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import partial

from finance.domain.disputes import dispute_recovery, recovery_failed, recovery_reversed
from finance.domain.ledger import (
    PLATFORM_FEES,
    STRIPE_PENDING,
    TAX_PAYABLE,
    Journal,
    Share,
    UnbalancedJournal,
    host_payable,
    host_receivable,
    two_lines,
)

HOST_TRANSFER = "host_transfer"
HOST_TRANSFER_REVERSED = "host_transfer_reversed"
PAYMENT_RETURNED = "payment_returned"
DEBIT_RETURN_RECOVERY = "debit_return_recovery"
DEBIT_RETURN_REVERSED = "debit_return_reversed"
DEBIT_RETURN_REVERSAL_FAILED = "debit_return_reversal_failed"
DEBIT_RETURNED = "debit_returned"  # the cause on the transfer reversal finance asks for


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
    reserved: int = 0  # held in the host's reserve (paid by its own queue entry later)
    netted: int = 0  # recovered what the host owed instead of being transferred
    destination_charge: bool = False
    hold_until: datetime | None = None
    cleared_at: datetime | None = None
    returned_at: datetime | None = None

    @property
    def remaining(self) -> int:
        """Owed and not released yet (a reversal gives back what a refund took of a transfer)."""
        return self.host_amount - self.refunded - self.released - self.netted + self.reversed

    @property
    def payable_now(self) -> int:
        """What remains less what the reserve holds back."""
        return max(self.remaining - self.reserved, 0)

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
        if self.payable_now <= 0:
            raise PayoutRefused("nothing_to_release", f"{what}: nothing is left to release")
        if amount is None:
            return self.payable_now
        if amount <= 0 or amount > self.payable_now:
            raise PayoutRefused(
                "amount_exceeds_available",
                f"{what}: {amount} asked, {self.payable_now} may be released",
            )
        return amount


def host_transfer(*, amount: int, host_account_id: str, currency: str) -> Journal:
    """The host's share left the Stripe balance for its connected account."""
    payable = host_payable(host_account_id)
    return two_lines(
        HOST_TRANSFER, currency, payable, STRIPE_PENDING, amount, nothing="transferred"
    )


def host_transfer_reversed(*, amount: int, host_account_id: str, currency: str) -> Journal:
    """Part of a transfer came back from the host's account to the Stripe balance."""
    payable = host_payable(host_account_id)
    return two_lines(
        HOST_TRANSFER_REVERSED, currency, STRIPE_PENDING, payable, amount, nothing="reversed"
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


@dataclass(frozen=True, slots=True)
class ReturnRecovery:
    """How a paid host's share of a returned bank debit comes back: `reverse` by a reversal of
    the transfer that paid it (what is left of it), `owed` (what the payout netted of the
    host's debts instead of sending) as the host's receivable."""

    reverse: int
    owed: int

    @property
    def share(self) -> int:
        return self.reverse + self.owed


def return_recovery(*, reversible: int, netted: int) -> ReturnRecovery:
    return ReturnRecovery(max(reversible, 0), max(netted, 0))


def debit_return_recovery(
    recovery: ReturnRecovery, *, host_account_id: str, currency: str
) -> Journal:
    """The paid share leaves the host payable (the return's journal debited it) for where it
    is recovered from."""
    if recovery.share <= 0:
        raise UnbalancedJournal(f"{DEBIT_RETURN_RECOVERY}: nothing to recover ({recovery})")
    lines = (
        (dispute_recovery(host_account_id), recovery.reverse),
        (host_receivable(host_account_id), recovery.owed),
        (host_payable(host_account_id), -recovery.share),
    )
    return Journal(DEBIT_RETURN_RECOVERY, currency, tuple((a, v) for a, v in lines if v))


# A reversal's outcome is booked as a lost dispute's share's is, under the return's own kinds:
# the share came back into the Stripe balance, or the reversal failed and the host owes it,
# netted from its next payouts.
debit_return_reversed = partial(recovery_reversed, kind=DEBIT_RETURN_REVERSED)
debit_return_reversal_failed = partial(recovery_failed, kind=DEBIT_RETURN_REVERSAL_FAILED)
