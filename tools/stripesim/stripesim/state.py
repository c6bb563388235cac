"""In-memory state of the simulator: objects, events, idempotency records, clock, faults."""

from __future__ import annotations

import fnmatch
import random
import secrets
import string
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stripesim.eventlog import RETENTION_SECONDS, EventLog
from stripesim.forms import Params
from stripesim.indexes import FOREIGN_KEYS, SeqLists
from stripesim.jsonio import clone
from stripesim.tracking import TrackedDict

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
ACH_SETTLEMENT_SECONDS = 4 * 24 * 60 * 60  # ACH Direct Debit: ~4 business days to succeed/fail
AVAILABLE_DELAY_SECONDS = 2 * 24 * 60 * 60  # a US card charge's funds: available 2 days later
PAYOUT_ARRIVAL_SECONDS = 24 * 60 * 60  # a standard payout reaches the bank the next day
_ALPHABET = string.ascii_letters + string.digits

EventListener = Callable[[dict[str, Any]], None]
Matcher = Callable[[dict[str, Any]], bool]


# Seeded from the OS once: ids must not repeat across restarts, not resist an attacker, and
# `secrets.choice` per character was a fifteenth of the simulator's CPU.
_IDS = random.Random(secrets.randbits(128))


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(_IDS.choices(_ALPHABET, k=length))


@dataclass
class IdempotencyRecord:
    method: str
    path: str
    params: Params
    status: int
    body: dict[str, Any]
    request_id: str
    stored_at: int


@dataclass
class FailureRule:
    """Fail the next ``remaining`` requests whose path matches ``pattern`` (fnmatch)."""

    pattern: str
    remaining: int
    status: int = 500
    method: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return fnmatch.fnmatchcase(path, self.pattern)


