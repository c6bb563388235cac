"""Documents (docs before pay): the envelopes for a booking's (or an amendment's) required
documents at the configured e-sign provider (adapters/esign), and what their outcome does.

Routes: the built-in provider's signer's page `GET/POST /sign/{envelope_id}`, or Dropbox Sign's
callbacks `POST /webhooks/dropbox-sign` (bootstrap serves the one of the configured provider).
Consumes the provider's envelope outcomes and its `create_signing_envelope` and
`create_amendment_envelope` timers. Emits booking.checkout_requested (every document signed),
booking.signatures_completed (with the audit trail) and booking.booking_failed (declined or
expired)."""
