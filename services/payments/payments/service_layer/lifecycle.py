"""One state change of a payment, the same way everywhere: the `Payment` aggregate applies the
trigger (IllegalTransition when the table has no row for it), the repository writes the new
status as a compare-and-set on the status the caller read, and exactly the events the change
declares are published (`eventkit.publishing.publish`, one builder per event type), keyed by
the payment.

A compare-and-set that loses (the payment is no longer in that status: an earlier delivery
moved it) writes and publishes nothing and returns None; for a row the caller locked, it
cannot lose, and `apply_locked` fails loudly (LostUpdate) if it does.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from eventkit.publishing import Builders, Cause, publish
from eventkit.rows import expect_changed
from payments.domain.payment import Change, Payment, PaymentTrigger

if TYPE_CHECKING:
    from payments.service_layer.unit_of_work import UnitOfWork

__all__ = ["Builders", "Cause", "announce", "apply", "apply_locked", "change"]


async def change(
    uow: UnitOfWork, payment: Payment, trigger: PaymentTrigger, **columns: Any
) -> Change | None:
    """Apply `trigger` to `payment` (its status: the one the compare-and-set expects) and write
    it (`columns`: more to set); publishes nothing (for a use case that reads before it
    announces). None when the payment is no longer in that status."""
    from_status = payment.status
    done = payment.apply(trigger)
    moved = await uow.payments.transition(
        payment.payment_id, from_status, status=done.status, **columns
    )
    return done if moved else None


async def announce(
    uow: UnitOfWork, payment_id: str, done: Change, builders: Builders, cause: Cause
) -> None:
    """Publish the events `done` declares, keyed by the payment."""
    await publish(uow, done.emits, builders, key=payment_id, cause=cause)


async def apply(
    uow: UnitOfWork,
    payment: Payment,
    trigger: PaymentTrigger,
    builders: Builders,
    cause: Cause,
    **columns: Any,
) -> Change | None:
    """`change`, then (when it was written) `announce`: the state change and its events in this
    transaction."""
    done = await change(uow, payment, trigger, **columns)
    if done is not None:
        await announce(uow, payment.payment_id, done, builders, cause)
    return done


async def apply_locked(
    uow: UnitOfWork,
    row: Mapping[str, Any],
    trigger: PaymentTrigger,
    builders: Builders,
    cause: Cause,
    **columns: Any,
) -> Change:
    """`apply` to a payment `row` the caller locked (`FOR UPDATE`) in its transaction: nobody
    else can move it, so a compare-and-set that changes nothing is a bug (LostUpdate)."""
    done = await apply(uow, Payment.of(row), trigger, builders, cause, **columns)
    expect_changed(done is not None, f"payment {row['payment_id']}: {trigger}")
    assert done is not None
    return done
