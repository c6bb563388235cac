"""What every group of payments' use cases holds: the pool (a getter: it exists once the runtime
has started), the outbox its events go to, and the Stripe calls it makes."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import asyncpg

from eventkit.outbox import Outbox

StripeT = TypeVar("StripeT")


class StripeUseCases(Generic[StripeT]):
    """Use cases that call Stripe outside any transaction and record the result in one."""

    def __init__(self, db: Callable[[], asyncpg.Pool], outbox: Outbox, stripe: StripeT) -> None:
        self.db = db
        self.outbox = outbox
        self.stripe = stripe
