"""Finance's reactions to payment facts: post balanced journals."""

from __future__ import annotations

import asyncpg

from eventkit.outbox import Outbox
from finance.adapters import ledger_repository
from finance.domain.ledger import guest_payment_captured
from marketplace_contracts import Envelope
from marketplace_contracts.events.finance import JournalPostedV1, Posting
from marketplace_contracts.events.payments import PaymentCapturedV1


class FinanceHandlers:
    def __init__(self, outbox: Outbox) -> None:
        self.outbox = outbox

    async def on_payment_captured(
        self, conn: asyncpg.Connection, env: Envelope, event: PaymentCapturedV1, _: object
    ) -> None:
        journal = guest_payment_captured(
            amount=event.amount,
            platform_fee=event.platform_fee,
            host_account_id=event.host_account_id,
            currency=event.currency,
        )
        journal_id = await ledger_repository.post(
            conn, journal, source_event_id=env.event_id, booking_id=event.booking_id
        )
        if journal_id is None:
            return
        await self.outbox.add(
            conn,
            JournalPostedV1(
                journal_id=str(journal_id),
                kind=journal.kind,
                booking_id=event.booking_id,
                source_event_id=str(env.event_id),
                currency=journal.currency,
                postings=[Posting(account=a, amount=v) for a, v in journal.postings],
            ),
            key=str(journal_id),
            correlation_id=env.correlation_id,
            causation_id=env.event_id,
        )
