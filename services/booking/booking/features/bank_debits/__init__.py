"""Bank debits (ACH Direct Debit, `us_bank_account`): who may pay by bank debit, a booking
confirmed while its funds are pending, and a returned debit paid again by card
(docs/bank-debits.md).

Routes: none of its own (`POST /v1/bookings` with `payment_method_type: us_bank_account` is the
checkout's; `POST /v1/bookings/{id}/pay` the shared payment-due route). Consumes:
payments.payment_processing, payments.payment_captured (of a debit), payments.payment_returned,
payments.funds_cleared, and its `returned_debit_window` timer. Emits booking.booking_confirmed
(funds pending), booking.payment_requested (reason `payment_returned`) and
booking.booking_failed (released)."""
