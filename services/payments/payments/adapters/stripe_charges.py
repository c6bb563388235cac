"""Charges: card authorizations (manual capture) and charges at checkout (automatic capture),
off-session charges of saved cards, ACH bank debits, and an intent's capture, cancel and
retrieval.

A card decline is a normal business result: ``PaymentIntentResult(status="declined", ...)``; an
off-session charge that the bank wants the customer to authenticate is such a decline too,
with ``failure_code == "authentication_required"``. A PaymentIntent for more than the processor
takes in one charge (``domainkit.money``) is not sent:
``StripeGatewayError("amount_too_large")``, not retryable.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, NotRequired, TypedDict, Unpack
from urllib.parse import quote_plus

import stripe
from stripe.params import (
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentCreateParams,
    PaymentIntentRetrieveParams,
)

from domainkit.money import AMOUNT_TOO_LARGE, charge_limits
from payments.adapters.stripe_client import (
    EXPAND_CHARGE,
    StripeClientBase,
    StripeGatewayError,
    answer,
    idempotent,
    translate_error,
)
from payments.adapters.stripe_intents import PaymentIntentResult, declined_result, intent_result

CancellationReason = Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"]
FutureUsage = Literal["off_session", "on_session"]


class CardCharge(TypedDict):
    """What every card PaymentIntent names, whether authorized on-session or charged
    off-session (the keyword arguments of ``authorize`` and ``charge_off_session``)."""

    amount: int
    currency: str
    payment_method: str
    application_fee_amount: int
    destination_account: str | None
    metadata: dict[str, str]
    idempotency_key: str
    transfer_group: NotRequired[str | None]


class ChargeCalls(StripeClientBase):
    """PaymentIntents: create (authorize, charge, debit), capture, cancel, retrieve."""

    async def authorize(
        self,
        *,
        customer: str | None,
        setup_future_usage: FutureUsage | None = None,
        capture: bool = False,
        **card: Unpack[CardCharge],
    ) -> PaymentIntentResult:
        """Create and confirm a manual-capture PaymentIntent (an authorization hold), or with
        ``capture=True`` an automatic-capture one: the card is charged at once.

        Success → ``status == "requires_capture"`` (``"succeeded"`` when ``capture``); a
        declined card → ``status == "declined"``; the bank wants the guest to authenticate →
        ``"requires_action"`` (either way).
        Without ``destination_account`` (``application_fee_amount`` must then be 0: every
        payment payments makes now) the funds stay on the platform account and
        ``transfer_group`` names the separate transfers that will pay them out (a single
        booking's, or a Linked Booking Group's: one charge, one transfer per host). With one it
        is a destination charge: the amount minus ``application_fee_amount`` is transferred to
        that connected account on capture (only for a payment made as one before separate
        charges replaced them).
        ``setup_future_usage="off_session"`` (with a ``customer``) also saves the card to the
        customer once the authorization succeeds, so that ``result.payment_method`` can be
        charged later with ``charge_off_session``.
        """
        params = _intent_params(
            card, customer=customer, capture_method="automatic" if capture else "manual"
        )
        # The card as the PaymentMethod names it: an intent left for a 3-D Secure step has no
        # charge to name it yet, and the step's webhook names neither (receipts want it).
        params["expand"] = [*EXPAND_CHARGE, "payment_method"]
        if setup_future_usage is not None:
            params["setup_future_usage"] = setup_future_usage
        return await self._create_intent(params, card["idempotency_key"])

    async def charge_off_session(
        self, *, customer: str, capture: bool, **card: Unpack[CardCharge]
    ) -> PaymentIntentResult:
        """Charge a saved card while the customer is away (``off_session=True``, confirmed).

        ``payment_method`` must be attached to ``customer`` (see ``save_payment_method``).
        ``capture=True`` charges at once (``status == "succeeded"``); ``capture=False`` places
        an authorization hold (``"requires_capture"``, valid ~7 days). A decline returns
        ``status == "declined"``; when the bank wants the customer to authenticate,
        ``failure_code == "authentication_required"`` (``result.authentication_required``):
        bring the customer back on-session to pay. ``destination_account`` and
        ``transfer_group`` work as in ``authorize``.
        """
        params = _intent_params(
            card, customer=customer, capture_method="automatic" if capture else "manual"
        )
        params["off_session"] = True
        return await self._create_intent(params, card["idempotency_key"])

    async def debit_bank_account(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str,
        customer: str,
        mandate_ip_address: str,
        mandate_user_agent: str,
        transfer_group: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> PaymentIntentResult:
        """Start an ACH Direct Debit: a confirmed ``us_bank_account`` PaymentIntent with
        automatic capture (Stripe refuses manual capture for bank debits) under a mandate the
        guest accepted online (``mandate_data``: their IP address and user agent).

        The result is ``processing`` (``bank_name``/``bank_last4`` set): the bank settles it days
        later (webhook ``payment_intent.succeeded``, or ``payment_intent.payment_failed`` with
        the return's code). The funds stay on the platform account (no destination, no
        application fee; ``transfer_group`` names the transfer that pays the host once the
        return window passed). A refusal at once is ``status == "declined"`` or raises.
        """
        params: PaymentIntentCreateParams = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method": payment_method,
            "allowed_payment_method_types": ["us_bank_account"],
            "capture_method": "automatic",
            "confirm": True,
            "customer": customer,
            "mandate_data": {
                "customer_acceptance": {
                    "type": "online",
                    "online": {
                        "ip_address": mandate_ip_address,
                        "user_agent": mandate_user_agent,
                    },
                }
            },
            "transfer_group": transfer_group,
            "metadata": dict(metadata),
            "expand": list(EXPAND_CHARGE),
        }
        return await self._create_intent(params, idempotency_key)

    async def _create_intent(
        self, params: PaymentIntentCreateParams, idempotency_key: str
    ) -> PaymentIntentResult:
        _refuse_beyond_limits(params["amount"], params["currency"])
        try:
            intent = await self._intent_request("/v1/payment_intents", params, idempotency_key)
        except stripe.CardError as exc:
            return declined_result(exc, amount=params["amount"], currency=params["currency"])
        except stripe.StripeError as exc:
            raise translate_error(exc) from exc
        return intent_result(intent)

    async def _intent_request(
        self, url: str, params: Mapping[str, Any], idempotency_key: str | None, method: str = "post"
    ) -> dict[str, Any]:
        """A PaymentIntent request through the SDK (its retries, its errors, the same
        request on the wire), answered as Stripe's JSON: the hot path of every checkout reads
        a few fields, which the SDK's object tree would cost more to build than the request."""
        options = idempotent(idempotency_key) if idempotency_key is not None else {}
        response = await self._client.raw_request_async(method, url, **params, **options)
        intent: dict[str, Any] = response.data
        return intent

    async def capture(
        self,
        payment_intent_id: str,
        *,
        amount_to_capture: int | None = None,
        application_fee_amount: int | None = None,
        idempotency_key: str,
    ) -> PaymentIntentResult:
        """Capture an authorized intent, fully or partially (the rest is released). A partial
        capture of a destination charge passes the platform's smaller fee as
        ``application_fee_amount`` (else the whole authorized fee would be kept)."""
        params: PaymentIntentCaptureParams = {"expand": list(EXPAND_CHARGE)}
        if amount_to_capture is not None:
            params["amount_to_capture"] = amount_to_capture
        if application_fee_amount is not None:
            params["application_fee_amount"] = application_fee_amount
        url = f"/v1/payment_intents/{_segment(payment_intent_id)}/capture"
        return await self._changed(url, params, idempotency_key)

    async def cancel(
        self,
        payment_intent_id: str,
        *,
        idempotency_key: str,
        cancellation_reason: CancellationReason | None = None,
    ) -> PaymentIntentResult:
        """Cancel an intent that is not yet succeeded (releases an authorization hold)."""
        params: PaymentIntentCancelParams = {"expand": list(EXPAND_CHARGE)}
        if cancellation_reason is not None:
            params["cancellation_reason"] = cancellation_reason
        url = f"/v1/payment_intents/{_segment(payment_intent_id)}/cancel"
        return await self._changed(url, params, idempotency_key)

    async def retrieve(self, payment_intent_id: str) -> PaymentIntentResult:
        params: PaymentIntentRetrieveParams = {"expand": list(EXPAND_CHARGE)}
        url = f"/v1/payment_intents/{_segment(payment_intent_id)}"
        return intent_result(await answer(self._intent_request(url, params, None, "get")))

    async def _changed(
        self,
        url: str,
        params: PaymentIntentCaptureParams | PaymentIntentCancelParams,
        idempotency_key: str,
    ) -> PaymentIntentResult:
        """An intent after a mutating request on it (capture, cancel), under its key."""
        return intent_result(await answer(self._intent_request(url, params, idempotency_key)))


