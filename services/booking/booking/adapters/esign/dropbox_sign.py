"""Dropbox Sign (formerly HelloSign) as an `ESignProvider`: envelopes are signature requests.

The adapter is four modules: the REST API (`dropbox_sign_api`), its callbacks
(`dropbox_sign_callbacks`), the idempotency map in PostgreSQL (`dropbox_sign_requests`) and
this provider, which ties them together.

Expiry: Dropbox Sign accepts ``expires_at`` only 1-90 days ahead (rounded down to the hour), but
a checkout lasts minutes. The request is sent with at least a day (`provider_expiry`) and the
caller's deadline is kept in the map table: `get_status` reads EXPIRED past it; void the
envelope then so the signer cannot sign late.

Callbacks: the ``event_hash`` covers only the event's time and type, not the request, so by
default (``confirm_events``) the status of a terminal event is re-read from the API
(`get_status`). A receiver answers `WebhookVerificationError` with 400, a retryable `ESignError`
(API unreachable) with 503 so that Dropbox Sign retries, anything else with `CALLBACK_ACK`.

Idempotency: a key is claimed before the send and recorded after it, so a retry returns the
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

import logging
from collections.abc import Mapping
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import httpx

from booking.adapters.esign.base import (
    Clock,
    Envelope,
    EnvelopeRequest,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    ESignProvider,
    SignatureAudit,
    SignedDocument,
    WebhookEvent,
    WebhookVerificationError,
    sha256_hex,
    utc_now,
)
from booking.adapters.esign.dropbox_sign_api import (
    DEFAULT_BASE_URL,
    ENVELOPE_KEY_METADATA,
    DropboxSignAPI,
    DropboxSignAPIError,
    provider_expiry,
    send_form,
    status_of_request,
    validate_metadata,
)
from booking.adapters.esign.dropbox_sign_callbacks import (
    extract_callback_payload,
    status_of_event,
    verify_callback,
)
from booking.adapters.esign.dropbox_sign_requests import PROVIDER, RequestMap, envelope_of

log = logging.getLogger("booking.esign.dropbox_sign")


class DropboxSignProvider(ESignProvider):
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
        self._api_key = api_key
        self._test_mode = test_mode
        self._confirm_events = confirm_events
        self._pending_lease = pending_lease
        self._clock = clock
        self._own_client = client is None
        self._http = client or httpx.AsyncClient(timeout=timeout)
        self._api = DropboxSignAPI(self._http, api_key=api_key, base_url=base_url)
        self._map = RequestMap(pool, schema=schema, table_prefix=table_prefix)

    async def aclose(self) -> None:
        if self._own_client:
            await self._http.aclose()

    def _check_metadata(self, metadata: Mapping[str, str]) -> None:
        validate_metadata(metadata)

    async def _replayed(
        self, envelope_key: str, fingerprint: str, now: datetime
    ) -> Envelope | None:
        recorded = await self._map.recorded(envelope_key, fingerprint)
        return None if recorded is None else await self._current(recorded)

    async def _send(self, request: EnvelopeRequest, fingerprint: str, now: datetime) -> Envelope:
        envelope_key = request.envelope_key
        fields, files = send_form(
            envelope_key=envelope_key,
            signer=request.signer,
            documents=request.documents,
            metadata=request.metadata,
            provider_expires_at=provider_expiry(request.expires_at, now),
            test_mode=self._test_mode,
        )
        doc_ids = [d.document_id for d in request.documents]
        claim = await self._map.claim(
            envelope_key,
            fingerprint,
            request.signer.signer_id,
            doc_ids,
            request.expires_at,
            now=now,
            pending_lease=self._pending_lease,
        )
        if claim.envelope is not None:
            return await self._current(claim.envelope)
        assert claim.claimed_at is not None
        if claim.action == "recover":
            found = await self._find_sent(envelope_key)
            if found is not None:
                return await self._record(envelope_key, found, doc_ids)
        try:
            sent = await self._api.send(fields, files)
        except ESignError as exc:
            if not (isinstance(exc, DropboxSignAPIError) and exc.ambiguous):
                await self._map.release(envelope_key, claim.claimed_at)  # nothing was created
                raise
            log.warning("send of %s had an unknown outcome: %s", envelope_key, exc.message)
            found = await self._find_sent(envelope_key)
            if found is None:
                raise  # stays pending; a retry after pending_lease looks again, then resends
            return await self._record(envelope_key, found, doc_ids)
        return await self._record(envelope_key, sent, doc_ids)

    async def get_status(self, envelope_id: str) -> EnvelopeStatus:
        """Dropbox Sign's status, except that an unsigned envelope past the caller's
        ``expires_at`` reads EXPIRED (Dropbox Sign itself expires it a day or more later, see
        `provider_expiry`; `void_envelope` stops a late signature)."""
        status = await self._api.status(envelope_id, self._clock())
        if status is EnvelopeStatus.SENT:
            deadline = await self._map.deadline(envelope_id)
            if deadline is not None and self._clock() >= deadline:
                return EnvelopeStatus.EXPIRED
        return status

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
        sent = await self._map.sent(envelope_id)
        if document_id not in sent.document_ids:
            raise ESignError(
                ESignErrorCode.DOCUMENT_NOT_FOUND,
                f"envelope {envelope_id} has no document {document_id!r}",
            )
        request = await self._api.get_request(envelope_id)
        status = status_of_request(request, self._clock())
        if status is not EnvelopeStatus.SIGNED:
            raise ESignError(ESignErrorCode.NOT_SIGNED, f"envelope {envelope_id} is {status}")
        signed_at = max(
            (int(s["signed_at"]) for s in request.get("signatures", []) if s.get("signed_at")),
            default=None,
        )
        content = await self._api.signed_pdf(envelope_id)
        return SignedDocument(
            envelope_id,
            document_id,
            content,
            sha256_hex(content),
            datetime.fromtimestamp(signed_at, UTC) if signed_at is not None else self._clock(),
            sent.signer_id,
            None,
        )

    async def audit_trail(self, envelope_id: str) -> list[SignatureAudit]:
        """Per document: the hash of the signed PDF (Dropbox Sign merges every document into
        one file, so one hash for all), the signer and when. Dropbox Sign keeps the signer's IP
        address and browser in its own audit trail inside that PDF, not in its API: they are
        None here."""
        document_ids = (await self._map.sent(envelope_id)).document_ids
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
        status = await self._api.status(envelope_id, self._clock())
        if status.terminal:
            return status
        try:
            await self._api.cancel(envelope_id)
        except DropboxSignAPIError as exc:
            if exc.http_status not in (400, 409, 410):
                raise
            # Completed (or cancelled) in the meantime: report what it is now.
            return await self._api.status(envelope_id, self._clock())
        log.info("cancelled Dropbox Sign request %s: %s", envelope_id, reason)
        return EnvelopeStatus.VOIDED

    # -- recording a send ----------------------------------------------------------------------
    async def _current(self, envelope: Envelope) -> Envelope:
        """A replayed envelope with its status now (as sent, if Dropbox Sign cannot say)."""
        try:
            status = await self.get_status(envelope.envelope_id)
        except ESignError as exc:
            log.warning("status of %s unknown on replay: %s", envelope.envelope_id, exc.message)
            return envelope
        signing_url = None if status.terminal else envelope.signing_url
        return replace(envelope, status=status, signing_url=signing_url)

    async def _record(
        self, envelope_key: str, request: Mapping[str, Any], doc_ids: list[str]
    ) -> Envelope:
        """The sent request, recorded for its key; the row is ours whatever its claim: a sent
        request wins over a claim."""
        request_id = str(request["signature_request_id"])
        signing_url = request.get("signing_url")
        earlier = await self._map.mark_sent(envelope_key, request_id, signing_url, self._clock())
        if earlier is not None:
            if earlier["signature_request_id"] != request_id:
                # Another worker took the key over after our lease ran out, and sent too.
                log.error(
                    "duplicate Dropbox Sign requests for %s: keeping %s, cancelling %s",
                    envelope_key,
                    earlier["signature_request_id"],
                    request_id,
                )
                await self._cancel_quietly(request_id)
            return envelope_of(earlier, EnvelopeStatus.SENT)
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
            response = await self._api.latest()
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
            await self._api.cancel(request_id)
        except ESignError as exc:
            log.error("could not cancel duplicate request %s: %s", request_id, exc.message)
