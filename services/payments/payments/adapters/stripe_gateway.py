"""The one place that talks to Stripe (or to the local simulator, which speaks the same wire).

Uses the official SDK's ``StripeClient`` with its async methods over httpx. Every mutating call
takes an explicit, deterministic idempotency key (``payments:<operation>:<id>``) so that a retry
by the SDK, by the caller or after a crash replays the original result instead of charging twice.

Outcomes:
- a card decline is a normal business result: ``PaymentIntentResult(status="declined", ...)``
  (``SetupIntentResult`` likewise); an off-session charge that the bank wants the customer to
  authenticate is such a decline too, with ``failure_code == "authentication_required"``;
- a PaymentIntent for more than the processor takes in one charge
  (``marketplace_contracts.money``) is not sent: ``StripeGatewayError("amount_too_large")``,
  not retryable;
- anything else that fails raises ``StripeGatewayError`` with a machine-readable ``code`` and
  ``retryable`` (True for connection errors, rate limits and 5xx/409 responses, which the SDK
  has already retried ``max_network_retries`` times with the same idempotency key).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Final, Literal

import stripe
from stripe.params import (
    CustomerCreateParams,
    PaymentIntentCancelParams,
    PaymentIntentCaptureParams,
    PaymentIntentCreateParams,
    PaymentIntentRetrieveParams,
    RefundCreateParams,
    SetupIntentCreateParams,
    SetupIntentRetrieveParams,
    TransferCreateParams,
    TransferReversalCreateParams,
)

from eventkit.stripe_tracing import TracedHTTPXClient
from marketplace_contracts.money import AMOUNT_TOO_LARGE, charge_limits

__all__ = [
    "DEFAULT_API_BASE",
    "SIMULATOR_API_KEY",
    "STRIPE_API_VERSION",
    "CancellationReason",
    "FutureUsage",
    "PaymentIntentResult",
    "RefundResult",
    "SetupIntentResult",
    "StripeGateway",
    "StripeGatewayError",
    "TransferResult",
    "TransferReversalResult",
    "WebhookSignatureError",
    "checked_key",
    "gateway_from_settings",
    "parse_webhook",
    "translate_error",
    "verify_webhook",
]

STRIPE_API_VERSION: Final = "2026-10-28.endive"
"""Pinned API version (the one stripe-python 16.1.0 was generated for)."""
SIMULATOR_API_KEY: Final = "sk_test_local_simulator"
DEFAULT_API_BASE: Final = "http://127.0.0.1:12111"
STRIPE_API_BASE: Final = "https://api.stripe.com"
DEFAULT_UPLOAD_API_BASE: Final = "https://files.stripe.com"
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255
DECLINED: Final = "declined"
AUTHENTICATION_REQUIRED: Final = "authentication_required"

CancellationReason = Literal["duplicate", "fraudulent", "requested_by_customer", "abandoned"]
FutureUsage = Literal["off_session", "on_session"]
_EXPAND_CHARGE: Final = ["latest_charge"]
_EXPAND_PAYMENT_METHOD: Final = ["payment_method"]


@dataclass(frozen=True, slots=True)
class PaymentIntentResult:
    """A PaymentIntent as the payments service needs it.

    ``status`` is Stripe's PaymentIntent status (``requires_capture``, ``succeeded``,
    ``canceled``, ...) or ``"declined"`` when the card was declined (then ``decline_code``,
    ``failure_code`` and ``failure_message`` say why; the intent itself is back in
    ``requires_payment_method`` on Stripe's side). ``transfer_group`` is set on the charge of
    a Linked Booking Group (paid out by separate transfers). ``payment_method`` is the ``pm_``
    id the intent was paid with (the one to charge later when the authorization saved it with
    ``setup_future_usage``; a test id such as ``pm_card_visa`` comes back as a fresh ``pm_``).
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
    transfer_group: str | None = None
    payment_method: str | None = None
    bank_name: str | None = None
    """A bank debit (``us_bank_account``): the bank's name and the account's last 4 digits."""
    bank_last4: str | None = None
    client_secret: str | None = None
    """``requires_action``: what the client's Stripe.js needs to show the bank's step."""
    next_action_type: str | None = None
    """``requires_action``: ``use_stripe_sdk`` or ``redirect_to_url`` (with ``redirect_url``)."""
    redirect_url: str | None = None
    three_d_secure: bool = False
    """The charge was authenticated with 3-D Secure (read from an expanded charge)."""

    @property
    def declined(self) -> bool:
        return self.status == DECLINED

    @property
    def authentication_required(self) -> bool:
        """Declined because the bank wants the customer to authenticate (off-session charge):
        ask the guest to pay on-session instead."""
        return self.declined and self.failure_code == AUTHENTICATION_REQUIRED


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
        upload_api_base: str = "",
    ) -> None:
        if not api_key:
            raise ValueError("api_key is required (use gateway_from_settings for the simulator)")
        self.api_base = api_base
        self._http = TracedHTTPXClient(timeout=timeout)
        # Stripe takes File uploads on another host; the simulator takes them itself.
        self.upload_api_base = upload_api_base or (
            DEFAULT_UPLOAD_API_BASE if api_base == STRIPE_API_BASE else api_base
        )
        self._client = stripe.StripeClient(
            api_key,
            base_addresses={"api": api_base, "files": self.upload_api_base},
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
        transfer_group: str | None = None,
        setup_future_usage: FutureUsage | None = None,
    ) -> PaymentIntentResult:
        """Create and confirm a manual-capture PaymentIntent (an authorization hold).

        Success → ``status == "requires_capture"``; a declined card → ``status == "declined"``.
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
            amount=amount,
            currency=currency,
            payment_method=payment_method,
            customer=customer,
            application_fee_amount=application_fee_amount,
            destination_account=destination_account,
            transfer_group=transfer_group,
            metadata=metadata,
            capture_method="manual",
        )
        if setup_future_usage is not None:
            params["setup_future_usage"] = setup_future_usage
        return await self._create_intent(params, idempotency_key)

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
            "expand": list(_EXPAND_PAYMENT_METHOD),
        }
        try:
            intent = await self._client.v1.setup_intents.create_async(
                params, options={"idempotency_key": _checked(idempotency_key)}
            )
        except stripe.CardError as exc:
            return _setup_declined(exc)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _setup_result(intent)

    async def retrieve_setup_intent(self, setup_intent_id: str) -> SetupIntentResult:
        params: SetupIntentRetrieveParams = {"expand": list(_EXPAND_PAYMENT_METHOD)}
        try:
            intent = await self._client.v1.setup_intents.retrieve_async(setup_intent_id, params)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _setup_result(intent)

    async def charge_off_session(
        self,
        *,
        amount: int,
        currency: str,
        customer: str,
        payment_method: str,
        application_fee_amount: int,
        destination_account: str | None,
        metadata: dict[str, str],
        capture: bool,
        idempotency_key: str,
        transfer_group: str | None = None,
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
            amount=amount,
            currency=currency,
            payment_method=payment_method,
            customer=customer,
            application_fee_amount=application_fee_amount,
            destination_account=destination_account,
            transfer_group=transfer_group,
            metadata=metadata,
            capture_method="automatic" if capture else "manual",
        )
        params["off_session"] = True
        return await self._create_intent(params, idempotency_key)

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
            "expand": list(_EXPAND_CHARGE),
        }
        return await self._create_intent(params, idempotency_key)

    async def _create_intent(
        self, params: PaymentIntentCreateParams, idempotency_key: str
    ) -> PaymentIntentResult:
        _refuse_beyond_limits(params["amount"], params["currency"])
        try:
            intent = await self._client.v1.payment_intents.create_async(
                params, options={"idempotency_key": _checked(idempotency_key)}
            )
        except stripe.CardError as exc:
            return _declined(exc, amount=params["amount"], currency=params["currency"])
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _result(intent)

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
        params: PaymentIntentCaptureParams = {"expand": list(_EXPAND_CHARGE)}
        if amount_to_capture is not None:
            params["amount_to_capture"] = amount_to_capture
        if application_fee_amount is not None:
            params["application_fee_amount"] = application_fee_amount
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
        try:
            refund = await self._client.v1.refunds.create_async(
                params, options={"idempotency_key": _checked(idempotency_key)}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _refund_result(refund)

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
        try:
            transfer = await self._client.v1.transfers.create_async(
                params, options={"idempotency_key": _checked(idempotency_key)}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _transfer_result(transfer)

    async def reverse_transfer(
        self, transfer_id: str, *, amount: int, metadata: dict[str, str], idempotency_key: str
    ) -> TransferReversalResult:
        """Take ``amount`` of a transfer back from the connected account (a refund of a share
        already transferred). More than is left of the transfer raises a non-retryable
        ``StripeGatewayError``."""
        if amount <= 0:
            raise ValueError("a reversal amount must be > 0")
        params: TransferReversalCreateParams = {"amount": amount, "metadata": dict(metadata)}
        try:
            reversal = await self._client.v1.transfers.reversals.create_async(
                transfer_id, params, options={"idempotency_key": _checked(idempotency_key)}
            )
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return TransferReversalResult(
            id=reversal.id,
            transfer_id=_id(reversal.transfer) or transfer_id,
            amount=reversal.amount,
            currency=reversal.currency,
        )

    async def charge_transfer(self, charge_id: str) -> str | None:
        """The transfer Stripe made at capture of a destination charge (None without one)."""
        try:
            charge = await self._client.v1.charges.retrieve_async(charge_id)
        except stripe.StripeError as exc:
            raise _translate(exc) from exc
        return _id(getattr(charge, "transfer", None))

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


def gateway_from_settings(api_key: str, api_base: str, upload_api_base: str = "") -> StripeGateway:
    """Build the gateway from settings; an empty key means the local simulator at api_base.
    File uploads go to `upload_api_base`; empty: Stripe's files host for Stripe's API, else
    `api_base` (the simulator takes uploads itself)."""
    return StripeGateway(
        api_key or SIMULATOR_API_KEY,
        api_base or DEFAULT_API_BASE,
        upload_api_base=upload_api_base,
    )


def verify_webhook(
    payload: bytes, signature_header: str, secret: str, tolerance: int = 300
) -> dict[str, Any]:
    """Verify ``Stripe-Signature`` over the raw body; the event as Stripe sent it (plain JSON:
    the receiver stores it, so building the SDK's objects would be work thrown away)."""
    try:
        text = payload.decode("utf-8")
        stripe.WebhookSignature.verify_header(text, signature_header, secret, tolerance)
        event = json.loads(text)
    except stripe.SignatureVerificationError as exc:
        raise WebhookSignatureError(exc.user_message or "invalid signature") from exc
    except ValueError as exc:  # body is not UTF-8 / not JSON
        raise WebhookSignatureError(f"invalid webhook payload: {exc}") from exc
    if not isinstance(event, dict) or not all(
        isinstance(event.get(k), str) for k in ("id", "type")
    ):
        raise WebhookSignatureError("invalid webhook payload: not an event")
    if "\\u0000" in text:  # Postgres' jsonb cannot store it; Stripe never sends it
        raise WebhookSignatureError("invalid webhook payload: NUL character")
    return event


def parse_webhook(
    payload: bytes, signature_header: str, secret: str, tolerance: int = 300
) -> stripe.Event:
    """Verify ``Stripe-Signature`` over the raw body and return the event."""
    event = verify_webhook(payload, signature_header, secret, tolerance)
    return stripe.Event.construct_from(event, stripe.api_key)


def _intent_params(
    *,
    amount: int,
    currency: str,
    payment_method: str,
    customer: str | None,
    application_fee_amount: int,
    destination_account: str | None,
    transfer_group: str | None,
    metadata: dict[str, str],
    capture_method: Literal["automatic", "manual"],
) -> PaymentIntentCreateParams:
    """A confirmed card PaymentIntent; with ``destination_account`` a destination charge, with
    ``transfer_group`` a charge whose funds separate transfers will pay out."""
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
        "capture_method": capture_method,
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
    if transfer_group is not None:
        params["transfer_group"] = transfer_group
    return params


def _refuse_beyond_limits(amount: int, currency: str) -> None:
    """Raise a permanent `amount_too_large` for an amount Stripe would refuse, before asking
    it (the processor's ceiling, `marketplace_contracts.money`): a request that can never
    succeed is not sent, so it costs no API call and no retry."""
    if amount > charge_limits(currency).maximum:
        raise StripeGatewayError(
            AMOUNT_TOO_LARGE,
            f"{amount} {currency} is more than the payment processor takes in one charge "
            f"({charge_limits(currency).maximum})",
            False,
            param="amount",
        )


def checked_key(idempotency_key: str) -> str:
    """The key, refused (ValueError) when it is empty or longer than Stripe takes."""
    return _checked(idempotency_key)


def translate_error(exc: stripe.StripeError) -> StripeGatewayError:
    """A Stripe SDK error as the gateway raises it (code, retryable)."""
    return _translate(exc)


def _checked(idempotency_key: str) -> str:
    if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError("a deterministic idempotency key of 1-255 characters is required")
    return idempotency_key


def _result(intent: stripe.PaymentIntent) -> PaymentIntentResult:
    charge = intent.latest_charge
    charge_id = charge if isinstance(charge, str) or charge is None else charge.id
    brand = last4 = bank_name = bank_last4 = None
    secure = False
    if isinstance(charge, stripe.Charge):
        details = getattr(charge, "payment_method_details", None)
        card = getattr(details, "card", None)
        brand, last4 = getattr(card, "brand", None), getattr(card, "last4", None)
        three_d = getattr(card, "three_d_secure", None)
        secure = getattr(three_d, "result", None) == "authenticated"
        bank = getattr(details, "us_bank_account", None)
        bank_name, bank_last4 = getattr(bank, "bank_name", None), getattr(bank, "last4", None)
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
        transfer_group=getattr(intent, "transfer_group", None),
        payment_method=_id(getattr(intent, "payment_method", None)),
        bank_name=bank_name,
        bank_last4=bank_last4,
        three_d_secure=secure,
        **_next_action(intent),
    )


