"""Stateful local Stripe simulator (dev/test only). See ``create_app``."""

from stripesim.app import DEFAULT_WEBHOOK_SECRET, create_app

__all__ = ["DEFAULT_WEBHOOK_SECRET", "create_app"]
