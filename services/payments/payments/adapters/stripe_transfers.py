"""Connect transfers to hosts' connected accounts (separate charges and transfers), their
reversals, and the transfer a destination charge made at capture."""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from stripe.params import TransferCreateParams, TransferReversalCreateParams

from payments.adapters.stripe_client import (
    StripeClientBase,
    answer,
    id_of,
    idempotent,
)


@dataclass(frozen=True, slots=True)
class TransferResult:
    """A Connect Transfer to a host's connected account (``destination``); with
    ``source_transaction`` it is funded from that charge (separate charges and transfers)."""

    id: str
    amount: int
    amount_reversed: int
    currency: str
    destination: str | None
    transfer_group: str | None = None
    source_transaction: str | None = None


@dataclass(frozen=True, slots=True)
class TransferReversalResult:
    """A TransferReversal: ``amount`` of ``transfer_id`` back from the connected account."""

    id: str
    transfer_id: str
    amount: int
    currency: str


class TransferCalls(StripeClientBase):
    """Create and reverse transfers; read a destination charge's transfer."""

    async def create_transfer(
        self,
        *,
        amount: int,
        currency: str,
        destination: str,
        transfer_group: str | None,
        source_transaction: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> TransferResult:
        """Transfer ``amount`` of the platform's balance to a connected account (a host's share
        of a separate-charges-and-transfers payment). ``source_transaction`` (the charge) funds
        it from that charge, so it can be made before the charge's funds are available.
        Stripe refuses more than is left of the charge or a destination that cannot receive
        transfers: those raise a non-retryable ``StripeGatewayError``."""
        if amount <= 0:
            raise ValueError("a transfer amount must be > 0")
        params: TransferCreateParams = {
            "amount": amount,
            "currency": currency.lower(),
            "destination": destination,
            "metadata": dict(metadata),
        }
        if transfer_group is not None:
            params["transfer_group"] = transfer_group
        if source_transaction is not None:
            params["source_transaction"] = source_transaction
        transfer = await answer(
            self._client.v1.transfers.create_async(params, options=idempotent(idempotency_key))
        )
        return transfer_result(transfer)

    async def reverse_transfer(
        self, transfer_id: str, *, amount: int, metadata: dict[str, str], idempotency_key: str
    ) -> TransferReversalResult:
        """Take ``amount`` of a transfer back from the connected account (a refund of a share
        already transferred). More than is left of the transfer raises a non-retryable
        ``StripeGatewayError``."""
        if amount <= 0:
            raise ValueError("a reversal amount must be > 0")
        params: TransferReversalCreateParams = {"amount": amount, "metadata": dict(metadata)}
        reversal = await answer(
            self._client.v1.transfers.reversals.create_async(
                transfer_id, params, options=idempotent(idempotency_key)
            )
        )
        return TransferReversalResult(
            id=reversal.id,
            transfer_id=id_of(reversal.transfer) or transfer_id,
            amount=reversal.amount,
            currency=reversal.currency,
        )

    async def charge_transfer(self, charge_id: str) -> str | None:
        """The transfer Stripe made at capture of a destination charge (None without one)."""
        charge = await answer(self._client.v1.charges.retrieve_async(charge_id))
        return id_of(getattr(charge, "transfer", None))


def transfer_result(transfer: stripe.Transfer) -> TransferResult:
    return TransferResult(
        id=transfer.id,
        amount=transfer.amount,
        amount_reversed=transfer.amount_reversed,
        currency=transfer.currency,
        destination=id_of(transfer.destination),
        transfer_group=getattr(transfer, "transfer_group", None),
        source_transaction=id_of(getattr(transfer, "source_transaction", None)),
    )
