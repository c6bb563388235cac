"""Dropbox Sign adapter against the fake (fake_dropbox_sign), both real, over HTTP on 127.0.0.1.

The fake runs in-process (uvicorn in a background thread, tests/support/servers.py); its
callbacks go to a small local receiver, served the same way, that answers like a booking
endpoint would. The adapter's idempotency map lives
in a uniquely named table in the booking schema, dropped afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import socket
import subprocess
import sys
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from booking.adapters.esign.base import (
    DocumentSpec,
    Envelope,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    Signer,
    WebhookVerificationError,
)
from booking.adapters.esign.dropbox_sign import DropboxSignProvider
from booking.adapters.esign.dropbox_sign_callbacks import CALLBACK_ACK
from fake_dropbox_sign import create_app
from tests.support.esign_tables import dropbox_sign_ddl, execute_all
from tests.support.poll import at_once, eventually, wait_until
from tests.support.servers import serve

pytestmark = pytest.mark.integration

API_KEY = "integration-dropbox-sign-key"
SIGNER = Signer("guest-7", "Grace Guest", "grace@example.com")
RENTAL = DocumentSpec("rental", "Rental agreement", b"Rent: 100 EUR/h. No parties.")
WAIVER = DocumentSpec("waiver", "Liability waiver", b"I waive.")
EXPIRES = datetime.now(UTC) + timedelta(days=2)  # one deadline: replays must match exactly


# -- callback receiver -------------------------------------------------------------------------
@dataclass
class Callback:
    body: bytes
    headers: dict[str, str]

    @property
    def event_type(self) -> str:
        boundary = self.headers["content-type"].split("boundary=")[1].encode()
        part = self.body.split(b"--" + boundary)[1]
        payload = json.loads(part.split(b"\r\n\r\n", 1)[1].rstrip(b"\r\n"))
        return str(payload["event"]["event_type"])


@dataclass
class Receiver:
    url: str = ""
    received: list[Callback] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def clear(self) -> None:
        with self.lock:
            self.received.clear()

    def of_type(self, event_type: str) -> list[Callback]:
        with self.lock:
            return [c for c in self.received if c.event_type == event_type]


async def eventually_one(receiver: Receiver, event_type: str, timeout: float = 10) -> Callback:
    found = await eventually(
        lambda: at_once(receiver.of_type(event_type)),
        timeout=timeout,
        interval=0.02,
        what=f"a {event_type} callback",
    )
    return found[-1]


async def _undelivered(fake: httpx.AsyncClient) -> list[dict[str, Any]]:
    """The fake's callbacks not yet answered by the receiver."""
    pending: list[dict[str, Any]] = (
        await fake.get("/_fake/callbacks", params={"status": "pending"})
    ).json()["data"]
    return pending


def _receiver_app(receiver: Receiver) -> Starlette:
    """Keeps every callback and acknowledges it as Dropbox Sign expects."""

    async def deliver(request: Request) -> Response:
        body = await request.body()
        with receiver.lock:
            receiver.received.append(Callback(body, dict(request.headers)))
        return PlainTextResponse(CALLBACK_ACK)

    return Starlette(routes=[Route("/webhooks/dropbox-sign", deliver, methods=["POST"])])


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    rec = Receiver()
    with serve(_receiver_app(rec), "the callback receiver") as base_url:
        rec.url = f"{base_url}/webhooks/dropbox-sign"
        yield rec


# -- the fake ----------------------------------------------------------------------------------
def free_socket() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


@pytest.fixture(scope="module")
def fake_base(receiver: Receiver) -> Iterator[str]:
    with serve(create_app(API_KEY, receiver.url, callback_backoff=0.05), "the fake") as base_url:
        yield base_url


@pytest.fixture
async def fake(fake_base: str, receiver: Receiver) -> AsyncIterator[httpx.AsyncClient]:
    """Control client of the fake; its state and the receiver are reset before each test."""
    async with httpx.AsyncClient(base_url=fake_base, timeout=10) as client:
        (await client.post("/_fake/reset")).raise_for_status()
        receiver.clear()
        yield client


@pytest.fixture
async def prefix(booking_pool: asyncpg.Pool) -> AsyncIterator[str]:
    name = f"t{uuid.uuid4().hex[:10]}_esign_"
    create_tables, drop_tables = dropbox_sign_ddl(name)
    await execute_all(booking_pool, create_tables)
    yield name
    await execute_all(booking_pool, drop_tables)


