"""The envelope, the registry and the compatibility rules of the contracts package."""

from __future__ import annotations

import copy
import uuid
from datetime import UTC, datetime, timedelta, timezone

import jsonschema
import pytest
from pydantic import ValidationError

from marketplace_contracts import CATALOGUE, Envelope, UnknownEventError, decode_data, make_envelope
from marketplace_contracts.compat import compare
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentSplit,
)
from marketplace_contracts.registry import REGISTRY
from marketplace_contracts.schema import envelope_schema

CAPTURED = PaymentCapturedV1(
    payment_id="pay_1",
    booking_id="b-1",
    payment_intent_id="pi_1",
    charge_id="ch_1",
    amount=1000,
    currency="usd",
    platform_fee=100,
    host_amount=900,
    host_account_id="acct_1",
)


def test_envelope_round_trips_and_normalises_time_to_utc() -> None:
    plus_two = timezone(timedelta(hours=2))
    env = make_envelope(
        CAPTURED,
        key="pay_1",
        producer="payments",
        correlation_id=uuid.uuid4(),
        occurred_at=datetime(2027, 1, 1, 12, tzinfo=plus_two),
    )
    back = Envelope.from_bytes(env.to_bytes())
    assert back == env
    assert back.occurred_at == datetime(2027, 1, 1, 10, tzinfo=UTC)
    assert decode_data(back) == CAPTURED


def test_envelope_refuses_naive_times_and_unknown_versions() -> None:
    raw = make_envelope(CAPTURED, key="k", producer="p", correlation_id=uuid.uuid4()).model_dump()
    with pytest.raises(ValidationError):
        Envelope.model_validate({**raw, "occurred_at": "2027-01-01T10:00:00"})
    with pytest.raises(UnknownEventError):
        decode_data(Envelope.model_validate({**raw, "version": 99}))


def test_every_event_validates_against_its_exported_schema() -> None:
    env = make_envelope(CAPTURED, key="pay_1", producer="payments", correlation_id=uuid.uuid4())
    schema = envelope_schema(PaymentCapturedV1)
    jsonschema.validate(env.model_dump(mode="json"), schema)
    broken = env.model_dump(mode="json")
    del broken["data"]["amount"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema)


def test_payment_captured_v2_carries_its_splits_and_validates_against_its_schema() -> None:
    splits = [
        PaymentSplit(
            booking_id=f"b-{i}",
            host_account_id=account,
            amount=amount,
            platform_fee=fee,
            host_amount=amount - fee,
        )
        for i, (account, amount, fee) in enumerate(
            [("acct_A", 20_000, 3_000), ("acct_B", 16_000, 2_400)]
        )
    ]
    captured = PaymentCapturedV2(
        payment_id="pay_g",
        booking_id="grp-1",
        group_id="grp-1",
        payment_intent_id="pi_g",
        charge_id="ch_g",
        amount=36_000,
        currency="usd",
        platform_fee=5_400,
        splits=splits,
        transfer_group="grp-1",
    )
    env = make_envelope(captured, key="pay_g", producer="payments", correlation_id=uuid.uuid4())
    assert (env.type, env.version) == ("payments.payment_captured", 2)
    back = Envelope.from_bytes(env.to_bytes())
    assert decode_data(back) == captured
    schema = envelope_schema(PaymentCapturedV2)
    jsonschema.validate(back.model_dump(mode="json"), schema)
    empty = back.model_dump(mode="json")
    empty["data"]["splits"] = []
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(empty, schema)
    # v1 and v2 of the type are distinct contracts, both decodable.
    v1 = make_envelope(CAPTURED, key="pay_1", producer="payments", correlation_id=uuid.uuid4())
    assert isinstance(decode_data(Envelope.from_bytes(v1.to_bytes())), PaymentCapturedV1)


def test_every_registered_event_names_a_catalogued_topic() -> None:
    for model in REGISTRY.values():
        assert model.TOPIC in CATALOGUE, model


def _data_props(schema: dict) -> dict:
    return schema["$defs"]["PaymentCapturedV1"]


@pytest.fixture
def old() -> dict:
    return envelope_schema(PaymentCapturedV1)


def test_adding_an_optional_field_is_compatible(old: dict) -> None:
    new = copy.deepcopy(old)
    _data_props(new)["properties"]["note"] = {"type": "string", "default": ""}
    assert compare(old, new) == []


@pytest.mark.parametrize(
    "mutation",
    [
        "remove_field",
        "add_required_field",
        "change_type",
        "make_optional",
        "tighten_minimum",
    ],
)
def test_breaking_changes_are_detected(old: dict, mutation: str) -> None:
    new = copy.deepcopy(old)
    data = _data_props(new)
    if mutation == "remove_field":
        del data["properties"]["charge_id"]
    elif mutation == "add_required_field":
        data["properties"]["tax"] = {"type": "integer"}
        data["required"].append("tax")
    elif mutation == "change_type":
        data["properties"]["amount"] = {"type": "string"}
    elif mutation == "make_optional":
        data["required"].remove("amount")
    elif mutation == "tighten_minimum":
        data["properties"]["amount"]["minimum"] = 1
    assert compare(old, new), mutation


def test_documentation_changes_are_not_breaking(old: dict) -> None:
    new = copy.deepcopy(old)
    _data_props(new)["properties"]["amount"]["description"] = "Reworded."
    assert compare(old, new) == []


@pytest.fixture
def old_v2() -> dict:
    return envelope_schema(PaymentCapturedV2)


def _split(schema: dict) -> dict:
    return schema["$defs"]["PaymentSplit"]


def test_an_optional_field_inside_array_items_is_compatible(old_v2: dict) -> None:
    new = copy.deepcopy(old_v2)
    _split(new)["properties"]["note"] = {"type": "string", "default": ""}
    assert compare(old_v2, new) == []


@pytest.mark.parametrize("mutation", ["add_required", "remove", "change_type", "min_items"])
def test_breaking_changes_inside_array_items_are_detected(old_v2: dict, mutation: str) -> None:
    new = copy.deepcopy(old_v2)
    split = _split(new)
    if mutation == "add_required":
        split["properties"]["note"] = {"type": "string"}
        split["required"].append("note")
    elif mutation == "remove":
        del split["properties"]["host_amount"]
        split["required"].remove("host_amount")
    elif mutation == "change_type":
        split["properties"]["amount"] = {"type": "string"}
    else:
        new["$defs"]["PaymentCapturedV2"]["properties"]["splits"]["minItems"] = 2
    assert compare(old_v2, new), mutation
