"""Dropbox Sign adapter, offline: callback hash, event/status mapping, request encoding."""

import hashlib
import hmac
import io
import json
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import httpx
import pytest
from python_multipart import parse_form
from python_multipart.multipart import Field, File

from booking.adapters.esign.base import (
    DocumentSpec,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    Signer,
    WebhookVerificationError,
)
from booking.adapters.esign.dropbox_sign import DropboxSignProvider
from booking.adapters.esign.dropbox_sign_api import (
    file_name,
    provider_expiry,
    send_form,
    status_of_request,
    validate_metadata,
)
from booking.adapters.esign.dropbox_sign_callbacks import (
    CALLBACK_ACK,
    event_hash,
    extract_callback_payload,
    status_of_event,
    verify_callback,
)

API_KEY = "test-api-key-0123456789"
NOW = datetime(2031, 5, 1, 12, 0, tzinfo=UTC)


def callback(event_type: str, request_id: str = "abc123", tamper: bool = False) -> dict:  # type: ignore[type-arg]
    event_time = str(int(NOW.timestamp()))
    digest = event_hash(API_KEY, event_time, event_type)
    if tamper:
        digest = digest[:-1] + ("0" if digest[-1] != "0" else "1")
    return {
        "event": {"event_time": event_time, "event_type": event_type, "event_hash": digest},
        "signature_request": {"signature_request_id": request_id, "is_complete": True},
    }


class Part(NamedTuple):
    name: str
    filename: str | None
    data: bytes


def parse_multipart(body: bytes, content_type: str) -> list[Part]:
    """The parts of a multipart body, in order, as python-multipart reads them."""
    parts: list[Part] = []

    def on_field(field: Field) -> None:
        parts.append(Part((field.field_name or b"").decode(), None, field.value or b""))

    def on_file(file: File) -> None:
        file.file_object.seek(0)
        name = file.field_name.decode() if file.field_name else ""
        parts.append(
            Part(name, file.file_name.decode() if file.file_name else None, file.file_object.read())
        )

    parse_form({"Content-Type": content_type.encode()}, io.BytesIO(body), on_field, on_file)
    return parts


def multipart(payload: dict) -> tuple[bytes, dict[str, str]]:  # type: ignore[type-arg]
    request = httpx.Request(
        "POST", "http://127.0.0.1/cb", files={"json": (None, json.dumps(payload).encode())}
    )
    return request.read(), dict(request.headers)


def test_event_hash_is_documented_hmac_of_time_and_type() -> None:
    expected = hmac.new(
        API_KEY.encode(), b"1348177752signature_request_signed", hashlib.sha256
    ).hexdigest()
    assert event_hash(API_KEY, "1348177752", "signature_request_signed") == expected
    assert CALLBACK_ACK == "Hello API Event Received"


@pytest.mark.parametrize(
    ("event_type", "status"),
    [
        ("signature_request_all_signed", EnvelopeStatus.SIGNED),
        ("signature_request_signed", EnvelopeStatus.SIGNED),
        ("signature_request_declined", EnvelopeStatus.DECLINED),
        ("signature_request_expired", EnvelopeStatus.EXPIRED),
        ("signature_request_canceled", EnvelopeStatus.VOIDED),
        ("signature_request_sent", EnvelopeStatus.SENT),
        ("signature_request_viewed", EnvelopeStatus.SENT),
        ("signature_request_downloadable", EnvelopeStatus.SENT),
        ("callback_test", EnvelopeStatus.SENT),
    ],
)
def test_event_types_map_to_statuses(event_type: str, status: EnvelopeStatus) -> None:
    assert status_of_event(event_type) is status


