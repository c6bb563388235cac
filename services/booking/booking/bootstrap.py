"""Composition root of the booking service and gateway."""

from __future__ import annotations

import logging
from datetime import timedelta
from functools import partial
from typing import Any

from fastapi import FastAPI

from booking.adapters.esign.base import ESignProvider
from booking.adapters.esign.builtin import BuiltinESignProvider
from booking.adapters.esign.dropbox_sign import DropboxSignProvider
from booking.adapters.esign.dropbox_sign_callbacks import CALLBACK_ACK
from booking.adapters.tax import StripeTax
from booking.config import BookingSettings, claim_windows
from booking.domain.holds import HoldRule
from booking.entrypoints import http
from booking.entrypoints.consumers import build_router
from booking.features.amendments import timers as amendment_timers
from booking.features.bank_debits import timers as bank_debit_timers
from booking.features.claims import timers as claim_timers
from booking.features.documents import timers as document_timers
from booking.features.documents.endpoints import build_dropbox_sign_router, build_signing_router
from booking.features.documents.service import Documents
from booking.features.groups import timers as group_timers
from booking.features.invites import timers as invite_timers
from booking.service_layer import payment_due, pricing
from booking.service_layer.admission import Admission
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.payment_due import PAYMENT_WINDOW
from booking.service_layer.timer_kinds import COMPLETION, HOLD_EXPIRY, REQUEST_EXPIRY
from eventkit.outbox import Outbox
from eventkit.periodic import every
from eventkit.runtime import ServiceRuntime, create_app
from eventkit.scheduler import Scheduler, timers_worker
from marketplace_contracts.events import booking as events
from marketplace_contracts.events.payments import PaymentAuthorizedV1

NAME = "booking"
log = logging.getLogger("booking")
PRODUCES = (
    events.CheckoutRequestedV1,
    events.BookingConfirmedV1,
    events.BookingFailedV1,
    events.HostResponseRequestedV1,
    events.InviteSentV1,
    events.InviteClosedV1,
    events.BookingCompletedV1,
    events.PaymentRequestedV1,
    events.PaymentRetryRequestedV1,
    events.SignaturesRequestedV1,
    events.ClaimFiledV1,
    events.ClaimDecidedV1,
    events.DepositReleasedV1,
    events.GroupCheckoutRequestedV1,
    events.GroupAwaitingHostsV1,
    events.GroupCaptureRequestedV1,
    events.GroupConfirmedV1,
    events.GroupFailedV1,
    events.DocumentsSignedV1,
    events.LegReadyV1,
    events.BookingCancelledV1,
    events.AmendmentProposedV1,
    events.AmendmentDecidedV1,
    events.ChargeRequestedV1,
    events.ReauthorizationRequestedV1,
    events.SignaturesCompletedV1,
)


class _RuntimePool:
    """The runtime's pool, resolved on use: the e-sign provider is built before it exists."""

    def __init__(self, runtime_ref: list[ServiceRuntime]) -> None:
        self._ref = runtime_ref

    def __getattr__(self, name: str) -> Any:
        return getattr(self._ref[0].db, name)


def _configure_rules(settings: BookingSettings) -> None:
    """The policy configured module-wide: the tax adapter."""
    if settings.tax_provider == "stripe_tax":
        if not settings.stripe_tax_api_key:
            raise ValueError("BOOKING_TAX_PROVIDER=stripe_tax needs BOOKING_STRIPE_TAX_API_KEY")
        pricing.use_tax_adapter(StripeTax(settings.stripe_tax_api_key, settings.stripe_api_base))


def _esign(
    settings: BookingSettings, outbox: Outbox, runtime_ref: list[ServiceRuntime]
) -> tuple[ESignProvider, Documents]:
    """The configured e-sign provider and the documents use cases over it; the built-in
    provider reports its outcomes to them directly."""
    if settings.esign_provider == "dropbox_sign":
        dropbox_sign = DropboxSignProvider(
            _RuntimePool(runtime_ref),
            api_key=settings.dropbox_sign_api_key,
            base_url=settings.dropbox_sign_base_url,
        )
        return dropbox_sign, Documents(outbox, dropbox_sign, lambda: runtime_ref[0].db)
    builtin = BuiltinESignProvider(
        _RuntimePool(runtime_ref),
        public_base_url=settings.public_base_url,
        secret=settings.esign_secret,
    )
    documents = Documents(outbox, builtin, lambda: runtime_ref[0].db)
    builtin.register_callback(documents.on_envelope_event)
    return builtin, documents


