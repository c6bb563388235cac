"""`python -m finance reconcile|recon-exceptions|recon-resolve|close-day|close-ack|close-report`.

Exit codes: 0 done; 2 refused (not open, day not over, days out of order, not found); 3 the
close failed with differences (listed on stdout)."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import asyncpg

from eventkit.cli import Extra, command_logging
from eventkit.db import create_pool
from eventkit.outbox import Outbox
from finance.bootstrap import NAME, build_books
from finance.config import FinanceSettings
from finance.domain.close import Acknowledgement, CloseRefused
from finance.entrypoints.books_http import plain_exception
from finance.entrypoints.books_report import report_csv
from finance.service_layer import books_views
from finance.service_layer.books import Books

Action = Callable[[asyncpg.Pool, Books, argparse.Namespace], Awaitable[int]]


def _command(action: Action) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        settings = FinanceSettings()
        command_logging(settings, "finance")

        async def main() -> int:
            pool = await create_pool(settings.database_url, min_size=1, max_size=2)
            books = build_books(settings, Outbox(NAME, producer=NAME))
            try:
                return await action(pool, books, args)
            except CloseRefused as exc:
                print(f"refused ({exc.code}): {exc.message}", file=sys.stderr)
                return 2
            finally:
                await books.stripe.close()
                await pool.close()

        return asyncio.run(main())

    return run


def _print(value: Any) -> None:
    print(json.dumps(value, indent=2, default=str))


async def _reconcile(pool: asyncpg.Pool, books: Books, args: argparse.Namespace) -> int:
    imported, matched = await books.reconciler.run(pool, full=args.full)
    _print({"import": imported.__dict__, "match": matched.__dict__})
    return 0


async def _exceptions(pool: asyncpg.Pool, books: Books, args: argparse.Namespace) -> int:
    status = None if args.status == "all" else args.status
    async with pool.acquire() as conn:
        rows = await books_views.exceptions(
            conn, status=status, kind=args.kind, currency=args.currency, limit=10_000
        )
    _print([plain_exception(r, books) for r in rows])
    return 0


async def _resolve(pool: asyncpg.Pool, books: Books, args: argparse.Namespace) -> int:
    async with pool.acquire() as conn:
        row = await books_views.resolve(conn, args.exception_id, args.actor, args.note, books.now())
        found = None if row else await books_views.exception(conn, args.exception_id)
    if row is None:
        # The codes and sentences of the REST API's refusals.
        if found is None:
            why = f"exception_not_found): no reconciliation exception {args.exception_id}"
        else:
            why = f"exception_not_open): exception {args.exception_id} is already {found['status']}"
        print(f"refused ({why}", file=sys.stderr)
        return 2
    _print(plain_exception(row, books))
    return 0


async def _close(pool: asyncpg.Pool, books: Books, args: argparse.Namespace) -> int:
    if args.date is None:  # every open day before today, oldest first (days close in order)
        outcomes = await books.close_due(pool, args.currency)
    else:
        outcomes = await books.daily_close.close(pool, args.date, args.currency)
    _print(
        [
            {
                "business_date": o.report["business_date"],
                "currency": o.currency,
                "status": o.report["status"],
                "blockers": o.report["blockers"],
            }
            for o in outcomes
        ]
    )
    return 0 if all(o.closed for o in outcomes) else 3


async def _acknowledge(pool: asyncpg.Pool, books: Books, args: argparse.Namespace) -> int:
    ack = Acknowledgement(args.item, args.amount, args.note, args.actor)
    await books.daily_close.acknowledge(pool, args.date, args.currency, ack)
    _print({"business_date": args.date, "currency": args.currency, **ack.__dict__})
    return 0


async def _report(pool: asyncpg.Pool, books: Books, args: argparse.Namespace) -> int:
    async with pool.acquire() as conn:
        row = await books_views.close(conn, args.date, args.currency)
    if row is None:
        print(f"refused: no close of {args.date} {args.currency}", file=sys.stderr)
        return 2
    report = row["report"]
    sys.stdout.write(report_csv(report) if args.format == "csv" else json.dumps(report, indent=2))
    return 0


def _no_args(_: argparse.ArgumentParser) -> None:
    pass


def _reconcile_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--full",
        action="store_true",
        help="re-read every pending transaction and judge every object, not only what changed",
    )


def _exceptions_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--status", choices=("open", "resolved", "all"), default="open")
    p.add_argument("--kind")
    p.add_argument("--currency")


def _resolve_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("exception_id", type=int)
    p.add_argument("--note", required=True, help="why it is resolved (kept with it)")
    p.add_argument("--actor", required=True, help="who resolves it")


def _close_args(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--date",
        type=date.fromisoformat,
        help="business day (default: every open day before today, oldest first)",
    )
    p.add_argument("--currency", help="only this currency (default: every one)")


def _day_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--date", type=date.fromisoformat, required=True)
    p.add_argument("--currency", required=True)


def _ack_args(p: argparse.ArgumentParser) -> None:
    _day_args(p)
    p.add_argument(
        "--item", required=True, help="a tie-out (stripe_available, …) or exception:<id>"
    )
    p.add_argument("--amount", type=int, required=True, help="the difference acknowledged")
    p.add_argument("--note", required=True)
    p.add_argument("--actor", required=True)


def _report_args(p: argparse.ArgumentParser) -> None:
    _day_args(p)
    p.add_argument("--format", choices=("json", "csv"), default="json")


BOOKS_COMMANDS: tuple[Extra, ...] = (
    (
        "reconcile",
        "import Stripe's balance transactions and match what changed (--full: everything)",
        _reconcile_args,
        _command(_reconcile),
    ),
    (
        "recon-exceptions",
        "list reconciliation exceptions (JSON)",
        _exceptions_args,
        _command(_exceptions),
    ),
    (
        "recon-resolve",
        "resolve an open exception with a note; exit 2 if it is not open",
        _resolve_args,
        _command(_resolve),
    ),
    (
        "close-day",
        "close a business day; exit 3 with the differences when it cannot",
        _close_args,
        _command(_close),
    ),
    (
        "close-ack",
        "acknowledge a known difference or exception of a day",
        _ack_args,
        _command(_acknowledge),
    ),
    ("close-report", "print a close's report (JSON or CSV)", _report_args, _command(_report)),
)
