"""Parameter validation of PaymentIntent create/confirm (Stripe's rules; card and
us_bank_account)."""

from __future__ import annotations

import re
from typing import Any

from stripesim.errors import invalid_request, resource_missing
from stripesim.forms import (
    Params,
    check_known,
    get_bool,
    get_dict,
    get_enum,
    get_int,
    get_list,
    get_metadata,
    get_str,
    require_str,
)
from stripesim.resources import customers, payment_methods
from stripesim.state import Ctx

CAPTURE_METHODS = ("automatic", "automatic_async", "manual")
PAYMENT_METHOD_TYPES = ("card", "us_bank_account")
FUTURE_USAGES = ("on_session", "off_session")
MIN_AMOUNT = {"gbp": 30, "hkd": 400, "jpy": 50, "mxn": 1000, "sek": 300, "nok": 300, "dkk": 250}
CONFIRM_PARAMS = (
    "payment_method",
    "capture_method",
    "return_url",
    "off_session",
    "receipt_email",
    "error_on_requires_action",
    "mandate_data",
    "mandate",
)
CREATE_PARAMS = (
    *CONFIRM_PARAMS,
    "amount",
    "currency",
    "customer",
    "confirm",
    "metadata",
    "description",
    "application_fee_amount",
    "transfer_data",
    "on_behalf_of",
    "transfer_group",
    "statement_descriptor",
    "statement_descriptor_suffix",
    "automatic_payment_methods",
    "confirmation_method",
    "setup_future_usage",
    "payment_method_types",
    "allowed_payment_method_types",
)


def account(params: Params, name: str, param: str) -> str | None:
    value = get_str(params, name)
    if value is not None and not value.startswith("acct_"):
        raise resource_missing("account", value, param)
    return value


def payment_method(ctx: Ctx, params: Params, customer: str | None) -> dict[str, Any] | None:
    pm_id = get_str(params, "payment_method")
    if pm_id is None:
        return None
    pm = payment_methods.resolve(ctx, pm_id, "payment_method")
    if pm["customer"] is not None and pm["customer"] != customer:
        raise invalid_request(
            "The provided PaymentMethod belongs to a different Customer (or to a Customer while "
            "none was given). Pass the Customer the PaymentMethod is attached to.",
            param="payment_method",
        )
    return pm


def off_session(params: Params) -> bool:
    """``off_session``: ``true``/``one_off``/``recurring`` (the customer is not present)."""
    raw = get_str(params, "off_session")
    if raw is None or raw == "false":
        return False
    if raw not in ("true", "one_off", "recurring"):
        raise invalid_request(f"Invalid off_session: {raw}", param="off_session")
    return True


def error_on_requires_action(params: Params) -> bool:
    return get_bool(params, "error_on_requires_action")


def check_off_session(pm: dict[str, Any], customer: str | None) -> None:
    """Off-session charges need a PaymentMethod saved to (attached to) the given Customer."""
    if customer is None:
        raise invalid_request(
            "A Customer is required to confirm a PaymentIntent with `off_session`: pass the "
            "Customer the PaymentMethod is attached to.",
            param="customer",
            code="parameter_missing",
        )
    if pm["customer"] != customer:
        raise invalid_request(
            f"The PaymentMethod {pm['id']} is not attached to Customer {customer}. Save it to "
            "the Customer first (a SetupIntent, or /v1/payment_methods/{id}/attach) to charge "
            "it off-session.",
            param="payment_method",
        )


