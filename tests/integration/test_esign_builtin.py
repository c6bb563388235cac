"""Built-in e-sign provider on the real database, with its signing page (httpx ASGITransport).

Tables are created with a unique prefix in the booking schema and dropped afterwards.
"""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import asyncpg
import httpx
import pytest
from fastapi import FastAPI

from booking.adapters.esign.base import (
    DocumentSpec,
    Envelope,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    Signer,
    WebhookEvent,
)
from booking.adapters.esign.builtin import BuiltinESignProvider
from booking.domain.signing import Decision
from booking.features.documents.endpoints import build_signing_router
from tests.support.esign_tables import builtin_ddl, execute_all

pytestmark = pytest.mark.integration

SECRET = "integration-test-esign-secret-0123456789"
BASE = "http://127.0.0.1:8000"
PEER = "203.0.113.7"
SIGNER = Signer("guest-42", "Ada <Guest>", "ada@example.com")
RENTAL = DocumentSpec("rental", "Rental agreement", "Rent: 100 €/h.\nNo parties.".encode())
WAIVER = DocumentSpec("waiver", "Waiver <b>", b"<script>alert('x')</script> I waive.")


@dataclass
class Clock:
    now: datetime = field(default_factory=lambda: datetime.now(UTC).replace(microsecond=0))

    def __call__(self) -> datetime:
        return self.now

    def advance(self, delta: timedelta) -> None:
        self.now += delta


@dataclass
class Setup:
    provider: BuiltinESignProvider
    clock: Clock
    events: list[WebhookEvent]
    prefix: str
    pool: asyncpg.Pool

    def table(self, name: str) -> str:
        return f"booking.{self.prefix}{name}"


@pytest.fixture
async def esign(booking_pool: asyncpg.Pool) -> AsyncIterator[Setup]:
    prefix = f"t{uuid.uuid4().hex[:10]}_esign_"
    create_tables, drop_tables = builtin_ddl(prefix)
    await execute_all(booking_pool, create_tables)
    clock = Clock()
    events: list[WebhookEvent] = []

    async def on_event(event: WebhookEvent) -> None:
        events.append(event)

    provider = BuiltinESignProvider(
        booking_pool,
        public_base_url=BASE,
        secret=SECRET,
        table_prefix=prefix,
        on_event=on_event,
        clock=clock,
    )
    try:
        yield Setup(provider, clock, events, prefix, booking_pool)
    finally:
        await execute_all(booking_pool, drop_tables)


def client_for(provider: BuiltinESignProvider, hops: int = 0) -> httpx.AsyncClient:
    app = FastAPI()
    app.include_router(build_signing_router(provider, forwarded_for_hops=hops))
    transport = httpx.ASGITransport(app=app, client=(PEER, 50123))
    return httpx.AsyncClient(transport=transport, base_url=BASE)


@pytest.fixture
async def web(esign: Setup) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(esign.provider) as client:
        yield client


async def create(esign: Setup, key: str | None = None, **overrides: object) -> Envelope:
    args: dict[str, object] = {
        "envelope_key": key or f"booking:esign:{uuid.uuid4()}",
        "signer": SIGNER,
        "documents": [RENTAL, WAIVER],
        "metadata": {"booking_id": "bk_1"},
        "expires_at": esign.clock.now + timedelta(minutes=15),
    }
    args.update(overrides)
    return await esign.provider.create_envelope(**args)  # type: ignore[arg-type]


def link(envelope: Envelope) -> tuple[str, str]:
    assert envelope.signing_url is not None
    url = urlsplit(envelope.signing_url)
    return url.path, parse_qs(url.query)["token"][0]


