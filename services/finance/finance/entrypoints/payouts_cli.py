"""`python -m finance release-payout <booking_id> [--payment-id P] [--amount N]`."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import Annotated

from pydantic import Field

from eventkit.cli import Extra, cli_type, command_logging
from eventkit.db import command_pool
from eventkit.fields import MAX_AMOUNT
from eventkit.outbox import Outbox
from finance.bootstrap import build_queue
from finance.config import FinanceSettings
from finance.domain.payouts import PayoutRefused
from finance.service_layer.payouts import Payouts
from marketplace_contracts.events.finance import PayoutReleasedV1

SERVICE = "finance"


async def release_payout(
    settings: FinanceSettings, booking_id: str, payment_id: str | None, amount: int | None
) -> list[PayoutReleasedV1]:
    outbox = Outbox(SERVICE, producer=SERVICE)
    _, queue, _, _ = build_queue(settings, outbox)
    async with command_pool(settings.database_url) as pool, pool.acquire() as conn:
        return await Payouts(outbox, queue).release(
            conn, booking_id, payment_id=payment_id, amount=amount, now=queue.now()
        )


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("booking_id", help="the booking (or group leg) whose host to pay")
    parser.add_argument("--payment-id", help="only this payment's share (else every payment's)")
    parser.add_argument(
        "--amount",
        type=cli_type(Annotated[int, Field(gt=0, le=MAX_AMOUNT)], int),
        help="minor units to release, more than 0 (default: all that is left)",
    )


def _run(args: argparse.Namespace) -> int:
    settings = FinanceSettings()
    command_logging(settings, "finance")
    try:
        released = asyncio.run(
            release_payout(settings, args.booking_id, args.payment_id, args.amount)
        )
    except PayoutRefused as exc:
        print(f"release-payout refused ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    print(json.dumps([event.model_dump(mode="json") for event in released], indent=2))
    return 0


RELEASE_PAYOUT: Extra = (
    "release-payout",
    "release what finance owes a booking's host on separate-charges payments (payments then "
    "transfers it); exit 2 when refused: destination charge, funds on hold, returned, or "
    "nothing left",
    _configure,
    _run,
)
