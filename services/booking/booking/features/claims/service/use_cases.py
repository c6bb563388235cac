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
`features/claims/`), reached through booking's unit of work, which every use case takes. The windows come from the settings through bootstrap
(`windows`; without them, the settings' defaults).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from booking.config import claim_windows
from booking.domain.errors import BookingError, ErrorCode
from booking.features.claims.domain import (
    CLAIM_RESPONSE_EXPIRY,
    Change,
    Claim,
    ClaimTrigger,
    charge_request_id,
)
from booking.features.claims.domain.rules import ClaimWindows, Evidence, remaining_deposit
from booking.features.claims.messages import About, publish
from booking.features.claims.repository import claim_of, claimed_booking
from booking.features.claims.service.deposits import (
    on_booking_completed,
    on_booking_ended,
    release_if_settled,
)
from booking.features.claims.views import claims_of, document, evidence_file, not_found, view
from booking.service_layer.unit_of_work import UnitOfWork
from domainkit.ids import new_uuid
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
    "on_response_expired",
    "retry",
    "save",
    "view",
    "withdraw",
]


async def lock(uow: UnitOfWork, claim_id: uuid.UUID) -> tuple[Mapping[str, Any], Claim]:
    """The claim's booking row and the claim, both locked (booking first)."""
    booking_id = await uow.claims.booking_of_claim(claim_id)
    if booking_id is None:
        raise not_found(claim_id)
    row = await uow.bookings.get_booking(booking_id, for_update=True)
    locked = await uow.claims.lock_claim(claim_id)
    assert row is not None and locked is not None
    return row, claim_of(locked)


async def save(uow: UnitOfWork, claim: Claim, **changes: Any) -> None:
    """Write the claim as a compare-and-set on the version it was read at: a claim that moved
    meanwhile (under our lock, a bug) fails loudly (LostUpdate)."""
    changed = await uow.claims.save_claim(claim, **changes)
    expect_changed(changed, f"claim {claim.claim_id}")


async def _left(uow: UnitOfWork, row: Mapping[str, Any], claim: Claim) -> int:
    """What the booking's other claims left of the deposit for this one."""
    others = await uow.claims.committed(row["booking_id"], claim.claim_id)
    return remaining_deposit(row["deposit_amount"], others)


# -- filing ------------------------------------------------------------------------------------


async def file_claim(
    uow: UnitOfWork,
    booking_id: uuid.UUID,
    host_id: str,
    amount: int,
    description: str,
    evidence: list[Evidence],
    *,
    now: datetime | None = None,
    windows: ClaimWindows | None = None,
) -> dict[str, Any]:
    row = await uow.bookings.get_booking(booking_id, for_update=True)
    if row is None:
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
    claim, change = Claim.file(
        claimed_booking(row),
        claim_id=new_uuid(),
        host_id=host_id,
        amount=amount,
        evidence=evidence,
        has_open_claim=await uow.claims.has_open_claim(booking_id),
        committed=await uow.claims.committed(booking_id),
        now=now or datetime.now(UTC),
        windows=windows or claim_windows(),
    )
    if not await uow.claims.insert_claim(claim, description, row["correlation_id"]):
        raise BookingError(ErrorCode.CLAIM_OPEN, "this booking already has an open claim")
    await uow.claims.insert_evidence(claim.claim_id, evidence)
    await uow.timers.schedule(CLAIM_RESPONSE_EXPIRY, str(claim.claim_id), claim.respond_by)
    about = About(claim, row, description=description, evidence_count=len(evidence))
    await publish(uow, change, about)
    return await document(uow.claims, claim.claim_id)


# -- answers and decisions ---------------------------------------------------------------------


async def _conclude(
    uow: UnitOfWork,
    row: Mapping[str, Any],
    claim: Claim,
    change: Change,
    about: About,
    note: str,
    windows: ClaimWindows | None,
) -> None:
    """Accepted, decided or withdrawn: record who decided, publish the charge (if any) and
    the decision; a claim that ended may release the deposit."""
    await uow.timers.cancel(CLAIM_RESPONSE_EXPIRY, str(claim.claim_id))
    changes: dict[str, Any] = {"decided_by": about.decided_by, "decision_note": note or None}
    if change.charges:
        changes["failure_reason"] = None
    await save(uow, claim, **changes)
    await publish(uow, change, about)
    if not change.charges:
        await release_if_settled(uow, row, windows=windows)


