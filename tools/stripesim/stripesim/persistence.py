"""Keep the simulator's state across restarts, as Stripe keeps yours.

Without it, a restarted simulator forgets customers and PaymentIntents that the services'
databases still reference, and every later call fails with `resource_missing`. The state is
snapshotted to a JSON file every few seconds when it changed, and on shutdown, and loaded at
start. A hard kill loses at most the last interval.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
from dataclasses import asdict
from pathlib import Path
from typing import Any

from stripesim.state import IdempotencyRecord, SimState

log = logging.getLogger("stripesim.persistence")


def dump(state: SimState) -> dict[str, Any]:
    return {
        "objects": state.objects,
        "private": state.private,
        "events": state.events,
        "clock_offset": state.clock_offset,
        "idempotency": [
            {"api_key": api_key, "key": key, **asdict(record)}
            for (api_key, key), record in state.idempotency.items()
        ],
    }


def load(state: SimState, data: dict[str, Any]) -> None:
    state.reset()
    state.objects.update(data["objects"])
    state.private.update(data["private"])
    state.events.extend(data["events"])
    state.clock_offset = data["clock_offset"]
    for item in data["idempotency"]:
        api_key, key = item.pop("api_key"), item.pop("key")
        state.idempotency[(api_key, key)] = IdempotencyRecord(**item)


def save(state: SimState, path: Path) -> None:
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(dump(state)))
    os.replace(tmp, path)  # atomic: a crash mid-write leaves the previous snapshot


def restore(state: SimState, path: Path) -> bool:
    if not path.exists():
        return False
    load(state, json.loads(path.read_text()))
    log.info("stripesim: restored %d objects from %s", len(state.objects), path)
    return True


def _fingerprint(state: SimState) -> tuple[int, int, int, int]:
    return (len(state.events), len(state.idempotency), len(state.objects), state.revision)


async def snapshot_loop(state: SimState, path: Path, every: float = 2.0) -> None:
    last = _fingerprint(state)
    while True:
        await asyncio.sleep(every)
        # Every mutation emits an event, stores an idempotency record or bumps the revision.
        if (current := _fingerprint(state)) != last:
            with contextlib.suppress(OSError):
                await asyncio.to_thread(save, state, path)
            last = current
