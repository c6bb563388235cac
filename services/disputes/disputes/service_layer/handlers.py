"""Thin handlers the routing table calls: each opens a unit of work on the consumer's
transaction (the inbox row commits with it) and hands the fact to its use case."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from disputes.adapters.unit_of_work import UnitOfWork, begin
from disputes.service_layer import booking_facts
from disputes.service_layer.cases import Cases
from disputes.service_layer.intake import Intake
from eventkit.outbox import Outbox
from eventkit.routing import Apply
from marketplace_contracts import Envelope

Recorder = Callable[[UnitOfWork, Envelope, Any], Awaitable[None]]
IntakeStep = Callable[[UnitOfWork, Any], Awaitable[None]]


class DisputesHandlers:
    def __init__(self, outbox: Outbox, intake: Intake, cases: Cases) -> None:
        self.outbox = outbox
        self.intake = intake
        self.cases = cases

    def uow(self, conn: asyncpg.Connection, env: Envelope | None = None) -> UnitOfWork:
        return UnitOfWork(conn, self.outbox, env)

    def begin(self, pool: asyncpg.Pool) -> AbstractAsyncContextManager[UnitOfWork]:
        """A request's unit of work: a new transaction on a pooled connection, committed when
        the block ends cleanly."""
        return begin(pool, self.outbox)

    def taking(self, step: IntakeStep) -> Apply:
        """A handler that hands a payments dispute fact to its intake step (`Intake`)."""

        async def apply(conn: asyncpg.Connection, env: Envelope, event: Any, _: object) -> None:
            await step(self.uow(conn, env), event)

        return apply

    def recording(self, record: Recorder) -> Apply:
        """A handler that keeps a fact for the evidence."""

        async def apply(conn: asyncpg.Connection, env: Envelope, event: Any, _: object) -> None:
            await record(self.uow(conn, env), env, event)

        return apply

    # -- timers (eventkit.scheduler job handlers: connection, subject, payload) -------------
    async def remind_job(
        self, conn: asyncpg.Connection, subject: str, payload: dict[str, Any]
    ) -> None:
        await self.cases.remind(self.uow(conn), subject, payload)

    async def auto_submit_job(
        self, conn: asyncpg.Connection, subject: str, payload: dict[str, Any]
    ) -> None:
        await self.cases.auto_submit(self.uow(conn), subject)


__all__ = ["DisputesHandlers", "booking_facts"]
