"""Trust staff's mutations: dispute evidence (edit, submit, accept), claim decisions and
cancellation policies. Each runs through `mutations.once` (idempotency token, then the action,
then the audit row) and reads its target first, so the audit keeps the state before and after.

Disputes is called with ops's own credential acting for the staff member (recorded there as
`<person> via service:ops`); the gateway with the staff member's own token and an
`Idempotency-Key` made of the token and the request, so a retried call is one decision there
too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from eventkit.http_errors import MAX_BODY_BYTES
from ops.adapters.booking_api import BookingApi
from ops.adapters.disputes_api import DisputesApi
from ops.adapters.staff_apis import ApiError
from ops.domain.errors import OpsError, invalid
from ops.service_layer.mutations import Caller, Outcome

Json = dict[str, Any]


def _case_state(case: Json) -> Json:
    """What an evidence change or an answer changes: the status and staff's own edits."""
    return {"status": case["status"], "edits": (case.get("evidence") or {}).get("edits") or {}}


async def edit_evidence(
    caller: Caller, disputes: DisputesApi, dispute_id: str, fields: Mapping[str, str | None]
) -> Json:
    if not fields:
        raise invalid("Name at least one evidence field to change.")

    async def act() -> Outcome:
        before = await disputes.case(dispute_id)
        after = await disputes.edit_evidence(dispute_id, fields, acting_for=caller.principal.sub)
        return Outcome(after, before=_case_state(before), after=_case_state(after))

    return await caller.once(
        action="dispute.edit_evidence", target=dispute_id,
        request={"dispute_id": dispute_id, "fields": dict(fields)}, act=act,
    )  # fmt: skip


# Disputes keeps a case's files within 480 kB (DISPUTES_EVIDENCE_MAX_BYTES); ops reads no
# more than this of an upload before handing it on, so a huge file is refused here, unread.
# A request's whole body is at most the services' limit (413 `payload_too_large` past it).
UPLOAD_MAX_BYTES = MAX_BODY_BYTES


@dataclass(frozen=True)
class Upload:
    field: str
    filename: str
    content_type: str
    content: bytes


def _files(case: Json) -> list[Json]:
    keys = ("field", "filename", "sha256", "source")
    return [{k: f.get(k) for k in keys} for f in (case.get("evidence") or {}).get("files") or []]


async def upload_evidence(
    caller: Caller, disputes: DisputesApi, dispute_id: str, upload: Upload
) -> Json:
    """A file for an evidence field (it replaces that field's earlier file): the case after."""
    if len(upload.content) > UPLOAD_MAX_BYTES:
        raise OpsError(
            "evidence_too_large",
            f"The file is larger than {UPLOAD_MAX_BYTES} bytes; it was not sent.",
        )
    digest = hashlib.sha256(upload.content).hexdigest()

    async def act() -> Outcome:
        before = await disputes.case(dispute_id)
        await disputes.upload_evidence(
            dispute_id, upload.field, upload.filename, upload.content, upload.content_type,
            acting_for=caller.principal.sub,
        )  # fmt: skip
        after = await disputes.case(dispute_id)
        return Outcome(after, before={"files": _files(before)}, after={"files": _files(after)})

    return await caller.once(
        action="dispute.upload_evidence", target=dispute_id,
        request={"dispute_id": dispute_id, "field": upload.field, "sha256": digest}, act=act,
    )  # fmt: skip


@dataclass(frozen=True)
class File:
    status: int
    media_type: str
    content: bytes


async def summary_pdf(disputes: DisputesApi, dispute_id: str) -> File:
    """The case's PDF summary as it would be submitted now, or disputes' refusal as text."""
    try:
        return File(200, "application/pdf", await disputes.summary_pdf(dispute_id))
    except ApiError as exc:
        return File(exc.status, "text/plain", exc.message.encode())


async def answer_dispute(
    caller: Caller, disputes: DisputesApi, dispute_id: str, answer: str
) -> Json:
    """`submit` the evidence or `accept` the dispute: the case with the request's id."""
    if answer not in ("submit", "accept"):
        raise invalid("A dispute is answered with submit or accept.")

    async def act() -> Outcome:
        before = await disputes.case(dispute_id)
        send = disputes.submit if answer == "submit" else disputes.accept
        after = await send(dispute_id, acting_for=caller.principal.sub)
        result = {
            "dispute_id": dispute_id,
            "status": after["status"],
            "request_id": after.get("request_id"),
        }
        return Outcome(result, before=_case_state(before), after=result)

    return await caller.once(
        action=f"dispute.{answer}", target=dispute_id, request={"dispute_id": dispute_id},
        act=act,
    )  # fmt: skip


def gateway_key(token: str, request: Json) -> str:
    """The gateway's Idempotency-Key: the token and the request. A token whose first use was
    refused is released here and may be used again with other values (a corrected amount);
    the gateway keeps a key with its first body, so the key must change with the body."""
    digest = hashlib.sha256(json.dumps(request, sort_keys=True).encode()).hexdigest()[:16]
    return f"ops:{token}:{digest}"


def _claim_state(claim: Json) -> Json:
    keys = ("status", "amount", "decided_amount", "decided_by", "decision_note")
    return {k: claim.get(k) for k in keys}


async def decide_claim(
    caller: Caller, booking: BookingApi, claim_id: str, amount: int, note: str
) -> Json:
    request = {"claim_id": claim_id, "amount": amount, "note": note}
    key = gateway_key(caller.token, request)

    async def act() -> Outcome:
        before = await booking.claim(claim_id)
        after = await booking.decide_claim(claim_id, amount, note, idempotency_key=key)
        return Outcome(after, before=_claim_state(before), after=_claim_state(after))

    return await caller.once(action="claim.decide", target=claim_id, request=request, act=act)


async def publish_policy(caller: Caller, booking: BookingApi, policy: Json) -> Json:
    name = str(policy.get("name", ""))

    async def act() -> Outcome:
        current = [p for p in await booking.cancellation_policies() if p["name"] == name]
        key = gateway_key(caller.token, policy)
        published = await booking.publish_cancellation_policy(policy, idempotency_key=key)
        return Outcome(published, before=current[0] if current else None, after=published)

    return await caller.once(
        action="cancellation_policy.publish", target=f"cancellation_policy:{name}",
        request=policy, act=act,
    )  # fmt: skip
