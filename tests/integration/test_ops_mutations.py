"""A staff mutation's idempotency token on real Postgres: concurrent calls with one token act
once, a failed action frees its token, and every action leaves one audit row."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from eventkit.auth import Principal, Role
from eventkit.db import create_pool
from ops.domain.errors import OpsError
from ops.service_layer.mutations import Outcome, once
from tests.conftest import service_dsn

pytestmark = pytest.mark.integration

ANA = Principal("ana", Role.ADMIN)


@pytest.fixture
async def ops_pool(pg_ready: None) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(service_dsn("ops"), min_size=1, max_size=5)
    assert pool is not None
    yield pool
    await pool.close()


async def test_concurrent_calls_with_one_token_act_once(ops_pool: asyncpg.Pool) -> None:
    token, target, acted = str(uuid.uuid4()), f"t-{uuid.uuid4()}", []
    started, second_answered = asyncio.Event(), asyncio.Event()

    async def act() -> Outcome:
        acted.append(1)
        started.set()
        await second_answered.wait()  # the action is still under way when the second call comes
        return Outcome({"n": len(acted)}, before={"s": "open"}, after={"s": "done"})

    async def call() -> dict[str, object] | str:
        try:
            return await once(
                ops_pool, token=token, principal=ANA, action="test.act", target=target,
                request={"x": 1}, act=act,
            )  # fmt: skip
        except OpsError as exc:
            return exc.code

    first = asyncio.create_task(call())
    await started.wait()
    second = await asyncio.wait_for(call(), timeout=10)  # answered at once, never waits
    second_answered.set()
    assert await first == {"n": 1}
    assert second == "in_progress"
    assert await call() == {"n": 1}  # after it finished: the first result, nothing done again
    assert acted == [1]
    rows = await ops_pool.fetch(
        "SELECT actor, role, action, before, after FROM audit WHERE target = $1", target
    )
    assert [(r["actor"], r["role"], r["action"]) for r in rows] == [("ana", "admin", "test.act")]


async def test_a_failed_action_frees_its_token_and_leaves_no_audit(ops_pool: asyncpg.Pool) -> None:
    token, target = str(uuid.uuid4()), f"t-{uuid.uuid4()}"

    async def fails() -> Outcome:
        raise OpsError("not_found", "gone")

    async def works() -> Outcome:
        return Outcome({"ok": True})

    kwargs = {
        "token": token,
        "principal": ANA,
        "action": "test.act",
        "target": target,
        "request": {},
    }
    with pytest.raises(OpsError):
        await once(ops_pool, act=fails, **kwargs)  # type: ignore[arg-type]
    assert await ops_pool.fetchval("SELECT count(*) FROM audit WHERE target = $1", target) == 0
    assert await once(ops_pool, act=works, **kwargs) == {"ok": True}  # type: ignore[arg-type]
    assert await ops_pool.fetchval("SELECT count(*) FROM audit WHERE target = $1", target) == 1
