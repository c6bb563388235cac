"""Connect accounts: create, retrieve, and onboarding changes (a test control) that Stripe
reports with `account.updated`."""

from __future__ import annotations

from typing import Any

from stripesim.errors import resource_missing
from stripesim.forms import Params, get_enum, get_metadata, get_str
from stripesim.routing import route
from stripesim.state import Ctx, SimState


def load(state: SimState, account_id: str) -> dict[str, Any]:
    account = state.get(account_id, "account")
    if account is None:
        raise resource_missing("account", account_id, "account")
    return account


def _new(ctx: Ctx, account_id: str | None, params: Params) -> dict[str, Any]:
    account = ctx.state.base_object("account", "acct_")
    if account_id is not None:
        account["id"] = account_id
    account.update(
        {
            "type": get_enum(params, "type", ("express", "standard", "custom")) or "express",
            "country": get_str(params, "country") or "US",
            "email": get_str(params, "email"),
            "metadata": get_metadata(params),
            # A new account cannot take charges until its host finishes onboarding.
            "charges_enabled": False,
            "payouts_enabled": False,
            "details_submitted": False,
            "requirements": {"currently_due": ["external_account", "tos_acceptance.date"]},
        }
    )
    return account


@route("POST", "/v1/accounts", ["type", "country", "email", "metadata", "capabilities"])
def create(ctx: Ctx, params: Params, _args: dict[str, str]) -> dict[str, Any]:
    account = _new(ctx, None, params)
    ctx.state.put(account)
    return account


@route("GET", "/v1/accounts/{account}")
def retrieve(ctx: Ctx, _params: Params, args: dict[str, str]) -> dict[str, Any]:
    return load(ctx.state, args["account"])


def set_onboarding(
    ctx: Ctx,
    account_id: str,
    *,
    charges_enabled: bool,
    payouts_enabled: bool,
    details_submitted: bool,
) -> dict[str, Any]:
    """What the host's onboarding (or Stripe's review) changes; an account the simulator has
    not seen (a seeded host's) is created with that id. Sends `account.updated`."""
    account = ctx.state.get(account_id, "account") or _new(ctx, account_id, {})
    account.update(
        {
            "charges_enabled": charges_enabled,
            "payouts_enabled": payouts_enabled,
            "details_submitted": details_submitted,
            "requirements": {"currently_due": [] if details_submitted else ["external_account"]},
        }
    )
    ctx.state.put(account)
    ctx.emit("account.updated", account)
    return account


ROUTES = [create, retrieve]
