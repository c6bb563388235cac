"""Card disputes as payments keeps them: ids, and how a dispute's status may move.

Stripe does not order its webhooks, and may send one more than once: payments keeps each
dispute's status and takes a reported status only when it is further along (`STATUS_RANK`).
An inquiry (`warning_*`) may become a chargeback (`needs_response`); a closed dispute (`won`,
`lost`, `warning_closed`) never changes again. Whatever webhook comes first opens the case, with
the status it started in (`opening_status`); the facts that follow take it from there.
"""

from __future__ import annotations

from typing import Final

DISPUTE_PREFIX: Final = "dsp_"
STRIPE_PREFIX: Final = "du_"
RESPONDABLE: Final = frozenset({"needs_response", "warning_needs_response"})
CLOSED: Final = frozenset({"won", "lost", "warning_closed"})
# Open and the charge cannot be refunded (Stripe answers `charge_disputed`); `lost`: charged
# back, the money is with the guest already. An inquiry leaves the charge refundable.
REFUND_BLOCKING: Final = ("needs_response", "under_review", "lost")
STATUS_RANK: Final = {
    "warning_needs_response": 0,
    "warning_under_review": 1,
    "needs_response": 2,
    "under_review": 3,
    "warning_closed": 4,
    "won": 4,
    "lost": 4,
}


def dispute_id(processor_dispute_id: str) -> str:
    """Ours, from Stripe's: the same for every webhook of the dispute, in any order."""
    return DISPUTE_PREFIX + processor_dispute_id.removeprefix(STRIPE_PREFIX)


def opening_status(status: str) -> str:
    """The status the dispute was opened in, as far as a later report can tell: an inquiry
    until it shows a chargeback's status (an escalated inquiry is reported as a chargeback)."""
    return "warning_needs_response" if status.startswith("warning_") else "needs_response"


def moves_forward(current: str, reported: str) -> bool:
    """True when `reported` is further along than `current` (a closed dispute stays closed)."""
    if current in CLOSED or reported not in STATUS_RANK:
        return False
    return STATUS_RANK[reported] > STATUS_RANK.get(current, -1)