@pytest.fixture
async def provider(
    booking_pool: asyncpg.Pool, fake: httpx.AsyncClient, prefix: str
) -> AsyncIterator[DropboxSignProvider]:
    adapter = make_provider(booking_pool, fake, prefix)
    yield adapter
    await adapter.aclose()


def make_provider(
    pool: asyncpg.Pool, fake: httpx.AsyncClient, prefix: str, **options: Any
) -> DropboxSignProvider:
    return DropboxSignProvider(
        pool,
        api_key=options.pop("api_key", API_KEY),
        base_url=f"{str(fake.base_url).rstrip('/')}/v3",
        table_prefix=prefix,
        timeout=5,
        **options,
    )


async def create(
    provider: DropboxSignProvider, key: str | None = None, **overrides: Any
) -> Envelope:
    args: dict[str, Any] = {
        "envelope_key": key or f"booking:esign:{uuid.uuid4()}",
        "signer": SIGNER,
        "documents": [RENTAL, WAIVER],
        "metadata": {"booking_id": "bk_9"},
        "expires_at": EXPIRES,
    }
    args.update(overrides)
    return await provider.create_envelope(**args)


async def requests_in_fake(fake: httpx.AsyncClient) -> list[dict[str, Any]]:
    response = await fake.get("/_fake/requests")
    response.raise_for_status()
    data: list[dict[str, Any]] = response.json()["data"]
    return data


async def control(fake: httpx.AsyncClient, envelope_id: str, action: str) -> None:
    (await fake.post(f"/_fake/signature_request/{envelope_id}/{action}")).raise_for_status()


# -- create ------------------------------------------------------------------------------------
async def test_create_sends_documents_signer_and_metadata(
    provider: DropboxSignProvider, fake: httpx.AsyncClient
) -> None:
    expires_at = (datetime.now(UTC) + timedelta(hours=2)).replace(microsecond=0)
    envelope = await create(provider, "booking:esign:first", expires_at=expires_at)
    assert envelope.provider == "dropbox_sign" and envelope.status is EnvelopeStatus.SENT
    assert len(envelope.envelope_id) == 40
    assert envelope.documents == ("rental", "waiver")
    assert envelope.signing_url is not None and envelope.envelope_id in envelope.signing_url
    [sent] = await requests_in_fake(fake)
    assert sent["signature_request_id"] == envelope.envelope_id
    assert sent["title"] == "Rental agreement, Liability waiver"
    assert sent["metadata"] == {"envelope_key": "booking:esign:first", "booking_id": "bk_9"}
    assert sent["test_mode"] is True and sent["allow_decline"] is True
    # Dropbox Sign wants 1-90 days, on the hour: at least a day; our 2 hours are kept locally.
    ahead = sent["expires_at"] - int(expires_at.timestamp())
    assert sent["expires_at"] % 3600 == 0 and 22 * 3600 <= ahead <= 23 * 3600
    assert sent["signing_options"]["default_type"] == "type"
    signer = sent["signatures"][0]
    assert (signer["signer_email_address"], signer["signer_name"]) == (SIGNER.email, SIGNER.name)
    assert [(f["filename"], f["sha256"]) for f in sent["files"]] == [
        ("rental.txt", hashlib.sha256(RENTAL.content).hexdigest()),
        ("waiver.txt", hashlib.sha256(WAIVER.content).hexdigest()),
    ]
    assert await provider.get_status(envelope.envelope_id) is EnvelopeStatus.SENT


async def test_create_is_idempotent_on_the_envelope_key(
    provider: DropboxSignProvider, fake: httpx.AsyncClient
) -> None:
    first = await create(provider, "booking:esign:once")
    assert await create(provider, "booking:esign:once") == first
    assert len(await requests_in_fake(fake)) == 1
    with pytest.raises(ESignError) as caught:
        await create(provider, "booking:esign:once", documents=[RENTAL])
    assert caught.value.code == ESignErrorCode.IDEMPOTENCY_CONFLICT

    # Concurrent first calls: one sends, the others are told to retry; nothing is duplicated.
    results = await asyncio.gather(
        *(create(provider, "booking:esign:race") for _ in range(4)), return_exceptions=True
    )
    sent = [r for r in results if isinstance(r, Envelope)]
    refused = [r for r in results if isinstance(r, ESignError)]
    assert len(sent) >= 1 and len({e.envelope_id for e in sent}) == 1
    assert all(e.code == ESignErrorCode.IN_PROGRESS and e.retryable for e in refused)
    assert await create(provider, "booking:esign:race") == sent[0]
    assert len(await requests_in_fake(fake)) == 2


