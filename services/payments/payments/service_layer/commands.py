"""Booking's requests, as payments' domain commands: the only place a wire contract becomes a
domain object (the domain imports no contracts; an import-linter contract checks it).

Each function copies the fields the domain needs and nothing else (`from_attrs`: the domain
object's fields, by name, from the contract; the others given), so a new optional field on a
contract changes nothing here until the domain wants it.
"""

from __future__ import annotations

from domainkit.rows import from_attrs
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
    return from_attrs(
        Checkout,
        event,
        payment_id=checkout_payment_id(event.booking_id),
        group_id=None,
        splits=(),
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
        splits=tuple(from_attrs(Split, leg) for leg in event.legs),
    )


def charge_request(event: ChargeRequestedV1) -> ChargeRequest:
    return from_attrs(ChargeRequest, event)


def refund_order(
    booking_id: str,
    group_id: str | None,
    request: RefundRequest,
    *,
    cause: str = OTHER,
    subject_id: str | None = None,
) -> RefundOrder:
    """One refund a cancellation or an amendment asks for, with what caused it."""
    return from_attrs(
        RefundOrder,
        request,
        booking_id=booking_id,
        group_id=group_id,
        lines=tuple((line.code, line.amount) for line in request.lines),
        cause=cause,
        subject_id=subject_id,
        reopened=0,  # a request: never reopened yet
    )
