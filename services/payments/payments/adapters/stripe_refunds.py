"""Refunds of a captured PaymentIntent's charge."""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from stripe.params import RefundCreateParams

from payments.adapters.stripe_client import (
    StripeClientBase,
    answer,
    id_of,
    idempotent,
)


@dataclass(frozen=True, slots=True)
class RefundResult:
    """A Refund as the payments service needs it. ``status`` is Stripe's: ``succeeded`` (card
    refunds, at once), ``pending`` (accepted, settles later), ``failed`` / ``canceled`` (then
    ``failure_reason`` says why) or ``requires_action``."""

    id: str
    status: str
    amount: int
    currency: str
    payment_intent_id: str | None
    charge_id: str | None
    failure_reason: str | None = None
    transfer_reversal_id: str | None = None

    @property
    def accepted(self) -> bool:
        """Stripe took the refund: the money goes back to the guest."""
        return self.status in ("succeeded", "pending")


class RefundCalls(StripeClientBase):
    """Refund a charge (the whole of it or a part)."""

    async def refund(
        self,
        *,
        payment_intent_id: str,
        amount: int,
        metadata: dict[str, str],
        idempotency_key: str,
        reverse_transfer: bool = False,
        refund_application_fee: bool = False,
    ) -> RefundResult:
        """Refund ``amount`` of a captured PaymentIntent's charge.

        For a destination charge pass ``reverse_transfer`` and ``refund_application_fee``: the
        connected account's transfer and the platform's application fee then give back their
        share (Stripe takes both in proportion to the refunded amount). A charge without a
        destination (every payment made since separate charges) takes it all from the platform
        balance; a transfer already made is reversed on its own (the ``reverse_transfer`` method).
        Stripe refuses more than is left of the charge (``amount_too_large``), an emptied charge
        (``charge_already_refunded``) and an uncaptured intent: those raise a non-retryable
        ``StripeGatewayError``.
        """
        if amount <= 0:
            raise ValueError("a refund amount must be > 0")
        params: RefundCreateParams = {
            "payment_intent": payment_intent_id,
            "amount": amount,
            "metadata": dict(metadata),
        }
        if reverse_transfer:
            params["reverse_transfer"] = True
        if refund_application_fee:
            params["refund_application_fee"] = True
        refund = await answer(
            self._client.v1.refunds.create_async(params, options=idempotent(idempotency_key))
        )
        return refund_result(refund)

    async def find_refund(self, payment_intent_id: str, refund_id: str) -> RefundResult | None:
        """The refund Stripe made for our `refund_id` (its metadata) of the intent, that took
        the money back (succeeded or pending); None when there is none."""
        listed = await answer(
            self._client.v1.refunds.list_async({"payment_intent": payment_intent_id, "limit": 100})
        )
        for refund in listed.data:
            found = refund_result(refund)
            ours = refund_id == (refund.to_dict().get("metadata") or {}).get("refund_id")
            if ours and found.accepted:
                return found
        return None


def refund_result(refund: stripe.Refund) -> RefundResult:
    return RefundResult(
        id=refund.id,
        status=refund.status or "pending",
        amount=refund.amount,
        currency=refund.currency,
        payment_intent_id=id_of(refund.payment_intent),
        charge_id=id_of(refund.charge),
        failure_reason=getattr(refund, "failure_reason", None),
        transfer_reversal_id=id_of(getattr(refund, "transfer_reversal", None)),
    )
