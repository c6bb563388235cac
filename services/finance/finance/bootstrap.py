"""Composition root of the finance service."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from fastapi import FastAPI

from eventkit.clock import Clock, FollowedClock, clock_from
from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime, create_app
from eventkit.scheduler import Scheduler
from finance.config import FinanceSettings
from finance.entrypoints import http, payouts_http, queue_http
from finance.entrypoints.consumers import build_router
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
from marketplace_contracts.events import finance as events

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
)


def queue_settings(settings: FinanceSettings) -> QueueSettings:
    return QueueSettings(
        delay=timedelta(seconds=settings.payout_delay_seconds),
        minimum=settings.payout_minimum,
        max_retries=settings.payout_max_retries,
        retry_seconds=settings.payout_retry_seconds,
    )


def build_queue(
    settings: FinanceSettings, outbox: Outbox
) -> tuple[Clock, Queue, Release, Scheduler]:
    """The service's clock, the queue on it, its release, and the scheduler that runs its
    jobs (the CLI builds the same, to act as staff)."""
    clock = clock_from(settings.clock_url)
    if isinstance(clock, FollowedClock):
        clock.refresh_seconds = settings.clock_refresh_seconds
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


def build_runtime(settings: FinanceSettings) -> ServiceRuntime:
    outbox = Outbox(NAME, producer=NAME)
    clock, queue, release, timers = build_queue(settings, outbox)
    handlers = FinanceHandlers(outbox)
    router = build_router(handlers, Payouts(outbox, queue), QueueFacts(queue, release))

    async def run_timers(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        await timers.run(runtime.db, stop)

    async def follow_clock(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        if isinstance(clock, FollowedClock):
            await clock.run(stop)

    runtime = ServiceRuntime(
        name=NAME,
        settings=settings,
        router=router,
        produces=PRODUCES,
        workers=(follow_clock, run_timers),
    )
    runtime.state["release"] = release
    runtime.state["timers"] = timers
    return runtime


def build_app(runtime: ServiceRuntime) -> FastAPI:
    app = create_app(runtime, title="Marketplace finance service", version="1.0.0")
    http.install(app)
    payouts_http.install(app)
    queue_http.install(app)
    return app
