from datetime import UTC, datetime, timedelta

import pytest

from marketplace_contracts.events.booking import (
    CheckoutRequestedV1,
    GroupCheckoutRequestedV1,
    GroupLeg,
)
from payments.domain.checkout import (
    InvalidCheckout,
    Split,
    captured_splits,
    is_destination_charge,
    without_refund,
)
from payments.domain.ids import checkout_payment_id
from payments.service_layer import commands

START = datetime(2034, 5, 1, 15, tzinfo=UTC)


def _leg(booking_id: str, account: str, amount: int, fee: int, tax: int = 0) -> GroupLeg:
    return GroupLeg(
        booking_id=booking_id,
        listing_id=f"lst-{booking_id}",
        host_id=f"host-{account}",
        host_account_id=account,
        starts_at=START,
        ends_at=START + timedelta(hours=2),
        amount=amount,
        platform_fee=fee,
        tax=tax,
    )


def _group(**overrides: object) -> GroupCheckoutRequestedV1:
    fields: dict[str, object] = {
        "group_id": "grp-1",
        "guest_id": "guest-1",
        "amount": 30_000,
        "currency": "usd",
        "platform_fee": 4_500,
        "payment_method": "pm_card_visa",
        "legs": [_leg("b-1", "acct_A", 20_000, 3_000), _leg("b-2", "acct_B", 10_000, 1_500)],
    }
    return GroupCheckoutRequestedV1.model_validate({**fields, **overrides})


def test_a_group_is_one_payment_without_destination_in_its_transfer_group() -> None:
    checkout = commands.group_checkout(_group(save_for_later=True))
    assert checkout.payment_id == checkout_payment_id("grp-1")
    assert (checkout.booking_id, checkout.group_id, checkout.transfer_group) == (
        "grp-1",
        "grp-1",
        "grp-1",
    )
    assert (checkout.host_account_id, checkout.purpose) == (None, "group_checkout")
    assert (checkout.amount, checkout.platform_fee, checkout.save_for_later) == (
        30_000,
        4_500,
        True,
    )
    assert checkout.splits == (
        Split("b-1", "acct_A", 20_000, 3_000),
        Split("b-2", "acct_B", 10_000, 1_500),
    )
    assert [s.host_amount for s in checkout.splits] == [17_000, 8_500]
    assert checkout.stripe_metadata == {"group_id": "grp-1", "payment_id": checkout.payment_id}


def test_a_single_booking_is_a_separate_charge_of_its_own_transfer_group() -> None:
    event = CheckoutRequestedV1(
        booking_id="b-9",
        guest_id="guest-1",
        listing_id="lst-9",
        host_id="host-9",
        host_account_id="acct_9",
        starts_at=START,
        ends_at=START + timedelta(hours=1),
        amount=13_500,
        currency="usd",
        platform_fee=2_025,
        payment_method="pm_card_visa",
    )
    checkout = commands.booking_checkout(event)
    assert (checkout.host_account_id, checkout.transfer_group, checkout.purpose) == (
        "acct_9",
        "b-9",
        "checkout",
    )
    assert checkout.splits == ()
    # Part of Stripe's idempotent requests: unchanged since before groups existed.
    assert checkout.stripe_metadata == {
        "booking_id": "b-9",
        "payment_id": checkout_payment_id("b-9"),
    }


@pytest.mark.parametrize(
    "overrides",
    [
        {"amount": 30_001},
        {"platform_fee": 4_000},
        {"legs": [_leg("b-1", "acct_A", 20_000, 3_000), _leg("b-1", "acct_B", 10_000, 1_500)]},
        {
            "amount": 30_000,
            "platform_fee": 12_000,
            "legs": [_leg("b-1", "acct_A", 20_000, 1_000), _leg("b-2", "acct_B", 10_000, 11_000)],
        },
    ],
    ids=["amount", "fees", "duplicate_leg", "fee_above_leg"],
)
def test_a_group_whose_legs_do_not_add_up_is_refused(overrides: dict[str, object]) -> None:
    with pytest.raises(InvalidCheckout):
        commands.group_checkout(_group(**overrides))


