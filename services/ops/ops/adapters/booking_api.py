"""The booking gateway's staff routes (port 8000) as ops acts through them: bookings, groups,
cancellation policies, claims. The gateway has no `service` role: this client carries the
signed-in staff member's own token (docs/security.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from ops.adapters.staff_apis import Json, StaffApi, idempotency_header, seg


class BookingApi(StaffApi):
    """The gateway (port 8000) as staff use it, with the staff member's own `admin` or
    `trust` token; a mutation may carry an `Idempotency-Key` (ops's mutation token)."""

    service = "booking"

    async def bookings(self, **filters: str | int | datetime | None) -> Json:
        """`GET /v1/bookings` with its filters (`status`, `listing_id`, `guest_id`, `host_id`,
        `from`, `to`, `cursor`, `limit`; admins see everyone's)."""
        return await self._doc("GET", "/v1/bookings", params=filters)

    async def booking(self, booking_id: str) -> Json:
        return await self._doc("GET", f"/v1/bookings/{seg(booking_id)}")

    async def group(self, group_id: str) -> Json:
        return await self._doc("GET", f"/v1/checkout-groups/{seg(group_id)}")

    async def groups(self, **filters: str | int | None) -> Json:
        """`GET /v1/checkout-groups` (`status`, `guest_id`, `cursor`, `limit`; staff see
        everyone's): `{"data": [...], "next_cursor"}`."""
        return await self._doc("GET", "/v1/checkout-groups", params=filters)

    async def cancellation_policies(self) -> list[Json]:
        """The newest version of every cancellation policy."""
        return await self._list("GET", "/v1/cancellation-policies")

    async def publish_cancellation_policy(
        self, policy: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> Json:
        """A policy (`name`, `bands`, ...) or its next version (admins)."""
        headers = idempotency_header(idempotency_key)
        return await self._doc(
            "POST", "/v1/cancellation-policies", headers=headers, json=dict(policy)
        )

    async def claim(self, claim_id: str) -> Json:
        return await self._doc("GET", f"/v1/claims/{seg(claim_id)}")

    async def booking_claims(self, booking_id: str) -> list[Json]:
        return await self._list("GET", f"/v1/bookings/{seg(booking_id)}/claims")

    async def decide_claim(
        self, claim_id: str, amount: int, note: str = "", *, idempotency_key: str | None = None
    ) -> Json:
        """An admin's decision on a contested or unanswered claim (0 dismisses it)."""
        path = f"/v1/claims/{seg(claim_id)}/decide"
        body = {"amount": amount, "note": note}
        return await self._doc("POST", path, headers=idempotency_header(idempotency_key), json=body)
