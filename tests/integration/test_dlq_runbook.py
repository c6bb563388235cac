"""Every dead-letter command of README.md and docs/ runs as written, as a child process, on real
dead letters (real Kafka and Postgres): only the service name is swapped for the test's own
(`payments` -> `clitest…`, so the suite's other services are never replayed to) and documented
`--offset` ids for ids of dead letters that exist."""

from __future__ import annotations

import shlex
import sys
from collections.abc import AsyncIterator, Iterator

import asyncpg
import pytest

from tests.support import wait_for
from tests.support.cli import ROOT, no_traceback, run_async
from tests.support.dlq_consumers import FailingConsumer

pytestmark = pytest.mark.integration
SERVICES = ("booking", "payments", "finance", "disputes")


def documented_dlq_commands() -> Iterator[tuple[str, list[str]]]:
    """(file, argv after `python`) of each `python -m eventkit.admin dlq ...` line in a fenced
    block, in document order."""
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]:
        fenced = False
        for line in path.read_text().splitlines():
            if line.startswith("```"):
                fenced = not fenced
                continue
            words = shlex.split(line, comments=True) if fenced and " dlq " in line else []
            if words[1:4] == ["-m", "eventkit.admin", "dlq"]:
                yield str(path.relative_to(ROOT)), words[1:]


@pytest.fixture
async def consumer(
    kafka_bootstrap: str, booking_pool: asyncpg.Pool, scratch_tables: tuple[str, str, str]
) -> AsyncIterator[FailingConsumer]:
    async with FailingConsumer(kafka_bootstrap, booking_pool, scratch_tables) as c:
        yield c


def test_the_docs_show_list_replay_dry_run_and_skip() -> None:
    shown = {" ".join(argv[2:4]) for _, argv in documented_dlq_commands()}
    assert {"dlq list", "dlq replay", "dlq skip"} <= shown
    flags = {word for _, argv in documented_dlq_commands() for word in argv}
    assert {"--dry-run", "--all", "--offset", "--note", "--error-type", "--since"} <= flags


async def test_every_documented_dead_letter_command_runs_as_written(
    consumer: FailingConsumer, kafka_bootstrap: str
) -> None:
    for seq, key in enumerate(("k-a", "k-b", "k-c", "k-d")):
        await consumer.send_event(key, seq, fail=True)
    await wait_for(lambda: consumer.dead(4), timeout=60)
    real = [f"{r.partition}:{r.offset}" for r in await consumer.dead_letters()]
    ids: dict[str, str] = {}
    consumer.broken = False  # the fix is deployed before the runbook's replays
    for where, argv in documented_dlq_commands():
        words = [consumer.service if w in SERVICES else w for w in argv]
        for i, word in enumerate(words[:-1]):
            if word == "--offset":
                words[i + 1] = ids.setdefault(words[i + 1], real[len(ids) % len(real)])
        done = await run_async([sys.executable, *words], env={"KAFKA_BOOTSTRAP": kafka_bootstrap})
        assert done.returncode == 0 and no_traceback(done), (where, words, done.stderr)
    # The docs' replays handled every dead letter once, whatever order they ran in.
    await wait_for(lambda: consumer.effects_are({0: 1, 1: 1, 2: 1, 3: 1}), timeout=60)
