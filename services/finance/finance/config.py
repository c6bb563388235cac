from pydantic_settings import SettingsConfigDict

from eventkit.settings import ServiceSettings


class FinanceSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="FINANCE_")

    database_url: str = "postgresql://finance_svc:finance_svc@127.0.0.1:5432/marketplace"
    http_port: int = 8002
