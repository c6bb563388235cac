"""A case's durable timers (eventkit.scheduler): reminders before due_by and the auto-submit.

They are scheduled in the transaction that makes a case respondable (opened, an inquiry
escalated, a failed submission). A submission cancels the auto-submit (reminders still come,
saying the evidence is in); accepting or closing the case cancels everything. A timer that
fires checks the case first. One job per (kind, subject): a
redelivered fact reschedules the same job, it never adds one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

import asyncpg

from disputes.domain.case import REMINDED, RESPONDABLE, Case
from eventkit import scheduler

SCHEMA = "disputes"
REMINDER = "deadline_reminder"
AUTO_SUBMIT = "auto_submit"


def reminder_subject(dispute_id: str, hours: int) -> str:
    return f"{dispute_id}:{hours}"


def dispute_of(subject: str) -> str:
    return subject.rsplit(":", 1)[0]


class Deadlines:
    def __init__(self, reminder_hours: Sequence[int], auto_submit_margin: timedelta) -> None:
        self.reminder_hours = tuple(reminder_hours)
        self.margin = auto_submit_margin

    async def schedule(
        self, conn: asyncpg.Connection, case: Case, now: datetime, *, auto: bool = True
    ) -> None:
        """The case's reminders still ahead, and its auto-submit while a response is due (due
        at once when the margin has passed already: late is better than missed)."""
        if case.status not in REMINDED or case.due_by is None:
            return
        for hours in self.reminder_hours:
            at = case.due_by - timedelta(hours=hours)
            if at > now:
                subject = reminder_subject(case.dispute_id, hours)
                await scheduler.schedule(conn, SCHEMA, REMINDER, subject, at, {"hours": hours})
        if auto and case.status in RESPONDABLE:
            due = case.due_by - self.margin
            await scheduler.schedule(conn, SCHEMA, AUTO_SUBMIT, case.dispute_id, due)

    async def cancel(
        self, conn: asyncpg.Connection, dispute_id: str, *, reminders: bool = True
    ) -> None:
        """The auto-submit, and the reminders unless told (a submitted case keeps them:
        they then say the evidence is in, until the case closes)."""
        if reminders:
            for hours in self.reminder_hours:
                subject = reminder_subject(dispute_id, hours)
                await scheduler.cancel(conn, SCHEMA, REMINDER, subject)
        await scheduler.cancel(conn, SCHEMA, AUTO_SUBMIT, dispute_id)
