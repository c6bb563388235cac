"""Contract: payments' dispute calls are valid requests according to Stripe's OpenAPI spec
(stripe-mock validates each request; see test_stripe_gateway_against_stripe_mock): the evidence
file upload (`File.create`, multipart, purpose `dispute_evidence`), `Dispute.modify` with the
evidence and `submit`, `Dispute.close`, and finance's `Transfer.create_reversal`."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator

import pytest
import stripe

from payments.adapters.stripe_disputes import StripeDisputes
from payments.adapters.stripe_gateway import StripeGateway, TransferReversalResult
from tests.contract.test_stripe_gateway_against_stripe_mock import (
    API_KEY,
    stripe_mock_base,  # noqa: F401  (the module's stripe-mock fixture)
)

pytestmark = [
    pytest.mark.stripe_mock,
    pytest.mark.filterwarnings("ignore:Use 'content=<...>':DeprecationWarning"),
]
PDF = b"%PDF-1.4\n% evidence\n%%EOF\n"


@pytest.fixture
async def gateway(stripe_mock_base: str) -> AsyncIterator[StripeGateway]:  # noqa: F811
    # The files base defaults to the API base when it is not Stripe's: stripe-mock takes both.
    gw = StripeGateway(API_KEY, stripe_mock_base)
    yield gw
    await gw.close()


async def test_upload_an_evidence_file(gateway: StripeGateway) -> None:
    file_id = await StripeDisputes(gateway).upload_evidence(
        PDF, "evidence-summary.pdf", "payments:dispute_file:dsr_1:0"
    )
    assert file_id.startswith("file_")


async def test_submit_evidence_with_text_and_file_fields(gateway: StripeGateway) -> None:
    status = await StripeDisputes(gateway).submit(
        "du_123",
        {
            "customer_purchase_ip": "203.0.113.9",
            "service_date": "2034-07-01",
            "uncategorized_text": "The guest stayed two nights.",
            "uncategorized_file": "file_123",
            "receipt": "file_456",
        },
        "payments:dispute_submit:dsr_1",
    )
    assert isinstance(status, str) and status


async def test_close_and_retrieve_a_dispute(gateway: StripeGateway) -> None:
    disputes = StripeDisputes(gateway)
    assert isinstance(await disputes.close("du_123", "payments:dispute_accept:dsa_1"), str)
    assert isinstance(await disputes.status("du_123"), str)


async def test_validation_is_live_on_the_dispute_and_file_endpoints(
    gateway: StripeGateway,
) -> None:
    """stripe-mock checks these endpoints' parameters (so the tests above mean something)."""
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        await gateway.client.v1.disputes.update_async(
            "du_123",
            {"evidence": {"uncategorized_text": "x"}, "bogus_parameter": "1"},  # type: ignore[typeddict-unknown-key]
            options={"idempotency_key": "contract:bogus-dispute"},
        )
    assert excinfo.value.http_status == 400
    with pytest.raises(stripe.InvalidRequestError) as excinfo:
        await gateway.client.v1.files.create_async(
            {"purpose": "not_a_purpose", "file": io.BytesIO(PDF)},  # type: ignore[typeddict-item]
            options={"idempotency_key": "contract:bogus-file"},
        )
    assert excinfo.value.http_status == 400


async def test_reverse_a_transfer_for_a_lost_dispute(gateway: StripeGateway) -> None:
    result = await gateway.reverse_transfer(
        "tr_123",
        amount=4_000,
        metadata={"request_id": "dsp_1:b1", "payment_id": "p1", "cause": "dispute_lost"},
        idempotency_key="payments:reverse_transfer:dsp_1:b1",
    )
    assert isinstance(result, TransferReversalResult) and result.id.startswith("trr_")
