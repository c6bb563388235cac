"""Every service's runtime consumes its own retry topic, so a replayed dead letter reaches the
failing service alone without any wiring in the service."""

from __future__ import annotations

import pytest

from eventkit.routing import EventRouter
from eventkit.runtime import ServiceRuntime
from eventkit.settings import ServiceSettings
from marketplace_contracts import CATALOGUE, retry_topic
from marketplace_contracts.topics import SERVICES
from tests.support.runtimes import service_runtime


@pytest.mark.parametrize("service", SERVICES)
def test_each_service_consumes_its_retry_topic_besides_its_routes(service: str) -> None:
    runtime = service_runtime(service)
    assert runtime.consumed_topics == [*runtime.router.topics, retry_topic(service)]
    retry = CATALOGUE[retry_topic(service)]
    assert retry.consumers == (service,)  # nobody else reads it


def test_a_runtime_without_a_catalogued_retry_topic_does_not_subscribe_to_one() -> None:
    runtime = ServiceRuntime(
        "toy", ServiceSettings(database_url="postgresql://unused"), EventRouter("toy")
    )
    assert runtime.consumed_topics == []
