from pydantic import Field
from pydantic_settings import SettingsConfigDict

from eventkit.settings import ServiceSettings


class FinanceSettings(ServiceSettings):
    """Every finance default lives here (docs/finance.md lists them)."""

    model_config = SettingsConfigDict(env_prefix="FINANCE_")

    database_url: str = "postgresql://finance_svc:finance_svc@127.0.0.1:5432/marketplace"
    http_port: int = 8002
    # A host is paid this long after its booking starts (like the large rental marketplaces:
    # a day after check-in), unless the host has its own delay.
    payout_delay_seconds: int = Field(default=24 * 3600, ge=0)
    # Entries paying less than this (minor units) wait as `releasable` until the host's
    # releasable entries reach it together. 0: no minimum.
    payout_minimum: int = Field(default=0, ge=0)
    # A failed transfer is released again by the scheduler this many times, backing off from
    # `payout_retry_seconds` (doubling); after that it waits for staff (`retry`).
    payout_max_retries: int = Field(default=3, ge=0)
    payout_retry_seconds: float = Field(default=300.0, gt=0)
    scheduler_poll_seconds: float = Field(default=1.0, gt=0)
    # Empty: the system clock. `make up` follows the Stripe simulator's clock
    # (http://127.0.0.1:12111/_sim/clock) so moving simulated time moves finance's.
    clock_url: str = ""
    clock_refresh_seconds: float = Field(default=1.0, gt=0)
