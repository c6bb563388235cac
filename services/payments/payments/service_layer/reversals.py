"""Transfer reversals: a refund of a host's share that was already transferred takes it back.

The refund saga (`refunds.record`) calls `plan_reversals` in the transaction that records a
successful refund. When the host's transfers now exceed what the host is owed, it writes
`pending` rows of `payments.transfer_reversals` for the excess (at most the refund's host share;
the newest transfers first). The reversal worker makes them through Stripe (key
`payments:transfer_reversal:<reversal_key>`) and records each with its transfer_reversed event.
The row exists exactly when the refund does, so a crash anywhere leaves the reversal to do,
never done twice.

Finance asks for reversals too (`finance.transfer_reversal_requested`: a lost dispute's host
share of a transfer already made, or a bank debit's returned after its host was paid):
`request` writes the same `pending` row, with finance's `request_id` and `cause`
(`dispute_lost`, `debit_returned`), which the worker makes under the key
`payments:reverse_transfer:<request_id>`; its transfer_reversed / transfer_reversal_failed carry
both. A request for an unknown transfer, another host, or more than is left of the transfer is
answered transfer_reversal_failed at once.

A reversal Stripe refuses (the host's balance cannot cover it, the account is gone) is recorded
`failed` with `payments.transfer_reversal_failed` in the same transaction: the guest has the
money back and the host kept it, so finance books what the host owes as a receivable and nets
it from their next payouts. A retryable failure stays pending for the next round.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable

import asyncpg

from domainkit.rows import from_attrs, from_row
from eventkit import periodic
from eventkit.runtime import ServiceRuntime, Worker
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import TransferReversalRequestedV1
from marketplace_contracts.events.payments import TransferReversalFailedV1, TransferReversedV1
from payments.adapters.stripe_gateway import StripeGateway, StripeGatewayError
from payments.adapters.transfer_repository import TransfersRepository
from payments.domain.checkout import is_destination_charge
from payments.domain.ids import idempotency_key
from payments.domain.refunds import REFUND, RefundOrder
from payments.service_layer.transfers import TransferRefused, booking_split
from payments.service_layer.unit_of_work import UnitOfWork
from payments.service_layer.use_cases import StripeUseCases

log = logging.getLogger("payments.reversals")


class Reversals(StripeUseCases[StripeGateway]):
    @property
    def transfers(self) -> TransfersRepository:
        """Transfers and reversals on the pool: the worker's reads, and what it notes of a
        reversal outside a transaction."""
        return TransfersRepository(self.db())

    async def reverse_pending(self, limit: int = 50) -> int:
        """Make the pending reversals through Stripe and record each; how many were made.
        A retryable failure leaves one pending for the next round; a refusal records it
        `failed` and announces it (ops: see docs/runbooks/payout-release.md)."""
        made = 0
        for row in await self.transfers.pending_reversals(limit):
            key = row["reversal_key"]
            if row["transfer_status"] == "failed":
                await self.transfers.cancel_reversal(key)  # nothing was transferred
                continue
            if row["transfer_status"] != "created":
                continue  # its transfer is still being made: next round
            try:
                reversal = await self.stripe.reverse_transfer(
                    row["transfer_id"],
                    amount=row["amount"],
                    metadata=_metadata(row),
                    idempotency_key=_key(row),
                )
            except StripeGatewayError as exc:
                await self._failed(row, exc)
                continue
            async with self.transaction() as uow:
                done = await uow.transfers.reversal_succeeded(key, reversal.id)
                if done is None:
                    continue
                await uow.emit(
                    from_row(TransferReversedV1, row, reversal_id=reversal.id),
                    key=row["payment_id"],
                    correlation_id=row["correlation_id"],
                )
            made += 1
        return made

    async def _failed(self, row: asyncpg.Record, exc: StripeGatewayError) -> None:
        """Note the error; a refusal also fails the reversal and announces it, once."""
        key, failed = row["reversal_key"], not exc.retryable
        (log.error if failed else log.warning)(
            "reversal %s of transfer %s %s: %s",
            key,
            row["transfer_id"],
            "refused" if failed else "to be retried",
            exc,
        )
        async with self.transaction() as uow:
            noted = await uow.transfers.note_reversal_error(
                key, exc.code, exc.message, failed=failed
            )
            if not (noted and failed):
                return
            await uow.emit(
                from_row(
                    TransferReversalFailedV1,
                    row,
                    reversal_request_id=key,
                    code=exc.code,
                    message=exc.message,
                ),
                key=row["payment_id"],
                correlation_id=row["correlation_id"],
            )

    # -- finance asks for a reversal (a lost dispute's host share): the consumer's route ----
    async def request(
        self,
        uow: UnitOfWork,
        env: Envelope,
        event: TransferReversalRequestedV1,
        _prepared: None = None,
    ) -> None:
        """A pending reversal for the worker (key `payments:reverse_transfer:<request_id>`),
        once per request; one that cannot be made is answered transfer_reversal_failed now."""
        transfer = await uow.transfers.transfer_left(event.transfer_id)
        refusal = _refusal(event, transfer)
        if refusal is not None:
            code, message = refusal
            log.error("reversal request %s refused: %s %s", event.request_id, code, message)
            await uow.reply(
                from_attrs(
                    TransferReversalFailedV1,
                    event,
                    reversal_request_id=event.request_id,
                    refund_id=None,  # finance asked for it (a dispute, a returned debit)
                    code=code,
                    message=message,
                ),
                key=event.payment_id,
                cause=env,
            )
            return
        assert transfer is not None
        await uow.transfers.add_reversal(
            {
                "reversal_key": event.request_id,
                "request_id": event.request_id,
                "cause": event.cause,
                "refund_id": None,
                "release_id": transfer["release_id"],
                "payment_id": event.payment_id,
                "booking_id": event.booking_id,
                "host_account_id": event.host_account_id,
                "amount": event.amount,
                "currency": event.currency,
                "correlation_id": env.correlation_id,
            },
        )


def _refusal(
    event: TransferReversalRequestedV1, transfer: asyncpg.Record | None
) -> tuple[str, str] | None:
    """Why finance's request cannot be made (None: it can)."""
    if transfer is None:
        return "transfer_not_found", f"no transfer {event.transfer_id} was made"
    if (transfer["host_account_id"], transfer["currency"]) != (
        event.host_account_id,
        event.currency,
    ):
        return (
            "transfer_mismatch",
            f"transfer {event.transfer_id} paid {transfer['host_account_id']} in "
            f"{transfer['currency']}",
        )
    if not 0 < event.amount <= transfer["left_amount"]:
        return (
            "amount_exceeds_transfer",
            f"{event.amount} asked back, {transfer['left_amount']} is left of {event.transfer_id}",
        )
    return None


