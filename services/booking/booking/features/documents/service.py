"""Docs-before-pay: envelopes for a booking's required documents, and what their outcome does.

`awaiting_signatures` is left only through the transition table: `documents_signed` is the one
way on to `pending_payment`, and the only one that emits booking.checkout_requested; a decline,
an expired envelope or the hold running out ends the booking instead. Outcomes can arrive in any
order and more than once (the provider redelivers): whatever comes after the first one that
counts finds the booking in another state and changes nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

import asyncpg

from booking.adapters import repository
from booking.adapters.esign.base import EnvelopeStatus, ESignProvider, WebhookEvent
from booking.domain.model import CHECKOUT_REQUESTED, BookingStatus, Trigger
from booking.domain.signing import ESignError, ESignErrorCode, WebhookVerificationError

# Other features: through their service.
from booking.features.amendments import service as amendments
from booking.features.checkout.service import checkout_requested
from booking.features.documents import messages as signatures
from booking.features.groups import service as groups
from booking.service_layer import lifecycle
from booking.service_layer.endings import end_booking
from booking.service_layer.publishing import Cause
from booking.service_layer.timer_kinds import HOLD_EXPIRY
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit import scheduler
from eventkit.outbox import Outbox

log = logging.getLogger("booking.documents")


class Documents:
    def __init__(
        self, outbox: Outbox, provider: ESignProvider, db: Callable[[], asyncpg.Pool]
    ) -> None:
        self.outbox = outbox
        self.provider = provider
        self.db = db  # the pool exists once the runtime has started

    async def _on_amendment_envelope(self, conn: asyncpg.Connection, event: WebhookEvent) -> bool:
        amendment_id = await amendments.signed_through(conn, event.envelope_id)
        if amendment_id is None:
            return False
        if event.status is EnvelopeStatus.SIGNED:
            await amendments.on_signed(conn, self.outbox, amendment_id)
        else:
            await amendments.on_signatures_declined(
                conn, self.outbox, amendment_id, f"the signing envelope was {event.status}"
            )
        return True

    async def on_envelope_event(self, event: WebhookEvent) -> None:
        """The provider's callback (at least once): apply the outcome in one transaction."""
        if event.status is EnvelopeStatus.SENT:
            return  # nothing final happened
        trail = None
        if event.status is EnvelopeStatus.SIGNED and await repository.awaits_signatures(
            self.db(), event.envelope_id
        ):  # read before the transaction: a provider call holds no lock
            trail = await signatures.read_trail(self.provider, event.envelope_id)
        async with self.db().acquire() as conn, conn.transaction():
            booking_id = await repository.booking_by_envelope(conn, event.envelope_id)
            if booking_id is None:
                if not await self._on_amendment_envelope(conn, event):
                    log.warning("e-sign event for unknown envelope %s", event.envelope_id)
                return
            row = await repository.get_booking(conn, booking_id, for_update=True)
            assert row is not None
            if row["status"] != BookingStatus.AWAITING_SIGNATURES:
                return  # decided already (or the hold ran out first)
            if event.status is EnvelopeStatus.SIGNED:
                await signatures.completed(
                    conn,
                    self.outbox,
                    row,
                    envelope_id=event.envelope_id,
                    provider=self.provider.name,
                    trail=trail or [],
                    signed_at=event.occurred_at,
                )
            if event.status is EnvelopeStatus.SIGNED and row["group_id"] is not None:
                await groups.leg_signed(UnitOfWork(conn, self.outbox), row, event.envelope_id)
                return
            if event.status is EnvelopeStatus.SIGNED:
                # The checkout's request for money (its payload is none of what changes here).
                asks = {CHECKOUT_REQUESTED: lambda: checkout_requested(row)}
                cause = Cause(row["correlation_id"])
                trigger = Trigger.DOCUMENTS_SIGNED
                await lifecycle.apply(conn, self.outbox, row, trigger, asks, cause)
                return
            reason = (
                "documents_expired"
                if event.status is EnvelopeStatus.EXPIRED
                else "documents_declined"
            )
            await end_booking(
                conn,
                self.outbox,
                row,
                Trigger.DOCUMENTS_DECLINED,
                reason,
                f"the signing envelope was {event.status}",
            )
            await scheduler.cancel(conn, "booking", HOLD_EXPIRY, str(booking_id))


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
