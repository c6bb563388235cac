"""Every disputes default lives here (CONVENTIONS.md and docs/disputes.md list them)."""

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from eventkit.auth import DEV_JWT_SECRET
from eventkit.settings import FollowedClockSettings, OffPathSettings, local_database_url

# The default secret is eventkit.auth's development one, the gateway's too, so
# `python -m booking token --role trust` mints tokens the disputes API accepts.
__all__ = ["DEV_JWT_SECRET", "DisputesSettings"]


class DisputesSettings(FollowedClockSettings, OffPathSettings):
    """A followed clock (`DISPUTES_CLOCK_URL`) fires reminders and auto-submits as simulated
    time moves due dates."""

    model_config = SettingsConfigDict(env_prefix="DISPUTES_")

    database_url: str = Field(default_factory=lambda: local_database_url("disputes"))
    http_port: int = 8003
    consumer_concurrency: int = Field(default=2, ge=1)
    # Reminders to trust staff, hours before a case's due_by (`disputes.deadline_approaching`).
    reminder_hours: str = "72,24"
    # Nobody acted this long before due_by: the assembled evidence is submitted (Stripe accepts
    # nothing after due_by; a day leaves payments time to retry an outage).
    auto_submit_margin_seconds: int = Field(default=86400, ge=0)
    # Raw bytes of a case's files together, the PDF summary included: base64 makes them 4/3
    # larger, and one submission request must stay under 700 kB to fit a Kafka message.
    evidence_max_bytes: int = Field(default=480_000, ge=10_000, le=520_000)
    # Part of evidence_max_bytes kept for the PDF summary (a text-only summary is ~5-20 kB).
    summary_reserve_bytes: int = Field(default=64_000, ge=0)

    @field_validator("reminder_hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        hours = [h.strip() for h in value.split(",") if h.strip()]
        if not all(h.isdigit() and int(h) > 0 for h in hours):
            raise ValueError("reminder_hours: comma-separated positive whole hours, e.g. 72,24")
        return ",".join(hours)

    @property
    def reminders(self) -> tuple[int, ...]:
        return tuple(sorted({int(h) for h in self.reminder_hours.split(",") if h}, reverse=True))
