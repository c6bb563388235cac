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
from marketplace_contracts import Envelope
from marketplace_contracts.events import catalog, finance
from marketplace_contracts.events import payments as p
from marketplace_contracts.events import payments_disputes as d


def on_uow(
    outbox: Outbox, handle: Callable[[UnitOfWork, Envelope, Any], Awaitable[None]]
) -> Callable[[asyncpg.Connection, Envelope, Any, object], Awaitable[None]]:
    """A handler that takes booking's unit of work, on the consumer's transaction."""

    async def apply(conn: asyncpg.Connection, env: Envelope, event: Any, _: object) -> None:
        await handle(UnitOfWork(conn, outbox), env, event)

    return apply


def build_router(handlers: BookingHandlers) -> EventRouter:
    router = EventRouter("booking")
    router.add(catalog.ListingUpsertedV1, handlers.on_listing_upserted)
    router.add(p.PaymentAuthorizedV1, handlers.on_payment_authorized)
    router.add(p.PaymentFailedV1, handlers.on_payment_failed)
    router.add(p.PaymentCapturedV1, handlers.on_payment_captured)  # still on the topic
    router.add(p.PaymentCapturedV2, handlers.on_payment_captured)
    router.add(p.PaymentVoidedV1, handlers.on_payment_voided)
    router.add(p.PaymentMethodSavedV1, handlers.on_payment_method_saved)
    router.add(p.AuthorizationExpiringV1, handlers.on_authorization_expiring)
    router.add(p.PaymentReauthorizedV1, handlers.on_payment_reauthorized)
    router.add(
        p.PaymentActionRequiredV1, on_uow(handlers.outbox, card_actions.on_payment_action_required)
    )
    router.add(p.ReauthorizationFailedV1, handlers.on_reauthorization_failed)
    router.add(p.HostAccountUpdatedV1, handlers.on_host_account_updated)
    router.add(p.RefundSucceededV1, on_uow(handlers.outbox, cancellations.on_refund_succeeded))
    router.add(p.RefundFailedV1, on_uow(handlers.outbox, cancellations.on_refund_failed))
    router.add(finance.JournalPostedV1, on_uow(handlers.outbox, receipts.on_journal_posted))
    # ACH Direct Debit: confirmed with funds pending, then received / cleared / returned.
    router.add(
        p.PaymentProcessingV1, on_uow(handlers.outbox, handlers.bank_debits.on_payment_processing)
    )
    router.add(
        p.PaymentReturnedV1, on_uow(handlers.outbox, handlers.bank_debits.on_payment_returned)
    )
    router.add(p.FundsClearedV1, on_uow(handlers.outbox, handlers.bank_debits.on_funds_cleared))
    # Card disputes: shown on the booking; refunds refused while one is open.
    router.add(d.DisputeOpenedV1, disputes.on_dispute_opened)
    router.add(d.DisputeUpdatedV1, disputes.on_dispute_updated)
    router.add(d.DisputeClosedV1, disputes.on_dispute_closed)
    return router
