"""The one place that talks to Stripe (or to the local simulator, which speaks the same wire).

Uses the official SDK's ``StripeClient`` with its async methods over httpx. Every mutating call
takes an explicit, deterministic idempotency key (``payments:<operation>:<id>``) so that a retry
by the SDK, by the caller or after a crash replays the original result instead of charging twice.

Outcomes:
- a card decline is a normal business result: ``PaymentIntentResult(status="declined", ...)``;
- anything else that fails raises ``StripeGatewayError`` with a machine-readable ``code`` and
  ``retryable`` (True for connection errors, rate limits and 5xx/409 responses, which the SDK
  has already retried ``max_network_retries`` times with the same idempotency key).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final, Literal

import stripe
from stripe.params import (
    CustomerCreateParams,
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentCreateParams,
    PaymentIntentRetrieveParams,
)

__all__ = [
    "DEFAULT_API_BASE",
    "SIMULATOR_API_KEY",
    "STRIPE_API_VERSION",
    "CancellationReason",
    "PaymentIntentResult",
    "StripeGateway",
    "StripeGatewayError",
    "WebhookSignatureError",
    "gateway_from_settings",
    "parse_webhook",
]

STRIPE_API_VERSION: Final = "2026-10-28.endive"
"""Pinned API version (the one stripe-python 16.1.0 was generated for)."""
SIMULATOR_API_KEY: Final = "sk_test_local_simulator"
DEFAULT_API_BASE: Final = "http://127.0.0.1:12111"
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255
DECLINED: Final = "declined"

CancellationReason = Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"]
_EXPAND_CHARGE: Final = ["latest_charge"]


@dataclass(frozen=True, slots=True)
class PaymentIntentResult:
    """A PaymentIntent as the payments service needs it.

    ``status`` is Stripe's PaymentIntent status (``requires_capture``, ``succeeded``,
    ``canceled``, ...) or ``"declined"`` when the card was declined (then ``decline_code``,
    ``failure_code`` and ``failure_message`` say why; the intent itself is back in
    ``requires_payment_method`` on Stripe's side).
    """

    id: str
    status: str
    amount: int
    amount_capturable: int
    amount_received: int
    currency: str
    charge_id: str | None
    card_brand: str | None
    card_last4: str | None
    decline_code: str | None = None
    failure_code: str | None = None
    failure_message: str | None = None

    @property
    def declined(self) -> bool:
        return self.status == DECLINED


class StripeGatewayError(Exception):
    """A Stripe call failed for a reason other than a card decline.

    ``retryable`` is True for transient failures (network, rate limit, 5xx, 409 lock timeouts):
    retrying later with the *same* idempotency key is safe. ``code`` is Stripe's error code when
    it sent one (e.g. ``payment_intent_unexpected_state``, ``resource_missing``), else one of
    ``stripe_connection_error``, ``stripe_rate_limited``, ``stripe_api_error``,
    ``stripe_idempotency_error``, ``stripe_authentication_error``, ``stripe_permission_error``,
    ``stripe_invalid_request``, ``stripe_error``.
    """

    def __init__(
        self,
        code: str,
        message: str,
        retryable: bool,
        *,
        http_status: int | None = None,
        request_id: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.param = param  # the request parameter Stripe blamed, e.g. "customer"
        self.code = code
        self.message = message
        self.retryable = retryable
        self.http_status = http_status
        self.request_id = request_id


class WebhookSignatureError(Exception):
    """The webhook payload is not a correctly signed, fresh Stripe event."""

    code: Final = "webhook_signature_invalid"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class StripeGateway:
    """Async Stripe adapter. Create once per process; ``await close()`` on shutdown."""

    def __init__(
        self,
        api_key: str,
        api_base: str = DEFAULT_API_BASE,
        *,
        max_network_retries: int = 2,
        timeout: float = 30.0,
    ) -> None:
        if not api_key:
            raise ValueError("api_key is required (use gateway_from_settings for the simulator)")
        self.api_base = api_base
        self._http = stripe.HTTPXClient(timeout=timeout)
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base},
            stripe_version=STRIPE_API_VERSION,
            http_client=self._http,
            max_network_retries=max_network_retries,
        )

    @property
    def client(self) -> stripe.StripeClient:
        """The underlying SDK client (for tests and diagnostics only)."""
        return self._client

    async def create_customer(self, *, guest_id: str, idempotency_key: str) -> str:
        """Create a Customer for a guest; returns its ``cus_`` id."""
        params: CustomerCreateParams = {"metadata": {"guest_id": guest_id}}
        try:
            customer = await self._client.v1.customers.create_async(
                params, options={"idempotency_key": _checked(idempotency_key)}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return customer.id

    async def authorize(
        self,
        *,
        amount: int,
        currency: str,
        payment_method: str,
        customer: str | None,
        application_fee_amount: int,
        destination_account: str | None,
        metadata: dict[str, str],
        idempotency_key: str,
    ) -> PaymentIntentResult:
        """Create and confirm a manual-capture PaymentIntent (an authorization hold).

        Success → ``status == "requires_capture"``; a declined card → ``status == "declined"``.
        With ``destination_account`` it is a destination charge: the amount minus
        ``application_fee_amount`` is transferred to that connected account on capture.
        """
        if application_fee_amount < 0:
            raise ValueError("application_fee_amount must be >= 0")
        if application_fee_amount and destination_account is None:
            raise StripeGatewayError(
                "application_fee_requires_destination",
                "an application fee needs a destination account",
                False,
            )
        params: PaymentIntentCreateParams = {
            "amount": amount,
            "currency": currency.lower(),
            "payment_method": payment_method,
            "allowed_payment_method_types": ["card"],
            "capture_method": "manual",
            "confirm": True,
            "metadata": dict(metadata),
            "expand": list(_EXPAND_CHARGE),
        }
        if customer is not None:
            params["customer"] = customer
        if destination_account is not None:
            params["transfer_data"] = {"destination": destination_account}
            if application_fee_amount:
                params["application_fee_amount"] = application_fee_amount
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params, options={"idempotency_key": _checked(idempotency_key)}
            )
        except stripe.CardError as exc:
            return _declined(exc, amount=amount, currency=currency.lower())
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _result(intent)

    async def capture(
        self,
        payment_intent_id: str,
        *,
        amount_to_capture: int | None = None,
        idempotency_key: str,
    ) -> PaymentIntentResult:
        """Capture an authorized intent, fully or partially (the rest is released)."""
        params: PaymentIntentCaptureParams = {"expand": list(_EXPAND_CHARGE)}
        if amount_to_capture is not None:
            params["amount_to_capture"] = amount_to_capture
        try:
            intent = await self._client.v1.payment_intents.capture_async(
                payment_intent_id, params, options={"idempotency_key": _checked(idempotency_key)}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _result(intent)

    async def cancel(
        self,
        payment_intent_id: str,
        *,
        idempotency_key: str,
        cancellation_reason: CancellationReason | None = None,
    ) -> PaymentIntentResult:
        """Cancel an intent that is not yet succeeded (releases an authorization hold)."""
        params: PaymentIntentCancelParams = {"expand": list(_EXPAND_CHARGE)}
        if cancellation_reason is not None:
            params["cancellation_reason"] = cancellation_reason
        try:
            intent = await self._client.v1.payment_intents.cancel_async(
                payment_intent_id, params, options={"idempotency_key": _checked(idempotency_key)}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _result(intent)

    async def retrieve(self, payment_intent_id: str) -> PaymentIntentResult:
        params: PaymentIntentRetrieveParams = {"expand": list(_EXPAND_CHARGE)}
        try:
            intent = await self._client.v1.payment_intents.retrieve_async(payment_intent_id, params)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _result(intent)

    async def close(self) -> None:
        # stripe-python leaves HTTPXClient.close_async unannotated; give it a type.
        close_async: Callable[[], Awaitable[None]] = self._http.close_async
        await close_async()

    async def __aenter__(self) -> StripeGateway:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()


def gateway_from_settings(api_key: str, api_base: str) -> StripeGateway:
    """Build the gateway from settings; an empty key means the local simulator at api_base."""
    return StripeGateway(api_key or SIMULATOR_API_KEY, api_base or DEFAULT_API_BASE)


def parse_webhook(
    payload: bytes, signature_header: str, secret: str, tolerance: int = 300
) -> stripe.Event:
    """Verify ``Stripe-Signature`` over the raw body and return the event."""
    try:
        event: stripe.Event = stripe.Webhook.construct_event(
            payload, signature_header, secret, tolerance
        )
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(exc.user_message or "invalid signature") from exc
    except ValueError as exc:  # body is not JSON / not an event
        raise WebhookSignatureError(f"invalid webhook payload: {exc}") from exc
    return event


def _checked(idempotency_key: str) -> str:
    if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError("a deterministic idempotency key of 1-255 characters is required")
    return idempotency_key


def _result(intent: stripe.PaymentIntent) -> PaymentIntentResult:
    charge = intent.latest_charge
    charge_id = charge if isinstance(charge, str) or charge is None else charge.id
    brand = last4 = None
    if isinstance(charge, stripe.Charge):
        details = getattr(charge, "payment_method_details", None)
        card = getattr(details, "card", None)
        brand, last4 = getattr(card, "brand", None), getattr(card, "last4", None)
    error = getattr(intent, "last_payment_error", None)
    declined = intent.status == "requires_payment_method" and error is not None
    return PaymentIntentResult(
        id=intent.id,
        status=DECLINED if declined else intent.status,
        amount=intent.amount,
        amount_capturable=intent.amount_capturable,
        amount_received=intent.amount_received,
        currency=intent.currency,
        charge_id=charge_id,
        card_brand=brand,
        card_last4=last4,
        decline_code=(getattr(error, "decline_code", None) or getattr(error, "code", None))
        if declined
        else None,
        failure_code=getattr(error, "code", None) if declined else None,
        failure_message=getattr(error, "message", None) if declined else None,
    )


def _declined(exc: stripe.CardError, *, amount: int, currency: str) -> PaymentIntentResult:
    error = exc.error
    intent = getattr(error, "payment_intent", None)
    card = getattr(getattr(error, "payment_method", None), "card", None)
    return PaymentIntentResult(
        id=getattr(intent, "id", None) or "",
        status=DECLINED,
        amount=getattr(intent, "amount", None) or amount,
        amount_capturable=0,
        amount_received=0,
        currency=getattr(intent, "currency", None) or currency,
        charge_id=getattr(error, "charge", None),
        card_brand=getattr(card, "brand", None),
        card_last4=getattr(card, "last4", None),
        decline_code=getattr(error, "decline_code", None) or exc.code,
        failure_code=exc.code,
        failure_message=exc.user_message,
    )


def _translate(exc: stripe.StripeError) -> StripeGatewayError:
    status = exc.http_status
    message = exc.user_message or str(exc)
    code: str
    retryable = False
    if isinstance(exc, stripe.APIConnectionError):
        code, retryable = "stripe_connection_error", True
    elif isinstance(exc, stripe.RateLimitError):
        code, retryable = "stripe_rate_limited", True
    elif isinstance(exc, stripe.IdempotencyError):
        code = "stripe_idempotency_error"
    elif isinstance(exc, stripe.AuthenticationError):
        code = "stripe_authentication_error"
    elif isinstance(exc, stripe.PermissionError):
        code = "stripe_permission_error"
    elif isinstance(exc, stripe.InvalidRequestError):
        code = exc.code or "stripe_invalid_request"
    elif status is None or status >= 500 or status == 409:
        code, retryable = "stripe_api_error", True
    else:
        code = exc.code or "stripe_error"
    param = getattr(exc, "param", None)
    return StripeGatewayError(
        code, message, retryable, http_status=status, request_id=exc.request_id, param=param
    )
