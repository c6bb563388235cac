"""Amendments and overtime: change a confirmed booking's time, extras or guests with the other
party's consent, or charge overtime the host reports after the end.

Routes: `POST /v1/bookings/{booking_id}/amendments`, `POST /v1/bookings/{booking_id}/overtime`,
`GET /v1/amendments/{amendment_id}`, and `POST /v1/amendments/{amendment_id}/accept`,
`/reject`, `/withdraw`, `/dispute`. Consumes payments' answers to an amendment's extra charge
(`payments.payment_captured`, `payment_failed` with purpose `extra_charge`), its documents'
signatures (through `documents`), and the `amendment_expiry` and `create_amendment_envelope`
timers. Emits `booking.amendment_proposed`, `amendment_decided`, `charge_requested` and
`signatures_requested`.
"""
