"""The documented setup and developer commands, run as child processes the way users type them,
pointed at the test database and the test Kafka (`<SERVICE>_DATABASE_URL`, `KAFKA_BOOTSTRAP`).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from alembic.script import ScriptDirectory

from booking.catalog_seed import DEFAULT_LISTINGS
from booking.entrypoints.auth import Role, decode_token
from eventkit.migrations import alembic_config
from marketplace_contracts import CATALOGUE
from tests.conftest import service_dsn
from tests.support import read_topic, wait_for
from tests.support.cli import ROOT, run, run_async

pytestmark = pytest.mark.integration
SERVICES = ("booking", "payments", "finance", "disputes")


@pytest.mark.parametrize(
    ("sub", "role"),
    [
        ("guest-1", Role.GUEST),
        ("trust-1", Role.TRUST),
        ("alice@example.com", Role.FINANCE),  # finance's API (docs/security.md)
        ("ops", Role.SERVICE),
    ],
)
def test_token_mints_a_jwt_the_gateway_accepts(sub: str, role: Role) -> None:
    secret = "a-test-secret-of-at-least-32-characters"
    done = run(
        [sys.executable, "-m", "booking", "token", "--sub", sub, "--role", role.value],
        env={"BOOKING_JWT_SECRET": secret},
    )
    assert done.returncode == 0, done.stderr
    principal = decode_token(secret, done.stdout.strip())
    assert (principal.sub, principal.role) == (sub, role)


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["--sub", ""], "blank"),
        (["--sub", "x" * 300], "not one line"),
        (["--sub", "two\nlines"], "not one line"),
        (["--sub", "guest-1", "--ttl", "-100"], "lifetime must be positive"),
        (["--sub", "guest-1", "--ttl", "0"], "lifetime must be positive"),
    ],
)
def test_token_refuses_what_every_service_would_refuse(args: list[str], said: str) -> None:
    done = run([sys.executable, "-m", "booking", "token", "--role", "guest", *args])
    assert done.returncode == 2 and done.stdout == ""
    assert said in done.stderr and "Traceback" not in done.stderr


async def test_seed_listings_publishes_every_demo_listing(kafka_bootstrap: str) -> None:
    before: dict[int, int] = {}
    for record in await read_topic(kafka_bootstrap, "catalog.listings"):
        before[record.partition] = max(before.get(record.partition, -1), record.offset)
    done = await run_async(
        [sys.executable, "-m", "booking", "seed-listings"], env={"KAFKA_BOOTSTRAP": kafka_bootstrap}
    )
    assert done.returncode == 0, done.stderr
    seeded = [item["listing_id"] for item in json.loads(DEFAULT_LISTINGS.read_text())]
    assert done.stdout.splitlines() == [
        f"published listing {listing_id} to catalog.listings" for listing_id in seeded
    ]
    # The new copies are the latest of their keys, so compaction keeps them.
    new = [
        r
        for r in await read_topic(kafka_bootstrap, "catalog.listings")
        if r.offset > before.get(r.partition, -1)
    ]
    assert sorted(r.key.decode() for r in new) == sorted(seeded)


@pytest.mark.parametrize("service", SERVICES)
async def test_migrate_brings_the_schema_to_the_head_revision(service: str, pg_ready: None) -> None:
    dsn = service_dsn(service)
    done = await run_async(
        [sys.executable, "-m", service, "migrate"], env={f"{service.upper()}_DATABASE_URL": dsn}
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"{service}: migrations applied"
    migrations = Path(ROOT, "services", service, service, "migrations")
    heads = ScriptDirectory.from_config(alembic_config(migrations, dsn)).get_heads()
    conn = await asyncpg.connect(dsn)
    try:
        applied = await conn.fetch(f"SELECT version_num FROM {service}.alembic_version")
    finally:
        await conn.close()
    assert sorted(r["version_num"] for r in applied) == sorted(heads)


async def test_create_topics_creates_a_missing_catalogue_topic(kafka_bootstrap: str) -> None:
    # disputes.dlt: a catalogue topic no test reads; dropped here, create-topics brings it back.
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap)
    await admin.start()
    try:
        await admin.delete_topics(["disputes.dlt"])

        async def gone() -> bool:
            return "disputes.dlt" not in await admin.list_topics()

        await wait_for(gone, timeout=30)
        done = await run_async(
            [sys.executable, "-m", "eventkit.admin", "create-topics"],
            env={"KAFKA_BOOTSTRAP": kafka_bootstrap},
        )
        assert done.returncode == 0, done.stderr
        assert "created disputes.dlt partitions=1" in done.stdout
        assert done.stdout.splitlines()[-1] == f"topics: {len(CATALOGUE) - 1} existed, 1 created"
        described = {t["topic"]: t for t in await admin.describe_topics(list(CATALOGUE))}
        for name, topic in CATALOGUE.items():
            assert len(described[name]["partitions"]) == topic.partitions, name
    finally:
        await admin.close()
    again = await run_async(
        [sys.executable, "-m", "eventkit.admin", "--bootstrap", kafka_bootstrap, "create-topics"]
    )
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"topics: {len(CATALOGUE)} existed, 0 created"


def test_the_contract_check_passes_on_the_committed_schemas() -> None:
    done = run([sys.executable, "-m", "marketplace_contracts.compat", "--check"])
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("contract check: ")
    assert done.stdout.strip().endswith(", 0 problem(s)")
