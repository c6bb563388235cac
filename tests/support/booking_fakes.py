"""booking's unit of work in memory: fake repositories with the interface of the real ones
(`BookingsRepository`, `InvitesRepository`, `ClaimsRepository`, `GroupsRepository`,
`DocumentsRepository`; bank debits', cancellations' and receipts' in booking_fakes_money.py,
checkout's in booking_fakes_checkout.py), timers and
an outbox (tests/support/outbox_fake.py) that record, so the feature use cases run without Postgres
(tests/unit/test_*_service.py).
Amendments' (`AmendmentsRepository`) is in tests/support/amendment_fakes.py.

The fakes keep what the tables keep: rows as dicts (a row read is a copy, as an asyncpg record
is a snapshot), the columns' defaults, the version compare-and-set of every write, and the
unique index of one open claim per booking. The same use cases on the real database:
tests/integration/test_deposits_claims.py, test_booking_groups.py,
test_groups_invites_lost_update.py, test_cancellations.py and the gateway's tests.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any, cast

import pytest

from booking.domain.errors import BookingError, ErrorCode
from booking.features.claims.domain import OPEN_STATUSES, Claim
from booking.features.claims.domain.rules import Evidence
from booking.service_layer.unit_of_work import UnitOfWork
from eventkit.rows import expect_changed
from eventkit.unit_of_work import OutboxUnit
from tests.support.amendment_fakes import FakeAmendmentsRepository
from tests.support.outbox_fake import FakeOutbox

NOW = datetime(2030, 6, 1, 12, tzinfo=UTC)


async def refused(act: Awaitable[Any], code: ErrorCode) -> None:
    """`act` is refused with the domain error `code`."""
    with pytest.raises(BookingError) as err:
        await act
    assert err.value.code is code


class Rows:
    """A table's rows by id; `moved_after_lock`: someone else writes a row (its version moves)
    right after `lock` read it, which the row lock makes a bug the write must catch."""

    def __init__(self) -> None:
        self.rows: dict[uuid.UUID, dict[str, Any]] = {}
        self.moved_after_lock = False

    def read(self, row_id: uuid.UUID, *, lock: bool = False) -> dict[str, Any] | None:
        found = self.rows.get(row_id)
        if found is None:
            return None
        if lock and self.moved_after_lock:
            self.rows[row_id] = {**found, "version": found["version"] + 1}
        return dict(found)


class FakeTimers:
    """The pending durable timers by (kind, subject), and the ones cancelled."""

    def __init__(self) -> None:
        self.pending: dict[tuple[str, str], datetime] = {}
        self.cancelled: list[tuple[str, str]] = []

    async def schedule(
        self,
        kind: str,
        subject_id: str,
        due_at: datetime,
        payload: dict[str, Any] | None = None,
        *,
        replacing: str | None = None,
    ) -> None:
        if replacing is not None:
            await self.cancel(replacing, subject_id)
        self.pending[(kind, subject_id)] = due_at

    async def cancel(self, kind: str, subject_id: str) -> None:
        if self.pending.pop((kind, subject_id), None) is not None:
            self.cancelled.append((kind, subject_id))


class FakeBookingsRepository:
    def __init__(self) -> None:
        self.listings: dict[str, dict[str, Any]] = {}
        self.bookings: dict[uuid.UUID, dict[str, Any]] = {}
        self.host_accounts: dict[str, dict[str, Any]] = {}

    async def upsert_listing(self, listing: dict[str, Any], catalog_at: Any) -> None:
        known = self.listings.get(listing["listing_id"])
        seen = None if known is None else known.get("catalog_at")
        if seen is None or seen <= catalog_at:  # the newer event wins, as in SQL
            self.listings[listing["listing_id"]] = {**listing, "catalog_at": catalog_at}

    async def save_host_account(
        self, host_account_id: str, charges_enabled: bool, payouts_enabled: bool, reported_at: Any
    ) -> None:
        known = self.host_accounts.get(host_account_id)
        if known is None or known["reported_at"] <= reported_at:  # only a newer report
            self.host_accounts[host_account_id] = {
                "charges_enabled": charges_enabled,
                "payouts_enabled": payouts_enabled,
                "reported_at": reported_at,
            }

    async def get_listing(self, listing_id: str) -> dict[str, Any] | None:
        found = self.listings.get(listing_id)
        return dict(found) if found is not None else None

    async def get_booking(
        self, booking_id: uuid.UUID, *, for_update: bool = False
    ) -> dict[str, Any] | None:
        found = self.bookings.get(booking_id)
        return dict(found) if found is not None else None

    async def change_booking(self, booking_id: uuid.UUID, version: int, **changes: Any) -> None:
        row = self.bookings.get(booking_id)
        expect_changed(row is not None and row["version"] == version, f"booking {booking_id}")
        assert row is not None
        row.update(changes, version=version + 1, updated_at=NOW)


class FakeInvitesRepository(Rows):
    async def insert(self, invite: Mapping[str, Any]) -> None:
        defaults = {"status": "open", "booking_id": None, "version": 1}
        self.rows[invite["invite_id"]] = {
            **defaults,
            **invite,
            "created_at": NOW,
            "updated_at": NOW,
        }

    async def lock(self, invite_id: uuid.UUID) -> dict[str, Any] | None:
        return self.read(invite_id, lock=True)

    async def get(self, invite_id: uuid.UUID) -> dict[str, Any] | None:
        return self.read(invite_id)

    async def close(
        self, invite_id: uuid.UUID, version: int, status: str, booking_id: uuid.UUID | None
    ) -> bool:
        row = self.rows.get(invite_id)
        if row is None or row["version"] != version:
            return False
        row.update(status=status, booking_id=booking_id, version=version + 1)
        return True


class FakeClaimsRepository(Rows):
    """The claims, their evidence, and the deposit columns of the bookings' rows (shared with
    the bookings repository, as the table is)."""

    def __init__(self, bookings: FakeBookingsRepository) -> None:
        super().__init__()
        self.bookings = bookings
        self.evidence: dict[uuid.UUID, list[dict[str, Any]]] = {}

    async def booking_of_claim(self, claim_id: uuid.UUID) -> uuid.UUID | None:
        found = self.rows.get(claim_id)
        return found["booking_id"] if found is not None else None

    async def lock_claim(self, claim_id: uuid.UUID) -> dict[str, Any] | None:
        return self.read(claim_id, lock=True)

    async def get_claim(self, claim_id: uuid.UUID) -> dict[str, Any] | None:
        return self.read(claim_id)

    async def committed(self, booking_id: uuid.UUID, but: uuid.UUID | None = None) -> int:
        return sum(
            r["decided_amount"]
            for r in self._of(booking_id)
            if r["status"] in ("charging", "charged") and r["claim_id"] != but
        )

    async def has_open_claim(self, booking_id: uuid.UUID) -> bool:
        return any(r["status"] in OPEN_STATUSES for r in self._of(booking_id))

    async def insert_claim(self, claim: Claim, description: str, correlation_id: uuid.UUID) -> bool:
        if await self.has_open_claim(claim.booking_id):  # the unique index
            return False
        self.rows[claim.claim_id] = {
            "claim_id": claim.claim_id,
            "booking_id": claim.booking_id,
            "host_id": claim.host_id,
            "guest_id": claim.guest_id,
            "amount": claim.amount,
            "currency": claim.currency,
            "description": description,
            "status": claim.status.value,
            "respond_by": claim.respond_by,
            "correlation_id": correlation_id,
            "contest_reason": None,
            "decided_amount": None,
            "decided_by": None,
            "decision_note": None,
            "charge_request_id": None,
            "charge_attempts": 0,
            "charge_payment_id": None,
            "failure_reason": None,
            "version": 1,
            "created_at": NOW,
            "updated_at": NOW,
        }
        return True

    async def insert_evidence(self, claim_id: uuid.UUID, evidence: Iterable[Evidence]) -> None:
        self.evidence[claim_id] = [
            {
                "n": n,
                "filename": e.filename,
                "content_type": e.content_type,
                "size": len(e.data),
                "sha256": e.sha256,
                "data": e.data,
            }
            for n, e in enumerate(evidence, start=1)
        ]

    async def save_claim(self, claim: Claim, **changes: Any) -> bool:
        row = self.rows.get(claim.claim_id)
        if row is None or row["version"] != claim.version:
            return False
        row.update(
            status=claim.status.value,
            decided_amount=claim.decided_amount,
            charge_request_id=claim.charge_request_id,
            charge_attempts=claim.charge_attempts,
            version=claim.version + 1,
            **changes,
        )
        claim.version += 1
        return True

    async def outcomes_of(self, booking_id: uuid.UUID) -> list[tuple[str, int | None]]:
        return [(r["status"], r["decided_amount"]) for r in self._of(booking_id)]

    async def release_deposit(self, booking_id: uuid.UUID, reason: str, charged: int) -> bool:
        row = self.bookings.bookings[booking_id]
        if row["deposit_released_at"] is not None:
            return False
        row.update(deposit_released_at=NOW, deposit_release_reason=reason, deposit_charged=charged)
        return True

    async def evidence_of(self, claim_id: uuid.UUID) -> list[dict[str, Any]]:
        return [
            {k: e[k] for k in ("n", "filename", "content_type", "size", "sha256")}
            for e in self.evidence.get(claim_id, [])
        ]

    async def claim_ids_of(self, booking_id: uuid.UUID) -> list[uuid.UUID]:
        return [r["claim_id"] for r in self._of(booking_id)]

    async def evidence_file(self, claim_id: uuid.UUID, n: int) -> dict[str, Any] | None:
        found = [e for e in self.evidence.get(claim_id, []) if e["n"] == n]
        return {k: found[0][k] for k in ("filename", "content_type", "data")} if found else None

    async def booking_parties(self, booking_id: uuid.UUID) -> dict[str, Any] | None:
        row = self.bookings.bookings.get(booking_id)
        return {"guest_id": row["guest_id"], "host_id": row["host_id"]} if row else None

    def _of(self, booking_id: uuid.UUID) -> list[dict[str, Any]]:
        return [r for r in self.rows.values() if r["booking_id"] == booking_id]


class FakeGroupsRepository(Rows):
    """The booking groups, and their legs: the bookings' rows with the group's id (shared with
    the bookings repository, as the table is), in booking-id order as the real one reads them."""

    def __init__(self, bookings: FakeBookingsRepository) -> None:
        super().__init__()
        self.bookings = bookings

    async def insert(self, group: Mapping[str, Any]) -> None:
        defaults = {
            "payment_status": "none",
            "payment_id": None,
            "failure_reason": None,
            "failure_detail": None,
            "failed_booking_id": None,
            "next_action": None,
            "authorization_renewed_at": None,
            "version": 0,
        }
        self.rows[group["group_id"]] = {
            **defaults,
            **group,
            "created_at": NOW,
            "updated_at": NOW,
        }

    async def get(self, group_id: uuid.UUID, *, for_update: bool = False) -> dict[str, Any] | None:
        return self.read(group_id, lock=for_update)

    async def legs(self, group_id: uuid.UUID, *, for_update: bool = False) -> list[dict[str, Any]]:
        legs = [r for r in self.bookings.bookings.values() if r["group_id"] == group_id]
        return [dict(leg) for leg in sorted(legs, key=lambda leg: leg["booking_id"])]

    async def update(self, group_id: uuid.UUID, version: int, **changes: Any) -> bool:
        row = self.rows.get(group_id)
        if row is None or row["version"] != version:
            return False
        row.update(changes, version=version + 1, updated_at=NOW)
        return True

    async def change_leg(self, booking_id: uuid.UUID, version: int, **changes: Any) -> None:
        row = self.bookings.bookings.get(booking_id)
        changed = row is not None and row["version"] == version
        expect_changed(changed, f"booking {booking_id}")
        assert row is not None
        row.update(changes, version=version + 1, updated_at=NOW)


class FakeDocumentsRepository:
    """The bookings' envelope columns (shared with the bookings repository, as the table is)."""

    def __init__(self, bookings: FakeBookingsRepository) -> None:
        self.bookings = bookings

    async def awaits_signatures(self, envelope_id: str) -> bool:
        return any(
            row.get("envelope_id") == envelope_id and row["status"] == "awaiting_signatures"
            for row in self.bookings.bookings.values()
        )

    async def booking_by_envelope(self, envelope_id: str) -> uuid.UUID | None:
        found = [
            b for b, row in self.bookings.bookings.items() if row.get("envelope_id") == envelope_id
        ]
        return found[0] if found else None

    async def set_envelope(
        self, booking_id: uuid.UUID, version: int, envelope_id: str, signing_url: str | None
    ) -> None:
        row = self.bookings.bookings.get(booking_id)
        changed = row is not None and row["version"] == version
        expect_changed(changed, f"booking {booking_id}")
        assert row is not None
        row.update(envelope_id=envelope_id, signing_url=signing_url, version=version + 1)


