"""Ops CLI: create topics from the catalogue; inspect and replay dead letters.

    python -m eventkit.admin [--bootstrap HOST:PORT] create-topics
    python -m eventkit.admin [--bootstrap HOST:PORT] dlq list SERVICE [--limit N]
    python -m eventkit.admin [--bootstrap HOST:PORT] dlq replay SERVICE
                             [--offset [PARTITION:]OFFSET ...] [--all]

The broker is --bootstrap (before or after the command), else $KAFKA_BOOTSTRAP, else
127.0.0.1:9092.

Replay re-publishes the original bytes to the original topic (headers say it is a replay); the
consumer's inbox makes a replay of an event that did succeed meanwhile a no-op. `--all` replays
what it has not replayed yet, remembered per partition in the consumer group
`<service>.dlt-replay` (see eventkit.dlq).

Exit codes: 0 done; 1 Kafka unreachable or failing, or a dead letter that could not be replayed;
2 refused before doing anything (bad arguments, no such topic or dead letter). Errors are one
line on stderr: `eventkit.admin: <code>: <message>`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Coroutine
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError

from eventkit import dlq
from marketplace_contracts import CATALOGUE

SYSTEM_BOOTSTRAP = "127.0.0.1:9092"


async def create_topics(bootstrap: str) -> int:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        missing = [t for name, t in CATALOGUE.items() if name not in existing]
        for topic in missing:
            try:
                await admin.create_topics(
                    [NewTopic(topic.name, topic.partitions, 1, topic_configs=topic.kafka_configs())]
                )
            except TopicAlreadyExistsError:
                pass
            print(f"created {topic.name} partitions={topic.partitions} {topic.kafka_configs()}")
        print(f"topics: {len(CATALOGUE) - len(missing)} existed, {len(missing)} created")
    finally:
        await admin.close()
    return 0


def _pick(text: str) -> dlq.Pick:
    """`--offset 12` or `--offset 2:12` (partition 2, offset 12)."""
    partition, _, offset = text.rpartition(":")
    try:
        return (int(partition) if partition else None), int(offset)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not [PARTITION:]OFFSET: {text!r}") from None


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m eventkit.admin",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--bootstrap", help=f"Kafka (default $KAFKA_BOOTSTRAP or {SYSTEM_BOOTSTRAP})"
    )
    # Also accepted after the command; SUPPRESS keeps the value given before it otherwise.
    late = argparse.ArgumentParser(add_help=False)
    late.add_argument("--bootstrap", default=argparse.SUPPRESS, help=argparse.SUPPRESS)
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("create-topics", parents=[late], help="create every catalogue topic missing")
    dead = sub.add_parser("dlq", help="dead-letter topics")
    actions = dead.add_subparsers(dest="action", required=True)
    lst = actions.add_parser("list", parents=[late], help="print the last dead letters as JSON")
    lst.add_argument("service")
    lst.add_argument("--limit", type=_positive, default=50)
    rep = actions.add_parser("replay", parents=[late], help="re-publish dead letters")
    rep.add_argument("service")
    rep.add_argument(
        "--offset", type=_pick, action="append", default=[], metavar="[PARTITION:]OFFSET"
    )
    rep.add_argument("--all", action="store_true", help="every dead letter not yet replayed")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "dlq" and args.action == "replay" and not (args.offset or args.all):
        parser.error("replay needs --offset [PARTITION:]OFFSET or --all")
    # aiokafka logs each failed connection attempt; the one-line error below says it once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    bootstrap = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP") or SYSTEM_BOOTSTRAP
    work: Coroutine[Any, Any, int]
    if args.command == "create-topics":
        work = create_topics(bootstrap)
    elif args.action == "list":
        work = dlq.list_dead_letters(bootstrap, args.service, args.limit)
    else:
        work = dlq.replay(bootstrap, args.service, args.offset, args.all)
    try:
        return asyncio.run(work)
    except dlq.AdminError as exc:
        return _fail(exc.code, str(exc), 2)
    except (TimeoutError, KafkaConnectionError, OSError) as exc:
        return _fail("kafka_unavailable", f"cannot reach Kafka at {bootstrap}: {_line(exc)}", 1)
    except KafkaError as exc:
        return _fail("kafka_error", f"Kafka at {bootstrap}: {_line(exc)}", 1)


def _line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _fail(code: str, message: str, exit_code: int) -> int:
    print(f"eventkit.admin: {code}: {message}", file=sys.stderr)
    return exit_code


if __name__ == "__main__":
    sys.exit(main())
