"""The single booking's durable-timer kinds, shared by the features that schedule or cancel
them (checkout, documents, bank debits, cancellations, groups, amendments); their handlers are
in `booking_timers` and bootstrap maps each kind to its handler."""

from __future__ import annotations

HOLD_EXPIRY = "checkout_hold_expiry"
REQUEST_EXPIRY = "host_response_expiry"
COMPLETION = "booking_completion"
