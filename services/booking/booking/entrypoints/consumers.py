"""Booking's routing table: every contract it consumes and the handler for it."""

from booking.features.cancellations import service as cancellations
from booking.features.checkout.service import card_actions
from booking.features.receipts import service as receipts
from booking.service_layer import disputes
from booking.service_layer.handlers import BookingHandlers
from eventkit.routing import EventRouter
from marketplace_contracts.events.catalog import ListingUpsertedV1
from marketplace_contracts.events.finance import JournalPostedV1
from marketplace_contracts.events.payments import (
    AuthorizationExpiringV1,
    FundsClearedV1,
    HostAccountUpdatedV1,
    PaymentActionRequiredV1,
    PaymentAuthorizedV1,
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
    PaymentMethodSavedV1,
    PaymentProcessingV1,
    PaymentReauthorizedV1,
    PaymentReturnedV1,
    PaymentVoidedV1,
    ReauthorizationFailedV1,
    RefundFailedV1,
    RefundSucceededV1,
)
from marketplace_contracts.events.payments_disputes import (
    DisputeClosedV1,
    DisputeOpenedV1,
    DisputeUpdatedV1,
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
    router.add(PaymentReauthorizedV1, handlers.on_payment_reauthorized)
    router.add(PaymentActionRequiredV1, card_actions.on_payment_action_required)
    router.add(ReauthorizationFailedV1, handlers.on_reauthorization_failed)
    router.add(HostAccountUpdatedV1, handlers.on_host_account_updated)
    router.add(RefundSucceededV1, cancellations.on_refund_succeeded)
    router.add(RefundFailedV1, cancellations.on_refund_failed)
    router.add(JournalPostedV1, receipts.on_journal_posted)
    # ACH Direct Debit: confirmed with funds pending, then received / cleared / returned.
    router.add(PaymentProcessingV1, handlers.bank_debits.on_payment_processing)
    router.add(PaymentReturnedV1, handlers.bank_debits.on_payment_returned)
    router.add(FundsClearedV1, handlers.bank_debits.on_funds_cleared)
    # Card disputes: shown on the booking; refunds refused while one is open.
    router.add(DisputeOpenedV1, disputes.on_dispute_opened)
    router.add(DisputeUpdatedV1, disputes.on_dispute_updated)
    router.add(DisputeClosedV1, disputes.on_dispute_closed)
    return router
