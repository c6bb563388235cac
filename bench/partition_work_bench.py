"""Cost of taking the next unit from one partition's buffered records, by backlog.

    python bench/partition_work_bench.py [--ready 10 100 1000] [--step-share 0.9]

In-process, no broker: `eventkit.partition_work.PartitionWork` gets `ready` records of as many
keys, `step-share` of them needing a step of their own (a payment-provider call, as most of
payments' records do), the rest simple. Then, as a consumer's dispatcher does with every step
slot busy, it takes runs of simple records until none is left, and looks 200 times more with
nothing to take. Prints µs per take for each backlog: the figure must not grow with it.
"""

from __future__ import annotations

import argparse
import time

from aiokafka.structs import ConsumerRecord, TopicPartition

from eventkit.consumer import Item
from eventkit.partition_work import PartitionWork

TP = TopicPartition("bench", 0)


def _item(offset: int, step: bool) -> Item:
    record = ConsumerRecord("bench", 0, offset, 0, 0, f"k{offset}".encode(), b"", None, 0, 0, [])
    return Item(record, None if step else object(), False)  # None: no simple event, a step


def per_take(ready: int, step_share: float) -> float:
    work = PartitionWork(TP)
    every = max(1, round(1 / max(1e-9, 1 - step_share)))  # one simple record in `every`
    work.add([_item(i, i % every != every - 1) for i in range(ready)])
    takes = 0
    started = time.perf_counter()
    while (unit := work.take(100, 1, steps=False, runs=True)) is not None:
        takes += 1
        work.finish(unit)
    for _ in range(200):
        work.take(100, 1, steps=False, runs=True)
        takes += 1
    return (time.perf_counter() - started) / takes * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ready", type=int, nargs="+", default=[10, 100, 1000])
    parser.add_argument("--step-share", type=float, default=0.9)
    args = parser.parse_args()
    for ready in args.ready:
        print(f"{ready:6d} ready keys: {per_take(ready, args.step_share):8.1f} µs per take")


if __name__ == "__main__":
    main()
