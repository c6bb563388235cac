"""Card disputes in payments (`dispute_intake`: Stripe's dispute webhooks → the
`payments.dispute_*` facts; `dispute_actions`: the outcome of what disputes asked Stripe) on
payments' unit of work in memory (tests/support/payments_fakes.py): what each writes
and which facts it emits, once, without Postgres. The same paths on the real database and
through the webhook worker: tests/integration/test_card_disputes.py."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any, cast

import asyncpg
import pytest

from marketplace_contracts import make_envelope
from marketplace_contracts.events.disputes import (
    DisputeAcceptanceRequestedV1,
    EvidenceSubmissionRequestedV1,
)
from marketplace_contracts.events.payments_disputes import (
    DisputeActionFailedV1,
    DisputeClosedV1,
    DisputeEvidenceSubmittedV1,
    DisputeFundsWithdrawnV1,
    DisputeOpenedV1,
    DisputeUpdatedV1,
    EarlyFraudWarningReceivedV1,
)
from payments.adapters.stripe_disputes import StripeDisputes
from payments.domain.ids import idempotency_key
from payments.service_layer import dispute_intake
from payments.service_layer.dispute_actions import ActionOutcome, DisputeActions
from tests.support.payments_fakes import NOW, FakeUnitOfWork

PAYMENT = "pay_dsp"
CHARGE = f"ch_{PAYMENT}"
CASE = "dsp_case1"


@pytest.fixture
def fake() -> FakeUnitOfWork:
    uow = FakeUnitOfWork()
    uow.payments.charged(PAYMENT)
    return uow


def dispute_event(
    status: str,
    *,
    kind: str = "charge.dispute.updated",
    at: timedelta = timedelta(0),
    moves: tuple[dict[str, Any], ...] = (),
    charge: str = CHARGE,
    **event: Any,
) -> dict[str, Any]:
    """A Stripe webhook event reporting the dispute `du_case1` in `status`, `at` after NOW."""
    return {
        "id": f"evt_{uuid.uuid4().hex[:12]}",
        "type": kind,
        "created": int((NOW + at).timestamp()),
        "data": {
            "object": {
                "object": "dispute",
                "id": "du_case1",
                "charge": charge,
                "payment_intent": None,
                "amount": 10_000,
                "currency": "usd",
                "reason": "fraudulent",
                "status": status,
                "created": int(NOW.timestamp()),
                "evidence_details": {"due_by": int((NOW + timedelta(days=7)).timestamp())},
                "balance_transactions": list(moves),
                "payment_method_details": {"type": "card", "card": {"brand": "visa"}},
            }
        },
        **event,
    }


WITHDRAWAL = {"id": "txn_w1", "amount": -10_000, "fee": 1_500, "currency": "usd"}


def facts(fake: FakeUnitOfWork) -> list[Any]:
    return [event for event, _ in fake.outbox.added]


async def test_the_first_webhook_opens_the_dispute_and_its_withdrawal_is_reported_once(
    fake: FakeUnitOfWork,
) -> None:
    created = dispute_event("needs_response", kind="charge.dispute.created", moves=(WITHDRAWAL,))
    await dispute_intake.apply_dispute_event(fake.as_uow(), created)
    await dispute_intake.apply_dispute_event(fake.as_uow(), created)  # redelivered
    withdrawn = dispute_event("needs_response", kind="charge.dispute.funds_withdrawn")
    withdrawn["data"]["object"]["balance_transactions"] = [WITHDRAWAL]
    await dispute_intake.apply_dispute_event(fake.as_uow(), withdrawn)

    opened, money = facts(fake)
    assert isinstance(opened, DisputeOpenedV1) and isinstance(money, DisputeFundsWithdrawnV1)
    assert (opened.dispute_id, opened.payment_id, opened.status, opened.inquiry) == (
        CASE,
        PAYMENT,
        "needs_response",
        False,
    )
    assert [(leg.booking_id, leg.host_amount) for leg in opened.legs] == [(f"bk_{PAYMENT}", 9_000)]
    assert (money.amount, money.fee, money.balance_transaction_id) == (10_000, 1_500, "txn_w1")
    assert {meta["key"] for _, meta in fake.outbox.added} == {PAYMENT}
    assert fake.disputes.disputes[CASE]["status"] == "needs_response"


async def test_an_inquiry_moves_forward_to_a_chargeback_and_never_back(
    fake: FakeUnitOfWork,
) -> None:
    uow = fake.as_uow()
    await dispute_intake.apply_dispute_event(uow, dispute_event("warning_needs_response"))
    await dispute_intake.apply_dispute_event(uow, dispute_event("needs_response", at=timedelta(1)))
    late = dispute_event("warning_under_review", at=timedelta(hours=1))  # sent before, came after
    await dispute_intake.apply_dispute_event(uow, late)

    opened, updated = facts(fake)
    assert isinstance(opened, DisputeOpenedV1) and opened.inquiry
    assert opened.status == "warning_needs_response"
    assert isinstance(updated, DisputeUpdatedV1)
    assert (updated.previous_status, updated.status) == ("warning_needs_response", "needs_response")
    assert fake.disputes.disputes[CASE]["status"] == "needs_response"


@pytest.mark.parametrize(
    ("accepting", "request_key", "accepted"),
    [
        (True, None, True),  # closed while payments was asking Stripe to (the mark)
        (False, idempotency_key("dispute_accept", "dsr_1"), True),  # by payments' own call
        (False, "someone-else", False),  # lost to the bank: not an acceptance
    ],
)
async def test_a_closed_dispute_is_reported_once_accepted_only_when_payments_closed_it(
    fake: FakeUnitOfWork, accepting: bool, request_key: str | None, accepted: bool
) -> None:
    uow = fake.as_uow()
    await dispute_intake.apply_dispute_event(uow, dispute_event("needs_response"))
    await uow.disputes.set_accepting(CASE, accepting)
    closed = dispute_event(
        "lost",
        kind="charge.dispute.closed",
        at=timedelta(days=2),
        request={"idempotency_key": request_key},
    )
    await dispute_intake.apply_dispute_event(uow, closed)
    await dispute_intake.apply_dispute_event(uow, closed)  # redelivered

    fact = facts(fake)[-1]
    assert [type(f) for f in facts(fake)] == [DisputeOpenedV1, DisputeClosedV1]
    assert isinstance(fact, DisputeClosedV1)
    assert (fact.status, fact.accepted, fact.closed_at) == ("lost", accepted, NOW + timedelta(2))
    assert fake.disputes.disputes[CASE]["closed_at"] == NOW + timedelta(days=2)


async def test_a_dispute_of_an_unknown_charge_is_ignored(fake: FakeUnitOfWork) -> None:
    event = dispute_event("needs_response", charge="ch_elsewhere", moves=(WITHDRAWAL,))
    await dispute_intake.apply_dispute_event(fake.as_uow(), event)
    assert fake.outbox.added == [] and fake.disputes.disputes == {}


async def test_an_early_fraud_warning_is_announced_once(fake: FakeUnitOfWork) -> None:
    warning = {
        "id": "evt_efw",
        "type": "radar.early_fraud_warning.created",
        "data": {
            "object": {
                "object": "radar.early_fraud_warning",
                "id": "issfr_1",
                "charge": CHARGE,
                "fraud_type": "made_with_stolen_card",
                "actionable": True,
                "created": int(NOW.timestamp()),
            }
        },
    }
    await dispute_intake.apply_fraud_warning(fake.as_uow(), warning)
    await dispute_intake.apply_fraud_warning(fake.as_uow(), warning)
    (fact,) = facts(fake)
    assert isinstance(fact, EarlyFraudWarningReceivedV1)
    assert (fact.warning_id, fact.payment_id, fact.actionable) == ("issfr_1", PAYMENT, True)
    assert fake.disputes.warnings["issfr_1"]["fraud_type"] == "made_with_stolen_card"


# -- what disputes asked of Stripe: the outcome, recorded once --------------------------------
def _actions() -> DisputeActions:
    """Only the record half runs here: it writes through the unit of work, never the pool."""
    return DisputeActions(
        lambda: cast(asyncpg.Pool, None), cast(Any, None), cast(StripeDisputes, None)
    )


def _asked(event: Any) -> Any:
    return make_envelope(event, key=PAYMENT, producer="disputes", correlation_id=uuid.uuid4())


async def test_a_submitted_evidence_is_recorded_and_announced_once(fake: FakeUnitOfWork) -> None:
    event = EvidenceSubmissionRequestedV1(
        request_id="dsr_sub",
        dispute_id=CASE,
        processor_dispute_id="du_case1",
        payment_id=PAYMENT,
        text={"product_description": "a stay"},
        auto=False,
        actor="trust@example.com",
    )
    env = _asked(event)
    outcome = ActionOutcome(True, "under_review", ["product_description", "receipt"], ["file_1"])
    await _actions().record_submission(fake.as_uow(), env, event, outcome)
    await _actions().record_submission(fake.as_uow(), env, event, outcome)  # redelivered

    ((fact, meta),) = fake.outbox.added
    assert isinstance(fact, DisputeEvidenceSubmittedV1)
    assert (fact.status, fact.file_ids, fact.submitted_at) == (
        "under_review",
        ["file_1"],
        env.occurred_at,
    )
    assert (meta["key"], meta["correlation_id"], meta["causation_id"]) == (
        PAYMENT,
        env.correlation_id,
        env.event_id,
    )
    action = fake.disputes.actions["dsr_sub"]
    assert (action["action"], action["succeeded"], action["code"]) == ("submit", True, None)


async def test_a_refused_acceptance_is_announced_and_unmarks_the_dispute(
    fake: FakeUnitOfWork,
) -> None:
    uow = fake.as_uow()
    await dispute_intake.apply_dispute_event(uow, dispute_event("needs_response"))
    await uow.disputes.set_accepting(CASE, True)  # as `accept` marks it before calling Stripe
    event = DisputeAcceptanceRequestedV1(
        request_id="dsr_acc",
        dispute_id=CASE,
        processor_dispute_id="du_case1",
        payment_id=PAYMENT,
        actor="trust@example.com",
    )
    refused = ActionOutcome(False, "won", code="dispute_closed", message="closed already")
    await _actions().record_acceptance(uow, _asked(event), event, refused)

    failed = facts(fake)[-1]
    assert isinstance(failed, DisputeActionFailedV1)
    assert (failed.action, failed.code, failed.message) == (
        "accept",
        "dispute_closed",
        "closed already",
    )
    assert fake.disputes.disputes[CASE]["accepting"] is False
    assert fake.disputes.actions["dsr_acc"]["succeeded"] is False
