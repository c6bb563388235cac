"""Cancellations: preview and cancel a confirmed booking (or one leg of a Linked Booking Group)
with the refund its snapshotted cancellation policy gives, and the versioned policies admins
publish (each checkout snapshots the newest version).

Routes: `POST /v1/bookings/{booking_id}/cancel/preview`, `POST /v1/bookings/{booking_id}/cancel`,
`GET` and `POST /v1/cancellation-policies`. Consumes payments.refund_succeeded and
payments.refund_failed (of a cancellation's refund). Emits booking.booking_cancelled (with the
refund request)."""
