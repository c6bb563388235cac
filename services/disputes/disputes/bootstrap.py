"""Composition root of the disputes service."""

from __future__ import annotations

from fastapi import FastAPI

from disputes.config import DisputesSettings
from disputes.entrypoints import http
from disputes.entrypoints.consumers import build_router
from eventkit.runtime import ServiceRuntime, create_app

NAME = "disputes"


def build_runtime(settings: DisputesSettings) -> ServiceRuntime:
    return ServiceRuntime(name=NAME, settings=settings, router=build_router())


def build_app(runtime: ServiceRuntime) -> FastAPI:
    app = create_app(runtime, title="Marketplace disputes service", version="1.0.0")
    http.install(app)
    return app
