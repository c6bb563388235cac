"""The settings blocks services share: each service's own env prefix reads them."""

from __future__ import annotations

import pytest
from pydantic_settings import SettingsConfigDict

from eventkit.auth import DEV_JWT_SECRET
from eventkit.settings import FollowedClockSettings, OffPathSettings, ServiceSettings


class _Books(FollowedClockSettings, OffPathSettings):
    model_config = SettingsConfigDict(env_prefix="BOOKS_")

    database_url: str = "postgresql://unused"


def test_a_service_off_the_checkouts_path_fetches_in_batches_on_the_shared_defaults() -> None:
    on_path = ServiceSettings(database_url="postgresql://unused")
    off_path = _Books()
    assert (on_path.consumer_fetch_min_bytes, on_path.consumer_fetch_wait_ms) == (1, 500)
    assert (off_path.consumer_fetch_min_bytes, off_path.consumer_fetch_wait_ms) == (1 << 20, 250)
    assert off_path.jwt_secret == on_path.jwt_secret == DEV_JWT_SECRET
    assert (off_path.clock_url, off_path.clock_refresh_seconds) == ("", 1.0)
    assert off_path.scheduler_poll_seconds == 1.0


def test_the_shared_settings_are_read_under_the_services_own_prefix(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOOKS_CLOCK_URL", "http://127.0.0.1:12111/_sim/clock")
    monkeypatch.setenv("BOOKS_CONSUMER_FETCH_WAIT_MS", "40")
    monkeypatch.setenv("BOOKS_JWT_SECRET", "s" * 32)
    monkeypatch.setenv("CLOCK_URL", "http://elsewhere")
    read = _Books()
    assert read.clock_url == "http://127.0.0.1:12111/_sim/clock"
    assert read.consumer_fetch_wait_ms == 40
    assert read.jwt_secret == "s" * 32


def test_a_jwt_secret_shorter_than_32_characters_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("BOOKS_JWT_SECRET", "short")
    with pytest.raises(ValueError, match="jwt_secret"):
        _Books()
