"""The gauges read from Postgres and Kafka rather than counted as things happen: outbox backlog
and oldest row, consumer lag per partition, dead-letter topic depth.

One periodic step per service (`eventkit.periodic.every`, every `METRICS_REFRESH_SECONDS`), so a
scrape never waits on the database or the broker. Gauges of partitions no longer assigned are
removed, so a rebalance leaves no stale lag behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from aiokafka import TopicPartition

from eventkit import metrics
from eventkit.periodic import every
from marketplace_contracts import dead_letter_topic

if TYPE_CHECKING:
    from eventkit.runtime import ServiceRuntime, Worker

# Partial index `ix_outbox_unpublished`: both figures come from the few unpublished rows.
_OUTBOX = (
    "SELECT count(*) AS rows, "
    "coalesce(extract(epoch FROM now() - min(created_at)), 0)::float8 AS oldest "
    "FROM {schema}.outbox WHERE published_at IS NULL"
)


class LagSource(Protocol):
    """A consumer whose lag is reported: its group and, per assigned partition, the high
    watermark minus the committed offset (`KeyedConsumer.lag`)."""

    @property
    def group_id(self) -> str: ...

    async def lag(self) -> dict[TopicPartition, int]: ...


def workers() -> list[Worker]:
    if not metrics.enabled():
        return []
    # Read-only: abandoned at the stop rather than waited for (eventkit.periodic).
    return [every(metrics.refresh_seconds(), refresh, name="metrics_refresh", abandon_on_stop=True)]


async def refresh(runtime: ServiceRuntime) -> None:
    row = await runtime.db.fetchrow(_OUTBOX.format(schema=runtime.name))
    metrics.OUTBOX_BACKLOG.labels(runtime.name).set(row["rows"])
    metrics.OUTBOX_OLDEST_AGE.labels(runtime.name).set(row["oldest"])
    await refresh_lag(runtime)
    await _refresh_dead_letter_depth(runtime)


async def refresh_lag(runtime: ServiceRuntime) -> None:
    sources: list[LagSource] = [*runtime.lag_sources, *runtime.consumers]
    seen = runtime.state.setdefault("metrics_lag_labels", set())
    current = set()
    for source in sources:
        for tp, lag in (await source.lag()).items():
            labels = (runtime.name, source.group_id, tp.topic, str(tp.partition))
            metrics.CONSUMER_LAG.labels(*labels).set(lag)
            current.add(labels)
    for labels in seen - current:
        metrics.CONSUMER_LAG.remove(*labels)
    runtime.state["metrics_lag_labels"] = current


async def _refresh_dead_letter_depth(runtime: ServiceRuntime) -> None:
    if runtime.consumer is None or runtime.producer is None:
        return
    depth = await runtime.consumer.topic_depth(
        dead_letter_topic(runtime.name),
        await runtime.producer.partitions_for(dead_letter_topic(runtime.name)),
    )
    if depth is not None:
        metrics.DEAD_LETTER_DEPTH.labels(runtime.name).set(depth)
