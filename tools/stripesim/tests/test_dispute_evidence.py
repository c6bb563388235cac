"""stripesim: Files (multipart uploads) as dispute evidence, early fraud warnings, 3-D Secure
on a charge, and the bank's decision given as ``{"won": bool}``."""

from __future__ import annotations

import io
from pathlib import Path

import httpx
import pytest
import stripe
from fastapi.testclient import TestClient

from stripesim import create_app
from stripesim.testing import WebhookRecorder
from stripesim.testkit import AUTH, error, get, ok, paid_intent, post, signed_events

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


async def upload(
    api: httpx.AsyncClient, content: bytes, filename: str, purpose: str = "dispute_evidence"
) -> httpx.Response:
    """A multipart upload as the SDK sends it (the part's type is always octet-stream)."""
    return await api.post(
        "/v1/files",
        data={"purpose": purpose},
        files={"file": (filename, content, "application/octet-stream")},
        headers=AUTH,
    )


async def disputed(api: httpx.AsyncClient) -> dict[str, object]:
    pi = await paid_intent(api, 9_000)
    return ok(await api.post(f"/_sim/charges/{pi['latest_charge']}/dispute", json={}))


async def test_an_uploaded_file_is_kept_with_its_type_and_content(api: httpx.AsyncClient) -> None:
    created = ok(await upload(api, PDF, "summary.pdf"))
    assert created["id"].startswith("file_") and created["object"] == "file"
    assert (created["purpose"], created["type"], created["size"]) == (
        "dispute_evidence",
        "pdf",
        len(PDF),
    )
    assert await get(api, f"/v1/files/{created['id']}") == created
    contents = await api.get(f"/_sim/files/{created['id']}/contents")
    assert contents.content == PDF and contents.headers["content-type"] == "application/pdf"


async def test_evidence_files_must_be_pdf_png_or_jpeg(api: httpx.AsyncClient) -> None:
    refused = error(await upload(api, b"just some text", "notes.txt"), 400)
    assert refused["param"] == "file"
    assert ok(await upload(api, b"\x89PNG\r\n\x1a\n" + b"\0" * 16, "photo"))["type"] == "png"
    missing = error(
        await api.post("/v1/files", data={"purpose": "dispute_evidence"}, headers=AUTH), 400
    )
    assert missing["code"] == "parameter_missing" and missing["param"] == "file"
    error(await api.get("/v1/files/file_nope", headers=AUTH), 404)


async def test_evidence_takes_uploaded_file_ids_and_refuses_others(api: httpx.AsyncClient) -> None:
    du = await disputed(api)
    receipt = ok(await upload(api, PDF, "receipt.pdf"))["id"]
    updated = ok(
        await post(
            api,
            f"/v1/disputes/{du['id']}",
            {
                "evidence": {"receipt": receipt, "product_description": "2 h studio"},
                "submit": False,
            },
        )
    )
    assert updated["evidence"]["receipt"] == receipt
    unknown = error(
        await post(api, f"/v1/disputes/{du['id']}", {"evidence": {"receipt": "file_nope"}}), 404
    )
    assert (unknown["code"], unknown["param"]) == ("resource_missing", "evidence[receipt]")
    logo = ok(await upload(api, PDF, "logo.pdf", purpose="business_logo"))["id"]
    wrong = error(
        await post(api, f"/v1/disputes/{du['id']}", {"evidence": {"uncategorized_file": logo}}),
        400,
    )
    assert wrong["param"] == "evidence[uncategorized_file]"
    # nothing refused was recorded
    assert (await get(api, f"/v1/disputes/{du['id']}"))["evidence"]["uncategorized_file"] is None


async def test_an_early_fraud_warning_is_raised_on_a_charge(api: httpx.AsyncClient) -> None:
    pi = await paid_intent(api, 4_000)
    warning = ok(
        await api.post(
            f"/_sim/charges/{pi['latest_charge']}/early_fraud_warning",
            json={"fraud_type": "made_with_stolen_card"},
        )
    )
    assert warning["id"].startswith("issfr_") and warning["object"] == "radar.early_fraud_warning"
    assert (warning["charge"], warning["payment_intent"], warning["actionable"]) == (
        pi["latest_charge"],
        pi["id"],
        True,
    )
    assert await get(api, f"/v1/radar/early_fraud_warnings/{warning['id']}") == warning
    listed = await get(api, "/v1/radar/early_fraud_warnings", charge=pi["latest_charge"])
    assert [w["id"] for w in listed["data"]] == [warning["id"]]
    [event] = (await get(api, "/v1/events", type="radar.early_fraud_warning.created"))["data"]
    assert event["data"]["object"]["id"] == warning["id"]
    bad = await api.post(
        f"/_sim/charges/{pi['latest_charge']}/early_fraud_warning", json={"fraud_type": "x"}
    )
    assert bad.status_code == 422


