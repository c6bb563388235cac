"""An extra charge of a booking, planned from its checkout payment (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from marketplace_contracts.events.booking import ChargeRequestedV1
from payments.domain.charges import ChargeRefused, ChargeRequest, charge_purpose, plan_charge
from payments.domain.checkout import Split
from payments.domain.ids import charge_payment_id
from payments.service_layer import commands

SINGLE: dict[str, Any] = {
    "payment_id": "pay_1",
    "booking_id": "b-1",
    "group_id": None,
    "splits": None,
    "guest_id": "guest-1",
    "currency": "usd",
    "customer_id": "cus_1",
    "saved_payment_method": "pm_1",
}
GROUP: dict[str, Any] = {
    **SINGLE,
    "payment_id": "pay_g",
    "booking_id": "grp-1",
    "group_id": "grp-1",
    "splits": [
        {"booking_id": "leg-1", "host_account_id": "acct_A", "amount": 1, "platform_fee": 0},
        {"booking_id": "leg-2", "host_account_id": "acct_B", "amount": 1, "platform_fee": 0},
    ],
}


def request(**overrides: object) -> ChargeRequest:
    fields: dict[str, object] = {
        "charge_request_id": "chg_1",
        "booking_id": "b-1",
        "payment_id": "pay_1",
        "amount": 4_500,
        "currency": "usd",
        "platform_fee": 675,
        "tax": 100,
        "host_account_id": "acct_1",
        "reason": "amendment",
    }
    return commands.charge_request(ChargeRequestedV1.model_validate({**fields, **overrides}))


def test_a_single_bookings_charge_is_a_separate_charge_of_the_bookings_transfer_group() -> None:
    charge = plan_charge(request(), SINGLE)
    assert (charge.payment_id, charge.purpose) == (charge_payment_id("chg_1"), "charge:chg_1")
    assert (charge.customer_id, charge.payment_method, charge.guest_id) == (
        "cus_1",
        "pm_1",
        "guest-1",
    )
    # No destination, no application fee: finance releases the host's share as a transfer.
    assert (charge.transfer_group, charge.payment_purpose) == ("b-1", "extra_charge")
    assert charge.split == Split("b-1", "acct_1", 4_500, 675, 100)
    assert charge.stripe_metadata == {
        "booking_id": "b-1",
        "payment_id": charge_payment_id("chg_1"),
        "charge_request_id": "chg_1",
        "reason": "amendment",
    }


def test_a_group_legs_charge_is_a_charge_of_the_groups_transfer_group() -> None:
    charge = plan_charge(
        request(booking_id="leg-2", group_id="grp-1", payment_id="pay_g", host_account_id="acct_B"),
        GROUP,
    )
    assert charge.transfer_group == "grp-1"
    assert charge.split == Split("leg-2", "acct_B", 4_500, 675, 100)
    assert charge.stripe_metadata["group_id"] == "grp-1"
    # booking may leave the group out: the payment knows it.
    assert plan_charge(request(booking_id="leg-1", payment_id="pay_g"), GROUP).group_id == "grp-1"


def test_a_damage_claim_is_a_deposit_claim_and_any_other_reason_an_extra_charge() -> None:
    assert plan_charge(request(reason="deposit_claim"), SINGLE).payment_purpose == "deposit_claim"
    assert charge_purpose(request(reason="deposit_claim")) == "deposit_claim"
    assert charge_purpose(request(reason="overtime")) == "extra_charge"


def test_a_charge_keeps_the_subject_booking_named_for_the_facts_that_answer_it() -> None:
    assert plan_charge(request(subject_id="am-1"), SINGLE).subject_id == "am-1"
    # A request from before booking named subjects: none is made up from its id.
    assert plan_charge(request(), SINGLE).subject_id is None


@pytest.mark.parametrize(
    ("overrides", "source", "code"),
    [
        ({}, None, "payment_not_found"),
        ({"amount": 0, "platform_fee": 0, "tax": 0}, SINGLE, "invalid_charge_request"),
        ({"platform_fee": 4_501}, SINGLE, "invalid_charge_request"),
        ({"tax": 676}, SINGLE, "invalid_charge_request"),
        ({"currency": "eur"}, SINGLE, "invalid_charge_request"),
        ({"booking_id": "b-2"}, SINGLE, "invalid_charge_request"),
        ({"group_id": "grp-1"}, SINGLE, "invalid_charge_request"),
        ({"booking_id": "leg-3", "payment_id": "pay_g"}, GROUP, "invalid_charge_request"),
        ({}, {**SINGLE, "saved_payment_method": None}, "no_saved_payment_method"),
        ({}, {**SINGLE, "customer_id": None}, "no_saved_payment_method"),
    ],
    ids=[
        "no_payment",
        "nothing",
        "fee",
        "tax",
        "currency",
        "booking",
        "group",
        "leg",
        "no_card",
        "no_customer",
    ],
)
def test_a_charge_that_cannot_be_made_is_refused(
    overrides: dict[str, object], source: dict[str, Any] | None, code: str
) -> None:
    with pytest.raises(ChargeRefused) as excinfo:
        plan_charge(request(**overrides), source)
    assert excinfo.value.code == code