async def test_a_lost_send_response_is_recovered_not_resent(
    provider: DropboxSignProvider, fake: httpx.AsyncClient
) -> None:
    spec = {"path": "/v3/signature_request/send", "count": 1, "status": 500, "after_commit": True}
    (await fake.post("/_fake/failures", json=spec)).raise_for_status()
    envelope = await create(provider, "booking:esign:lost")
    [sent] = await requests_in_fake(fake)
    assert envelope.envelope_id == sent["signature_request_id"]
    assert await create(provider, "booking:esign:lost") == envelope


async def test_an_ambiguous_failure_blocks_retries_until_the_lease_ends(
    booking_pool: asyncpg.Pool,
    provider: DropboxSignProvider,
    fake: httpx.AsyncClient,
    prefix: str,
) -> None:
    spec = {"path": "/v3/signature_request/send", "count": 1, "status": 502}
    (await fake.post("/_fake/failures", json=spec)).raise_for_status()
    with pytest.raises(ESignError) as caught:
        await create(provider, "booking:esign:flaky")
    assert caught.value.code == ESignErrorCode.UNAVAILABLE and caught.value.retryable
    with pytest.raises(ESignError) as caught:
        await create(provider, "booking:esign:flaky")
    assert caught.value.code == ESignErrorCode.IN_PROGRESS
    impatient = make_provider(booking_pool, fake, prefix, pending_lease=timedelta(0))
    try:
        envelope = await create(impatient, "booking:esign:flaky")
    finally:
        await impatient.aclose()
    assert [r["signature_request_id"] for r in await requests_in_fake(fake)] == [
        envelope.envelope_id
    ]
    assert await create(provider, "booking:esign:flaky") == envelope


async def test_refusals_release_the_key(
    booking_pool: asyncpg.Pool,
    provider: DropboxSignProvider,
    fake: httpx.AsyncClient,
    prefix: str,
) -> None:
    wrong = make_provider(booking_pool, fake, prefix, api_key="not-the-key")
    try:
        with pytest.raises(ESignError) as caught:
            await create(wrong, "booking:esign:auth")
        assert caught.value.code == ESignErrorCode.AUTHENTICATION
        assert not caught.value.retryable
    finally:
        await wrong.aclose()
    envelope = await create(provider, "booking:esign:auth")  # same key, right credentials
    assert len(await requests_in_fake(fake)) == 1 and envelope.status is EnvelopeStatus.SENT
    unreachable = DropboxSignProvider(
        booking_pool,
        api_key=API_KEY,
        base_url=f"http://127.0.0.1:{free_port()}/v3",
        table_prefix=prefix,
    )
    try:
        with pytest.raises(ESignError) as caught:
            await create(unreachable, "booking:esign:down")
        assert caught.value.code == ESignErrorCode.UNAVAILABLE and caught.value.retryable
    finally:
        await unreachable.aclose()
    assert (await create(provider, "booking:esign:down")).status is EnvelopeStatus.SENT


def free_port() -> int:
    with free_socket() as sock:
        return int(sock.getsockname()[1])


# -- status ------------------------------------------------------------------------------------
async def test_the_callers_deadline_is_enforced_locally(
    booking_pool: asyncpg.Pool,
    provider: DropboxSignProvider,
    fake: httpx.AsyncClient,
    prefix: str,
) -> None:
    expires_at = datetime.now(UTC) + timedelta(minutes=15)
    envelope = await create(provider, expires_at=expires_at)
    assert await provider.get_status(envelope.envelope_id) is EnvelopeStatus.SENT
    later = make_provider(
        booking_pool, fake, prefix, clock=lambda: expires_at + timedelta(seconds=1)
    )
    try:
        assert await later.get_status(envelope.envelope_id) is EnvelopeStatus.EXPIRED
        # Dropbox Sign would still take a signature: voiding cancels it there.
        assert await later.void_envelope(envelope.envelope_id, "expired") is EnvelopeStatus.VOIDED
        assert await later.get_status(envelope.envelope_id) is EnvelopeStatus.VOIDED
    finally:
        await later.aclose()
    with pytest.raises(ESignError) as caught:
        await create(provider, expires_at=datetime.now(UTC) + timedelta(days=100))
    assert caught.value.code == ESignErrorCode.INVALID_REQUEST


