from pydantic import Field
from pydantic_settings import SettingsConfigDict

from eventkit.settings import ServiceSettings


class FinanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FINANCE_")

    database_url: str = "postgresql://finance_svc:finance_svc@127.0.0.1:5432/marketplace"
    http_port: int = 8002
    # Stripe, read-only (the import of balance transactions, the balance at close). An empty
    # key means the local simulator's.
    stripe_api_key: str = ""
    stripe_api_base: str = "http://127.0.0.1:12111"
    # The import runs this often, and within `recon_poll_seconds` of a platform payout fact.
    recon_import_seconds: float = Field(default=300, gt=0)
    recon_poll_seconds: float = Field(default=2, gt=0)
    # Re-read this far behind the cursor: a transaction committed late may carry an earlier
    # `created` than one already imported.
    recon_lookback_seconds: float = Field(default=600, ge=0)
    # An object is judged once it is this old: payments' fact and Stripe's transaction arrive
    # by different roads, seconds apart.
    recon_grace_seconds: float = Field(default=30, ge=0)
    # A business day starts at this UTC time of day (HH:MM).
    close_cutoff: str = Field(default="00:00", pattern=r"^([01]\d|2[0-3]):[0-5]\d$")
    # The scheduled close looks for days to close this often (0: only by hand).
    close_check_seconds: float = Field(default=300, ge=0)
