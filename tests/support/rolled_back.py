"""A service's connection inside a transaction that is rolled back at the end: a test writes
on the real schema and leaves nothing behind for the others."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg

from eventkit.db import connect
from tests.conftest import service_dsn


@asynccontextmanager
async def rolled_back(service: str) -> AsyncIterator[asyncpg.Connection]:
    connection = await connect(service_dsn(service))
    transaction = connection.transaction()
    await transaction.start()
    try:
        yield connection
    finally:
        await transaction.rollback()
        await connection.close()
