"""Receipts: one per captured payment, extra charge (amendment, overtime, damage claim) and
refund, issued from payments' facts and completed with finance's journal.

Routes: `GET /v1/receipts`, `GET /v1/receipts/{receipt_id}` (JSON) and
`GET /v1/receipts/{receipt_id}/html` (a printable page), for the guest who paid and admins.
Consumes (through the booking consumer's dispatch): payments.payment_authorized and
payments.payment_method_saved (the card shown), payments.payment_captured (a receipt),
payments.refund_succeeded (a refund receipt, via cancellations) and finance.journal_posted (the
journal shown). Emits no event."""
