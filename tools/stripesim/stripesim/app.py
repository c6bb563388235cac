"""FastAPI application factory of the simulator."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from fastapi import FastAPI

from stripesim import persistence
from stripesim.api import ApiEndpoint
from stripesim.control import build_router
from stripesim.state import ACH_SETTLEMENT_SECONDS, SimState
from stripesim.webhooks import WebhookDispatcher

DEFAULT_WEBHOOK_SECRET = "whsec_local_dev"
ACH_SETTLEMENT_ENV = "STRIPESIM_ACH_SETTLEMENT_SECONDS"
log = logging.getLogger("stripesim")


def ach_settlement_seconds_from_env() -> int:
    """``STRIPESIM_ACH_SETTLEMENT_SECONDS`` (default 4 days)."""
    raw = os.environ.get(ACH_SETTLEMENT_ENV, "").strip()
    return int(raw) if raw else ACH_SETTLEMENT_SECONDS


async def _timer_loop(api: ApiEndpoint, every: float) -> None:
    """Let sim time act without a request: expire authorizations, settle bank debits."""
    while True:
        await asyncio.sleep(every)
        try:
            api.run_timers()
        except Exception:  # a bug in one timer must not stop the others for good
            log.exception("stripesim: timers failed")


def create_app(
    webhook_url: str | None = None,
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
    *,
    webhook_max_attempts: int = 5,
    webhook_backoff: float = 0.5,
    state_file: Path | None = None,
    ach_settlement_seconds: int | None = None,
    timer_interval: float = 1.0,
    webhook_transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """A simulator. Webhooks go to ``webhook_url`` (if any), signed with the secret. With a
    ``state_file``, state survives restarts (see ``persistence``). A bank debit settles after
    ``ach_settlement_seconds`` of sim time (default: ``STRIPESIM_ACH_SETTLEMENT_SECONDS``, else
    4 days); every ``timer_interval`` seconds the app checks what sim time has brought about.
    ``webhook_transport`` (tests) delivers webhooks without sockets."""
    state = SimState()
    state.ach_settlement_seconds = (
        ach_settlement_seconds_from_env()
        if ach_settlement_seconds is None
        else ach_settlement_seconds
    )
    if state_file is not None:
        persistence.restore(state, state_file)
    dispatcher = WebhookDispatcher(
        webhook_url,
        webhook_secret,
        max_attempts=webhook_max_attempts,
        backoff=webhook_backoff,
        transport=webhook_transport,
    )
    state.listeners.append(dispatcher.enqueue)
    api = ApiEndpoint(state, dispatcher)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        await dispatcher.start()
        saver = (
            asyncio.create_task(persistence.snapshot_loop(state, state_file))
            if state_file is not None
            else None
        )
        timers = asyncio.create_task(_timer_loop(api, timer_interval))
        try:
            yield
        finally:
            timers.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await timers
            if saver is not None:
                saver.cancel()
                persistence.save(state, state_file)  # type: ignore[arg-type]
            await dispatcher.stop()

    app = FastAPI(
        title="stripesim",
        lifespan=lifespan,
        openapi_url="/_sim/openapi.json",
        docs_url="/_sim/docs",
        redoc_url=None,
    )
    app.state.sim = state
    app.state.dispatcher = dispatcher
    app.include_router(build_router(api))
    app.add_api_route(
        "/v1/{path:path}", api, methods=["GET", "POST", "DELETE"], include_in_schema=False
    )
    return app
