"""Run one outbox relay in its own process (the crash test kills it mid-flight).

python -m tests.support.relay_proc DSN SCHEMA TABLE CHANNEL BOOTSTRAP
"""

from __future__ import annotations

import asyncio
import sys

from eventkit.producer import durable_producer
from eventkit.relay import OutboxRelay


async def main(dsn: str, schema: str, table: str, channel: str, bootstrap: str) -> None:
    producer = durable_producer(bootstrap, client_id="relay-proc")
    await producer.start()
    relay = OutboxRelay(dsn, schema, producer, table=table, channel=channel, batch_size=50)
    try:
        await relay.run(asyncio.Event())
    finally:
        await producer.stop()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:6]))