def _next_action(intent: stripe.PaymentIntent) -> dict[str, str | None]:
    """What the client must do for an intent in ``requires_action`` (3-D Secure)."""
    if intent.status != "requires_action":
        return {}
    action = getattr(intent, "next_action", None)
    redirect = getattr(action, "redirect_to_url", None)
    return {
        "client_secret": getattr(intent, "client_secret", None),
        "next_action_type": getattr(action, "type", None),
        "redirect_url": getattr(redirect, "url", None),
    }


def _id(value: object) -> str | None:
    """The id of an expandable field (an id, an expanded object, or None)."""
    if value is None or isinstance(value, str):
        return value
    return getattr(value, "id", None)


def _transfer_result(transfer: stripe.Transfer) -> TransferResult:
    return TransferResult(
        id=transfer.id,
        amount=transfer.amount,
        amount_reversed=transfer.amount_reversed,
        currency=transfer.currency,
        destination=_id(transfer.destination),
        transfer_group=getattr(transfer, "transfer_group", None),
        source_transaction=_id(getattr(transfer, "source_transaction", None)),
    )


def _refund_result(refund: stripe.Refund) -> RefundResult:
    return RefundResult(
        id=refund.id,
        status=refund.status or "pending",
        amount=refund.amount,
        currency=refund.currency,
        payment_intent_id=_id(refund.payment_intent),
        charge_id=_id(refund.charge),
        failure_reason=getattr(refund, "failure_reason", None),
        transfer_reversal_id=_id(getattr(refund, "transfer_reversal", None)),
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
        transfer_group=getattr(intent, "transfer_group", None),
    )


def _card(payment_method: object) -> tuple[str | None, str | None]:
    """Brand and last4 of an expanded PaymentMethod (None for an id or nothing)."""
    card = getattr(payment_method, "card", None) if payment_method is not None else None
    return getattr(card, "brand", None), getattr(card, "last4", None)


def _setup_result(intent: stripe.SetupIntent) -> SetupIntentResult:
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
        failure_code=getattr(error, "code", None) if declined else None,
        decline_code=(getattr(error, "decline_code", None) or getattr(error, "code", None))
        if declined
        else None,
        failure_message=getattr(error, "message", None) if declined else None,
        client_secret=intent.client_secret,
    )


def _setup_declined(exc: stripe.CardError) -> SetupIntentResult:
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
        failure_code=exc.code,
        decline_code=getattr(error, "decline_code", None) or exc.code,
        failure_message=exc.user_message,
        client_secret=getattr(intent, "client_secret", None),
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
