import uuid

import pytest

from eventkit.routing import EventRouter, PermanentError
from marketplace_contracts import Envelope, make_envelope
from marketplace_contracts.events.payments import PaymentFailedV1, PaymentVoidedV1


async def _noop(*_: object) -> None:
    return None


def _envelope(**overrides: object) -> Envelope:
    env = make_envelope(
        PaymentVoidedV1(payment_id="p", booking_id="b", reason="r"),
        key="p",
        producer="payments",
        correlation_id=uuid.uuid4(),
    )
    return env.model_copy(update=overrides)


def test_router_routes_by_type_and_version_and_lists_its_topics() -> None:
    router = EventRouter("svc")
    router.add(PaymentVoidedV1, _noop)
    assert router.route_for(_envelope()).model is PaymentVoidedV1  # type: ignore[union-attr]
    assert router.topics == ["payments.events"]


def test_types_the_service_does_not_consume_are_ignored() -> None:
    router = EventRouter("svc")
    router.add(PaymentFailedV1, _noop)
    assert router.route_for(_envelope()) is None


def test_an_unsupported_version_of_a_consumed_type_is_permanent() -> None:
    router = EventRouter("svc")
    router.add(PaymentVoidedV1, _noop)
    with pytest.raises(PermanentError):
        router.route_for(_envelope(version=2))