def validated_create(ctx: Ctx, params: Params) -> dict[str, Any]:
    amount = get_int(params, "amount", required=True, minimum=1)
    assert amount is not None
    currency = require_str(params, "currency").lower()
    if not re.fullmatch(r"[a-z]{3}", currency):
        raise invalid_request(f"Invalid currency: {currency}.", param="currency")
    minimum = MIN_AMOUNT.get(currency, 50)
    if amount < minimum:
        raise invalid_request(
            f"Amount must be at least {minimum} {currency} minor units.",
            param="amount",
            code="amount_too_small",
        )
    customer = get_str(params, "customer")
    if customer is not None:
        customers.load(ctx.state, customer)
    transfer = get_dict(params, "transfer_data")
    check_known(transfer, ["destination", "amount"], prefix="transfer_data")
    if transfer and "destination" not in transfer:
        raise invalid_request(
            "Missing required param: transfer_data[destination].",
            param="transfer_data[destination]",
            code="parameter_missing",
        )
    destination = account(transfer, "destination", "transfer_data[destination]")
    fee = get_int(params, "application_fee_amount", minimum=0)
    if fee is not None and destination is None:
        raise invalid_request(
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
            "direct payment (using an OAuth key or Stripe-Account header) or destination "
            "payment (using `transfer_data[destination]`).",
            param="application_fee_amount",
        )
    if fee is not None and fee > amount:
        raise invalid_request(
            "application_fee_amount cannot exceed amount.", param="application_fee_amount"
        )
    allowed = get_list(params, "allowed_payment_method_types") or None
    explicit = get_list(params, "payment_method_types")
    for name, types in (
        ("allowed_payment_method_types", allowed),
        ("payment_method_types", explicit),
    ):
        unsupported = [t for t in types or () if t not in PAYMENT_METHOD_TYPES]
        if unsupported:
            raise invalid_request(
                f"stripesim supports only {name}[]=card|us_bank_account (not {unsupported[0]}).",
                param=name,
            )
    automatic = get_dict(params, "automatic_payment_methods") or None
    capture_method = get_enum(params, "capture_method", CAPTURE_METHODS) or "automatic"
    types = _payment_method_types(explicit or allowed, automatic, currency, capture_method)
    return {
        "amount": amount,
        "application_fee_amount": fee,
        "automatic_payment_methods": automatic,
        "capture_method": capture_method,
        "currency": currency,
        "customer": customer,
        "description": get_str(params, "description"),
        "metadata": get_metadata(params),
        "on_behalf_of": account(params, "on_behalf_of", "on_behalf_of"),
        "setup_future_usage": get_enum(params, "setup_future_usage", FUTURE_USAGES),
        "allowed_payment_method_types": allowed,
        "payment_method_types": types,
        "receipt_email": get_str(params, "receipt_email"),
        "statement_descriptor": get_str(params, "statement_descriptor"),
        "statement_descriptor_suffix": get_str(params, "statement_descriptor_suffix"),
        "transfer_data": {"destination": destination} if destination else None,
        "transfer_group": get_str(params, "transfer_group"),
    }


def _payment_method_types(
    given: list[str] | None, automatic: dict[str, Any] | None, currency: str, capture_method: str
) -> list[str]:
    """The intent's ``payment_method_types``: as given (us_bank_account only in usd, and not
    with manual capture, as on Stripe), or what automatic payment methods enable."""
    if not given:
        enabled = automatic is not None and automatic.get("enabled") == "true"
        bank = enabled and currency == "usd" and capture_method != "manual"
        return ["card", "us_bank_account"] if bank else ["card"]
    if "us_bank_account" in given:
        check_bank_debit(currency, capture_method)
    return list(dict.fromkeys(given))


def check_bank_debit(currency: str, capture_method: str) -> None:
    """ACH Direct Debit takes usd only, and cannot be authorized now and captured later."""
    if capture_method == "manual":
        raise invalid_request(
            "The PaymentMethod type `us_bank_account` does not support `capture_method=manual`: "
            "a bank debit cannot be authorized and captured later. Use "
            "`capture_method=automatic`, or remove `us_bank_account` from "
            "`payment_method_types`.",
            param="capture_method",
        )
    if currency != "usd":
        raise invalid_request(
            f"The currency provided ({currency}) is invalid. Payments with us_bank_account "
            "support the following currencies: usd.",
            param="currency",
        )
