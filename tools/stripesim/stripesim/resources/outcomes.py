"""What the card network answers to a charge or a setup: approve, decline, or ask for 3DS.

Decided by the test card (see ``payment_methods``) and by failures forced with the
``/_sim/customers/{id}/fail_next_off_session`` control, which apply to the next off-session
charges of that customer only (kept in ``state.private[customer]`` so they survive restarts).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from stripesim.errors import StripeAPIError
from stripesim.resources import payment_methods
from stripesim.state import Ctx, SimState

AUTHENTICATION_REQUIRED_MESSAGE = (
    "Your card was declined. This transaction requires authentication."
)
_MESSAGES = {
    "authentication_required": AUTHENTICATION_REQUIRED_MESSAGE,
    "insufficient_funds": "Your card has insufficient funds.",
    "expired_card": "Your card has expired.",
}
_DEFAULT_DECLINE_CODES = {
    "card_declined": "generic_decline",
    "authentication_required": "authentication_required",
}
_FORCED = "fail_next_off_session"


@dataclass(frozen=True)
class Outcome:
    status: Literal["approved", "declined", "requires_action"]
    code: str | None = None
    decline_code: str | None = None
    message: str | None = None
    # The customer passed 3-D Secure for this charge (the charge's card details show it).
    authenticated: bool = False

    @property
    def declined(self) -> bool:
        return self.status == "declined"

    def error(self, extra: dict[str, Any]) -> StripeAPIError:
        """The 402 ``card_error`` of a declined outcome."""
        return StripeAPIError(
            402,
            "card_error",
            self.message or "Your card was declined.",
            code=self.code,
            decline_code=self.decline_code,
            extra=extra,
        )


APPROVED = Outcome("approved")
AUTHENTICATED = Outcome("approved", authenticated=True)
REQUIRES_ACTION = Outcome("requires_action")
AUTHENTICATION_REQUIRED = Outcome(
    "declined",
    "authentication_required",
    "authentication_required",
    AUTHENTICATION_REQUIRED_MESSAGE,
)


def declined(code: str, decline_code: str | None) -> Outcome:
    message = _MESSAGES.get(decline_code or code, "Your card was declined.")
    return Outcome("declined", code, decline_code, message)


def for_payment(
    ctx: Ctx,
    pm: dict[str, Any],
    *,
    customer: str | None,
    off_session: bool,
    authenticated: bool = False,
) -> Outcome:
    """A charge of ``pm``: forced failure (off-session), 3DS, the card's own decline, or ok."""
    if off_session and customer is not None:
        forced = _take_forced(ctx.state, customer)
        if forced is not None:
            return forced
    card = payment_methods.card_of(ctx, pm["id"])
    if not authenticated and _needs_authentication(ctx, pm, card, off_session):
        return AUTHENTICATION_REQUIRED if off_session else REQUIRES_ACTION
    if card.declines:
        return Outcome("declined", card.error_code, card.decline_code, card.message, authenticated)
    return AUTHENTICATED if authenticated else APPROVED


def for_setup(ctx: Ctx, pm: dict[str, Any]) -> Outcome:
    """Setting ``pm`` up for future use: verification decline, 3DS, or ok."""
    card = payment_methods.card_of(ctx, pm["id"])
    if card.fails_verification:
        return Outcome("declined", card.error_code, card.decline_code, card.message)
    if card.authentication != "none":
        return REQUIRES_ACTION
    return APPROVED


def _needs_authentication(
    ctx: Ctx, pm: dict[str, Any], card: payment_methods.TestCard, off_session: bool
) -> bool:
    if card.authentication == "always":
        return True
    if card.authentication == "unless_setup":
        return not (off_session and payment_methods.is_set_up(ctx, pm["id"]))
    return False


def next_action(intent_id: str) -> dict[str, Any]:
    """``next_action`` of an intent in ``requires_action`` (complete it with the control)."""
    return {
        "type": "use_stripe_sdk",
        "use_stripe_sdk": {
            "type": "stripesim_authenticate",
            "stripesim": f"POST /_sim/intents/{intent_id}/authenticate",
        },
    }


# -- forced off-session failures (test control) ------------------------------------------------
def force_off_session_failures(
    state: SimState, customer: str, code: str, decline_code: str | None, count: int = 1
) -> list[dict[str, Any]]:
    if decline_code is None:
        decline_code = _DEFAULT_DECLINE_CODES[code]
    pending = state.private.setdefault(customer, {}).setdefault(_FORCED, [])
    pending.extend({"code": code, "decline_code": decline_code} for _ in range(count))
    state.touch()
    return forced_off_session_failures(state, customer)


def forced_off_session_failures(state: SimState, customer: str) -> list[dict[str, Any]]:
    return [dict(item) for item in state.private.get(customer, {}).get(_FORCED, [])]


def clear_forced_off_session_failures(state: SimState, customer: str) -> None:
    state.private.get(customer, {}).pop(_FORCED, None)
    state.touch()


def _take_forced(state: SimState, customer: str) -> Outcome | None:
    pending = state.private.get(customer, {}).get(_FORCED)
    if not pending:
        return None
    item = pending.pop(0)
    return declined(item["code"], item["decline_code"])
