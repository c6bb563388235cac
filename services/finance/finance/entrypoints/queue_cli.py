"""`python -m finance payouts …` and `python -m finance reserves …`: the staff actions of the
REST API, from a shell. Each prints JSON; a refusal prints `<command> refused (<code>): …` on
stderr and exits 2 (illegal transition, unknown entry, bad policy). Options are held to the
API's own field types and body models: a value the API would answer 422 is a usage error
(exit 2, one line), never a traceback."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

import asyncpg
from pydantic import Field, StringConstraints

from domainkit.transitions import IllegalTransition
from eventkit.cli import Extra, cli_model, cli_type, command_logging
from eventkit.db import command_pool
from eventkit.fields import BoundedInstant, Currency, one_line
from eventkit.http_errors import ID_MAX_LENGTH, ID_PATTERN
from eventkit.outbox import Outbox
from finance.bootstrap import NAME, build_queue
from finance.config import FinanceSettings
from finance.domain.payout_queue import State
from finance.domain.payouts import PayoutRefused
from finance.domain.reserves import InvalidPolicy, Scope
from finance.entrypoints.queue_http import (
    MAX_PAGE,
    AssignmentIn,
    HostSettingsIn,
    PolicyIn,
    StaffAction,
)
from finance.service_layer import queue_admin

ACTIONS = ("hold", "unhold", "release-now", "retry")
Action = Callable[[asyncpg.Connection, FinanceSettings], Awaitable[Any]]


async def _with_conn(settings: FinanceSettings, action: Action) -> Any:
    async with command_pool(settings.database_url) as pool:
        async with pool.acquire() as conn, conn.transaction():
            return await action(conn, settings)


def _run_action(name: str, action: Action) -> int:
    settings = FinanceSettings()
    command_logging(settings, "finance")
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
_ID = cli_type(Annotated[str, StringConstraints(max_length=ID_MAX_LENGTH, pattern=ID_PATTERN)])
_CURSOR = Annotated[str, StringConstraints(max_length=2 * ID_MAX_LENGTH + 1, pattern=ID_PATTERN)]
_LIMIT = Annotated[int, Field(ge=1, le=MAX_PAGE)]
_ACTOR = cli_type(Annotated[str, one_line(200, min_length=1)])


def _configure_payouts(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True)
    listing = sub.add_parser("list", help="the queue, filtered, one page")
    listing.add_argument("--state", choices=[s.value for s in State])
    listing.add_argument("--host", type=_ID)
    listing.add_argument("--currency", type=cli_type(Currency))
    listing.add_argument("--due-before", type=cli_type(BoundedInstant))
    listing.add_argument("--cursor", type=cli_type(_CURSOR))
    listing.add_argument("--limit", type=cli_type(_LIMIT, int), default=50)
    show = sub.add_parser("show", help="one entry with its history")
    show.add_argument("entry_id", type=cli_type(_CURSOR))
    for action in ACTIONS:
        staff = sub.add_parser(action, help=f"staff: {action} an entry (actor and note kept)")
        staff.add_argument("entry_id", type=cli_type(_CURSOR))
        staff.add_argument("--actor", required=True, type=_ACTOR)
        staff.add_argument("--note", required=True)
    host = sub.add_parser("host", help="a host's payout delay (hours) and risk tier")
    host.add_argument("host_account_id", type=_ID)
    host.add_argument("--actor", required=True, type=_ACTOR)
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
        settings = cli_model(
            HostSettingsIn, payout_delay_hours=args.delay_hours, risk_tier=args.risk_tier
        )

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            return await queue_admin.set_host(
                conn,
                args.host_account_id,
                args.actor,
                settings.payout_delay_hours,
                settings.risk_tier,
            )

    else:
        note = cli_model(StaffAction, note=args.note).note

        async def action(conn: asyncpg.Connection, settings: FinanceSettings) -> Any:
            _, _, release, _ = build_queue(settings, Outbox(NAME, producer=NAME))
            method = getattr(release, args.action.replace("-", "_"))
            state = await method(conn, args.entry_id, args.actor, note)
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
    create.add_argument("--actor", required=True, type=_ACTOR)
    create.add_argument("--note", default="")
    assign = sub.add_parser("assign", help="apply a policy to the platform, a tier or a host")
    assign.add_argument("policy_id")
    assign.add_argument("--scope", required=True, choices=[s.value for s in Scope])
    assign.add_argument("--key", default="", help="the tier or host account (not for platform)")
    assign.add_argument("--actor", required=True, type=_ACTOR)


def _reserves(args: argparse.Namespace) -> int:
    action: Action
    if args.action == "list":

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            return await queue_admin.policies(conn)

    elif args.action == "create":
        policy = cli_model(
            PolicyIn,
            policy_id=args.policy_id,
            kind=args.kind,
            percent_bps=args.percent_bps,
            hold_days=args.hold_days,
            fixed_amount=args.fixed_amount,
            currency=args.currency,
            note=args.note,
        )
        fields = policy.model_dump(exclude={"actor", "note"})

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            return await queue_admin.new_policy(conn, fields, args.actor, policy.note)

    else:
        assignment = cli_model(
            AssignmentIn, scope=args.scope, scope_key=args.key, policy_id=args.policy_id
        )

        async def action(conn: asyncpg.Connection, _: FinanceSettings) -> Any:
            return await queue_admin.assign(
                conn,
                Scope(assignment.scope),
                assignment.scope_key,
                assignment.policy_id,
                args.actor,
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
