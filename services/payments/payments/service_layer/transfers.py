"""Connect transfers: a host's share of a separate-charges-and-transfers payment (a Linked Booking
Group's leg, or a single booking's bank debit) is transferred when finance releases it
(`finance.payout_released` → `payments.transfer_created` or `payments.transfer_failed`), and a
refund of a share already transferred takes it back (`payments.transfer_reversed`).

Releases follow the usual route: `prepare` checks the release and reserves it (a `pending`
row of `payments.transfers`, with the payment row locked, as refunds lock it), then calls Stripe
outside any transaction with the key `payments:transfer:<release_id>`; `apply` records the
transfer and its event in the transaction that claims the inbox row. A redelivery finds the
release decided and does nothing; a crash between the call and the commit repeats the call,
which Stripe answers from its idempotency cache. A retryable Stripe failure is raised (the
consumer retries, then dead-letters; the reservation stays, and a replay resumes it); a refusal,
ours or Stripe's, is recorded `failed` and announced with transfer_failed.

What may be released of a booking: its split's host amount, minus the host's shares of its
refunds (made or under way), minus what its transfers paid (made or under way) net of
reversals. A destination charge paid the host at capture: its release names the transfer Stripe
made then and transfers nothing.

Reversals: the refund saga (`refunds.record`) calls `plan_reversals` in the transaction that
records a successful refund. When the host's transfers now exceed what the host is owed, it
writes `pending` rows of `payments.transfer_reversals` for the excess (at most the refund's host
share; the newest transfers first). The reversal worker makes them through Stripe (key
`payments:transfer_reversal:<refund_id>`) and records each with its transfer_reversed event.
The row exists exactly when the refund does, so a crash anywhere leaves the reversal to do,
never done twice.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Any

import asyncpg

from eventkit.outbox import Outbox
from eventkit.runtime import ServiceRuntime
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import PayoutReleasedV1
from marketplace_contracts.events.payments import (
    TransferCreatedV1,
    TransferFailedV1,
    TransferReversedV1,
)
from payments.adapters import repository
from payments.adapters import transfer_repository as transfers_db
from payments.adapters.stripe_gateway import StripeGateway, StripeGatewayError
from payments.domain.checkout import InvalidCheckout, Split, captured_splits
from payments.domain.ids import idempotency_key
from payments.domain.refunds import REFUND, RefundOrder

log = logging.getLogger("payments.transfers")


class TransferRefused(Exception):
    """A release payments will not transfer (recorded and announced as transfer_failed)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class TransferOutcome:
    """How a release ended, for `apply` to write down with its event."""

    release: PayoutReleasedV1
    transfer_id: str | None
    transfer_group: str | None = None
    destination_charge: bool = False
    code: str | None = None
    message: str = ""

    @property
    def succeeded(self) -> bool:
        return self.transfer_id is not None


def booking_split(payment: asyncpg.Record, booking_id: str) -> Split:
    """The split of the payment that paid for the booking (raises TransferRefused)."""
    try:
        splits = captured_splits(
            booking_id=payment["booking_id"],
            host_account_id=payment["host_account_id"],
            platform_fee=payment["platform_fee"],
            captured=payment["amount"],
            splits=repository.splits_of(payment),
            tax=payment["tax"],
        )
    except InvalidCheckout as exc:
        raise TransferRefused("invalid_payment", str(exc)) from exc
    for split in splits:
        if split.booking_id == booking_id:
            return split
    raise TransferRefused(
        "booking_not_in_payment",
        f"payment {payment['payment_id']} does not pay for booking {booking_id}",
    )


def is_destination_charge(payment: asyncpg.Record) -> bool:
    """Stripe paid the host at capture: a charge to its account, not of a transfer group."""
    return payment["transfer_group"] is None and payment["host_account_id"] is not None


