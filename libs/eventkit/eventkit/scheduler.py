"""Durable timers: a due-time table worked with SKIP LOCKED. No in-memory timers.

A job is scheduled in the caller's transaction (with the state change that needs it), so it
exists exactly when that change committed. Workers claim due jobs with
`FOR UPDATE SKIP LOCKED`, run the job's handler in the same transaction and mark it done, so a
due job fires once even with several workers, and a crash mid-job rolls back both the effect and
the claim. A failing job is retried with backoff, then parked as `failed` with its error.
A handler may return a time instead of None: the job is deferred to then (not a failure, no
attempt spent), for a deadline that waits on something still in progress.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from eventkit.clock import Clock, FollowedClock
from eventkit.outages import Backoff, is_outage
from eventkit.write_behind import WriteBehind

if TYPE_CHECKING:
    from eventkit.runtime import ServiceRuntime, Worker

log = logging.getLogger("eventkit.scheduler")

JobHandler = Callable[[asyncpg.Connection, str, dict[str, Any]], Awaitable[datetime | None]]


def scheduler_table(schema: str) -> list[str]:
    return [
        f"""
        CREATE TABLE {schema}.scheduled_jobs (
            id          bigserial PRIMARY KEY,
            kind        text NOT NULL,
            subject_id  text NOT NULL,
            due_at      timestamptz NOT NULL,
            payload     jsonb NOT NULL DEFAULT '{{}}',
            status      text NOT NULL DEFAULT 'pending'
                CONSTRAINT ck_scheduled_jobs_status CHECK (status IN ('pending', 'done', 'failed', 'cancelled')),
            attempts    integer NOT NULL DEFAULT 0,
            last_error  text,
            created_at  timestamptz NOT NULL DEFAULT now(),
            finished_at timestamptz,
            CONSTRAINT uq_scheduled_jobs_kind_subject UNIQUE (kind, subject_id)
        )""",
        f"CREATE INDEX ix_scheduled_jobs_due ON {schema}.scheduled_jobs (due_at) "
        "WHERE status = 'pending'",
    ]


async def schedule(
    conn: asyncpg.Connection,
    schema: str,
    kind: str,
    subject_id: str,
    due_at: datetime,
    payload: dict[str, Any] | None = None,
    *,
    replacing: str | None = None,
    kept: WriteBehind | None = None,
) -> None:
    """(Re)schedule one job per (kind, subject); call inside the state change's transaction.
    `replacing`: a kind of the same subject's timer to `cancel` in the same statement (the
    step this one follows). `kept`: the transaction's write-behind (a deferred outbox's
    `kept(conn)`), which writes the change with its events at the end."""
    if replacing == kind:
        raise ValueError("a timer replaces one of another kind; its own it reschedules")
    if kept is not None:
        if replacing is not None:
            kept.cancel(replacing, subject_id)
        kept.schedule(kind, subject_id, due_at, payload)
        return
    args: list[Any] = [kind, subject_id, due_at, payload or {}]
    prefix = ""
    if replacing is not None:
        prefix = f"WITH cancelled AS ({_cancel_sql(schema, '$5', '$2')}) "
        args.append(replacing)
    await conn.execute(
        f"{prefix}INSERT INTO {schema}.scheduled_jobs (kind, subject_id, due_at, payload) "
        "VALUES ($1, $2, $3, $4::jsonb) ON CONFLICT (kind, subject_id) DO UPDATE "
        "SET due_at = EXCLUDED.due_at, payload = EXCLUDED.payload, status = 'pending', "
        "attempts = 0, last_error = NULL, finished_at = NULL",
        *args,
    )


def _cancel_sql(schema: str, kind: str, subject_id: str) -> str:
    return (
        f"UPDATE {schema}.scheduled_jobs SET status = 'cancelled', finished_at = now() "
        f"WHERE kind = {kind} AND subject_id = {subject_id} AND status = 'pending'"
    )


async def cancel(
    conn: asyncpg.Connection,
    schema: str,
    kind: str,
    subject_id: str,
    *,
    kept: WriteBehind | None = None,
) -> None:
    if kept is not None:
        kept.cancel(kind, subject_id)
        return
    await conn.execute(_cancel_sql(schema, "$1", "$2"), kind, subject_id)


class Scheduler:
    def __init__(
        self,
        schema: str,
        handlers: dict[str, JobHandler],
        *,
        poll_interval: float = 1.0,
        max_attempts: int = 5,
        backoff_seconds: float = 5.0,
        now: Callable[[], datetime] | None = None,
    ) -> None:
        self.schema = schema
        self.now = now
        self.handlers = handlers
        self.poll_interval = poll_interval
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.fired = 0

    async def run_due(self, pool: asyncpg.Pool) -> int:
        """Claim and run every due job, each in its own transaction. Returns how many fired.
        A job is due when its time has passed on the scheduler's clock (`now`, when given: a
        service following a simulated clock), else on the database's."""
        ran = 0
        async with pool.acquire() as conn:
            while True:
                async with conn.transaction():
                    job = await conn.fetchrow(
                        f"SELECT id, kind, subject_id, payload, attempts "
                        f"FROM {self.schema}.scheduled_jobs "
                        "WHERE status = 'pending' AND due_at <= coalesce($2, now()) "
                        "AND kind = ANY($1::text[]) "
                        "ORDER BY due_at LIMIT 1 FOR UPDATE SKIP LOCKED",
                        list(self.handlers),
                        self.now() if self.now is not None else None,
                    )
                    if job is None:
                        return ran
                    await self._run(conn, job)
                    ran += 1

    async def _run(self, conn: asyncpg.Connection, job: asyncpg.Record) -> None:
        handler = self.handlers[job["kind"]]  # only kinds with a handler are claimed
        try:
            async with conn.transaction():  # savepoint: a failure keeps the claim, drops effects
                again = await handler(conn, job["subject_id"], job["payload"])
        except Exception as exc:
            if is_outage(exc):
                raise  # not the job's fault: roll back the claim, spend no attempt
            attempts = job["attempts"] + 1
            final = attempts >= self.max_attempts
            log.warning(
                "job %s %s failed (attempt %d): %r", job["kind"], job["subject_id"], attempts, exc
            )
            await conn.execute(
                f"UPDATE {self.schema}.scheduled_jobs SET attempts = $2, last_error = $3, "
                "status = CASE WHEN $4 THEN 'failed' ELSE 'pending' END, "
                "due_at = coalesce($6, now()) + make_interval(secs => $5), "
                "finished_at = CASE WHEN $4 THEN now() END WHERE id = $1",
                job["id"],
                attempts,
                repr(exc)[:2000],
                final,
                self.backoff_seconds * 2 ** (attempts - 1),
                self.now() if self.now is not None else None,
            )
            return
        if again is not None:
            await conn.execute(
                f"UPDATE {self.schema}.scheduled_jobs SET due_at = $2 WHERE id = $1",
                job["id"],
                again,
            )
            return
        await conn.execute(
            f"UPDATE {self.schema}.scheduled_jobs SET status = 'done', finished_at = now(), "
            "attempts = attempts + 1 WHERE id = $1",
            job["id"],
        )
        self.fired += 1

    async def run(self, pool: asyncpg.Pool, stop: asyncio.Event) -> None:
        outage = Backoff(base=self.poll_interval)
        while not stop.is_set():
            try:
                await self.run_due(pool)
                outage.reset()
            except Exception as exc:
                # A broken connection went back to the pool closed; the next round acquires
                # a fresh one. While the database is away, back off (capped at 5 s).
                if is_outage(exc):
                    delay = outage.next_delay()
                    log.warning(
                        "scheduler %s: database unavailable, retry in %.1fs: %r",
                        self.schema,
                        delay,
                        exc,
                    )
                else:
                    delay = self.poll_interval
                    log.exception("scheduler %s: %r", self.schema, exc)
                await _sleep_or_stop(stop, delay)
                continue
            await _sleep_or_stop(stop, self.poll_interval)


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except TimeoutError:
        pass


def timer_workers(clock: Clock, timers: Scheduler) -> tuple[Worker, Worker]:
    """A service's two workers for its timers: one keeps a followed clock refreshed (nothing
    to do for any other), one runs the timers that fall due."""

    async def follow_clock(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        if isinstance(clock, FollowedClock):
            await clock.run(stop)

    return follow_clock, timers_worker(timers)


def timers_worker(timers: Scheduler) -> Worker:
    """The worker that runs the service's timers as they fall due, on the runtime's pool."""

    async def run_timers(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        await timers.run(runtime.db, stop)

    return run_timers
