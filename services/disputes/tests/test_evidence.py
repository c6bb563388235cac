"""Evidence per reason: which facts go in which of Stripe's fields, edits over them, and the
PDF summary."""

from __future__ import annotations

from datetime import UTC, datetime

from disputes.adapters.summary_pdf import render
from disputes.domain.evidence import (
    TEXT_FIELDS,
    Booking,
    Fact,
    Facts,
    assemble,
    merge,
    summary_field,
)

AT = datetime(2027, 3, 10, 10, tzinfo=UTC)
BOOKING = Booking(
    booking_id="bk_1",
    listing_id="lst_loft_01",
    starts_at=AT,
    ends_at=AT.replace(hour=12),
    amount=13_500,
    currency="usd",
    status="completed",
    client_ip="203.0.113.9",
    user_agent="Mozilla/5.0 (X11)",
    requested_at=AT.replace(day=1),
    completed_at=AT.replace(hour=12),
    cancellation_policy={
        "name": "moderate",
        "version": 3,
        "bands": [{"hours_before": 0, "refund_bps": 0}, {"hours_before": 24, "refund_bps": 5000}],
    },
    quote_lines=[{"code": "base", "description": "2 hours", "amount": 12_000}],
)
SIGNED = Fact(
    "signatures",
    "bk_1",
    AT.replace(day=2),
    {
        "documents": [
            {
                "document_id": "doc_1",
                "title": "Rental agreement",
                "sha256": "ab" * 32,
                "signer_id": "guest-1",
                "signed_at": "2027-03-02T09:00:00+00:00",
                "ip_address": "198.51.100.4",
                "user_agent": "Safari",
            }
        ]
    },
)
PRIOR = Booking(
    "bk_0",
    starts_at=AT.replace(month=1),
    amount=9_000,
    currency="usd",
    status="completed",
    client_ip="203.0.113.9",
)


def facts(reason: str, **kw: object) -> Facts:
    base: dict[str, object] = {
        "reason": reason,
        "amount": 13_500,
        "currency": "usd",
        "three_d_secure": False,
        "bookings": [BOOKING],
        "facts": [SIGNED],
        "prior_bookings": [PRIOR],
    }
    return Facts(**{**base, **kw})  # type: ignore[arg-type]


def test_fraud_evidence_has_the_checkout_ip_and_the_guests_earlier_bookings() -> None:
    text = assemble(facts("fraudulent"))
    assert text["customer_purchase_ip"] == "203.0.113.9"
    assert "bk_0" in text["uncategorized_text"] and "not disputed" in text["uncategorized_text"]
    assert "Mozilla/5.0 (X11)" in text["access_activity_log"]
    assert "198.51.100.4" in text["access_activity_log"]  # the signature's audit trail
    assert summary_field("fraudulent") == "uncategorized_file"


def test_not_received_evidence_has_the_service_date_and_the_signature_trail() -> None:
    text = assemble(facts("product_not_received"))
    assert text["service_date"] == "2027-03-10"
    assert "Rental agreement" in text["access_activity_log"]
    assert "ab" * 32 in text["access_activity_log"]
    assert "completed (stay ended)" in text["access_activity_log"]
    assert "uncategorized_text" not in text
    assert summary_field("product_not_received") == "service_documentation"


def test_credit_not_processed_evidence_cites_the_policy_and_the_refunds() -> None:
    refund = Fact(
        "refund",
        "bk_1",
        AT,
        {"refund_id": "rf_1", "amount": 6_000, "currency": "usd", "cause": "guest_cancellation"},
    )
    text = assemble(facts("credit_not_processed", facts=[refund]))
    disclosure = text["cancellation_policy_disclosure"]
    assert "the 'moderate' cancellation policy (version 3)" in disclosure
    # the bands in words, widest notice first, not the snapshot's raw structure
    assert disclosure.endswith(
        "cancelled at least 24 h before the start, 50 % refunded; "
        "cancelled at least 0 h before the start, 0 % refunded."
    ), disclosure
    assert "{" not in disclosure
    assert (
        "rf_1" in text["refund_refusal_explanation"]
        and "60.00 USD" in text["refund_refusal_explanation"]
    )
    assert "not cancelled" in text["cancellation_rebuttal"]


def test_duplicate_evidence_lists_each_charge() -> None:
    charges = [
        {"charge_id": "ch_1", "amount": 13_500, "currency": "usd", "booking_id": "bk_1"},
        {
            "charge_id": "ch_2",
            "amount": 2_000,
            "currency": "usd",
            "booking_id": "bk_1",
            "purpose": "extra_charge",
        },
    ]
    text = assemble(facts("duplicate", charges=charges))
    assert "ch_1" in text["duplicate_charge_explanation"]
    assert "extra_charge" in text["duplicate_charge_explanation"]


def test_every_assembled_field_is_one_of_stripes_text_fields() -> None:
    for reason in (
        "fraudulent",
        "product_not_received",
        "credit_not_processed",
        "duplicate",
        "general",
    ):
        assert set(assemble(facts(reason))) <= TEXT_FIELDS


def test_nothing_known_gives_no_empty_fields() -> None:
    text = assemble(facts("fraudulent", bookings=[], facts=[], prior_bookings=[]))
    assert all(text.values())
    assert text["uncategorized_text"] == "No earlier bookings by this guest."


def test_edits_replace_and_remove_fields() -> None:
    merged = merge({"a": "1", "b": "2"}, {"a": "edited", "b": None, "c": "3"})
    assert merged == {"a": "edited", "c": "3"}


def test_the_summary_is_a_pdf_and_the_same_evidence_renders_the_same_bytes() -> None:
    text = assemble(facts("fraudulent"))
    text["uncategorized_text"] += " Zoë – ✓ " + "x" * 300  # not Latin-1, and an unbroken word
    first = render({"Dispute": "dsp_1"}, text, AT)
    assert first.startswith(b"%PDF-") and len(first) > 1_000
    assert render({"Dispute": "dsp_1"}, text, AT) == first
