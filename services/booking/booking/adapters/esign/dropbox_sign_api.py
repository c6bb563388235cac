"""Dropbox Sign (formerly HelloSign) REST API v3: the calls, the send form, errors, statuses.

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
- ``GET /signature_request/list`` (recovery of a send whose outcome was lost).

Every failure is an `ESignError`; `DropboxSignAPIError.ambiguous` marks a call that may have
taken effect (timeout, 5xx, unreadable answer).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from booking.adapters.esign.base import (
    DocumentSpec,
    EnvelopeStatus,
    ESignError,
    ESignErrorCode,
    Signer,
)

DEFAULT_BASE_URL = "https://api.hellosign.com/v3"
ENVELOPE_KEY_METADATA = "envelope_key"
MAX_METADATA_KEYS = 10  # Dropbox Sign's limits
MAX_METADATA_KEY_LENGTH = 40
MAX_METADATA_VALUE_LENGTH = 500
# Dropbox Sign takes expires_at 1-90 days ahead and rounds it down to the hour.
MIN_PROVIDER_EXPIRY = timedelta(days=1)
MAX_EXPIRY = timedelta(days=89)
FILE_EXTENSIONS = {
    "text/plain": ".txt",
    "application/pdf": ".pdf",
    "text/html": ".html",
    "application/msword": ".doc",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
}
Files = list[tuple[str, tuple[str, bytes, str]]]


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
) -> tuple[dict[str, str], Files]:
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


class DropboxSignAPI:
    """The API's calls over one httpx client; every failure raises `ESignError`."""

    def __init__(self, http: httpx.AsyncClient, *, api_key: str, base_url: str) -> None:
        self._http = http
        self._base = base_url.rstrip("/")
        self._auth = httpx.BasicAuth(api_key, "")

    async def call(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str] | None = None,
        data: dict[str, str] | None = None,
        files: Files | None = None,
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

    async def send(self, fields: dict[str, str], files: Files) -> dict[str, Any]:
        response = await self.call("POST", "/signature_request/send", data=fields, files=files)
        return signature_request_of(response)

    async def get_request(self, signature_request_id: str) -> dict[str, Any]:
        response = await self.call(
            "GET", f"/signature_request/{quote(signature_request_id, safe='')}"
        )
        return signature_request_of(response)

    async def status(self, signature_request_id: str, now: datetime) -> EnvelopeStatus:
        """Dropbox Sign's own status (a cancelled request answers 410: VOIDED)."""
        try:
            request = await self.get_request(signature_request_id)
        except DropboxSignAPIError as exc:
            if exc.http_status == 410:  # cancelled requests are "deleted"
                return EnvelopeStatus.VOIDED
            raise
        return status_of_request(request, now)

    async def signed_pdf(self, signature_request_id: str) -> bytes:
        response = await self.call(
            "GET",
            f"/signature_request/files/{quote(signature_request_id, safe='')}",
            params={"file_type": "pdf"},
        )
        return response.content

    async def cancel(self, signature_request_id: str) -> None:
        await self.call("POST", f"/signature_request/cancel/{quote(signature_request_id, safe='')}")

    async def latest(self) -> httpx.Response:
        """The most recent page of requests (100)."""
        return await self.call(
            "GET", "/signature_request/list", params={"page": "1", "page_size": "100"}
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


def signature_request_of(response: httpx.Response) -> dict[str, Any]:
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
