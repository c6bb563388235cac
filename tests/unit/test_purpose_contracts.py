"""Payments' facts say what a payment was for and what caused a refund (`purpose`, `cause`,
`subject_id`); events from before the fields existed still decode, and the vocabulary is the
one payments records."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import jsonschema
import pytest

from marketplace_contracts import Envelope, decode_data, make_envelope
from marketplace_contracts.events.booking import ChargeRequestedV1
from marketplace_contracts.events.payments import (
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentSplit,
    RefundFailedV1,
    RefundSucceededV1,
)
from marketplace_contracts.purposes import (
    CANCELLATION_CAUSES,
    PAYMENT_PURPOSES,
    REFUND_CAUSES,
)
from marketplace_contracts.schema import envelope_schema
from payments.domain import checkout, refunds

ROOT = Path(__file__).resolve().parents[2]
AMENDMENT_ID = str(uuid.uuid4())

CAPTURED = PaymentCapturedV2(
    payment_id="pay_c",
    booking_id="b-1",
    payment_intent_id="pi_c",
    charge_id="ch_c",
    amount=2_000,
    currency="usd",
    platform_fee=300,
    splits=[
        PaymentSplit(
            booking_id="b-1",
            host_account_id="acct_1",
            amount=2_000,
            platform_fee=300,
            host_amount=1_700,
        )
    ],
    charge_request_id="chg_x",
    purpose="extra_charge",
    subject_id=AMENDMENT_ID,
)
FAILED = PaymentFailedV1(
    payment_id="pay_c",
    booking_id="b-1",
    code="card_declined",
    purpose="deposit_claim",
    subject_id="claim-1",
)
REFUNDED = RefundSucceededV1(
    refund_id="rf_1",
    payment_id="pay_1",
    booking_id="b-1",
    amount=500,
    currency="usd",
    platform_fee=50,
    host_amount=450,
    host_account_id="acct_1",
    method="refund",
    cause="amendment",
    subject_id=AMENDMENT_ID,
)
REFUND_FAILED = RefundFailedV1(
    refund_id="rf_1",
    payment_id="pay_1",
    booking_id="b-1",
    amount=500,
    currency="usd",
    code="api_error",
    attempts=4,
    cause="guest_cancellation",
)
CHARGE_REQUESTED = ChargeRequestedV1(
    charge_request_id="chg_x",
    booking_id="b-1",
    payment_id="pay_1",
    amount=2_000,
    currency="usd",
    platform_fee=300,
    host_account_id="acct_1",
    reason="amendment",
    subject_id=AMENDMENT_ID,
)


@pytest.mark.parametrize("event", [CAPTURED, FAILED, REFUNDED, REFUND_FAILED, CHARGE_REQUESTED])
def test_purpose_cause_and_subject_travel_and_validate_against_the_committed_schema(
    event: object,
) -> None:
    env = make_envelope(event, key="k", producer="p", correlation_id=uuid.uuid4())  # type: ignore[arg-type]
    back = Envelope.from_bytes(env.to_bytes())
    assert decode_data(back) == event
    committed = ROOT / "contracts" / "schemas" / env.type / f"v{env.version}.json"
    schema = json.loads(committed.read_text())
    jsonschema.validate(back.model_dump(mode="json"), schema)
    assert schema == envelope_schema(type(event))  # type: ignore[arg-type]


@pytest.mark.parametrize("event", [CAPTURED, FAILED, REFUNDED, REFUND_FAILED, CHARGE_REQUESTED])
def test_an_event_from_before_the_fields_existed_still_decodes_with_none(event: object) -> None:
    env = make_envelope(event, key="k", producer="p", correlation_id=uuid.uuid4())  # type: ignore[arg-type]
    raw = env.model_dump(mode="json")
    for field in ("purpose", "cause", "subject_id"):
        raw["data"].pop(field, None)
    legacy = decode_data(Envelope.model_validate(raw))
    assert legacy.subject_id is None  # type: ignore[attr-defined]
    assert getattr(legacy, "purpose", None) is None and getattr(legacy, "cause", None) is None


def test_the_vocabulary_is_the_one_payments_records() -> None:
    """Payments' domain may not import contracts, so its constants are checked here."""
    recorded = (
        checkout.CHECKOUT,
        checkout.GROUP_CHECKOUT,
        checkout.EXTRA_CHARGE,
        checkout.DEPOSIT_CLAIM,
    )
    assert recorded == PAYMENT_PURPOSES
    causes = (
        refunds.GUEST_CANCELLATION,
        refunds.HOST_CANCELLATION,
        refunds.ADMIN_CANCELLATION,
        refunds.GROUP_LEG_CANCELLED,
        refunds.AMENDMENT,
        refunds.CHECKOUT_FAILED,
        refunds.DEPOSIT_RELEASE,
        refunds.OTHER,
    )
    assert causes == REFUND_CAUSES
    assert CANCELLATION_CAUSES == {
        refunds.cancellation_cause(by, None) for by in ("guest", "host", "admin")
    } | {refunds.cancellation_cause("guest", "g-1")}
