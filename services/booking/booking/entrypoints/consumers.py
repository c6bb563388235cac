"""Booking's routing table: every contract it consumes and the handler for it."""

from booking.service_layer import cancellations, receipts
from booking.service_layer.handlers import BookingHandlers
from eventkit.routing import EventRouter
from marketplace_contracts.events.catalog import ListingUpsertedV1
from marketplace_contracts.events.finance import JournalPostedV1
from marketplace_contracts.events.payments import (
    AuthorizationExpiringV1,
    HostAccountUpdatedV1,
    PaymentAuthorizedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentMethodSavedV1,
    PaymentVoidedV1,
    RefundFailedV1,
    RefundSucceededV1,
)


def build_router(handlers: BookingHandlers) -> EventRouter:
    router = EventRouter("booking")
    router.add(ListingUpsertedV1, handlers.on_listing_upserted)
    router.add(PaymentAuthorizedV1, handlers.on_payment_authorized)
    router.add(PaymentFailedV1, handlers.on_payment_failed)
    router.add(PaymentCapturedV1, handlers.on_payment_captured)  # still on the topic
    router.add(PaymentCapturedV2, handlers.on_payment_captured)
    router.add(PaymentVoidedV1, handlers.on_payment_voided)
    router.add(PaymentMethodSavedV1, handlers.on_payment_method_saved)
    router.add(AuthorizationExpiringV1, handlers.on_authorization_expiring)
    router.add(HostAccountUpdatedV1, handlers.on_host_account_updated)
    router.add(RefundSucceededV1, cancellations.on_refund_succeeded)
    router.add(RefundFailedV1, cancellations.on_refund_failed)
    router.add(JournalPostedV1, receipts.on_journal_posted)
    return router