@pytest.mark.parametrize(
    ("action", "status"),
    [
        ("sign", EnvelopeStatus.SIGNED),
        ("decline", EnvelopeStatus.DECLINED),
        ("expire", EnvelopeStatus.EXPIRED),
    ],
)
async def test_status_mapping(
    provider: DropboxSignProvider, fake: httpx.AsyncClient, action: str, status: EnvelopeStatus
) -> None:
    key = f"booking:esign:{action}"
    envelope = await create(provider, key)
    await control(fake, envelope.envelope_id, action)
    assert await provider.get_status(envelope.envelope_id) is status
    assert await provider.void_envelope(envelope.envelope_id, "too late") is status
    replay = await create(provider, key)  # a replay reports where the envelope is now
    assert (replay.envelope_id, replay.status, replay.signing_url) == (
        envelope.envelope_id,
        status,
        None,
    )


async def test_void_cancels_the_request(
    provider: DropboxSignProvider, fake: httpx.AsyncClient, receiver: Receiver
) -> None:
    envelope = await create(provider)
    assert (
        await provider.void_envelope(envelope.envelope_id, "hold expired") is EnvelopeStatus.VOIDED
    )
    assert await provider.get_status(envelope.envelope_id) is EnvelopeStatus.VOIDED
    [stored] = await requests_in_fake(fake)
    assert stored["canceled"] is True
    callback = await eventually_one(receiver, "signature_request_canceled")
    event = await provider.parse_webhook(callback.body, callback.headers)
    assert (event.envelope_id, event.status) == (envelope.envelope_id, EnvelopeStatus.VOIDED)
    with pytest.raises(ESignError) as caught:
        await provider.get_status("0" * 40)
    assert caught.value.code == ESignErrorCode.ENVELOPE_NOT_FOUND


# -- callbacks ---------------------------------------------------------------------------------
async def test_signed_callbacks_verify_and_map(
    provider: DropboxSignProvider, fake: httpx.AsyncClient, receiver: Receiver
) -> None:
    envelope = await create(provider)
    sent = await eventually_one(receiver, "signature_request_sent")
    event = await provider.parse_webhook(sent.body, sent.headers)
    assert (event.envelope_id, event.status) == (envelope.envelope_id, EnvelopeStatus.SENT)

    await control(fake, envelope.envelope_id, "sign")
    for event_type in ("signature_request_signed", "signature_request_all_signed"):
        callback = await eventually_one(receiver, event_type)
        event = await provider.parse_webhook(callback.body, callback.headers)
        assert (event.envelope_id, event.status) == (envelope.envelope_id, EnvelopeStatus.SIGNED)
        assert event.raw["event_type"] == event_type
        assert event.raw["signature_request"]["metadata"]["booking_id"] == "bk_9"
        assert abs(event.occurred_at - datetime.now(UTC)) < timedelta(minutes=1)
    await eventually_one(receiver, "signature_request_downloadable")
    deliveries = (await fake.get("/_fake/callbacks")).json()["data"]
    assert deliveries and all(d["status"] == "delivered" for d in deliveries)


async def test_declined_callback(
    provider: DropboxSignProvider, fake: httpx.AsyncClient, receiver: Receiver
) -> None:
    envelope = await create(provider)
    await control(fake, envelope.envelope_id, "decline")
    callback = await eventually_one(receiver, "signature_request_declined")
    event = await provider.parse_webhook(callback.body, callback.headers)
    assert event.status is EnvelopeStatus.DECLINED


