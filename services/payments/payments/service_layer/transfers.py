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
reversals. A destination charge (a single booking's payment made before separate charges
replaced them) paid the host at capture: its release names the transfer Stripe made then and
transfers nothing. A refund of a share already transferred is taken back by a reversal
(`reversals`).
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg

from domainkit.rows import from_attrs
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import PayoutReleasedV1
from marketplace_contracts.events.payments import (
    TransferCreatedV1,
    TransferFailedV1,
)
from payments.adapters import repository
from payments.adapters.stripe_gateway import StripeGateway, StripeGatewayError
from payments.adapters.transfer_repository import TransfersRepository
from payments.domain.checkout import (
    InvalidCheckout,
    Split,
    is_destination_charge,
)
from payments.domain.ids import idempotency_key
from payments.domain.payment import PaymentStatus
from payments.domain.refusals import Refused
from payments.service_layer.unit_of_work import UnitOfWork
from payments.service_layer.use_cases import StripeUseCases

log = logging.getLogger("payments.transfers")


class TransferRefused(Refused):
    """A release payments will not transfer (recorded and announced as transfer_failed)."""


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
        splits = repository.captured_splits_of(payment, payment["amount"])
    except InvalidCheckout as exc:
        raise TransferRefused("invalid_payment", str(exc)) from exc
    for split in splits:
        if split.booking_id == booking_id:
            return split
    raise TransferRefused(
        "booking_not_in_payment",
        f"payment {payment['payment_id']} does not pay for booking {booking_id}",
    )


async def available(
    uow: UnitOfWork, payment: asyncpg.Record, split: Split, release_id: str = ""
) -> int:
    """What may still be released of the booking's split (never below zero)."""
    refunded = await uow.transfers.host_refunded(payment["payment_id"], split.booking_id)
    paid = await uow.transfers.transferred(payment["payment_id"], split.booking_id, release_id)
    return max(0, split.host_amount - refunded - paid)


class Transfers(StripeUseCases[StripeGateway]):
    @property
    def transfers(self) -> TransfersRepository:
        """Transfers on the pool: what `prepare` reads before it reserves."""
        return TransfersRepository(self.db())

    # -- finance released a payout: the consumer's route -------------------------------------
    async def prepare(self, env: Envelope, event: PayoutReleasedV1) -> TransferOutcome | None:
        """Reserve and transfer once (outside any transaction). None if decided already."""
        existing = await self.transfers.get_transfer(event.release_id)
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
        async with self.transaction() as uow:
            payment = await uow.payments.lock_payment(event.payment_id)
            if payment is None:
                raise TransferRefused(
                    "payment_not_found", f"payment {event.payment_id} does not exist"
                )
            existing = await uow.transfers.get_transfer(event.release_id, for_update=True)
            if existing is not None:
                return payment  # reserved by an earlier try: carry on with it
            if payment["status"] != PaymentStatus.CAPTURED:
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
            left = await available(uow, payment, split, event.release_id)
            if event.amount <= 0 or event.amount > left:
                raise TransferRefused(
                    "amount_exceeds_available",
                    f"{event.amount} released of booking {event.booking_id}, {left} "
                    "may still be transferred",
                )
            await uow.transfers.reserve(
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
        uow: UnitOfWork,
        env: Envelope,
        event: PayoutReleasedV1,
        outcome: TransferOutcome | None,
    ) -> None:
        if outcome is not None:
            await self.record(uow, outcome, env.correlation_id, env.event_id)

    async def record(
        self,
        uow: UnitOfWork,
        outcome: TransferOutcome,
        correlation_id: uuid.UUID,
        causation_id: uuid.UUID,
    ) -> bool:
        """Write the release's outcome and its event, once (False: decided already)."""
        release = outcome.release
        row = await uow.transfers.get_transfer(release.release_id, for_update=True)
        if row is not None and row["status"] != "pending":
            return False
        await uow.transfers.decide(_decided_row(outcome, correlation_id))
        meta: dict[str, Any] = {
            "key": release.payment_id,
            "correlation_id": correlation_id,
            "causation_id": causation_id,
        }
        if outcome.succeeded:
            assert outcome.transfer_id is not None
            await uow.emit(
                from_attrs(
                    TransferCreatedV1,
                    release,
                    transfer_id=outcome.transfer_id,
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
        await uow.emit(
            from_attrs(
                TransferFailedV1,
                release,
                code=outcome.code or "transfer_failed",
                message=outcome.message,
            ),
            **meta,
        )
        return True


def _decided_row(outcome: TransferOutcome, correlation_id: uuid.UUID) -> dict[str, Any]:
    """The transfer row of a release's outcome (created, or failed with Stripe's reason)."""
    release = outcome.release
    return {
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
    }
