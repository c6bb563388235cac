"""FastAPI application factory of the simulator."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from stripesim import persistence
from stripesim.api import ApiEndpoint
from stripesim.control import build_router
from stripesim.state import SimState
from stripesim.webhooks import WebhookDispatcher

DEFAULT_WEBHOOK_SECRET = "whsec_local_dev"


def create_app(
    webhook_url: str | None = None,
    webhook_secret: str = DEFAULT_WEBHOOK_SECRET,
    *,
    webhook_max_attempts: int = 5,
    webhook_backoff: float = 0.5,
    state_file: Path | None = None,
) -> FastAPI:
    """A simulator. Webhooks go to ``webhook_url`` (if any), signed with the secret. With a
    ``state_file``, state survives restarts (see ``persistence``)."""
    state = SimState()
    if state_file is not None:
        persistence.restore(state, state_file)
    dispatcher = WebhookDispatcher(
        webhook_url, webhook_secret, max_attempts=webhook_max_attempts, backoff=webhook_backoff
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
        try:
            yield
        finally:
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
