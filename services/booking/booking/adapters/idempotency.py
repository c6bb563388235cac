"""Idempotency-Key storage: the stored response is written in the same transaction as the work."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Any

import asyncpg


@dataclass(frozen=True)
class StoredResponse:
    request_hash: str
    status_code: int
    body: Any


def request_hash(method: str, path: str, body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{method} {path}\n{canonical}".encode()).hexdigest()


async def lookup(conn: asyncpg.Connection, principal: str, key: str) -> StoredResponse | None:
    row = await conn.fetchrow(
        "SELECT request_hash, status_code, response FROM booking.idempotency_keys "
        "WHERE principal = $1 AND key = $2",
        principal,
        key,
    )
    if row is None:
        return None
    return StoredResponse(row["request_hash"], row["status_code"], row["response"])


async def store(
    conn: asyncpg.Connection, principal: str, key: str, hash_: str, status_code: int, body: Any
) -> None:
    """Raises UniqueViolationError when a concurrent request with the same key won the race."""
    await conn.execute(
        "INSERT INTO booking.idempotency_keys (principal, key, request_hash, status_code, response)"
        " VALUES ($1, $2, $3, $4, $5)",
        principal,
        key,
        hash_,
        status_code,
        body,
    )
