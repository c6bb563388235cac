"""Stripe's error wire format: ``{"error": {"type", "code", "message", ...}}``."""

from __future__ import annotations

from typing import Any

DOC_URL = "https://stripe.com/docs/error-codes/{code}"


class StripeAPIError(Exception):
    """An error rendered exactly as Stripe renders it.

    ``replayable`` is False for errors raised before the endpoint started executing
    (parameter validation); Stripe does not store those under an idempotency key.
    """

    def __init__(
        self,
        status: int,
        type_: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        decline_code: str | None = None,
        extra: dict[str, Any] | None = None,
        replayable: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = type_
        self.message = message
        self.code = code
        self.param = param
        self.decline_code = decline_code
        self.extra = extra or {}
        self.replayable = replayable

    def error_object(self) -> dict[str, Any]:
        err: dict[str, Any] = {"type": self.type, "message": self.message}
        if self.code:
            err["code"] = self.code
            err["doc_url"] = DOC_URL.format(code=self.code)
        if self.decline_code:
            err["decline_code"] = self.decline_code
        if self.param:
            err["param"] = self.param
        err.update(self.extra)
        return err

    def body(self) -> dict[str, Any]:
        return {"error": self.error_object()}


def invalid_request(
    message: str, *, param: str | None = None, code: str | None = None, replayable: bool = False
) -> StripeAPIError:
    return StripeAPIError(
        400, "invalid_request_error", message, code=code, param=param, replayable=replayable
    )


def parameter_missing(param: str) -> StripeAPIError:
    return invalid_request(
        f"Missing required param: {param}.", param=param, code="parameter_missing"
    )


def parameter_unknown(param: str) -> StripeAPIError:
    return invalid_request(
        f"Received unknown parameter: {param}", param=param, code="parameter_unknown"
    )


def resource_missing(kind: str, object_id: str, param: str | None = None) -> StripeAPIError:
    return StripeAPIError(
        404,
        "invalid_request_error",
        f"No such {kind}: '{object_id}'",
        code="resource_missing",
        param=param,
        replayable=False,
    )


def unexpected_state(message: str, intent: dict[str, Any]) -> StripeAPIError:
    """``payment_intent_unexpected_state`` / ``setup_intent_unexpected_state``, with the intent."""
    kind = intent["object"]  # "payment_intent" | "setup_intent"
    return StripeAPIError(
        400,
        "invalid_request_error",
        message,
        code=f"{kind}_unexpected_state",
        extra={kind: intent},
    )


def authentication(message: str) -> StripeAPIError:
    return StripeAPIError(401, "invalid_request_error", message, replayable=False)


def idempotency(message: str) -> StripeAPIError:
    return StripeAPIError(400, "idempotency_error", message, replayable=False)


def api_error(status: int = 500) -> StripeAPIError:
    if status == 429:
        return StripeAPIError(
            429,
            "invalid_request_error",
            "Too many requests hit the API too quickly. (stripesim injected failure)",
            code="rate_limit",
            replayable=False,
        )
    return StripeAPIError(
        status,
        "api_error",
        "An unknown error occurred while processing your request. (stripesim injected failure)",
        replayable=False,
    )


def unrecognized_url(method: str, path: str) -> StripeAPIError:
    return StripeAPIError(
        404,
        "invalid_request_error",
        f"Unrecognized request URL ({method}: {path}). Please see https://stripe.com/docs "
        "or we can help at https://support.stripe.com/.",
        replayable=False,
    )
