"""The staff APIs as the GraphQL resolvers hold them: finance, disputes and payments with ops's
own service credential (one client each, built once), the gateway with the caller's own token.

Built by `build`, they all share one connection pool (`httpx.AsyncHTTPTransport`), so a
gateway client per request is only a header, not a new pool. Tests build the dataclass
directly, with a transport per in-process app (`httpx.ASGITransport`).
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from ops.adapters.booking_api import BookingApi
from ops.adapters.disputes_api import DisputesApi
from ops.adapters.finance_api import FinanceApi
from ops.adapters.payments_api import PaymentsApi
from ops.adapters.staff_apis import ServiceCredential


@dataclass
class StaffApis:
    finance: FinanceApi
    disputes: DisputesApi
    booking_url: str
    timeout: float
    booking_transport: httpx.AsyncBaseTransport
    payments: PaymentsApi

    @classmethod
    def build(
        cls,
        *,
        secret: str,
        booking_url: str,
        finance_url: str,
        disputes_url: str,
        timeout: float,
        payments_url: str = "http://127.0.0.1:8001",
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> StaffApis:
        shared = transport or httpx.AsyncHTTPTransport()
        credential = ServiceCredential(secret)
        return cls(
            finance=FinanceApi(finance_url, credential, timeout=timeout, transport=shared),
            disputes=DisputesApi(disputes_url, credential, timeout=timeout, transport=shared),
            booking_url=booking_url,
            timeout=timeout,
            booking_transport=shared,
            payments=PaymentsApi(payments_url, credential, timeout=timeout, transport=shared),
        )

    def booking_as(self, token: str) -> BookingApi:
        """The gateway as this staff member (it has no `service` role)."""
        return BookingApi(
            self.booking_url, lambda: token, timeout=self.timeout, transport=self.booking_transport
        )

    async def aclose(self) -> None:
        # Closing a pool twice (when the three share it) is harmless.
        await self.finance.aclose()
        await self.disputes.aclose()
        await self.payments.aclose()
        await self.booking_transport.aclose()
