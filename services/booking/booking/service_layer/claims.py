"""Use cases: security deposits and damage claims. One transaction each.

Lock order: the booking (and its group, by `get_booking`), then the claim. One claim of a
booking is open at a time (a unique index; a concurrent filing gets 409 `claim_open`).

- The host files a claim after the end, within the claim window (`BOOKING_CLAIM_WINDOW_SECONDS`,
  72 h): `booking.claim_filed`, and a durable `claim_response_expiry` timer at `respond_by`
  (`BOOKING_CLAIM_RESPONSE_WINDOW_SECONDS`, 48 h).
- The guest accepts or contests until then; unanswered, the claim waits for an admin
  (`awaiting_admin`). An admin decides 0 up to the amount claimed.
- An accepted or decided amount above 0 is charged: in one transaction the claim becomes
  `charging` and booking emits `booking.claim_decided` and `booking.charge_requested`
  (`reason="deposit_claim"`, `subject_id` the claim, no platform fee, id `clm_<claim id>`;
  `clm_<claim id>_<n>` for an admin's retry). Payments answers `payment_captured` v2 or
  `payment_failed` with that id, purpose `deposit_claim` and the claim as `subject_id`; an
  answer to an earlier attempt (another id) is ignored.
- The deposit is released once per booking (`booking.deposit_released`): at the end of the claim
  window when no claim was filed (`no_claim`), once every claim has ended and the window has
  passed (`claim_settled`, with what was charged), or when the booking is cancelled or ends
  without a stay (`booking_cancelled`, `booking_ended`). A durable `deposit_release` timer,
  scheduled when the booking completes, fires at the window's end.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from booking.adapters import repository
from booking.domain import limits
from booking.domain.claims import (
    CLAIM_WINDOW,
    OPEN_STATUSES,
    RESPONSE_WINDOW,
    ClaimStatus,
    ClaimTrigger,
    check_decision,
    check_evidence,
    check_filing,
    check_response,
    claim_transition,
    remaining_deposit,
)
from booking.domain.errors import BookingError, ErrorCode
from booking.domain.model import BookingStatus
from eventkit import scheduler
from eventkit.outbox import Outbox
from marketplace_contracts import Envelope
from marketplace_contracts.events.booking import (
    ChargeRequestedV1,
    ClaimDecidedV1,
    ClaimFiledV1,
    DepositReleasedV1,
)
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    PaymentFailedV1,
)

CLAIM_RESPONSE_EXPIRY = "claim_response_expiry"
DEPOSIT_RELEASE = "deposit_release"
DEPOSIT_CLAIM = "deposit_claim"
_PREFIX = "clm_"


@dataclass
class Windows:
    claim: timedelta = CLAIM_WINDOW
    response: timedelta = RESPONSE_WINDOW


WINDOWS = Windows()


def configure(claim_window: timedelta, response_window: timedelta) -> None:
    """Bootstrap sets the windows from settings (`BOOKING_CLAIM_WINDOW_SECONDS`, ...)."""
    WINDOWS.claim = claim_window
    WINDOWS.response = response_window


@dataclass(frozen=True)
class Evidence:
    filename: str
    content_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


def charge_request_id(claim_id: uuid.UUID | str, attempt: int = 1) -> str:
    """Deterministic per claim and attempt (an admin's retry is a new request)."""
    base = f"{_PREFIX}{claim_id}"
    return base if attempt <= 1 else f"{base}_{attempt}"


# -- helpers -----------------------------------------------------------------------------------


async def _lock_claim(
    conn: asyncpg.Connection, claim_id: uuid.UUID
) -> tuple[asyncpg.Record, asyncpg.Record]:
    booking_id = await conn.fetchval(
        "SELECT booking_id FROM booking.claims WHERE claim_id = $1", claim_id
    )
    if booking_id is None:
        raise _not_found(claim_id)
    row = await repository.get_booking(conn, booking_id, for_update=True)
    claim = await conn.fetchrow(
        "SELECT * FROM booking.claims WHERE claim_id = $1 FOR UPDATE", claim_id
    )
    assert row is not None and claim is not None
    return row, claim


def _not_found(claim_id: uuid.UUID) -> BookingError:
    return BookingError(ErrorCode.CLAIM_NOT_FOUND, f"claim {claim_id} not found")


async def _committed(conn: asyncpg.Connection, booking_id: uuid.UUID, but: Any = None) -> int:
    """What claims of the booking charged or are charging (`but`: leave this claim out)."""
    value = await conn.fetchval(
        "SELECT coalesce(sum(decided_amount), 0) FROM booking.claims WHERE booking_id = $1 "
        "AND status IN ('charging', 'charged') AND claim_id IS DISTINCT FROM $2",
        booking_id,
        but,
    )
    return int(value)


async def _check_left(
    conn: asyncpg.Connection, row: asyncpg.Record, claim_id: uuid.UUID, amount: int
) -> None:
    """`amount` for this claim fits in what the booking's other claims left of the deposit."""
    if amount > remaining_deposit(
        row["deposit_amount"], await _committed(conn, row["booking_id"], claim_id)
    ):
        raise BookingError(ErrorCode.CLAIM_EXCEEDS_DEPOSIT, "more than is left of the deposit")


async def _set(conn: asyncpg.Connection, claim_id: uuid.UUID, **changes: Any) -> None:
    columns = ", ".join(f"{name} = ${i}" for i, name in enumerate(changes, start=2))
    await conn.execute(
        f"UPDATE booking.claims SET {columns}, version = version + 1, updated_at = now() "
        "WHERE claim_id = $1",
        claim_id,
        *changes.values(),
    )


def _meta(row: asyncpg.Record, causation_id: uuid.UUID | None = None) -> dict[str, Any]:
    return {
        "key": str(row["booking_id"]),
        "correlation_id": row["correlation_id"],
        "causation_id": causation_id,
    }


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
) -> dict[str, Any]:
    row = await repository.get_booking(conn, booking_id, for_update=True)
    if row is None or row["host_id"] != host_id:
        raise BookingError(ErrorCode.BOOKING_NOT_FOUND, f"booking {booking_id} not found")
    now = now or datetime.now(UTC)
    if row["status"] not in (BookingStatus.CONFIRMED, BookingStatus.COMPLETED):
        raise BookingError(ErrorCode.ILLEGAL_TRANSITION, f"a {row['status']} booking has no claims")
    if row["deposit_released_at"] is not None:
        raise BookingError(ErrorCode.DEPOSIT_RELEASED, "the deposit was released already")
    limits.check_charge(amount, row["currency"], "the claim")  # what accepting it charges
    for item in evidence:
        check_evidence(item.filename, item.content_type, len(item.data))
    has_open = bool(
        await conn.fetchval(
            "SELECT 1 FROM booking.claims WHERE booking_id = $1 AND status = ANY($2::text[])",
            booking_id,
            [s.value for s in OPEN_STATUSES],
        )
    )
    check_filing(
        now=now,
        ends_at=row["ends_at"],
        deposit=row["deposit_amount"],
        committed=await _committed(conn, booking_id),
        amount=amount,
        has_open_claim=has_open,
        window=WINDOWS.claim,
    )
    claim_id = uuid.uuid4()
    respond_by = now + WINDOWS.response
    try:
        async with conn.transaction():  # savepoint: a concurrent filing must not poison the tx
            await conn.execute(
                "INSERT INTO booking.claims (claim_id, booking_id, host_id, guest_id, amount, "
                "currency, description, status, respond_by, correlation_id) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, 'open', $8, $9)",
                claim_id,
                booking_id,
                row["host_id"],
                row["guest_id"],
                amount,
                row["currency"],
                description,
                respond_by,
                row["correlation_id"],
            )
    except asyncpg.UniqueViolationError:
        raise BookingError(ErrorCode.CLAIM_OPEN, "this booking already has an open claim") from None
    for n, item in enumerate(evidence, start=1):
        await conn.execute(
            "INSERT INTO booking.claim_evidence (claim_id, n, filename, content_type, size, "
            "sha256, data) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            claim_id,
            n,
            item.filename,
            item.content_type,
            len(item.data),
            item.sha256,
            item.data,
        )
    await scheduler.schedule(conn, "booking", CLAIM_RESPONSE_EXPIRY, str(claim_id), respond_by)
    await outbox.add(
        conn,
        ClaimFiledV1(
            claim_id=str(claim_id),
            booking_id=str(booking_id),
            host_id=row["host_id"],
            guest_id=row["guest_id"],
            amount=amount,
            currency=row["currency"],
            description=description,
            evidence_count=len(evidence),
            respond_by=respond_by,
        ),
        **_meta(row),
    )
    return await view(conn, claim_id)


