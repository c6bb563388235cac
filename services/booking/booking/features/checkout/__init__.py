"""Checkout: quote a stay, then book one leg, Instant Book or Request-to-Book (the listing
decides): hold the slot, start the hold timer and ask payments for the money (or first for the
required documents' signatures); then move on once payments has secured it.

Routes: `POST /v1/quotes`, `POST /v1/bookings`. Consumes payments.payment_authorized and
payments.payment_method_saved (money secured: confirmed, or the host asked) and
payments.payment_action_required (a 3-D Secure step), through the booking consumer's dispatch.
Emits booking.checkout_requested, booking.signatures_requested, booking.booking_confirmed,
booking.host_response_requested and booking.booking_failed (a late authorization voided)."""
