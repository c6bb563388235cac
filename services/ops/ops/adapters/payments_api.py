"""The payments service's staff read API (port 8001) as ops reads it, with ops's own service
credential: a payment, a booking's payments, refunds (docs/api.md, "Staff reads")."""

from __future__ import annotations

from ops.adapters.staff_apis import Json, StaffApi, seg


class PaymentsApi(StaffApi):
    """Roles admin, finance, trust, service; read only. 404 `payment_not_found`."""

    service = "payments"

    async def payment(self, payment_id: str) -> Json:
        return await self._doc("GET", f"/v1/payments/{seg(payment_id)}")

    async def payments(self, booking_id: str) -> list[Json]:
        """A booking's payments (and a group's, by the group id), oldest first."""
        return await self._list("GET", "/v1/payments", params={"booking_id": booking_id})

    async def refunds(
        self, *, payment_id: str | None = None, booking_id: str | None = None
    ) -> list[Json]:
        params = {"payment_id": payment_id, "booking_id": booking_id}
        return await self._list("GET", "/v1/refunds", params=params)
