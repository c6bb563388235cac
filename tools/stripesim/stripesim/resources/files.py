"""File uploads (``POST /v1/files``, multipart: ``purpose`` and ``file``) and retrieval.

Stripe takes uploads on its files host (the SDK's ``files`` base address, ``upload_api_base``):
point it at the simulator too. The type is told from the content (PDF, PNG, JPEG), as Stripe
does; a ``dispute_evidence`` file must be one of them and at most 5 MB (Stripe's limits for
evidence). The content is kept (``state.private``, so it survives a restart) and served by the
control ``GET /_sim/files/{id}/contents``. Dispute evidence names files by id (``disputes``).
"""

from __future__ import annotations

import base64
from typing import Any

from stripesim.errors import invalid_request, parameter_missing, resource_missing
from stripesim.forms import Params, get_enum
from stripesim.routing import route
from stripesim.state import Ctx, SimState

PURPOSES = (
    "account_requirement",
    "additional_verification",
    "business_icon",
    "business_logo",
    "customer_signature",
    "dispute_evidence",
    "identity_document",
    "issuing_regulatory_reporting",
    "pci_document",
    "tax_document_user_upload",
    "terminal_reader_splashscreen",
)
EVIDENCE_TYPES = ("pdf", "png", "jpg")
MAX_EVIDENCE_BYTES = 5 * 1024 * 1024
_MAGIC = ((b"%PDF-", "pdf"), (b"\x89PNG\r\n\x1a\n", "png"), (b"\xff\xd8\xff", "jpg"))
_EXTENSIONS = {"pdf": "pdf", "png": "png", "jpg": "jpg", "jpeg": "jpg", "csv": "csv"}
_CONTENTS = "file_contents:"


def file_type(content: bytes, filename: str) -> str | None:
    """The file's type from its first bytes, else from its name's extension."""
    for magic, kind in _MAGIC:
        if content.startswith(magic):
            return kind
    extension = filename.rpartition(".")[2].lower() if "." in filename else ""
    return _EXTENSIONS.get(extension)


def load(ctx: Ctx, file_id: str, param: str = "file") -> dict[str, Any]:
    found = ctx.state.get(file_id, "file")
    if found is None:
        raise resource_missing("file", file_id, param)
    return found


def contents(state: SimState, file_id: str) -> bytes | None:
    """What was uploaded as ``file_id`` (None for an unknown id)."""
    record = state.private.get(_CONTENTS + file_id)
    return None if record is None else base64.b64decode(record["content_b64"])


def _upload(params: Params) -> dict[str, Any]:
    upload = params.get("file")
    if upload is None:
        raise parameter_missing("file")
    if not isinstance(upload, dict) or "content_b64" not in upload:
        raise invalid_request(
            "The file must be sent as a multipart/form-data file part.", param="file"
        )
    return upload


@route("POST", "/v1/files", ["purpose", "file", "file_link_data"])
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    purpose = get_enum(params, "purpose", PURPOSES)
    if purpose is None:
        raise parameter_missing("purpose")
    upload = _upload(params)
    content = base64.b64decode(upload["content_b64"])
    kind = file_type(content, upload["filename"])
    if purpose == "dispute_evidence":
        if kind not in EVIDENCE_TYPES:
            raise invalid_request(
                "Files for dispute evidence must be PDF, JPEG or PNG.", param="file"
            )
        if len(content) > MAX_EVIDENCE_BYTES:
            raise invalid_request(
                f"Files for dispute evidence may be at most {MAX_EVIDENCE_BYTES} bytes.",
                param="file",
            )
    uploaded = ctx.state.base_object("file", "file_")
    uploaded.pop("livemode")
    uploaded.pop("metadata")
    uploaded.update(
        {
            "expires_at": None,
            "filename": upload["filename"],
            "links": {"object": "list", "data": [], "has_more": False, "url": "/v1/file_links"},
            "purpose": purpose,
            "size": len(content),
            "title": None,
            "type": kind,
            "url": f"/v1/files/{uploaded['id']}/contents",
        }
    )
    ctx.state.put(uploaded)
    ctx.state.private[_CONTENTS + uploaded["id"]] = {"content_b64": upload["content_b64"]}
    return uploaded


@route("GET", "/v1/files/{file}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return load(ctx, args["file"], param="id")


def evidence_file(ctx: Ctx, file_id: str, field: str) -> str:
    """A file id an evidence field names: it must be an uploaded dispute_evidence file."""
    found = ctx.state.get(file_id, "file")
    if found is None:
        raise resource_missing("file", file_id, f"evidence[{field}]")
    if found["purpose"] != "dispute_evidence":
        raise invalid_request(
            f"The file {file_id} has purpose {found['purpose']}; evidence[{field}] takes a "
            "file uploaded with purpose dispute_evidence.",
            param=f"evidence[{field}]",
        )
    return file_id


ROUTES = [create, retrieve]
