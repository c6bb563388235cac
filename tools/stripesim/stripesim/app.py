"""FastAPI application factory of the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Receive, Scope, Send

from stripesim import config, control_balance, control_disputes
from stripesim.api import ApiEndpoint
from stripesim.config import DEFAULT_WEBHOOK_SECRET
from stripesim.control import build_router
from stripesim.eventlog import EventLog
from stripesim.persistence import Persistence
from stripesim.state import SimState
from stripesim.timers import TIMED_TYPES
from stripesim.webhooks import RetrySchedule, WebhookDispatcher

__all__ = ["DEFAULT_WEBHOOK_SECRET", "ach_settlement_seconds_from_env", "create_app"]
log = logging.getLogger("stripesim")


def ach_settlement_seconds_from_env() -> int:
    """``STRIPESIM_ACH_SETTLEMENT_SECONDS`` (default 4 days)."""
    return int(config.from_env()["ach_settlement_seconds"])


async def _timer_loop(api: ApiEndpoint, every: float) -> None:
    """Let sim time act without a request: expire authorizations, settle bank debits; forget
    idempotency keys past 24 h and events past 30 days (or beyond the memory bound)."""
    while True:
        await asyncio.sleep(every)
        try:
            api.run_timers()
            api.state.purge_idempotency()
            api.state.prune_events()
        except Exception:  # a bug in one timer must not stop the others for good
            log.exception("stripesim: timers failed")


def _lifespan(
    api: ApiEndpoint, persistence: Persistence | None, timer_interval: float
) -> Callable[[FastAPI], AbstractAsyncContextManager[None]]:
    """Start the webhook workers, the snapshot loop and the timers; at the end, stop them and
    write the last snapshot."""

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await api.dispatcher.start()
        saver = asyncio.create_task(persistence.run()) if persistence is not None else None
        timers = asyncio.create_task(_timer_loop(api, timer_interval))
        # What start built (modules, the app, the loaded state) is frozen out of the cyclic
        # collector's walks, and young collections run every 50,000 allocations instead of
        # 700: the objects of a request die by reference counting (docs/benchmarks.md).
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, *gc.get_threshold()[1:])
        try:
            yield
        finally:
            for task in (timers, saver):
                if task is not None:
                    task.cancel()
                    with contextlib.suppress(asyncio.CancelledError):
                        await task
            await api.dispatcher.stop()
            if persistence is not None:
                persistence.close()

    return lifespan


def _setting(value: Any, name: str) -> Any:
    return config.from_env()[name] if value is None else value


def create_app(
    webhook_url: str | None = None,
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
    *,
    webhook_max_attempts: int | None = None,
    webhook_backoff: float | None = None,
    webhook_backoff_cap: float | None = None,
    webhook_retry_horizon: float | None = None,
    webhook_workers: int | None = None,
    webhook_events: frozenset[str] | None = None,
    state_file: Path | None = None,
    snapshot_seconds: float | None = None,
    events_in_memory: int | None = None,
    objects_in_memory: int | None = None,
    idempotency_in_memory: int | None = None,
    ach_settlement_seconds: int | None = None,
    available_delay_seconds: int | None = None,
    automatic_payouts: bool | None = None,
    payout_time: int | None = None,
    payout_arrival_seconds: int | None = None,
    timer_interval: float = 1.0,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """A simulator. Webhooks go to ``webhook_url`` (if any), signed with the secret, by
    ``webhook_workers`` workers (only the types in ``webhook_events``, or all with ``*``), retried after ``webhook_backoff`` seconds doubling up to
    ``webhook_backoff_cap`` for ``webhook_retry_horizon`` seconds (``webhook_max_attempts``:
    fewer, for tests). With a ``state_file``, state survives restarts (see ``persistence``)
    and memory keeps ``objects_in_memory`` objects and ``idempotency_in_memory`` records.
    A bank debit settles after ``ach_settlement_seconds`` of sim time; a charge's funds are
    available ``available_delay_seconds`` after it; with ``automatic_payouts`` the available
    balance is paid out daily at ``payout_time`` (seconds after midnight UTC), arriving
    ``payout_arrival_seconds`` later; every
    ``timer_interval`` seconds the app checks what sim time has brought about. A setting left
    None comes from the environment (``config``). ``webhook_transport`` (tests) delivers
    webhooks without sockets."""
    state = _state(
        events_in_memory=events_in_memory,
        ach_settlement_seconds=ach_settlement_seconds,
        available_delay_seconds=available_delay_seconds,
        automatic_payouts=automatic_payouts,
        payout_time=payout_time,
        payout_arrival_seconds=payout_arrival_seconds,
    )
    schedule = RetrySchedule(
        base=_setting(webhook_backoff, "webhook_retry_base"),
        cap=_setting(webhook_backoff_cap, "webhook_retry_cap"),
        horizon=_setting(webhook_retry_horizon, "webhook_retry_horizon"),
        max_attempts=webhook_max_attempts,
    )
    dispatcher = WebhookDispatcher(
        webhook_url,
        webhook_secret,
        schedule=schedule,
        workers=_setting(webhook_workers, "webhook_workers"),
        enabled_events=_setting(webhook_events, "webhook_events"),
        transport=webhook_transport,
    )
    persistence = None
    if state_file is not None:
        persistence = Persistence(
            state,
            dispatcher,
            Path(state_file),
            _setting(snapshot_seconds, "snapshot_seconds"),
            objects_in_memory=_setting(objects_in_memory, "objects_in_memory"),
            keys_in_memory=_setting(idempotency_in_memory, "idempotency_in_memory"),
        )
        persistence.restore(timed=TIMED_TYPES)
    return _app(state, dispatcher, persistence, timer_interval)


def _state(**settings: Any) -> SimState:
    """The simulator's state, each setting left None taken from the environment."""
    state = SimState(
        events=EventLog(_setting(settings.pop("events_in_memory"), "events_in_memory"))
    )
    for name, value in settings.items():
        setattr(state, name, _setting(value, name))
    return state


def _app(
    state: SimState,
    dispatcher: WebhookDispatcher,
    persistence: Persistence | None,
    timer_interval: float,
) -> FastAPI:
    state.listeners.append(dispatcher.enqueue)
    api = ApiEndpoint(state, dispatcher)
    if persistence is not None:
        api.durable = persistence.durable

    lifespan = _lifespan(api, persistence, timer_interval)
    app = FastAPI(
        title="stripesim",
        lifespan=lifespan,
        openapi_url="/_sim/openapi.json",
        docs_url="/_sim/docs",
        redoc_url=None,
    )
    app.state.sim = state
    app.state.dispatcher = dispatcher
    app.state.persistence = persistence
    app.include_router(build_router(api, persistence))
    app.include_router(control_balance.build_router(api))
    app.include_router(control_disputes.build_router(api))
    app.add_api_route("/v1/{path:path}", api, methods=list(API_METHODS), include_in_schema=False)
    app.add_middleware(DirectApi, api=api)
    return app


API_METHODS = ("GET", "POST", "DELETE")


class DirectApi:
    """The `/v1` requests go straight to the API endpoint: the same answer as its route's, less
    the router's matching through every control route and FastAPI's request handling, which
    cost more than many a request itself (the simulator must not be a benchmark's
    bottleneck). Every other request, another method on `/v1` too, goes to the app."""

    def __init__(self, app: ASGIApp, api: ApiEndpoint) -> None:
        self.app = app
        self.api = api

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"].startswith("/v1/")
            and scope["method"] in API_METHODS
        ):
            response = await self.api(Request(scope, receive))
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)
