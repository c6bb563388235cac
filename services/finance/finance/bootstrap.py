"""Composition root of the finance service."""

from __future__ import annotations

from fastapi import FastAPI

from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime, create_app
from finance.config import FinanceSettings
from finance.entrypoints import http, payouts_http
from finance.entrypoints.consumers import build_router
from finance.service_layer.handlers import FinanceHandlers
from marketplace_contracts.events.finance import JournalPostedV1, PayoutReleasedV1

NAME = "finance"


def build_runtime(settings: FinanceSettings) -> ServiceRuntime:
    router = build_router(FinanceHandlers(Outbox(NAME, producer=NAME)))
    return ServiceRuntime(
        name=NAME, settings=settings, router=router, produces=(JournalPostedV1, PayoutReleasedV1)
    )


def build_app(runtime: ServiceRuntime) -> FastAPI:
    app = create_app(runtime, title="Marketplace finance service", version="1.0.0")
    http.install(app)
    payouts_http.install(app)
    return app
