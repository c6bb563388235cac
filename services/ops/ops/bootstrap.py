"""Composition root of the ops service: the timeline projection, the stuck-saga detector, the
GraphQL API and the console. Everything is wired here, once."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import FastAPI

from eventkit.periodic import every
from eventkit.routing import EventRouter
from eventkit.runtime import ServiceRuntime, create_app
from ops.adapters.staff_gateway import StaffApis
from ops.config import OpsSettings
from ops.service_layer import stuck
from ops.service_layer.projection import Projection

NAME = "ops"


class OpsRuntime(ServiceRuntime):
    """The runtime, whose /healthz also says how far the timeline projection got."""

    def health(self) -> dict[str, Any]:
        projection: Projection = self.state["projection"]
        return super().health() | {
            "timeline_recorded": projection.recorded,
            "timeline_refused": projection.refused,
        }

    async def stop(self) -> None:
        await super().stop()
        apis: StaffApis = self.state["apis"]
        await apis.aclose()


def build_runtime(settings: OpsSettings) -> ServiceRuntime:
    projection = Projection(
        settings.kafka_bootstrap,
        settings.projection_group,
        fetch_min_bytes=settings.consumer_fetch_min_bytes,
        fetch_wait_ms=settings.consumer_fetch_wait_ms,
        instance_id=settings.consumer_instance(Projection.CLIENT_ID),
    )

    async def project(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        await projection.run(runtime.db, stop)

    async def detect(runtime: ServiceRuntime) -> None:
        await stuck.detect(runtime.db, settings)

    runtime = OpsRuntime(
        name=NAME,
        settings=settings,
        # No routes: the projection reads raw records itself (service_layer/projection.py).
        router=EventRouter(NAME),
        workers=(project, every(settings.stuck_scan_seconds, detect, name="stuck-sagas")),
        lag_sources=(projection,),
    )
    apis = StaffApis.build(
        secret=settings.jwt_secret,
        booking_url=settings.booking_url,
        finance_url=settings.finance_url,
        disputes_url=settings.disputes_url,
        payments_url=settings.payments_url,
        timeout=settings.staff_api_timeout_seconds,
    )
    runtime.state.update(settings=settings, projection=projection, apis=apis)
    return runtime


def build_app(runtime: ServiceRuntime) -> FastAPI:
    from ops.entrypoints import console, graphql_app

    # A person typing /console/ is sent to /console.
    app = create_app(
        runtime, title="Marketplace ops service", version="1.0.0", redirect_slashes=True
    )
    graphql_app.install(app)
    console.install(app)
    return app
