"""In-memory state of the simulator: objects, events, idempotency records, clock, faults."""

from __future__ import annotations

import copy
import fnmatch
import secrets
import string
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from stripesim.forms import Params

IDEMPOTENCY_TTL_SECONDS = 24 * 60 * 60
ACH_SETTLEMENT_SECONDS = 4 * 24 * 60 * 60  # ACH Direct Debit: ~4 business days to succeed/fail
_ALPHABET = string.ascii_letters + string.digits

EventListener = Callable[[dict[str, Any]], None]


def new_id(prefix: str, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(_ALPHABET) for _ in range(length))


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
    """Everything the simulator knows. Not thread-safe: mutated only on the event loop."""

    objects: dict[str, dict[str, Any]] = field(default_factory=dict)
    private: dict[str, dict[str, Any]] = field(default_factory=dict)
    events: list[dict[str, Any]] = field(default_factory=list)
    idempotency: dict[tuple[str, str], IdempotencyRecord] = field(default_factory=dict)
    failures: list[FailureRule] = field(default_factory=list)
    clock_offset: int = 0
    listeners: list[EventListener] = field(default_factory=list)
    revision: int = 0  # bumped by changes that emit no event (test controls), for snapshots
    # Configuration (kept by ``reset``): sim seconds an ACH debit stays ``processing``.
    ach_settlement_seconds: int = ACH_SETTLEMENT_SECONDS

    def touch(self) -> None:
        self.revision += 1

    def reset(self) -> None:
        self.objects.clear()
        self.private.clear()
        self.events.clear()
        self.idempotency.clear()
        self.failures.clear()
        self.clock_offset = 0

    # -- clock ---------------------------------------------------------------------------
    def now(self) -> int:
        return int(time.time()) + self.clock_offset

    def advance(self, seconds: int) -> int:
        self.clock_offset += seconds
        return self.now()

    # -- objects -------------------------------------------------------------------------
    def put(self, obj: dict[str, Any]) -> dict[str, Any]:
        self.objects[obj["id"]] = obj
        return obj

    def get(self, object_id: str, object_type: str) -> dict[str, Any] | None:
        obj = self.objects.get(object_id)
        if obj is None or obj.get("object") != object_type:
            return None
        return obj

    def of_type(self, object_type: str) -> list[dict[str, Any]]:
        return [o for o in self.objects.values() if o.get("object") == object_type]

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
            "data": {"object": copy.deepcopy(obj)},
            "livemode": False,
            "pending_webhooks": pending_webhooks,
            "request": request or {"id": None, "idempotency_key": None},
            "type": type_,
        }
        self.events.append(event)
        for listener in self.listeners:
            listener(event)
        return event

    # -- idempotency ---------------------------------------------------------------------
    def idempotent(self, api_key: str, key: str) -> IdempotencyRecord | None:
        record = self.idempotency.get((api_key, key))
        if record is not None and self.now() - record.stored_at > IDEMPOTENCY_TTL_SECONDS:
            del self.idempotency[(api_key, key)]
            return None
        return record

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
