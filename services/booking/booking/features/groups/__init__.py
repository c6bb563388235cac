"""Linked Booking Groups: one checkout of several listings (legs), one payment, all legs or none.

Routes: `POST /v1/checkout-groups` (place a group), `GET /v1/checkout-groups/{group_id}`.
Consumes payments' facts about the group's payment (`payments.payment_authorized`,
`payment_method_saved`, `payment_captured`, `payment_failed`, `payment_voided`,
`authorization_expiring`, `reauthorization_failed`) and its legs' outcomes (signed, accepted,
failed), and the `group_hold_expiry` timer. Emits `booking.group_checkout_requested`,
`group_awaiting_hosts`, `group_capture_requested`, `group_confirmed`, `group_failed`,
`documents_signed` and `leg_ready`, and each leg's own lifecycle events.
"""