# -- answers and decisions ---------------------------------------------------------------------


async def _charge(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    claim: asyncpg.Record,
    amount: int,
    attempt: int,
) -> str:
    """The claim becomes `charging`; booking.charge_requested takes `amount` off-session."""
    request_id = charge_request_id(claim["claim_id"], attempt)
    await _set(
        conn,
        claim["claim_id"],
        status=ClaimStatus.CHARGING.value,
        decided_amount=amount,
        charge_request_id=request_id,
        charge_attempts=attempt,
        failure_reason=None,
    )
    await outbox.add(
        conn,
        ChargeRequestedV1(
            charge_request_id=request_id,
            booking_id=str(row["booking_id"]),
            group_id=str(row["group_id"]) if row["group_id"] else None,
            payment_id=row["payment_id"],
            amount=amount,
            currency=row["currency"],
            platform_fee=0,
            tax=0,
            host_account_id=row["host_account_id"],
            reason=DEPOSIT_CLAIM,
            subject_id=str(claim["claim_id"]),
        ),
        **_meta(row),
    )
    return request_id


async def _conclude(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    claim: asyncpg.Record,
    trigger: ClaimTrigger,
    amount: int,
    decided_by: str,
    note: str = "",
) -> None:
    """Accepted, decided or withdrawn: charge what is owed (if anything) and announce it."""
    step = claim_transition(claim["status"], trigger, amount)
    await scheduler.cancel(conn, "booking", CLAIM_RESPONSE_EXPIRY, str(claim["claim_id"]))
    request_id = None
    if step.target is ClaimStatus.CHARGING:
        if not row["payment_id"]:
            raise BookingError(ErrorCode.ILLEGAL_TRANSITION, "the booking has no payment")
        request_id = await _charge(conn, outbox, row, claim, amount, attempt=1)
    await _set(
        conn,
        claim["claim_id"],
        status=step.target.value,
        decided_amount=amount,
        decided_by=decided_by,
        decision_note=note or None,
    )
    outcome = {
        ClaimTrigger.ACCEPTED: "accepted",
        ClaimTrigger.DECIDED: "decided",
        ClaimTrigger.WITHDRAWN: "withdrawn",
    }[trigger]
    await outbox.add(
        conn,
        ClaimDecidedV1(
            claim_id=str(claim["claim_id"]),
            booking_id=str(row["booking_id"]),
            outcome=outcome,
            amount=amount,
            currency=claim["currency"],
            decided_by=decided_by,
            charge_request_id=request_id,
        ),
        **_meta(row),
    )
    if step.target is not ClaimStatus.CHARGING:
        await _maybe_release(conn, outbox, row)


