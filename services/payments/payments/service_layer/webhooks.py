"""Stripe webhooks: verify, store in the inbox table, answer fast; a worker applies them later
(the intents' events their payments have passed already, a batch in one statement).

Besides PaymentIntents, disputes (a card's: `dispute_intake`; a bank debit's return:
`bank_debits`), early fraud warnings and host accounts, the platform's own payouts to its bank
(`payout.*` without an `account`) are announced as `payments.platform_payout_updated`.
Only the allow-listed event types are stored (others are answered 200 and dropped, so Stripe
stops resending them). Stripe does not order its events: a PaymentIntent's status only moves
forward along its rank, so an older event arriving after a newer one changes nothing. An event
that fails to apply is retried each round and set aside after `MAX_APPLY_ATTEMPTS` (`failed_at`,
its last error kept), so it never holds up the others; a bank debit's return that arrives
before its settlement waits for it, uncounted. Ops can have a stored event applied again
(`python -m payments webhook-replay <event id>`).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from domainkit.ids import new_uuid
from eventkit import periodic, unit_of_work
from eventkit.outages import is_conflict, is_outage
from eventkit.outbox import Outbox
from eventkit.rows import expect_changed
from eventkit.runtime import ServiceRuntime
from marketplace_contracts.events.payments import HostAccountUpdatedV1, PlatformPayoutUpdatedV1
from payments import metrics
from payments.adapters.stripe_gateway import WebhookSignatureError, verify_webhook
from payments.adapters.webhook_repository import WebhooksRepository
from payments.service_layer import bank_debit_webhooks, bank_debits, card_actions, dispute_intake
from payments.service_layer.unit_of_work import UnitOfWork

log = logging.getLogger("payments.webhooks")
_OUTBOX = Outbox("payments", producer="payments")
# A stored event that fails this many times is set aside until ops replay it.
MAX_APPLY_ATTEMPTS = 5


ALLOWED_TYPES = frozenset(
    {
        "payment_intent.amount_capturable_updated",
        "payment_intent.canceled",
        "payment_intent.payment_failed",
        "payment_intent.processing",
        "payment_intent.requires_action",
        "payment_intent.succeeded",
        "setup_intent.succeeded",
        "setup_intent.setup_failed",
        "charge.refunded",
        "charge.refund.updated",
        "charge.dispute.created",
        "charge.dispute.updated",
        "charge.dispute.funds_withdrawn",
        "charge.dispute.funds_reinstated",
        "charge.dispute.closed",
        "radar.early_fraud_warning.created",
        "account.updated",
        "payout.created",
        "payout.updated",
        "payout.paid",
        "payout.failed",
        "payout.canceled",
    }
)
# How far along a PaymentIntent is; a webhook never moves one backwards.
STATUS_RANK = {
    "requires_payment_method": 0,
    "requires_confirmation": 1,
    "requires_action": 2,
    "processing": 3,
    "requires_capture": 4,
    "succeeded": 5,
    "canceled": 5,
}


class WebhookRejected(ValueError):
    """Not a correctly signed, fresh Stripe event; `code` says why (webhook_signature_invalid)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def verified_event(payload: bytes, signature: str, secret: str) -> dict[str, Any]:
    """The event of a webhook request whose Stripe-Signature holds; raises WebhookRejected."""
    try:
        return verify_webhook(payload, signature, secret)
    except WebhookSignatureError as exc:
        raise WebhookRejected(exc.code, exc.message) from exc


def moves_forward(current: str | None, new: str) -> bool:
    """True when `new` is a later status than `current` (unknown statuses never win)."""
    if new not in STATUS_RANK:
        return False
    return current is None or STATUS_RANK[new] > STATUS_RANK.get(current, -1)


async def store_event(conn: asyncpg.Connection, event: dict[str, Any]) -> bool:
    """True if new; a redelivered Stripe event hits UNIQUE(stripe_event_id) and is a no-op."""
    return await WebhooksRepository(conn).store_event(event)


