"""Authorizations that near their limit while the host(s) still decide.

A card authorization lapses after about 7 days; payments reports one nearing it
(`payments.authorization_expiring`). A confirmed booking (or a capturing group) has its capture
asked for again (see `handlers`). A booking still `awaiting_host`, or a group still
`awaiting_hosts`, is handled by `BOOKING_EXPIRING_AUTHORIZATION_POLICY`:

- `reauthorize` (default): ask payments to authorize the same amount again off-session on the
  card the checkout saved (`booking.reauthorization_requested`). `payments.payment_reauthorized`
  is recorded on the booking (or group) as `authorization_renewed_at`; the host keeps deciding
  within their response window. `payments.reauthorization_failed` (a decline, the bank wants the
  guest present, no saved card) releases the booking (or group) with reason
  `reauthorization_failed`, and payments voids the old authorization.
- `release`: release it at once with reason `authorization_expiring`.

Either way no authorization lapses silently.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Literal

from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import ReauthorizationRequestedV1
from marketplace_contracts.events.payments import (
    AuthorizationExpiringV1,
    PaymentReauthorizedV1,
    ReauthorizationFailedV1,
)

if TYPE_CHECKING:
    from booking.service_layer.unit_of_work import UnitOfWork

ExpiringAuthorizationPolicy = Literal["reauthorize", "release"]


async def request_renewal(
    uow: UnitOfWork,
    env: Envelope,
    event: AuthorizationExpiringV1,
    correlation_id: uuid.UUID,
) -> bool:
    """Ask payments for a new authorization; False when the event does not name the expiring
    PaymentIntent (reported before renewals existed): the caller releases instead."""
    if event.payment_intent_id is None:
        return False
    await uow.emit(
        ReauthorizationRequestedV1(
            booking_id=event.booking_id,
            group_id=event.group_id,
            payment_id=event.payment_id,
            expiring_payment_intent_id=event.payment_intent_id,
        ),
        key=event.group_id or event.booking_id,
        correlation_id=correlation_id,
        causation_id=env.event_id,
    )
    return True


async def record_renewal(uow: UnitOfWork, event: PaymentReauthorizedV1) -> None:
    """Shown on the booking (or group); a redelivery finds the same time and changes nothing."""
    await uow.bookings.record_renewal(event.booking_id, event.group_id, event.authorized_at)


def failure_detail(event: ReauthorizationFailedV1) -> str:
    why = event.decline_code or event.code
    return f"the card authorization could not be renewed before it lapsed ({why})"
