"""Every disputes default lives here (CONVENTIONS.md and docs/disputes.md list them)."""

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from eventkit.auth import DEV_JWT_SECRET
from eventkit.settings import ServiceSettings

# The default secret is eventkit.auth's development one, the gateway's too, so
# `python -m booking token --role trust` mints tokens the disputes API accepts.
__all__ = ["DEV_JWT_SECRET", "DisputesSettings"]


class DisputesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DISPUTES_")

    database_url: str = "postgresql://disputes_svc:disputes_svc@127.0.0.1:5432/marketplace"
    http_port: int = 8003
    # Off the checkout's path: take events in batches of a quarter second (eventkit.settings),
    # a few transactions for many events, instead of one fetch and one transaction each.
    consumer_fetch_min_bytes: int = Field(default=1 << 20, ge=1)
    consumer_fetch_wait_ms: int = Field(default=250, ge=1)
    consumer_concurrency: int = Field(default=2, ge=1)
    # Reminders to trust staff, hours before a case's due_by (`disputes.deadline_approaching`).
    reminder_hours: str = "72,24"
    # Nobody acted this long before due_by: the assembled evidence is submitted (Stripe accepts
    # nothing after due_by; a day leaves payments time to retry an outage).
    auto_submit_margin_seconds: int = Field(default=86400, ge=0)
    scheduler_poll_seconds: float = Field(default=1.0, gt=0)
    # Empty: the system clock. `make up` follows the Stripe simulator's clock
    # (http://127.0.0.1:12111/_sim/clock), so moving simulated time fires reminders and
    # auto-submits as it moves due dates.
    clock_url: str = ""
    clock_refresh_seconds: float = Field(default=1.0, gt=0)
    jwt_secret: str = Field(default=DEV_JWT_SECRET, min_length=32)
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
