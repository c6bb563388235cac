"""Trust staff's use cases on a case (`service_layer/cases.py`) and its reminder timer, on an
in-memory repository: the rules of editing evidence, uploading files, recording the host's fault
and reminding, without Postgres. The same use cases on the real database, over HTTP:
tests/integration/test_disputes_api.py and test_disputes_cases.py.

The fake keeps what `CasesRepository` keeps (the case row with its jsonb `text_edits` as a dict,
as the pool's codec decodes it; the append-only history; one evidence file per field) and the unit of work records what would go to the outbox.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest

from disputes.adapters.cases_repository import to_case
from disputes.adapters.unit_of_work import UnitOfWork
from disputes.domain.case import Case, Change, Status
from disputes.domain.errors import DisputeError, ErrorCode
from disputes.service_layer.cases import Cases
from disputes.service_layer.deadlines import Deadlines, reminder_subject
from marketplace_contracts import EventModel
from marketplace_contracts.events import disputes as out

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
DUE = NOW + timedelta(days=5)
PNG = b"\x89PNG\r\n\x1a\n" + bytes(64)
PDF = b"%PDF-1.7\n" + bytes(64)
BUDGET = 1_000


class FakeCasesRepository:
    """`CasesRepository` in memory: what the use cases under test read and write."""

    def __init__(self) -> None:
        self.cases: dict[str, dict[str, Any]] = {}
        self.history: dict[str, list[Change]] = {}
        self.files: dict[tuple[str, str], dict[str, Any]] = {}

    def given(self, dispute_id: str, status: Status, **columns: Any) -> None:
        self.cases[dispute_id] = {
            "dispute_id": dispute_id,
            "processor_dispute_id": f"du_{dispute_id}",
            "payment_id": f"pay_{dispute_id}",
            "booking_id": f"bk_{dispute_id}",
            "currency": "usd",
            "reason": "product_not_received",
            "status": status.value,
            "inquiry": status.value.startswith("warning_"),
            "due_by": DUE,
            "three_d_secure": False,
            "host_at_fault": False,
            "host_fault_note": "",
            "text_edits": {},
            "resolved_at": None,
            **columns,
        }
        self.history[dispute_id] = []

    async def row(self, dispute_id: str, *, for_update: bool = False) -> dict[str, Any] | None:
        row = self.cases.get(dispute_id)
        return dict(row) if row is not None else None

    async def save(self, case: Case, **columns: Any) -> None:
        self.cases[case.dispute_id].update(
            status=case.status.value, inquiry=case.inquiry, due_by=case.due_by, **columns
        )
        self.history[case.dispute_id] += case.changes
        case.changes.clear()

    async def add_file(self, row: dict[str, Any]) -> list[str]:
        replaced = self.files.pop((row["dispute_id"], row["field"]), None)
        self.files[(row["dispute_id"], row["field"])] = row
        return [replaced["sha256"]] if replaced else []

    async def files_size(self, dispute_id: str, *, besides: str) -> int:
        return sum(
            f["size"]
            for (case, field), f in self.files.items()
            if case == dispute_id and field != besides
        )


class FakeUnitOfWork:
    """What `UnitOfWork` offers the use cases under test: the cases, and the outbox."""

    def __init__(self, cases: FakeCasesRepository) -> None:
        self.cases = cases
        self.published: list[tuple[EventModel, str]] = []

    async def publish(self, event: EventModel, *, key: str) -> None:
        self.published.append((event, key))


@pytest.fixture
def repo() -> FakeCasesRepository:
    return FakeCasesRepository()


@pytest.fixture
def uow(repo: FakeCasesRepository) -> UnitOfWork:
    # Structurally a unit of work for these use cases; anything else they touched (a
    # connection, the facts) would fail loudly with an AttributeError.
    return cast(UnitOfWork, FakeUnitOfWork(repo))


@pytest.fixture
def cases() -> Cases:
    return Cases(Deadlines((72, 24), timedelta(days=1)), lambda: NOW, files_budget=BUDGET)


def published(uow: UnitOfWork) -> list[tuple[EventModel, str]]:
    return cast(FakeUnitOfWork, uow).published


# -- evidence text -------------------------------------------------------------------------------
async def test_text_edits_merge_field_by_field_and_each_is_noted_in_the_history(
    cases: Cases, uow: UnitOfWork, repo: FakeCasesRepository
) -> None:
    repo.given("dsp_1", Status.NEEDS_RESPONSE, text_edits={"service_date": "old"})
    await cases.edit_text(uow, "dsp_1", {"product_description": "A loft"}, "trust-1")
    await cases.edit_text(uow, "dsp_1", {"service_date": None}, "trust-2")

    assert repo.cases["dsp_1"]["text_edits"] == {
        "service_date": None,  # None: the assembled field is removed from the submission
        "product_description": "A loft",
    }
    assert [(c.actor, c.trigger, c.detail) for c in repo.history["dsp_1"]] == [
        ("trust-1", "evidence_edited", {"fields": {"product_description": "set"}}),
        ("trust-2", "evidence_edited", {"fields": {"service_date": "removed"}}),
    ]
    assert repo.cases["dsp_1"]["status"] == "needs_response"  # a note, not a transition
    assert published(uow) == []


async def test_a_field_stripe_does_not_know_changes_nothing(
    cases: Cases, uow: UnitOfWork, repo: FakeCasesRepository
) -> None:
    repo.given("dsp_1", Status.NEEDS_RESPONSE)
    with pytest.raises(DisputeError) as refused:
        await cases.edit_text(uow, "dsp_1", {"bogus": "x", "service_date": "y"}, "trust-1")
    assert refused.value.code is ErrorCode.UNKNOWN_EVIDENCE_FIELD
    assert (repo.cases["dsp_1"]["text_edits"], repo.history["dsp_1"]) == ({}, [])


@pytest.mark.parametrize("status", [Status.SUBMITTING, Status.UNDER_REVIEW, Status.LOST])
async def test_evidence_is_final_once_no_response_is_due(
    cases: Cases, uow: UnitOfWork, repo: FakeCasesRepository, status: Status
) -> None:
    repo.given("dsp_1", status)
    with pytest.raises(DisputeError) as text:
        await cases.edit_text(uow, "dsp_1", {"service_date": "y"}, "trust-1")
    with pytest.raises(DisputeError) as upload:
        await cases.upload(uow, "dsp_1", "receipt", _file(PDF), "trust-1")
    assert text.value.code is upload.value.code is ErrorCode.EVIDENCE_LOCKED
    assert (repo.history["dsp_1"], repo.files) == ([], {})


async def test_an_unknown_case_is_not_found(cases: Cases, uow: UnitOfWork) -> None:
    with pytest.raises(DisputeError) as missing:
        await cases.set_host_fault(uow, "dsp_nope", True, "late", "trust-1")
    assert missing.value.code is ErrorCode.CASE_NOT_FOUND


# -- evidence files ------------------------------------------------------------------------------
async def test_a_file_replaces_the_one_in_its_field_and_the_history_keeps_both_hashes(
    cases: Cases, uow: UnitOfWork, repo: FakeCasesRepository
) -> None:
    repo.given("dsp_1", Status.NEEDS_RESPONSE)
    first = await cases.upload(uow, "dsp_1", "receipt", _file(PDF), "trust-1")
    second = await cases.upload(uow, "dsp_1", "receipt", _file(PNG, "image/png"), "trust-2")

    assert (second["field"], second["size"], second["uploaded_at"]) == ("receipt", len(PNG), NOW)
    assert second["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert list(repo.files) == [("dsp_1", "receipt")]  # one file per field
    assert repo.files[("dsp_1", "receipt")]["content"] == PNG
    [added, replaced] = repo.history["dsp_1"]
    assert (added.trigger, added.detail["replaced"]) == ("evidence_file_added", [])
    assert replaced.detail["replaced"] == [first["sha256"]]
    assert replaced.detail["file_id"] == second["file_id"] != first["file_id"]


@pytest.mark.parametrize(
    ("field", "content", "content_type", "code"),
    [
        ("receipt", b"", "application/pdf", ErrorCode.EMPTY_FILE),
        ("receipt", PNG, "application/pdf", ErrorCode.UNSUPPORTED_FILE_TYPE),  # not as it says
        ("receipt", b"GIF89a" + bytes(8), "image/gif", ErrorCode.UNSUPPORTED_FILE_TYPE),
        ("service_date", PDF, "application/pdf", ErrorCode.UNKNOWN_EVIDENCE_FIELD),  # text
    ],
)
async def test_a_file_stripe_would_refuse_is_refused_now(
    cases: Cases,
    uow: UnitOfWork,
    repo: FakeCasesRepository,
    field: str,
    content: bytes,
    content_type: str,
    code: ErrorCode,
) -> None:
    repo.given("dsp_1", Status.NEEDS_RESPONSE)
    with pytest.raises(DisputeError) as refused:
        await cases.upload(uow, "dsp_1", field, _file(content, content_type), "trust-1")
    assert refused.value.code is code
    assert (repo.files, repo.history["dsp_1"]) == ({}, [])


async def test_the_files_budget_counts_every_field_but_the_one_replaced(
    cases: Cases, uow: UnitOfWork, repo: FakeCasesRepository
) -> None:
    repo.given("dsp_1", Status.NEEDS_RESPONSE)
    half = PDF + bytes(BUDGET // 2 - len(PDF))
    await cases.upload(uow, "dsp_1", "receipt", _file(half), "trust-1")
    # Replacing the receipt with a file as large as the whole budget fits: the old one goes.
    whole = PDF + bytes(BUDGET - len(PDF))
    await cases.upload(uow, "dsp_1", "receipt", _file(whole), "trust-1")
    with pytest.raises(DisputeError) as over:
        await cases.upload(uow, "dsp_1", "customer_signature", _file(PDF), "trust-1")
    assert over.value.code is ErrorCode.EVIDENCE_TOO_LARGE
    assert str(over.value) == "0 bytes left for files"
    assert set(repo.files) == {("dsp_1", "receipt")}


# -- the host's fault ----------------------------------------------------------------------------
async def test_the_hosts_fault_is_recorded_until_the_case_is_resolved(
    cases: Cases, uow: UnitOfWork, repo: FakeCasesRepository
) -> None:
    repo.given("dsp_1", Status.UNDER_REVIEW)
    await cases.set_host_fault(uow, "dsp_1", True, "the loft was not ready", "trust-1")
    assert (repo.cases["dsp_1"]["host_at_fault"], repo.cases["dsp_1"]["host_fault_note"]) == (
        True,
        "the loft was not ready",
    )
    [noted] = repo.history["dsp_1"]
    assert (noted.trigger, noted.detail) == (
        "host_fault_set",
        {"at_fault": True, "note": "the loft was not ready"},
    )

    repo.given("dsp_2", Status.LOST, resolved_at=NOW - timedelta(hours=1))
    with pytest.raises(DisputeError) as resolved:
        await cases.set_host_fault(uow, "dsp_2", True, "too late", "trust-1")
    assert resolved.value.code is ErrorCode.CASE_RESOLVED
    assert (repo.cases["dsp_2"]["host_at_fault"], repo.history["dsp_2"]) == (False, [])


# -- the reminder timer --------------------------------------------------------------------------
async def test_a_reminder_publishes_the_deadline_and_whether_the_evidence_is_in(
    cases: Cases, uow: UnitOfWork, repo: FakeCasesRepository
) -> None:
    repo.given("dsp_1", Status.NEEDS_RESPONSE)
    repo.given("dsp_2", Status.UNDER_REVIEW)
    await cases.remind(uow, reminder_subject("dsp_1", 72), {"hours": 72})
    await cases.remind(uow, reminder_subject("dsp_2", 24), {"hours": 24})

    sent = [(key, e) for e, key in published(uow) if isinstance(e, out.DeadlineApproachingV1)]
    assert [(key, e.hours_before, e.evidence_submitted, e.due_by) for key, e in sent] == [
        ("dsp_1", 72, False, DUE),
        ("dsp_2", 24, True, DUE),  # under review: the reminder says the evidence is in
    ]
    assert [c.trigger for c in repo.history["dsp_1"]] == ["deadline_reminder"]


@pytest.mark.parametrize(
    ("status", "due_by"),
    [
        (Status.NEEDS_RESPONSE, NOW),  # the timer fired late: the deadline is gone
        (Status.ACCEPTED, DUE),  # conceded: nobody waits for evidence
        (Status.WON, DUE),
    ],
)
async def test_a_reminder_with_nothing_to_remind_of_publishes_and_notes_nothing(
    cases: Cases, uow: UnitOfWork, repo: FakeCasesRepository, status: Status, due_by: datetime
) -> None:
    repo.given("dsp_1", status, due_by=due_by)
    await cases.remind(uow, reminder_subject("dsp_1", 24), {"hours": 24})
    await cases.remind(uow, reminder_subject("dsp_gone", 24), {"hours": 24})  # no such case
    assert (published(uow), repo.history["dsp_1"]) == ([], [])


def test_the_fake_row_reads_as_the_case_it_describes(repo: FakeCasesRepository) -> None:
    repo.given("dsp_1", Status.WARNING_NEEDS_RESPONSE, three_d_secure=True)
    case = to_case(repo.cases["dsp_1"])
    assert (case.status, case.inquiry, case.due_by, case.three_d_secure, case.resolved) == (
        Status.WARNING_NEEDS_RESPONSE,
        True,
        DUE,
        True,
        False,
    )


def _file(content: bytes, content_type: str = "application/pdf") -> dict[str, Any]:
    return {"filename": "evidence", "content_type": content_type, "content": content}
