"""Composition root of the booking service and gateway."""

from __future__ import annotations

from fastapi import FastAPI

from booking.config import BookingSettings
from booking.entrypoints import http
from booking.entrypoints.consumers import build_router
from booking.service_layer.handlers import BookingHandlers
from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime, create_app
from marketplace_contracts.events.booking import (
    BookingConfirmedV1,
    BookingFailedV1,
    CheckoutRequestedV1,
)

NAME = "booking"
PRODUCES = (CheckoutRequestedV1, BookingConfirmedV1, BookingFailedV1)


def build_runtime(settings: BookingSettings) -> ServiceRuntime:
    outbox = Outbox(NAME, producer=NAME)
    runtime = ServiceRuntime(
        name=NAME,
        settings=settings,
        router=build_router(BookingHandlers(outbox)),
        produces=PRODUCES,
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
    http.install(app, runtime.state["outbox"], settings.jwt_secret)
    return app
