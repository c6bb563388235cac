"""Damage claims against a booking's security deposit, and the deposit's release.

Routes: `POST /v1/bookings/{booking_id}/claims` (host files, with evidence files),
`GET /v1/bookings/{booking_id}/claims`, `GET /v1/claims/{claim_id}`,
`GET /v1/claims/{claim_id}/evidence/{n}`, and `POST /v1/claims/{claim_id}/accept`, `/contest`
(guest), `/decide`, `/retry` (admin), `/withdraw` (host). Consumes payments' answers to a
claim's charge (`payments.payment_captured`, `payment_failed` with purpose `deposit_claim`),
the booking's completion and end (from the lifecycle), and the `claim_response_expiry` and
`deposit_release` timers. Emits `booking.claim_filed`, `claim_decided`, `charge_requested` and
`deposit_released`.
"""
