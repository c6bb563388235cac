"""Deterministic ids: a redelivered request maps to the same payment and Stripe idempotency key."""

import uuid

from domainkit.ids import led_by_time

_NAMESPACE = uuid.UUID("5f1d3c52-8f7e-4a51-9d0c-2b7d0c8e4a10")


def checkout_payment_id(booking_id: str) -> str:
    return f"pay_{led_by_time(booking_id, uuid.uuid5(_NAMESPACE, f'checkout:{booking_id}'))}"


def idempotency_key(operation: str, subject_id: str) -> str:
    return f"payments:{operation}:{subject_id}"


def intent_key(operation: str, payment_id: str, renewals: int = 0) -> str:
    """Key of a capture or void of a payment's current authorization. A renewed authorization
    (`reauthorization`) is another PaymentIntent, so it gets keys of its own; the first keeps
    the keys it always had."""
    return idempotency_key(operation, payment_id if not renewals else f"{payment_id}:r{renewals}")


def charge_payment_id(charge_request_id: str) -> str:
    """The payment of one extra charge (booking.charge_requested), whoever asks again."""
    return f"pay_{uuid.uuid5(_NAMESPACE, f'charge:{charge_request_id}').hex}"