async def accept(
    conn: asyncpg.Connection,
    outbox: Outbox,
    claim_id: uuid.UUID,
    guest_id: str,
    *,
    now: datetime | None = None,
) -> dict[str, Any]:
    row, claim = await _lock_claim(conn, claim_id)
    if claim["guest_id"] != guest_id:
        raise _not_found(claim_id)
    claim_transition(claim["status"], ClaimTrigger.ACCEPTED)
    check_response(now=now or datetime.now(UTC), respond_by=claim["respond_by"])
    await _conclude(conn, outbox, row, claim, ClaimTrigger.ACCEPTED, claim["amount"], "guest")
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
    _, claim = await _lock_claim(conn, claim_id)
    if claim["guest_id"] != guest_id:
        raise _not_found(claim_id)
    step = claim_transition(claim["status"], ClaimTrigger.CONTESTED)
    check_response(now=now or datetime.now(UTC), respond_by=claim["respond_by"])
    await scheduler.cancel(conn, "booking", CLAIM_RESPONSE_EXPIRY, str(claim_id))
    await _set(conn, claim_id, status=step.target.value, contest_reason=reason or None)
    return await view(conn, claim_id)


async def decide(
    conn: asyncpg.Connection,
    outbox: Outbox,
    claim_id: uuid.UUID,
    amount: int,
    note: str = "",
    decided_by: str = "admin",
) -> dict[str, Any]:
    """Staff (`decided_by`: admin or trust) decide a contested or unanswered claim: 0
    dismisses it."""
    row, claim = await _lock_claim(conn, claim_id)
    check_decision(amount, claim["amount"])
    if amount > 0:
        limits.check_charge(amount, row["currency"], "the decided amount")
    claim_transition(claim["status"], ClaimTrigger.DECIDED, amount)
    await _check_left(conn, row, claim_id, amount)
    await _conclude(conn, outbox, row, claim, ClaimTrigger.DECIDED, amount, decided_by, note)
    return await view(conn, claim_id)


