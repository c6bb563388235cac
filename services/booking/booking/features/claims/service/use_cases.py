"""Use cases: damage claims against a security deposit. One transaction each.

Lock order: the booking (and its group, by `get_booking`), then the claim. One claim of a
booking is open at a time (a unique index; a concurrent filing gets 409 `claim_open`).

- The host files a claim after the end, within the claim window (`BOOKING_CLAIM_WINDOW_SECONDS`):
  `booking.claim_filed`, and a durable `claim_response_expiry` timer at `respond_by`
  (`BOOKING_CLAIM_RESPONSE_WINDOW_SECONDS`).
- The guest accepts or contests until then; unanswered, the claim waits for an admin
  (`awaiting_admin`). An admin decides 0 up to the amount claimed.
- An accepted or decided amount above 0 is charged: in one transaction the claim becomes
  `charging` and booking emits `booking.charge_requested` (`reason="deposit_claim"`,
  `subject_id` the claim, no platform fee, id `clm_<claim id>`; `clm_<claim id>_<n>` for an
  admin's retry) and `booking.claim_decided`. Payments answers `payment_captured` v2 or
  `payment_failed` with that id, purpose `deposit_claim` and the claim as `subject_id`; an
  answer to an earlier attempt (another id) is ignored.
- The deposit's release: `service/deposits.py`. The timers' handlers: `timers.py`.

The rules live in the `Claim` aggregate (`domain/claim.py`); the events a change publishes are
the ones its transition declares (`messages.publish`); the SQL is in `repository.py` (all in
`features/claims/`). The windows come from the settings through bootstrap
(`windows`; without them, the settings' defaults).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.config import claim_windows
from booking.domain.errors import BookingError, ErrorCode
from booking.features.claims import repository as claims_repository
from booking.features.claims.domain import (
    CLAIM_RESPONSE_EXPIRY,
    Change,
    Claim,
    ClaimTrigger,
    charge_request_id,
)
from booking.features.claims.domain.rules import ClaimWindows, Evidence, remaining_deposit
from booking.features.claims.messages import About, publish
from booking.features.claims.service.deposits import (
    on_booking_completed,
    on_booking_ended,
    release_if_settled,
)
from booking.features.claims.views import claims_of, evidence_file, not_found, view
from eventkit import scheduler
from eventkit.outbox import Outbox
from eventkit.rows import expect_changed
from marketplace_contracts import Envelope
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
)

__all__ = [
    "Evidence",
    "accept",
    "charge_request_id",
    "claims_of",
    "contest",
    "decide",
    "evidence_file",
    "file_claim",
    "lock",
    "on_booking_completed",
    "on_booking_ended",
    "on_charge_captured",
    "on_charge_failed",
    "retry",
    "save",
    "view",
    "withdraw",
]


async def lock(conn: asyncpg.Connection, claim_id: uuid.UUID) -> tuple[asyncpg.Record, Claim]:
    """The claim's booking row and the claim, both locked (booking first)."""
    booking_id = await claims_repository.booking_of_claim(conn, claim_id)
    if booking_id is None:
        raise not_found(claim_id)
    row = await repository.get_booking(conn, booking_id, for_update=True)
    locked = await claims_repository.lock_claim(conn, claim_id)
    assert row is not None and locked is not None
    return row, claims_repository.claim_of(locked)


async def save(conn: asyncpg.Connection, claim: Claim, **changes: Any) -> None:
    changed = await claims_repository.save_claim(conn, claim, **changes)
    expect_changed(changed, f"claim {claim.claim_id}")


async def _left(conn: asyncpg.Connection, row: asyncpg.Record, claim: Claim) -> int:
    """What the booking's other claims left of the deposit for this one."""
    others = await claims_repository.committed(conn, row["booking_id"], claim.claim_id)
    return remaining_deposit(row["deposit_amount"], others)


# -- filing ------------------------------------------------------------------------------------


async def file_claim(
    conn: asyncpg.Connection,
    outbox: Outbox,
    booking_id: uuid.UUID,
    host_id: str,
    amount: int,
    description: str,
    evidence: list[Evidence],
    *,
    now: datetime | None = None,
    windows: ClaimWindows | None = None,
) -> dict[str, Any]:
    row = await repository.get_booking(conn, booking_id, for_update=True)
    if row is None:
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
    claim, change = Claim.file(
        claims_repository.claimed_booking(row),
        claim_id=uuid.uuid4(),
        host_id=host_id,
        amount=amount,
        evidence=evidence,
        has_open_claim=await claims_repository.has_open_claim(conn, booking_id),
        committed=await claims_repository.committed(conn, booking_id),
        now=now or datetime.now(UTC),
        windows=windows or claim_windows(),
    )
    if not await claims_repository.insert_claim(conn, claim, description, row["correlation_id"]):
        raise BookingError(ErrorCode.CLAIM_OPEN, "this booking already has an open claim")
    await claims_repository.insert_evidence(conn, claim.claim_id, evidence)
    await scheduler.schedule(
        conn, "booking", CLAIM_RESPONSE_EXPIRY, str(claim.claim_id), claim.respond_by
    )
    about = About(claim, row, description=description, evidence_count=len(evidence))
    await publish(conn, outbox, change, about)
    return await view(conn, claim.claim_id)


# -- answers and decisions ---------------------------------------------------------------------


