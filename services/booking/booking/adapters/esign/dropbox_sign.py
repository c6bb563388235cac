"""Dropbox Sign (formerly HelloSign) REST API v3 adapter.

Calls (HTTP basic auth, the API key as username, empty password):
- ``POST /signature_request/send`` (multipart: ``title``, ``subject``, ``message``,
  ``signers[0][email_address|name]``, ``files[i]``, ``metadata[k]``, ``test_mode``,
  ``allow_decline=1``, ``signing_options[...]``, ``expires_at`` (unix seconds));
- ``GET /signature_request/{id}`` (status: ``is_complete`` → signed, ``is_declined`` →
  declined, ``expires_at`` passed → expired, 410 Gone → voided);
- ``GET /signature_request/files/{id}?file_type=pdf`` (the signed PDF; Dropbox Sign merges all
  of a request's documents into that one file);
- ``POST /signature_request/cancel/{id}`` (void; asynchronous at Dropbox Sign, confirmed by a
  ``signature_request_canceled`` callback);
- ``GET /signature_request/list`` (recovery, see below).

Expiry: Dropbox Sign accepts ``expires_at`` only 1-90 days ahead (rounded down to the hour), but
a checkout lasts minutes. The request is sent with at least a day (`provider_expiry`) and the
caller's deadline is kept in the map table: `get_status` reads EXPIRED past it; void the
envelope then so the signer cannot sign late.

Callbacks: Dropbox Sign POSTs a form whose ``json`` field holds ``{"event": {"event_time",
"event_type", "event_hash", ...}, "signature_request": {...}}``. Authentic when ``event_hash ==
hex(HMAC-SHA256(key=api_key, msg=event_time + event_type))``; the receiver must answer 200 with
the body `CALLBACK_ACK` or Dropbox Sign retries. That hash does not cover the signature request,
so by default (``confirm_events``) the status of a terminal event is re-read from the API
(`get_status`). A receiver answers `WebhookVerificationError` with 400, a retryable `ESignError`
(API unreachable) with 503 so that Dropbox Sign retries, anything else with `CALLBACK_ACK`.

Idempotency: Dropbox Sign has no idempotency keys. ``<prefix>dropbox_sign_requests`` (see
`dropbox_sign_tables`) maps ``envelope_key`` → ``signature_request_id``: a key is claimed
(state ``pending``) before the send and recorded (``sent``) after it, so a retry returns the
recorded request. Residual risk: when the send's outcome is unknown (timeout, connection lost
mid-request, 5xx) the row stays ``pending``. The adapter then looks for the request by its
``metadata[envelope_key]`` in the most recent page of ``/signature_request/list`` and adopts it
if found; if not (not listed yet, or on a later page) a retry after ``pending_lease`` sends
again, which can create a duplicate request (the signer gets two emails; the orphan's callbacks
name an unknown envelope and can be ignored, and it can be found by its metadata and
cancelled). Calls that are retried concurrently within the lease get ``IN_PROGRESS``
(retryable).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote

import asyncpg
import httpx

from booking.adapters.esign._multipart import boundary_of, parse_multipart
from booking.adapters.esign._sql import identifier
from booking.adapters.esign._sql import table_prefix as check_prefix
from booking.adapters.esign.base import (
    DocumentSpec,
    Envelope,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    SignatureAudit,
    SignedDocument,
    Signer,
    WebhookEvent,
    WebhookVerificationError,
    request_fingerprint,
    sha256_hex,
    validate_request,
)

log = logging.getLogger("booking.esign.dropbox_sign")

PROVIDER = "dropbox_sign"
DEFAULT_BASE_URL = "https://api.hellosign.com/v3"
CALLBACK_ACK = "Hello API Event Received"
ENVELOPE_KEY_METADATA = "envelope_key"
MAX_METADATA_KEYS = 10  # Dropbox Sign's limits
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500
# Dropbox Sign takes expires_at 1-90 days ahead and rounds it down to the hour.
MIN_PROVIDER_EXPIRY = timedelta(days=1)
MAX_EXPIRY = timedelta(days=89)

EVENT_STATUS: dict[str, EnvelopeStatus] = {
    "signature_request_all_signed": EnvelopeStatus.SIGNED,
    "signature_request_signed": EnvelopeStatus.SIGNED,  # one signer per envelope: all signed
    "signature_request_declined": EnvelopeStatus.DECLINED,
    "signature_request_expired": EnvelopeStatus.EXPIRED,
    "signature_request_canceled": EnvelopeStatus.VOIDED,
}
FILE_EXTENSIONS = {
    "text/plain": ".txt",
    "application/pdf": ".pdf",
    "text/html": ".html",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


# -- DDL ---------------------------------------------------------------------------------------
def dropbox_sign_tables(schema: str = "booking", prefix: str = "esign_") -> list[str]:
    """CREATE statements of the adapter's idempotency map ``<prefix>dropbox_sign_requests``."""
    s, p = identifier(schema, "schema"), check_prefix(prefix)
    return [
        f"""CREATE TABLE {s}.{p}dropbox_sign_requests (
    envelope_key         text PRIMARY KEY,
    request_hash         text NOT NULL,
    state                text NOT NULL CHECK (state IN ('pending', 'sent')),
    signature_request_id text UNIQUE,
    signing_url          text,
    signer_id            text NOT NULL,
    document_ids         jsonb NOT NULL,
    expires_at           timestamptz NOT NULL,
    attempts             integer NOT NULL DEFAULT 1,
    claimed_at           timestamptz NOT NULL,
    sent_at              timestamptz,
    CHECK ((state = 'sent') = (signature_request_id IS NOT NULL))
)"""
    ]