def test_captured_splits() -> None:
    legs = commands.group_checkout(_group()).splits
    assert (
        captured_splits(
            booking_id="grp-1",
            host_account_id=None,
            platform_fee=4_500,
            captured=30_000,
            splits=legs,
        )
        == legs
    )
    with pytest.raises(InvalidCheckout):  # a group is captured in full, or its splits lie
        captured_splits(
            booking_id="grp-1",
            host_account_id=None,
            platform_fee=4_500,
            captured=29_000,
            splits=legs,
        )
    assert captured_splits(
        booking_id="b-9", host_account_id="acct_9", platform_fee=2_025, captured=13_500, splits=()
    ) == (Split("b-9", "acct_9", 13_500, 2_025),)
    with pytest.raises(InvalidCheckout):
        captured_splits(
            booking_id="b-9", host_account_id=None, platform_fee=0, captured=100, splits=()
        )


# -- tax: part of the platform fee ----------------------------------------------------------
def _booking(**overrides: object) -> CheckoutRequestedV1:
    fields: dict[str, object] = {
        "booking_id": "b-7",
        "guest_id": "guest-1",
        "listing_id": "lst-7",
        "host_id": "host-7",
        "host_account_id": "acct_7",
        "starts_at": START,
        "ends_at": START + timedelta(hours=2),
        "amount": 13_500,
        "currency": "usd",
        "platform_fee": 2_025,
        "payment_method": "pm_card_visa",
        "tax": 300,
    }
    return CheckoutRequestedV1.model_validate({**fields, **overrides})


def test_the_tax_of_a_checkout_follows_it_into_its_splits() -> None:
    assert commands.booking_checkout(_booking()).tax == 300
    assert captured_splits(
        booking_id="b-7",
        host_account_id="acct_7",
        platform_fee=2_025,
        captured=13_500,
        splits=(),
        tax=300,
    ) == (Split("b-7", "acct_7", 13_500, 2_025, 300),)
    group = commands.group_checkout(
        _group(
            legs=[
                _leg("b-1", "acct_A", 20_000, 3_000, tax=400),
                _leg("b-2", "acct_B", 10_000, 1_500, tax=200),
            ]
        )
    )
    assert [s.tax for s in group.splits] == [400, 200] and group.tax == 600


def test_tax_beyond_the_fee_is_refused() -> None:
    with pytest.raises(InvalidCheckout):
        commands.booking_checkout(_booking(tax=2_026))
    with pytest.raises(InvalidCheckout):
        commands.group_checkout(
            _group(
                legs=[
                    _leg("b-1", "acct_A", 20_000, 3_000, tax=3_001),
                    _leg("b-2", "acct_B", 10_000, 1_500),
                ]
            )
        )


# -- a refund taken out of a payment before its capture ---------------------------------------
LEGS = (Split("b-1", "acct_A", 20_000, 3_000, 500), Split("b-2", "acct_B", 10_000, 1_500, 200))


def test_without_refund_reduces_the_refunded_booking_only() -> None:
    assert without_refund(
        LEGS,
        booking_id="b-2",
        host_account_id="acct_B",
        amount=4_000,
        platform_fee=600,
        tax=100,
    ) == (LEGS[0], Split("b-2", "acct_B", 6_000, 900, 100))


@pytest.mark.parametrize(
    ("booking_id", "account", "amount", "fee", "tax"),
    [
        ("b-3", "acct_B", 100, 0, 0),  # not a booking of the payment
        ("b-2", "acct_A", 100, 0, 0),  # another host
        ("b-2", "acct_B", 10_001, 1_500, 0),  # more than the booking paid
        ("b-2", "acct_B", 1_000, 1_600, 0),  # more fee than the booking's
        ("b-2", "acct_B", 1_000, 100, 300),  # more tax than the booking's
    ],
    ids=["booking", "host", "amount", "fee", "tax"],
)
def test_without_refund_refuses_what_the_booking_did_not_pay(
    booking_id: str, account: str, amount: int, fee: int, tax: int
) -> None:
    with pytest.raises(InvalidCheckout):
        without_refund(
            LEGS,
            booking_id=booking_id,
            host_account_id=account,
            amount=amount,
            platform_fee=fee,
            tax=tax,
        )


def test_a_destination_charge_is_told_by_its_stored_row_not_by_configuration() -> None:
    # A single booking's payment made before separate charges: a host, no transfer group.
    assert is_destination_charge({"transfer_group": None, "host_account_id": "acct_9"})
    assert not is_destination_charge({"transfer_group": "b-9", "host_account_id": "acct_9"})
    assert not is_destination_charge({"transfer_group": "grp-1", "host_account_id": None})
