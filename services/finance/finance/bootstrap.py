"""Composition root of the finance service."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi import FastAPI

from eventkit.outbox import Outbox
from eventkit.periodic import every
from eventkit.runtime import ServiceRuntime, Worker, create_app
from finance.adapters.stripe_balance import SdkStripeBalance, StripeBalance
from finance.config import FinanceSettings
from finance.domain.close import parse_cutoff
from finance.entrypoints import books_http, http, payouts_http
from finance.entrypoints.consumers import build_router
from finance.service_layer.books import Books
from finance.service_layer.close import DailyClose
from finance.service_layer.handlers import FinanceHandlers
from finance.service_layer.recon_facts import ReconFacts
from finance.service_layer.reconcile import Reconciler
from marketplace_contracts.events.finance import JournalPostedV1, PayoutReleasedV1
from marketplace_contracts.events.finance_books import (
    DayClosedV1,
    ReconciliationExceptionRaisedV1,
)

NAME = "finance"


def system_clock() -> datetime:
    """The clock the books follow (finq's eventkit.clock replaces it for simulated time)."""
    return datetime.now(UTC)


def build_books(
    settings: FinanceSettings,
    outbox: Outbox,
    *,
    stripe: StripeBalance | None = None,
    now: Callable[[], datetime] = system_clock,
) -> Books:
    stripe = stripe or SdkStripeBalance(settings.stripe_api_key, settings.stripe_api_base)
    reconciler = Reconciler(
        stripe,
        now,
        lookback=timedelta(seconds=settings.recon_lookback_seconds),
        grace=timedelta(seconds=settings.recon_grace_seconds),
        outbox=outbox,
    )
    close = DailyClose(stripe, now, parse_cutoff(settings.close_cutoff), outbox, reconciler)
    return Books(stripe, reconciler, close, now, timedelta(seconds=settings.recon_import_seconds))


def books_workers(settings: FinanceSettings, books: Books) -> list[Worker]:
    """The books' periodic work: the import round (and the posting calendar) and the close."""
    workers = [every(settings.recon_poll_seconds, lambda rt: books.tick(rt.db), name="books")]
    if settings.close_check_seconds:
        close = every(settings.close_check_seconds, lambda rt: books.close_due(rt.db), name="close")
        workers.append(close)
    return workers


def build_runtime(settings: FinanceSettings) -> ServiceRuntime:
    outbox = Outbox(NAME, producer=NAME)
    books = build_books(settings, outbox)
    router = build_router(FinanceHandlers(outbox), recon=ReconFacts(books.now))
    runtime = ServiceRuntime(
        name=NAME,
        settings=settings,
        router=router,
        produces=(
            JournalPostedV1,
            PayoutReleasedV1,
            DayClosedV1,
            ReconciliationExceptionRaisedV1,
        ),
        workers=books_workers(settings, books),
    )
    runtime.state["books"] = books
    return runtime


def build_app(runtime: ServiceRuntime) -> FastAPI:
    app = create_app(runtime, title="Marketplace finance service", version="1.0.0")
    http.install(app)
    payouts_http.install(app)
    books_http.install(app)
    return app
