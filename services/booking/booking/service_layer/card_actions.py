"""The 3-D Secure step of a checkout (`payments.payment_action_required`).

The booking (or Linked Booking Group) stays `pending_payment`, holding its slot until the
checkout hold runs out, and shows the guest `next_action`: what Stripe.js needs to show the
bank's step. `payments.payment_authorized` (the guest authenticated) or `payments.payment_failed`
(they did not) follows as for any authorization; the view shows `next_action` only while the
booking is still `pending_payment`.
"""

from __future__ import annotations

import json
import uuid

import asyncpg

from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import PaymentActionRequiredV1


async def on_payment_action_required(
    conn: asyncpg.Connection, env: Envelope, event: PaymentActionRequiredV1, _: object
) -> None:
    table, key = ("checkout_groups", "group_id") if event.group_id else ("bookings", "booking_id")
    action = {
        "type": event.action_type,
        "client_secret": event.client_secret,
        "redirect_url": event.redirect_url,
        "payment_intent_id": event.payment_intent_id,
    }
    await conn.execute(
        f"UPDATE booking.{table} SET next_action = $2::jsonb, updated_at = now() "
        f"WHERE {key} = $1 AND status = 'pending_payment'",
        uuid.UUID(event.group_id or event.booking_id),
        json.dumps(action),
    )
