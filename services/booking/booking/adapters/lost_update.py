"""A compare-and-set that had to change a row and changed none fails loudly (as payments does).

Used where the row was locked (FOR UPDATE) by the same transaction before the write: a
compare-and-set that then finds nothing to change is a bug, never a race to lose quietly."""

from __future__ import annotations


class LostUpdate(RuntimeError):
    """A compare-and-set that had to change a row changed none: the row was locked by this
    transaction, so someone else changing it meanwhile would be a bug, not a race to lose."""

    code = "lost_update"


def expect_changed(changed: bool, what: str) -> None:
    """Fail loudly (LostUpdate) when a write that cannot lose a race changed nothing."""
    if not changed:
        raise LostUpdate(f"{what}: no row changed")
