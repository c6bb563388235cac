"""A compare-and-set that had to change a row and changed none fails loudly (as in payments)."""

from __future__ import annotations


class LostUpdate(RuntimeError):
    """A compare-and-set that had to change a row changed none: the row was locked by this
    transaction, so someone else changing it meanwhile would be a bug, not a race to lose."""

    code = "lost_update"


def expect_changed(changed: bool, what: str) -> None:
    """Fail loudly (LostUpdate) when a write that cannot lose a race changed nothing."""
    if not changed:
        raise LostUpdate(f"{what}: no row changed")
