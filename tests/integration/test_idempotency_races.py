"""Two requests under one Idempotency-Key at once (eventkit.idempotency.run, which every
service's commands and the gateway's go through): the one that commits first answers both,
whether the other's transaction then fails on the key's row or on a row of its own work; a
unique violation of the work's own, with no answer under the key, is raised and keeps nothing.

The first request's work is held inside its transaction until the second has finished, so the
race is the same every run."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from eventkit import idempotency

pytestmark = pytest.mark.integration
STORE = idempotency.Store("booking")
Work = Callable[[asyncpg.Connection], Awaitable[Any]]


def key() -> idempotency.Key:
    return idempotency.Key.of("guest-race", str(uuid.uuid4()), "POST", "/v1/race", {"n": 1})


async def add_listing(conn: asyncpg.Connection, listing_id: str) -> None:
    await conn.execute(
        "INSERT INTO booking.listings (listing_id, host_id, host_account_id, title, hourly_rate,"
        " currency, platform_fee_bps, cancellation_policy) "
        "VALUES ($1, 'host-race', 'acct_race', 'Race', 4500, 'usd', 1000, 'flexible')",
        listing_id,
    )


async def race(
    pool: asyncpg.Pool, under: idempotency.Key, first: Work, second: Work
) -> tuple[idempotency.Answer, idempotency.Answer]:
    """`first` starts, waits inside its transaction until `second` has run and committed."""
    entered, go = asyncio.Event(), asyncio.Event()

    async def held(conn: asyncpg.Connection) -> Any:
        entered.set()
        await go.wait()
        return await first(conn)

    async with pool.acquire() as a, pool.acquire() as b:
        slow = asyncio.create_task(idempotency.run(a, STORE, under, 201, held))
        await entered.wait()
        fast = await idempotency.run(b, STORE, under, 201, second)
        go.set()
        return await slow, fast


async def test_the_request_that_commits_first_answers_both(booking_pool: asyncpg.Pool) -> None:
    def answering(by: str) -> Work:
        async def work(conn: asyncpg.Connection) -> Any:
            return {"by": by}

        return work

    slow, fast = await race(booking_pool, key(), answering("slow"), answering("fast"))
    assert (fast.body, fast.replayed) == ({"by": "fast"}, False)
    assert (slow.status, slow.body, slow.replayed) == (201, {"by": "fast"}, True)


async def test_a_row_of_the_winners_work_makes_the_other_replay_its_answer(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = f"lst_race_{uuid.uuid4().hex[:8]}"

    def adding(by: str) -> Work:
        async def work(conn: asyncpg.Connection) -> Any:
            await add_listing(conn, listing_id)  # the same row: the second insert violates
            return {"by": by}

        return work

    slow, fast = await race(booking_pool, key(), adding("slow"), adding("fast"))
    assert slow.body == fast.body == {"by": "fast"} and slow.replayed
    rows = await booking_pool.fetchval(
        "SELECT count(*) FROM booking.listings WHERE listing_id = $1", listing_id
    )
    assert rows == 1


async def test_a_unique_violation_of_the_works_own_is_raised_and_keeps_nothing(
    booking_pool: asyncpg.Pool,
) -> None:
    listing_id = f"lst_race_{uuid.uuid4().hex[:8]}"
    await add_listing(booking_pool, listing_id)  # there before: not a concurrent request's
    under = key()

    async def work(conn: asyncpg.Connection) -> Any:
        await add_listing(conn, listing_id)
        return {}

    async with booking_pool.acquire() as conn:
        with pytest.raises(asyncpg.UniqueViolationError):
            await idempotency.run(conn, STORE, under, 201, work)
        assert await STORE.lookup(conn, under) is None
