from payments.domain.ids import checkout_payment_id, idempotency_key


def test_a_redelivered_checkout_maps_to_the_same_payment_and_key() -> None:
    assert checkout_payment_id("b-1") == checkout_payment_id("b-1")
    assert checkout_payment_id("b-1") != checkout_payment_id("b-2")
    assert idempotency_key("authorize", checkout_payment_id("b-1")).startswith(
        "payments:authorize:pay_"
    )
