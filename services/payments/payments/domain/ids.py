"""Deterministic ids: a redelivered request maps to the same payment and Stripe idempotency key."""

import uuid

_NAMESPACE = uuid.UUID("5f1d3c52-8f7e-4a51-9d0c-2b7d0c8e4a10")


def checkout_payment_id(booking_id: str) -> str:
    return f"pay_{_led_by_time(booking_id, uuid.uuid5(_NAMESPACE, f'checkout:{booking_id}'))}"


def _led_by_time(subject: str, digest: uuid.UUID) -> str:
    """`digest`, led by the subject's own creation time when the subject is a time-ordered id
    (a UUIDv7: every booking and checkout group minted since ids became time-ordered): the
    payment's row then lands at the right edge of every index on payment ids, as the booking's
    does, instead of on any page of an index that grows with the history. A subject of any
    other form (an older booking's UUIDv4) keeps the id it always had: still the same id for
    the same subject, whoever asks again."""
    try:
        parsed = uuid.UUID(subject)
    except ValueError:
        return digest.hex
    return parsed.hex[:12] + digest.hex[12:] if parsed.version == 7 else digest.hex


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