def _segment(object_id: str) -> str:
    """An id as one segment of a request's path (quoted as the SDK quotes it)."""
    return quote_plus(object_id)


def _intent_params(
    card: CardCharge,
    *,
    customer: str | None,
    capture_method: Literal["automatic", "manual"],
) -> PaymentIntentCreateParams:
    """A confirmed card PaymentIntent; with ``destination_account`` a destination charge, with
    ``transfer_group`` a charge whose funds separate transfers will pay out."""
    application_fee_amount = card["application_fee_amount"]
    destination_account = card["destination_account"]
    transfer_group = card.get("transfer_group")
    if application_fee_amount < 0:
        raise ValueError("application_fee_amount must be >= 0")
    if application_fee_amount and destination_account is None:
        raise StripeGatewayError(
            "application_fee_requires_destination",
            "an application fee needs a destination account",
            False,
        )
    params: PaymentIntentCreateParams = {
        "amount": card["amount"],
        "currency": card["currency"].lower(),
        "payment_method": card["payment_method"],
        "allowed_payment_method_types": ["card"],
        "capture_method": capture_method,
        "confirm": True,
        "metadata": dict(card["metadata"]),
        "expand": list(EXPAND_CHARGE),
    }
    if customer is not None:
        params["customer"] = customer
    if destination_account is not None:
        params["transfer_data"] = {"destination": destination_account}
        if application_fee_amount:
            params["application_fee_amount"] = application_fee_amount
    if transfer_group is not None:
        params["transfer_group"] = transfer_group
    return params


def _refuse_beyond_limits(amount: int, currency: str) -> None:
    """Raise a permanent `amount_too_large` for an amount Stripe would refuse, before asking
    it (the processor's ceiling, `domainkit.money`): a request that can never
    succeed is not sent, so it costs no API call and no retry."""
    if amount > charge_limits(currency).maximum:
        raise StripeGatewayError(
            AMOUNT_TOO_LARGE,
            f"{amount} {currency} is more than the payment processor takes in one charge "
            f"({charge_limits(currency).maximum})",
            False,
            param="amount",
        )
