"""Finance's reactions to payment and booking facts: post balanced journals.

Every handler runs in the transaction that claims the event in the inbox, and a journal is
unique per (source event, kind): a redelivered fact posts nothing.
"""

from __future__ import annotations

import functools
import inspect
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg

from eventkit.outbox import Outbox
from eventkit.routing import PermanentError
from finance.adapters import ledger_repository
from finance.domain.ledger import (
    Journal,
    Share,
    UnbalancedJournal,
    guest_payment_captured,
    guest_payment_split,
    guest_refund,
)
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import JournalPostedV1, Posting
from marketplace_contracts.events.payments import (
    PaymentCapturedV1,
    PaymentCapturedV2,
    RefundSucceededV1,
)

REFUND = "refund"
"""The refund method that moved money back out of the Stripe balance. The others (`void`,
`partial_capture`, `none`) never took that money in: nothing to reverse."""


@functools.cache
def _keywords(rule: Callable[..., Journal]) -> tuple[str, ...]:
    return tuple(inspect.signature(rule).parameters)


def journal_from(what: str, rule: Callable[..., Journal], fact: object, **given: Any) -> Journal:
    """`rule`'s journal of the fact's fields named as its keyword parameters (but those
    `given`). A fact whose journal cannot balance is a poison message: PermanentError (`what`
    names the fact), dead-lettered, not retried."""
    fields = {name: getattr(fact, name) for name in _keywords(rule) if name not in given}
    try:
        return rule(**fields, **given)
    except UnbalancedJournal as exc:
        raise PermanentError(f"{what}: {exc}") from exc


async def post_journal(
    conn: asyncpg.Connection,
    outbox: Outbox,
    env: Envelope,
    journal: Journal,
    booking_id: str | None,
    stripe_object_id: str | None = None,
    *,
    source: uuid.UUID | None = None,
) -> bool:
    """Post the journal once per source (the fact's event, or `source`: what it books) and
    kind, and announce it as caused by the fact; False when it was posted before."""
    return await book(
        conn,
        outbox,
        journal,
        source or env.event_id,
        booking_id,
        stripe_object_id,
        correlation_id=env.correlation_id,
        causation_id=env.event_id,
    )


async def book(
    conn: asyncpg.Connection,
    outbox: Outbox,
    journal: Journal,
    source: uuid.UUID,
    booking_id: str | None,
    stripe_object_id: str | None = None,
    *,
    correlation_id: uuid.UUID,
    causation_id: uuid.UUID | None = None,
) -> bool:
    """Post the journal once per (source, kind) and announce it (`finance.journal_posted`);
    False when it was posted before."""
    journal_id = await ledger_repository.post(
        conn,
        journal,
        source_event_id=source,
        booking_id=booking_id,
        stripe_object_id=stripe_object_id,
    )
    if journal_id is None:
        return False
    await outbox.add(
        conn,
        JournalPostedV1(
            journal_id=str(journal_id),
            kind=journal.kind,
            booking_id=booking_id,
            source_event_id=str(source),
            currency=journal.currency,
            postings=[Posting(account=a, amount=v) for a, v in journal.postings],
        ),
        key=str(journal_id),
        correlation_id=correlation_id,
        causation_id=causation_id,
    )
    return True


class FinanceHandlers:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def _post_capture(
        self,
        conn: asyncpg.Connection,
        env: Envelope,
        journal: Journal,
        booking_id: str,
        charge_id: str | None,
    ) -> None:
        """Post a capture's journal, once per charge. A capture whose charge is booked already
        for another booking is not payments' own fact (a forged or corrupted event): refused to
        the dead letters, before the payable and the payout entry the rest of its chain would
        make for money this booking never paid."""
        if await post_journal(conn, self.outbox, env, journal, booking_id, charge_id):
            return
        other = charge_id and await ledger_repository.booked_for(conn, journal.kind, charge_id)
        if other and other != booking_id:
            raise PermanentError(
                f"conflict: charge {charge_id} is booked already for booking {other}, "
                f"not for {booking_id}"
            )

    async def on_payment_captured(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV1, _: object
    ) -> None:
        """v1: a payment for one booking, destination-charged to its host (events produced
        before v2 and still on the topic)."""
        journal = guest_payment_captured(
            amount=event.amount,
            platform_fee=event.platform_fee,
            host_account_id=event.host_account_id,
            currency=event.currency,
        )
        await self._post_capture(conn, env, journal, event.booking_id, event.charge_id)

    async def on_payment_captured_v2(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV2, _: object
    ) -> None:
        """v2: one split per booking the payment covers (one, or every leg of a group); the
        tax in each split's fee is owed, not earned."""
        shares = [
            Share(s.host_account_id, s.amount, s.platform_fee, s.host_amount, s.tax)
            for s in event.splits
        ]
        what = f"payment {event.payment_id}"
        journal = journal_from(what, guest_payment_split, event, shares=shares)
        await self._post_capture(conn, env, journal, event.booking_id, event.charge_id)

    async def on_refund_succeeded(
        self, conn: asyncpg.Connection, env: Envelope, event: RefundSucceededV1, _: object
    ) -> None:
        """A Stripe refund reverses what the capture booked for the refunded part. A void, a
        smaller capture (its payment_captured books what was taken) or a refund of nothing
        posts nothing."""
        if event.method != REFUND or event.amount == 0:
            return
        journal = journal_from(f"refund {event.refund_id}", guest_refund, event)
        await post_journal(
            conn, self.outbox, env, journal, event.booking_id, event.stripe_refund_id
        )
