"""The one place that talks to Stripe (or to the local simulator, which speaks the same wire).

Uses the official SDK's ``StripeClient`` with its async methods over httpx. Every mutating call
takes an explicit, deterministic idempotency key (``payments:<operation>:<id>``) so that a retry
by the SDK, by the caller or after a crash replays the original result instead of charging twice.

`StripeGateway` is the one object callers hold; its calls live by concept: the client, key
check and error mapping in `stripe_client`, PaymentIntents in `stripe_charges` (read by
`stripe_intents`), refunds in `stripe_refunds`, transfers in `stripe_transfers`, customers and
saved cards in `stripe_customers`, webhook signatures in `stripe_webhooks` (disputes in
`stripe_disputes`). This module gathers them and keeps the names callers import.

Outcomes:
- a card decline is a normal business result: ``PaymentIntentResult(status="declined", ...)``
  (``SetupIntentResult`` likewise); an off-session charge that the bank wants the customer to
  authenticate is such a decline too, with ``failure_code == "authentication_required"``;
- a PaymentIntent for more than the processor takes in one charge
  (``domainkit.money``) is not sent: ``StripeGatewayError("amount_too_large")``,
  not retryable;
- anything else that fails raises ``StripeGatewayError`` with a machine-readable ``code`` and
  ``retryable`` (True for connection errors, rate limits and 5xx/409 responses, which the SDK
  has already retried ``max_network_retries`` times with the same idempotency key).
"""

from __future__ import annotations

from payments.adapters.stripe_charges import CancellationReason, ChargeCalls, FutureUsage
from payments.adapters.stripe_client import (
    DEFAULT_API_BASE,
    SIMULATOR_API_KEY,
    STRIPE_API_VERSION,
    StripeGatewayError,
    checked_key,
    translate_error,
)
from payments.adapters.stripe_customers import CustomerCalls, SetupIntentResult
from payments.adapters.stripe_intents import PaymentIntentResult
from payments.adapters.stripe_refunds import RefundCalls, RefundResult
from payments.adapters.stripe_transfers import TransferCalls, TransferResult, TransferReversalResult
from payments.adapters.stripe_webhooks import WebhookSignatureError, parse_webhook, verify_webhook

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


class StripeGateway(CustomerCalls, ChargeCalls, RefundCalls, TransferCalls):
    """Async Stripe adapter. Create once per process; ``await close()`` on shutdown."""

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
