"""ACH Direct Debit: a confirmed ``us_bank_account`` PaymentIntent is ``processing`` (its charge
``pending``) until the debit settles, ``state.ach_settlement_seconds`` of sim time later (4 days
by default; ``STRIPESIM_ACH_SETTLEMENT_SECONDS``), or when a test control settles it.

It then ``succeeded`` (``charge.succeeded``, ``payment_intent.succeeded``; a destination charge
transfers now), or the bank returned it: the charge ``failed`` with the return's
``failure_code`` and the intent back in ``requires_payment_method`` with ``last_payment_error``
(``charge.failed``, ``payment_intent.payment_failed``). The test account of a disputed debit
succeeds and is then disputed at once (``disputes``). A return after success is a dispute too.
"""

from __future__ import annotations

import copy
from typing import Any

from stripesim.errors import DOC_URL, invalid_request
from stripesim.resources import bank_accounts, charges, disputes, mandates
from stripesim.state import Ctx

_SETTLES_AT = "ach_settles_at"
CANCELED_MESSAGE = "The PaymentIntent was canceled before the bank debit settled."


def check_allowed(pi: dict[str, Any], pm: dict[str, Any]) -> None:
    """A PaymentMethod type the intent does not list is refused (400, ``payment_method``)."""
    types = pi["payment_method_types"]
    if pm["type"] not in types:
        raise invalid_request(
            f"The PaymentMethod provided ({pm['type']}) is not allowed for this "
            f"{'PaymentIntent' if pi['object'] == 'payment_intent' else 'SetupIntent'}. Please "
            f"attach a PaymentMethod of one of the following types: {', '.join(types)}. "
            "Alternatively, update the allowed payment_method_types for this PaymentIntent to "
            f'include "{pm["type"]}".',
            param="payment_method",
        )


def submit(
    ctx: Ctx, pi: dict[str, Any], pm: dict[str, Any], mandate: dict[str, Any]
) -> dict[str, Any]:
    """Send the debit to the bank: a pending charge; the intent goes ``processing``."""
    charge = charges.create_pending(ctx, pi, pm, mandate["id"])
    account = bank_accounts.account_of(ctx, pm["id"])
    due = ctx.now() + ctx.state.ach_settlement_seconds if account.settles else None
    ctx.state.private[charge["id"]] = {_SETTLES_AT: due}
    pi.update(
        status="processing",
        payment_method=pm["id"],
        latest_charge=charge["id"],
        next_action=None,
        last_payment_error=None,
    )
    return charge


def is_debit(pi: dict[str, Any]) -> bool:
    return pi["status"] == "processing" and pi["latest_charge"] is not None


def settles_at(ctx: Ctx, pi: dict[str, Any]) -> int | None:
    """When a processing debit settles by itself (None: not a debit, or never by time)."""
    if not is_debit(pi):
        return None
    due: int | None = ctx.state.private.get(pi["latest_charge"], {}).get(_SETTLES_AT)
    return due


def settle_due(ctx: Ctx, intent_ids: list[str]) -> list[str]:
    """Settle those debits of ``intent_ids`` (due, see ``timers``) whose settlement time has
    come; the ids of their intents."""
    settled = []
    for intent_id in intent_ids:
        pi = ctx.state.get(intent_id, "payment_intent")
        due = None if pi is None else settles_at(ctx, pi)
        if pi is None or due is None or ctx.now() < due:
            continue
        account = bank_accounts.account_of(ctx, pi["payment_method"])
        if account.failure_code is not None:
            fail(ctx, pi, account.failure_code)
        else:
            settle(ctx, pi)
        settled.append(pi["id"])
    return settled


def settle(ctx: Ctx, pi: dict[str, Any]) -> None:
    """The debit succeeds; the test account of a disputed debit is then disputed at once,
    whether it settled by time or by the ``/_sim/intents/{id}/ach`` control."""
    succeed(ctx, pi)
    if bank_accounts.account_of(ctx, pi["payment_method"]).disputed:
        charge = ctx.state.objects[pi["latest_charge"]]
        disputes.open_dispute(ctx, charge, "debit_not_authorized")


def _settled(ctx: Ctx, pi: dict[str, Any]) -> dict[str, Any]:
    charge = ctx.state.objects[pi["latest_charge"]]
    ctx.state.private.get(charge["id"], {}).pop(_SETTLES_AT, None)
    return charge


def succeed(ctx: Ctx, pi: dict[str, Any]) -> None:
    charges.succeed_pending(ctx, _settled(ctx, pi))
    pi.update(status="succeeded", amount_received=pi["amount"])
    ctx.emit("payment_intent.succeeded", pi)


def fail(ctx: Ctx, pi: dict[str, Any], code: str) -> None:
    """The bank returned the debit with ``code``."""
    charge = _settled(ctx, pi)
    message = bank_accounts.FAILURE_MESSAGES.get(
        code, bank_accounts.FAILURE_MESSAGES["generic_could_not_process"]
    )
    charges.fail_pending(ctx, charge, code, message)
    pm_id = pi["payment_method"]
    if code in bank_accounts.REVOKING_FAILURES:
        mandates.revoke(ctx, pm_id)
    pi.update(
        status="requires_payment_method",
        payment_method=None,
        last_payment_error={
            "type": "invalid_request_error",
            "code": code,
            "doc_url": DOC_URL.format(code=code),
            "message": message,
            "charge": charge["id"],
            "payment_method": copy.deepcopy(ctx.state.objects[pm_id]),
        },
    )
    ctx.emit("payment_intent.payment_failed", pi)


def cancel(ctx: Ctx, pi: dict[str, Any]) -> None:
    """A processing debit canceled before it settled: its charge fails."""
    charges.fail_pending(ctx, _settled(ctx, pi), None, CANCELED_MESSAGE)


def ach_return(ctx: Ctx, charge: dict[str, Any], reason: str) -> dict[str, Any]:
    """The bank returns a debit after it succeeded: on Stripe, a dispute of the charge."""
    return disputes.open_dispute(ctx, charge, reason)