@pytest.mark.parametrize(
    ("request_", "status"),
    [
        ({"is_complete": True, "is_declined": False}, EnvelopeStatus.SIGNED),
        ({"is_complete": False, "is_declined": True}, EnvelopeStatus.DECLINED),
        ({"signatures": [{"status_code": "declined"}]}, EnvelopeStatus.DECLINED),
        ({"expires_at": int(NOW.timestamp()) - 1}, EnvelopeStatus.EXPIRED),
        ({"expires_at": int(NOW.timestamp()) + 60}, EnvelopeStatus.SENT),
        ({"is_complete": True, "expires_at": int(NOW.timestamp()) - 1}, EnvelopeStatus.SIGNED),
        ({"is_complete": False, "is_declined": False, "expires_at": None}, EnvelopeStatus.SENT),
    ],
)
def test_signature_requests_map_to_statuses(request_: dict, status: EnvelopeStatus) -> None:  # type: ignore[type-arg]
    assert status_of_request(request_, NOW) is status


def test_callbacks_verify_in_every_encoding() -> None:
    payload = callback("signature_request_all_signed")
    body, headers = multipart(payload)
    for raw, hdrs in [
        (body, headers),
        (
            httpx.Request("POST", "http://x", data={"json": json.dumps(payload)}).read(),
            {"content-type": "application/x-www-form-urlencoded"},
        ),
        (json.dumps(payload).encode(), {"Content-Type": "application/json"}),
    ]:
        parsed = extract_callback_payload(raw, hdrs)
        assert verify_callback(API_KEY, parsed) == (
            str(int(NOW.timestamp())),
            "signature_request_all_signed",
        )


@pytest.mark.parametrize(
    "payload",
    [
        callback("signature_request_all_signed", tamper=True),
        {  # replayed hash with another event_time
            "event": {**callback("signature_request_signed")["event"], "event_time": "1"},
        },
        {"event": {"event_type": "signature_request_signed", "event_hash": "00"}},
        {"signature_request": {}},
    ],
)
def test_tampered_or_incomplete_callbacks_fail(payload: dict) -> None:  # type: ignore[type-arg]
    with pytest.raises(WebhookVerificationError):
        verify_callback(API_KEY, payload)


def test_changing_the_event_type_breaks_the_hash() -> None:
    payload = callback("signature_request_declined")
    payload["event"]["event_type"] = "signature_request_all_signed"
    with pytest.raises(WebhookVerificationError):
        verify_callback(API_KEY, payload)
    with pytest.raises(WebhookVerificationError):
        verify_callback("another-key", callback("signature_request_declined"))


@pytest.mark.parametrize(
    ("body", "headers"),
    [
        (b"not json", {"content-type": "application/json"}),
        (b"[1, 2]", {"content-type": "application/json"}),
        (b"json=", {"content-type": "application/x-www-form-urlencoded"}),
        (b"other=1", {"content-type": "application/x-www-form-urlencoded"}),
        (b"--x\r\nbroken", {"content-type": "multipart/form-data; boundary=x"}),
    ],
)
def test_unparseable_callbacks_fail_verification(body: bytes, headers: dict[str, str]) -> None:
    with pytest.raises(WebhookVerificationError):
        extract_callback_payload(body, headers)


async def test_parse_webhook_without_api_confirmation() -> None:
    provider = DropboxSignProvider(
        None,  # type: ignore[arg-type]  # parse_webhook does not touch the database
        api_key=API_KEY,
        base_url="http://127.0.0.1:9/v3",
        confirm_events=False,
    )
    try:
        body, headers = multipart(callback("signature_request_declined", "req_1"))
        event = await provider.parse_webhook(body, headers)
        assert (event.envelope_id, event.status, event.occurred_at) == (
            "req_1",
            EnvelopeStatus.DECLINED,
            NOW,
        )
        assert event.raw["event_type"] == "signature_request_declined"
        test_ping = callback("callback_test")
        del test_ping["signature_request"]
        body, headers = multipart(test_ping)
        ping = await provider.parse_webhook(body, headers)
        assert (ping.envelope_id, ping.status) == ("", EnvelopeStatus.SENT)
        body, headers = multipart(callback("signature_request_signed", tamper=True))
        with pytest.raises(WebhookVerificationError):
            await provider.parse_webhook(body, headers)
    finally:
        await provider.aclose()


