"""The 3-D Secure step of a checkout (`payments.payment_action_required`).

The booking (or Linked Booking Group) stays `pending_payment`, holding its slot until the
checkout hold runs out, and shows the guest `next_action`: what Stripe.js needs to show the
bank's step. `payments.payment_authorized` (the guest authenticated) or `payments.payment_failed`
(they did not) follows as for any authorization; the view shows `next_action` only while the
booking is still `pending_payment`.
"""

from __future__ import annotations

import asyncpg

from booking.adapters import repository
from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import PaymentActionRequiredV1


async def on_payment_action_required(
    conn: asyncpg.Connection, env: Envelope, event: PaymentActionRequiredV1, _: object
) -> None:
    action = {
        "type": event.action_type,
        "client_secret": event.client_secret,
        "redirect_url": event.redirect_url,
        "payment_intent_id": event.payment_intent_id,
    }
    await repository.set_next_action(conn, event.booking_id, event.group_id, action)
