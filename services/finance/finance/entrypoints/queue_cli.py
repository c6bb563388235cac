"""`python -m finance payouts …` and `python -m finance reserves …`: the staff actions of the
REST API, from a shell. Each prints JSON; a refusal prints `<command> refused (<code>): …` on
stderr and exits 2 (illegal transition, unknown entry, bad policy)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any

import asyncpg

from domainkit.transitions import IllegalTransition
from eventkit.cli import Extra, configure_logging
from eventkit.db import command_pool
from eventkit.outbox import Outbox
from finance.bootstrap import NAME, build_queue
from finance.config import FinanceSettings
from finance.domain.payouts import PayoutRefused
from finance.domain.reserves import InvalidPolicy, Scope
from finance.service_layer import queue_admin

ACTIONS = ("hold", "unhold", "release-now", "retry")
Action = Callable[[asyncpg.Connection, FinanceSettings], Awaitable[Any]]


async def _with_conn(settings: FinanceSettings, action: Action) -> Any:
    async with command_pool(settings.database_url) as pool:
        async with pool.acquire() as conn, conn.transaction():
            return await action(conn, settings)


def _run_action(name: str, action: Action) -> int:
    settings = FinanceSettings()
    configure_logging(settings.log_level, "finance")
    try:
        result = asyncio.run(_with_conn(settings, action))
    except (IllegalTransition, InvalidPolicy) as exc:
        print(f"{name} refused ({exc.code}): {exc}", file=sys.stderr)
        return 2
    except PayoutRefused as exc:
        print(f"{name} refused ({exc.code}): {exc.message}", file=sys.stderr)
        return 2
    except LookupError as exc:
        print(f"{name} refused (unknown_reserve_policy): {exc}", file=sys.stderr)
        return 2
    print(json.dumps(result, indent=2, default=str))
    return 0


# -- payouts --------------------------------------------------------------------------------
def _configure_payouts(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="the queue, filtered, one page")
    listing.add_argument("--state")
    listing.add_argument("--host")
    listing.add_argument("--currency")
    listing.add_argument("--due-before", type=datetime.fromisoformat)
    listing.add_argument("--cursor")
    listing.add_argument("--limit", type=int, default=50)
    show = sub.add_parser("show", help="one entry with its history")
    show.add_argument("entry_id")
    for action in ACTIONS:
        staff = sub.add_parser(action, help=f"staff: {action} an entry (actor and note kept)")
        staff.add_argument("entry_id")
        staff.add_argument("--actor", required=True)
        staff.add_argument("--note", required=True)
    host = sub.add_parser("host", help="a host's payout delay (hours) and risk tier")
    host.add_argument("host_account_id")
    host.add_argument("--actor", required=True)
    host.add_argument("--delay-hours", type=float)
    host.add_argument("--risk-tier")


def _payouts(args: argparse.Namespace) -> int:
    name = f"payouts {args.action}"
    action: Action
    if args.action == "list":

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            rows = await queue_admin.page(
                conn,
                state=args.state,
                host_account_id=args.host,
                due_before=args.due_before,
                currency=args.currency,
                after=args.cursor,
                limit=args.limit,
            )
            return [queue_admin.plain(r) for r in rows]

    elif args.action == "show":

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            found = await queue_admin.show(conn, args.entry_id)
            if found is None:
                raise PayoutRefused("entry_not_found", f"no payout entry {args.entry_id}")
            return found

    elif args.action == "host":

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            return await queue_admin.set_host(
                conn, args.host_account_id, args.actor, args.delay_hours, args.risk_tier
            )

    else:

        async def action(conn: asyncpg.Connection, settings: FinanceSettings) -> Any:
            _, _, release, _ = build_queue(settings, Outbox(NAME, producer=NAME))
            method = getattr(release, args.action.replace("-", "_"))
            state = await method(conn, args.entry_id, args.actor, args.note)
            return {"entry_id": args.entry_id, "state": str(state)}

    return _run_action(name, action)


# -- reserves -------------------------------------------------------------------------------
def _configure_reserves(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    sub.add_parser("list", help="every policy version and assignment")
    create = sub.add_parser("create", help="a new version of a reserve policy")
    create.add_argument("policy_id")
    create.add_argument("--kind", required=True, choices=("rolling_percent", "fixed", "none"))
    create.add_argument("--percent-bps", type=int, default=0)
    create.add_argument("--hold-days", type=int, default=0)
    create.add_argument("--fixed-amount", type=int, default=0)
    create.add_argument("--currency")
    create.add_argument("--actor", required=True)
    create.add_argument("--note", default="")
    assign = sub.add_parser("assign", help="apply a policy to the platform, a tier or a host")
    assign.add_argument("policy_id")
    assign.add_argument("--scope", required=True, choices=[s.value for s in Scope])
    assign.add_argument("--key", default="", help="the tier or host account (not for platform)")
    assign.add_argument("--actor", required=True)


def _reserves(args: argparse.Namespace) -> int:
    action: Action
    if args.action == "list":

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            return await queue_admin.policies(conn)

    elif args.action == "create":
        fields = {
            "policy_id": args.policy_id,
            "kind": args.kind,
            "percent_bps": args.percent_bps,
            "hold_days": args.hold_days,
            "fixed_amount": args.fixed_amount,
            "currency": args.currency,
        }

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            return await queue_admin.new_policy(conn, fields, args.actor, args.note)

    else:

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            return await queue_admin.assign(
                conn, Scope(args.scope), args.key, args.policy_id, args.actor
            )

    return _run_action(f"reserves {args.action}", action)


PAYOUTS: Extra = (
    "payouts",
    "the payout queue: list, show, hold, unhold, release-now, retry, host settings",
    _configure_payouts,
    _payouts,
)
RESERVES: Extra = (
    "reserves",
    "reserve policies: list, create a version, assign to the platform, a tier or a host",
    _configure_reserves,
    _reserves,
)
