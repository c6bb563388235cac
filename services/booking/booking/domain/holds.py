"""How long a checkout holds its slot, and whose wait the hold measures.

The checkout hold (`BOOKING_HOLD_TTL_SECONDS`, 15 minutes) is the guest's time: to sign the
listing's documents, or to complete a 3-D Secure step. It is never the platform's time. When it
runs out while the booking is still `pending_payment` and no guest step is outstanding, the
payment request is in flight at payments (queued behind a backlog, or retrying Stripe after an
outage): expiring it then would turn the 202 the guest was given into a lost booking because
the platform was slow. So the hold is looked at again later instead, up to `platform_limit`
from the checkout (`BOOKING_PAYMENT_STEP_LIMIT_SECONDS`, 6 hours), a bound for a payment
request that was lost outright (dead-lettered and never replayed): then the hold runs out and
a late authorization is voided when it arrives.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from booking.domain.model import BookingStatus


@dataclass(frozen=True)
class HoldRule:
    recheck: timedelta = timedelta(seconds=30)
    platform_limit: timedelta = timedelta(hours=6)

    def extended_until(
        self, status: str, *, waiting_on_guest: bool, checkout_at: datetime, now: datetime
    ) -> datetime | None:
        """When to look at a run-out hold again, or None: it expires now."""
        if status != BookingStatus.PENDING_PAYMENT or waiting_on_guest:
            return None  # documents unsigned, or the guest's 3-D Secure step not done
        if now - checkout_at >= self.platform_limit:
            return None
        return min(now + self.recheck, checkout_at + self.platform_limit)

    def look_again_at(self, checkout: Mapping[str, Any]) -> datetime | None:
        """`extended_until` for a booking's or a group's row, now."""
        return self.extended_until(
            checkout["status"],
            waiting_on_guest=checkout["next_action"] is not None,
            checkout_at=checkout["created_at"],
            now=datetime.now(UTC),
        )
