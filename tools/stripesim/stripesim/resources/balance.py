"""Balance transactions (``txn_…``) on the platform account: one for every money movement.

| movement | ``type`` | ``reporting_category`` | amount | fee | available |
|---|---|---|---|---|---|
| card charge captured | ``charge`` | ``charge`` | + captured | 2.9 % + 30¢ | after ``available_delay_seconds`` |
| bank debit (ACH) succeeded | ``payment`` | ``charge`` | + amount | 0.8 %, max $5 | after ``available_delay_seconds`` |
| refund | ``refund`` (``payment_refund`` for ACH) | ``refund`` | − refunded | 0 | at once |
| transfer to a connected account | ``transfer`` | ``transfer`` | − amount | 0 | at once |
| transfer reversal | ``transfer_refund`` | ``transfer_reversal`` | + amount | 0 | at once |
| dispute: funds withdrawn | ``adjustment`` | ``dispute`` | − disputed | $15 | at once |
| dispute won: funds reinstated | ``adjustment`` | ``dispute_reversal`` | + disputed | 0 | at once |
| payout to the platform's bank | ``payout`` | ``payout`` | − amount | 0 | at once |
| payout failed: money back | ``payout_failure`` | ``payout_reversal`` | + amount | 0 | at once |

``net = amount - fee``. Money coming in is ``pending`` until ``available_on`` (the timers make
it ``available`` as sim time passes it); money going out leaves the available balance at once,
as on Stripe. ``SimState.balance`` keeps the net per currency and status, so ``GET /v1/balance``
and the daily payout never add up the history; ``SimState.unpaid`` keeps the available ones no
automatic payout has taken yet (``payouts``).
"""

from __future__ import annotations

from typing import Any

from stripesim.resources import fees
from stripesim.state import Ctx, new_id

PAYOUT_KEY = "paid_out:"  # private record of a balance transaction: the payout that took it
PAYOUT_TXNS_KEY = "payout_txns:"  # private record of a payout: its balance transactions' seqs


def _last_created(ctx: Ctx) -> int:
    seqs = ctx.state.type_list("balance_transaction")
    last = ctx.state.peek_seq(seqs[-1]) if seqs else None
    return 0 if last is None else int(last["created"])


def record(
    ctx: Ctx,
    *,
    amount: int,
    currency: str,
    type_: str,
    category: str,
    source: str,
    fee: int = 0,
    fee_description: str = "Stripe processing fees",
    description: str | None = None,
    delay: int = 0,
    created: int | None = None,
) -> dict[str, Any]:
    """Store a balance transaction; ``pending`` for ``delay`` seconds, else ``available``.

    ``created`` (default now) never goes below the newest one's, so creation order is also
    ``created`` order: a ``created`` filter is a bisection (``balance_api``)."""
    created = max(ctx.now() if created is None else created, _last_created(ctx))
    txn: dict[str, Any] = {
        "id": new_id("txn_"),
        "object": "balance_transaction",
        "amount": amount,
        "available_on": created + delay,
        "created": created,
        "currency": currency,
        "description": description,
        "exchange_rate": None,
        "fee": fee,
        "fee_details": fees.stripe_fee_details(fee, currency, fee_description),
        "net": amount - fee,
        "reporting_category": category,
        "source": source,
        "status": "pending" if delay > 0 else "available",
        "type": type_,
    }
    ctx.state.put(txn)
    ctx.state.add_to_balance(currency, txn["status"], txn["net"])
    if txn["status"] == "available":
        ctx.state.unpaid.setdefault(currency, {})[txn["id"]] = None
    return txn


def _method_type(charge: dict[str, Any]) -> str:
    return str((charge["payment_method_details"] or {}).get("type", "card"))


def for_charge(ctx: Ctx, charge: dict[str, Any]) -> dict[str, Any]:
    """The money of a captured card charge or a succeeded bank debit, less Stripe's fee."""
    amount = charge["amount_captured"]
    method = _method_type(charge)
    txn = record(
        ctx,
        amount=amount,
        currency=charge["currency"],
        type_="payment" if method == "us_bank_account" else "charge",
        category="charge",
        source=charge["id"],
        fee=fees.processing_fee(amount, method),
        description=charge["description"],
        delay=ctx.state.available_delay_seconds,
    )
    charge["balance_transaction"] = txn["id"]
    return txn