async def _conclude(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    claim: Claim,
    change: Change,
    about: About,
    note: str,
    windows: ClaimWindows | None,
) -> None:
    """Accepted, decided or withdrawn: record who decided, publish the charge (if any) and
    the decision; a claim that ended may release the deposit."""
    await scheduler.cancel(conn, "booking", CLAIM_RESPONSE_EXPIRY, str(claim.claim_id))
    changes: dict[str, Any] = {"decided_by": about.decided_by, "decision_note": note or None}
    if change.charges:
        changes["failure_reason"] = None
    await save(conn, claim, **changes)
    await publish(conn, outbox, change, about)
    if not change.charges:
        await release_if_settled(conn, outbox, row, windows=windows)


async def accept(
    conn: asyncpg.Connection,
    outbox: Outbox,
    claim_id: uuid.UUID,
    guest_id: str,
    *,
    now: datetime | None = None,
    windows: ClaimWindows | None = None,
) -> dict[str, Any]:
    row, claim = await lock(conn, claim_id)
    change = claim.accept(guest_id, now or datetime.now(UTC), payment_id=row["payment_id"])
    about = About(claim, row, ClaimTrigger.ACCEPTED, "guest")
    await _conclude(conn, outbox, row, claim, change, about, "", windows)
    return await view(conn, claim_id)


async def contest(
    conn: asyncpg.Connection,
    outbox: Outbox,
    claim_id: uuid.UUID,
    guest_id: str,
    reason: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    row, claim = await lock(conn, claim_id)
    change = claim.contest(guest_id, now or datetime.now(UTC))
    await scheduler.cancel(conn, "booking", CLAIM_RESPONSE_EXPIRY, str(claim_id))
    await save(conn, claim, contest_reason=reason or None)
    await publish(conn, outbox, change, About(claim, row, ClaimTrigger.CONTESTED))
    return await view(conn, claim_id)


async def decide(
    conn: asyncpg.Connection,
    outbox: Outbox,
    claim_id: uuid.UUID,
    amount: int,
    note: str = "",
    decided_by: str = "admin",
    *,
    windows: ClaimWindows | None = None,
) -> dict[str, Any]:
    """Staff (`decided_by`: admin or trust) decide a contested or unanswered claim: 0
    dismisses it."""
    row, claim = await lock(conn, claim_id)
    left = await _left(conn, row, claim)
    change = claim.decide(amount, left=left, payment_id=row["payment_id"])
    about = About(claim, row, ClaimTrigger.DECIDED, decided_by)
    await _conclude(conn, outbox, row, claim, change, about, note, windows)
    return await view(conn, claim_id)


async def withdraw(
    conn: asyncpg.Connection,
    outbox: Outbox,
    claim_id: uuid.UUID,
    host_id: str,
    *,
    windows: ClaimWindows | None = None,
) -> dict[str, Any]:
    row, claim = await lock(conn, claim_id)
    change = claim.withdraw(host_id)
    about = About(claim, row, ClaimTrigger.WITHDRAWN, "host")
    await _conclude(conn, outbox, row, claim, change, about, "", windows)
    return await view(conn, claim_id)


async def retry(conn: asyncpg.Connection, outbox: Outbox, claim_id: uuid.UUID) -> dict[str, Any]:
    """An admin asks again for a failed charge (a new charge request), while the deposit is
    not released."""
    row, claim = await lock(conn, claim_id)
    left = await _left(conn, row, claim)
    change = claim.retry(deposit_released=row["deposit_released_at"] is not None, left=left)
    await save(conn, claim, failure_reason=None)
    await publish(conn, outbox, change, About(claim, row, ClaimTrigger.RETRIED))
    return await view(conn, claim_id)


# -- payments' answers -------------------------------------------------------------------------


async def on_charge_captured(
    conn: asyncpg.Connection,
    env: Envelope,
    event: PaymentCapturedV1 | PaymentCapturedV2,
    outbox: Outbox,
    claim_id: uuid.UUID,
    *,
    windows: ClaimWindows | None = None,
) -> None:
    """The charge of `claim_id` (the fact's subject) is paid."""
    row, claim = await lock(conn, claim_id)
    change = claim.charge_succeeded(getattr(event, "charge_request_id", None))
    if change is None:
        return  # a redelivered fact, or the answer to an earlier attempt
    await save(conn, claim, charge_payment_id=event.payment_id)
    about = About(claim, row, ClaimTrigger.CHARGE_SUCCEEDED)
    await publish(conn, outbox, change, about, env.event_id)
    await release_if_settled(conn, outbox, row, windows=windows, causation_id=env.event_id)


async def on_charge_failed(
    conn: asyncpg.Connection,
    env: Envelope,
    event: PaymentFailedV1,
    outbox: Outbox,
    claim_id: uuid.UUID,
    *,
    windows: ClaimWindows | None = None,
) -> None:
    """The claim keeps why; an admin may retry while the deposit is held."""
    row, claim = await lock(conn, claim_id)
    change = claim.charge_failed(event.charge_request_id)
    if change is None:
        return  # a redelivered fact, or the answer to an earlier attempt
    detail = event.message or event.decline_code or event.code
    await save(conn, claim, failure_reason=f"{event.code}: {detail}"[:500])
    about = About(claim, row, ClaimTrigger.CHARGE_FAILED)
    await publish(conn, outbox, change, about, env.event_id)
    await release_if_settled(conn, outbox, row, windows=windows, causation_id=env.event_id)
