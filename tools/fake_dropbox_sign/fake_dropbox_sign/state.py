"""In-memory state of the fake: signature requests, their signers and files, injected failures."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

ACCOUNT_ID = "fake0account0000000000000000000000000000"
REQUESTER = "requester@fake-dropbox-sign.local"


def event_hash(api_key: str, event_time: str, event_type: str) -> str:
    """Dropbox Sign's callback hash: hex HMAC-SHA256 keyed with the API key over time + type."""
    message = (event_time + event_type).encode()
    return hmac.new(api_key.encode(), message, hashlib.sha256).hexdigest()


@dataclass
class FakeSigner:
    signature_id: str
    email_address: str
    name: str
    order: int | None = None
    status_code: str = "awaiting_signature"
    signed_at: int | None = None
    last_viewed_at: int | None = None
    decline_reason: str | None = None

    def to_api(self) -> dict[str, Any]:
        return {
            "signature_id": self.signature_id,
            "signer_email_address": self.email_address,
            "signer_name": self.name,
            "signer_role": None,
            "order": self.order,
            "status_code": self.status_code,
            "decline_reason": self.decline_reason,
            "signed_at": self.signed_at,
            "last_viewed_at": self.last_viewed_at,
            "last_reminded_at": None,
            "has_pin": False,
            "has_sms_auth": False,
            "has_sms_delivery": False,
            "sms_phone_number": None,
            "reassigned_by": None,
            "reassignment_reason": None,
            "error": None,
        }


@dataclass
class FakeFile:
    filename: str
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()


@dataclass
class FakeRequest:
    signature_request_id: str
    title: str
    subject: str
    message: str
    signers: list[FakeSigner]
    files: list[FakeFile]
    file_urls: list[str]
    metadata: dict[str, str]
    test_mode: bool
    allow_decline: bool
    signing_options: dict[str, str]
    expires_at: int | None
    created_at: int = field(default_factory=lambda: int(time.time()))
    is_complete: bool = False
    is_declined: bool = False
    canceled: bool = False

    @property
    def open(self) -> bool:
        return not (self.is_complete or self.is_declined or self.canceled or self.expired)

    @property
    def expired(self) -> bool:
        return (
            self.expires_at is not None
            and not self.is_complete
            and not self.is_declined
            and time.time() >= self.expires_at
        )

    def to_api(self, base_url: str) -> dict[str, Any]:
        base = base_url.rstrip("/")
        rid = self.signature_request_id
        return {
            "signature_request_id": rid,
            "test_mode": self.test_mode,
            "title": self.title,
            "original_title": self.title,
            "subject": self.subject,
            "message": self.message,
            "metadata": dict(self.metadata),
            "created_at": self.created_at,
            "expires_at": self.expires_at,
            "is_complete": self.is_complete,
            "is_declined": self.is_declined,
            "has_error": False,
            "files_url": f"{base}/v3/signature_request/files/{rid}",
            "signing_url": None if not self.open else f"{base}/_fake/sign/{rid}",
            "details_url": f"{base}/_fake/details/{rid}",
            "requester_email_address": REQUESTER,
            "signing_redirect_url": None,
            "final_copy_uri": f"/v3/signature_request/final_copy/{rid}",
            "template_ids": None,
            "custom_fields": [],
            "attachments": None,
            "response_data": [],
            "cc_email_addresses": [],
            "bulk_send_job_id": None,
            "signatures": [s.to_api() for s in self.signers],
        }

    def describe(self, base_url: str) -> dict[str, Any]:
        """The control view: the API object plus what was uploaded."""
        return {
            **self.to_api(base_url),
            "canceled": self.canceled,
            "allow_decline": self.allow_decline,
            "signing_options": dict(self.signing_options),
            "file_urls": list(self.file_urls),
            "files": [
                {
                    "filename": f.filename,
                    "content_type": f.content_type,
                    "size": len(f.content),
                    "sha256": f.sha256,
                }
                for f in self.files
            ],
        }


@dataclass
class Failure:
    path: str  # exact request path, e.g. /v3/signature_request/send
    count: int
    status: int = 500
    after_commit: bool = False  # do the work, then answer the error (a lost response)


@dataclass
class FakeState:
    api_key: str
    requests: dict[str, FakeRequest] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)

    def new_request_id(self) -> str:
        return secrets.token_hex(20)  # Dropbox Sign ids are 40 hex characters

    @staticmethod
    def new_signature_id() -> str:
        return secrets.token_hex(16)

    def take_failure(self, path: str, after_commit: bool) -> Failure | None:
        for failure in self.failures:
            if failure.path == path and failure.after_commit == after_commit and failure.count:
                failure.count -= 1
                if failure.count == 0:
                    self.failures.remove(failure)
                return failure
        return None

    def reset(self) -> None:
        self.requests.clear()
        self.failures.clear()


def render_pdf(request: FakeRequest) -> bytes:
    """A small, valid one-page PDF standing for the signed documents (with an audit trail)."""
    lines = [
        f"Signature request {request.signature_request_id}",
        f"Title: {request.title}",
        "Status: "
        + (
            "signed"
            if request.is_complete
            else "declined"
            if request.is_declined
            else "awaiting signature"
        ),
    ]
    for f in request.files:
        lines.append(f"File {f.filename} ({f.content_type}, {len(f.content)} bytes)")
        lines.append(f"  sha256 {f.sha256}")
    for s in request.signers:
        lines.append(f"Signer {s.name} <{s.email_address}>: {s.status_code} at {s.signed_at}")

    def pdf_text(text: str) -> str:
        safe = text.encode("latin-1", "replace").decode("latin-1")
        return safe.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")

    stream = "BT /F1 10 Tf 50 780 Td 14 TL " + " ".join(f"({pdf_text(line)}) '" for line in lines)
    stream_bytes = stream.encode("latin-1") + b" ET"
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 842] "
        b"/Resources << /Font << /F1 4 0 R >> >> /Contents 5 0 R >>",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Length "
        + str(len(stream_bytes)).encode()
        + b" >>\nstream\n"
        + stream_bytes
        + b"\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)
