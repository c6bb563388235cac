"""The trust area of the staff GraphQL API: the dispute queue and a case, bookings and booking
groups, damage claims and cancellation policies, and the mutations on them.

Roles: disputes are read by trust, admin and finance (finance sees what a chargeback holds
back) and worked by trust and admin; bookings, groups, claims and policies are read by trust
and admin (the gateway admits no finance role); a claim is decided by trust or admin; a
cancellation policy is published by admins only. Disputes are reached with ops's service
credential acting for the caller, the gateway with the caller's own token.
"""

from __future__ import annotations

from typing import Annotated, Any

import strawberry
from starlette.datastructures import UploadFile
from strawberry.file_uploads import Upload
from strawberry.types import Info

from eventkit.auth import Principal, Role
from ops.domain.errors import invalid
from ops.entrypoints import graphql_trust_types as t
from ops.service_layer import trust_ops
from ops.service_layer.mutations import Caller

ADMIN, FINANCE, TRUST = Role.ADMIN, Role.FINANCE, Role.TRUST
DISPUTE_READ = (ADMIN, TRUST, FINANCE)
TRUST_WORK = (ADMIN, TRUST)
QUEUE_BATCH = 200  # disputes' largest page


def allow(info: Info, *roles: Role) -> Principal:
    # Imported here: graphql_schema lists this module's classes, so it imports this one.
    from ops.entrypoints.graphql_schema import allow as check

    return check(info, *roles)


def _booking(info: Info) -> Any:
    return info.context["apis"].booking_as(info.context["token"])


# Booking's pages hold 1 to 100 items (docs/api.md); ops asks for no more than it gives.
BOOKING_PAGE_MAX = 100


def _limit(limit: int) -> int:
    if not 1 <= limit <= BOOKING_PAGE_MAX:
        raise invalid(f"limit must be 1 to {BOOKING_PAGE_MAX}.")
    return limit


