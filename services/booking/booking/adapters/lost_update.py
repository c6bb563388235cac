"""A compare-and-set that had to change a row and changed none fails loudly (as payments does).

Every amendment write happens with the booking and the amendment locked by the same
transaction, so a compare-and-set that finds nothing to change is a bug, never a race to lose
quietly."""

from __future__ import annotations


class LostUpdate(RuntimeError):
    code = "lost_update"


def expect_changed(changed: bool, what: str) -> None:
    """Raise LostUpdate when a write that cannot lose a race changed nothing."""
    if not changed:
        raise LostUpdate(f"{what}: no row changed")