def drop_dropbox_sign_tables(schema: str = "booking", prefix: str = "esign_") -> list[str]:
    s, p = identifier(schema, "schema"), check_prefix(prefix)
    return [f"DROP TABLE IF EXISTS {s}.{p}dropbox_sign_requests"]


# -- pure helpers ------------------------------------------------------------------------------
def event_hash(api_key: str, event_time: str, event_type: str) -> str:
    """Dropbox Sign's callback hash: hex HMAC-SHA256, key = API key, msg = time + type."""
    return hmac.new(
        api_key.encode(), (event_time + event_type).encode(), hashlib.sha256
    ).hexdigest()


def status_of_event(event_type: str) -> EnvelopeStatus:
    """Terminal events map to their status; anything else (sent, viewed, ...) reads SENT."""
    return EVENT_STATUS.get(event_type, EnvelopeStatus.SENT)


def status_of_request(request: Mapping[str, Any], now: datetime) -> EnvelopeStatus:
    """A ``signature_request`` object's status."""
    if request.get("is_complete"):
        return EnvelopeStatus.SIGNED
    if request.get("is_declined"):
        return EnvelopeStatus.DECLINED
    signatures = request.get("signatures") or []
    if any(s.get("status_code") == "declined" for s in signatures):
        return EnvelopeStatus.DECLINED
    expires_at = request.get("expires_at")
    if expires_at is not None and now.timestamp() >= int(expires_at):
        return EnvelopeStatus.EXPIRED
    if any(s.get("status_code") == "expired" for s in signatures):
        return EnvelopeStatus.EXPIRED
    return EnvelopeStatus.SENT


def extract_callback_payload(body: bytes, headers: Mapping[str, str]) -> dict[str, Any]:
    """The JSON of a callback: the ``json`` field of a multipart or urlencoded form (what
    Dropbox Sign sends), or a bare JSON body."""
    content_type = next((v for k, v in headers.items() if k.lower() == "content-type"), "")
    text: str | None
    try:
        boundary = boundary_of(content_type)
        if boundary is not None:
            fields = {p.name: p.data for p in parse_multipart(body, boundary)}
            raw = fields.get("json")
            text = raw.decode() if raw is not None else None
        elif content_type.lower().startswith("application/x-www-form-urlencoded"):
            values = parse_qs(body.decode(), max_num_fields=50).get("json")
            text = values[0] if values else None
        else:
            text = body.decode()
        if text is None:
            raise WebhookVerificationError("callback has no json field")
        payload = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise WebhookVerificationError(f"unparseable callback: {exc}") from exc
    if not isinstance(payload, dict):
        raise WebhookVerificationError("callback json is not an object")
    return payload


