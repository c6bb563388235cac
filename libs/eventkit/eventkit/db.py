"""asyncpg pools. Hot paths use asyncpg directly: the ORM costs ~4x per small transaction."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

import asyncpg
import orjson

from eventkit.outages import is_conflict

log = logging.getLogger("eventkit.db")
T = TypeVar("T")


def plain_dsn(url: str) -> str:
    """Accept SQLAlchemy-style URLs (`postgresql+asyncpg://`) where asyncpg wants plain ones."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    return plain_dsn(url).replace("postgresql://", "postgresql+asyncpg://", 1)


_LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def connect_options(url: str) -> dict[str, Any]:
    """TLS off for loopback unless the URL asks for it: nothing crosses a wire, and the
    handshake plus encryption cost ~30 % of a small transaction (measured by bench/)."""
    parsed = urlsplit(plain_dsn(url))
    if parsed.hostname in _LOOPBACK and "sslmode" not in parse_qs(parsed.query):
        return {"ssl": False}
    return {}


# What json.dumps(value, default=str) wrote before this codec: datetimes as str(dt) (with a
# space, not isoformat's T: rows written earlier read the same), non-str keys as strings, and
# anything else unknown as str(value) (dataclasses and enums: their fields and values). orjson: a booking's quote (~400 bytes) encodes ~6x and
# decodes ~3x faster than with json.dumps/json.loads (measured here, 6 us against 41 us to write).
_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS | orjson.OPT_PASSTHROUGH_DATETIME


def encode_json(value: Any) -> str:
    """A `json`/`jsonb` parameter: the Python value (dict, list, number, bool)."""
    if isinstance(value, str | bytes):
        # Before the codec, callers passed json.dumps(...) text. Encoded again it would be
        # stored as a JSON string ('"{\"a\": 1}"'), silently: refuse it loudly instead.
        raise TypeError(
            "json/jsonb parameter given text: pass the value itself, the pool encodes it"
        )
    return orjson.dumps(value, default=str, option=_JSON_OPTIONS).decode()


def decode_json(text: str) -> Any:
    return orjson.loads(text)


async def init_connection(conn: asyncpg.Connection) -> None:
    """Every connection of eventkit.db reads `json` and `jsonb` as Python values (dicts,
    lists, ...) and takes them as parameters: no json.loads/json.dumps around SQL. `json`
    columns (booking's idempotent responses) keep their key order; the exact text does not
    matter, since it is decoded before use."""
    for typename in ("json", "jsonb"):
        await conn.set_type_codec(
            typename, schema="pg_catalog", encoder=encode_json, decoder=decode_json
        )


class DatabaseUnreachable(ConnectionError):
    """Postgres' Unix socket is not there: the cluster is stopped or restarting. An outage
    (``eventkit.outages``), waited out, answered 503 ``unavailable``; without this, asyncpg's
    bare FileNotFoundError reads as a bug of the message."""


async def _reach(*args: Any, **kwargs: Any) -> asyncpg.Connection:
    """asyncpg.connect, with a socket file that is missing said to be an outage. Only the
    connect is wrapped: a FileNotFoundError anywhere else is still a bug."""
    try:
        return await asyncpg.connect(*args, **kwargs)
    except FileNotFoundError as exc:
        raise DatabaseUnreachable(f"Postgres does not answer on its socket ({exc})") from exc


async def connect(url: str) -> asyncpg.Connection:
    conn = await _reach(plain_dsn(url), **connect_options(url))
    await init_connection(conn)
    return conn


async def create_pool(
    url: str, *, min_size: int = 2, max_size: int = 10, application_name: str | None = None
) -> asyncpg.Pool:
    # application_name tells ops (and the outage tests) whose backends these are.
    settings = {"application_name": application_name} if application_name else None
    pool = await asyncpg.create_pool(
        plain_dsn(url),
        min_size=min_size,
        max_size=max_size,
        server_settings=settings,
        reset=_rollback_if_open,
        init=init_connection,
        connect=_reach,
        **connect_options(url),
    )
    assert pool is not None
    return pool


@asynccontextmanager
async def command_pool(url: str) -> AsyncIterator[asyncpg.Pool]:
    """A one-connection pool for one run of a command line: opened, lent, closed."""
    pool = await create_pool(url, min_size=1, max_size=1)
    try:
        yield pool
    finally:
        await pool.close()


async def _rollback_if_open(conn: asyncpg.Connection) -> None:
    """What a pooled connection needs on release here. asyncpg's default reset sends
    `pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL` on every release: one more
    round trip per transaction (about a tenth of a checkout's database traffic), for session
    state that pooled connections never take (the relay's advisory lock and LISTEN live on
    its own connection). A transaction left open, by a task cancelled mid-way, is rolled back."""
    if conn.is_in_transaction():
        await conn.execute("ROLLBACK")


async def retry_conflicts(fn: Callable[[], Awaitable[T]], *, attempts: int = 5) -> T:
    """Run `fn` (one whole transaction) again, after a short random pause, when Postgres
    aborted it as a deadlock victim or a serialization failure (`outages.is_conflict`): for
    example two checkouts of one slot, where each exclusion-constraint check waits for the
    other's row. The transaction rolled back entirely, so the retry is safe, and it sees the
    winner's committed row."""
    for attempt in range(1, attempts):
        try:
            return await fn()
        except Exception as exc:
            if not is_conflict(exc):
                raise
            log.info("transaction aborted by a conflict (attempt %d), retrying: %r", attempt, exc)
            await asyncio.sleep(random.uniform(0, 0.02 * 2**attempt))
    return await fn()