async def available(
    conn: asyncpg.Connection, payment: asyncpg.Record, split: Split, release_id: str = ""
) -> int:
    """What may still be released of the booking's split (never below zero)."""
    refunded = await transfers_db.host_refunded(conn, payment["payment_id"], split.booking_id)
    paid = await transfers_db.transferred(conn, payment["payment_id"], split.booking_id, release_id)
    return max(0, split.host_amount - refunded - paid)


class Transfers:
    def __init__(
        self, db: Callable[[], asyncpg.Pool], outbox: Outbox, stripe: StripeGateway
    ) -> None:
        self.db = db
        self.outbox = outbox
        self.stripe = stripe

    # -- finance released a payout: the consumer's route -------------------------------------
    async def prepare(self, env: Envelope, event: PayoutReleasedV1) -> TransferOutcome | None:
        """Reserve and transfer once (outside any transaction). None if decided already."""
        existing = await transfers_db.get_transfer(self.db(), event.release_id)
        if existing is not None and existing["status"] != "pending":
            return None  # decided, and its event emitted, by an earlier delivery
        try:
            payment = await self._reserve(event, env.correlation_id)
        except TransferRefused as exc:
            return TransferOutcome(event, None, code=exc.code, message=exc.message)
        group = payment["transfer_group"]
        if is_destination_charge(payment):
            # Stripe transferred the host's share when it captured the charge.
            transfer_id = await self._destination_transfer(payment)
            if transfer_id is None:
                return TransferOutcome(
                    event,
                    None,
                    code="transfer_not_found",
                    message=f"charge {payment['charge_id']} has no transfer",
                )
            return TransferOutcome(event, transfer_id, destination_charge=True)
        try:
            transfer = await self.stripe.create_transfer(
                amount=event.amount,
                currency=event.currency,
                destination=event.host_account_id,
                transfer_group=group,
                source_transaction=payment["charge_id"],
                metadata={
                    "payment_id": event.payment_id,
                    "booking_id": event.booking_id,
                    "release_id": event.release_id,
                },
                idempotency_key=idempotency_key("transfer", event.release_id),
            )
        except StripeGatewayError as exc:
            if exc.retryable:
                log.warning("transfer of release %s to be retried: %s", event.release_id, exc)
                raise  # the consumer retries with the same key, then dead-letters
            return TransferOutcome(event, None, group, code=exc.code, message=exc.message)
        return TransferOutcome(event, transfer.id, group)

    async def _destination_transfer(self, payment: asyncpg.Record) -> str | None:
        if payment["charge_id"] is None:
            return None
        try:
            return await self.stripe.charge_transfer(payment["charge_id"])
        except StripeGatewayError as exc:
            if exc.retryable:
                raise
            return None

    async def _reserve(self, event: PayoutReleasedV1, correlation_id: uuid.UUID) -> asyncpg.Record:
        """Check the release with the payment row locked and reserve its amount (a pending
        row); the payment. Raises TransferRefused."""
        async with self.db().acquire() as conn, conn.transaction():
            payment = await conn.fetchrow(
                "SELECT * FROM payments.payments WHERE payment_id = $1 FOR UPDATE",
                event.payment_id,
            )
            if payment is None:
                raise TransferRefused(
                    "payment_not_found", f"payment {event.payment_id} does not exist"
                )
            existing = await transfers_db.get_transfer(conn, event.release_id, for_update=True)
            if existing is not None:
                return payment  # reserved by an earlier try: carry on with it
            if payment["status"] != "captured":
                raise TransferRefused(
                    "payment_not_captured",
                    f"payment {event.payment_id} is {payment['status']}, not captured",
                )
            destination = is_destination_charge(payment)
            if payment["transfer_group"] is None and not destination:
                raise TransferRefused(
                    "no_transfer_group", f"payment {event.payment_id} has no transfer group"
                )
            if event.currency != payment["currency"]:
                raise TransferRefused(
                    "currency_mismatch",
                    f"payment {event.payment_id} is in {payment['currency']}, not {event.currency}",
                )
            split = booking_split(payment, event.booking_id)
            if split.host_account_id != event.host_account_id:
                raise TransferRefused(
                    "host_account_mismatch",
                    f"booking {event.booking_id} owes {split.host_account_id}, "
                    f"not {event.host_account_id}",
                )
            left = await available(conn, payment, split, event.release_id)
            if event.amount <= 0 or event.amount > left:
                raise TransferRefused(
                    "amount_exceeds_available",
                    f"{event.amount} released of booking {event.booking_id}, {left} "
                    "may still be transferred",
                )
            await transfers_db.reserve(
                conn,
                {
                    "release_id": event.release_id,
                    "payment_id": event.payment_id,
                    "booking_id": event.booking_id,
                    "group_id": event.group_id or payment["group_id"],
                    "host_account_id": event.host_account_id,
                    "amount": event.amount,
                    "currency": event.currency,
                    "transfer_group": payment["transfer_group"],
                    "destination_charge": destination,
                    "correlation_id": correlation_id,
                },
            )
        return payment

    async def apply(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        event: PayoutReleasedV1,
        outcome: TransferOutcome | None,
    ) -> None:
        if outcome is not None:
            await self.record(conn, outcome, env.correlation_id, env.event_id)

    async def record(
        self,
        conn: asyncpg.Connection,
        outcome: TransferOutcome,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID,
    ) -> bool:
        """Write the release's outcome and its event, once (False: decided already)."""
        release = outcome.release
        row = await transfers_db.get_transfer(conn, release.release_id, for_update=True)
        if row is not None and row["status"] != "pending":
            return False
        await transfers_db.decide(
            conn,
            {
                "release_id": release.release_id,
                "payment_id": release.payment_id,
                "booking_id": release.booking_id,
                "group_id": release.group_id,
                "host_account_id": release.host_account_id,
                "amount": release.amount,
                "currency": release.currency,
                "transfer_group": outcome.transfer_group,
                "destination_charge": outcome.destination_charge,
                "correlation_id": correlation_id,
                "status": "created" if outcome.succeeded else "failed",
                "transfer_id": outcome.transfer_id,
                "failure_code": outcome.code,
                "failure_message": outcome.message or None,
            },
        )
        meta: dict[str, Any] = {
            "key": release.payment_id,
            "correlation_id": correlation_id,
            "causation_id": causation_id,
        }
        if outcome.succeeded:
            assert outcome.transfer_id is not None
            await self.outbox.add(
                conn,
                TransferCreatedV1(
                    release_id=release.release_id,
                    transfer_id=outcome.transfer_id,
                    payment_id=release.payment_id,
                    booking_id=release.booking_id,
                    group_id=release.group_id,
                    host_account_id=release.host_account_id,
                    amount=release.amount,
                    currency=release.currency,
                    transfer_group=outcome.transfer_group,
                ),
                **meta,
            )
            return True
        log.error(
            "transfer of release %s refused: %s %s",
            release.release_id,
            outcome.code,
            outcome.message,
        )
        await self.outbox.add(
            conn,
            TransferFailedV1(
                release_id=release.release_id,
                payment_id=release.payment_id,
                booking_id=release.booking_id,
                host_account_id=release.host_account_id,
                amount=release.amount,
                currency=release.currency,
                code=outcome.code or "transfer_failed",
                message=outcome.message,
            ),
            **meta,
        )
        return True

    # -- reversals: the worker's side -------------------------------------------------------
    async def reverse_pending(self, limit: int = 50) -> int:
        """Make the pending reversals through Stripe and record each; how many were made.
        A retryable failure leaves one pending for the next round; a refusal records it
        `failed` (ops: see docs/runbooks/payout-release.md)."""
        made = 0
        for row in await transfers_db.pending_reversals(self.db(), limit):
            key = row["reversal_key"]
            if row["transfer_status"] == "failed":
                await transfers_db.cancel_reversal(self.db(), key)  # nothing was transferred
                continue
            if row["transfer_status"] != "created":
                continue  # its transfer is still being made: next round
            try:
                reversal = await self.stripe.reverse_transfer(
                    row["transfer_id"],
                    amount=row["amount"],
                    metadata={
                        "refund_id": row["refund_id"],
                        "payment_id": row["payment_id"],
                        "booking_id": row["booking_id"],
                        "release_id": row["release_id"],
                    },
                    idempotency_key=idempotency_key("transfer_reversal", key),
                )
            except StripeGatewayError as exc:
                failed = not exc.retryable
                await transfers_db.note_reversal_error(
                    self.db(), key, exc.code, exc.message, failed=failed
                )
                (log.error if failed else log.warning)(
                    "reversal %s of transfer %s %s: %s",
                    key,
                    row["transfer_id"],
                    "refused" if failed else "to be retried",
                    exc,
                )
                continue
            async with self.db().acquire() as conn, conn.transaction():
                done = await transfers_db.reversal_succeeded(conn, key, reversal.id)
                if done is None:
                    continue
                await self.outbox.add(
                    conn,
                    TransferReversedV1(
                        reversal_id=reversal.id,
                        transfer_id=row["transfer_id"],
                        refund_id=row["refund_id"],
                        payment_id=row["payment_id"],
                        booking_id=row["booking_id"],
                        host_account_id=row["host_account_id"],
                        amount=row["amount"],
                        currency=row["currency"],
                    ),
                    key=row["payment_id"],
                    correlation_id=row["correlation_id"],
                )
            made += 1
        return made