def verify_callback(api_key: str, payload: Mapping[str, Any]) -> tuple[str, str]:
    """Checks ``event.event_hash``; returns (event_time, event_type)."""
    event = payload.get("event")
    if not isinstance(event, dict):
        raise WebhookVerificationError("callback without an event")
    event_time, event_type = str(event.get("event_time", "")), str(event.get("event_type", ""))
    given = str(event.get("event_hash", ""))
    if not event_time or not event_type or not given:
        raise WebhookVerificationError("event without event_time, event_type or event_hash")
    expected = event_hash(api_key, event_time, event_type)
    if not hmac.compare_digest(given.lower().encode(), expected.encode()):
        raise WebhookVerificationError("event_hash mismatch")
    return event_time, event_type


def provider_expiry(expires_at: datetime, now: datetime) -> int:
    """The ``expires_at`` (unix seconds) to send: Dropbox Sign needs 1-90 days ahead and rounds
    down to the hour, while checkouts want minutes. So it gets at least a day, rounded up to a
    full hour (never earlier than the caller's deadline); the caller's own deadline is kept
    locally and enforced by `DropboxSignProvider.get_status`."""
    if expires_at - now > MAX_EXPIRY:
        raise ESignError(
            ESignErrorCode.INVALID_REQUEST,
            f"Dropbox Sign envelopes expire at most {MAX_EXPIRY.days} days ahead",
        )
    target = int(max(expires_at, now + MIN_PROVIDER_EXPIRY).timestamp())
    return -(-target // 3600) * 3600


def validate_metadata(metadata: Mapping[str, str]) -> None:
    def bad(message: str) -> ESignError:
        return ESignError(ESignErrorCode.INVALID_REQUEST, f"Dropbox Sign metadata: {message}")

    if ENVELOPE_KEY_METADATA in metadata:
        raise bad(f"{ENVELOPE_KEY_METADATA!r} is reserved")
    if len(metadata) > MAX_METADATA_KEYS - 1:
        raise bad(f"at most {MAX_METADATA_KEYS - 1} keys")
    for key, value in metadata.items():
        if not key or len(key) > MAX_METADATA_KEY_LENGTH:
            raise bad(f"keys are 1-{MAX_METADATA_KEY_LENGTH} characters: {key!r}")
        if not isinstance(value, str) or len(value) > MAX_METADATA_VALUE_LENGTH:
            raise bad(f"values are strings of at most {MAX_METADATA_VALUE_LENGTH} characters")


def file_name(document: DocumentSpec) -> str:
    """Dropbox Sign infers the file type from the name's extension."""
    content_type = document.content_type.split(";")[0].strip().lower()
    extension = FILE_EXTENSIONS.get(content_type)
    if extension is None:
        raise ESignError(
            ESignErrorCode.INVALID_REQUEST,
            f"Dropbox Sign cannot take documents of type {document.content_type!r}",
        )
    stem = re.sub(r"[^A-Za-z0-9._-]+", "_", document.document_id).strip("._") or "document"
    return f"{stem[:100]}{extension}"


def send_form(
    *,
    envelope_key: str,
    signer: Signer,
    documents: list[DocumentSpec],
    metadata: Mapping[str, str],
    provider_expires_at: int,
    test_mode: bool,
) -> tuple[dict[str, str], list[tuple[str, tuple[str, bytes, str]]]]:
    """Fields and files of ``POST /signature_request/send`` (see `provider_expiry`)."""
    titles = ", ".join(d.title for d in documents)
    title = titles if len(titles) <= 255 else titles[:252] + "..."
    fields: dict[str, str] = dict(
        [
            ("title", title),
            ("subject", f"Please sign: {title}"[:255]),
            ("message", "Please review and sign these documents to complete your booking."),
            ("signers[0][email_address]", signer.email),
            ("signers[0][name]", signer.name),
            ("test_mode", "1" if test_mode else "0"),
            ("allow_decline", "1"),
            ("signing_options[draw]", "1"),
            ("signing_options[type]", "1"),
            ("signing_options[upload]", "1"),
            ("signing_options[phone]", "0"),
            ("signing_options[default_type]", "type"),
            ("expires_at", str(provider_expires_at)),
            (f"metadata[{ENVELOPE_KEY_METADATA}]", envelope_key),
            *((f"metadata[{k}]", v) for k, v in sorted(metadata.items())),
        ]
    )
    files = [
        (f"files[{i}]", (file_name(d), d.content, d.content_type)) for i, d in enumerate(documents)
    ]
    return fields, files


class DropboxSignAPIError(ESignError):
    """A failed API call. `ambiguous`: the request may have taken effect (timeout, 5xx)."""

    def __init__(
        self,
        code: str,
        message: str,
        retryable: bool,
        *,
        http_status: int | None = None,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(code, message, retryable)
        self.http_status = http_status
        self.ambiguous = ambiguous


@dataclass(frozen=True)
class _Claim:
    action: str  # "send" | "recover" | "done"
    claimed_at: datetime | None = None
    envelope: Envelope | None = None


class DropboxSignProvider:
    """`ESignProvider` over Dropbox Sign's API v3, with the idempotency map in PostgreSQL."""

    name = PROVIDER

    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        api_key: str,
        base_url: str = DEFAULT_BASE_URL,
        schema: str = "booking",
        table_prefix: str = "esign_",
        test_mode: bool = True,
        confirm_events: bool = True,
        pending_lease: timedelta = timedelta(seconds=120),
        timeout: float = 30.0,
        client: httpx.AsyncClient | None = None,
        clock: Clock = utc_now,
    ) -> None:
        if not api_key:
            raise ValueError("Dropbox Sign needs an API key")
        self._pool = pool
        self._api_key = api_key
        self._test_mode = test_mode
        self._confirm_events = confirm_events
        self._pending_lease = pending_lease
        self._clock = clock
        self._own_client = client is None
        self._http = client or httpx.AsyncClient(timeout=timeout)
        self._base = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(api_key, "")
        self._table = (
            f"{identifier(schema, 'schema')}.{check_prefix(table_prefix)}dropbox_sign_requests"
        )

    async def aclose(self) -> None:
        if self._own_client:
            await self._http.aclose()

    # -- HTTP ----------------------------------------------------------------------------------
    async def _call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: dict[str, str] | None = None,
        files: list[tuple[str, tuple[str, bytes, str]]] | None = None,
    ) -> httpx.Response:
        """Raises ESignError for every failure; ``retryable`` when trying again may help. A
        network failure after the request may have been sent carries ``ambiguous=True``."""
        try:
            # httpx sends multipart/form-data when files are given.
            response = await self._http.request(
                method,
                f"{self._base}{path}",
                params=params,
                data=data,
                files=files,
                auth=self._auth,
                headers={"Accept": "application/json"},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            message = f"Dropbox Sign unreachable: {exc!r}"
            raise _error(ESignErrorCode.UNAVAILABLE, message, True) from exc
        except httpx.HTTPError as exc:
            message = f"Dropbox Sign call failed: {exc!r}"
            raise _error(ESignErrorCode.UNAVAILABLE, message, True, ambiguous=True) from exc
        if response.status_code < 400:
            return response
        raise _api_error(response)

    async def _get_request(self, signature_request_id: str) -> dict[str, Any]:
        response = await self._call(
            "GET", f"/signature_request/{quote(signature_request_id, safe='')}"
        )
        return _signature_request(response)

    # -- ESignProvider -------------------------------------------------------------------------
    async def create_envelope(
        self,
        *,
        envelope_key: str,
        signer: Signer,
        documents: list[DocumentSpec],
        metadata: dict[str, str],
        expires_at: datetime,
    ) -> Envelope:
        validate_request(envelope_key, signer, documents, expires_at)
        validate_metadata(metadata)
        now = self._clock()
        fingerprint = request_fingerprint(signer, documents, metadata, expires_at)
        if expires_at <= now:  # only a replay may name a past deadline
            recorded = await self._recorded(envelope_key, fingerprint)
            if recorded is not None:
                return await self._current(recorded)
            raise ESignError(ESignErrorCode.INVALID_REQUEST, "expires_at is in the past")
        fields, files = send_form(
            envelope_key=envelope_key,
            signer=signer,
            documents=documents,
            metadata=metadata,
            provider_expires_at=provider_expiry(expires_at, now),
            test_mode=self._test_mode,
        )
        doc_ids = [d.document_id for d in documents]
        claim = await self._claim(envelope_key, fingerprint, signer.signer_id, doc_ids, expires_at)
        if claim.envelope is not None:
            return await self._current(claim.envelope)
        assert claim.claimed_at is not None
        if claim.action == "recover":
            found = await self._find_sent(envelope_key)
            if found is not None:
                return await self._record(envelope_key, claim.claimed_at, found, doc_ids)
        try:
            response = await self._call("POST", "/signature_request/send", data=fields, files=files)
            request = _signature_request(response)
        except ESignError as exc:
            if not (isinstance(exc, DropboxSignAPIError) and exc.ambiguous):
                await self._release(envelope_key, claim.claimed_at)  # nothing was created
                raise
            log.warning("send of %s had an unknown outcome: %s", envelope_key, exc.message)
            found = await self._find_sent(envelope_key)
            if found is None:
                raise  # stays pending; a retry after pending_lease looks again, then resends
            return await self._record(envelope_key, claim.claimed_at, found, doc_ids)
        return await self._record(envelope_key, claim.claimed_at, request, doc_ids)

    async def get_status(self, envelope_id: str) -> EnvelopeStatus:
        """Dropbox Sign's status, except that an unsigned envelope past the caller's
        ``expires_at`` reads EXPIRED (Dropbox Sign itself expires it a day or more later, see
        `provider_expiry`; `void_envelope` stops a late signature)."""
        status = await self._api_status(envelope_id)
        if status is EnvelopeStatus.SENT:
            deadline = await self._pool.fetchval(
                f"SELECT expires_at FROM {self._table} WHERE signature_request_id = $1",
                envelope_id,
            )
            if deadline is not None and self._clock() >= deadline:
                return EnvelopeStatus.EXPIRED
        return status

    async def _api_status(self, envelope_id: str) -> EnvelopeStatus:
        try:
            request = await self._get_request(envelope_id)
        except DropboxSignAPIError as exc:
            if exc.http_status == 410:  # cancelled requests are "deleted"
                return EnvelopeStatus.VOIDED
            raise
        return status_of_request(request, self._clock())

    async def parse_webhook(self, body: bytes, headers: Mapping[str, str]) -> WebhookEvent:
        """Verify and parse a callback. Answer it with 200 and `CALLBACK_ACK` once handled."""
        payload = extract_callback_payload(body, headers)
        event_time, event_type = verify_callback(self._api_key, payload)
        request = payload.get("signature_request")
        envelope_id = (
            str(request.get("signature_request_id", "")) if isinstance(request, dict) else ""
        )
        try:
            occurred_at = datetime.fromtimestamp(int(event_time), UTC)
        except (ValueError, OverflowError, OSError) as exc:
            raise WebhookVerificationError(f"bad event_time {event_time!r}") from exc
        status = status_of_event(event_type)
        if status.terminal and not envelope_id:
            raise WebhookVerificationError(f"{event_type} without a signature_request")
        raw = dict(payload)
        raw["event_type"] = event_type
        if status.terminal and self._confirm_events:
            # The hash authenticates only time + type, not which request: ask the API.
            confirmed = await self.get_status(envelope_id)
            if confirmed is not status:
                log.warning(
                    "callback %s for %s but the API says %s", event_type, envelope_id, confirmed
                )
            raw["confirmed_status"] = str(confirmed)
            status = confirmed
        return WebhookEvent(envelope_id, status, occurred_at, raw)

    async def fetch_signed_document(self, envelope_id: str, document_id: str) -> SignedDocument:
        """The signed PDF of the whole request (Dropbox Sign merges every document into one
        file), for any `document_id` of the envelope. The signer's IP is only in Dropbox Sign's
        audit trail (inside the PDF): `signer_ip` is None."""
        row = await self._pool.fetchrow(
            f"SELECT signer_id, document_ids FROM {self._table} WHERE signature_request_id = $1",
            envelope_id,
        )
        if row is None:
            raise ESignError(
                ESignErrorCode.ENVELOPE_NOT_FOUND, f"no envelope {envelope_id} was sent from here"
            )
        if document_id not in json.loads(row["document_ids"]):
            raise ESignError(
                ESignErrorCode.DOCUMENT_NOT_FOUND,
                f"envelope {envelope_id} has no document {document_id!r}",
            )
        request = await self._get_request(envelope_id)
        status = status_of_request(request, self._clock())
        if status is not EnvelopeStatus.SIGNED:
            raise ESignError(ESignErrorCode.NOT_SIGNED, f"envelope {envelope_id} is {status}")
        signed_at = max(
            (int(s["signed_at"]) for s in request.get("signatures", []) if s.get("signed_at")),
            default=None,
        )
        response = await self._call(
            "GET",
            f"/signature_request/files/{quote(envelope_id, safe='')}",
            params={"file_type": "pdf"},
        )
        content = response.content
        return SignedDocument(
            envelope_id,
            document_id,
            content,
            sha256_hex(content),
            datetime.fromtimestamp(signed_at, UTC) if signed_at is not None else self._clock(),
            row["signer_id"],
            None,
        )

    async def audit_trail(self, envelope_id: str) -> list[SignatureAudit]:
        """Per document: the hash of the signed PDF (Dropbox Sign merges every document into
        one file, so one hash for all), the signer and when. Dropbox Sign keeps the signer's IP
        address and browser in its own audit trail inside that PDF, not in its API: they are
        None here."""
        row = await self._pool.fetchrow(
            f"SELECT document_ids FROM {self._table} WHERE signature_request_id = $1",
            envelope_id,
        )
        if row is None:
            raise ESignError(
                ESignErrorCode.ENVELOPE_NOT_FOUND, f"no envelope {envelope_id} was sent from here"
            )
        document_ids: list[str] = json.loads(row["document_ids"])
        signed = await self.fetch_signed_document(envelope_id, document_ids[0])
        return [
            SignatureAudit(
                document_id, "", signed.sha256, signed.signer_id, signed.signed_at, None, None
            )
            for document_id in document_ids
        ]

    async def void_envelope(self, envelope_id: str, reason: str) -> EnvelopeStatus:
        """Cancel the request unless Dropbox Sign already finished it (also when only our own
        deadline has passed). Cancellation is asynchronous at Dropbox Sign: VOIDED here means
        "accepted"; it is confirmed by a ``signature_request_canceled`` callback, after which
        the request answers 410 (VOIDED). `reason` is only logged: the API takes none."""
        status = await self._api_status(envelope_id)
        if status.terminal:
            return status
        try:
            await self._call("POST", f"/signature_request/cancel/{quote(envelope_id, safe='')}")
        except DropboxSignAPIError as exc:
            if exc.http_status not in (400, 409, 410):
                raise
            # Completed (or cancelled) in the meantime: report what it is now.
            return await self._api_status(envelope_id)
        log.info("cancelled Dropbox Sign request %s: %s", envelope_id, reason)
        return EnvelopeStatus.VOIDED

    # -- the idempotency map -------------------------------------------------------------------
    async def _claim(
        self,
        envelope_key: str,
        fingerprint: str,
        signer_id: str,
        doc_ids: list[str],
        expires_at: datetime,
    ) -> _Claim:
        now = self._clock()
        async with self._pool.acquire() as conn, conn.transaction():
            inserted = await conn.fetchval(
                f"INSERT INTO {self._table} (envelope_key, request_hash, state, signer_id, "
                "document_ids, expires_at, claimed_at) "
                "VALUES ($1, $2, 'pending', $3, $4::jsonb, $5, $6) "
                "ON CONFLICT (envelope_key) DO NOTHING RETURNING claimed_at",
                envelope_key,
                fingerprint,
                signer_id,
                json.dumps(doc_ids),
                expires_at,
                now,
            )
            if inserted is not None:
                return _Claim("send", inserted)
            row = await conn.fetchrow(
                f"SELECT * FROM {self._table} WHERE envelope_key = $1 FOR UPDATE", envelope_key
            )
            assert row is not None
            if row["request_hash"] != fingerprint:
                raise ESignError(
                    ESignErrorCode.IDEMPOTENCY_CONFLICT,
                    f"envelope_key {envelope_key!r} was used for a different envelope",
                )
            if row["state"] == "sent":
                return _Claim("done", envelope=self._envelope_of(row, EnvelopeStatus.SENT))
            if row["claimed_at"] > now - self._pending_lease:
                raise ESignError(
                    ESignErrorCode.IN_PROGRESS,
                    f"envelope {envelope_key!r} is being sent; retry later",
                    retryable=True,
                )
            claimed_at = await conn.fetchval(
                f"UPDATE {self._table} SET claimed_at = $2, attempts = attempts + 1 "
                "WHERE envelope_key = $1 RETURNING claimed_at",
                envelope_key,
                now,
            )
            return _Claim("recover", claimed_at)

    async def _current(self, envelope: Envelope) -> Envelope:
        """A replayed envelope with its status now (as sent, if Dropbox Sign cannot say)."""
        try:
            status = await self.get_status(envelope.envelope_id)
        except ESignError as exc:
            log.warning("status of %s unknown on replay: %s", envelope.envelope_id, exc.message)
            return envelope
        signing_url = None if status.terminal else envelope.signing_url
        return replace(envelope, status=status, signing_url=signing_url)

    async def _recorded(self, envelope_key: str, fingerprint: str) -> Envelope | None:
        row = await self._pool.fetchrow(
            f"SELECT * FROM {self._table} WHERE envelope_key = $1 AND state = 'sent'",
            envelope_key,
        )
        if row is None:
            return None
        if row["request_hash"] != fingerprint:
            raise ESignError(
                ESignErrorCode.IDEMPOTENCY_CONFLICT,
                f"envelope_key {envelope_key!r} was used for a different envelope",
            )
        return self._envelope_of(row, EnvelopeStatus.SENT)

    async def _release(self, envelope_key: str, claimed_at: datetime) -> None:
        await self._pool.execute(
            f"DELETE FROM {self._table} WHERE envelope_key = $1 AND state = 'pending' "
            "AND claimed_at = $2",
            envelope_key,
            claimed_at,
        )

    async def _record(
        self,
        envelope_key: str,
        claimed_at: datetime,
        request: Mapping[str, Any],
        doc_ids: list[str],
    ) -> Envelope:
        request_id = str(request["signature_request_id"])
        signing_url = request.get("signing_url")
        async with self._pool.acquire() as conn, conn.transaction():
            row = await conn.fetchrow(
                f"SELECT * FROM {self._table} WHERE envelope_key = $1 FOR UPDATE", envelope_key
            )
            recorded = row is not None and row["state"] == "sent"
            if not recorded:
                await conn.execute(
                    f"UPDATE {self._table} SET state = 'sent', signature_request_id = $2, "
                    "signing_url = $3, sent_at = $4 WHERE envelope_key = $1",
                    envelope_key,
                    request_id,
                    signing_url,
                    self._clock(),
                )
        if recorded:
            assert row is not None
            if row["signature_request_id"] != request_id:
                # Another worker took the key over after our lease ran out, and sent too.
                log.error(
                    "duplicate Dropbox Sign requests for %s: keeping %s, cancelling %s",
                    envelope_key,
                    row["signature_request_id"],
                    request_id,
                )
                await self._cancel_quietly(request_id)
            return self._envelope_of(row, EnvelopeStatus.SENT)
        del claimed_at  # the row is ours whatever its claim: a sent request wins over a claim
        status = status_of_request(request, self._clock())
        return Envelope(
            request_id,
            PROVIDER,
            status,
            None if status.terminal else signing_url,
            tuple(doc_ids),
        )

    async def _find_sent(self, envelope_key: str) -> dict[str, Any] | None:
        """The request carrying ``metadata[envelope_key]`` among the most recent ones, if any."""
        try:
            response = await self._call(
                "GET", "/signature_request/list", params={"page": "1", "page_size": "100"}
            )
        except ESignError as exc:
            log.warning("cannot list Dropbox Sign requests: %s", exc.message)
            return None
        try:
            listed = response.json()["signature_requests"]
            for request in listed:
                if (request.get("metadata") or {}).get(ENVELOPE_KEY_METADATA) == envelope_key:
                    found: dict[str, Any] = request
                    return found
        except (ValueError, KeyError, TypeError, AttributeError):
            log.warning("unexpected Dropbox Sign list response: %.200s", response.text)
        return None

    async def _cancel_quietly(self, request_id: str) -> None:
        try:
            await self._call("POST", f"/signature_request/cancel/{quote(request_id, safe='')}")
        except ESignError as exc:
            log.error("could not cancel duplicate request %s: %s", request_id, exc.message)

    @staticmethod
    def _envelope_of(row: Mapping[str, Any], status: EnvelopeStatus) -> Envelope:
        return Envelope(
            row["signature_request_id"],
            PROVIDER,
            status,
            row["signing_url"],
            tuple(json.loads(row["document_ids"])),
        )


def _error(
    code: str,
    message: str,
    retryable: bool,
    ambiguous: bool = False,
    http_status: int | None = None,
) -> DropboxSignAPIError:
    return DropboxSignAPIError(
        code, message, retryable, http_status=http_status, ambiguous=ambiguous
    )


def _signature_request(response: httpx.Response) -> dict[str, Any]:
    """The ``signature_request`` of a response; anything else is an ambiguous provider error
    (the call went through, its result cannot be read)."""
    try:
        request = response.json()["signature_request"]
        if not isinstance(request, dict) or not request.get("signature_request_id"):
            raise ValueError("no signature_request_id")
    except (ValueError, KeyError, TypeError) as exc:
        raise _error(
            ESignErrorCode.PROVIDER,
            f"unexpected Dropbox Sign response: {response.text[:200]!r}",
            True,
            ambiguous=True,
            http_status=response.status_code,
        ) from exc
    return request


def _api_error(response: httpx.Response) -> DropboxSignAPIError:
    status = response.status_code
    try:
        detail = response.json().get("error", {})
        name, message = detail.get("error_name", ""), detail.get("error_msg", response.text)
    except ValueError:
        name, message = "", response.text[:200]
    text = f"Dropbox Sign {status} {name}: {message}".strip()
    if status == 401 or status == 403:
        return _error(ESignErrorCode.AUTHENTICATION, text, False, http_status=status)
    if status == 404:
        return _error(ESignErrorCode.ENVELOPE_NOT_FOUND, text, False, http_status=status)
    if status == 409:
        return _error(ESignErrorCode.NOT_READY, text, True, http_status=status)
    if status == 410:
        return _error(ESignErrorCode.ILLEGAL_STATE, text, False, http_status=status)
    if status == 429:
        return _error(ESignErrorCode.RATE_LIMITED, text, True, http_status=status)
    if status >= 500:
        return _error(ESignErrorCode.UNAVAILABLE, text, True, ambiguous=True, http_status=status)
    return _error(ESignErrorCode.INVALID_REQUEST, text, False, http_status=status)
