"""The 3-D Secure step of a checkout (`payments.payment_action_required`).

The booking (or Linked Booking Group) stays `pending_payment`, holding its slot until the
checkout hold runs out, and shows the guest `next_action`: what Stripe.js needs to show the
bank's step. `payments.payment_authorized` (the guest authenticated; `payment_captured` for an
Instant Book's charge at checkout) or `payments.payment_failed` (they did not) follows as for any
payment; the view shows `next_action` only while the booking is still `pending_payment`. A
single booking keeps the step's payment id: when the hold runs out first, its booking_failed
names it, and payments cancels the intent, so a step finished later charges nothing.
"""

from __future__ import annotations

from booking.service_layer.unit_of_work import UnitOfWork
from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import PaymentActionRequiredV1


async def on_payment_action_required(
    uow: UnitOfWork, env: Envelope, event: PaymentActionRequiredV1
) -> None:
    action = {
        "type": event.action_type,
        "client_secret": event.client_secret,
        "redirect_url": event.redirect_url,
        "payment_intent_id": event.payment_intent_id,
    }
    await uow.checkout.set_next_action(event.booking_id, event.group_id, action, event.payment_id)
