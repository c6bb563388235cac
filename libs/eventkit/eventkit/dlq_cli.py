"""`python -m eventkit.admin dlq list|replay|skip`: arguments and output over eventkit.dlq.

stdout carries the results (one JSON object per dead letter for `list`, one line per dead
letter for `replay` and `skip`); stderr the counts, refusals and the progress bar.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from eventkit import dlq

# A replay of fewer dead letters than this is over before a bar would say anything.
PROGRESS_FROM = 20
_AGO = re.compile(r"^(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}


def when(text: str) -> datetime:
    """`2026-12-05T01:00:00Z`, `2026-12-05` (UTC when no zone) or an age: `30m`, `2h`, `7d`."""
    ago = _AGO.match(text)
    if ago:
        try:
            return datetime.now(UTC) - timedelta(**{_UNITS[ago.group(2)]: int(ago.group(1))})
        except OverflowError:  # an age before the year 1
            raise argparse.ArgumentTypeError(f"not a time: {text!r} (too long ago)") from None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a time: {text!r} (ISO 8601, or an age like 30m, 2h, 7d)"
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _letter_id(text: str) -> str:
    """`12` or `2:12` (partition 2, offset 12)."""
    partition, _, offset = text.rpartition(":")
    if not offset.isdigit() or not (partition == "" or partition.isdigit()):
        raise argparse.ArgumentTypeError(f"not [PARTITION:]OFFSET: {text!r}")
    return text


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _filters(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("filters (all given must match)")
    group.add_argument("--event-type", help="the envelope's type, e.g. booking.checkout_requested")
    group.add_argument("--error-type", help="the exception class, e.g. KeyError")
    group.add_argument("--key", help="the Kafka key (the aggregate id)")
    group.add_argument("--topic", help="the original topic, e.g. booking.events")
    group.add_argument("--since", type=when, help="dead-lettered at or after (ISO 8601 or 2h)")
    group.add_argument("--until", type=when, help="dead-lettered before (ISO 8601 or 30m)")


def _selection(parser: argparse.ArgumentParser, verb: str) -> None:
    parser.add_argument("service")
    parser.add_argument(
        "--offset",
        type=_letter_id,
        action="append",
        default=[],
        metavar="[PARTITION:]OFFSET",
        help=f"a dead letter to {verb} (repeatable), as `dlq list` prints its id",
    )
    parser.add_argument("--all", action="store_true", help=f"{verb} every pending dead letter")
    parser.add_argument("--dry-run", action="store_true", help="say what it would do; do nothing")
    parser.add_argument("--by", default=None, help="who acts, kept in the note (default: $USER)")
    _filters(parser)


def add_parsers(dead: argparse.ArgumentParser, late: argparse.ArgumentParser) -> None:
    actions = dead.add_subparsers(dest="action", required=True)
    lst = actions.add_parser("list", parents=[late], help="print dead letters as JSON lines")
    lst.add_argument("service")
    lst.add_argument("--limit", type=_positive, default=50, help="the last N (default 50)")
    lst.add_argument("--state", choices=dlq.STATES, help="pending, replayed or skipped")
    _filters(lst)
    rep = actions.add_parser("replay", parents=[late], help="re-deliver to the failing service")
    _selection(rep, "replay")
    rep.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    skp = actions.add_parser("skip", parents=[late], help="mark handled without replaying")
    _selection(skp, "skip")
    skp.add_argument("--note", required=True, help="why it needs no replay (kept)")


def check(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.action in ("replay", "skip") and not (args.offset or args.all):
        parser.error(f"{args.action} needs --offset [PARTITION:]OFFSET or --all")


def filters_of(args: argparse.Namespace) -> dlq.Filters:
    return dlq.Filters(
        event_type=args.event_type,
        error_type=args.error_type,
        key=args.key,
        topic=args.topic,
        since=args.since,
        until=args.until,
        state=getattr(args, "state", None),
    )


async def run(bootstrap: str, args: argparse.Namespace) -> int:
    if args.action == "list":
        return await list_letters(bootstrap, args)
    if args.action == "replay":
        return await replay(bootstrap, args)
    return await skip(bootstrap, args)


async def list_letters(bootstrap: str, args: argparse.Namespace) -> int:
    page = await dlq.list_dead_letters(bootstrap, args.service, filters_of(args), limit=args.limit)
    for letter in reversed(page.items):  # oldest first, like a log
        print(json.dumps(letter.as_dict()))
    topic = f"{args.service}.dlt"
    if not page.total:
        print(f"no dead letters in {topic}", file=sys.stderr)
    else:
        shown = len(page.items)
        print(f"{page.total} dead letter(s) in {topic}, last {shown} shown", file=sys.stderr)
    return 0


async def replay(bootstrap: str, args: argparse.Namespace) -> int:
    with _progress(enabled=not args.no_progress) as on_progress:
        result = await dlq.replay(
            bootstrap,
            args.service,
            ids=args.offset,
            pending=args.all,
            filters=filters_of(args),
            dry_run=args.dry_run,
            actor=args.by or _user(),
            on_progress=on_progress,
        )
    verb = "would replay" if result.dry_run else "replayed"
    for letter in result.replayed:
        print(f"{verb} {letter.name} -> {result.target} (from {letter.original_topic})")
    for refusal in result.refused:
        print(f"refused {refusal.letter.name}: {refusal.reason}", file=sys.stderr)
    count = f"{len(result.replayed)} dead letter(s), refused {len(result.refused)}"
    print(f"dry run: would replay {count}; nothing sent" if result.dry_run else f"replayed {count}",
          file=sys.stderr)  # fmt: skip
    return 1 if result.refused else 0


async def skip(bootstrap: str, args: argparse.Namespace) -> int:
    result = await dlq.skip(
        bootstrap,
        args.service,
        note=args.note,
        ids=args.offset,
        pending=args.all,
        filters=filters_of(args),
        dry_run=args.dry_run,
        actor=args.by or _user(),
    )
    verb = "would skip" if result.dry_run else "skipped"
    for letter in result.skipped:
        print(f"{verb} {letter.name}: {result.note}")
    tail = "; nothing written" if result.dry_run else ""
    print(f"{verb} {len(result.skipped)} dead letter(s){tail}", file=sys.stderr)
    return 0


def _user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name in a bare container
        return "ops"


@contextmanager
def _progress(enabled: bool) -> Iterator[dlq.Progress | None]:
    """A bar on stderr for a replay of PROGRESS_FROM dead letters or more."""
    if not enabled:
        yield None
        return
    bar = Progress(
        TextColumn("replaying"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
    )
    task: list[Any] = []

    def step(done: int, total: int) -> None:
        if total < PROGRESS_FROM:
            return
        if not task:
            bar.start()
            task.append(bar.add_task("replay", total=total))
        bar.update(task[0], completed=done)

    try:
        yield step
    finally:
        if task:
            bar.stop()
