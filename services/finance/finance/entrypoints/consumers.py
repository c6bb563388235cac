"""Finance's routing table."""

from eventkit.routing import EventRouter
from finance.service_layer.handlers import FinanceHandlers
from marketplace_contracts.events.payments import PaymentCapturedV1


def build_router(h: FinanceHandlers) -> EventRouter:
    router = EventRouter("finance")
    router.add(PaymentCapturedV1, h.on_payment_captured)
    return router