async def post(
    web: httpx.AsyncClient,
    path: str,
    token: str,
    action: str,
    *,
    digest: str | None = None,
    user_agent: str = "pytest-browser/1.0",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    form = {"action": action, "token": token}
    if digest is not None:
        form["digest"] = digest
    return await web.post(path, data=form, headers={"User-Agent": user_agent, **(headers or {})})


# -- create ------------------------------------------------------------------------------------
async def test_create_is_idempotent_on_the_envelope_key(esign: Setup) -> None:
    first = await create(esign, "booking:esign:idem")
    assert first.provider == "builtin" and first.status is EnvelopeStatus.SENT
    assert first.documents == ("rental", "waiver")
    assert first.signing_url is not None
    assert first.signing_url.startswith(f"{BASE}/sign/{first.envelope_id}?token=")
    again = await create(esign, "booking:esign:idem")
    assert again == first
    racing = await asyncio.gather(*(create(esign, "booking:esign:race") for _ in range(5)))
    assert len({e.envelope_id for e in racing}) == 1
    count = await esign.pool.fetchval(f"SELECT count(*) FROM {esign.table('envelopes')}")
    assert count == 2
    with pytest.raises(ESignError) as caught:
        await create(esign, "booking:esign:idem", documents=[RENTAL])
    assert caught.value.code == ESignErrorCode.IDEMPOTENCY_CONFLICT
    with pytest.raises(ESignError) as caught:
        await create(esign, expires_at=esign.clock.now - timedelta(seconds=1))
    assert caught.value.code == ESignErrorCode.INVALID_REQUEST
    with pytest.raises(ESignError) as caught:
        await esign.provider.get_status("env_missing")
    assert caught.value.code == ESignErrorCode.ENVELOPE_NOT_FOUND


# -- the page ----------------------------------------------------------------------------------
async def test_page_shows_escaped_documents_for_a_valid_token(
    esign: Setup, web: httpx.AsyncClient
) -> None:
    envelope = await create(esign)
    path, token = link(envelope)
    response = await web.get(path, params={"token": token})
    assert response.status_code == 200
    html = response.text
    assert "Ada &lt;Guest&gt;" in html
    assert "Rental agreement" in html and "Rent: 100 €/h." in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<script>" not in html and "Waiver &lt;b&gt;" in html
    assert hashlib.sha256(WAIVER.content).hexdigest() in html
    assert 'value="sign"' in html and 'value="decline"' in html
    assert response.headers["x-frame-options"] == "DENY"
    assert response.headers["referrer-policy"] == "same-origin"  # the token stays here
    assert response.headers["cache-control"] == "no-store"


async def test_bad_tokens_get_403(esign: Setup, web: httpx.AsyncClient) -> None:
    envelope = await create(esign)
    other = await create(esign)
    path, token = link(envelope)
    _, other_token = link(other)
    for params in ({}, {"token": "nope"}, {"token": other_token}, {"token": token[:-2] + "xx"}):
        response = await web.get(path, params=params)
        assert response.status_code == 403, params
        assert "Link not valid" in response.text
    assert (await post(web, path, other_token, "sign")).status_code == 403
    assert (await post(web, path, "", "decline")).status_code == 403
    assert (await web.get("/sign/env_unknown", params={"token": token})).status_code == 403
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.SENT
    assert esign.events == []


async def test_a_form_another_site_made_the_browser_post_is_refused(
    esign: Setup, web: httpx.AsyncClient
) -> None:
    """The link's token is the capability, but a page that learned it must not sign in the
    signer's browser: a form the browser says came from elsewhere is refused and decides
    nothing; the page's own form (same origin) still signs."""
    envelope = await create(esign)
    path, token = link(envelope)
    for headers in (
        {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        {"Sec-Fetch-Site": "same-site"},  # another port of the same host
        {"Origin": "null"},  # a sandboxed frame or a data: page
        {"Referer": "https://evil.example/page"},
    ):
        refused = await post(web, path, token, "sign", headers=headers)
        assert refused.status_code == 403, headers
        assert "Not sent from this page" in refused.text
        assert refused.headers["content-type"].startswith("text/html")
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.SENT
    assert esign.events == []
    # The browser's own word decides: a page that sends no referrer posts with `Origin: null`.
    own = {"Sec-Fetch-Site": "same-origin", "Origin": "null"}
    signed = await post(web, path, token, "sign", headers=own)
    assert signed.status_code == 200, signed.text
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.SIGNED


async def test_behind_a_proxy_the_public_address_is_the_pages_own(esign: Setup) -> None:
    """A browser without `Sec-Fetch-Site` names the origin the link had (BOOKING_PUBLIC_BASE_URL),
    while a proxy may have handed the request another `Host`."""
    app = FastAPI()
    app.include_router(build_signing_router(esign.provider, public_base_url=BASE))
    transport = httpx.ASGITransport(app=app, client=(PEER, 50123))
    async with httpx.AsyncClient(transport=transport, base_url="http://booking:8000") as web:
        envelope = await create(esign)
        path, token = link(envelope)
        elsewhere = await post(web, path, token, "sign", headers={"Origin": "http://evil.example"})
        assert elsewhere.status_code == 403
        signed = await post(web, path, token, "sign", headers={"Origin": BASE})
        assert signed.status_code == 200, signed.text


# -- sign --------------------------------------------------------------------------------------
async def test_signing_records_the_evidence_and_notifies(
    esign: Setup, web: httpx.AsyncClient
) -> None:
    envelope = await create(esign, "booking:esign:sign-me")
    path, token = link(envelope)
    page = await web.get(path, params={"token": token})
    digest = page.text.split('name="digest" value="')[1].split('"')[0]
    response = await post(web, path, token, "sign", digest=digest, user_agent="Firefox/999")
    assert response.status_code == 200 and "Signed" in response.text
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.SIGNED

    assert [(e.envelope_id, e.status) for e in esign.events] == [
        (envelope.envelope_id, EnvelopeStatus.SIGNED)
    ]
    event = esign.events[0]
    assert event.occurred_at == esign.clock.now
    assert event.raw["metadata"] == {"booking_id": "bk_1"}
    assert event.raw["envelope_key"] == "booking:esign:sign-me"
    assert event.raw["signer_id"] == "guest-42"

    rows = await esign.pool.fetch(
        f"SELECT document_id, signer_id, signed_at, signer_ip, user_agent, sha256 "
        f"FROM {esign.table('signatures')} WHERE envelope_id = $1 ORDER BY document_id",
        envelope.envelope_id,
    )
    assert [dict(r) for r in rows] == [
        {
            "document_id": doc.document_id,
            "signer_id": "guest-42",
            "signed_at": esign.clock.now,
            "signer_ip": PEER,
            "user_agent": "Firefox/999",
            "sha256": hashlib.sha256(doc.content).hexdigest(),
        }
        for doc in (RENTAL, WAIVER)
    ]
    notified = await esign.pool.fetchval(
        f"SELECT notified_at FROM {esign.table('envelopes')} WHERE envelope_id = $1",
        envelope.envelope_id,
    )
    assert notified is not None

    signed = await esign.provider.fetch_signed_document(envelope.envelope_id, "waiver")
    assert signed.content == WAIVER.content
    assert signed.sha256 == hashlib.sha256(WAIVER.content).hexdigest()
    assert (signed.signer_id, signed.signer_ip, signed.signed_at) == (
        "guest-42",
        PEER,
        esign.clock.now,
    )
    with pytest.raises(ESignError) as caught:
        await esign.provider.fetch_signed_document(envelope.envelope_id, "nope")
    assert caught.value.code == ESignErrorCode.DOCUMENT_NOT_FOUND

    # Afterwards: a status page; a double submit is harmless; a late decline conflicts.
    again = await web.get(path, params={"token": token})
    assert again.status_code == 200 and "Already signed" in again.text
    assert (await post(web, path, token, "sign")).status_code == 200
    assert (await post(web, path, token, "decline")).status_code == 409
    assert len(esign.events) == 1
    # The replayed create reports the outcome and no longer offers a link.
    replay = await create(esign, "booking:esign:sign-me")
    assert (replay.status, replay.signing_url) == (EnvelopeStatus.SIGNED, None)


async def test_stale_digest_refuses_to_sign(esign: Setup, web: httpx.AsyncClient) -> None:
    envelope = await create(esign)
    path, token = link(envelope)
    response = await post(web, path, token, "sign", digest="0" * 64)
    assert response.status_code == 409
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.SENT
    assert (await post(web, path, token, "approve")).status_code == 400
    bad_type = await web.post(path, json={"action": "sign", "token": token})
    assert bad_type.status_code == 415
    assert esign.events == []


async def test_a_form_with_both_decisions_decides_nothing(
    esign: Setup, web: httpx.AsyncClient
) -> None:
    """`action=sign&action=decline` is refused whole, not read as its last value."""
    envelope = await create(esign)
    path, token = link(envelope)
    for actions in (["sign", "decline"], ["decline", "sign"], ["decline", "decline"]):
        response = await web.post(path, data={"action": actions, "token": token})
        assert response.status_code == 400 and "once" in response.text, response.text
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.SENT
    assert esign.events == []
    assert (await post(web, path, token, "sign")).status_code == 200


async def test_x_forwarded_for_only_counts_when_configured(esign: Setup) -> None:
    plain, proxied = await create(esign), await create(esign)
    headers = {"X-Forwarded-For": "6.6.6.6, 198.51.100.20"}
    async with client_for(esign.provider) as web:
        path, token = link(plain)
        assert (await post(web, path, token, "sign", headers=headers)).status_code == 200
    async with client_for(esign.provider, hops=1) as web:
        path, token = link(proxied)
        assert (await post(web, path, token, "sign", headers=headers)).status_code == 200
    one = await esign.provider.fetch_signed_document(plain.envelope_id, "rental")
    two = await esign.provider.fetch_signed_document(proxied.envelope_id, "rental")
    assert (one.signer_ip, two.signer_ip) == (PEER, "198.51.100.20")


# -- decline, void, expiry ---------------------------------------------------------------------
async def test_decline(esign: Setup, web: httpx.AsyncClient) -> None:
    envelope = await create(esign)
    path, token = link(envelope)
    response = await post(web, path, token, "decline")
    assert response.status_code == 200 and "Declined" in response.text
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.DECLINED
    assert [e.status for e in esign.events] == [EnvelopeStatus.DECLINED]
    count = await esign.pool.fetchval(f"SELECT count(*) FROM {esign.table('signatures')}")
    assert count == 0
    row = await esign.pool.fetchrow(
        f"SELECT decided_ip, decided_user_agent FROM {esign.table('envelopes')} "
        "WHERE envelope_id = $1",
        envelope.envelope_id,
    )
    assert dict(row) == {"decided_ip": PEER, "decided_user_agent": "pytest-browser/1.0"}
    with pytest.raises(ESignError) as caught:
        await esign.provider.fetch_signed_document(envelope.envelope_id, "rental")
    assert caught.value.code == ESignErrorCode.NOT_SIGNED
    assert (await post(web, path, token, "sign")).status_code == 409
    assert "Declined" in (await web.get(path, params={"token": token})).text


async def test_void(esign: Setup, web: httpx.AsyncClient) -> None:
    envelope = await create(esign)
    path, token = link(envelope)
    assert await esign.provider.void_envelope(envelope.envelope_id, "hold expired") == "voided"
    assert await esign.provider.void_envelope(envelope.envelope_id, "again") == "voided"
    assert [e.status for e in esign.events] == [EnvelopeStatus.VOIDED]
    assert "Cancelled" in (await web.get(path, params={"token": token})).text
    assert (await post(web, path, token, "sign")).status_code == 409
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.VOIDED


async def test_expiry(esign: Setup, web: httpx.AsyncClient) -> None:
    expires_at = esign.clock.now + timedelta(minutes=15)
    envelope = await create(esign, "booking:esign:expiring", expires_at=expires_at)
    path, token = link(envelope)
    esign.clock.advance(timedelta(minutes=15))
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.EXPIRED
    page = await web.get(path, params={"token": token})
    assert page.status_code == 200 and "Expired" in page.text
    late = await post(web, path, token, "sign")
    assert late.status_code == 409 and "Expired" in late.text
    assert [(e.status, e.occurred_at) for e in esign.events] == [
        (EnvelopeStatus.EXPIRED, expires_at)
    ]
    count = await esign.pool.fetchval(f"SELECT count(*) FROM {esign.table('signatures')}")
    assert count == 0
    replay = await create(esign, "booking:esign:expiring", expires_at=expires_at)
    assert (replay.envelope_id, replay.status, replay.signing_url) == (
        envelope.envelope_id,
        EnvelopeStatus.EXPIRED,
        None,
    )
    # The link itself outlives the envelope by link_grace (7 days), then is refused.
    esign.clock.advance(timedelta(days=7))
    assert (await web.get(path, params={"token": token})).status_code == 403


async def test_reconcile_expires_and_redelivers(esign: Setup, web: httpx.AsyncClient) -> None:
    overdue = await create(esign)
    esign.clock.advance(timedelta(minutes=16))
    assert await esign.provider.reconcile() == 1
    assert [(e.envelope_id, e.status) for e in esign.events] == [
        (overdue.envelope_id, EnvelopeStatus.EXPIRED)
    ]
    assert await esign.provider.reconcile() == 0

    # The callback fails: the signature stands, the event is redelivered later.
    failing = True

    async def flaky(event: WebhookEvent) -> None:
        if failing:
            raise RuntimeError("booking is down")
        esign.events.append(event)

    esign.provider.register_callback(flaky)
    envelope = await create(esign)
    path, token = link(envelope)
    assert (await post(web, path, token, "sign")).status_code == 200
    assert await esign.provider.get_status(envelope.envelope_id) is EnvelopeStatus.SIGNED
    failing = False
    assert await esign.provider.reconcile() == 0  # within redelivery_grace
    esign.clock.advance(timedelta(seconds=31))
    assert await esign.provider.reconcile() == 1
    assert esign.events[-1].envelope_id == envelope.envelope_id
    assert esign.events[-1].status is EnvelopeStatus.SIGNED
    assert await esign.provider.reconcile() == 0


async def test_decide_directly_is_one_transaction_under_races(esign: Setup) -> None:
    envelope = await create(esign)
    outcomes = await asyncio.gather(
        *(
            esign.provider.decide(
                envelope.envelope_id,
                Decision.SIGN if i % 2 else Decision.DECLINE,
                client_ip="192.0.2.1",
                user_agent="race",
            )
            for i in range(6)
        )
    )
    assert sum(o.applied for o in outcomes) == 1
    final = await esign.provider.get_status(envelope.envelope_id)
    assert {o.status for o in outcomes} == {final}
    assert len(esign.events) == 1 and esign.events[0].status is final
