"""US bank accounts (PaymentMethod ``type=us_bank_account``, ACH Direct Debit) and Stripe's
test bank accounts.

Routing number ``110000000`` (STRIPE TEST BANK) with the account numbers of Stripe's docs, or
their test PaymentMethod ids (``pm_usBankAccount_*``): the debit succeeds, is returned by the
bank with a failure code when it settles, succeeds and is then disputed, or stays processing.
Any other valid account number succeeds.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any

from stripesim.errors import invalid_request, parameter_missing
from stripesim.forms import Params, check_known, get_enum, get_str, require_str
from stripesim.state import Ctx

ROUTING_NUMBER = "110000000"
BANK_NAME = "STRIPE TEST BANK"
HOLDER_TYPES = ("individual", "company")
ACCOUNT_TYPES = ("checking", "savings")
# What the bank answers when it returns a debit (charge.failure_message).
FAILURE_MESSAGES = {
    "insufficient_funds": "The customer's account has insufficient funds to cover this payment.",
    "account_closed": "The customer's bank account has been closed.",
    "no_account": "The customer's bank account could not be located.",
    "debit_not_authorized": "The customer has notified their bank that this payment was "
    "unauthorized.",
    "invalid_currency": "The bank was unable to process this payment because of its currency.",
    "generic_could_not_process": "This payment could not be processed.",
}
# Failures after which the bank account cannot be debited again: the mandate goes inactive.
REVOKING_FAILURES = frozenset({"account_closed", "no_account", "debit_not_authorized"})


@dataclass(frozen=True)
class TestBankAccount:
    account_number: str
    failure_code: str | None = None  # the bank returns the debit with this code
    disputed: bool = False  # the debit succeeds, then the customer disputes it
    settles: bool = True  # False: the debit stays processing indefinitely

    @property
    def last4(self) -> str:
        return self.account_number[-4:]


_SUCCESS = TestBankAccount("000123456789")
ACCOUNTS: dict[str, TestBankAccount] = {
    a.account_number: a
    for a in (
        _SUCCESS,
        TestBankAccount("000111111113", failure_code="account_closed"),
        TestBankAccount("000111111116", failure_code="no_account"),
        TestBankAccount("000222222227", failure_code="insufficient_funds"),
        TestBankAccount("000333333335", failure_code="debit_not_authorized"),
        TestBankAccount("000444444440", failure_code="invalid_currency"),
        TestBankAccount("000555555559", disputed=True),
        TestBankAccount("000000000009", settles=False),
    )
}
# Stripe's test PaymentMethod ids for them.
MAGIC_PAYMENT_METHODS = {
    "pm_usBankAccount_success": "000123456789",
    "pm_usBankAccount_accountClosed": "000111111113",
    "pm_usBankAccount_noAccount": "000111111116",
    "pm_usBankAccount_insufficientFunds": "000222222227",
    "pm_usBankAccount_debitNotAuthorized": "000333333335",
    "pm_usBankAccount_invalidCurrency": "000444444440",
    "pm_usBankAccount_dispute": "000555555559",
    "pm_usBankAccount_processing": "000000000009",
}


def account_of(ctx: Ctx, pm_id: str) -> TestBankAccount:
    number = ctx.state.private[pm_id]["bank_account"]
    return ACCOUNTS.get(number) or TestBankAccount(number)


def _valid_routing_number(number: str) -> bool:
    """Nine digits with the ABA checksum."""
    if not re.fullmatch(r"\d{9}", number):
        return False
    digits = [int(c) for c in number]
    weights = (3, 7, 1) * 3
    return sum(d * w for d, w in zip(digits, weights, strict=True)) % 10 == 0


def materialize(
    ctx: Ctx,
    account_number: str,
    *,
    routing_number: str = ROUTING_NUMBER,
    holder_type: str = "individual",
    account_type: str = "checking",
    billing_details: dict[str, Any] | None = None,
    metadata: dict[str, str] | None = None,
) -> dict[str, Any]:
    pm = ctx.state.base_object("payment_method", "pm_")
    details = {"address": None, "email": None, "name": None, "phone": None}
    details.update(billing_details or {})
    fingerprint = hashlib.sha256(f"{routing_number}:{account_number}".encode()).hexdigest()
    pm.update(
        {
            "allow_redisplay": "unspecified",
            "billing_details": details,
            "customer": None,
            "metadata": metadata or {},
            "type": "us_bank_account",
            "us_bank_account": {
                "account_holder_type": holder_type,
                "account_type": account_type,
                "bank_name": BANK_NAME,
                "financial_connections_account": None,
                "fingerprint": fingerprint[:16],
                "last4": account_number[-4:],
                "networks": {"preferred": "ach", "supported": ["ach"]},
                "routing_number": routing_number,
                "status_details": {},
            },
        }
    )
    ctx.state.put(pm)
    ctx.state.private[pm["id"]] = {"bank_account": account_number}  # JSON-safe
    return pm


def from_magic_id(ctx: Ctx, pm_id: str) -> dict[str, Any] | None:
    """A fresh PaymentMethod for a ``pm_usBankAccount_*`` test id (None for other ids)."""
    number = MAGIC_PAYMENT_METHODS.get(pm_id)
    if number is None:
        return None
    return materialize(ctx, number, billing_details={"name": "Jenny Rosen"})


def create_from_params(ctx: Ctx, params: Params, metadata: dict[str, str]) -> dict[str, Any]:
    """``POST /v1/payment_methods`` with ``type=us_bank_account``."""
    bank = params.get("us_bank_account")
    if not isinstance(bank, dict) or not bank:
        raise parameter_missing("us_bank_account")
    check_known(
        bank,
        ["account_number", "routing_number", "account_holder_type", "account_type"],
        prefix="us_bank_account",
    )
    billing = params.get("billing_details")
    if not isinstance(billing, dict) or get_str(billing, "name") is None:
        raise parameter_missing("billing_details[name]")
    number = require_str(bank, "account_number")
    routing = require_str(bank, "routing_number")
    if not re.fullmatch(r"\d{4,17}", number):
        raise invalid_request(
            "Invalid account number: must contain only digits, and be at most 17 digits long.",
            param="us_bank_account[account_number]",
        )
    if not _valid_routing_number(routing):
        raise invalid_request(
            f"Routing number {routing} is invalid.", param="us_bank_account[routing_number]"
        )
    return materialize(
        ctx,
        number,
        routing_number=routing,
        holder_type=get_enum(bank, "account_holder_type", HOLDER_TYPES) or "individual",
        account_type=get_enum(bank, "account_type", ACCOUNT_TYPES) or "checking",
        billing_details=billing,
        metadata=metadata,
    )
