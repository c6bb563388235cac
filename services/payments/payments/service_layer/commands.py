"""Booking's requests, as payments' domain commands: the only place a wire contract becomes a
domain object (the domain imports no contracts; an import-linter contract checks it).

Each function copies the fields the domain needs and nothing else, so a new optional field on
a contract changes nothing here until the domain wants it.
"""

from __future__ import annotations

from marketplace_contracts.events.booking import (
    ChargeRequestedV1,
    CheckoutRequestedV1,
    GroupCheckoutRequestedV1,
    RefundRequest,
)
from payments.domain.charges import ChargeRequest
from payments.domain.checkout import Checkout, Split
from payments.domain.ids import checkout_payment_id
from payments.domain.refunds import OTHER, RefundOrder


def booking_checkout(event: CheckoutRequestedV1) -> Checkout:
    """A single booking's checkout. Raises InvalidCheckout."""
    return Checkout(
        payment_id=checkout_payment_id(event.booking_id),
        booking_id=event.booking_id,
        group_id=None,
        guest_id=event.guest_id,
        amount=event.amount,
        currency=event.currency,
        platform_fee=event.platform_fee,
        payment_method=event.payment_method,
        save_for_later=event.save_for_later,
        host_account_id=event.host_account_id,
        tax=event.tax,
        deposit_amount=event.deposit_amount,
        payment_method_type=event.payment_method_type,
        mandate=(event.mandate_ip_address, event.mandate_user_agent)
        if event.mandate_ip_address and event.mandate_user_agent
        else None,
    )


def group_checkout(event: GroupCheckoutRequestedV1) -> Checkout:
    """A Linked Booking Group's one payment. Raises InvalidCheckout (legs that do not add up)."""
    return Checkout.for_group(
        group_id=event.group_id,
        guest_id=event.guest_id,
        amount=event.amount,
        currency=event.currency,
        platform_fee=event.platform_fee,
        payment_method=event.payment_method,
        save_for_later=event.save_for_later,
        splits=tuple(
            Split(leg.booking_id, leg.host_account_id, leg.amount, leg.platform_fee, leg.tax)
            for leg in event.legs
        ),
    )


def charge_request(event: ChargeRequestedV1) -> ChargeRequest:
    return ChargeRequest(
        charge_request_id=event.charge_request_id,
        booking_id=event.booking_id,
        group_id=event.group_id,
        payment_id=event.payment_id,
        amount=event.amount,
        currency=event.currency,
        platform_fee=event.platform_fee,
        tax=event.tax,
        host_account_id=event.host_account_id,
        reason=event.reason,
        subject_id=event.subject_id,
    )


def refund_order(
    booking_id: str,
    group_id: str | None,
    request: RefundRequest,
    *,
    cause: str = OTHER,
    subject_id: str | None = None,
) -> RefundOrder:
    """One refund a cancellation or an amendment asks for, with what caused it."""
    return RefundOrder(
        refund_id=request.refund_id,
        payment_id=request.payment_id,
        booking_id=booking_id,
        group_id=group_id,
        amount=request.amount,
        currency=request.currency,
        platform_fee=request.platform_fee,
        host_amount=request.host_amount,
        tax=request.tax,
        host_account_id=request.host_account_id,
        lines=tuple((line.code, line.amount) for line in request.lines),
        cause=cause,
        subject_id=subject_id,
    )
