"""Booking and payments read the topic on the checkout's path with a consumer of its own, which
fetches as soon as a record arrives, and their other topics in batches; the services off the
path keep one consumer. (The saga's figures: docs/benchmarks.md.)"""

from __future__ import annotations

import pytest

from eventkit.keyed_consumer import KeyedConsumer
from eventkit.routing import EventRouter
from eventkit.runtime import ServiceRuntime, consumers_status
from eventkit.settings import BATCH_FETCH_MIN_BYTES, BATCH_FETCH_WAIT_MS, ServiceSettings
from marketplace_contracts import retry_topic
from marketplace_contracts.topics import SERVICES
from tests.support import ping_model
from tests.support.runtimes import service_runtime


@pytest.mark.parametrize(
    ("service", "path"), [("booking", "payments.events"), ("payments", "booking.events")]
)
def test_the_checkouts_path_has_a_consumer_of_its_own(service: str, path: str) -> None:
    runtime = service_runtime(service)
    s = runtime.settings
    plan = runtime.consumer_plan()
    assert [topics for topics, _, _ in plan] == [
        [path],
        [t for t in runtime.consumed_topics if t != path],
    ]
    assert retry_topic(service) in plan[1][0]  # replays come in batches too
    assert [(units, batched) for _, units, batched in plan] == [
        (s.consumer_concurrency, False),
        (s.consumer_batch_concurrency, True),
    ]
    assert (s.consumer_fetch_min_bytes, s.consumer_batch_fetch_min_bytes) == (1, 1 << 20)


@pytest.mark.parametrize("service", [s for s in SERVICES if s not in ("booking", "payments")])
def test_a_service_off_the_path_keeps_one_consumer(service: str) -> None:
    runtime = service_runtime(service)
    assert runtime.consumer_plan() == [
        (runtime.consumed_topics, runtime.settings.consumer_concurrency, False)
    ]


def test_a_runtime_splits_only_when_both_kinds_of_topic_are_there() -> None:
    settings = ServiceSettings(database_url="postgresql://unused")
    router = EventRouter("toy")
    model = ping_model("test.split.one")
    router.add(model, _apply)
    assert ServiceRuntime("toy", settings, router, prompt_topics=[model.TOPIC]).consumer_plan() == [
        ([model.TOPIC], 8, False)  # every topic prompt: one consumer, no retry topic for "toy"
    ]
    assert (
        ServiceRuntime("toy", settings, EventRouter("toy"), prompt_topics=["x"]).consumer_plan()
        == []
    )

    class Other(model):  # type: ignore[misc,valid-type]
        TYPE = "test.other"
        TOPIC = "test.split.two"

    other = Other
    router.add(other, _apply)
    plan = ServiceRuntime("toy", settings, router, prompt_topics=[other.TOPIC]).consumer_plan()
    assert plan == [([other.TOPIC], 8, False), ([model.TOPIC], 2, True)]


def test_the_batched_consumer_asks_the_broker_for_batches() -> None:
    runtime = service_runtime("booking")
    runtime.processor = object()  # type: ignore[assignment]  # not run here
    prompt, batched = (
        runtime._keyed_consumer(topics, units, batched=b)
        for topics, units, b in runtime.consumer_plan()
    )
    assert prompt.fetch == {"fetch_min_bytes": 1, "fetch_max_wait_ms": 500}
    assert batched.fetch == {
        "fetch_min_bytes": BATCH_FETCH_MIN_BYTES,
        "fetch_max_wait_ms": BATCH_FETCH_WAIT_MS,
    }
    assert (prompt.client_id, batched.client_id) == ("booking-consumer", "booking-batch-consumer")
    assert prompt.group_id == batched.group_id == "booking"  # one group: one lag, one offset set


def test_static_membership_is_off_unless_set_and_then_unique_per_instance_and_role() -> None:
    runtime = service_runtime("booking")
    runtime.processor = object()  # type: ignore[assignment]  # not run here

    def members(port: int, given: str) -> list[str | None]:
        runtime.settings = runtime.settings.model_copy(
            update={"consumer_instance_id": given, "http_port": port}
        )
        return [
            runtime._keyed_consumer(topics, units, batched=b).membership["group_instance_id"]
            for topics, units, b in runtime.consumer_plan()
        ]

    assert members(8000, "") == [None, None]  # dynamic members, as before
    assert members(8000, "local") == [
        "local-8000-booking-consumer",
        "local-8000-booking-batch-consumer",
    ]
    assert members(8010, "local") == [
        "local-8010-booking-consumer",
        "local-8010-booking-batch-consumer",
    ]


def test_the_ops_projection_is_a_static_member_when_ops_is_one() -> None:
    from ops.bootstrap import build_runtime

    settings = service_runtime("ops").settings
    for given, member in (("", None), ("local", "local-8004-ops-projection")):
        configured = settings.model_copy(update={"consumer_instance_id": given, "http_port": 8004})
        [projection] = build_runtime(configured).lag_sources  # type: ignore[arg-type]
        assert projection.instance_id == member  # type: ignore[attr-defined]


def test_the_health_status_adds_the_consumers_up() -> None:
    first, second = (_consumer_with(n) for n in ((3, 40, ["t-0"]), (1, 5, ["a-1"])))
    assert consumers_status([first, second]) == {
        "in_flight": 4,
        "buffered": 45,
        "paused": ["a-1", "t-0"],
        "fetched": 0,
        "commits": 0,
        "commit_failures": 0,
    }
    assert consumers_status([]) == {}


def _consumer_with(status: tuple[int, int, list[str]]) -> KeyedConsumer:
    consumer = KeyedConsumer("unused:1", ["t"], "g", object())  # type: ignore[arg-type]
    in_flight, buffered, paused = status
    consumer.status = lambda: {  # type: ignore[method-assign]
        "in_flight": in_flight,
        "buffered": buffered,
        "paused": paused,
        "fetched": 0,
        "commits": 0,
        "commit_failures": 0,
    }
    return consumer


async def _apply(*_: object) -> None:
    return None
