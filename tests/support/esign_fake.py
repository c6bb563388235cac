"""An e-sign provider stand-in for tests that deliver envelope outcomes by hand: it answers the
audit trail only (what `Documents` reads when an envelope is signed)."""

from __future__ import annotations

from booking.adapters.esign.base import ESignError, ESignErrorCode, SignatureAudit


class TrailOnlyProvider:
    def __init__(self, trails: dict[str, list[SignatureAudit]] | None = None) -> None:
        self.name = "builtin"
        self.trails = trails if trails is not None else {}
        self.reads: list[str] = []

    async def audit_trail(self, envelope_id: str) -> list[SignatureAudit]:
        self.reads.append(envelope_id)
        if envelope_id not in self.trails:  # as a provider that keeps none for it says
            raise ESignError(ESignErrorCode.NOT_SIGNED, f"no trail for {envelope_id}")
        return self.trails[envelope_id]
