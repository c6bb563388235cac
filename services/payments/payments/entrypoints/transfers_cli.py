"""`python -m payments transfers <payment_id>`: a payment's transfers and reversals (ops)."""

from __future__ import annotations

import argparse
import asyncio
import json
from typing import Any

from eventkit.cli import Extra
from eventkit.db import command_pool
from payments.config import PaymentsSettings
from payments.service_layer import staff_views


async def _list(settings: PaymentsSettings, payment_id: str) -> dict[str, Any]:
    async with command_pool(settings.database_url) as pool:
        return await staff_views.transfers_of(pool, payment_id)


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("payment_id", help="the payment whose transfers to list")


def _run(args: argparse.Namespace) -> int:
    listed = asyncio.run(_list(PaymentsSettings(), args.payment_id))
    print(json.dumps({"payment_id": args.payment_id, **listed}, indent=2, default=str))
    return 0


TRANSFERS: Extra = (
    "transfers",
    "list a payment's Connect transfers (one per payout release) and their reversals",
    _configure,
    _run,
)