async def apply_pending(
    conn: asyncpg.Connection,
    limit: int = 100,
    *,
    bank_debit_return_window: timedelta = bank_debits.DEFAULT_RETURN_WINDOW,
) -> int:
    """Reconcile our payment rows with Stripe's view of their PaymentIntents (and settle,
    or record the return of, bank debits: `bank_debits`).

    First the intents' events their payments have passed, settled in one statement (applying
    them would change nothing); then one transaction per other stored event: applying one
    locks its payment row, and the consumer's transactions for that payment (recording the
    authorization, the capture) wait for it. A batch of events in one transaction held up to a
    hundred payments' rows for its whole length, which under load made every authorization and
    capture wait about a second."""
    applied = 0
    # The usual case first: an intent's event whose status payments' own API call recorded
    # already changes nothing, and a whole batch of them is settled in one statement.
    for event_type, created in await WebhooksRepository(conn).settle_passed(STATUS_RANK, limit):
        _observe_lag(event_type, created)
        applied += 1
    # One at a time, in order of arrival: the events of one payment must not run concurrently.
    for event_id in await WebhooksRepository(conn).pending_event_ids(limit):
        try:
            applied += await _apply_one(conn, event_id, bank_debit_return_window)
        except bank_debit_webhooks.SettlementPending as exc:
            log.info("webhook %s waits (not a failure): %s", event_id, exc)
        except Exception as exc:
            if is_outage(exc) or is_conflict(exc):
                raise  # the database is away, or a lock conflict: the next round retries
            await _failed(conn, event_id, exc)
    return applied


async def _apply_one(conn: asyncpg.Connection, event_id: int, return_window: timedelta) -> int:
    async with unit_of_work.transaction(conn):
        uow = UnitOfWork(conn, _OUTBOX)
        # Marked processed as it is claimed: if applying it fails, the transaction rolls the
        # mark back with everything else.
        claimed = await uow.webhooks.take_event(event_id)
        if claimed is None:
            return 0  # another worker has it, or had it
        event_type, payload = claimed
        await apply_event(uow, payload, return_window)
        _observe_lag(event_type, payload.get("created"))
        return 1


async def _failed(conn: asyncpg.Connection, event_id: int, exc: Exception) -> None:
    """A stored event that could not be applied is counted, and after MAX_APPLY_ATTEMPTS set
    aside for ops (`failed_at`, the `payments_webhooks_failed` gauge), so that it never holds
    up the events behind it."""
    error = f"{type(exc).__name__}: {exc}"
    if await WebhooksRepository(conn).record_failure(event_id, error, MAX_APPLY_ATTEMPTS):
        log.error("webhook %s set aside after %d attempts: %s", event_id, MAX_APPLY_ATTEMPTS, error)
    else:
        log.warning("webhook %s not applied, retried next round: %s", event_id, error)


def _observe_lag(event_type: str, created: object) -> None:
    """Webhook lag: the event's Stripe `created` (whole seconds) to applied. A simulator whose
    clock runs ahead of ours gives a negative figure, counted as 0."""
    if isinstance(created, int | float):
        lag = datetime.now(UTC).timestamp() - created
        metrics.webhook_applied(event_type, max(0.0, lag))


async def apply_event(uow: UnitOfWork, event: dict[str, Any], return_window: timedelta) -> None:
    """One stored Stripe event, applied in the worker's transaction (`uow`)."""
    obj = event["data"]["object"]
    if obj.get("object") == "payment_intent":
        # The intent's payments, locked once: every handler below reads these rows.
        payments = await uow.payments.lock_by_intent(obj["id"])
        await _apply_intent(uow, event, payments)
        await card_actions.apply_intent_event(uow, event, payments)
        await bank_debit_webhooks.apply_intent_event(uow, event, payments, return_window)
    elif obj.get("object") == "dispute":
        await bank_debit_webhooks.apply_dispute(uow, event)
        await dispute_intake.apply_dispute_event(uow, event)
    elif obj.get("object") == "radar.early_fraud_warning":
        await dispute_intake.apply_fraud_warning(uow, event)
    elif obj.get("object") == "account":
        await _apply_account(uow, event, obj)
    elif obj.get("object") == "payout" and not event.get("account"):
        await _apply_platform_payout(uow, event, obj)


