"""One service process: asyncpg pool, outbox relay, Kafka consumers, background workers, HTTP.

Nothing connects at import or construction time; `start()` does, from the app's lifespan.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

import asyncpg
from aiokafka import AIOKafkaProducer
from fastapi import Depends, FastAPI
from faststream.kafka import KafkaBroker
from faststream.specification import AsyncAPI
from starlette.types import ASGIApp

from eventkit import heap, http_errors, logs, metrics, metrics_refresh, tracing
from eventkit.consumer import MessageProcessor
from eventkit.db import create_pool, plain_dsn
from eventkit.dead_letters import DeadLetters
from eventkit.head import HeadAsGet
from eventkit.housekeeping import trim_eventing_tables
from eventkit.http_outages import OutagesAnswered
from eventkit.keyed_consumer import KeyedConsumer
from eventkit.producer import durable_producer
from eventkit.relay import OutboxRelay
from eventkit.routing import EventRouter
from eventkit.settings import ServiceSettings
from eventkit.strict_query import no_unknown_query
from eventkit.subscriber import document
from marketplace_contracts import CATALOGUE, retry_topic

log = logging.getLogger("eventkit.runtime")

# Connections beyond the consumer's: HTTP requests, the scheduler and the other workers. The
# relay has its own connection outside the pool.
POOL_HEADROOM = 8
# How long a stopping service waits for each of its tasks (relay, consumer, workers) to finish
# what it is doing before cancelling it.
STOP_TIMEOUT_SECONDS = 10

Worker = Callable[["ServiceRuntime", asyncio.Event], Coroutine[Any, Any, None]]


@dataclass
class ServiceRuntime:
    name: str
    settings: ServiceSettings
    router: EventRouter
    produces: Sequence[type] = ()
    workers: Sequence[Worker] = ()
    # Consumers of the service's own besides the routing one (ops' timeline projection):
    # their lag is reported like the routing consumer's (eventkit.metrics_refresh).
    lag_sources: Sequence[metrics_refresh.LagSource] = ()
    # Released on stop, once the workers and consumers have ended (a Stripe client's HTTP
    # session: a process that exits without closing it logs an unclosed session).
    closers: Sequence[Callable[[], Awaitable[None]]] = ()
    # Topics on the checkout's path, fetched the moment a record arrives (booking: payments'
    # events; payments: booking's). When set, the service's other topics are read in batches
    # by a second consumer of the same group (`consumer_batch_*` settings): a record there
    # (finance's journals and payouts, disputes, listings, replays) no longer costs a fetch
    # of its own on the path's consumer. Empty: one consumer, with the service's fetch settings.
    prompt_topics: Sequence[str] = ()
    pool: asyncpg.Pool | None = None
    producer: AIOKafkaProducer | None = None
    consumers: list[KeyedConsumer] = field(default_factory=list)
    relay: OutboxRelay | None = None
    processor: MessageProcessor | None = None
    stop_event: asyncio.Event = field(default_factory=asyncio.Event)
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    # Settle the heap once started (eventkit.heap): set for the process `serve` runs, not for
    # apps a test builds and drops by the hundred in one interpreter.
    settles_heap: bool = False

    @property
    def db(self) -> asyncpg.Pool:
        assert self.pool is not None, "runtime not started"
        return self.pool

    async def start(self) -> None:
        s = self.settings
        # Every unit the consumer runs holds one connection; HTTP must not wait behind them.
        self.pool = await create_pool(
            s.database_url,
            max_size=s.consumer_concurrency + self._batch_units() + POOL_HEADROOM,
            application_name=self.name,
        )
        self.producer = durable_producer(s.kafka_bootstrap, client_id=f"{self.name}-relay")
        await self.producer.start()
        self.relay = OutboxRelay(
            plain_dsn(s.database_url), self.name, self.producer, batch_size=s.relay_batch_size
        )
        self.tasks.append(asyncio.create_task(self.relay.run(self.stop_event), name="relay"))
        for worker in (trim_eventing_tables, *metrics_refresh.workers(), *self.workers):
            name = getattr(worker, "__name__", repr(worker))
            self.tasks.append(asyncio.create_task(worker(self, self.stop_event), name=name))
        if self.router.routes:
            self.processor = MessageProcessor(
                self.pool,
                self.name,
                self.router,
                DeadLetters(self.producer, self.name),
                max_attempts=s.consumer_max_attempts,
                backoff_base=s.consumer_backoff_base,
            )
            for topics, concurrency, batched in self.consumer_plan():
                consumer = self._keyed_consumer(topics, concurrency, batched=batched)
                self.consumers.append(consumer)
                self.tasks.append(
                    asyncio.create_task(consumer.run(self.stop_event), name=consumer.client_id)
                )
        log.info(
            "%s started: consumes %s", self.name, [c.topics for c in self.consumers] or "nothing"
        )

    async def stop(self) -> None:
        self.stop_event.set()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                try:
                    await asyncio.wait_for(task, timeout=STOP_TIMEOUT_SECONDS)
                except TimeoutError:
                    log.warning(
                        "%s: %s did not stop within %d s of the stop: cancelled",
                        self.name,
                        task.get_name(),
                        STOP_TIMEOUT_SECONDS,
                    )
        for close in self.closers:
            try:
                await close()
            except Exception as exc:  # stopping goes on: the pool and producer still close
                log.warning("%s: closing on stop failed: %r", self.name, exc)
        if self.producer is not None:
            await self.producer.stop()
        if self.pool is not None:
            await self.pool.close()

    @property
    def consumer(self) -> KeyedConsumer | None:
        """The first of `consumers` (the path's, if split); None without routes."""
        return self.consumers[0] if self.consumers else None

    def consumer_plan(self) -> list[tuple[list[str], int, bool]]:
        """The consumers to run: (topics, units at once, batched) each; none without routes."""
        s = self.settings
        if not self.router.routes:
            return []
        prompt = [t for t in self.consumed_topics if t in self.prompt_topics]
        rest = [t for t in self.consumed_topics if t not in self.prompt_topics]
        if not prompt or not rest:
            return [(self.consumed_topics, s.consumer_concurrency, False)]
        return [(prompt, s.consumer_concurrency, False), (rest, s.consumer_batch_concurrency, True)]

    def _batch_units(self) -> int:
        """The batched consumer's units, for which the pool holds connections too."""
        return sum(units for _, units, batched in self.consumer_plan() if batched)

    def _keyed_consumer(
        self, topics: list[str], concurrency: int, *, batched: bool
    ) -> KeyedConsumer:
        s = self.settings
        assert self.processor is not None
        min_bytes, wait_ms = (
            (s.consumer_batch_fetch_min_bytes, s.consumer_batch_fetch_wait_ms)
            if batched
            else (s.consumer_fetch_min_bytes, s.consumer_fetch_wait_ms)
        )
        client_id = f"{self.name}-{'batch-' if batched else ''}consumer"
        return KeyedConsumer(
            s.kafka_bootstrap,
            topics,
            self.name,
            self.processor,
            concurrency=concurrency,
            step_concurrency=s.consumer_step_concurrency,
            max_buffered=s.consumer_max_buffered,
            max_records=s.consumer_batch_size,
            poll_ms=s.consumer_poll_ms,
            commit_interval=s.consumer_commit_ms / 1000,
            fetch_min_bytes=min_bytes,
            fetch_wait_ms=wait_ms,
            client_id=client_id,
            instance_id=s.consumer_instance(client_id),
        )

    @property
    def consumed_topics(self) -> list[str]:
        """The routing table's topics, and the service's own retry topic when the catalogue has
        one: replayed dead letters come back through it to this service alone, to the same
        routes and inbox (so no service needs wiring of its own for replays)."""
        retry = retry_topic(self.name)
        return self.router.topics + ([retry] if retry in CATALOGUE else [])

    def health(self) -> dict[str, Any]:
        return {
            "service": self.name,
            "relay_active": bool(self.relay and self.relay.stats.active),
            "relay_published": self.relay.stats.published if self.relay else 0,
            "relay_selects": self.relay.stats.selects if self.relay else 0,
            "consumer": dict(self.processor.outcomes) if self.processor else {},
            "consumer_retries": dict(self.processor.retries) if self.processor else {},
            "consumer_status": consumers_status(self.consumers),
        }

    def asyncapi(self, version: str = "1.0.0") -> dict[str, Any]:
        broker = KafkaBroker(self.settings.kafka_bootstrap)
        retry = retry_topic(self.name)
        document(broker, self.router, self.produces, retry if retry in CATALOGUE else None)
        spec = AsyncAPI(
            broker,
            title=f"{self.name} service",
            version=version,
            description=f"Kafka interface of the {self.name} service.",
        )
        return spec.to_specification().to_jsonable()


def consumers_status(consumers: Sequence[KeyedConsumer]) -> dict[str, Any]:
    """The service's consumers' status as one (`/healthz`): counts summed, paused joined."""
    merged: dict[str, Any] = {}
    for consumer in consumers:
        for key, value in consumer.status().items():
            merged[key] = merged.get(key, type(value)()) + value
    if "paused" in merged:
        merged["paused"] = sorted(merged["paused"])
    return merged


class ServiceApp(FastAPI):
    """Every service's app: FastAPI with `http_errors.CodedTooLarge` around all of it, so that
    even the body limit's refusal is in the project's error body."""

    def build_middleware_stack(self) -> ASGIApp:
        return http_errors.CodedTooLarge(super().build_middleware_stack())


def create_app(runtime: ServiceRuntime, **fastapi_kwargs: Any) -> FastAPI:
    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.start()
        app.state.runtime = runtime
        if runtime.settles_heap:
            heap.settle(runtime.settings.gc_young_threshold)
        try:
            yield
        finally:
            await runtime.stop()

    # FastAPI's own telemetry makes each request's SERVER span, around every middleware, so the
    # access log line carries the request's trace (eventkit.tracing.FASTAPI_TELEMETRY).
    # An API path with a trailing slash is 404 `not_found` in the project's body, not an
    # undocumented 307 to the path without it (a console that wants the redirect asks for it).
    fastapi_kwargs.setdefault("redirect_slashes", False)
    # A body over this is refused 413 `payload_too_large` before it is read (routes that take
    # files name their own limit); the default is http_errors' one.
    fastapi_kwargs.setdefault("max_body_size", http_errors.MAX_BODY_BYTES)
    # A query parameter the operation does not have, or one given twice that takes one value,
    # is refused, as an unknown body field is (eventkit.strict_query).
    strict_query = Depends(no_unknown_query)
    fastapi_kwargs["dependencies"] = [strict_query, *fastapi_kwargs.get("dependencies", ())]
    app = ServiceApp(lifespan=lifespan, telemetry=tracing.FASTAPI_TELEMETRY, **fastapi_kwargs)
    app.state.jwt_secret = runtime.settings.jwt_secret  # eventkit.auth.require reads it
    http_errors.install(app)  # one error body and its OpenAPI docs for every service
    app.add_middleware(OutagesAnswered)  # inside the metrics and the access log: they see a 503
    metrics.install(app, runtime.name)  # GET /metrics beside /healthz
    app.add_middleware(logs.CorrelationMiddleware)
    app.add_middleware(HeadAsGet)  # HEAD wherever GET is

    @app.get("/healthz", tags=["ops"], summary="Liveness and eventing status")
    async def healthz() -> dict[str, Any]:
        return runtime.health()

    return app
