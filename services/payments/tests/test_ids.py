import uuid

from domainkit.ids import new_uuid
from payments.domain.ids import charge_payment_id, checkout_payment_id, idempotency_key


def test_a_redelivered_checkout_maps_to_the_same_payment_and_key() -> None:
    assert checkout_payment_id("b-1") == checkout_payment_id("b-1")
    assert checkout_payment_id("b-1") != checkout_payment_id("b-2")
    assert idempotency_key("authorize", checkout_payment_id("b-1")).startswith(
        "payments:authorize:pay_"
    )


def test_an_extra_charge_is_a_payment_of_its_own() -> None:
    assert charge_payment_id("chg_1") == charge_payment_id("chg_1")
    assert charge_payment_id("chg_1") != charge_payment_id("chg_2")
    # Never the payment of a booking whose id happens to be the request's.
    assert charge_payment_id("chg_1") != checkout_payment_id("chg_1")


def test_a_booking_minted_before_ids_were_time_ordered_keeps_its_payment_id() -> None:
    """An upgrade must not change the payment (nor the Stripe idempotency keys) of a booking
    whose checkout is redelivered: a UUIDv4 booking maps to the id it always had."""
    booking = "0b5e1a52-3c1d-4f8e-9a57-1d2c3b4a5f60"
    namespace = uuid.UUID("5f1d3c52-8f7e-4a51-9d0c-2b7d0c8e4a10")
    assert checkout_payment_id(booking) == f"pay_{uuid.uuid5(namespace, f'checkout:{booking}').hex}"


def test_a_time_ordered_booking_gets_a_payment_id_in_the_same_order() -> None:
    bookings = [str(new_uuid()) for _ in range(1_000)]
    payments = [checkout_payment_id(b) for b in bookings]
    assert payments == [checkout_payment_id(b) for b in bookings]  # deterministic
    assert len(set(payments)) == len(payments)
    assert all(
        p.startswith(f"pay_{uuid.UUID(b).hex[:12]}")
        for p, b in zip(payments, bookings, strict=True)
    )
    assert [p[4:16] for p in payments] == sorted(p[4:16] for p in payments)
