"""The facts evidence is assembled from, kept in disputes' own tables as they pass by: captured
charges, each booking's checkout context and status, signatures, amendments, claims, refunds.

Each write touches only what its fact knows (an upsert of its own columns, or an insert keyed
by the fact's natural id), so duplicates change nothing and the order facts arrive in, across
topics and keys, does not matter.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from disputes.adapters.unit_of_work import UnitOfWork
from disputes.domain.evidence import Fact
from marketplace_contracts import Envelope
from marketplace_contracts.events import booking as b
from marketplace_contracts.events import payments as p


async def captured(
    uow: UnitOfWork, env: Envelope, event: p.PaymentCapturedV1 | p.PaymentCapturedV2
) -> None:
    if isinstance(event, p.PaymentCapturedV1):
        splits: list[dict[str, Any]] = [
            {
                "booking_id": event.booking_id,
                "host_account_id": event.host_account_id,
                "amount": event.amount,
                "platform_fee": event.platform_fee,
                "host_amount": event.host_amount,
            }
        ]
        host: str | None = event.host_account_id
        group, transfer_group, purpose = None, None, None
    else:
        splits = [s.model_dump(mode="json") for s in event.splits]
        hosts = {s.host_account_id for s in event.splits}
        # The host account is kept when there is only one host to dispute with.
        host = hosts.pop() if len(hosts) == 1 else None
        group, transfer_group, purpose = event.group_id, event.transfer_group, event.purpose
    await uow.facts.add_charge(
        (
            event.payment_id,
            event.booking_id,
            event.payment_intent_id,
            event.charge_id,
            event.amount,
            event.currency,
            host,
            env.occurred_at,
            group,
            transfer_group,
            splits,
            purpose,
        )
    )


async def checkout_requested(uow: UnitOfWork, env: Envelope, event: b.CheckoutRequestedV1) -> None:
    columns = event.model_dump(
        include={
            "guest_id",
            "listing_id",
            "host_account_id",
            "starts_at",
            "ends_at",
            "amount",
            "currency",
            "payment_method_type",
            "client_ip",
            "user_agent",
            "mandate_ip_address",
            "mandate_user_agent",
            "cancellation_policy",
        }
    )
    columns["quote_lines"] = [q.model_dump() for q in event.quote_lines]
    columns["requested_at"] = env.occurred_at
    await uow.facts.set_status(event.booking_id, "requested", columns)


async def group_checkout_requested(
    uow: UnitOfWork, env: Envelope, event: b.GroupCheckoutRequestedV1
) -> None:
    for leg in event.legs:
        columns = leg.model_dump(
            include={"listing_id", "host_account_id", "starts_at", "ends_at", "amount"}
        )
        columns.update(
            group_id=event.group_id,
            guest_id=event.guest_id,
            currency=event.currency,
            client_ip=event.client_ip,
            user_agent=event.user_agent,
            requested_at=env.occurred_at,
        )
        await uow.facts.set_status(leg.booking_id, "requested", columns)


async def confirmed(uow: UnitOfWork, env: Envelope, event: b.BookingConfirmedV1) -> None:
    columns = {"payment_id": event.payment_id, "confirmed_at": env.occurred_at}
    await uow.facts.set_status(event.booking_id, "confirmed", columns)


async def group_confirmed(uow: UnitOfWork, env: Envelope, event: b.GroupConfirmedV1) -> None:
    for booking_id in event.booking_ids:
        columns = {
            "payment_id": event.payment_id,
            "confirmed_at": env.occurred_at,
            "group_id": event.group_id,
        }
        await uow.facts.set_status(booking_id, "confirmed", columns)


async def cancelled(uow: UnitOfWork, env: Envelope, event: b.BookingCancelledV1) -> None:
    cancellation = {
        "at": env.occurred_at.isoformat(),
        "cancelled_by": event.cancelled_by,
        "reason": event.reason,
        "policy": event.policy,
        "refund": event.refund.amount if event.refund else 0,
        "host_penalty": event.host_penalty,
    }
    await uow.facts.set_status(event.booking_id, "cancelled", {"cancellation": cancellation})


async def completed(uow: UnitOfWork, env: Envelope, event: b.BookingCompletedV1) -> None:
    await uow.facts.set_status(event.booking_id, "completed", {"completed_at": event.ended_at})


async def signatures(uow: UnitOfWork, env: Envelope, event: b.SignaturesCompletedV1) -> None:
    signed_at = max(d.signed_at for d in event.documents)
    data = event.model_dump(
        mode="json", include={"documents", "provider", "envelope_id", "guest_id"}
    )
    await uow.facts.add_fact(
        Fact("signatures", event.booking_id, signed_at, data), event.booking_id
    )


async def amendment(uow: UnitOfWork, env: Envelope, event: b.AmendmentDecidedV1) -> None:
    data = event.model_dump(
        mode="json", include={"amendment_id", "outcome", "delta", "currency", "reason"}
    )
    await _dated(uow, "amendment", event.booking_id, env.occurred_at, data, event.amendment_id)


async def claim_filed(uow: UnitOfWork, env: Envelope, event: b.ClaimFiledV1) -> None:
    data = event.model_dump(mode="json", include={"claim_id", "amount", "currency", "description"})
    data["status"] = "filed"
    await _dated(uow, "claim", event.booking_id, env.occurred_at, data, f"{event.claim_id}:filed")


async def claim_decided(uow: UnitOfWork, env: Envelope, event: b.ClaimDecidedV1) -> None:
    data = event.model_dump(mode="json", include={"claim_id", "amount", "currency", "decided_by"})
    data["status"] = event.outcome
    await _dated(uow, "claim", event.booking_id, env.occurred_at, data, f"{event.claim_id}:decided")


async def refunded(uow: UnitOfWork, env: Envelope, event: p.RefundSucceededV1) -> None:
    data = event.model_dump(
        mode="json", include={"refund_id", "payment_id", "amount", "currency", "method", "cause"}
    )
    await _dated(uow, "refund", event.booking_id, env.occurred_at, data, event.refund_id)


async def _dated(
    uow: UnitOfWork, kind: str, booking_id: str, at: datetime, data: dict[str, Any], key: str
) -> None:
    await uow.facts.add_fact(Fact(kind, booking_id, at, data), key)