def for_refund(ctx: Ctx, refund: dict[str, Any], charge: dict[str, Any]) -> dict[str, Any]:
    """A refund takes its amount back; Stripe keeps the fee of the charge."""
    ach = _method_type(charge) == "us_bank_account"
    txn = record(
        ctx,
        amount=-refund["amount"],
        currency=refund["currency"],
        type_="payment_refund" if ach else "refund",
        category="refund",
        source=refund["id"],
        description=f"REFUND FOR CHARGE ({charge['description'] or charge['id']})",
    )
    refund["balance_transaction"] = txn["id"]
    return txn


def for_transfer(ctx: Ctx, transfer: dict[str, Any]) -> dict[str, Any]:
    txn = record(
        ctx,
        amount=-transfer["amount"],
        currency=transfer["currency"],
        type_="transfer",
        category="transfer",
        source=transfer["id"],
        description=transfer["description"],
    )
    transfer["balance_transaction"] = txn["id"]
    return txn


def for_reversal(ctx: Ctx, reversal: dict[str, Any]) -> dict[str, Any]:
    txn = record(
        ctx,
        amount=reversal["amount"],
        currency=reversal["currency"],
        type_="transfer_refund",
        category="transfer_reversal",
        source=reversal["id"],
    )
    reversal["balance_transaction"] = txn["id"]
    return txn


def for_dispute(
    ctx: Ctx, dispute: dict[str, Any], amount: int, fee: int, *, withdrawal: bool
) -> dict[str, Any]:
    """Funds withdrawn for a dispute (with the dispute fee) or reinstated when it is won."""
    kind = "withdrawal" if withdrawal else "reversal"
    return record(
        ctx,
        amount=amount,
        currency=dispute["currency"],
        type_="adjustment",
        category="dispute" if withdrawal else "dispute_reversal",
        source=dispute["id"],
        fee=fee,
        fee_description="Dispute fee",
        description=f"Chargeback {kind} for {dispute['charge']}",
    )


def available_at(txn: dict[str, Any]) -> int | None:
    """When a pending balance transaction becomes available (None: it is not pending)."""
    return int(txn["available_on"]) if txn["status"] == "pending" else None


def make_available(ctx: Ctx, txn_ids: list[str]) -> list[str]:
    """Those of ``txn_ids`` (due, see ``timers``) whose ``available_on`` has come."""
    done = []
    for txn_id in txn_ids:
        txn = ctx.state.get(txn_id, "balance_transaction")
        due = None if txn is None else available_at(txn)
        if txn is None or due is None or ctx.now() < due:
            continue
        txn["status"] = "available"
        currency, net = txn["currency"], txn["net"]
        ctx.state.add_to_balance(currency, "pending", -net)
        ctx.state.add_to_balance(currency, "available", net)
        ctx.state.unpaid.setdefault(currency, {})[txn_id] = None
        done.append(txn_id)
    return done


def payout_of(ctx: Ctx, txn_id: str) -> str | None:
    """The automatic payout that took an available balance transaction, if one did."""
    found = ctx.state.private.peek(PAYOUT_KEY + txn_id)
    return None if found is None else str(found["payout"])


def remember_unpaid(ctx: Ctx, txn: dict[str, Any]) -> None:
    """After a restart: an available balance transaction no payout took waits for the next."""
    if txn["status"] == "available" and payout_of(ctx, txn["id"]) is None:
        ctx.state.unpaid.setdefault(txn["currency"], {})[txn["id"]] = None


def balance_object(ctx: Ctx) -> dict[str, Any]:
    """``GET /v1/balance``: available and pending per currency (the nets of the balance
    transactions by status)."""
    currencies = sorted({currency for currency, _status in ctx.state.balance})

    def amounts(status: str) -> list[dict[str, Any]]:
        return [
            {
                "amount": ctx.state.balance.get((currency, status), 0),
                "currency": currency,
                "source_types": {"card": ctx.state.balance.get((currency, status), 0)},
            }
            for currency in currencies
        ]

    return {
        "object": "balance",
        "available": amounts("available"),
        "connect_reserved": [{"amount": 0, "currency": c} for c in currencies],
        "livemode": False,
        "pending": amounts("pending"),
    }
