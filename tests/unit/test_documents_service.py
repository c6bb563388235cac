"""Documents' use cases (`features/documents/service.py`, `timers.py`) on booking's unit of work
in memory (tests/support/booking_fakes.py): an envelope's outcome — signed (the evidence
emitted, the checkout or the group going on), declined or expired (the booking ended, its hold
timer cancelled), redelivered or unknown (nothing) — and the timers that create a booking's or
an amendment's envelope once.

The kernel's lifecycle and ending steps and the groups' leg are replaced by recorders of what
they were asked. The same flows on the real database:
tests/integration/test_docs_before_pay.py and tests/e2e/test_docs_before_pay.py."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest

from booking.adapters.esign.base import EnvelopeStatus, SignatureAudit, WebhookEvent
from booking.domain.model import Trigger
from booking.features.documents import service as documents
from booking.features.documents import timers
from booking.service_layer.timer_kinds import HOLD_EXPIRY
from marketplace_contracts.events.booking import SignaturesCompletedV1
from tests.support.booking_fakes import NOW, FakeUnitOfWork

ENVELOPE = "env_1"
SIGN_BY = {"sign_by": (NOW + timedelta(days=1)).isoformat()}
DOCS = [{"document_id": "waiver", "title": "Waiver", "text": "I accept"}]


@pytest.fixture
def fake() -> FakeUnitOfWork:
    fake = FakeUnitOfWork()
    fake.bookings.listings["l1"] = {"listing_id": "l1", "required_documents": DOCS}
    return fake


@pytest.fixture
def kernel(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, Any]]:
    """What the kernel's steps and the groups' leg were asked: (step, its arguments after the
    unit of work)."""
    asked: list[tuple[str, Any]] = []

    def recorder(step: str) -> Any:
        async def record(uow: Any, *args: Any, **kwargs: Any) -> None:
            asked.append((step, args))

        return record

    monkeypatch.setattr(documents.lifecycle, "apply", recorder("apply"))
    monkeypatch.setattr(documents, "end_booking", recorder("end"))
    monkeypatch.setattr(documents.groups, "leg_signed", recorder("leg_signed"))
    return asked


def _booking(
    fake: FakeUnitOfWork, status: str = "awaiting_signatures", **columns: Any
) -> uuid.UUID:
    booking_id = uuid.uuid4()
    fake.bookings.bookings[booking_id] = {
        "booking_id": booking_id,
        "status": status,
        "guest_id": "guest_1",
        "listing_id": "l1",
        "group_id": None,
        "envelope_id": ENVELOPE,
        "signing_url": None,
        "version": 1,
        "correlation_id": uuid.uuid4(),
        **columns,
    }
    fake.timers.pending[(HOLD_EXPIRY, str(booking_id))] = NOW
    return booking_id


def _event(status: EnvelopeStatus, envelope_id: str = ENVELOPE) -> WebhookEvent:
    return WebhookEvent(envelope_id, status, NOW)


async def _outcome(fake: FakeUnitOfWork, status: EnvelopeStatus, trail: Any = None) -> None:
    await documents.envelope_outcome(fake.as_uow(), "builtin", _event(status), trail)


async def test_signed_emits_the_evidence_and_asks_for_the_checkout(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]]
) -> None:
    booking_id = _booking(fake)
    audit = SignatureAudit("waiver", "", "ab" * 32, "guest_1", NOW, "10.0.0.1", "UA")
    await _outcome(fake, EnvelopeStatus.SIGNED, [audit])
    assert fake.outbox.types == ["booking.signatures_completed"]
    event, meta = fake.outbox.added[0]
    assert isinstance(event, SignaturesCompletedV1)
    assert event.booking_id == str(booking_id) and event.envelope_id == ENVELOPE
    assert event.provider == "builtin"
    assert [(d.document_id, d.title, d.sha256) for d in event.documents] == [
        ("waiver", "Waiver", "ab" * 32)
    ]
    assert meta["key"] == str(booking_id)
    [(step, args)] = kernel
    assert step == "apply" and args[1] is Trigger.DOCUMENTS_SIGNED
    assert list(args[2]) == ["booking.checkout_requested"]
    assert (HOLD_EXPIRY, str(booking_id)) in fake.timers.pending


async def test_signed_without_a_trail_lists_the_listings_documents(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]]
) -> None:
    _booking(fake)
    await _outcome(fake, EnvelopeStatus.SIGNED)
    event, _ = fake.outbox.added[0]
    assert isinstance(event, SignaturesCompletedV1)
    [document] = event.documents
    assert (document.document_id, document.title, document.signer_id) == (
        "waiver",
        "Waiver",
        "guest_1",
    )
    assert document.sha256 is None and document.signed_at == NOW


async def test_a_signed_group_leg_goes_on_with_its_group(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]]
) -> None:
    booking_id = _booking(fake, group_id=uuid.uuid4())
    await _outcome(fake, EnvelopeStatus.SIGNED)
    assert fake.outbox.types == ["booking.signatures_completed"]
    [(step, args)] = kernel
    assert step == "leg_signed"
    assert args[0]["booking_id"] == booking_id and args[1] == ENVELOPE


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (EnvelopeStatus.DECLINED, "documents_declined"),
        (EnvelopeStatus.EXPIRED, "documents_expired"),
    ],
)
async def test_declined_or_expired_ends_the_booking_and_its_hold(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]], status: EnvelopeStatus, reason: str
) -> None:
    booking_id = _booking(fake)
    await _outcome(fake, status)
    assert fake.outbox.types == []
    [(step, args)] = kernel
    assert step == "end" and args[1] is Trigger.DOCUMENTS_DECLINED and args[2] == reason
    assert fake.timers.cancelled == [(HOLD_EXPIRY, str(booking_id))]


async def test_an_outcome_after_the_first_changes_nothing(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]]
) -> None:
    booking_id = _booking(fake, status="pending_payment")
    await _outcome(fake, EnvelopeStatus.SIGNED)
    await _outcome(fake, EnvelopeStatus.DECLINED)
    assert fake.outbox.types == [] and kernel == []
    assert fake.timers.cancelled == [] and (HOLD_EXPIRY, str(booking_id)) in fake.timers.pending


async def test_an_amendments_envelope_goes_to_the_amendment(
    fake: FakeUnitOfWork, kernel: list[tuple[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    amendment_id = uuid.uuid4()
    fake.amendments.rows[amendment_id] = {"envelope_id": "env_am"}
    outcomes: list[tuple[str, Any]] = []

    async def signed(uow: Any, about: uuid.UUID) -> None:
        outcomes.append(("signed", about))

    async def declined(uow: Any, about: uuid.UUID, detail: str) -> None:
        outcomes.append(("declined", about))

    monkeypatch.setattr(documents.amendments, "on_signed", signed)
    monkeypatch.setattr(documents.amendments, "on_signatures_declined", declined)
    for status in (EnvelopeStatus.SIGNED, EnvelopeStatus.DECLINED):
        await documents.envelope_outcome(fake.as_uow(), "builtin", _event(status, "env_am"), None)
    await _outcome(fake, EnvelopeStatus.SIGNED)  # nobody's envelope
    assert outcomes == [("signed", amendment_id), ("declined", amendment_id)]
    assert fake.outbox.types == [] and kernel == []


class Provider:
    """An e-sign provider that records the envelopes asked of it."""

    def __init__(self) -> None:
        self.asked: list[dict[str, Any]] = []

    async def create_envelope(self, **request: Any) -> Any:
        self.asked.append(request)
        return SimpleNamespace(envelope_id=f"env_{len(self.asked)}", signing_url="https://sign")


async def test_the_envelope_timer_creates_one_envelope(fake: FakeUnitOfWork) -> None:
    booking_id = _booking(fake, envelope_id=None)
    provider = Provider()
    for _ in range(2):  # the job run twice
        await timers.send_envelope(fake.as_uow(), provider, str(booking_id), SIGN_BY)  # type: ignore[arg-type]
    [request] = provider.asked
    assert request["envelope_key"] == f"booking:esign:{booking_id}"
    assert [d.document_id for d in request["documents"]] == ["waiver"]
    assert request["expires_at"] == datetime.fromisoformat(SIGN_BY["sign_by"])
    row = fake.bookings.bookings[booking_id]
    assert (row["envelope_id"], row["signing_url"], row["version"]) == ("env_1", "https://sign", 2)


async def test_the_envelope_timer_leaves_a_decided_booking(fake: FakeUnitOfWork) -> None:
    booking_id = _booking(fake, status="cancelled", envelope_id=None)
    provider = Provider()
    await timers.send_envelope(fake.as_uow(), provider, str(booking_id), SIGN_BY)  # type: ignore[arg-type]
    assert provider.asked == [] and fake.bookings.bookings[booking_id]["envelope_id"] is None


async def test_the_amendment_envelope_timer_sends_the_new_terms_once(fake: FakeUnitOfWork) -> None:
    booking_id = _booking(fake)
    amendment_id = uuid.uuid4()
    fake.amendments.rows[amendment_id] = {
        "amendment_id": amendment_id,
        "booking_id": booking_id,
        "status": "awaiting_signatures",
        "envelope_id": None,
        "signing_url": None,
        "starts_at": NOW,
        "ends_at": NOW + timedelta(hours=2),
        "guests": 2,
        "extras": {},
        "delta": 500,
        "currency": "usd",
    }
    provider = Provider()
    for _ in range(2):
        await timers.send_amendment_envelope(fake.as_uow(), provider, str(amendment_id), SIGN_BY)  # type: ignore[arg-type]
    [request] = provider.asked
    assert [d.document_id for d in request["documents"]] == ["waiver", f"amendment-{amendment_id}"]
    assert request["metadata"] == {"booking_id": str(booking_id), "amendment_id": str(amendment_id)}
    assert fake.amendments.rows[amendment_id]["envelope_id"] == "env_1"