async def accept(
    uow: UnitOfWork,
    claim_id: uuid.UUID,
    guest_id: str,
    *,
    now: datetime | None = None,
    windows: ClaimWindows | None = None,
) -> dict[str, Any]:
    row, claim = await lock(uow, claim_id)
    change = claim.accept(guest_id, now or datetime.now(UTC), payment_id=row["payment_id"])
    about = About(claim, row, ClaimTrigger.ACCEPTED, "guest")
    await _conclude(uow, row, claim, change, about, "", windows)
    return await document(uow.claims, claim_id)


async def contest(
    uow: UnitOfWork,
    claim_id: uuid.UUID,
    guest_id: str,
    reason: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    row, claim = await lock(uow, claim_id)
    change = claim.contest(guest_id, now or datetime.now(UTC))
    await uow.timers.cancel(CLAIM_RESPONSE_EXPIRY, str(claim_id))
    await save(uow, claim, contest_reason=reason or None)
    await publish(uow, change, About(claim, row, ClaimTrigger.CONTESTED))
    return await document(uow.claims, claim_id)


async def decide(
    uow: UnitOfWork,
    claim_id: uuid.UUID,
    amount: int,
    note: str = "",
    decided_by: str = "admin",
    *,
    windows: ClaimWindows | None = None,
) -> dict[str, Any]:
    """Staff (`decided_by`: admin or trust) decide a contested or unanswered claim: 0
    dismisses it."""
    row, claim = await lock(uow, claim_id)
    left = await _left(uow, row, claim)
    change = claim.decide(amount, left=left, payment_id=row["payment_id"])
    about = About(claim, row, ClaimTrigger.DECIDED, decided_by)
    await _conclude(uow, row, claim, change, about, note, windows)
    return await document(uow.claims, claim_id)


async def withdraw(
    uow: UnitOfWork,
    claim_id: uuid.UUID,
    host_id: str,
    *,
    windows: ClaimWindows | None = None,
) -> dict[str, Any]:
    row, claim = await lock(uow, claim_id)
    change = claim.withdraw(host_id)
    about = About(claim, row, ClaimTrigger.WITHDRAWN, "host")
    await _conclude(uow, row, claim, change, about, "", windows)
    return await document(uow.claims, claim_id)


async def retry(uow: UnitOfWork, claim_id: uuid.UUID) -> dict[str, Any]:
    """An admin asks again for a failed charge (a new charge request), while the deposit is
    not released."""
    row, claim = await lock(uow, claim_id)
    left = await _left(uow, row, claim)
    change = claim.retry(deposit_released=row["deposit_released_at"] is not None, left=left)
    await save(uow, claim, failure_reason=None)
    await publish(uow, change, About(claim, row, ClaimTrigger.RETRIED))
    return await document(uow.claims, claim_id)


async def on_response_expired(uow: UnitOfWork, claim_id: uuid.UUID) -> None:
    """The `claim_response_expiry` timer at respond_by: an unanswered claim waits for an
    admin."""
    row, claim = await lock(uow, claim_id)
    change = claim.expire_response()
    if change is None:
        return  # answered meanwhile
    await save(uow, claim)
    await publish(uow, change, About(claim, row, ClaimTrigger.RESPONSE_EXPIRED))


# -- payments' answers -------------------------------------------------------------------------


async def on_charge_captured(
    uow: UnitOfWork,
    env: Envelope,
    event: PaymentCapturedV1 | PaymentCapturedV2,
    claim_id: uuid.UUID,
    *,
    windows: ClaimWindows | None = None,
) -> None:
    """The charge of `claim_id` (the fact's subject) is paid."""
    row, claim = await lock(uow, claim_id)
    change = claim.charge_succeeded(getattr(event, "charge_request_id", None))
    if change is None:
        return  # a redelivered fact, or the answer to an earlier attempt
    await save(uow, claim, charge_payment_id=event.payment_id)
    about = About(claim, row, ClaimTrigger.CHARGE_SUCCEEDED)
    await publish(uow, change, about, env.event_id)
    await release_if_settled(uow, row, windows=windows, causation_id=env.event_id)


async def on_charge_failed(
    uow: UnitOfWork,
    env: Envelope,
    event: PaymentFailedV1,
    claim_id: uuid.UUID,
    *,
    windows: ClaimWindows | None = None,
) -> None:
    """The claim keeps why; an admin may retry while the deposit is held."""
    row, claim = await lock(uow, claim_id)
    change = claim.charge_failed(event.charge_request_id)
    if change is None:
        return  # a redelivered fact, or the answer to an earlier attempt
    detail = event.message or event.decline_code or event.code
    await save(uow, claim, failure_reason=f"{event.code}: {detail}"[:500])
    about = About(claim, row, ClaimTrigger.CHARGE_FAILED)
    await publish(uow, change, about, env.event_id)
    await release_if_settled(uow, row, windows=windows, causation_id=env.event_id)
