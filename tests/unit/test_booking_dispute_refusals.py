"""What a card dispute on a booking's payments lets a cancellation do
(`booking.service_layer.disputes.check_cancellable`, the rules of `booking.domain.disputes`):
an open dispute on any of its payments, or a lost one on its checkout's, refuses it with 409
`payment_disputed`; a lost dispute on an amendment's extra charge does not, and names that
charge as given back already. (The refund then counted: test_cancellations_service.py.)"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from booking.domain import disputes as rules
from booking.domain.errors import BookingError, ErrorCode
from booking.service_layer import disputes

BOOKING = {"booking_id": "bk_1", "payment_id": "pay_checkout"}


def _dispute(payment_id: str, status: str, amount: int | None = None) -> dict[str, Any]:
    rank = rules.rank_of(status)
    return {"payment_id": payment_id, "status": status, "rank": rank, "amount": amount}


def _uow(*rows: dict[str, Any]) -> Any:
    async def disputes_of(booking: Any) -> list[dict[str, Any]]:
        assert booking is BOOKING
        return list(rows)

    return SimpleNamespace(bookings=SimpleNamespace(disputes_of=disputes_of))


@pytest.mark.parametrize(
    ("rows", "returned"),
    [
        ((), {}),
        ((_dispute("pay_checkout", "won"), _dispute("pay_extra", "warning_closed")), {}),
        ((_dispute("pay_extra", "lost", 700),), {"pay_extra": 700}),
        (
            (_dispute("pay_extra", "lost"), _dispute("pay_more", "lost", 50)),
            {"pay_extra": None, "pay_more": 50},
        ),
    ],
)
async def test_a_cancellation_goes_on_past_a_lost_extra_charge(
    rows: tuple[dict[str, Any], ...], returned: dict[str, int | None]
) -> None:
    assert await disputes.check_cancellable(_uow(*rows), BOOKING) == returned


@pytest.mark.parametrize(
    "rows",
    [
        (_dispute("pay_checkout", "lost"),),  # the bank gave the checkout's money back
        (_dispute("pay_extra", "needs_response"),),  # still to be decided
        (_dispute("pay_extra", "lost"), _dispute("pay_checkout", "under_review")),
    ],
)
async def test_an_open_dispute_or_a_lost_checkout_payment_refuses_it(
    rows: tuple[dict[str, Any], ...],
) -> None:
    with pytest.raises(BookingError) as refused:
        await disputes.check_cancellable(_uow(*rows), BOOKING)
    assert refused.value.code == ErrorCode.PAYMENT_DISPUTED


async def test_any_other_refund_is_still_refused_after_a_lost_extra_charge() -> None:
    """An amendment lowering the total refunds by the payments' order: still refused."""
    with pytest.raises(BookingError) as refused:
        await disputes.check_not_disputed(_uow(_dispute("pay_extra", "lost")), BOOKING)
    assert "already returned" in refused.value.message