async def plan_reversals(
    conn: asyncpg.Connection, order: RefundOrder, method: str, correlation_id: uuid.UUID
) -> int:
    """In the transaction that records a successful refund (the payment row locked): the
    reversals it needs, written `pending` for the reversal worker; their total. A refund of a
    share not transferred yet needs none: it only lowers what may still be released."""
    if method != REFUND or order.host_amount <= 0:
        return 0
    payment = await repository.get_payment(conn, order.payment_id)
    if payment is None or is_destination_charge(payment):
        return 0  # a destination charge's refund reverses its transfer itself (reverse_transfer)
    transfers = await transfers_db.reversible(conn, order.payment_id, order.booking_id)
    if not transfers:
        return 0
    try:
        split = booking_split(payment, order.booking_id)
    except TransferRefused:
        return 0
    owed = split.host_amount - await transfers_db.host_refunded(
        conn, order.payment_id, order.booking_id
    )
    paid = sum(t["left_amount"] for t in transfers)
    excess = min(order.host_amount, paid - max(owed, 0))
    total = 0
    for n, transfer in enumerate(transfers):
        piece = min(excess - total, transfer["left_amount"])
        if piece <= 0:
            break
        await transfers_db.add_reversal(
            conn,
            {
                "reversal_key": order.refund_id if n == 0 else f"{order.refund_id}:{n}",
                "refund_id": order.refund_id,
                "release_id": transfer["release_id"],
                "payment_id": order.payment_id,
                "booking_id": order.booking_id,
                "host_account_id": transfer["host_account_id"],
                "amount": piece,
                "currency": transfer["currency"],
                "correlation_id": correlation_id,
            },
        )
        total += piece
    return total


def reversal_worker(
    transfers: Callable[[], Transfers], every: float
) -> Callable[[ServiceRuntime, asyncio.Event], Coroutine[Any, Any, None]]:
    """Make pending reversals every `every` seconds (and right away at start)."""

    async def run(runtime: ServiceRuntime, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await transfers().reverse_pending()
            except (OSError, asyncpg.PostgresError) as exc:
                log.warning("reversal worker: %r", exc)
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
            except TimeoutError:
                pass

    return run