async def withdraw(
    conn: asyncpg.Connection, outbox: Outbox, claim_id: uuid.UUID, host_id: str
) -> dict[str, Any]:
    row, claim = await _lock_claim(conn, claim_id)
    if claim["host_id"] != host_id:
        raise _not_found(claim_id)
    await _conclude(conn, outbox, row, claim, ClaimTrigger.WITHDRAWN, 0, "host")
    return await view(conn, claim_id)


async def retry(conn: asyncpg.Connection, outbox: Outbox, claim_id: uuid.UUID) -> dict[str, Any]:
    """An admin asks again for a failed charge (a new charge request), while the deposit is
    not released."""
    row, claim = await _lock_claim(conn, claim_id)
    claim_transition(claim["status"], ClaimTrigger.RETRIED)
    if row["deposit_released_at"] is not None:
        raise BookingError(ErrorCode.DEPOSIT_RELEASED, "the deposit was released already")
    amount = claim["decided_amount"]
    await _check_left(conn, row, claim_id, amount)
    await _charge(conn, outbox, row, claim, amount, claim["charge_attempts"] + 1)
    return await view(conn, claim_id)


# -- timers ------------------------------------------------------------------------------------


async def expire_response(
    outbox: Outbox, conn: asyncpg.Connection, claim_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer at respond_by: an unanswered claim waits for an admin."""
    _, claim = await _lock_claim(conn, uuid.UUID(claim_id))
    if claim["status"] != ClaimStatus.OPEN:
        return  # answered meanwhile
    step = claim_transition(claim["status"], ClaimTrigger.RESPONSE_EXPIRED)
    await _set(conn, claim["claim_id"], status=step.target.value)


async def release_job(
    outbox: Outbox, conn: asyncpg.Connection, booking_id: str, _payload: dict[str, object]
) -> None:
    """Durable timer at the end of the claim window: release the deposit unless a claim is
    still open (its end releases it then)."""
    row = await repository.get_booking(conn, uuid.UUID(booking_id), for_update=True)
    if row is None:
        return
    await _maybe_release(conn, outbox, row, window_over=True)


async def on_booking_completed(conn: asyncpg.Connection, row: asyncpg.Record) -> None:
    """A booking with a deposit ended: the deposit is released at the claim window's end."""
    if row["deposit_amount"] and row["deposit_released_at"] is None:
        await scheduler.schedule(
            conn,
            "booking",
            DEPOSIT_RELEASE,
            str(row["booking_id"]),
            row["ends_at"] + WINDOWS.claim,
        )


async def on_booking_ended(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    reason: str,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Cancelled, or ended without a stay: nothing can be claimed; release a secured deposit."""
    if row["deposit_amount"] and row["payment_id"]:
        await _release(conn, outbox, row, reason, 0, causation_id)


async def _maybe_release(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    *,
    window_over: bool = False,
    causation_id: uuid.UUID | None = None,
) -> None:
    if not row["deposit_amount"] or row["deposit_released_at"] is not None:
        return
    if not row["payment_id"]:
        return
    if not window_over and datetime.now(UTC) < row["ends_at"] + WINDOWS.claim:
        return  # claims may still be filed
    claims = await conn.fetch(
        "SELECT status, decided_amount FROM booking.claims WHERE booking_id = $1",
        row["booking_id"],
    )
    if any(c["status"] in OPEN_STATUSES for c in claims):
        return
    charged = sum(c["decided_amount"] for c in claims if c["status"] == ClaimStatus.CHARGED)
    await _release(
        conn, outbox, row, "claim_settled" if claims else "no_claim", charged, causation_id
    )


async def _release(
    conn: asyncpg.Connection,
    outbox: Outbox,
    row: asyncpg.Record,
    reason: str,
    charged: int,
    causation_id: uuid.UUID | None = None,
) -> None:
    """Exactly once per booking: only the first release changes the row and emits."""
    status = await conn.execute(
        "UPDATE booking.bookings SET deposit_released_at = now(), deposit_release_reason = $2, "
        "deposit_charged = $3 WHERE booking_id = $1 AND deposit_released_at IS NULL",
        row["booking_id"],
        reason,
        charged,
    )
    if status != "UPDATE 1":
        return
    await scheduler.cancel(conn, "booking", DEPOSIT_RELEASE, str(row["booking_id"]))
    await outbox.add(
        conn,
        DepositReleasedV1(
            booking_id=str(row["booking_id"]),
            payment_id=row["payment_id"],
            amount=row["deposit_amount"],
            charged=charged,
            currency=row["currency"],
            reason=reason,
        ),
        **_meta(row, causation_id),
    )


# -- payments' answers -------------------------------------------------------------------------


async def _claim_charging(
    conn: asyncpg.Connection, claim_id: uuid.UUID, request_id: str | None
) -> tuple[asyncpg.Record, asyncpg.Record] | None:
    row, claim = await _lock_claim(conn, claim_id)
    if claim["status"] != ClaimStatus.CHARGING or claim["charge_request_id"] != request_id:
        return None  # a redelivered fact, or the answer to an earlier attempt
    return row, claim


async def on_charge_captured(
    conn: asyncpg.Connection,
    env: Envelope,
    event: PaymentCapturedV1 | PaymentCapturedV2,
    outbox: Outbox,
    claim_id: uuid.UUID,
) -> None:
    """The charge of `claim_id` (the fact's subject) is paid."""
    found = await _claim_charging(conn, claim_id, getattr(event, "charge_request_id", None))
    if found is None:
        return
    row, claim = found
    step = claim_transition(claim["status"], ClaimTrigger.CHARGE_SUCCEEDED)
    await _set(
        conn, claim["claim_id"], status=step.target.value, charge_payment_id=event.payment_id
    )
    await _maybe_release(conn, outbox, row, causation_id=env.event_id)


async def on_charge_failed(
    conn: asyncpg.Connection,
    env: Envelope,
    event: PaymentFailedV1,
    outbox: Outbox,
    claim_id: uuid.UUID,
) -> None:
    """The claim keeps why; an admin may retry while the deposit is held."""
    found = await _claim_charging(conn, claim_id, event.charge_request_id)
    if found is None:
        return
    row, claim = found
    step = claim_transition(claim["status"], ClaimTrigger.CHARGE_FAILED)
    detail = event.message or event.decline_code or event.code
    await _set(
        conn,
        claim["claim_id"],
        status=step.target.value,
        failure_reason=f"{event.code}: {detail}"[:500],
    )
    await _maybe_release(conn, outbox, row, causation_id=env.event_id)


# -- views -------------------------------------------------------------------------------------


async def view(conn: asyncpg.Connection, claim_id: uuid.UUID) -> dict[str, Any]:
    claim = await conn.fetchrow("SELECT * FROM booking.claims WHERE claim_id = $1", claim_id)
    if claim is None:
        raise _not_found(claim_id)
    evidence = await conn.fetch(
        "SELECT n, filename, content_type, size, sha256 FROM booking.claim_evidence "
        "WHERE claim_id = $1 ORDER BY n",
        claim_id,
    )
    return {
        "claim_id": str(claim["claim_id"]),
        "booking_id": str(claim["booking_id"]),
        "host_id": claim["host_id"],
        "guest_id": claim["guest_id"],
        "status": claim["status"],
        "amount": claim["amount"],
        "currency": claim["currency"],
        "description": claim["description"],
        "respond_by": claim["respond_by"].isoformat(),
        "contest_reason": claim["contest_reason"],
        "decided_amount": claim["decided_amount"],
        "decided_by": claim["decided_by"],
        "decision_note": claim["decision_note"],
        "charge_request_id": claim["charge_request_id"],
        "charge_payment_id": claim["charge_payment_id"],
        "failure_reason": claim["failure_reason"],
        "evidence": [
            {
                "n": e["n"],
                "filename": e["filename"],
                "content_type": e["content_type"],
                "size": e["size"],
                "sha256": e["sha256"],
                "url": f"/v1/claims/{claim_id}/evidence/{e['n']}",
            }
            for e in evidence
        ],
        "created_at": claim["created_at"].isoformat(),
        "updated_at": claim["updated_at"].isoformat(),
    }


async def claims_of(conn: asyncpg.Connection, booking_id: uuid.UUID) -> list[dict[str, Any]]:
    ids = await conn.fetch(
        "SELECT claim_id FROM booking.claims WHERE booking_id = $1 ORDER BY created_at",
        booking_id,
    )
    return [await view(conn, r["claim_id"]) for r in ids]


async def evidence_file(
    conn: asyncpg.Connection, claim_id: uuid.UUID, n: int
) -> asyncpg.Record | None:
    row: asyncpg.Record | None = await conn.fetchrow(
        "SELECT filename, content_type, data FROM booking.claim_evidence "
        "WHERE claim_id = $1 AND n = $2",
        claim_id,
        n,
    )
    return row
