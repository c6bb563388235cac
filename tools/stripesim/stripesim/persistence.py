"""Keep the simulator's state across restarts, as Stripe keeps yours.

Without it, a restarted simulator forgets customers and PaymentIntents that the services'
databases still reference, and every later call fails with ``resource_missing``.

Design: every ``every`` seconds (default 2) the snapshot writes only what changed since the
last one, so its cost follows the traffic of the interval, not the history kept:

- ``state.objects`` / ``state.private`` record the ids handed out (``tracking``), the event
  log the events appended, the state the idempotency keys stored or purged, the webhook
  dispatcher the deliveries that changed;
- on the event loop, those rows are serialized to JSON (``collect``): this is the copy, so
  serialization never runs while a handler mutates an object;
- a worker thread writes the batch to SQLite in one transaction (``store``);
- a request that changes anything (a POST or DELETE of the API) is answered only once what it
  changed is written (``durable``, on the event loop), as Stripe answers only what it has
  stored: such requests share one write while another is under way (group commit), and a
  ``kill -9`` loses nothing that was answered. What changes without a request (timers, webhook deliveries) waits for
  the next interval: a ``kill -9`` loses at most that interval of those;
- a failed write is logged at ERROR every time, shown by ``GET /_sim/health``
  (``persistence``), and its batch is kept and merged into the next one, so the next
  write retries it.
- after a write succeeds, memory drops the oldest objects and idempotency records beyond
  their bounds that the file now holds as they are (``tracking``, ``SimState.idempotent``);
  a lookup reads them back, so the history kept costs disk, not memory.

A state file written by older versions (one JSON document) is imported on start: in place
(the JSON is kept beside it as ``<name>.pre-sqlite.json``), or from ``<stem>.json`` when the
configured file does not exist yet.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from stripesim.eventlog import RETENTION_SECONDS
from stripesim.jsonio import dumps
from stripesim.state import IDEMPOTENCY_TTL_SECONDS, IdempotencyRecord, SimState
from stripesim.store import Batch, Loaded, Store, is_sqlite
from stripesim.webhooks import Delivery, WebhookDispatcher

log = logging.getLogger("stripesim.persistence")
DEFAULT_SNAPSHOT_SECONDS = 2.0


class Persistence:
    def __init__(
        self,
        state: SimState,
        dispatcher: WebhookDispatcher,
        path: Path,
        every: float = DEFAULT_SNAPSHOT_SECONDS,
        *,
        objects_in_memory: int | None = None,
        keys_in_memory: int | None = None,
    ) -> None:
        """``objects_in_memory`` / ``keys_in_memory``: how many objects and idempotency
        records stay in memory once written (None: all); the others are read back on use."""
        self.state = state
        self.dispatcher = dispatcher
        self.path = path
        self.every = every
        self.keys_in_memory = keys_in_memory
        state.objects.limit = objects_in_memory
        self.store = Store(path)
        self._unwritten: Batch | None = None
        self.failures = 0  # consecutive failed writes
        self.last_error: str | None = None
        self.last_saved_at: float | None = None
        self.last_write_ms: float | None = None
        self.last_collect_ms: float | None = None
        self.last_rows = 0
        self._writing = asyncio.Lock()  # one write at a time: the store's connection is one
        self._takes = 0  # batches taken so far
        self._written_upto = 0  # the last of them written

    def status(self) -> dict[str, Any]:
        return {
            "ok": self.failures == 0,
            "path": str(self.path),
            "consecutive_failures": self.failures,
            "last_error": self.last_error,
            "last_saved_at": self.last_saved_at,
            "last_collect_ms": self.last_collect_ms,
            "last_write_ms": self.last_write_ms,
            "last_rows": self.last_rows,
            "unwritten_rows": 0 if self._unwritten is None else self._unwritten.rows(),
            "objects_in_memory": self.state.objects.in_memory(),
            "idempotency_in_memory": len(self.state.idempotency),
        }

    # -- snapshots -----------------------------------------------------------------------
    def collect(self) -> Batch:
        """Serialize what changed since the last call (on the event loop)."""
        state, dispatcher = self.state, self.dispatcher
        batch = Batch(
            reset=state.was_reset,
            events_before=state.now() - RETENTION_SECONDS,
            keys_before=state.now() - IDEMPOTENCY_TTL_SECONDS,
        )
        state.was_reset = False
        for object_id in state.objects.take_dirty():
            obj, seq = state.objects.peek(object_id), state.seq(object_id)
            batch.objects[object_id] = None if obj is None or seq is None else (seq, _json(obj))
        for private_id in state.private.take_dirty():
            record = state.private.peek(private_id)
            batch.private[private_id] = None if record is None else _json(record)
        for seq, event in state.events.take_unsaved():
            batch.events[seq] = (event["id"], event["created"], _json(event))
        dirty_keys, state.idempotency_dirty = state.idempotency_dirty, set()
        for api_key in dirty_keys:
            found = state.idempotency.get(api_key)
            batch.idempotency[api_key] = (
                None if found is None else (found.stored_at, _json(_key_row(api_key, found)))
            )
        dirty_deliveries, dispatcher.dirty = dispatcher.dirty, set()
        for event_id in dirty_deliveries:
            delivery = dispatcher.deliveries.get(event_id)
            pending = delivery is not None and delivery.status == "pending"
            batch.deliveries[event_id] = _json(delivery.as_dict()) if pending else None  # type: ignore[union-attr]
        batch.meta["clock_offset"] = str(state.clock_offset)
        return batch

    def _take(self) -> Batch:
        started = time.perf_counter()
        self._takes += 1
        batch = self.collect()
        self.last_collect_ms = round((time.perf_counter() - started) * 1000, 3)
        if self._unwritten is not None:
            batch = self._unwritten.merge(batch)
        self._unwritten = batch  # until it is written
        return batch

    def _written(self, batch: Batch, started: float) -> None:
        if self._unwritten is batch:
            self._unwritten = None
        if self.failures:
            log.warning("stripesim: state file %s writable again", self.path)
        self.failures, self.last_error = 0, None
        self.last_saved_at = time.time()
        self.last_write_ms = round((time.perf_counter() - started) * 1000, 3)
        self.last_rows = batch.rows()
        self._evict()

    def _evict(self) -> None:
        """Bound memory now that the store holds what was written (see ``tracking``)."""
        self.state.objects.evict()
        if self.keys_in_memory is not None:
            self.state.evict_idempotency(self.keys_in_memory)

    def _failed(self, exc: BaseException) -> None:
        self.failures += 1
        self.last_error = f"{type(exc).__name__}: {exc}"
        log.error(
            "stripesim: writing the state file %s failed (%d in a row; kept for the next "
            "snapshot): %s",
            self.path,
            self.failures,
            self.last_error,
            exc_info=exc,
        )

    async def flush(self) -> None:
        """Write what changed; on failure keep it for the next flush (logged at ERROR)."""
        async with self._writing:
            await self._flush(in_thread=True)

    async def durable(self) -> None:
        """Return once what changed before the call is written (or its write failed: logged,
        retried by the next one). A write under way may have taken its batch before the
        change: then the next one is needed, which also takes the changes of every request
        that waited meanwhile. Written on the event loop: a request's few rows take about
        0.2 ms to append to the WAL (no fsync: `synchronous=NORMAL`), less than handing
        them to a thread would cost."""
        needed = self._takes + 1  # a batch taken after this call holds its changes
        async with self._writing:
            if self._written_upto < needed:
                await self._flush(in_thread=False)

    async def _flush(self, *, in_thread: bool) -> None:
        batch = self._take()
        taken = self._takes
        started = time.perf_counter()
        try:
            if in_thread:  # an interval's rows (thousands under load): off the event loop
                await asyncio.to_thread(self.store.write, batch)
            else:
                self.store.write(batch)
        except Exception as exc:
            self._failed(exc)
            return
        self._written(batch, started)
        self._written_upto = taken

    def flush_now(self) -> None:
        """The last snapshot, at shutdown (synchronous)."""
        batch = self._take()
        started = time.perf_counter()
        try:
            self.store.write(batch)
        except Exception as exc:
            self._failed(exc)
            return
        self._written(batch, started)

    async def run(self) -> None:
        """Snapshot every ``every`` seconds until cancelled; never dies of an error."""
        while True:
            await asyncio.sleep(self.every)
            try:
                await self.flush()
            except Exception as exc:  # a bug in collect: same treatment as a failed write
                self._failed(exc)

    def close(self) -> None:
        self.flush_now()
        self.store.close()

    # -- start -----------------------------------------------------------------------------
    def restore(self, timed: Collection[str] | None = None) -> bool:
        """Load the state file (importing an old JSON one); False if there was none.
        ``timed``: the object types the timers look at (None: all)."""
        self._import_legacy()
        self.state.archive = self.store.event
        self.state.objects.loader = self._stored_object
        if self.keys_in_memory is not None:
            self.state.stored_key = self._stored_key
        if not self.path.exists():
            return False
        self.state.clock_offset = int(self.store.meta().get("clock_offset", "0"))
        now = self.state.now()
        loaded = self.store.read_all(
            events_since=now - RETENTION_SECONDS,
            keep_events=self.state.events.keep,
            keys_since=now - IDEMPOTENCY_TTL_SECONDS,
            keep_keys=-1 if self.keys_in_memory is None else self.keys_in_memory,
        )
        objects = self._load_objects(timed)
        self._apply(loaded)
        log.info(
            "stripesim: restored %d objects (%d in memory), %d events in memory, %d pending "
            "webhooks from %s",
            objects,
            self.state.objects.in_memory(),
            len(loaded.events),
            len(loaded.deliveries),
            self.path,
        )
        return True

    def _load_objects(self, timed: Collection[str] | None) -> int:
        """Index every object, keeping the newest in memory: the timers' first look at the
        older ones reads them from the store (``TrackedDict.peek_stored``), so only the types
        they act on are left for them to look at (half the objects of a payment). How many."""
        count, objects = 0, self.state.objects
        for count, (seq, obj) in enumerate(self.store.each_object(), start=1):
            self.state.load_object(obj, seq)
            if timed is not None and obj.get("object") not in timed:
                objects.touched.discard(obj["id"])
            if count % 1000 == 0:
                objects.evict(keep_touched=False)
        objects.evict(keep_touched=False)
        return count

    def _stored_object(self, object_id: str) -> dict[str, Any] | None:
        """An object evicted from memory; only ids the indexes know (not one of before a
        reset, nor a lookup of an id that never existed, which costs no read)."""
        if self.state.seq(object_id) is None:
            return None
        return self.store.object(object_id)

    def _stored_key(self, api_key: str, key: str) -> IdempotencyRecord | None:
        """An idempotency record evicted from memory (none while a reset is unwritten)."""
        if self.state.was_reset or (self._unwritten is not None and self._unwritten.reset):
            return None
        row = self.store.idempotency_row(api_key, key)
        if row is None:
            return None
        del row["api_key"], row["key"]
        return IdempotencyRecord(**row)

    def _apply(self, loaded: Loaded) -> None:
        state = self.state
        state.private.load(loaded.private)
        for seq, event in loaded.events:
            state.events.append(event, seq)
        state.events.next_seq = max(state.events.next_seq, loaded.next_event_seq)
        for row in loaded.idempotency:
            api_key, key = row.pop("api_key"), row.pop("key")
            state.idempotency[(api_key, key)] = IdempotencyRecord(**row)
        for row in loaded.deliveries:
            found = state.event(row["event_id"])
            if found is not None:
                self.dispatcher.restore(Delivery(**row), found)

    def _import_legacy(self) -> None:
        path = self.path
        if path.exists() and not is_sqlite(path) and path.stat().st_size > 0:
            legacy = path.with_name(path.name + ".pre-sqlite.json")
            path.replace(legacy)
        elif not path.exists() and path.with_suffix(".json").exists():
            legacy = path.with_suffix(".json")
        else:
            return
        self.store.write(legacy_batch(json.loads(legacy.read_text())))
        log.warning("stripesim: imported the JSON state file %s into %s", legacy, path)


def legacy_batch(data: dict[str, Any]) -> Batch:
    """The rows of a state file written as one JSON document (before SQLite)."""
    batch = Batch(reset=True, meta={"clock_offset": str(data.get("clock_offset", 0))})
    for seq, (object_id, obj) in enumerate(data["objects"].items(), start=1):
        batch.objects[object_id] = (seq, _json(obj))
    for key, record in data["private"].items():
        batch.private[key] = _json(record)
    for seq, event in enumerate(data["events"], start=1):
        batch.events[seq] = (event["id"], event["created"], _json(event))
    for item in data["idempotency"]:
        batch.idempotency[(item["api_key"], item["key"])] = (item["stored_at"], _json(item))
    return batch


def _key_row(key: tuple[str, str], record: IdempotencyRecord) -> dict[str, Any]:
    # Shallow: the row is serialized at once (`asdict` deep-copied the stored answer first,
    # an eighth of the simulator's CPU under load).
    return {"api_key": key[0], "key": key[1], **vars(record)}


def _json(value: Any) -> str:
    return dumps(value).decode("utf-8")
