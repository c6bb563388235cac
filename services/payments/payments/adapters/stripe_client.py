"""The Stripe SDK client every gateway call goes through: the pinned API version, retries with
the same idempotency key, metrics on every request (`eventkit.stripe_metrics`), the key check
and the mapping of SDK errors to `StripeGatewayError` (machine-readable code, retryable).

Every mutating call takes an explicit, deterministic idempotency key
(``payments:<operation>:<id>``) so that a retry by the SDK, by the caller or after a crash
replays the original result instead of charging twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any, Final, TypedDict, TypeVar

import stripe

from eventkit import stripe_metrics

T = TypeVar("T")

STRIPE_API_VERSION: Final = "2026-10-28.endive"
"""Pinned API version (the one stripe-python 16.1.0 was generated for)."""
SIMULATOR_API_KEY: Final = "sk_test_local_simulator"
DEFAULT_API_BASE: Final = "http://127.0.0.1:12111"
STRIPE_API_BASE: Final = "https://api.stripe.com"
DEFAULT_UPLOAD_API_BASE: Final = "https://files.stripe.com"
MAX_IDEMPOTENCY_KEY_LENGTH: Final = 255
DECLINED: Final = "declined"
EXPAND_CHARGE: Final = ["latest_charge"]
EXPAND_PAYMENT_METHOD: Final = ["payment_method"]


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
        customer_message: str | None = None,
    ) -> None:
        super().__init__(f"{code}: {message}")
        self.param = param  # the request parameter Stripe blamed, e.g. "customer"
        # What the payer may be shown: Stripe's message of a card error, written for them;
        # None for any other error, whose message is written for the platform's developers.
        self.customer_message = customer_message
        self.code = code
        self.message = message
        self.retryable = retryable
        self.http_status = http_status
        self.request_id = request_id


class StripeClientBase:
    """The SDK client and its HTTP pool; the gateway's call groups share it. Create once per
    process; ``await close()`` on shutdown."""

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
        self._http = stripe_metrics.http_client("payments", timeout=timeout)
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

    async def close(self) -> None:
        # stripe-python leaves its HTTP clients' close_async unannotated; give it a type.
        close_async: Callable[[], Awaitable[None]] = self._http.close_async
        await close_async()


def checked_key(idempotency_key: str) -> str:
    """The key, refused (ValueError) when it is empty or longer than Stripe takes."""
    if not idempotency_key or len(idempotency_key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise ValueError("a deterministic idempotency key of 1-255 characters is required")
    return idempotency_key


def idempotent(idempotency_key: str) -> stripe.RequestOptions:
    """A mutating call's request options: its checked idempotency key."""
    return {"idempotency_key": checked_key(idempotency_key)}


async def answer(request: Awaitable[T]) -> T:
    """What one SDK request returns; a Stripe error is raised as `StripeGatewayError`."""
    try:
        return await request
    except stripe.StripeError as exc:
        raise translate_error(exc) from exc


class Failure(TypedDict):
    """Why Stripe declined an intent, as `PaymentIntentResult` and `SetupIntentResult` say."""

    failure_code: str | None
    decline_code: str | None
    failure_message: str | None


def decline_fields(error: object | None, declined: bool) -> Failure:
    """Why Stripe declined an intent (its last error: the payment's or the setup's, a mapping
    or an SDK object), as a result's failure fields; none when it was not declined."""
    if not declined:
        return {"failure_code": None, "decline_code": None, "failure_message": None}
    code = _field(error, "code")
    return {
        "failure_code": code,
        "decline_code": _field(error, "decline_code") or code,
        "failure_message": _field(error, "message"),
    }


def _field(value: object, name: str) -> Any:
    """`value`'s field `name`: a mapping's key (Stripe's JSON, an SDK object) or an attribute."""
    if isinstance(value, Mapping):
        return value.get(name)
    return getattr(value, name, None)


def card_error_fields(exc: stripe.CardError) -> Failure:
    """Why Stripe refused a card at once (a `CardError` instead of an intent), as a result's
    failure fields."""
    return {
        "failure_code": exc.code,
        "decline_code": getattr(exc.error, "decline_code", None) or exc.code,
        "failure_message": exc.user_message,
    }


def id_of(value: object) -> str | None:
    """The id of an expandable field (an id, an expanded object or its JSON, or None)."""
    if value is None or isinstance(value, str):
        return value
    found = _field(value, "id")
    return found if isinstance(found, str) else None


def translate_error(exc: stripe.StripeError) -> StripeGatewayError:
    """A Stripe SDK error as the gateway raises it (code, retryable)."""
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
        code,
        message,
        retryable,
        http_status=status,
        request_id=exc.request_id,
        param=param,
        customer_message=exc.user_message if isinstance(exc, stripe.CardError) else None,
    )
