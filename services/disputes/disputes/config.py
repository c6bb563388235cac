from pydantic_settings import SettingsConfigDict

from eventkit.settings import ServiceSettings


class DisputesSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DISPUTES_")

    database_url: str = "postgresql://disputes_svc:disputes_svc@127.0.0.1:5432/marketplace"
    http_port: int = 8003
