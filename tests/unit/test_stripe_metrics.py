"""Stripe call metrics: the operation label keeps the resource path and drops every id."""

from __future__ import annotations

import pytest

from eventkit.stripe_metrics import operation


@pytest.mark.parametrize(
    ("method", "url", "expected"),
    [
        (
            "post",
            "http://127.0.0.1:12111/v1/payment_intents/pi_3MtwBwLkdIwHu7ix28a3tqPa/capture",
            "POST /v1/payment_intents/{id}/capture",
        ),
        ("post", "https://api.stripe.com/v1/payment_intents", "POST /v1/payment_intents"),
        (
            "get",
            "https://api.stripe.com/v1/balance_transactions?limit=100&created[gte]=17",
            "GET /v1/balance_transactions",
        ),
        (
            "post",
            "https://api.stripe.com/v1/transfers/tr_1AbCdEf/reversals",
            "POST /v1/transfers/{id}/reversals",
        ),
        ("post", "https://api.stripe.com/v1/tax/calculations", "POST /v1/tax/calculations"),
        (
            "get",
            "https://api.stripe.com/v1/customers/cus_abcdefghijklmnopqrstuvwxyzabcdefghijklmn",
            "GET /v1/customers/{id}",
        ),
    ],
)
def test_operation_is_the_path_with_ids_replaced(method: str, url: str, expected: str) -> None:
    assert operation(method, url) == expected
