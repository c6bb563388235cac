"""Disputes' ops HTTP surface."""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, HTTPException, Path, Request

from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN

router = APIRouter(prefix="/v1", tags=["disputes"])


@router.get("/charges/{payment_id}", summary="A captured charge as disputes knows it")
async def get_charge(
    request: Request,
    payment_id: Annotated[str, Path(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)],
) -> dict[str, Any]:
    async with request.app.state.runtime.db.acquire() as conn:
        row = await conn.fetchrow(
            "SELECT * FROM disputes.charges WHERE payment_id = $1", payment_id
        )
    if row is None:
        raise HTTPException(404, {"code": "charge_not_found", "message": payment_id})
    return {
        **dict(row),
        "captured_at": row["captured_at"].isoformat(),
        "splits": json.loads(row["splits"]) if row["splits"] is not None else None,
    }


def install(app: FastAPI) -> None:
    app.include_router(router)