async def _queue_slice(info: Info, first: int, offset: int, **filters: Any) -> t.DisputePage:
    """Disputes pages by cursor; the console pages by offset: walk the cursor to the slice."""
    if not 1 <= first <= 200 or not 0 <= offset <= 10_000:
        raise invalid("first must be 1 to 200 and offset 0 to 10000.")
    found: list[dict[str, Any]] = []
    cursor = None
    while len(found) <= offset + first:
        page = await info.context["apis"].disputes.queue(
            cursor=cursor, limit=QUEUE_BATCH, **filters
        )
        found.extend(page["data"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    items = [t.summary(c) for c in found[offset : offset + first]]
    return t.DisputePage(items=items, has_more=len(found) > offset + first)


@strawberry.type
class TrustQuery:
    @strawberry.field(
        description="The dispute queue, soonest deadline (due_by) first. status: a case "
        "status, open (default: every case not closed), closed or all; reason: Stripe's."
    )
    async def disputes(
        self,
        info: Info,
        status: str | None = None,
        reason: str | None = None,
        due_before: str | None = None,
        first: int = 50,
        offset: int = 0,
    ) -> t.DisputePage:
        allow(info, *DISPUTE_READ)
        return await _queue_slice(
            info, first, offset, status=status, reason=reason, due_before=due_before
        )

    @strawberry.field(description="A case with its evidence, history, deadline and liability.")
    async def dispute(self, info: Info, id: str) -> t.DisputeCase:
        allow(info, *DISPUTE_READ)
        return t.case(await info.context["apis"].disputes.case(id))

    @strawberry.field(
        description="Bookings, newest first: by guest, host, listing, status and start time "
        "(from/to, ISO 8601); cursor-paginated (nextCursor)."
    )
    async def bookings(
        self,
        info: Info,
        guest_id: str | None = None,
        host_id: str | None = None,
        listing_id: str | None = None,
        status: str | None = None,
        from_: Annotated[str | None, strawberry.argument(name="from")] = None,
        to: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> t.BookingPage:
        allow(info, *TRUST_WORK)
        size = _limit(limit)  # refused before booking is asked
        page = await _booking(info).bookings(
            guest_id=guest_id, host_id=host_id, listing_id=listing_id, status=status,
            starts_from=from_, starts_to=to, cursor=cursor, limit=size,
        )  # fmt: skip
        return t.BookingPage(
            items=[t.booking(b) for b in page["data"]], next_cursor=page.get("next_cursor")
        )

    @strawberry.field(description="One booking.")
    async def booking(self, info: Info, id: str) -> t.BookingView:
        allow(info, *TRUST_WORK)
        return t.booking(await _booking(info).booking(id))

    @strawberry.field(description="Linked Booking Groups, newest first, with their legs.")
    async def checkout_groups(
        self,
        info: Info,
        guest_id: str | None = None,
        status: str | None = None,
        cursor: str | None = None,
        limit: int = 50,
    ) -> t.CheckoutGroupPage:
        allow(info, *TRUST_WORK)
        size = _limit(limit)  # refused before booking is asked
        page = await _booking(info).groups(
            guest_id=guest_id, status=status, cursor=cursor, limit=size
        )
        return t.CheckoutGroupPage(
            items=[t.group(g) for g in page["data"]], next_cursor=page.get("next_cursor")
        )

    @strawberry.field(description="One Linked Booking Group with its legs.")
    async def checkout_group(self, info: Info, id: str) -> t.CheckoutGroup:
        allow(info, *TRUST_WORK)
        return t.group(await _booking(info).group(id))

    @strawberry.field(description="The newest version of every cancellation policy.")
    async def cancellation_policies(self, info: Info) -> list[t.CancellationPolicy]:
        allow(info, *TRUST_WORK)
        return [t.policy(p) for p in await _booking(info).cancellation_policies()]

    @strawberry.field(description="A booking's damage claims.")
    async def claims(self, info: Info, booking_id: str) -> list[t.Claim]:
        allow(info, *TRUST_WORK)
        return [t.claim(c) for c in await _booking(info).booking_claims(booking_id)]

    @strawberry.field(description="One damage claim.")
    async def claim(self, info: Info, id: str) -> t.Claim:
        allow(info, *TRUST_WORK)
        return t.claim(await _booking(info).claim(id))


def _caller(info: Info, token: str, *roles: Role) -> Caller:
    return Caller(info.context["pool"], allow(info, *roles), token)


def _answer(answer: str, description: str) -> Any:
    """The mutation that answers a dispute (`submit` its evidence or `accept` it)."""

    async def run(info: Info, idempotency_token: str, dispute_id: str) -> t.DisputeAction:
        caller = _caller(info, idempotency_token, *TRUST_WORK)
        disputes = info.context["apis"].disputes
        return t.DisputeAction(
            **await trust_ops.answer_dispute(caller, disputes, dispute_id, answer)
        )

    return strawberry.mutation(resolver=run, description=description)


@strawberry.type
class TrustMutation:
    @strawberry.mutation(
        description="Set or remove (null) evidence text fields of a case: the case after."
    )
    async def edit_dispute_evidence(
        self,
        info: Info,
        idempotency_token: str,
        dispute_id: str,
        fields: list[t.EvidenceFieldInput],
    ) -> t.DisputeCase:
        caller = _caller(info, idempotency_token, *TRUST_WORK)
        edits = {f.name: f.value for f in fields}
        disputes = info.context["apis"].disputes
        return t.case(await trust_ops.edit_evidence(caller, disputes, dispute_id, edits))

    @strawberry.mutation(
        description="Add a file (PDF, JPEG or PNG) to an evidence field such as receipt or "
        "service_documentation (it replaces that field's earlier file): the case after. Over "
        "HTTP, send it as a GraphQL multipart request."
    )
    async def upload_dispute_evidence(
        self, info: Info, idempotency_token: str, dispute_id: str, field: str, file: Upload
    ) -> t.DisputeCase:
        caller = _caller(info, idempotency_token, *TRUST_WORK)
        if not isinstance(file, UploadFile):
            # A JSON request's variables can put any value where the file goes.
            raise invalid("file: send the file as a GraphQL multipart request (a file part)")
        received = file
        content = await received.read(trust_ops.UPLOAD_MAX_BYTES + 1)
        upload = trust_ops.Upload(
            field, received.filename or "upload", received.content_type or "", bytes(content)
        )
        disputes = info.context["apis"].disputes
        return t.case(await trust_ops.upload_evidence(caller, disputes, dispute_id, upload))

    submit_dispute_evidence = _answer("submit", "Submit the case's evidence to the processor.")
    accept_dispute = _answer("accept", "Concede a dispute (a chargeback needing a response).")

    @strawberry.mutation(
        description="Decide a contested or unanswered damage claim: the amount to charge "
        "(minor units, at most the claimed amount; 0 dismisses it) and a note."
    )
    async def decide_claim(
        self, info: Info, idempotency_token: str, claim_id: str, amount: int, note: str = ""
    ) -> t.Claim:
        caller = _caller(info, idempotency_token, *TRUST_WORK)
        decided = await trust_ops.decide_claim(caller, _booking(info), claim_id, amount, note)
        return t.claim(decided)

    @strawberry.mutation(
        description="Publish a cancellation policy, or the next version of one (admins)."
    )
    async def publish_cancellation_policy(
        self, info: Info, idempotency_token: str, policy: t.CancellationPolicyInput
    ) -> t.CancellationPolicy:
        caller = _caller(info, idempotency_token, ADMIN)
        body = strawberry.asdict(policy)
        return t.policy(await trust_ops.publish_policy(caller, _booking(info), body))
