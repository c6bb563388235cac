"""Composition root of the payments service."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
from fastapi import FastAPI

from eventkit.outbox import Outbox
from eventkit.routing import EventRouter
from eventkit.runtime import ServiceRuntime, create_app
from marketplace_contracts.events import payments as events
from marketplace_contracts.events import payments_disputes as disputes
from marketplace_contracts.events.booking import CheckoutRequestedV1
from payments import metrics
from payments.adapters.stripe_gateway import StripeGateway, gateway_from_settings
from payments.config import PaymentsSettings
from payments.entrypoints import http, staff_http
from payments.entrypoints.consumers import build_router
from payments.service_layer.authorization_expiry import sweeper
from payments.service_layer.bank_debits import cleared_sweeper
from payments.service_layer.handlers import PaymentHandlers
from payments.service_layer.refunds import Refunds
from payments.service_layer.reversals import reversal_worker
from payments.service_layer.webhooks import webhook_worker

NAME = "payments"
PRODUCES = (
    events.PaymentAuthorizedV1,
    events.PaymentFailedV1,
    events.PaymentCapturedV2,
    events.PaymentVoidedV1,
    events.PaymentMethodSavedV1,
    events.RefundSucceededV1,
    events.RefundFailedV1,
    events.AuthorizationExpiringV1,
    events.HostAccountUpdatedV1,
    events.PaymentReauthorizedV1,
    events.ReauthorizationFailedV1,
    events.TransferCreatedV1,
    events.TransferFailedV1,
    events.TransferReversedV1,
    events.TransferReversalFailedV1,
    events.PaymentProcessingV1,
    events.PaymentReturnedV1,
    events.FundsClearedV1,
    events.PaymentActionRequiredV1,
    disputes.DisputeOpenedV1,
    disputes.DisputeUpdatedV1,
    disputes.DisputeFundsWithdrawnV1,
    disputes.DisputeFundsReinstatedV1,
    disputes.DisputeClosedV1,
    disputes.EarlyFraudWarningReceivedV1,
    disputes.DisputeEvidenceSubmittedV1,
    disputes.DisputeAcceptedV1,
    disputes.DisputeActionFailedV1,
)


def stripe_gateway(settings: PaymentsSettings) -> StripeGateway:
    return gateway_from_settings(
        settings.stripe_api_key, settings.stripe_api_base, settings.stripe_upload_api_base
    )


def ops_refunds(settings: PaymentsSettings, pool: asyncpg.Pool) -> Refunds:
    """Refunds as ops' `retry-refund` runs them: the consumer's settings, its own gateway
    (closed by the caller: `refunds.stripe.close()`)."""
    return Refunds(
        lambda: pool,
        Outbox(NAME, producer=NAME),
        stripe_gateway(settings),
        max_attempts=settings.refund_max_attempts,
        retry_backoff=settings.consumer_backoff_base,
    )


def build_runtime(settings: PaymentsSettings) -> ServiceRuntime:
    stripe = stripe_gateway(settings)
    runtime = ServiceRuntime(
        name=NAME,
        settings=settings,
        router=EventRouter(NAME),
        produces=PRODUCES,
        # The checkout's path: checkouts to authorize and confirmations to capture, as they come.
        prompt_topics=(CheckoutRequestedV1.TOPIC,),
        workers=(
            webhook_worker,
            cleared_sweeper(Outbox(NAME, producer=NAME), settings.bank_debit_sweep_seconds),
            sweeper(
                Outbox(NAME, producer=NAME),
                timedelta(seconds=settings.authorization_lifetime_seconds),
                timedelta(seconds=settings.authorization_expiry_margin_seconds),
                settings.authorization_sweep_seconds,
                stripe,
                timedelta(seconds=settings.replaced_authorization_grace_seconds),
            ),
            metrics.gauges_worker(timedelta(seconds=settings.authorization_lifetime_seconds)),
        ),
        closers=(stripe.close,),
    )
    handlers = PaymentHandlers(
        lambda: runtime.db,
        Outbox(NAME, producer=NAME),
        stripe,
        refund_max_attempts=settings.refund_max_attempts,
        refund_retry_backoff=settings.consumer_backoff_base,
    )
    runtime.router = build_router(handlers)
    runtime.workers = (
        *runtime.workers,
        reversal_worker(lambda: handlers.reversals, settings.transfer_reversal_sweep_seconds),
    )
    runtime.state["stripe"] = stripe
    return runtime


def build_app(runtime: ServiceRuntime) -> FastAPI:
    settings = runtime.settings
    assert isinstance(settings, PaymentsSettings)
    app = create_app(runtime, title="Marketplace payments service", version="1.0.0")
    http.install(app, settings.stripe_webhook_secret)
    staff_http.install(app)
    return app