@dataclass
class SimState:
    """Everything the simulator knows. Not thread-safe: mutated only on the event loop.

    Objects are indexed on write (see ``indexes``): by type and by the foreign keys lists
    filter on, in creation order. ``objects`` and ``private`` record the keys they hand out
    (``tracking``), which is what a snapshot writes and what the timers look at again.
    """

    objects: TrackedDict = field(default_factory=TrackedDict)
    private: TrackedDict = field(default_factory=TrackedDict)
    events: EventLog = field(default_factory=EventLog)
    idempotency: OrderedDict[tuple[str, str], IdempotencyRecord] = field(
        default_factory=OrderedDict
    )
    failures: list[FailureRule] = field(default_factory=list)
    clock_offset: int = 0
    # While the timers apply something that fell due in the past (the clock was moved past it),
    # "now" is that moment, so what it creates is dated when it happened (``timers``).
    as_of: int | None = None
    listeners: list[EventListener] = field(default_factory=list)
    revision: int = 0  # bumped by changes that emit no event (test controls)
    # Configuration (kept by ``reset``): sim seconds an ACH debit stays ``processing``.
    ach_settlement_seconds: int = ACH_SETTLEMENT_SECONDS
    # Sim seconds from a charge to its funds being available; automatic daily payouts (at
    # ``payout_time`` seconds after midnight UTC) arriving ``payout_arrival_seconds`` later.
    available_delay_seconds: int = AVAILABLE_DELAY_SECONDS
    automatic_payouts: bool = True
    payout_time: int = 0
    payout_arrival_seconds: int = PAYOUT_ARRIVAL_SECONDS
    # Kept from the balance transactions (see ``resources.balance``): net per (currency,
    # status), and per currency the available ones no payout has taken yet.
    balance: dict[tuple[str, str], int] = field(default_factory=dict)
    unpaid: dict[str, dict[str, None]] = field(default_factory=dict)
    # Where events that left memory are still found (the state file), if anywhere.
    archive: Callable[[str], dict[str, Any] | None] | None = None
    # Where idempotency records that left memory are still found (the state file), if anywhere.
    stored_key: Callable[[str, str], IdempotencyRecord | None] | None = None
    # Idempotency keys stored or purged since the last snapshot; set by ``reset``.
    idempotency_dirty: set[tuple[str, str]] = field(default_factory=set)
    was_reset: bool = False
    _seq_of: dict[str, int] = field(default_factory=dict)
    _id_of: dict[int, str] = field(default_factory=dict)
    _lists: SeqLists = field(default_factory=SeqLists)
    next_seq: int = 1

    def touch(self) -> None:
        self.revision += 1

    def reset(self) -> None:
        self.objects.clear()
        self.private.clear()
        self.events.clear()
        self.idempotency.clear()
        self.idempotency_dirty.clear()
        self.failures.clear()
        self.clock_offset = 0
        self._seq_of.clear()
        self._id_of.clear()
        self._lists.clear()
        self.next_seq = 1
        self.balance.clear()
        self.unpaid.clear()
        self.was_reset = True

    # -- clock ---------------------------------------------------------------------------
    def now(self) -> int:
        if self.as_of is not None:
            return self.as_of
        return int(time.time()) + self.clock_offset

    def advance(self, seconds: int) -> int:
        self.clock_offset += seconds
        return self.now()

    # -- objects -------------------------------------------------------------------------
    def put(self, obj: dict[str, Any], seq: int | None = None) -> dict[str, Any]:
        """Store ``obj``; the first time, file it in the indexes (``seq``: when loading)."""
        object_id = obj["id"]
        self.objects[object_id] = obj
        if object_id not in self._seq_of:
            self._index(obj, self.next_seq if seq is None else seq)
        return obj

    def _index(self, obj: dict[str, Any], seq: int) -> None:
        self.next_seq = max(self.next_seq, seq + 1)
        self._seq_of[obj["id"]] = seq
        self._id_of[seq] = obj["id"]
        kind = obj.get("object")
        self._lists.add(kind, seq)
        for name in FOREIGN_KEYS.get(str(kind), ()):
            if obj.get(name) is not None:
                self._lists.add((kind, name, obj[name]), seq)

    def seq(self, object_id: str) -> int | None:
        return self._seq_of.get(object_id)

    def load_object(self, obj: dict[str, Any], seq: int) -> None:
        """Put an object read from the state file (not dirty: it is already there)."""
        self.objects.load({obj["id"]: obj})
        self._index(obj, seq)
        if obj.get("object") == "balance_transaction":
            self.add_to_balance(obj["currency"], obj["status"], obj["net"])

    def add_to_balance(self, currency: str, status: str, net: int) -> None:
        key = (currency, status)
        self.balance[key] = self.balance.get(key, 0) + net

    def get(self, object_id: str, object_type: str) -> dict[str, Any] | None:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("object") != object_type:
            return None
        return obj

    def by_seq(self, seq: int) -> dict[str, Any] | None:
        object_id = self._id_of.get(seq)
        return None if object_id is None else self.objects.get(object_id)

    def peek_seq(self, seq: int) -> dict[str, Any] | None:
        """``by_seq`` for a read-only caller: the object is not marked as touched (a list of
        100,000 balance transactions would otherwise be written again by the next snapshot)."""
        object_id = self._id_of.get(seq)
        return None if object_id is None else self.objects.peek(object_id)

    def type_list(self, key: Any) -> list[int]:
        """The ascending sequence numbers filed under an index key (see ``indexes``)."""
        return self._lists.get(key)

    def find(self, object_type: str, **filters: str | None) -> tuple[list[int], Matcher]:
        """The (ascending) sequence numbers to walk for objects of ``object_type`` whose
        fields equal the non-None ``filters``, and the test each object must pass: the
        shortest index list of the filters, checked against the others."""
        wanted = {k: v for k, v in filters.items() if v is not None}
        candidates = [self._lists.get((object_type, k, v)) for k, v in wanted.items()]
        seqs = min(candidates, key=len) if candidates else self._lists.get(object_type)

        def matches(obj: dict[str, Any]) -> bool:
            return obj.get("object") == object_type and all(
                obj.get(k) == v for k, v in wanted.items()
            )

        return seqs, matches

    def all_of(self, object_type: str, **filters: str | None) -> list[dict[str, Any]]:
        """Every object of the type matching ``filters``, oldest first (an indexed filter
        keeps this as long as the answer, not the history)."""
        seqs, matches = self.find(object_type, **filters)
        found = (self.by_seq(seq) for seq in seqs)
        return [obj for obj in found if obj is not None and matches(obj)]

    def base_object(self, object_type: str, prefix: str) -> dict[str, Any]:
        return {
            "id": new_id(prefix),
            "object": object_type,
            "created": self.now(),
            "livemode": False,
            "metadata": {},
        }

    # -- events --------------------------------------------------------------------------
    def emit(
        self,
        type_: str,
        obj: dict[str, Any],
        *,
        request: dict[str, Any] | None,
        api_version: str,
        pending_webhooks: int = 0,
    ) -> dict[str, Any]:
        event = {
            "id": new_id("evt_"),
            "object": "event",
            "api_version": api_version,
            "created": self.now(),
            "data": {"object": clone(obj)},
            "livemode": False,
            "pending_webhooks": pending_webhooks,
            "request": request or {"id": None, "idempotency_key": None},
            "type": type_,
        }
        self.events.append(event)
        for listener in self.listeners:
            listener(event)
        return event

    def event(self, event_id: str) -> dict[str, Any] | None:
        """An event in memory, else in the archive (kept 30 days like Stripe)."""
        found = self.events.get(event_id)
        if found is None and self.archive is not None:
            found = self.archive(event_id)
        return found

    def prune_events(self) -> int:
        return self.events.prune(self.now() - RETENTION_SECONDS)

    # -- idempotency ---------------------------------------------------------------------
    def idempotent(self, api_key: str, key: str) -> IdempotencyRecord | None:
        """The record of a key used in the last 24 h: in memory, else in the store (left
        there: a replay of an old key is rare, and its row expires with the others)."""
        record = self.idempotency.get((api_key, key))
        if record is None:
            found = None if self.stored_key is None else self.stored_key(api_key, key)
            expired = found is None or self.now() - found.stored_at > IDEMPOTENCY_TTL_SECONDS
            return None if expired else found
        if self.now() - record.stored_at > IDEMPOTENCY_TTL_SECONDS:
            self._forget_key((api_key, key))
            return None
        return record

    def evict_idempotency(self, limit: int) -> int:
        """Drop the oldest records beyond ``limit`` that the store already holds."""
        evicted = 0
        while len(self.idempotency) > limit:
            key = next(iter(self.idempotency))
            if key in self.idempotency_dirty:
                break  # not written yet; what follows it is newer
            del self.idempotency[key]
            evicted += 1
        return evicted

    def remember(self, api_key: str, key: str, record: IdempotencyRecord) -> None:
        self.idempotency[(api_key, key)] = record
        self.idempotency.move_to_end((api_key, key))
        self.idempotency_dirty.add((api_key, key))

    def _forget_key(self, key: tuple[str, str]) -> None:
        del self.idempotency[key]
        self.idempotency_dirty.add(key)

    def purge_idempotency(self) -> int:
        """Forget records past their 24 h. Records are kept in the order they were stored and
        the sim clock never goes back, so the expired ones are at the front."""
        purged = 0
        limit = self.now() - IDEMPOTENCY_TTL_SECONDS
        while self.idempotency:
            key, record = next(iter(self.idempotency.items()))
            if record.stored_at >= limit:
                break
            self._forget_key(key)
            purged += 1
        return purged

    # -- fault injection -----------------------------------------------------------------
    def take_failure(self, method: str, path: str) -> FailureRule | None:
        for rule in self.failures:
            if rule.remaining > 0 and rule.matches(method, path):
                rule.remaining -= 1
                return rule
        self.failures[:] = [r for r in self.failures if r.remaining > 0]
        return None


@dataclass
class Ctx:
    """One API request as handlers see it."""

    state: SimState
    api_version: str
    request_id: str | None = None
    idempotency_key: str | None = None
    webhooks_enabled: bool = False

    def now(self) -> int:
        return self.state.now()

    def emit(self, type_: str, obj: dict[str, Any]) -> dict[str, Any]:
        request = {"id": self.request_id, "idempotency_key": self.idempotency_key}
        return self.state.emit(
            type_,
            obj,
            request=request,
            api_version=self.api_version,
            pending_webhooks=1 if self.webhooks_enabled else 0,
        )
