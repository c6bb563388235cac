"""FastAPI application of the fake: ``/v3/...`` speaks Dropbox Sign (``api``), ``/_fake/...``
controls it (``control``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from fake_dropbox_sign import api, control
from fake_dropbox_sign.callbacks import CallbackDispatcher
from fake_dropbox_sign.fake import Fake
from fake_dropbox_sign.state import FakeState

DEFAULT_API_KEY = "fake_dropbox_sign_api_key"


def create_app(
    api_key: str = DEFAULT_API_KEY,
    callback_url: str | None = None,
    *,
    callback_max_attempts: int = 3,
    callback_backoff: float = 0.2,
) -> FastAPI:
    """A fake with fresh state. Callbacks (signed with `api_key`, as Dropbox Sign does) go to
    `callback_url`, if any; ``POST /_fake/config`` changes both at run time."""
    state = FakeState(api_key)
    dispatcher = CallbackDispatcher(
        callback_url, max_attempts=callback_max_attempts, backoff=callback_backoff
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        try:
            yield
        finally:
            await dispatcher.stop()

    app = FastAPI(
        title="fake_dropbox_sign",
        lifespan=lifespan,
        openapi_url="/_fake/openapi.json",
        docs_url="/_fake/docs",
        redoc_url=None,
    )
    app.state.fake = Fake(state, dispatcher)
    app.include_router(api.router)
    app.include_router(control.router)
    return app
