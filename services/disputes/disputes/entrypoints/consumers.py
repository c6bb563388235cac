"""Disputes' routing table."""

from disputes.service_layer import handlers
from eventkit.routing import EventRouter
from marketplace_contracts.events.payments import PaymentCapturedV1, PaymentCapturedV2


def build_router() -> EventRouter:
    router = EventRouter("disputes")
    router.add(PaymentCapturedV1, handlers.on_payment_captured)  # still on the topic
    router.add(PaymentCapturedV2, handlers.on_payment_captured_v2)
    return router