async def _apply_intent(
    uow: UnitOfWork, event: dict[str, Any], payments: Sequence[Mapping[str, Any]]
) -> None:
    """The intent's Stripe status on its payments (`payments`, locked by the caller), when
    the webhook's is newer than what they hold."""
    event_type, intent = event["type"], event["data"]["object"]
    if not payments:
        log.debug("webhook %s for unknown intent %s", event_type, intent["id"])
    for payment in payments:
        if not moves_forward(payment["stripe_status"], intent["status"]):
            log.debug(  # the usual case: our own API call saw it first
                "webhook %s: intent %s is %s already; %s is older, ignored",
                event_type,
                intent["id"],
                payment["stripe_status"],
                intent["status"],
            )
            continue
        expect_changed(  # locked above
            await uow.payments.set_stripe_status(payment["payment_id"], intent["status"]),
            f"stripe status of payment {payment['payment_id']}",
        )


async def _apply_account(uow: UnitOfWork, event: dict[str, Any], account: dict[str, Any]) -> None:
    """Onboarding state of a host's connected account. Only a newer report counts (Stripe does
    not order events); a change is announced as payments.host_account_updated."""
    reported_at = datetime.fromtimestamp(event["created"], UTC)
    state = (
        bool(account.get("charges_enabled")),
        bool(account.get("payouts_enabled")),
        bool(account.get("details_submitted")),
    )
    if not await uow.webhooks.upsert_host_account(account["id"], state, reported_at):
        log.info("account.updated for %s is older than what we know; ignored", account["id"])
        return
    await uow.emit(
        HostAccountUpdatedV1(
            host_account_id=account["id"],
            charges_enabled=state[0],
            payouts_enabled=state[1],
            details_submitted=state[2],
            updated_at=reported_at,
        ),
        key=account["id"],
        correlation_id=new_uuid(),
    )


async def _apply_platform_payout(
    uow: UnitOfWork, event: dict[str, Any], payout: dict[str, Any]
) -> None:
    """A payout of the platform's balance to its bank (an event without `account`: a connected
    account's payouts are the host's business) is announced as it is, once per Stripe event
    (the inbox's UNIQUE(stripe_event_id); an ops replay announces it again, which finance's
    import takes as it takes any). Stripe does not order events, so each carries its own
    time (`updated_at`)."""
    arrival = payout.get("arrival_date")
    await uow.emit(
        PlatformPayoutUpdatedV1(
            payout_id=payout["id"],
            amount=payout["amount"],
            currency=payout["currency"],
            status=payout["status"],
            arrival_date=datetime.fromtimestamp(arrival, UTC) if arrival else None,
            failure_code=payout.get("failure_code"),
            updated_at=datetime.fromtimestamp(event["created"], UTC),
        ),
        key=payout["id"],
        correlation_id=uuid.uuid5(uuid.NAMESPACE_URL, f"stripe:payout:{payout['id']}"),
    )


async def replay(conn: asyncpg.Connection, stripe_event_id: str) -> bool:
    """Have the worker apply a stored event again (it is idempotent: ranks only move forward)."""
    return await WebhooksRepository(conn).mark_unprocessed(stripe_event_id)


async def apply_some(runtime: ServiceRuntime) -> int:
    """One batch of stored webhooks applied; how many (the worker drains while there are)."""
    async with runtime.db.acquire() as conn:
        done: int = await apply_pending(
            conn,
            bank_debit_return_window=getattr(
                runtime.settings, "bank_debit_return_window", bank_debits.DEFAULT_RETURN_WINDOW
            ),
        )
    return done


webhook_worker = periodic.every(1.0, apply_some, name="webhook-worker", drain=True)
