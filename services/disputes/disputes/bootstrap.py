"""Composition root of the disputes service: the clock, the cases' use cases and their
timers, the routing table and the HTTP app. Everything is wired here, once."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from disputes import metrics
from disputes.config import DisputesSettings
from disputes.entrypoints import http
from disputes.entrypoints.consumers import build_router
from disputes.service_layer.cases import Cases
from disputes.service_layer.deadlines import AUTO_SUBMIT, REMINDER, Deadlines
from disputes.service_layer.handlers import DisputesHandlers
from disputes.service_layer.intake import Intake
from eventkit.clock import Clock, SystemClock, service_clock
from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime, create_app
from eventkit.scheduler import Scheduler, timer_workers
from marketplace_contracts.events import disputes as events

NAME = "disputes"
PRODUCES = (
    events.PayoutHoldChangedV1,
    events.EvidenceSubmissionRequestedV1,
    events.DisputeAcceptanceRequestedV1,
    events.DeadlineApproachingV1,
    events.DisputeResolvedV1,
)


def build_clock(settings: DisputesSettings) -> Clock:
    """The time disputes acts on: the system's, or the one at `DISPUTES_CLOCK_URL` (read once
    now, then refreshed by the service's clock worker), as finance does."""
    return service_clock(settings.clock_url, settings.clock_refresh_seconds)


def build_handlers(settings: DisputesSettings, clock: Clock | None = None) -> DisputesHandlers:
    clock = clock or build_clock(settings)
    outbox = Outbox(NAME, producer=NAME)
    deadlines = Deadlines(
        settings.reminders, timedelta(seconds=settings.auto_submit_margin_seconds)
    )
    cases = Cases(
        deadlines,
        clock.now,
        files_budget=settings.evidence_max_bytes - settings.summary_reserve_bytes,
    )
    return DisputesHandlers(outbox, Intake(deadlines, clock.now), cases)


def build_timers(settings: DisputesSettings, handlers: DisputesHandlers, clock: Clock) -> Scheduler:
    return Scheduler(
        NAME,
        {REMINDER: handlers.remind_job, AUTO_SUBMIT: handlers.auto_submit_job},
        poll_interval=settings.scheduler_poll_seconds,
        # The system clock: the database's now(); any other (followed, a test's): its own.
        now=None if isinstance(clock, SystemClock) else clock.now,
    )


def build_runtime(settings: DisputesSettings) -> ServiceRuntime:
    clock = build_clock(settings)
    handlers = build_handlers(settings, clock)
    timers = build_timers(settings, handlers, clock)
    runtime = ServiceRuntime(
        name=NAME,
        settings=settings,
        router=build_router(handlers),
        produces=PRODUCES,
        workers=(*timer_workers(clock, timers), metrics.gauges_worker(clock.now)),
    )
    runtime.state.update(handlers=handlers, timers=timers, settings=settings)
    return runtime


def build_app(runtime: ServiceRuntime) -> FastAPI:
    app = create_app(runtime, title="Marketplace disputes service", version="1.0.0")
    http.install(app)
    return app
