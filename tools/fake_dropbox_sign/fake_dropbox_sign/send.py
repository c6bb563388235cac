"""``POST /v3/signature_request/send`` validated as Dropbox Sign does (strict on unknown names)."""

from __future__ import annotations

import time
from typing import Any

from fake_dropbox_sign.forms import indexed
from fake_dropbox_sign.state import FakeFile, FakeRequest, FakeSigner, FakeState

SEND_PARAMS = {
    "title",
    "subject",
    "message",
    "signers",
    "files",
    "file",
    "file_urls",
    "file_url",
    "metadata",
    "test_mode",
    "allow_decline",
    "signing_options",
    "expires_at",
    "signing_redirect_url",
    "cc_email_addresses",
    "client_id",
    "use_text_tags",
    "hide_text_tags",
}
SIGNING_OPTIONS = {
    "draw",
    "type",
    "upload",
    "phone",
    "default_type",
    "force_advanced_signature_details",
}
DAY = 86_400
FILE_TYPES = (".pdf", ".txt", ".html", ".htm", ".doc", ".docx", ".png", ".jpg", ".jpeg")


class BadRequest(Exception):
    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.path = path


def parse_send(state: FakeState, params: dict[str, Any], uploads: list[Any]) -> FakeRequest:
    """The signature request a send's parameters and uploaded files describe."""
    unknown = set(params) - SEND_PARAMS
    if unknown:
        raise BadRequest(f"Unrecognized parameter(s): {', '.join(sorted(unknown))}")
    signers = _signers(state, params.get("signers"))
    files, file_urls = _files(uploads), _file_urls(params)
    if bool(files) == bool(file_urls):
        raise BadRequest("Provide files or file_urls (exactly one of them)", "files")
    metadata = _metadata(params.get("metadata") or {})
    options = params.get("signing_options") or {}
    if not isinstance(options, dict) or set(options) - SIGNING_OPTIONS:
        raise BadRequest("Unknown signing_options", "signing_options")
    expires_at = _expires_at(params.get("expires_at"))
    title = str(params.get("title", ""))
    if len(title) > 255:
        raise BadRequest("title is at most 255 characters", "title")
    return FakeRequest(
        signature_request_id=state.new_request_id(),
        title=title,
        subject=str(params.get("subject", "")),
        message=str(params.get("message", "")),
        signers=signers,
        files=files,
        file_urls=file_urls,
        metadata=metadata,
        test_mode=_flag(params.get("test_mode")),
        allow_decline=_flag(params.get("allow_decline")),
        signing_options={str(k): str(v) for k, v in options.items()},
        expires_at=expires_at,
    )


def _flag(value: Any) -> bool:
    return str(value if value is not None else "0").lower() in ("1", "true")


def _signers(state: FakeState, signers_raw: Any) -> list[FakeSigner]:
    if not isinstance(signers_raw, dict) or not signers_raw:
        raise BadRequest("At least one signer is required", "signers")
    signers: list[FakeSigner] = []
    for i, raw in enumerate(indexed(signers_raw)):
        if not isinstance(raw, dict):
            raise BadRequest("Malformed signer", f"signers[{i}]")
        email, name = raw.get("email_address", ""), raw.get("name", "")
        if "@" not in email:
            raise BadRequest("Invalid email address", f"signers[{i}][email_address]")
        if not name:
            raise BadRequest("Signer name is required", f"signers[{i}][name]")
        order = raw.get("order")
        signers.append(
            FakeSigner(
                state.new_signature_id(), email, name, int(order) if order is not None else None
            )
        )
    return signers


def _files(uploads: list[Any]) -> list[FakeFile]:
    files: list[FakeFile] = []
    for upload in uploads:
        key = upload.field.split("[", 1)[0]
        if key not in ("files", "file"):
            raise BadRequest(f"Unexpected file parameter {upload.field}", upload.field)
        if not upload.filename.lower().endswith(FILE_TYPES):
            raise BadRequest(f"Unsupported file type: {upload.filename}", upload.field)
        if not upload.content:
            raise BadRequest("Empty file", upload.field)
        files.append(FakeFile(upload.filename, upload.content_type, upload.content))
    return files


def _file_urls(params: dict[str, Any]) -> list[str]:
    urls_raw = params.get("file_urls") or params.get("file_url") or {}
    return [str(u) for u in indexed(urls_raw)] if isinstance(urls_raw, dict) else []


def _metadata(metadata_raw: Any) -> dict[str, str]:
    if not isinstance(metadata_raw, dict):
        raise BadRequest("metadata must be key/value pairs", "metadata")
    if len(metadata_raw) > 10:
        raise BadRequest("metadata may have at most 10 keys", "metadata")
    for key, value in metadata_raw.items():
        if len(key) > 40 or not isinstance(value, str) or len(value) > 500:
            raise BadRequest("metadata keys <= 40, values <= 500 characters", f"metadata[{key}]")
    return {str(k): str(v) for k, v in metadata_raw.items()}


def _expires_at(raw: Any) -> int | None:
    if not raw:
        return None
    try:
        expires_at = int(raw)
    except ValueError as exc:
        raise BadRequest("expires_at must be a unix timestamp", "expires_at") from exc
    ahead = expires_at - time.time()
    if not DAY - 60 <= ahead <= 90 * DAY:
        raise BadRequest("expires_at must be between 1 and 90 days ahead", "expires_at")
    return expires_at - expires_at % 3600  # Dropbox Sign rounds down to the hour
