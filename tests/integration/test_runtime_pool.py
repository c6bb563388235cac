"""The service runtime sizes its asyncpg pool from the consumer's concurrency, so HTTP requests
are not starved by units of work, and names its connections after the service."""

from __future__ import annotations

import pytest

from eventkit.routing import EventRouter
from eventkit.runtime import POOL_HEADROOM, ServiceRuntime
from payments.config import PaymentsSettings
from tests.conftest import service_dsn

pytestmark = pytest.mark.integration


async def test_the_pool_holds_the_consumer_concurrency_plus_headroom(
    kafka_bootstrap: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PAYMENTS_DATABASE_URL", service_dsn("payments"))
    monkeypatch.setenv("PAYMENTS_CONSUMER_CONCURRENCY", "3")
    monkeypatch.setenv("KAFKA_BOOTSTRAP", kafka_bootstrap)
    settings = PaymentsSettings()
    assert settings.consumer_concurrency == 3
    # No routes: no consumer. (Its relay publishes what the outbox holds, as any payments
    # process on this database does.)
    runtime = ServiceRuntime("payments", settings, EventRouter("payments"))
    await runtime.start()
    try:
        assert runtime.db.get_max_size() == 3 + POOL_HEADROOM
        name = await runtime.db.fetchval("SELECT current_setting('application_name')")
        assert name == "payments"
    finally:
        await runtime.stop()
