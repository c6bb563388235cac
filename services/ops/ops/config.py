"""Every ops default lives here (CONVENTIONS.md and docs/ops.md list them)."""

from pydantic import Field, field_validator
from pydantic_settings import SettingsConfigDict

from eventkit.settings import OffPathSettings, local_database_url


class OpsSettings(OffPathSettings):
    model_config = SettingsConfigDict(env_prefix="OPS_")

    database_url: str = Field(default_factory=lambda: local_database_url("ops"))
    http_port: int = 8004
    # A saga whose latest event still waits for an answer this long is stuck...
    stuck_after_seconds: int = Field(default=3600, ge=1)
    # ...unless its type has its own limit: "checkout=900,group_checkout=1800". A checkout
    # holds the guest's dates, so fifteen minutes without an answer already needs a look.
    stuck_after_overrides: str = "checkout=900,group_checkout=900"
    # How often the detector looks; only sagas active within the window are looked at.
    stuck_scan_seconds: float = Field(default=30.0, gt=0)
    stuck_window_hours: int = Field(default=168, ge=1)
    # The timeline projection's Kafka consumer group (one per environment is enough).
    projection_group: str = "ops"
    # The staff APIs the back office reads and acts through (ops.adapters.staff_apis).
    # Finance, disputes and payments get ops's own `service` token, signed with
    # OPS_JWT_SECRET, which must therefore equal FINANCE_JWT_SECRET, DISPUTES_JWT_SECRET and
    # PAYMENTS_JWT_SECRET; the gateway gets the
    # signed-in staff member's own token (docs/security.md).
    booking_url: str = "http://127.0.0.1:8000"
    finance_url: str = "http://127.0.0.1:8002"
    disputes_url: str = "http://127.0.0.1:8003"
    payments_url: str = "http://127.0.0.1:8001"
    staff_api_timeout_seconds: float = Field(default=10.0, gt=0)

    @field_validator("stuck_after_overrides")
    @classmethod
    def _overrides(cls, value: str) -> str:
        for part in filter(None, (p.strip() for p in value.split(","))):
            name, _, seconds = part.partition("=")
            if not name.strip() or not seconds.strip().isdigit() or int(seconds) <= 0:
                raise ValueError("stuck_after_overrides: saga=seconds,... e.g. checkout=900")
        return value

    @property
    def stuck_after(self) -> dict[str, int]:
        pairs = (p.split("=", 1) for p in self.stuck_after_overrides.split(",") if p.strip())
        return {name.strip(): int(seconds) for name, seconds in pairs}
