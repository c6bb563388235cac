"""Composition root of the booking service and gateway."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from functools import partial

from fastapi import FastAPI

from booking.config import BookingSettings
from booking.entrypoints import http
from booking.entrypoints.consumers import build_router
from booking.service_layer import invites, payment_due
from booking.service_layer.checkout import (
    COMPLETION,
    HOLD_EXPIRY,
    PAYMENT_WINDOW,
    REQUEST_EXPIRY,
)
from booking.service_layer.handlers import BookingHandlers
from booking.service_layer.invites import INVITE_EXPIRY
from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime, create_app
from eventkit.scheduler import Scheduler
from marketplace_contracts.events.booking import (
    BookingCompletedV1,
    BookingConfirmedV1,
    BookingFailedV1,
    CheckoutRequestedV1,
    HostResponseRequestedV1,
    InviteClosedV1,
    InviteSentV1,
    PaymentRequestedV1,
    PaymentRetryRequestedV1,
)

NAME = "booking"
PRODUCES = (
    CheckoutRequestedV1,
    BookingConfirmedV1,
    BookingFailedV1,
    HostResponseRequestedV1,
    InviteSentV1,
    InviteClosedV1,
    BookingCompletedV1,
    PaymentRequestedV1,
    PaymentRetryRequestedV1,
)


def build_runtime(settings: BookingSettings) -> ServiceRuntime:
    outbox = Outbox(NAME, producer=NAME)
    handlers = BookingHandlers(outbox, timedelta(seconds=settings.payment_window_seconds))
    timers = Scheduler(
        NAME,
        {
            HOLD_EXPIRY: handlers.expire_hold,
            REQUEST_EXPIRY: handlers.expire_request,
            COMPLETION: handlers.complete,
            INVITE_EXPIRY: partial(invites.expire_job, outbox),
            PAYMENT_WINDOW: partial(payment_due.close_window, outbox),
        },
        poll_interval=settings.scheduler_poll_seconds,
    )

    async def run_timers(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        await timers.run(runtime.db, stop)

    runtime = ServiceRuntime(
        name=NAME,
        settings=settings,
        router=build_router(handlers),
        produces=PRODUCES,
        workers=(run_timers,),
    )
    runtime.state["outbox"] = outbox
    return runtime


def build_app(runtime: ServiceRuntime) -> FastAPI:
    settings = runtime.settings
    assert isinstance(settings, BookingSettings)
    app = create_app(
        runtime,
        title="Marketplace booking gateway",
        version="1.0.0",
        description="Clients' entry point: listings and Instant Book checkout. Authenticate with "
        "`Authorization: Bearer <HS256 JWT>` carrying `sub` and `role` (guest, host, admin). "
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
    )
    return app
