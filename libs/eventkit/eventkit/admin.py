"""Ops CLI: create topics from the catalogue; list, replay and skip dead letters.

    python -m eventkit.admin [--bootstrap HOST:PORT] create-topics
    python -m eventkit.admin dlq list SERVICE [--limit N] [--state S] [FILTERS]
    python -m eventkit.admin dlq replay SERVICE (--offset [PARTITION:]OFFSET ... | --all)
                             [FILTERS] [--dry-run] [--by NAME] [--no-progress]
    python -m eventkit.admin dlq skip SERVICE (--offset [PARTITION:]OFFSET ... | --all)
                             --note TEXT [FILTERS] [--dry-run] [--by NAME]

FILTERS: --event-type T --error-type E --key K --topic ORIGINAL_TOPIC --since WHEN --until WHEN
(WHEN: ISO 8601, UTC when no zone, or an age: 30m, 2h, 7d).

The broker is --bootstrap (before or after the command), else $KAFKA_BOOTSTRAP, else
127.0.0.1:9092.

Replay re-delivers a dead letter to the failing service alone, through its retry topic
`<service>.retry`; its inbox drops an event it handled meanwhile. `--all` takes every pending
dead letter (neither replayed nor skipped), on every partition; what was replayed or skipped is
kept in `<service>.dlt-notes` (see eventkit.dlq, also the Python API).

Exit codes: 0 done; 1 Kafka unreachable or failing, or a record that could not be replayed;
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

from eventkit import dlq, dlq_cli
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
    dlq_cli.add_parsers(dead, late)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "dlq":
        dlq_cli.check(parser, args)
    # aiokafka logs each failed connection attempt; the one-line error below says it once.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)
    bootstrap = args.bootstrap or os.environ.get("KAFKA_BOOTSTRAP") or SYSTEM_BOOTSTRAP
    work: Coroutine[Any, Any, int]
    if args.command == "create-topics":
        work = create_topics(bootstrap)
    else:
        work = dlq_cli.run(bootstrap, args)
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
