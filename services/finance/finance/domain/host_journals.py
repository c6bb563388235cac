"""Journals of money moved between a host's accounts (pure): reserves, what a host owes, and
its recovery from the host's payouts. None of them moves money at Stripe."""

from __future__ import annotations

from collections.abc import Callable

from finance.domain.ledger import (
    HOST_PENALTIES,
    Journal,
    host_payable,
    host_receivable,
    host_reserve,
    two_lines,
)

RESERVE_HELD = "reserve_held"
RESERVE_RELEASED = "reserve_released"
HOST_PENALTY_RECEIVABLE = "host_penalty"
REVERSAL_FAILED = "transfer_reversal_failed"
REFUND_AFTER_NETTING = "refund_after_netting"
NEGATIVE_BALANCE_RECOVERED = "negative_balance_recovered"


def reserve_held(*, amount: int, host_account_id: str, currency: str) -> Journal:
    """Part of a payable is held back: owed to the host, not payable yet."""
    return _moved(RESERVE_HELD, host_payable, host_reserve, amount, host_account_id, currency)


def reserve_released(*, amount: int, host_account_id: str, currency: str) -> Journal:
    return _moved(RESERVE_RELEASED, host_reserve, host_payable, amount, host_account_id, currency)


def penalty_receivable(*, penalty: int, host_account_id: str, currency: str) -> Journal:
    """A host's cancellation penalty is owed by the host, recovered from its next payouts (the
    cancelled booking's own payable is refunded, so there is nothing to take it from)."""
    owed = host_receivable(host_account_id)
    return two_lines(HOST_PENALTY_RECEIVABLE, currency, owed, HOST_PENALTIES, penalty)


def reversal_failed(*, amount: int, host_account_id: str, currency: str) -> Journal:
    """A refund was booked against the host's payable (Dr host_payable) after the host was
    paid, and the transfer reversal that should have taken it back failed: the host owes it."""
    return _moved(REVERSAL_FAILED, host_receivable, host_payable, amount, host_account_id, currency)


def refund_after_netting(*, amount: int, host_account_id: str, currency: str) -> Journal:
    """A refund was booked against the host's payable (Dr host_payable) after its payout had
    settled the host's debts with it (netted) instead of a transfer: no reversal can take that
    back, so the host owes it again."""
    return _moved(
        REFUND_AFTER_NETTING, host_receivable, host_payable, amount, host_account_id, currency
    )


def owed_again_after_refund(
    *, host_amount: int, transferred: int, netted: int, refunded_before: int, refunded_after: int
) -> int:
    """What a refund makes the host owe again of what its payout netted: the host got
    `transferred + netted` and is owed `host_amount - refunded`; the excess is taken back by a
    reversal of the transfer first (payments), and the rest, at most what was netted, is owed."""

    def owed(refunded: int) -> int:
        return min(max(transferred + netted - (host_amount - refunded), 0), netted)

    return max(owed(refunded_after) - owed(refunded_before), 0)


def recovered(*, amount: int, host_account_id: str, currency: str) -> Journal:
    """What the host owed is taken from what the platform owes it."""
    return _moved(
        NEGATIVE_BALANCE_RECOVERED, host_payable, host_receivable, amount, host_account_id, currency
    )


def _moved(
    kind: str,
    debit: Callable[[str], str],
    credit: Callable[[str], str],
    amount: int,
    host_account_id: str,
    currency: str,
) -> Journal:
    """`amount` moved between two of the host's accounts: from `credit` to `debit` (each the
    account's name of a host)."""
    return two_lines(kind, currency, debit(host_account_id), credit(host_account_id), amount)
