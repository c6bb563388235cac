"""Docs-before-pay: envelopes for a booking's required documents, and what their outcome does.

`awaiting_signatures` is left only through the transition table: `documents_signed` is the one
way on to `pending_payment`, and the only one that emits booking.checkout_requested; a decline,
an expired envelope or the hold running out ends the booking instead. Outcomes can arrive in any
order and more than once (the provider redelivers): whatever comes after the first one that
counts finds the booking in another state and changes nothing.

`envelope_outcome` runs on booking's unit of work (`uow.documents`, `uow.bookings`, its outbox
and timers), as are the kernel's lifecycle and ending steps it calls.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import asyncpg

from booking.adapters.esign.base import (
    EnvelopeStatus,
    ESignProvider,
    SignatureAudit,
    WebhookEvent,
)
from booking.domain.model import CHECKOUT_REQUESTED, BookingStatus, Trigger
from booking.domain.signing import ESignError, ESignErrorCode, WebhookVerificationError

# Other features: through their service.
from booking.features.amendments import service as amendments
from booking.features.checkout.service import checkout_requested
from booking.features.documents import messages as signatures
from booking.features.documents.repository import DocumentsRepository
from booking.features.groups import service as groups
from booking.service_layer import lifecycle
from booking.service_layer.endings import end_booking
from booking.service_layer.publishing import Cause
from booking.service_layer.timer_kinds import HOLD_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox

log = logging.getLogger("booking.documents")


class Documents:
    """The provider's outcomes, each applied in one transaction on booking's unit of work."""

    def __init__(
        self, outbox: Outbox, provider: ESignProvider, db: Callable[[], asyncpg.Pool]
    ) -> None:
        self.outbox = outbox
        self.provider = provider
        self.db = db  # the pool exists once the runtime has started

    async def on_envelope_event(self, event: WebhookEvent) -> None:
        """The provider's callback (at least once): apply the outcome in one transaction."""
        if event.status is EnvelopeStatus.SENT:
            return  # nothing final happened
        trail = None
        if event.status is EnvelopeStatus.SIGNED:
            # Read before the transaction: a provider call holds no lock.
            async with self.db().acquire() as conn:
                pending = await DocumentsRepository(conn).awaits_signatures(event.envelope_id)
            if pending:
                trail = await signatures.read_trail(self.provider, event.envelope_id)
        async with self.db().acquire() as conn, conn.transaction():
            await envelope_outcome(UnitOfWork(conn, self.outbox), self.provider.name, event, trail)


async def _on_amendment_envelope(uow: UnitOfWork, event: WebhookEvent) -> bool:
    amendment_id = await amendments.signed_through(uow, event.envelope_id)
    if amendment_id is None:
        return False
    if event.status is EnvelopeStatus.SIGNED:
        await amendments.on_signed(uow, amendment_id)
    else:
        await amendments.on_signatures_declined(
            uow, amendment_id, f"the signing envelope was {event.status}"
        )
    return True


async def envelope_outcome(
    uow: UnitOfWork, provider: str, event: WebhookEvent, trail: list[SignatureAudit] | None
) -> None:
    """A final outcome (signed, declined, expired) of the envelope of a booking (or group leg,
    or amendment); `trail`: the provider's audit trail of a signed one, read beforehand."""
    booking_id = await uow.documents.booking_by_envelope(event.envelope_id)
    if booking_id is None:
        if not await _on_amendment_envelope(uow, event):
            log.warning("e-sign event for unknown envelope %s", event.envelope_id)
        return
    row = await uow.bookings.get_booking(booking_id, for_update=True)
    assert row is not None
    if row["status"] != BookingStatus.AWAITING_SIGNATURES:
        return  # decided already (or the hold ran out first)
    if event.status is EnvelopeStatus.SIGNED:
        await _signed(uow, row, provider, event, trail or [])
        return
    reason = "documents_expired" if event.status is EnvelopeStatus.EXPIRED else "documents_declined"
    await end_booking(
        uow,
        row,
        Trigger.DOCUMENTS_DECLINED,
        reason,
        f"the signing envelope was {event.status}",
    )
    await uow.timers.cancel(HOLD_EXPIRY, str(booking_id))


async def _signed(
    uow: UnitOfWork,
    row: asyncpg.Record,
    provider: str,
    event: WebhookEvent,
    trail: list[SignatureAudit],
) -> None:
    """Every document signed: the record of it, then the leg's group or the checkout goes on."""
    await signatures.completed(
        uow,
        row,
        envelope_id=event.envelope_id,
        provider=provider,
        trail=trail,
        signed_at=event.occurred_at,
    )
    if row["group_id"] is not None:
        await groups.leg_signed(uow, row, event.envelope_id)
        return
    # The checkout's request for money (its payload is none of what changes here).
    asks = {CHECKOUT_REQUESTED: lambda: checkout_requested(row)}
    cause = Cause(row["correlation_id"])
    await lifecycle.apply(uow, row, Trigger.DOCUMENTS_SIGNED, asks, cause)


# -- A provider's pushed callback (Dropbox Sign's): verify it, then apply its outcome ------
# The endpoint hands over the callback's JSON as posted (the ``json`` form field, or a bare JSON
# body); the provider verifies it (`ESignProvider.parse_webhook`) and `Documents` applies it. A
# callback that cannot be applied is refused with `CallbackRefused`, whose ``retry`` says whether
# the provider should send it again (it could not be confirmed with the provider's API) or not
# (not authentic, not readable).

# The payload reaches the provider as the bare JSON body it also accepts.
_JSON_HEADERS = {"content-type": "application/json"}


class CallbackRefused(Exception):
    """A callback that was not applied: `code` is the e-sign error code."""

    def __init__(self, code: str, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.code, self.message, self.retry = code, message, retry

    @classmethod
    def unreadable(cls, detail: str) -> CallbackRefused:
        """A body the web framework could not read as a form."""
        return cls(
            ESignErrorCode.WEBHOOK_VERIFICATION, f"unparseable callback: {detail}", retry=False
        )


async def receive_callback(documents: Documents, payload: bytes | None) -> None:
    """Verify and apply one callback; ``payload`` None: the form had no ``json`` field."""
    try:
        if payload is None:
            raise WebhookVerificationError("callback has no json field")
        event = await documents.provider.parse_webhook(payload, _JSON_HEADERS)
    except ESignError as exc:  # WebhookVerificationError included: not retryable
        raise CallbackRefused(exc.code, exc.message, retry=exc.retryable) from exc
    await documents.on_envelope_event(event)