def _timers(
    settings: BookingSettings, outbox: Outbox, handlers: BookingHandlers, esign: ESignProvider
) -> Scheduler:
    """Every durable timer booking runs, by name."""
    return Scheduler(
        NAME,
        {
            HOLD_EXPIRY: handlers.expire_hold,
            REQUEST_EXPIRY: handlers.expire_request,
            COMPLETION: handlers.complete,
            invite_timers.INVITE_EXPIRY: partial(invite_timers.expire_job, outbox),
            PAYMENT_WINDOW: partial(payment_due.close_window, outbox),
            document_timers.CREATE_ENVELOPE: partial(
                document_timers.create_envelope, esign, outbox
            ),
            group_timers.GROUP_HOLD_EXPIRY: partial(
                group_timers.expire_hold, outbox, handlers.groups
            ),
            amendment_timers.AMENDMENT_EXPIRY: partial(amendment_timers.expire_job, outbox),
            document_timers.CREATE_AMENDMENT_ENVELOPE: partial(
                document_timers.create_amendment_envelope, esign, outbox
            ),
            claim_timers.CLAIM_RESPONSE_EXPIRY: partial(claim_timers.expire_response, outbox),
            claim_timers.DEPOSIT_RELEASE: partial(claim_timers.release_job, outbox),
            bank_debit_timers.RETURNED_DEBIT_WINDOW: partial(
                bank_debit_timers.close_window, outbox
            ),
        },
        poll_interval=settings.scheduler_poll_seconds,
    )


def build_runtime(settings: BookingSettings) -> ServiceRuntime:
    # The events and timers of a request's or an event's transaction: one statement at its end.
    outbox = Outbox(NAME, producer=NAME, deferred=True)
    windows = claim_windows(settings)
    handlers = BookingHandlers(
        outbox,
        timedelta(seconds=settings.payment_window_seconds),
        settings.expiring_authorization_policy,
        HoldRule(
            recheck=timedelta(seconds=settings.hold_recheck_seconds),
            platform_limit=timedelta(seconds=settings.payment_step_limit_seconds),
        ),
        claim_windows=windows,
        returned_debit_pay_window=settings.returned_debit_pay_window,
    )
    admission = Admission(settings.max_checkouts_in_flight)
    runtime_ref: list[ServiceRuntime] = []
    _configure_rules(settings)
    esign, documents = _esign(settings, outbox, runtime_ref)
    timers = _timers(settings, outbox, handlers, esign)

    async def reconcile_envelopes(runtime: ServiceRuntime) -> None:
        """Built-in provider: expire overdue envelopes and redeliver outcomes whose callback
        failed. (Dropbox Sign pushes its outcomes to /webhooks/dropbox-sign instead.)"""
        if isinstance(esign, BuiltinESignProvider):
            await esign.reconcile()

    runtime = ServiceRuntime(
        name=NAME,
        settings=settings,
        router=build_router(handlers),
        produces=PRODUCES,
        # The checkout's path: authorizations and captures, fetched as they come.
        prompt_topics=(PaymentAuthorizedV1.TOPIC,),
        workers=(
            timers_worker(timers),
            every(settings.scheduler_poll_seconds, reconcile_envelopes, name="esign-reconcile"),
            every(settings.admission_refresh_seconds, admission.measure, name="admission"),
        ),
    )
    runtime_ref.append(runtime)
    runtime.state.update(
        outbox=outbox, esign=esign, documents=documents, admission=admission, claim_windows=windows
    )
    return runtime


def build_app(runtime: ServiceRuntime) -> FastAPI:
    settings = runtime.settings
    assert isinstance(settings, BookingSettings)
    app = create_app(
        runtime,
        title="Marketplace booking gateway",
        version="1.0.0",
        description="Clients' entry point: listings and Instant Book checkout. Authenticate with "
        "`Authorization: Bearer <HS256 JWT>` carrying `sub` and `role` (guest, host, admin; "
        "trust: trust & safety staff, who read and decide claims here). "
        'Mutating calls honour `Idempotency-Key`. Errors are `{"error": {"code", "message"}}`.',
    )
    http.install(
        app,
        runtime.state["outbox"],
        settings.jwt_secret,
        timedelta(seconds=settings.hold_ttl_seconds),
        timedelta(seconds=settings.request_window_seconds)
        if settings.request_window_seconds
        else None,
        timedelta(days=settings.authorization_horizon_days),
        timedelta(seconds=settings.overtime_dispute_window_seconds),
        admission=runtime.state["admission"],
        forwarded_for_hops=settings.forwarded_for_hops,
        bank_debit_lead=settings.bank_debit_min_lead,
    )
    app.state.booking_horizon = timedelta(days=settings.horizon_days)
    app.state.claim_windows = runtime.state["claim_windows"]
    esign = runtime.state["esign"]
    if isinstance(esign, BuiltinESignProvider):
        app.include_router(
            build_signing_router(
                esign,
                forwarded_for_hops=settings.forwarded_for_hops,
                public_base_url=settings.public_base_url,
            )
        )
    else:
        app.include_router(build_dropbox_sign_router(runtime.state["documents"], ack=CALLBACK_ACK))
    return app
