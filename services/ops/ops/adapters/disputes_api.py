"""The disputes service's staff API (port 8003) as ops acts through it: the queue, a case, its
evidence, submit, accept, host fault (docs/disputes.md)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from ops.adapters.staff_apis import Json, StaffApi, seg


class DisputesApi(StaffApi):
    """The disputes API (port 8003): roles trust, admin, service."""

    service = "disputes"

    async def queue(self, **filters: str | int | datetime | None) -> Json:
        """`GET /v1/disputes` (`status`, `reason`, `host_account_id`, `due_before`, `cursor`,
        `limit` 50): `{"data": [case summaries], "next_cursor"}`, soonest `due_by` first."""
        return await self._page("/v1/disputes", filters, limit=50)

    async def case(self, dispute_id: str) -> Json:
        """The case with its evidence, history, money and submissions."""
        return await self._doc("GET", f"/v1/disputes/{seg(dispute_id)}")

    async def summary_pdf(self, dispute_id: str) -> bytes:
        return (
            await self._call("GET", f"/v1/disputes/{seg(dispute_id)}/evidence/summary.pdf")
        ).content

    async def edit_evidence(
        self, dispute_id: str, text: Mapping[str, str | None], *, acting_for: str
    ) -> Json:
        """Set (a string) or remove (None) evidence text fields: the case."""
        path = f"/v1/disputes/{seg(dispute_id)}/evidence"
        return await self._doc("PATCH", path, acting_for=acting_for, json={"text": dict(text)})

    async def upload_evidence(
        self,
        dispute_id: str,
        field: str,
        filename: str,
        content: bytes,
        content_type: str,
        *,
        acting_for: str,
    ) -> Json:
        """A file for an evidence field (`receipt`, `service_documentation`, ...)."""
        path = f"/v1/disputes/{seg(dispute_id)}/evidence/files"
        files = {"file": (filename, content, content_type)}
        return await self._doc(
            "POST", path, acting_for=acting_for, data={"field": field}, files=files
        )

    async def submit(self, dispute_id: str, *, acting_for: str) -> Json:
        """Submit the evidence: the case `submitting`, with the request's id."""
        return await self._doc(
            "POST", f"/v1/disputes/{seg(dispute_id)}/submit", acting_for=acting_for
        )

    async def accept(self, dispute_id: str, *, acting_for: str) -> Json:
        """Concede the dispute: the case `accepting`."""
        return await self._doc(
            "POST", f"/v1/disputes/{seg(dispute_id)}/accept", acting_for=acting_for
        )

    async def host_fault(
        self, dispute_id: str, at_fault: bool, note: str, *, acting_for: str
    ) -> Json:
        path = f"/v1/disputes/{seg(dispute_id)}/host-fault"
        body = {"at_fault": at_fault, "note": note}
        return await self._doc("POST", path, acting_for=acting_for, json=body)

    async def charge(self, payment_id: str) -> Json:
        return await self._doc("GET", f"/v1/charges/{seg(payment_id)}")
