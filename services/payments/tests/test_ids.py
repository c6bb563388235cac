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
