"""The fake itself, in process (httpx ASGITransport): auth, validation, state machine, files."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator

import httpx
import pytest

from fake_dropbox_sign import DEFAULT_API_KEY, create_app, event_hash
from fake_dropbox_sign.callbacks import build_event
from fake_dropbox_sign.forms import FormError, nest

AUTH = httpx.BasicAuth(DEFAULT_API_KEY, "")
SEND = {
    "title": "Rental agreement",
    "signers[0][email_address]": "ada@example.com",
    "signers[0][name]": "Ada",
    "metadata[booking_id]": "b1",
    "test_mode": "1",
}
FILES = {"files[0]": ("rental.txt", b"You agree.", "text/plain")}


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=create_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://fake") as c:
        yield c


async def send(client: httpx.AsyncClient, **overrides: str) -> httpx.Response:
    return await client.post(
        "/v3/signature_request/send", data={**SEND, **overrides}, files=FILES, auth=AUTH
    )


async def test_api_needs_the_api_key(client: httpx.AsyncClient) -> None:
    for auth in (None, httpx.BasicAuth("wrong", ""), httpx.BasicAuth("", DEFAULT_API_KEY)):
        response = await client.get("/v3/signature_request/list", auth=auth)
        assert response.status_code == 401
        assert response.json()["error"]["error_name"] == "unauthorized"


async def test_send_sign_and_download(client: httpx.AsyncClient) -> None:
    created = await send(client)
    assert created.status_code == 200, created.text
    sr = created.json()["signature_request"]
    rid = sr["signature_request_id"]
    assert len(rid) == 40 and sr["metadata"] == {"booking_id": "b1"} and sr["test_mode"]
    assert sr["signatures"][0]["status_code"] == "awaiting_signature"
    stored = (await client.get(f"/_fake/requests/{rid}")).json()
    assert stored["files"][0]["sha256"] == hashlib.sha256(b"You agree.").hexdigest()
    assert (await client.get(f"/_fake/requests/{rid}/files/0")).content == b"You agree."
    assert (await client.post(f"/_fake/signature_request/{rid}/sign")).status_code == 200
    got = (await client.get(f"/v3/signature_request/{rid}", auth=AUTH)).json()
    assert got["signature_request"]["is_complete"] is True
    assert got["signature_request"]["signatures"][0]["signed_at"] is not None
    pdf = await client.get(f"/v3/signature_request/files/{rid}?file_type=pdf", auth=AUTH)
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF-1.4") and pdf.content.rstrip().endswith(b"%%EOF")
    assert (await client.post(f"/_fake/signature_request/{rid}/decline")).status_code == 409


async def test_cancelled_requests_are_gone(client: httpx.AsyncClient) -> None:
    rid = (await send(client)).json()["signature_request"]["signature_request_id"]
    cancel = await client.post(f"/v3/signature_request/cancel/{rid}", auth=AUTH)
    assert cancel.status_code == 200
    gone = await client.get(f"/v3/signature_request/{rid}", auth=AUTH)
    assert gone.status_code == 410 and gone.json()["error"]["error_name"] == "deleted"
    missing = await client.get("/v3/signature_request/" + "0" * 40, auth=AUTH)
    assert missing.status_code == 404


@pytest.mark.parametrize(
    "overrides",
    [
        {"signers[0][email_address]": "nope"},
        {"signers[0][name]": ""},
        {"unknown_param": "1"},
        {"expires_at": "1"},
        {"metadata[" + "k" * 41 + "]": "v"},
        {"signing_options[telepathy]": "1"},
    ],
)
async def test_send_validation(client: httpx.AsyncClient, overrides: dict[str, str]) -> None:
    response = await send(client, **overrides)
    assert response.status_code == 400, response.text
    assert response.json()["error"]["error_name"] == "bad_request"


async def test_injected_failures(client: httpx.AsyncClient) -> None:
    spec = {"path": "/v3/signature_request/send", "count": 1, "after_commit": True}
    assert (await client.post("/_fake/failures", json=spec)).status_code == 200
    assert (await send(client)).status_code == 500
    listed = await client.get("/v3/signature_request/list", auth=AUTH)
    assert listed.json()["list_info"]["num_results"] == 1  # the work was done anyway
    assert (await send(client)).status_code == 200


@pytest.mark.parametrize("spec", [{}, {"count": 2}, {"path": "/v3/x", "count": "two"}])
async def test_a_malformed_failure_is_refused(client: httpx.AsyncClient, spec: dict) -> None:
    response = await client.post("/_fake/failures", json=spec)
    assert response.status_code == 422, response.text
    assert (await send(client)).status_code == 200  # nothing was injected


def test_event_hash_and_tampering() -> None:
    good = build_event("k", "signature_request_signed", None, event_time=100)
    assert good["event"]["event_hash"] == event_hash("k", "100", "signature_request_signed")
    bad = build_event("k", "signature_request_signed", None, event_time=100, tamper=True)
    assert bad["event"]["event_hash"] != good["event"]["event_hash"]


def test_bracket_nesting() -> None:
    assert nest([("signers[0][name]", "A"), ("metadata[k]", "v"), ("a[]", "x"), ("a[]", "y")]) == {
        "signers": {"0": {"name": "A"}},
        "metadata": {"k": "v"},
        "a": {"0": "x", "1": "y"},
    }
    with pytest.raises(FormError):
        nest([("a", "1"), ("a[b]", "2")])
