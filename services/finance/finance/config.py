from pydantic import Field
from pydantic_settings import SettingsConfigDict

from eventkit.settings import FollowedClockSettings, OffPathSettings, local_database_url
from finance.domain.reconciliation import GRACE, LOOKBACK


class FinanceSettings(FollowedClockSettings, OffPathSettings):
    """Every finance default lives here (docs/finance.md lists them)."""

    model_config = SettingsConfigDict(env_prefix="FINANCE_")

    database_url: str = Field(default_factory=lambda: local_database_url("finance"))
    http_port: int = 8002
    consumer_concurrency: int = Field(default=2, ge=1)
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
    # Stripe, read-only (the import of balance transactions, the balance at close). An empty
    # key means the local simulator's.
    stripe_api_key: str = ""
    stripe_api_base: str = "http://127.0.0.1:12111"
    # The import runs this often, and within `recon_poll_seconds` of a platform payout fact.
    recon_import_seconds: float = Field(default=300, gt=0)
    recon_poll_seconds: float = Field(default=2, gt=0)
    # A scheduled import keeps to this share of the time: after each batch it waits nine times
    # as long as the batch took (at most 3 s), so a round spreads out instead of taking a core.
    recon_import_duty: float = Field(default=0.1, gt=0, le=1)
    # Re-read this far behind the import's cursor (finance.domain.reconciliation.LOOKBACK).
    recon_lookback_seconds: float = Field(default=LOOKBACK.total_seconds(), ge=0)
    # Judge an object once its newest fact is this old (finance.domain.reconciliation.GRACE).
    recon_grace_seconds: float = Field(default=GRACE.total_seconds(), ge=0)
    # A business day starts at this UTC time of day (HH:MM).
    close_cutoff: str = Field(default="00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # The scheduled close looks for days to close this often (0: only by hand).
    close_check_seconds: float = Field(default=300, ge=0)