class FakeUnitOfWork(OutboxUnit):
    """What `UnitOfWork` offers the use cases: no connection, the fakes above (no savepoint:
    placing a group holds slots, which only Postgres tests)."""

    def __init__(self) -> None:
        # The real `emit` and `reply` (eventkit's OutboxUnit), on no connection.
        super().__init__(None, FakeOutbox())  # type: ignore[arg-type]
        self.timers = FakeTimers()
        self.bookings = FakeBookingsRepository()
        self.invites = FakeInvitesRepository()
        self.claims = FakeClaimsRepository(self.bookings)
        self.groups = FakeGroupsRepository(self.bookings)
        self.amendments = FakeAmendmentsRepository(self.bookings)
        # Bank debits', cancellations' and receipts': tests/support/booking_fakes_money.py.
        from tests.support.booking_fakes_money import (
            FakeBankDebitsRepository,
            FakeCancellationsRepository,
            FakeReceiptsRepository,
        )

        self.cancellations = FakeCancellationsRepository(self.bookings)
        self.receipts = FakeReceiptsRepository(self.bookings, self.groups)
        self.bank_debits = FakeBankDebitsRepository(self.bookings)
        from tests.support.booking_fakes_checkout import FakeCheckoutRepository

        self.checkout = FakeCheckoutRepository(self.bookings)
        self.documents = FakeDocumentsRepository(self.bookings)

    def as_uow(self) -> UnitOfWork:
        """Typed as the real one, for the use cases' signatures."""
        return cast(UnitOfWork, self)