async def test_a_charge_authenticated_with_3ds_says_so(api: httpx.AsyncClient) -> None:
    pi = ok(
        await post(
            api,
            "/v1/payment_intents",
            {
                "amount": 5_000,
                "currency": "usd",
                "payment_method": "pm_card_authenticationRequired",
                "confirm": True,
            },
        )
    )
    assert pi["status"] == "requires_action"
    ok(await api.post(f"/_sim/intents/{pi['id']}/authenticate", json={}))
    charged = await get(api, f"/v1/payment_intents/{pi['id']}", expand=["latest_charge"])
    secure = charged["latest_charge"]["payment_method_details"]["card"]["three_d_secure"]
    assert secure["result"] == "authenticated"
    plain = await paid_intent(api, 5_000)
    charge = await get(api, f"/v1/charges/{plain['latest_charge']}")
    assert charge["payment_method_details"]["card"]["three_d_secure"] is None


async def test_the_bank_decides_with_won_true_or_false(api: httpx.AsyncClient) -> None:
    won = await disputed(api)
    assert (
        ok(await api.post(f"/_sim/disputes/{won['id']}/resolve", json={"won": True}))["status"]
        == "won"
    )
    lost = await disputed(api)
    assert (
        ok(await api.post(f"/_sim/disputes/{lost['id']}/resolve", json={"won": False}))["status"]
        == "lost"
    )
    both = await api.post(
        f"/_sim/disputes/{lost['id']}/resolve", json={"won": True, "status": "won"}
    )
    assert both.status_code == 422


def test_evidence_files_through_the_stripe_sdk(sdk: tuple[str, WebhookRecorder]) -> None:
    """The SDK posts files to its upload base (``stripe.upload_api_base``): the simulator."""
    base_url, recorder = sdk
    stripe.upload_api_base = base_url  # put back in `finally`
    try:
        pi = stripe.PaymentIntent.create(
            amount=7_000, currency="usd", payment_method="pm_card_visa", confirm=True
        )
        opened = httpx.post(f"{base_url}/_sim/charges/{pi.latest_charge}/dispute", json={})
        document = io.BytesIO(PDF)
        document.name = "evidence.pdf"
        uploaded = stripe.File.create(purpose="dispute_evidence", file=document)
        assert (uploaded.type, uploaded.size) == ("pdf", len(PDF))
        du = stripe.Dispute.modify(
            opened.json()["id"],
            evidence={"uncategorized_file": uploaded.id, "uncategorized_text": "see file"},
            submit=True,
        )
        assert (du.status, du.evidence.uncategorized_file) == ("under_review", uploaded.id)
        with pytest.raises(stripe.InvalidRequestError):
            stripe.Dispute.modify(du.id, evidence={"receipt": uploaded.id}, submit=True)
    finally:
        stripe.upload_api_base = "https://files.stripe.com"
    assert len(signed_events(recorder, 6)) == 6


def test_uploaded_evidence_and_warnings_survive_a_restart(tmp_path: Path) -> None:
    state_file = tmp_path / "sim.sqlite3"
    with TestClient(create_app(state_file=state_file)) as client:
        uploaded = client.post(
            "/v1/files",
            data={"purpose": "dispute_evidence"},
            files={"file": ("summary.pdf", PDF, "application/octet-stream")},
            headers={**AUTH, "Idempotency-Key": "payments:dispute_file:dsr_1:0"},
        ).json()
    with TestClient(create_app(state_file=state_file)) as client:  # a clean restart
        assert client.get(f"/v1/files/{uploaded['id']}", headers=AUTH).json() == uploaded
        assert client.get(f"/_sim/files/{uploaded['id']}/contents").content == PDF
        replayed = client.post(
            "/v1/files",
            data={"purpose": "dispute_evidence"},
            files={"file": ("summary.pdf", PDF, "application/octet-stream")},
            headers={**AUTH, "Idempotency-Key": "payments:dispute_file:dsr_1:0"},
        )
        assert replayed.json()["id"] == uploaded["id"]
        assert replayed.headers["Idempotent-Replayed"] == "true"


async def test_an_inquiry_escalates_to_a_chargeback(api: httpx.AsyncClient) -> None:
    pi = await paid_intent(api, 6_000)
    du = ok(await api.post(f"/_sim/charges/{pi['latest_charge']}/dispute", json={"inquiry": True}))
    await api.post("/_sim/clock/advance", json={"seconds": 3 * 86_400})
    escalated = ok(await api.post(f"/_sim/disputes/{du['id']}/escalate"))
    assert (escalated["status"], escalated["is_charge_refundable"]) == ("needs_response", False)
    assert escalated["evidence_details"]["due_by"] > du["evidence_details"]["due_by"]
    [withdrawal] = escalated["balance_transactions"]
    assert (withdrawal["amount"], withdrawal["fee"]) == (-6_000, 1_500)
    events = reversed((await get(api, "/v1/events", limit=100))["data"])
    types = [e["type"] for e in events if e["type"].startswith("charge.dispute.")]
    assert types == [
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.funds_withdrawn",
    ]
    again = await api.post(f"/_sim/disputes/{du['id']}/escalate")
    assert again.status_code == 409
    refused = error(await post(api, "/v1/refunds", {"payment_intent": pi["id"]}), 400)
    assert refused["code"] == "charge_disputed"
