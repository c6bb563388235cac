"""Stripe resources the simulator implements; ``ROUTES`` is the ``/v1`` route table."""

from __future__ import annotations

from stripesim.resources import (
    accounts,
    charges,
    customers,
    events,
    payment_intents,
    payment_methods,
    refunds,
    setup_intents,
)
from stripesim.routing import Route

ROUTES: list[Route] = [
    *accounts.ROUTES,
    *customers.ROUTES,
    *payment_methods.ROUTES,
    *payment_intents.ROUTES,
    *setup_intents.ROUTES,
    *charges.ROUTES,
    *refunds.ROUTES,
    *events.ROUTES,
]

__all__ = ["ROUTES"]
