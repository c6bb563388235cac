"""Bank-debit (ACH Direct Debit, `us_bank_account`) bookings: confirmed with funds pending.

The rule ("confirmed-pending-funds", docs/bank-debits.md): a bank debit is `processing` for a
few business days. As soon as payments reports it (`payments.payment_processing`) the booking
is `confirmed` with `funds_status = pending`: the slot is held and guest and host see it as
confirmed. The host's payout is held by finance until the debit's return window has passed
(`payments.funds_cleared`). `funds_status` then follows the money: `received` (the debit
succeeded, `payments.payment_captured`), `cleared` (the return window passed) or `returned`.

A debit that fails, or is returned after it succeeded, before the booking starts puts the
booking in `payment_due` (`booking.payment_requested`, reason `payment_returned`): the guest
pays by card with `POST /v1/bookings/{id}/pay` before `pay_by` = min(now +
`BOOKING_RETURNED_DEBIT_PAY_WINDOW`, the start), or the booking is `released`
(`failure_reason = payment_returned`) and its slot freed. A return once the booking started is
recorded (`funds_status = returned`) and left to ops (docs/runbooks/bank-debit-returned.md).

Who may pay by bank debit (else 422 `bank_debit_not_allowed`, the reason in the message): a
single Instant Book booking (not a Linked Booking Group leg) of a listing that accepts bank
debits and has no security deposit, in usd, starting at least `BOOKING_BANK_DEBIT_MIN_LEAD`
(5 days) after checkout so that the debit normally settles before the stay. A booking whose
funds are still pending cannot be cancelled yet (409 `funds_pending`): Stripe cannot refund a
debit that has not settled.

The handlers take booking's unit of work: the booking read through `uow.bookings`, changed
through `uow.bank_debits` (`repository.py`), the timers and the outbox the unit's; the kernel's
payment-due and ending steps take the unit too.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from booking.config import BookingSettings
from booking.domain.model import BOOKING_CONFIRMED, Booking, BookingStatus, PaymentStatus, Trigger
from booking.features.bank_debits.domain import (
    CARD,
    PAYMENT_RETURNED,
    RETURNED_DEBIT_WINDOW,
    US_BANK_ACCOUNT,
    FundsStatus,
)
from booking.service_layer import booking_messages as messages
from booking.service_layer import lifecycle, payment_due
from booking.service_layer.endings import end_booking
from booking.service_layer.publishing import Cause
from booking.service_layer.timer_kinds import COMPLETION, HOLD_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.routing import PermanentError
from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import (
    FundsClearedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentProcessingV1,
    PaymentReturnedV1,
)

log = logging.getLogger("booking.bank_debits")
Row = Mapping[str, Any]


# -- payments' facts --------------------------------------------------------------------------


async def _load(uow: UnitOfWork, booking_id: str) -> Row:
    row = await uow.bookings.get_booking(uuid.UUID(booking_id), for_update=True)
    if row is None:
        raise PermanentError(f"booking {booking_id} does not exist")
    return row


# The setting's own default (one home), for handlers built without one (tests).
_DEFAULT_PAY_WINDOW: timedelta = BookingSettings.model_fields["returned_debit_pay_window"].default


class BankDebitHandlers:
    def __init__(self, pay_window: timedelta | None = None) -> None:
        """`pay_window`: BOOKING_RETURNED_DEBIT_PAY_WINDOW (None: the setting's default)."""
        self.pay_window = pay_window or _DEFAULT_PAY_WINDOW

    async def on_payment_processing(
        self, uow: UnitOfWork, env: Envelope, event: PaymentProcessingV1
    ) -> None:
        """The debit is on its way: the booking is confirmed with its funds pending."""
        row = await _load(uow, event.booking_id)
        bank = {"bank_name": event.bank_name, "bank_last4": event.bank_last4}
        if row["status"] != BookingStatus.PENDING_PAYMENT:
            # The checkout ended meanwhile (its hold ran out): a debit cannot be cancelled once
            # submitted. Keep it visible for ops, who refund it once it settles (runbook).
            log.error(
                "bank debit %s started for booking %s, which is %s",
                event.payment_id,
                event.booking_id,
                row["status"],
            )
            await uow.bank_debits.change_booking(
                row["booking_id"],
                row["version"],
                payment_id=event.payment_id,
                funds_status=FundsStatus.PENDING,
                **bank,
            )
            return
        confirmed = {BOOKING_CONFIRMED: lambda: messages.confirmed(row, event.payment_id)}
        done = Booking.of(row).apply(Trigger.PAYMENT_PROCESSING)  # as `lifecycle.apply`
        await uow.bank_debits.change_booking(
            row["booking_id"],
            row["version"],
            status=done.status.value,
            payment_status=PaymentStatus.PROCESSING.value,
            payment_id=event.payment_id,
            funds_status=FundsStatus.PENDING,
            **bank,
        )
        await lifecycle.announce(uow, row, done, confirmed, Cause.of(env))
        await uow.timers.cancel(HOLD_EXPIRY, event.booking_id)
        await uow.timers.schedule(COMPLETION, event.booking_id, row["ends_at"])

    async def on_payment_captured(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: PaymentCapturedV1 | PaymentCapturedV2,
        row: Row,
    ) -> bool:
        """A capture of a bank-debit booking: the debit succeeded (funds received), or the
        guest paid a returned debit by card (confirmed again, now a card booking). False when
        the capture is not this module's to apply. `row`: the booking, locked."""
        if not isinstance(event, PaymentCapturedV2) or event.charge_request_id is not None:
            return False
        if row["payment_method_type"] != US_BANK_ACCOUNT:
            return False
        if event.payment_method_type == US_BANK_ACCOUNT:
            if event.payment_id == row["payment_id"] and row["funds_status"] == FundsStatus.PENDING:
                await uow.bank_debits.change_booking(
                    row["booking_id"],
                    row["version"],
                    payment_status=PaymentStatus.CAPTURED.value,
                    funds_status=FundsStatus.RECEIVED,
                )
            return True
        if row["status"] != BookingStatus.PAYMENT_DUE:
            return False
        # The card payment that replaces the returned debit: confirmed again, paid by card.
        await payment_due.payment_received(
            uow,
            env,
            row,
            event,
            payment_id=event.payment_id,
            payment_method_type=CARD,
            funds_status=None,
        )
        await uow.timers.cancel(RETURNED_DEBIT_WINDOW, event.booking_id)
        return True

    async def on_payment_returned(
        self, uow: UnitOfWork, env: Envelope, event: PaymentReturnedV1
    ) -> None:
        """The debit failed or was returned: before the start, the guest must pay by card;
        after it, ops decide (the booking stands)."""
        row = await _load(uow, event.booking_id)
        if row["payment_id"] != event.payment_id or row["funds_status"] == FundsStatus.RETURNED:
            return  # paid otherwise meanwhile, or known already
        detail = f"{event.code}: {event.message}" if event.message else event.code
        now = datetime.now(UTC)
        if (
            row["status"] == BookingStatus.CONFIRMED
            and row["group_id"] is None
            and row["starts_at"] > now
        ):
            await payment_due.request_payment(
                uow,
                env,
                row,
                event,
                Trigger.PAYMENT_RETURNED,
                RETURNED_DEBIT_WINDOW,
                min(now + self.pay_window, row["starts_at"]),
                PAYMENT_RETURNED,
                funds_status=FundsStatus.RETURNED,
                failure_reason=PAYMENT_RETURNED,
                failure_detail=detail[:500],
            )
            return
        # Started, over or cancelled: the booking stands as it is; ops recover the money.
        log.error(
            "bank debit %s of booking %s (%s) returned: %s; see the bank-debit-returned runbook",
            event.payment_id,
            event.booking_id,
            row["status"],
            detail,
        )
        await uow.bank_debits.change_booking(
            row["booking_id"],
            row["version"],
            funds_status=FundsStatus.RETURNED,
            failure_detail=f"{PAYMENT_RETURNED}: {detail}"[:500],
        )

    async def on_funds_cleared(self, uow: UnitOfWork, env: Envelope, event: FundsClearedV1) -> None:
        row = await _load(uow, event.booking_id)
        if row["payment_id"] == event.payment_id and row["funds_status"] == FundsStatus.RECEIVED:
            await uow.bank_debits.change_booking(
                row["booking_id"], row["version"], funds_status=FundsStatus.CLEARED
            )


# -- its timer (timers.py) --------------------------------------------------------------------


async def on_window_closed(uow: UnitOfWork, booking_id: uuid.UUID) -> None:
    """The guest did not pay the returned debit by `pay_by`: the slot is freed."""
    row = await uow.bookings.get_booking(booking_id, for_update=True)
    if (
        row is None
        or row["status"] != BookingStatus.PAYMENT_DUE
        or row["funds_status"] != FundsStatus.RETURNED
    ):
        return  # paid by card meanwhile
    await end_booking(
        uow,
        row,
        Trigger.PAYMENT_WINDOW_CLOSED,
        PAYMENT_RETURNED,
        "the bank debit was returned and the guest did not pay by card in time",
    )
