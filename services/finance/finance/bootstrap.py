"""Composition root of the finance service: the clock, the payout queue and its scheduler, the
books (Stripe import, reconciliation, daily close), the routing table and the HTTP app."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from eventkit.clock import Clock, FollowedClock, service_clock
from eventkit.outbox import Outbox
from eventkit.periodic import Pace, every
from eventkit.runtime import ServiceRuntime, Worker, create_app
from eventkit.scheduler import Scheduler, timer_workers
from finance import metrics
from finance.adapters.stripe_balance import SdkStripeBalance, StripeBalance
from finance.config import FinanceSettings
from finance.domain.close import parse_cutoff
from finance.entrypoints import books_http, http, payouts_http, queue_http
from finance.entrypoints.consumers import build_router
from finance.service_layer.books import Books
from finance.service_layer.close import DailyClose
from finance.service_layer.handlers import FinanceHandlers
from finance.service_layer.payout_queue import (
    DEBIT_WINDOW,
    PAYOUT_DUE,
    PAYOUT_RETRY,
    RESERVE_RELEASE,
    Queue,
    QueueSettings,
)
from finance.service_layer.payout_release import Release
from finance.service_layer.payouts import Payouts
from finance.service_layer.queue_facts import QueueFacts
from finance.service_layer.recon_facts import ReconFacts
from finance.service_layer.reconcile import Reconciler
from marketplace_contracts.events import finance as events
from marketplace_contracts.events import finance_books

NAME = "finance"
PRODUCES = (
    events.JournalPostedV1,
    events.PayoutReleasedV1,
    events.PayoutScheduledV1,
    events.PayoutHeldV1,
    events.PayoutTransferredV1,
    events.PayoutFailedV1,
    events.ReserveHeldV1,
    events.ReserveReleasedV1,
    events.NegativeBalanceRecordedV1,
    events.NegativeBalanceRecoveredV1,
    events.TransferReversalRequestedV1,
    finance_books.DayClosedV1,
    finance_books.ReconciliationExceptionRaisedV1,
)


def build_clock(settings: FinanceSettings) -> Clock:
    """The time finance acts on: the system's, or the one at `FINANCE_CLOCK_URL` (read once
    now, then refreshed by the service's clock worker)."""
    return service_clock(settings.clock_url, settings.clock_refresh_seconds)


def queue_settings(settings: FinanceSettings) -> QueueSettings:
    return QueueSettings(
        delay=timedelta(seconds=settings.payout_delay_seconds),
        minimum=settings.payout_minimum,
        max_retries=settings.payout_max_retries,
        retry_seconds=settings.payout_retry_seconds,
    )


def build_queue(
    settings: FinanceSettings, outbox: Outbox, clock: Clock | None = None
) -> tuple[Clock, Queue, Release, Scheduler]:
    """The service's clock, the queue on it, its release, and the scheduler that runs its
    jobs (the CLI builds the same, to act as staff)."""
    clock = clock or build_clock(settings)
    queue = Queue(outbox, queue_settings(settings), clock.now)
    release = Release(queue)
    timers = Scheduler(
        NAME,
        {
            PAYOUT_DUE: release.due_job,
            PAYOUT_RETRY: release.retry_job,
            RESERVE_RELEASE: release.reserve_job,
            DEBIT_WINDOW: release.debit_window_job,
        },
        poll_interval=settings.scheduler_poll_seconds,
        now=clock.now if isinstance(clock, FollowedClock) else None,
    )
    return clock, queue, release, timers


def build_books(
    settings: FinanceSettings,
    outbox: Outbox,
    *,
    stripe: StripeBalance | None = None,
    clock: Clock | None = None,
) -> Books:
    """The Stripe import, the reconciliation and the daily close, on the service's clock."""
    now = (clock or build_clock(settings)).now
    stripe = stripe or SdkStripeBalance(settings.stripe_api_key, settings.stripe_api_base)
    reconciler = Reconciler(
        stripe,
        now,
        lookback=timedelta(seconds=settings.recon_lookback_seconds),
        grace=timedelta(seconds=settings.recon_grace_seconds),
        outbox=outbox,
    )
    close = DailyClose(stripe, now, parse_cutoff(settings.close_cutoff), outbox, reconciler)
    return Books(
        stripe,
        reconciler,
        close,
        now,
        timedelta(seconds=settings.recon_import_seconds),
        Pace(settings.recon_import_duty),
    )


def books_workers(settings: FinanceSettings, books: Books) -> list[Worker]:
    """The books' periodic work: the import round (and the posting calendar) and the close.

    A round under way is cancelled at the stop, not waited for: paced, it can last a minute,
    and cancelling it loses nothing (each batch is stored in its own transaction, the cursor
    moves only at the round's end, and the next round reads again from there)."""
    tick = every(
        settings.recon_poll_seconds,
        lambda rt: books.tick(rt.db),
        name="books",
        abandon_on_stop=True,
    )
    workers = [tick]
    if settings.close_check_seconds:
        close = every(settings.close_check_seconds, lambda rt: books.close_due(rt.db), name="close")
        workers.append(close)
    return workers


def build_runtime(settings: FinanceSettings) -> ServiceRuntime:
    # The events and payout timers of an event's transaction: one statement at its end.
    outbox = Outbox(NAME, producer=NAME, deferred=True)
    clock, queue, release, timers = build_queue(settings, outbox)
    books = build_books(settings, outbox, clock=clock)
    router = build_router(
        FinanceHandlers(outbox),
        Payouts(outbox, queue),
        QueueFacts(queue, release),
        recon=ReconFacts(books.now),
    )
    runtime = ServiceRuntime(
        name=NAME,
        settings=settings,
        router=router,
        produces=PRODUCES,
        workers=(
            *timer_workers(clock, timers),
            *books_workers(settings, books),
            metrics.gauges_worker(books.now),
        ),
        closers=(books.stripe.close,),
    )
    runtime.state.update(release=release, timers=timers, books=books, settings=settings)
    return runtime


def build_app(runtime: ServiceRuntime) -> FastAPI:
    app = create_app(runtime, title="Marketplace finance service", version="1.0.0")
    http.install(app)
    payouts_http.install(app)
    queue_http.install(app)
    books_http.install(app)
    return app
