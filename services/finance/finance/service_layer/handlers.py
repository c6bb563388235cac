"""Finance's reactions to payment facts: post balanced journals."""

from __future__ import annotations

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
)
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import JournalPostedV1, Posting
from marketplace_contracts.events.payments import PaymentCapturedV1, PaymentCapturedV2


class FinanceHandlers:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

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
        await self._post(conn, env, journal, event.booking_id)

    async def on_payment_captured_v2(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV2, _: object
    ) -> None:
        """v2: one split per booking the payment covers (one, or every leg of a group)."""
        try:
            journal = guest_payment_split(
                amount=event.amount,
                platform_fee=event.platform_fee,
                shares=[
                    Share(s.host_account_id, s.amount, s.platform_fee, s.host_amount)
                    for s in event.splits
                ],
                currency=event.currency,
            )
        except UnbalancedJournal as exc:
            raise PermanentError(f"payment {event.payment_id}: {exc}") from exc
        await self._post(conn, env, journal, event.booking_id)

    async def _post(
        self, conn: asyncpg.Connection, env: Envelope, journal: Journal, booking_id: str
    ) -> None:
        journal_id = await ledger_repository.post(
            conn, journal, source_event_id=env.event_id, booking_id=booking_id
        )
        if journal_id is None:
            return
        await self.outbox.add(
            conn,
            JournalPostedV1(
                journal_id=str(journal_id),
                kind=journal.kind,
                booking_id=booking_id,
                source_event_id=str(env.event_id),
                currency=journal.currency,
                postings=[Posting(account=a, amount=v) for a, v in journal.postings],
            ),
            key=str(journal_id),
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
        )
