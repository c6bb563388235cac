"""Booking's routing table: every contract it consumes and the handler for it."""

from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg

from booking.features.cancellations import service as cancellations
from booking.features.checkout.service import card_actions
from booking.features.receipts import service as receipts
from booking.service_layer import disputes
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.outbox import Outbox
from eventkit.routing import EventRouter
from marketplace_contracts import Envelope, EventModel
from marketplace_contracts.events import catalog, finance
from marketplace_contracts.events import payments as p
from marketplace_contracts.events import payments_disputes as d

UowHandler = Callable[[UnitOfWork, Envelope, Any], Awaitable[None]]


def on_uow(
    outbox: Outbox, handle: UowHandler
) -> Callable[[asyncpg.Connection, Envelope, Any, object], Awaitable[None]]:
    """A handler that takes booking's unit of work, on the consumer's transaction."""

    async def apply(conn: asyncpg.Connection, env: Envelope, event: Any, _: object) -> None:
        await handle(UnitOfWork(conn, outbox), env, event)

    return apply


def build_router(handlers: BookingHandlers) -> EventRouter:
    """Every handler but the disputes' takes booking's unit of work, one per consumed event."""
    router = EventRouter("booking")

    def add(contract: type[EventModel], handle: UowHandler) -> None:
        router.add(contract, on_uow(handlers.outbox, handle))

    add(catalog.ListingUpsertedV1, handlers.on_listing_upserted)
    add(p.PaymentAuthorizedV1, handlers.on_payment_authorized)
    add(p.PaymentFailedV1, handlers.on_payment_failed)
    add(p.PaymentCapturedV1, handlers.on_payment_captured)  # still on the topic
    add(p.PaymentCapturedV2, handlers.on_payment_captured)
    add(p.PaymentVoidedV1, handlers.on_payment_voided)
    add(p.PaymentMethodSavedV1, handlers.on_payment_method_saved)
    add(p.AuthorizationExpiringV1, handlers.on_authorization_expiring)
    add(p.PaymentReauthorizedV1, handlers.on_payment_reauthorized)
    add(p.PaymentActionRequiredV1, card_actions.on_payment_action_required)
    add(p.ReauthorizationFailedV1, handlers.on_reauthorization_failed)
    add(p.HostAccountUpdatedV1, handlers.on_host_account_updated)
    add(p.RefundSucceededV1, cancellations.on_refund_succeeded)
    add(p.RefundFailedV1, cancellations.on_refund_failed)
    add(finance.JournalPostedV1, receipts.on_journal_posted)
    # ACH Direct Debit: confirmed with funds pending, then received / cleared / returned.
    add(p.PaymentProcessingV1, handlers.bank_debits.on_payment_processing)
    add(p.PaymentReturnedV1, handlers.bank_debits.on_payment_returned)
    add(p.FundsClearedV1, handlers.bank_debits.on_funds_cleared)
    # Card disputes: shown on the booking; refunds refused while one is open.
    router.add(d.DisputeOpenedV1, disputes.on_dispute_opened)
    router.add(d.DisputeUpdatedV1, disputes.on_dispute_updated)
    router.add(d.DisputeClosedV1, disputes.on_dispute_closed)
    return router
