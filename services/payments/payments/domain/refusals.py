"""A request payments will not carry out as asked: a machine-readable `code` (what the answer
event carries) and a `message`. No retry helps; each kind is answered in its own way (a refund
recorded failed, a charge's payment_failed, a transfer_failed, a dispute action's failure)."""

from __future__ import annotations

from typing import Final

PAYMENT_NOT_FOUND: Final = "payment_not_found"
"""The request names a payment payments has no record of."""


class Refused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