def _key(row: asyncpg.Record) -> str:
    """A refund's reversal keeps the key it always had; finance's request has its own."""
    if row["request_id"] is not None:
        return idempotency_key("reverse_transfer", row["request_id"])
    return idempotency_key("transfer_reversal", row["reversal_key"])


def _metadata(row: asyncpg.Record) -> dict[str, str]:
    names = ("refund_id", "request_id", "payment_id", "booking_id", "release_id", "cause")
    return {name: str(row[name]) for name in names if row[name] is not None}


async def plan_reversals(
    uow: UnitOfWork, order: RefundOrder, method: str, correlation_id: uuid.UUID
) -> int:
    """In the transaction that records a successful refund (the payment row locked): the
    reversals it needs, written `pending` for the reversal worker; their total. A refund of a
    share not transferred yet needs none: it only lowers what may still be released."""
    if method != REFUND or order.host_amount <= 0:
        return 0
    payment = await uow.payments.get_payment(order.payment_id)
    if payment is None or is_destination_charge(payment):
        return 0  # a destination charge's refund reverses its transfer itself (reverse_transfer)
    transfers = await uow.transfers.reversible(order.payment_id, order.booking_id)
    if not transfers:
        return 0
    try:
        split = booking_split(payment, order.booking_id)
    except TransferRefused:
        return 0
    owed = split.host_amount - await uow.transfers.host_refunded(order.payment_id, order.booking_id)
    paid = sum(t["left_amount"] for t in transfers)
    excess = min(order.host_amount, paid - max(owed, 0))
    total = 0
    for n, transfer in enumerate(transfers):
        piece = min(excess - total, transfer["left_amount"])
        if piece <= 0:
            break
        await uow.transfers.add_reversal(
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


def reversal_worker(reversals: Callable[[], Reversals], every: float) -> Worker:
    """Make pending reversals every `every` seconds (and right away at start)."""

    async def step(runtime: ServiceRuntime) -> None:
        await reversals().reverse_pending()

    return periodic.every(every, step, name="reversal-worker")