def test_send_form_carries_what_the_api_expects() -> None:
    fields, files = send_form(
        envelope_key="booking:esign:b1",
        signer=Signer("guest-1", "Ada Guest", "ada@example.com"),
        documents=[
            DocumentSpec("rental", "Rental agreement", b"terms"),
            DocumentSpec("waiver/1", "Waiver", b"%PDF-1.4", "application/pdf"),
        ],
        metadata={"booking_id": "b1"},
        provider_expires_at=1_935_410_400,
        test_mode=True,
    )
    assert fields["signers[0][email_address]"] == "ada@example.com"
    assert fields["signers[0][name]"] == "Ada Guest"
    assert fields["title"] == "Rental agreement, Waiver"
    assert fields["test_mode"] == "1"
    assert fields["allow_decline"] == "1"
    assert fields["expires_at"] == "1935410400"
    assert fields["metadata[envelope_key]"] == "booking:esign:b1"
    assert fields["metadata[booking_id]"] == "b1"
    assert fields["signing_options[default_type]"] == "type"
    assert files == [
        ("files[0]", ("rental.txt", b"terms", "text/plain")),
        ("files[1]", ("waiver_1.pdf", b"%PDF-1.4", "application/pdf")),
    ]
    # What httpx puts on the wire parses back to the same fields and files.
    request = httpx.Request("POST", "http://127.0.0.1/v3/x", data=fields, files=files)
    parts = parse_multipart(request.read(), request.headers["content-type"])
    assert {p.name: p.data.decode() for p in parts if p.filename is None} == fields
    assert [(p.name, p.filename, p.data) for p in parts if p.filename] == [
        ("files[0]", "rental.txt", b"terms"),
        ("files[1]", "waiver_1.pdf", b"%PDF-1.4"),
    ]


@pytest.mark.parametrize(
    "metadata",
    [
        {"envelope_key": "x"},
        {f"k{i}": "v" for i in range(10)},
        {"k" * 41: "v"},
        {"k": "v" * 501},
        {"": "v"},
    ],
)
def test_metadata_limits(metadata: dict[str, str]) -> None:
    with pytest.raises(ESignError) as caught:
        validate_metadata(metadata)
    assert caught.value.code == ESignErrorCode.INVALID_REQUEST


def test_unsupported_document_types_are_refused() -> None:
    with pytest.raises(ESignError):
        file_name(DocumentSpec("x", "X", b"\x00", "application/octet-stream"))
    assert file_name(DocumentSpec("..", "X", b"a", "text/plain; charset=utf-8")) == "document.txt"


def test_provider_expiry_is_a_day_or_more_on_a_full_hour() -> None:
    hour = 3600
    # A checkout's 15 minutes become one day, rounded up to the hour (Dropbox Sign's minimum).
    now = NOW + timedelta(seconds=7)
    short = datetime.fromtimestamp(provider_expiry(NOW + timedelta(minutes=15), now), UTC)
    assert short.timestamp() % hour == 0
    assert timedelta(days=1) <= short - now < timedelta(days=1, hours=1)
    # Longer deadlines are kept, rounded up (Dropbox Sign rounds down: never before ours).
    later = NOW + timedelta(days=3, minutes=10)
    assert provider_expiry(later, NOW) == int((NOW + timedelta(days=3, hours=1)).timestamp())
    assert provider_expiry(NOW + timedelta(days=5), NOW) == int(
        (NOW + timedelta(days=5)).timestamp()
    )
    with pytest.raises(ESignError) as caught:
        provider_expiry(NOW + timedelta(days=89, seconds=1), NOW)
    assert caught.value.code == ESignErrorCode.INVALID_REQUEST
