"""Customers and saved cards: a guest's Customer, SetupIntents that save a card for later
off-session charges (a failed verification is a ``declined`` result, not an error)."""

from __future__ import annotations

from dataclasses import dataclass

import stripe
from stripe.params import (
    CustomerCreateParams,
    SetupIntentCreateParams,
    SetupIntentRetrieveParams,
)

from payments.adapters.stripe_client import (
    DECLINED,
    EXPAND_PAYMENT_METHOD,
    StripeClientBase,
    answer,
    card_error_fields,
    decline_fields,
    idempotent,
    translate_error,
)


@dataclass(frozen=True, slots=True)
class SetupIntentResult:
    """A SetupIntent (saving a card for later off-session charges) as the service needs it.

    ``status`` is Stripe's SetupIntent status — ``succeeded`` (the card is saved to the customer
    and ``payment_method`` is the id to charge later), ``requires_action`` (the customer must
    authenticate with 3D Secure, using ``client_secret``), ``canceled``, ... — or ``"declined"``
    when the card failed verification (then ``decline_code``, ``failure_code`` and
    ``failure_message`` say why, and the SetupIntent is back in ``requires_payment_method``).
    """

    id: str
    status: str
    payment_method: str | None
    card_brand: str | None
    card_last4: str | None
    failure_code: str | None = None
    decline_code: str | None = None
    failure_message: str | None = None
    client_secret: str | None = None

    @property
    def declined(self) -> bool:
        return self.status == DECLINED


class CustomerCalls(StripeClientBase):
    """Create customers; save and read cards (SetupIntents)."""

    async def create_customer(self, *, guest_id: str, idempotency_key: str) -> str:
        """Create a Customer for a guest; returns its ``cus_`` id."""
        params: CustomerCreateParams = {"metadata": {"guest_id": guest_id}}
        customer = await answer(
            self._client.v1.customers.create_async(params, options=idempotent(idempotency_key))
        )
        return customer.id

    async def save_payment_method(
        self,
        *,
        customer: str,
        payment_method: str,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> SetupIntentResult:
        """Save a card to the customer for later off-session charges (a confirmed SetupIntent
        with ``usage="off_session"``).

        ``status == "succeeded"``: the card is attached to the customer; charge
        ``result.payment_method`` (a ``pm_`` id, also when a test id such as ``pm_card_visa``
        was passed) later with ``charge_off_session``. ``"requires_action"``: the customer has
        to authenticate (3D Secure) first. ``"declined"``: the card failed verification.
        A SetupIntent moves no money, so it has no destination or transfer group: the later
        ``charge_off_session`` carries them (for a single booking or a Linked Booking Group).
        """
        params: SetupIntentCreateParams = {
            "customer": customer,
            "payment_method": payment_method,
            "confirm": True,
            "usage": "off_session",
            "allowed_payment_method_types": ["card"],
            "metadata": dict(metadata),
            "expand": list(EXPAND_PAYMENT_METHOD),
        }
        try:
            intent = await self._client.v1.setup_intents.create_async(
                params, options=idempotent(idempotency_key)
            )
        except stripe.CardError as exc:
            return setup_declined(exc)
        except stripe.StripeError as exc:
            raise translate_error(exc) from exc
        return setup_result(intent)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentResult:
        params: SetupIntentRetrieveParams = {"expand": list(EXPAND_PAYMENT_METHOD)}
        intent = await answer(self._client.v1.setup_intents.retrieve_async(setup_intent_id, params))
        return setup_result(intent)


def _card(payment_method: object) -> tuple[str | None, str | None]:
    """Brand and last4 of an expanded PaymentMethod (None for an id or nothing)."""
    card = getattr(payment_method, "card", None) if payment_method is not None else None
    return getattr(card, "brand", None), getattr(card, "last4", None)


def setup_result(intent: stripe.SetupIntent) -> SetupIntentResult:
    pm = intent.payment_method
    pm_id = pm if isinstance(pm, str) or pm is None else pm.id
    brand, last4 = _card(None if isinstance(pm, str) else pm)
    error = intent.last_setup_error
    declined = intent.status == "requires_payment_method" and error is not None
    if declined:
        failed_pm = getattr(error, "payment_method", None)  # omitted when null, like all errors
        brand, last4 = _card(failed_pm)
        pm_id = getattr(failed_pm, "id", None)
    return SetupIntentResult(
        id=intent.id,
        status=DECLINED if declined else intent.status,
        payment_method=pm_id,
        card_brand=brand,
        card_last4=last4,
        client_secret=intent.client_secret,
        **decline_fields(error, declined),
    )


def setup_declined(exc: stripe.CardError) -> SetupIntentResult:
    error = exc.error
    intent = getattr(error, "setup_intent", None)
    pm = getattr(error, "payment_method", None)
    brand, last4 = _card(pm)
    return SetupIntentResult(
        id=getattr(intent, "id", None) or "",
        status=DECLINED,
        payment_method=getattr(pm, "id", None),
        card_brand=brand,
        card_last4=last4,
        client_secret=getattr(intent, "client_secret", None),
        **card_error_fields(exc),
    )
