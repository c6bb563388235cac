"""asyncpg pools. Hot paths use asyncpg directly: the ORM costs ~4x per small transaction."""

from __future__ import annotations

import asyncpg


def plain_dsn(url: str) -> str:
    """Accept SQLAlchemy-style URLs (`postgresql+asyncpg://`) where asyncpg wants plain ones."""
    return url.replace("postgresql+asyncpg://", "postgresql://", 1)


def sqlalchemy_url(url: str) -> str:
    return plain_dsn(url).replace("postgresql://", "postgresql+asyncpg://", 1)


async def create_pool(url: str, *, min_size: int = 2, max_size: int = 10) -> asyncpg.Pool:
    pool = await asyncpg.create_pool(plain_dsn(url), min_size=min_size, max_size=max_size)
    assert pool is not None
    return pool