async def test_tampered_callbacks_are_rejected(
    provider: DropboxSignProvider, fake: httpx.AsyncClient, receiver: Receiver
) -> None:
    envelope = await create(provider)
    await control(fake, envelope.envelope_id, "sign")
    forged = {
        "event_type": "signature_request_all_signed",
        "signature_request_id": envelope.envelope_id,
        "tamper": True,
    }
    # The genuine callbacks of the signing are sent asynchronously: the fake delivers every one
    # before the receiver is cleared, so the one read below can only be the forged one.
    await eventually_one(receiver, "signature_request_all_signed")
    await eventually(
        lambda: _undelivered(fake),
        lambda undelivered: not undelivered,
        timeout=10,
        interval=0.02,
        what="every genuine callback delivered",
    )
    receiver.clear()
    (await fake.post("/_fake/callbacks", json=forged)).raise_for_status()
    callback = await eventually_one(receiver, "signature_request_all_signed")
    with pytest.raises(WebhookVerificationError):
        await provider.parse_webhook(callback.body, callback.headers)
    # An authentic body with one byte of the event type changed fails too.
    await control(fake, (await create(provider)).envelope_id, "decline")
    genuine = await eventually_one(receiver, "signature_request_declined")
    altered = genuine.body.replace(b"signature_request_declined", b"signature_request_signedx")
    fixed_length = {**genuine.headers, "content-length": str(len(altered))}
    with pytest.raises(WebhookVerificationError):
        await provider.parse_webhook(altered, fixed_length)


async def test_a_replayed_hash_cannot_sign_another_request(
    provider: DropboxSignProvider, fake: httpx.AsyncClient, receiver: Receiver
) -> None:
    """The hash covers only time + type: a captured "all_signed" callback, pointed at another
    request, verifies; the adapter reads the real status from the API instead of trusting it."""
    signed, unsigned = await create(provider), await create(provider)
    await control(fake, signed.envelope_id, "sign")
    genuine = await eventually_one(receiver, "signature_request_all_signed")
    replayed = genuine.body.replace(signed.envelope_id.encode(), unsigned.envelope_id.encode())
    event = await provider.parse_webhook(replayed, genuine.headers)
    assert (event.envelope_id, event.status) == (unsigned.envelope_id, EnvelopeStatus.SENT)
    assert event.raw["confirmed_status"] == "sent"


# -- files -------------------------------------------------------------------------------------
async def test_fetch_the_signed_file(
    provider: DropboxSignProvider, fake: httpx.AsyncClient
) -> None:
    envelope = await create(provider)
    with pytest.raises(ESignError) as caught:
        await provider.fetch_signed_document(envelope.envelope_id, "rental")
    assert caught.value.code == ESignErrorCode.NOT_SIGNED
    await control(fake, envelope.envelope_id, "sign")
    document = await provider.fetch_signed_document(envelope.envelope_id, "waiver")
    assert document.content.startswith(b"%PDF-1.4")
    assert hashlib.sha256(RENTAL.content).hexdigest().encode() in document.content  # audit text
    assert document.sha256 == hashlib.sha256(document.content).hexdigest()
    assert (document.envelope_id, document.document_id) == (envelope.envelope_id, "waiver")
    assert (document.signer_id, document.signer_ip) == ("guest-7", None)
    assert abs(document.signed_at - datetime.now(UTC)) < timedelta(minutes=1)
    with pytest.raises(ESignError) as caught:
        await provider.fetch_signed_document(envelope.envelope_id, "unknown")
    assert caught.value.code == ESignErrorCode.DOCUMENT_NOT_FOUND
    with pytest.raises(ESignError) as caught:
        await provider.fetch_signed_document("f" * 40, "rental")
    assert caught.value.code == ESignErrorCode.ENVELOPE_NOT_FOUND


# -- the command line --------------------------------------------------------------------------
def test_the_fake_runs_as_a_module() -> None:
    port = free_port()
    env = {**os.environ, "FAKE_DROPBOX_SIGN_API_KEY": API_KEY}
    process = subprocess.Popen(
        [sys.executable, "-m", "fake_dropbox_sign", "--port", str(port), "--log-level", "warning"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:

        def answer() -> httpx.Response | None:
            try:
                return httpx.get(
                    f"http://127.0.0.1:{port}/v3/signature_request/list",
                    auth=(API_KEY, ""),
                    timeout=2,
                )
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read() if process.stderr else ""
                return None

        response = wait_until(answer, lambda r: r is not None, timeout=20, what="the fake up")
        assert response.status_code == 200
        assert response.json()["list_info"]["num_results"] == 0
    finally:
        process.terminate()
        process.wait(timeout=10)
