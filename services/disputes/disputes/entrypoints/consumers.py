"""Disputes' routing table: every topic → handler it consumes, in one place."""

from __future__ import annotations

from disputes.service_layer import booking_facts as kept
from disputes.service_layer.handlers import DisputesHandlers
from eventkit.routing import EventRouter
from marketplace_contracts.events import booking as b
from marketplace_contracts.events import payments as p
from marketplace_contracts.events import payments_disputes as d


def build_router(handlers: DisputesHandlers | None = None) -> EventRouter:
    """The routing table (with default handlers when none are given: what the facts need)."""
    if handlers is None:
        from disputes.bootstrap import build_handlers  # the defaults, wired as serve wires them
        from disputes.config import DisputesSettings

        handlers = build_handlers(DisputesSettings.model_construct())
    h = handlers
    router = EventRouter("disputes")
    # payments.events: the dispute facts, and what evidence and the liability policy need
    intake = h.intake
    router.add(d.DisputeOpenedV1, h.taking(intake.opened))
    router.add(d.DisputeUpdatedV1, h.taking(intake.updated))
    router.add(d.DisputeFundsWithdrawnV1, h.taking(intake.money))
    router.add(d.DisputeFundsReinstatedV1, h.taking(intake.money))
    router.add(d.DisputeClosedV1, h.taking(intake.closed))
    router.add(d.DisputeEvidenceSubmittedV1, h.taking(intake.evidence_submitted))
    router.add(d.DisputeAcceptedV1, h.taking(intake.accepted))
    router.add(d.DisputeActionFailedV1, h.taking(intake.action_failed))
    router.add(d.EarlyFraudWarningReceivedV1, h.taking(intake.fraud_warning))
    router.add(p.PaymentCapturedV1, h.recording(kept.captured))  # still on the topic
    router.add(p.PaymentCapturedV2, h.recording(kept.captured))
    router.add(p.RefundSucceededV1, h.recording(kept.refunded))
    # booking.events: the booking as the guest bought it, and what happened to it
    router.add(b.CheckoutRequestedV1, h.recording(kept.checkout_requested))
    router.add(b.GroupCheckoutRequestedV1, h.recording(kept.group_checkout_requested))
    router.add(b.BookingConfirmedV1, h.recording(kept.confirmed))
    router.add(b.GroupConfirmedV1, h.recording(kept.group_confirmed))
    router.add(b.BookingCancelledV1, h.recording(kept.cancelled))
    router.add(b.BookingCompletedV1, h.recording(kept.completed))
    router.add(b.SignaturesCompletedV1, h.recording(kept.signatures))
    router.add(b.AmendmentDecidedV1, h.recording(kept.amendment))
    router.add(b.ClaimFiledV1, h.recording(kept.claim_filed))
    router.add(b.ClaimDecidedV1, h.recording(kept.claim_decided))
    return router
