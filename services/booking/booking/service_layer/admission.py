"""Load shedding at the gateway: refuse a checkout rather than accept one that would wait.

Every accepted checkout holds a slot and waits for payments. When payments falls behind (a
burst above what the platform sustains), accepting more only lengthens every guest's wait. So
the gateway counts the checkouts in flight (payment requested, no answer yet, no step of the
guest's outstanding) and, past `limit` (`BOOKING_MAX_CHECKOUTS_IN_FLIGHT`), answers 503
`overloaded` with `Retry-After` before holding anything. The count is measured every
`BOOKING_ADMISSION_REFRESH_SECONDS` and raised by each checkout admitted in between, so a burst
cannot overshoot by more than one interval's admissions. A request let in that places nothing
(refused with 409 or 422, a failure) gives its place back when it ends: requests that hold
nothing cannot shed the checkouts that would. An idempotent replay (a retry under the key of
a checkout already answered) is not asked at all: it gets its stored answer even at the limit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from booking.adapters import repository
from booking.domain.errors import BookingError, ErrorCode
from eventkit.runtime import ServiceRuntime


@dataclass
class Admission:
    limit: int
    in_flight: int = 0

    def admit(self) -> None:
        """Raises 503 `overloaded` past the limit; otherwise counts the new checkout."""
        if self.in_flight >= self.limit:
            raise BookingError(
                ErrorCode.OVERLOADED,
                f"{self.in_flight} checkouts are waiting for payment (limit {self.limit}): "
                "try again shortly",
                retry_after=self.retry_after(),
            )
        self.in_flight += 1

    def release(self) -> None:
        """An admitted request placed nothing after all."""
        self.in_flight = max(0, self.in_flight - 1)

    def retry_after(self) -> int:
        """Seconds to wait: about two at the limit, more the further past it (at most 30)."""
        return max(1, min(30, math.ceil(2 * self.in_flight / max(1, self.limit))))

    async def measure(self, runtime: ServiceRuntime) -> None:
        async with runtime.db.acquire() as conn:
            self.in_flight = await repository.count_checkouts_in_flight(conn)
