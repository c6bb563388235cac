"""What the disputes service asks of Stripe through payments (the only service that calls it):
submit a case's evidence, or accept (concede) the dispute.

The consumer's usual route: `prepare` makes the calls outside any transaction, each with a
deterministic idempotency key, and `record` writes the outcome (`payments.dispute_actions`,
once per `request_id`) with its fact in the transaction that claims the inbox row.

- `disputes.evidence_submission_requested`: each file is uploaded as a Stripe File (purpose
  `dispute_evidence`, key `payments:dispute_file:<request_id>:<n>`), then the dispute is
  updated with the text fields and the files' ids and submitted (`submit=True`, key
  `payments:dispute_submit:<request_id>`) → `payments.dispute_evidence_submitted`.
- `disputes.dispute_acceptance_requested`: the dispute is closed (key
  `payments:dispute_accept:<request_id>`) → `payments.dispute_accepted`. The dispute is marked
  `accepting` before the call, so the `dispute_closed` fact that follows says `accepted`.

A transient failure (network, 429, 5xx) is raised for the consumer to retry with the same keys.
A refusal is recorded as `payments.dispute_action_failed`, never dead-lettered: code
`dispute_closed` when the dispute no longer takes a response (closed, or evidence submitted
already), `invalid_evidence` for a file whose content does not match its digest, else
`processor_refused` with Stripe's message.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import logging
from dataclasses import dataclass, field

from domainkit.rows import from_attrs
from marketplace_contracts import Envelope
from marketplace_contracts.events.disputes import (
    DisputeAcceptanceRequestedV1,
    EvidenceSubmissionRequestedV1,
)
from marketplace_contracts.events.payments_disputes import (
    DisputeAcceptedV1,
    DisputeActionFailedV1,
    DisputeEvidenceSubmittedV1,
)
from payments.adapters.dispute_repository import DisputesRepository
from payments.adapters.stripe_disputes import StripeDisputes
from payments.adapters.stripe_gateway import StripeGatewayError
from payments.domain.disputes import RESPONDABLE
from payments.domain.ids import idempotency_key
from payments.domain.refusals import Refused
from payments.service_layer.unit_of_work import UnitOfWork
from payments.service_layer.use_cases import StripeUseCases

log = logging.getLogger("payments.dispute_actions")

SUBMIT = "submit"
ACCEPT = "accept"
DISPUTE_CLOSED = "dispute_closed"
PROCESSOR_REFUSED = "processor_refused"
INVALID_EVIDENCE = "invalid_evidence"


@dataclass(frozen=True)
class ActionOutcome:
    succeeded: bool
    status: str = ""
    fields: list[str] = field(default_factory=list)
    file_ids: list[str] = field(default_factory=list)
    code: str | None = None
    message: str = ""


class _Refused(Refused):
    """Evidence that cannot be sent as given (not base64, or not what its sha256 says)."""


def _content(file_b64: str, sha256: str, filename: str) -> bytes:
    try:
        content = base64.b64decode(file_b64, validate=True)
    except binascii.Error as exc:
        raise _Refused(INVALID_EVIDENCE, f"{filename} is not valid base64") from exc
    if hashlib.sha256(content).hexdigest() != sha256:
        raise _Refused(INVALID_EVIDENCE, f"{filename} does not match its sha256")
    return content


class DisputeActions(StripeUseCases[StripeDisputes]):
    @property
    def disputes(self) -> DisputesRepository:
        """Disputes on the pool, outside any transaction: what `prepare` reads, and the
        `accepting` mark it sets before it calls Stripe."""
        return DisputesRepository(self.db())

    # -- evidence submission ------------------------------------------------------------------
    async def submit(
        self, env: Envelope, event: EvidenceSubmissionRequestedV1
    ) -> ActionOutcome | None:
        """Upload the files and submit the evidence (None: this request was decided)."""
        if await self.disputes.get_action(event.request_id) is not None:
            return None
        evidence = dict(event.text)
        file_ids: list[str] = []
        try:
            for n, item in enumerate(event.files):
                content = _content(item.content_b64, item.sha256, item.filename)
                key = idempotency_key("dispute_file", f"{event.request_id}:{n}")
                file_id = await self.stripe.upload_evidence(content, item.filename, key)
                evidence[item.field] = file_id
                file_ids.append(file_id)
            status = await self.stripe.submit(
                event.processor_dispute_id,
                evidence,
                idempotency_key("dispute_submit", event.request_id),
            )
        except _Refused as exc:
            return ActionOutcome(False, code=exc.code, message=exc.message)
        except StripeGatewayError as exc:
            return await self._refused(event.processor_dispute_id, exc)
        return ActionOutcome(True, status, sorted(evidence), file_ids)

    async def record_submission(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: EvidenceSubmissionRequestedV1,
        outcome: ActionOutcome | None,
    ) -> None:
        if outcome is None or not await self._succeeded(uow, env, event, SUBMIT, outcome):
            return
        await uow.reply(
            from_attrs(
                DisputeEvidenceSubmittedV1,
                event,
                fields=outcome.fields,
                file_ids=outcome.file_ids,
                status=outcome.status,
                submitted_at=env.occurred_at,
            ),
            key=event.payment_id,
            cause=env,
        )

    # -- acceptance ---------------------------------------------------------------------------
    async def accept(
        self, env: Envelope, event: DisputeAcceptanceRequestedV1
    ) -> ActionOutcome | None:
        """Close the dispute at Stripe (None: this request was decided)."""
        if await self.disputes.get_action(event.request_id) is not None:
            return None
        await self.disputes.set_accepting(event.dispute_id, True)
        try:
            status = await self.stripe.close(
                event.processor_dispute_id, idempotency_key("dispute_accept", event.request_id)
            )
        except StripeGatewayError as exc:
            return await self._refused(event.processor_dispute_id, exc)
        return ActionOutcome(True, status)

    async def record_acceptance(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: DisputeAcceptanceRequestedV1,
        outcome: ActionOutcome | None,
    ) -> None:
        if outcome is None or not await self._succeeded(uow, env, event, ACCEPT, outcome):
            return
        await uow.reply(
            from_attrs(DisputeAcceptedV1, event, status=outcome.status),
            key=event.payment_id,
            cause=env,
        )

    # -- shared -------------------------------------------------------------------------------
    async def _refused(self, processor_dispute_id: str, exc: StripeGatewayError) -> ActionOutcome:
        """A refusal's outcome; a transient failure is raised for the consumer to retry."""
        if exc.retryable:
            log.warning("dispute %s: to be retried: %s", processor_dispute_id, exc)
            raise exc
        # Stripe gives no code of its own for "closed" or "submitted already": its status does.
        try:
            status = await self.stripe.status(processor_dispute_id)
        except StripeGatewayError as lookup:
            if lookup.retryable:
                raise
            status = ""  # e.g. no such dispute: Stripe's refusal says why
        code = DISPUTE_CLOSED if status and status not in RESPONDABLE else PROCESSOR_REFUSED
        log.error("dispute %s (%s) refused: %s", processor_dispute_id, status, exc)
        return ActionOutcome(False, status, code=code, message=exc.message)

    async def _succeeded(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: EvidenceSubmissionRequestedV1 | DisputeAcceptanceRequestedV1,
        action: str,
        outcome: ActionOutcome,
    ) -> bool:
        """Record the request's outcome, once; a failure is announced (action_failed) and a
        refused acceptance unmarks the dispute. True for a success recorded now (its event is
        the caller's); False for a failure, or a request recorded by an earlier delivery."""
        recorded = await uow.disputes.record_action(
            {
                "request_id": event.request_id,
                "dispute_id": event.dispute_id,
                "action": action,
                "succeeded": outcome.succeeded,
                "file_ids": outcome.file_ids,
                "code": outcome.code,
                "message": outcome.message or None,
            },
        )
        if not recorded or outcome.succeeded:
            return recorded
        if action == ACCEPT:
            await uow.disputes.set_accepting(event.dispute_id, False)
        await uow.reply(
            from_attrs(
                DisputeActionFailedV1,
                event,
                action=action,
                code=outcome.code or PROCESSOR_REFUSED,
                message=outcome.message,
            ),
            key=event.payment_id,
            cause=env,
        )
        return False
