"""Stripe resources the simulator implements; ``ROUTES`` is the ``/v1`` route table."""

from __future__ import annotations

from stripesim.resources import (
    accounts,
    balance_api,
    charges,
    customers,
    disputes,
    events,
    files,
    mandates,
    payment_intents,
    payment_methods,
    payouts,
    radar,
    refunds,
    setup_intents,
    transfers,
)
from stripesim.routing import Route

ROUTES: list[Route] = [
    *accounts.ROUTES,
    *customers.ROUTES,
    *payment_methods.ROUTES,
    *payment_intents.ROUTES,
    *setup_intents.ROUTES,
    *charges.ROUTES,
    *transfers.ROUTES,
    *refunds.ROUTES,
    *mandates.ROUTES,
    *disputes.ROUTES,
    *files.ROUTES,
    *radar.ROUTES,
    *events.ROUTES,
    *balance_api.ROUTES,
    *payouts.ROUTES,
]

__all__ = ["ROUTES"]
